//! The process tables: the columns that fit (dropped by rank when narrow), the visible
//! window of rows, the sort and filter on the first table's title line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Table as TableWidget};

use super::theme::Theme;
use crate::health::Severity;
use crate::report::columns::{self, Align, Column, Context};
use crate::tui::app::{App, Spot, Table};

/// `sort state ↓  filter "web"`, drawn at the right of the first table's title line.
pub(super) fn sort_line(app: &App, theme: &Theme) -> Line<'static> {
    let (key, reverse) = app.sort();
    let mut right = vec![
        Span::styled(" sort ", theme.dim()),
        Span::raw(format!(
            "{} {}",
            key.sort_name(),
            if reverse { "↑" } else { "↓" }
        )),
    ];
    if !app.filter().is_empty() {
        right.extend([
            Span::raw("  "),
            Span::styled("filter ", theme.dim()),
            Span::raw(format!("\"{}\"", app.filter())),
        ]);
    }
    if app.view().problems {
        right.extend([Span::raw("  "), Span::raw("problems only")]);
    }
    if app.view().all {
        right.extend([Span::raw("  "), Span::raw("all")]);
    }
    if app.tree() {
        right.extend([Span::raw("  "), Span::raw("tree")]);
    }
    right.push(Span::raw(" "));
    Line::from(right)
}

/// The rows a table `height` lines tall (its title, its header, its rows) shows of `len`,
/// and whether its last line says how many more there are above and below instead.
pub(super) fn body_rows(height: u16, len: usize) -> (usize, bool) {
    let rows = usize::from(height.saturating_sub(super::TABLE_CHROME));
    if len > rows && rows >= 2 {
        (rows - 1, true)
    } else {
        (rows, false)
    }
}

/// `▲ 12 more  ▼ 30 more`: the rows a scrolled table does not show.
fn more_line(above: usize, below: usize, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    if above > 0 {
        spans.push(Span::styled(format!("▲ {above} more"), theme.dim()));
    }
    if below > 0 {
        if above > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(format!("▼ {below} more"), theme.dim()));
    }
    Line::from(spans)
}

/// Where a table drawn in `area` has its titles and columns, for the mouse.
pub(super) fn spot(area: Rect, wanted: &Wanted) -> Spot {
    // Below the title line; the cursor's cell, then each column after a space.
    let mut spot = Spot {
        titles_y: area.y + 1,
        ..Spot::default()
    };
    let mut x = area.x + CURSOR_WIDTH + 1;
    for (column, width) in fit_columns(area.width, wanted) {
        if let Some(i) = Column::ALL.iter().position(|&c| c == column) {
            spot.columns[i] = (x, width);
        }
        x += width + 1;
    }
    spot
}

/// The cursor's column before the table's (`›` on the selected row, so the selection
/// shows in a text capture too).
pub(super) const CURSOR_WIDTH: u16 = 1;

/// The cells the widest text of every row (not just the visible ones, so that scrolling
/// does not make the columns jump) would take in the columns that grow into spare room.
#[derive(Debug, Clone, Default)]
pub(super) struct Wanted {
    /// The columns the rows need ([`Column::shown`]), before a narrow screen drops some.
    pub columns: Vec<Column>,
    pub name: u16,
    /// Past the column's minimum only for a state with a count (`▶ 12 running`).
    pub state: u16,
    /// Past the column's minimum only for a scheduled job (`due 03:00 (in 4h12m)`).
    pub interval: u16,
    /// The longest host name, so two remotes told apart by port (`10.0.0.2:4266`) are
    /// not both cut to `10.0.0.…`.
    pub host: u16,
}

/// Which columns fit in `width` beside the cursor's, and how wide each is: narrow screens
/// drop columns by their drop rank instead of wrapping.
pub(super) fn fit_columns(width: u16, wanted: &Wanted) -> Vec<(Column, u16)> {
    let mut shown: Vec<Column> = wanted.columns.clone();
    let mut ranked: Vec<(u8, Column)> = shown
        .iter()
        .filter_map(|&c| c.spec().drop.map(|rank| (rank, c)))
        .collect();
    ranked.sort_unstable_by_key(|&(rank, _)| rank);
    // Each column and the space before it.
    let need = |cols: &[Column]| -> u16 {
        CURSOR_WIDTH + cols.iter().map(|c| c.spec().min_width + 1).sum::<u16>()
    };
    for (_, drop) in ranked {
        if need(&shown) <= width {
            break;
        }
        shown.retain(|&c| c != drop);
    }
    let min = |c: Column| c.spec().min_width;
    let mut spare = width.saturating_sub(need(&shown));
    // The state first: `▶ 2 running` cut to `▶ 2 runni…` would lose the word.
    let state_extra = wanted.state.saturating_sub(min(Column::State)).min(spare);
    spare -= state_extra;
    // Then when a job is due, which would lose its countdown: the name is cut less.
    let interval_extra = if shown.contains(&Column::Interval) {
        wanted
            .interval
            .saturating_sub(min(Column::Interval))
            .min(spare)
    } else {
        0
    };
    spare -= interval_extra;
    let host_extra = if shown.contains(&Column::Host) {
        wanted.host.saturating_sub(min(Column::Host)).min(spare)
    } else {
        0
    };
    spare -= host_extra;
    let name_extra = wanted.name.saturating_sub(min(Column::Name)).min(spare);
    spare -= name_extra;
    let has_data = shown.contains(&Column::Data);
    shown
        .into_iter()
        .map(|c| {
            let w = match c {
                Column::Name => min(c) + name_extra + if has_data { 0 } else { spare },
                Column::Data => min(c) + spare,
                Column::State => min(c) + state_extra,
                Column::Interval => min(c) + interval_extra,
                Column::Host => min(c) + host_extra,
                _ => min(c),
            };
            (c, w)
        })
        .collect()
}

pub(super) fn process_table(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    table: Table,
    now: f64,
    wanted: &Wanted,
    theme: &Theme,
) {
    let (shown, total) = (app.len(table), app.total(table));
    let name = match table {
        Table::Monitored => "Monitored",
        Table::Additional => "Additional heartbeat processes",
    };
    let count = if shown == total {
        format!(" {total} ")
    } else {
        format!(" {shown} of {total} ")
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.dim())
        .title(Line::from(vec![
            Span::styled(format!(" {name}"), theme.title()),
            Span::styled(count, theme.dim()),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let cols = fit_columns(inner.width, wanted);
    let header = TableRow::new(
        std::iter::once(Cell::from("")).chain(cols.iter().map(|&(c, w)| aligned(c.title(), c, w))),
    )
    .style(theme.dim().add_modifier(Modifier::BOLD));
    let cx = Context { now, symbols: true };

    let (body_height, marker) = body_rows(area.height, shown);
    let offset = app.offset(table);
    let cursor = app.cursor_in(table);
    // Only the visible window becomes widgets: 10 000 entries cost what 30 do.
    let rows: Vec<TableRow<'_>> = app
        .rows(table)
        .enumerate()
        .skip(offset)
        .take(body_height)
        .map(|(i, row)| {
            let mark = Cell::from(if cursor == Some(i) { "›" } else { "" });
            let depth = app.depth(table, i);
            let cells = cols.iter().map(|&(c, w)| {
                let text = if c == Column::Name && depth > 0 {
                    // `  └ api`: two cells a level, the name cut to what is left.
                    let indent = format!("{}└ ", "  ".repeat(depth - 1));
                    let room = usize::from(w).saturating_sub(2 * depth);
                    columns::truncate(
                        &format!("{indent}{}", c.text(row, &cx, room)),
                        usize::from(w),
                    )
                } else {
                    c.text(row, &cx, usize::from(w))
                };
                let style = match c {
                    Column::State => theme.state(row.health.state),
                    Column::LastBeat if row.health.severity >= Severity::Warning => {
                        theme.state(row.health.state)
                    }
                    Column::Name if row.health.severity == Severity::None => theme.dim(),
                    _ => Style::new(),
                };
                aligned(&text, c, w).style(style)
            });
            let tr = TableRow::new(std::iter::once(mark).chain(cells));
            if cursor == Some(i) {
                tr.style(Theme::selected())
            } else {
                tr
            }
        })
        .collect();
    let empty = rows.is_empty();
    let widths: Vec<Constraint> = std::iter::once(CURSOR_WIDTH)
        .chain(cols.iter().map(|&(_, w)| w))
        .map(Constraint::Length)
        .collect();
    frame.render_widget(
        TableWidget::new(rows, widths)
            .header(header)
            .column_spacing(1),
        inner,
    );
    if marker {
        let below = shown.saturating_sub(offset + body_height);
        let line = Rect::new(inner.x, inner.y + inner.height - 1, inner.width, 1);
        frame.render_widget(more_line(offset, below, theme), line);
    }
    if empty && inner.height > 1 {
        let hint = if total > 0 && app.filter().is_empty() {
            "no problems: every process here is fine (p shows them all)".to_owned()
        } else if total > 0 {
            format!("no process matches \"{}\"", app.filter())
        } else {
            "no heartbeats yet: a process beats with `hbmon beat NAME` (try `hbmon demo`)"
                .to_owned()
        };
        let line = Rect::new(inner.x, inner.y + 1, inner.width, 1);
        frame.render_widget(
            Paragraph::new(columns::truncate(
                &format!(" {hint}"),
                usize::from(inner.width),
            ))
            .style(theme.dim()),
            line,
        );
    }
}

pub(super) fn aligned(text: &str, column: Column, width: u16) -> Cell<'static> {
    if column.spec().align == Align::Right {
        Cell::from(Line::from(format!("{text:>w$}", w = usize::from(width))))
    } else {
        Cell::from(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns of one machine's rows: all but HOST.
    fn local() -> Vec<Column> {
        Column::ALL
            .iter()
            .copied()
            .filter(|&c| c != Column::Host)
            .collect()
    }

    fn name_of(name: u16) -> Wanted {
        Wanted {
            columns: local(),
            name,
            state: 0,
            interval: 0,
            host: 0,
        }
    }

    #[test]
    fn a_state_with_a_count_widens_its_column_before_the_name() {
        let width =
            |cols: &[(Column, u16)], c| cols.iter().find(|&&(d, _)| d == c).map(|&(_, w)| w);
        let wanted = Wanted {
            columns: local(),
            name: 30,
            state: 12,
            interval: 0,
            host: 0,
        };
        let roomy = fit_columns(200, &wanted);
        assert_eq!(width(&roomy, Column::State), Some(12));
        assert_eq!(width(&roomy, Column::Name), Some(30));
        // Two cells spare: both go to the state.
        let tight = fit_columns(CURSOR_WIDTH + 10 + 1 + 12 + 1 + 10 + 1 + 2, &wanted);
        assert_eq!(width(&tight, Column::State), Some(12));
        assert_eq!(width(&tight, Column::Name), Some(12));
        assert_eq!(
            width(&fit_columns(200, &name_of(30)), Column::State),
            Some(10)
        );
    }

    #[test]
    fn columns_drop_in_priority_order() {
        let at = |w| {
            fit_columns(w, &name_of(20))
                .into_iter()
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
        };
        assert_eq!(at(200).len(), Column::ALL.len() - 1);
        assert!(!at(100).contains(&Column::Beats));
        assert_eq!(at(40), [Column::Name, Column::State, Column::LastBeat]);
        // The cursor's cell and each column after a space fill the width exactly.
        let widths: u16 = fit_columns(100, &name_of(20))
            .iter()
            .map(|&(_, w)| w + 1)
            .sum();
        assert_eq!(CURSOR_WIDTH + widths, 100);
    }
}
