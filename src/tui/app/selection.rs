//! The selection and the tables' order: filtering, sorting, moving the cursor, and keeping
//! it in view; the selection follows its process across reports, sorts and filters.

use super::{App, Mode, TRANSITIONS_KEPT, Table};
use std::sync::Arc;

use crate::changes::Transition;
use crate::deps;
use crate::report::columns::Column;
use crate::report::{Report, Row};

/// What the selection follows: a remote's host (this machine's rows have none, so a
/// same-named row of a remote is another row) and the name.
fn key(row: &Row) -> (Option<String>, String) {
    (
        crate::tui::remote::remote_host(row).map(str::to_owned),
        row.name.clone(),
    )
}

impl App {
    pub(super) fn row_at(&self, cursor: usize) -> Option<&Row> {
        let monitored = &self.order[0];
        let index = match monitored.get(cursor) {
            Some(&i) => i,
            None => *self.order[1].get(cursor - monitored.len())?,
        };
        self.report.rows.get(index)
    }

    pub(super) fn visible_len(&self) -> usize {
        self.order[0].len() + self.order[1].len()
    }

    pub(super) fn page_size(&self) -> usize {
        if self.cursor_in(Table::Monitored).is_some() {
            self.viewport.monitored
        } else {
            self.viewport.additional
        }
    }

    pub(super) fn move_by(&mut self, by: isize) {
        let target = self.cursor.saturating_add_signed(by);
        self.select(target.min(self.visible_len().saturating_sub(1)));
    }

    pub(super) fn select(&mut self, cursor: usize) {
        if cursor != self.cursor {
            self.detail_scroll = 0;
        }
        self.cursor = cursor;
        self.selected = self.selected_row().map(key);
        self.keep_in_view();
    }

    /// The text the scroll actions move — the help while it is open, else the detail
    /// pane — with the lines it shows at once and how far it can scroll.
    pub(super) fn scrolled(&mut self) -> (&mut usize, usize, usize) {
        if self.mode == Mode::Help {
            let (shown, max) = (self.viewport.help, self.viewport.help_max_scroll);
            (&mut self.help_scroll, shown, max)
        } else {
            let (shown, max) = (self.viewport.detail, self.viewport.detail_max_scroll);
            (&mut self.detail_scroll, shown, max)
        }
    }

    pub(super) fn scroll(&mut self, by: isize) {
        let (at, _, max) = self.scrolled();
        *at = at.saturating_add_signed(by).min(max);
    }

    pub(super) fn set_report(&mut self, report: Arc<Report>) {
        self.report = report;
        self.reorder();
    }

    /// Keeps the latest transitions of each process.
    pub(super) fn saw(&mut self, transitions: Vec<Transition>) {
        for t in transitions {
            let ring = self.transitions.entry(t.name.clone()).or_default();
            if ring.len() == TRANSITIONS_KEPT {
                ring.pop_front();
            }
            ring.push_back(t);
        }
    }

    /// Recomputes both tables' order after the report, filter or sort changed, and moves the
    /// cursor to where the selected process now is (or the nearest row if it is gone).
    pub(super) fn reorder(&mut self) {
        let rows = &self.report.rows;
        for (slot, monitored) in [(0, true), (1, false)] {
            let mut order: Vec<usize> = (0..rows.len())
                .filter(|&i| rows[i].monitored == monitored && self.view.matches(&rows[i]))
                .collect();
            order.sort_by(|&a, &b| {
                let (a, b) = (&rows[a], &rows[b]);
                let ordering = self
                    .sort
                    .compare(a, b)
                    .then_with(|| Column::Name.compare(a, b))
                    .then_with(|| a.name.cmp(&b.name));
                if self.reverse {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
            // The tree keeps the sort among siblings and among the tops.
            if let Some(depths) = &mut self.depths {
                let nodes: Vec<(&str, &[String])> = order
                    .iter()
                    .map(|&i| (rows[i].name.as_str(), rows[i].depends_on.as_slice()))
                    .collect();
                let tree = deps::tree(&nodes);
                order = tree.iter().map(|&(at, _)| order[at]).collect();
                depths[slot] = tree.into_iter().map(|(_, depth)| depth).collect();
            }
            self.order[slot] = order;
        }
        let found = self.selected.as_ref().and_then(|selected| {
            (0..self.visible_len()).find(|&i| self.row_at(i).is_some_and(|r| key(r) == *selected))
        });
        let cursor = found.unwrap_or_else(|| self.cursor.min(self.visible_len().saturating_sub(1)));
        if found.is_none() {
            self.detail_scroll = 0;
        }
        self.cursor = cursor;
        self.selected = self.selected_row().map(key);
        if self.selected.is_none() && self.detail_open() {
            self.overlay_on_detail = false;
            if self.mode == Mode::Detail {
                self.mode = Mode::Normal;
            }
        }
        self.keep_in_view();
    }

    /// A click: on a row of a table, selects it; on a column's title, sorts by it (by the
    /// same one again: reversed).
    pub(super) fn click(&mut self, x: u16, y: u16) {
        for table in [Table::Monitored, Table::Additional] {
            let index = table.index();
            let Some(spot) = self.viewport.spots[index] else {
                continue;
            };
            if y == spot.titles_y {
                if let Some(column) = spot.column_at(x) {
                    if self.sort == column {
                        self.reverse = !self.reverse;
                    } else {
                        (self.sort, self.reverse) = (column, false);
                    }
                    self.reorder();
                }
                return;
            }
            let rows = match table {
                Table::Monitored => self.viewport.monitored,
                Table::Additional => self.viewport.additional,
            };
            let Some(line) = y.checked_sub(spot.titles_y + 1).map(usize::from) else {
                continue;
            };
            if line < rows {
                let at = self.offsets[index] + line;
                if at < self.order[index].len() {
                    let before = if table == Table::Additional {
                        self.order[0].len()
                    } else {
                        0
                    };
                    self.select(before + at);
                }
                return;
            }
        }
    }

    /// Scrolls each table so the selection is on screen, a table without it to its top, and
    /// no table shows blank rows it could fill.
    pub(super) fn keep_in_view(&mut self) {
        for table in [Table::Monitored, Table::Additional] {
            let slot = table.index();
            let height = match table {
                Table::Monitored => self.viewport.monitored,
                Table::Additional => self.viewport.additional,
            }
            .max(1);
            // A table without the selection shows its top, where the worst rows sort: one
            // left scrolled to its end would hide them behind the header's counts.
            let mut offset = 0;
            if let Some(i) = self.cursor_in(table) {
                offset = self.offsets[slot];
                if i < offset {
                    offset = i;
                } else if i >= offset + height {
                    offset = i + 1 - height;
                }
            }
            self.offsets[slot] = offset.min(self.order[slot].len().saturating_sub(height));
        }
    }
}
