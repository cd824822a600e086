//! The table as a browser draws it (the dashboard): the columns shown, with their titles,
//! alignment and drop rank, each row's cells as the terminal UI writes them (symbol and
//! word for a state) and its place in each column's order — so the page sorts and drops
//! as the UI does without a copy of the column model in JavaScript.

use serde::Serialize;

use super::{Align, Column, Context};
use crate::report::Report;

/// The longest a cell is sent (DATA, a long name): the page cuts what it shows itself.
const CELL: usize = 500;

/// The table of a report, for JSON.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct View {
    pub columns: Vec<ColumnView>,
    /// One per row of the report, in its order.
    pub rows: Vec<RowView>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ColumnView {
    pub title: &'static str,
    /// `left` or `right`.
    pub align: &'static str,
    /// Narrow screens drop columns lowest rank first; `null`: never dropped.
    pub drop: Option<u8>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RowView {
    /// Each column's text, escaped as the terminal shows it.
    pub cells: Vec<String>,
    /// The row's place when sorted by each column (0 first), ties broken by name.
    pub ranks: Vec<usize>,
    /// The state's symbol, which tells it without colour.
    pub symbol: &'static str,
}

impl View {
    pub fn new(report: &Report) -> View {
        let columns = Column::shown(&report.rows);
        let cx = Context {
            now: report.now,
            symbols: true,
        };
        let rows = &report.rows;
        let ranks: Vec<Vec<usize>> = columns
            .iter()
            .map(|&column| {
                let mut order: Vec<usize> = (0..rows.len()).collect();
                order.sort_by(|&a, &b| {
                    column
                        .compare(&rows[a], &rows[b])
                        .then_with(|| Column::Name.compare(&rows[a], &rows[b]))
                });
                let mut rank = vec![0; rows.len()];
                for (place, &row) in order.iter().enumerate() {
                    rank[row] = place;
                }
                rank
            })
            .collect();
        View {
            columns: columns
                .iter()
                .map(|&c| {
                    let spec = c.spec();
                    ColumnView {
                        title: spec.title,
                        align: match spec.align {
                            Align::Left => "left",
                            Align::Right => "right",
                        },
                        drop: spec.drop,
                    }
                })
                .collect(),
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, row)| RowView {
                    cells: columns.iter().map(|c| c.text(row, &cx, CELL)).collect(),
                    ranks: ranks.iter().map(|r| r[i]).collect(),
                    symbol: row.health.state.symbol(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{self, NOW};

    #[test]
    fn the_view_has_the_uis_columns_cells_and_order() {
        let report = crate::report::build(
            &fixture::snapshot(),
            &fixture::config(),
            &mut fixture::probe(),
            NOW,
        );
        let view = View::new(&report);
        let titles: Vec<_> = view.columns.iter().map(|c| c.title).collect();
        let shown: Vec<_> = Column::shown(&report.rows)
            .iter()
            .map(|c| c.title())
            .collect();
        assert_eq!(titles, shown);
        assert_eq!(view.rows.len(), report.rows.len());
        let state = titles.iter().position(|&t| t == "STATE").unwrap();
        for (row, seen) in report.rows.iter().zip(&view.rows) {
            assert_eq!(seen.cells.len(), titles.len());
            assert_eq!(seen.cells[state], super::super::state(row, true));
            assert!(seen.cells[state].starts_with(seen.symbol));
        }
        // Each column's ranks are a permutation, and STATE's puts the worst first.
        for c in 0..titles.len() {
            let mut ranks: Vec<_> = view.rows.iter().map(|r| r.ranks[c]).collect();
            ranks.sort_unstable();
            assert_eq!(ranks, (0..report.rows.len()).collect::<Vec<_>>());
        }
        let first = view.rows.iter().position(|r| r.ranks[state] == 0).unwrap();
        assert_eq!(report.rows[first].health.severity, report.worst());
        let name = titles.iter().position(|&t| t == "NAME").unwrap();
        assert_eq!(view.columns[name].drop, None);
    }
}
