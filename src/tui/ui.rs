//! Drawing: the whole screen from an [`App`] and a fixed `now`. No I/O and no clock, so a
//! test draws the same frame every time; "last beat" ticks because the loop passes a new `now`.
//! What writers chose (names, data, errors, reasons, the banner's messages) is drawn
//! escaped ([`crate::text`]): ratatui would drop a control character silently and draw a
//! bidi control as is.

mod detail;
#[cfg(test)]
mod due_tests;
mod footer;
mod header;
mod history;
mod overlays;
mod signal;
mod table;
#[cfg(test)]
mod tests;
mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect, Size};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use self::detail::{detail, detail_lines};
use self::footer::footer;
use self::header::{banner, banner_text, header, stale_remotes};
use self::history::history_tab;
use self::overlays::{confirm, help, help_scroll};
use self::signal::signal_dialog;
use self::table::{process_table, sort_line};
use self::theme::Theme;
use super::app::{App, Mode, Tab, Table, Viewport};
use crate::report::columns::{self, Column};

/// Below this the screen says so instead of drawing a mangled table.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 10;

/// Each table spends one line on its title and one on the column names.
const TABLE_CHROME: u16 = 2;

/// The screen's parts; `None` for a part that is not shown.
#[derive(Debug, Clone, Copy)]
struct Areas {
    header: Rect,
    banner: Option<Rect>,
    /// The remotes whose rows are not shown ([`App::stale`]).
    stale: Option<Rect>,
    monitored: Option<Rect>,
    additional: Option<Rect>,
    detail: Option<Rect>,
    footer: Rect,
}

/// What the layout gives each table and the detail pane, for the app's paging and scrolling.
pub fn viewport(size: Size, app: &App, now: f64) -> Viewport {
    let area = Rect::new(0, 0, size.width, size.height);
    let Some(areas) = layout(area, app, now) else {
        return Viewport::default();
    };
    let body = |r: Option<Rect>, t| r.map_or(0, |r| table::body_rows(r.height, app.len(t)).0);
    let (detail, detail_max_scroll) = areas.detail.map_or((0, 0), |r| {
        let shown = usize::from(r.height.saturating_sub(2));
        let lines = app.selected_row().map_or(0, |row| {
            let width = usize::from(r.width.saturating_sub(2));
            detail_lines(app, row, now, width, &Theme::new(app.color)).len()
        });
        (shown, lines.saturating_sub(shown))
    });
    let spot = |r: Option<Rect>| {
        r.filter(|_| app.tab() == Tab::Processes)
            .map(|r| table::spot(r, &wanted(app)))
    };
    let (help, help_max_scroll) = help_scroll(area, &Theme::new(app.color));
    Viewport {
        monitored: body(areas.monitored, Table::Monitored),
        additional: body(areas.additional, Table::Additional),
        detail,
        detail_max_scroll,
        help,
        help_max_scroll,
        spots: [spot(areas.monitored), spot(areas.additional)],
    }
}

/// The longest name and state of every row, not just the visible ones, so the two tables
/// line up and scrolling does not make the columns jump.
fn wanted(app: &App) -> table::Wanted {
    let rows = &app.report().rows;
    // In the tree view the shown rows' names are indented, two cells a level.
    let indented = [Table::Monitored, Table::Additional]
        .into_iter()
        .filter(|_| app.tree())
        .flat_map(|t| {
            app.rows(t)
                .enumerate()
                .map(move |(i, r)| columns::name(r).chars().count() + 2 * app.depth(t, i))
        });
    let name = rows
        .iter()
        .map(|r| columns::name(r).chars().count())
        .chain(indented)
        .max()
        .unwrap_or(0)
        .min(40) as u16;
    // Only a count makes a state wider than its column's minimum.
    let state = rows
        .iter()
        .filter(|r| r.runs_in_progress() > 1)
        .map(|r| columns::state(r, true).chars().count())
        .max()
        .unwrap_or(0) as u16;
    // A scheduled job's `due Mon 03:00 (in 30d23h)`, at its widest whatever the time, so
    // the column does not jump as the countdown shortens.
    let interval = if rows.iter().any(|r| r.rules.schedule.0.is_some()) {
        DUE_WIDTH
    } else {
        0
    };
    let host = rows
        .iter()
        .filter_map(|r| r.host.as_deref())
        .map(|h| crate::text::escape(h).chars().count())
        .max()
        .unwrap_or(0)
        .min(24) as u16;
    table::Wanted {
        columns: Column::shown(rows),
        name,
        state,
        interval,
        host,
    }
}

/// The widest a scheduled job's due text is (`due Mon 03:00 (in 30d23h)`).
const DUE_WIDTH: u16 = 25;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App, now: f64) {
    let area = frame.area();
    let Some(areas) = layout(area, app, now) else {
        let message = vec![
            Line::raw("terminal too small"),
            Line::raw(format!("need {MIN_WIDTH}×{MIN_HEIGHT}")),
            Line::raw(format!("have {}×{}", area.width, area.height)),
        ];
        let rect = area.centered_vertically(Constraint::Length(3));
        frame.render_widget(Paragraph::new(message).centered(), rect);
        return;
    };
    let theme = Theme::new(app.color);
    header(frame, areas.header, app, now, &theme);
    if let Some(area) = areas.banner {
        banner(frame, area, app, now, &theme);
    }
    if let Some(area) = areas.stale {
        stale_remotes(frame, area, app, now, &theme);
    }
    let wanted = wanted(app);
    if let Some(window) = app.tab().window() {
        if let Some(area) = areas.monitored {
            history_tab(frame, area, app, now, window, wanted.name, &theme);
        }
        footer(frame, areas.footer, app, &theme);
        if app.mode() == &Mode::Help {
            help(frame, area, app.help_scroll(), &theme);
        }
        return;
    }
    for (table, area) in [
        (Table::Monitored, areas.monitored),
        (Table::Additional, areas.additional),
    ] {
        if let Some(area) = area {
            process_table(frame, area, app, table, now, &wanted, &theme);
        }
    }
    if let Some(first) = areas.monitored.or(areas.additional) {
        let sort = sort_line(app, &theme).right_aligned();
        frame.render_widget(sort, Rect { height: 1, ..first });
    }
    if let Some(area) = areas.detail {
        detail(frame, area, app, now, &theme);
    }
    footer(frame, areas.footer, app, &theme);
    match app.mode() {
        Mode::Help => help(frame, area, app.help_scroll(), &theme),
        Mode::Confirm(name) => confirm(frame, area, app, name, &theme),
        Mode::Signal(dialog) => signal_dialog(frame, area, dialog, &theme),
        _ => {}
    }
}

fn layout(area: Rect, app: &App, now: f64) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let has_banner = banner_text(app, now).is_some();
    let has_stale = !app.stale().is_empty();
    let [header, banner, stale, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(u16::from(has_banner)),
        Constraint::Length(u16::from(has_stale)),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (tables, detail) = if app.tab() != Tab::Processes {
        return Some(Areas {
            header,
            banner: has_banner.then_some(banner),
            stale: has_stale.then_some(stale),
            monitored: Some(body),
            additional: None,
            detail: None,
            footer,
        });
    } else if app.detail_open() {
        // The tables keep what they need up to about half; the pane takes the rest (all of a
        // short screen).
        let tables_need = tables_height(app);
        let pane = body
            .height
            .saturating_sub(tables_need.min(body.height * 11 / 20))
            .max(8);
        if body.height < pane + TABLE_CHROME + 1 {
            (None, Some(body))
        } else {
            let [tables, pane] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(pane)]).areas(body);
            (Some(tables), Some(pane))
        }
    } else {
        (Some(body), None)
    };
    let (monitored, additional) = tables.map_or((None, None), |t| split_tables(t, app));
    Some(Areas {
        header,
        banner: has_banner.then_some(banner),
        stale: has_stale.then_some(stale),
        monitored,
        additional,
        detail,
        footer,
    })
}

/// The lines both tables would fill with every row shown.
fn tables_height(app: &App) -> u16 {
    let (show_monitored, show_additional) = shown_tables(app);
    let need = |t| TABLE_CHROME + (app.len(t) as u16).max(1);
    u16::from(show_monitored) * need(Table::Monitored)
        + u16::from(show_additional) * need(Table::Additional)
}

fn shown_tables(app: &App) -> (bool, bool) {
    let show_monitored = app.total(Table::Monitored) > 0;
    (
        show_monitored,
        app.total(Table::Additional) > 0 || !show_monitored,
    )
}

/// The monitored table (only when a config lists processes) above the additional one (also
/// shown when empty and nothing is configured, to say how to start). Each gets what it needs
/// while both fit; otherwise the monitored table gets at most half.
fn split_tables(area: Rect, app: &App) -> (Option<Rect>, Option<Rect>) {
    match shown_tables(app) {
        (true, false) => (Some(area), None),
        (false, _) => (None, Some(area)),
        (true, true) => {
            let need = |t| TABLE_CHROME + (app.len(t) as u16).max(1);
            let (m, a) = (need(Table::Monitored), need(Table::Additional));
            let top = if m + a <= area.height {
                m
            } else {
                m.min((area.height / 2).max(area.height.saturating_sub(a)))
            }
            .max(TABLE_CHROME + 1)
            .min(area.height.saturating_sub(TABLE_CHROME + 1));
            let [top_area, bottom_area] =
                Layout::vertical([Constraint::Length(top), Constraint::Fill(1)]).areas(area);
            (Some(top_area), Some(bottom_area))
        }
    }
}
