//! Drawing: the whole screen from an [`App`] and a fixed `now`. No I/O and no clock, so a
//! test draws the same frame every time; "last beat" ticks because the loop passes a new `now`.
//! What writers chose (names, data, errors, reasons, the banner's messages) is drawn
//! escaped ([`crate::text`]): ratatui would drop a control character silently and draw a
//! bidi control as is.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect, Size};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{
    Block, Borders, Cell, Clear, Paragraph, Row as TableRow, Table as TableWidget,
};

use super::app::{App, Mode, Tab, Table, Viewport};
use super::recent;
use crate::duration::format_secs;
use crate::report::{Row, columns};
use crate::status::{Severity, State};
use crate::store::{Entry, format_local};
use crate::text;
use serde_json::Value;

/// Below this the screen says so instead of drawing a mangled table.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 10;

/// How long a notice (e.g. "removed web") stays in the banner.
const NOTICE_SECS: f64 = 5.0;

/// Each table spends one line on its title and one on the column names.
const TABLE_CHROME: u16 = 2;

/// The screen's parts; `None` for a part that is not shown.
#[derive(Debug, Clone, Copy)]
struct Areas {
    header: Rect,
    banner: Option<Rect>,
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
    let body =
        |r: Option<Rect>| r.map_or(0, |r| usize::from(r.height.saturating_sub(TABLE_CHROME)));
    let (detail, detail_max_scroll) = areas.detail.map_or((0, 0), |r| {
        let shown = usize::from(r.height.saturating_sub(2));
        let lines = app.selected_row().map_or(0, |row| {
            detail_lines(app, row, now, &Theme::new(app.color)).len()
        });
        (shown, lines.saturating_sub(shown))
    });
    Viewport {
        monitored: body(areas.monitored),
        additional: body(areas.additional),
        detail,
        detail_max_scroll,
    }
}

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
    // The longest name of every row, not just the visible ones, so the two tables line up
    // and scrolling does not make the columns jump.
    let name_wanted = app
        .report()
        .rows
        .iter()
        .map(|r| columns::name(r).chars().count())
        .max()
        .unwrap_or(0)
        .min(40) as u16;
    if let Some(window) = app.tab().window() {
        if let Some(area) = areas.monitored {
            history_tab(frame, area, app, now, window, name_wanted, &theme);
        }
        footer(frame, areas.footer, app, &theme);
        if app.mode() == &Mode::Help {
            help(frame, area, &theme);
        }
        return;
    }
    for (table, area) in [
        (Table::Monitored, areas.monitored),
        (Table::Additional, areas.additional),
    ] {
        if let Some(area) = area {
            process_table(frame, area, app, table, now, name_wanted, &theme);
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
        Mode::Help => help(frame, area, &theme),
        Mode::Confirm(name) => confirm(frame, area, app, name, &theme),
        _ => {}
    }
}

fn layout(area: Rect, app: &App, now: f64) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let has_banner = banner_text(app, now).is_some();
    let [header, banner, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(u16::from(has_banner)),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (tables, detail) = if app.tab() != Tab::Processes {
        return Some(Areas {
            header,
            banner: has_banner.then_some(banner),
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

/// Styles, or their monochrome stand-ins under `NO_COLOR`.
struct Theme {
    color: bool,
}

impl Theme {
    fn new(color: bool) -> Theme {
        Theme { color }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    fn severity(&self, severity: Severity) -> Style {
        match severity {
            Severity::Ok => self.fg(Color::Green),
            Severity::Warning => self.fg(Color::Yellow),
            Severity::Degraded => self.fg(Color::LightRed),
            Severity::Critical => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Severity::None => self.fg(Color::DarkGray),
        }
    }

    fn state(&self, state: State) -> Style {
        self.severity(state.severity())
    }

    fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// Reverse video, which needs no colour.
    fn selected() -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    fn banner(&self, tone: Tone) -> Style {
        let (fg, bg) = match tone {
            Tone::Error => (Color::White, Color::Red),
            Tone::Warning => (Color::Black, Color::Yellow),
            Tone::Info => (Color::Black, Color::Cyan),
        };
        let style = if self.color {
            Style::new().fg(fg).bg(bg)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        };
        if tone == Tone::Error {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }
}

/// `● up`: the symbol and the word, so the state reads without colour.
fn state_label(state: State) -> String {
    format!("{} {}", state.symbol(), state.as_str())
}

fn header(frame: &mut Frame<'_>, area: Rect, app: &App, now: f64, theme: &Theme) {
    let [line1, line2] = Layout::vertical([Constraint::Length(1); 2]).areas(area);
    frame.render_widget(system_line(app, now, theme, usize::from(area.width)), line1);
    frame.render_widget(counts_line(app, theme, usize::from(line2.width)), line2);
}

/// Host, system CPU/RAM/disk, the monitor's runtime and the file; shorter forms when narrow,
/// keeping the end of the path (its file name) rather than dropping it.
fn system_line(app: &App, now: f64, theme: &Theme, width: usize) -> Line<'static> {
    let sep = || Span::styled("  ", theme.dim());
    let pct = |used: u64, total: u64| {
        if total == 0 {
            0.0
        } else {
            used as f64 * 100.0 / total as f64
        }
    };
    let mut line = Line::default();
    for compact in [false, true] {
        line = Line::from(vec![Span::styled(" hbmon", theme.title()), sep()]);
        if let Some(sys) = &app.report().system {
            let memory = pct(sys.memory_used, sys.memory_total);
            let memory = if compact {
                format!("{memory:.0}%")
            } else {
                format!(
                    "{}/{} {memory:.0}%",
                    columns::bytes(sys.memory_used),
                    columns::bytes(sys.memory_total)
                )
            };
            line.spans.extend([
                Span::raw(sys.host.clone()),
                sep(),
                Span::styled("cpu ", theme.dim()),
                // Unknown (`NaN`) until the probe's second sample.
                Span::raw(if sys.cpu_percent.is_finite() {
                    format!("{:.0}%", sys.cpu_percent)
                } else {
                    "-".to_owned()
                }),
                sep(),
                Span::styled("mem ", theme.dim()),
                Span::raw(memory),
                sep(),
                Span::styled("disk ", theme.dim()),
                Span::raw(format!("{:.0}%", pct(sys.disk_used, sys.disk_total))),
                sep(),
            ]);
        }
        line.spans.extend([
            Span::styled(if compact { "up " } else { "monitor up " }, theme.dim()),
            Span::raw(format_secs((now - app.started).max(0.0))),
            sep(),
        ]);
        let room = width.saturating_sub(line.width() + 1);
        if compact || room >= app.file.chars().count().min(32) {
            line.spans.push(Span::raw(shorten_path(&app.file, room)));
            break;
        }
    }
    line
}

/// A count per state, worst news included: `● up 3  ✖ dead 1`, or `●3 ✖1` when narrow.
fn counts_line(app: &App, theme: &Theme, width: usize) -> Line<'static> {
    let counts = app.report().counts();
    if counts.is_empty() {
        return Line::styled(" no processes", theme.dim());
    }
    // Roomiest first; the last form always fits the 60-column minimum.
    let mut line = Line::default();
    for (words, gap) in [(true, "  "), (true, " "), (false, " ")] {
        let text = |state: State, n: usize| {
            if words {
                format!("{} {n}", state_label(state))
            } else {
                format!("{}{n}", state.symbol())
            }
        };
        line = Line::from(
            std::iter::once(Span::raw(" "))
                .chain(counts.iter().flat_map(|&(state, n)| {
                    [
                        Span::styled(text(state, n), theme.state(state)),
                        Span::raw(gap),
                    ]
                }))
                .collect::<Vec<_>>(),
        );
        if line.width() <= width {
            break;
        }
    }
    line
}

/// `sort state ↓  filter "web"`, drawn at the right of the first table's title line.
fn sort_line(app: &App, theme: &Theme) -> Line<'static> {
    let (key, reverse) = app.sort();
    let mut right = vec![
        Span::styled(" sort ", theme.dim()),
        Span::raw(format!(
            "{} {}",
            key.as_str(),
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
    right.push(Span::raw(" "));
    Line::from(right)
}

/// Keeps the end of a path (the file name matters most): `…/state/hbmon/heartbeat_status.json`.
fn shorten_path(path: &str, width: usize) -> String {
    let len = path.chars().count();
    if len <= width {
        return path.to_owned();
    }
    if width < 2 {
        return String::new();
    }
    let tail: String = path.chars().skip(len + 1 - width.max(1)).collect();
    format!("…{tail}")
}

/// How loud a banner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Error,
    Warning,
    Info,
}

/// The banner: the monitor's worst error (red: a file the last good view stands for, a
/// config not reloaded), else a recent notice, else its worst warning (no file yet), else
/// entries that are not valid.
fn banner_text(app: &App, now: f64) -> Option<(String, Tone)> {
    let (errors, warnings): (Vec<_>, Vec<_>) = app.troubles().iter().partition(|t| t.error);
    if let Some(trouble) = errors.first() {
        return Some((format!("✖ {}", trouble.text), Tone::Error));
    }
    if let Some(notice) = app.notice().filter(|n| now - n.at < NOTICE_SECS) {
        let tone = if notice.is_error {
            Tone::Error
        } else {
            Tone::Info
        };
        return Some((notice.text.clone(), tone));
    }
    if let Some(trouble) = warnings.first() {
        return Some((format!("! {}", trouble.text), Tone::Warning));
    }
    let invalid = &app.report().invalid;
    let (name, why) = invalid.first()?;
    let more = match invalid.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Some((
        format!("! entry {name:?} is not valid: {why}{more}"),
        Tone::Warning,
    ))
}

fn banner(frame: &mut Frame<'_>, area: Rect, app: &App, now: f64, theme: &Theme) {
    let Some((text, tone)) = banner_text(app, now) else {
        return;
    };
    let style = theme.banner(tone);
    let text = columns::truncate(
        &format!(" {}", text::escape(&text)),
        usize::from(area.width),
    );
    frame.render_widget(Paragraph::new(text).style(style), area);
}

/// A table column. Display order is [`Column::ALL`]; narrow screens drop them in
/// [`Column::DROP_ORDER`] instead of wrapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    /// `›` on the selected row, so the selection shows in a text capture too.
    Cursor,
    Name,
    State,
    Pid,
    Cpu,
    Memory,
    Runtime,
    BeatAt,
    LastBeat,
    Interval,
    Beats,
    Data,
}

impl Column {
    const ALL: [Column; 12] = [
        Column::Cursor,
        Column::Name,
        Column::State,
        Column::Pid,
        Column::Cpu,
        Column::Memory,
        Column::Runtime,
        Column::BeatAt,
        Column::LastBeat,
        Column::Interval,
        Column::Beats,
        Column::Data,
    ];

    /// First dropped first. Name, state and time since the last beat always stay: they are
    /// the question the screen answers.
    const DROP_ORDER: [Column; 8] = [
        Column::Beats,
        Column::Interval,
        Column::Runtime,
        Column::BeatAt,
        Column::Memory,
        Column::Cpu,
        Column::Data,
        Column::Pid,
    ];

    fn title(self) -> &'static str {
        match self {
            Column::Cursor => "",
            Column::Name => "NAME",
            Column::State => "STATE",
            Column::Pid => "PID",
            Column::Cpu => "CPU",
            Column::Memory => "MEM",
            Column::Runtime => "RUNTIME",
            Column::BeatAt => "BEAT AT",
            Column::LastBeat => "LAST BEAT",
            Column::Interval => "INTERVAL",
            Column::Beats => "BEATS",
            Column::Data => "DATA",
        }
    }

    /// The width a column needs; name and data take what is left over.
    fn min_width(self) -> u16 {
        match self {
            Column::Cursor => 1,
            Column::Name | Column::Data => 12,
            Column::State | Column::LastBeat => 10,
            Column::Pid | Column::Memory | Column::Runtime | Column::Beats => 7,
            Column::Cpu => 6,
            Column::BeatAt | Column::Interval => 8,
        }
    }

    fn right_aligned(self) -> bool {
        matches!(
            self,
            Column::Pid | Column::Cpu | Column::Memory | Column::Runtime | Column::Beats
        )
    }

    fn text(self, row: &Row, now: f64, width: u16) -> String {
        match self {
            // Drawn by the table, which knows the selection.
            Column::Cursor => String::new(),
            Column::Name => columns::truncate(&columns::name(row), usize::from(width)),
            Column::State => state_label(row.health.state),
            Column::Pid => columns::pid(row),
            Column::Cpu => columns::cpu(row),
            Column::Memory => columns::memory(row),
            Column::Runtime => columns::runtime(row, now),
            Column::BeatAt => columns::last_beat(row, now),
            Column::LastBeat => columns::since_beat(row, now),
            Column::Interval => columns::interval(row),
            Column::Beats => columns::beats(row),
            Column::Data => columns::data(row, usize::from(width)),
        }
    }
}

/// Which columns fit in `width`, and how wide each is.
fn fit_columns(width: u16, name_wanted: u16) -> Vec<(Column, u16)> {
    let mut shown: Vec<Column> = Column::ALL.to_vec();
    let need = |cols: &[Column]| -> u16 {
        cols.iter().map(|c| c.min_width()).sum::<u16>() + cols.len().saturating_sub(1) as u16
    };
    for drop in Column::DROP_ORDER {
        if need(&shown) <= width {
            break;
        }
        shown.retain(|&c| c != drop);
    }
    let mut spare = width.saturating_sub(need(&shown));
    let name_extra = name_wanted
        .saturating_sub(Column::Name.min_width())
        .min(spare);
    spare -= name_extra;
    let has_data = shown.contains(&Column::Data);
    shown
        .into_iter()
        .map(|c| {
            let w = match c {
                Column::Name => c.min_width() + name_extra + if has_data { 0 } else { spare },
                Column::Data => c.min_width() + spare,
                _ => c.min_width(),
            };
            (c, w)
        })
        .collect()
}

fn process_table(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    table: Table,
    now: f64,
    name_wanted: u16,
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

    let cols = fit_columns(inner.width, name_wanted);
    let header = TableRow::new(cols.iter().map(|&(c, w)| aligned(c.title(), c, w)))
        .style(theme.dim().add_modifier(Modifier::BOLD));

    let body_height = usize::from(inner.height.saturating_sub(1));
    let offset = app.offset(table);
    let cursor = app.cursor_in(table);
    // Only the visible window becomes widgets: 10 000 entries cost what 30 do.
    let rows: Vec<TableRow<'_>> = app
        .rows(table)
        .enumerate()
        .skip(offset)
        .take(body_height)
        .map(|(i, row)| {
            let cells = cols.iter().map(|&(c, w)| {
                let text = if c == Column::Cursor && cursor == Some(i) {
                    "›".to_owned()
                } else {
                    c.text(row, now, w)
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
            let tr = TableRow::new(cells);
            if cursor == Some(i) {
                tr.style(Theme::selected())
            } else {
                tr
            }
        })
        .collect();
    let empty = rows.is_empty();
    let widths: Vec<Constraint> = cols.iter().map(|&(_, w)| Constraint::Length(w)).collect();
    frame.render_widget(
        TableWidget::new(rows, widths)
            .header(header)
            .column_spacing(1),
        inner,
    );
    if empty && inner.height > 1 {
        let hint = if total > 0 {
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

fn aligned(text: &str, column: Column, width: u16) -> Cell<'static> {
    if column.right_aligned() {
        Cell::from(Line::from(format!("{text:>w$}", w = usize::from(width))))
    } else {
        Cell::from(text.to_owned())
    }
}

/// `2025-06-15 17:03:04 (2m10s ago)`: local time, and how long ago.
fn when(unix: f64, now: f64) -> String {
    let age = now - unix;
    let rel = if age < -1.0 {
        format!("in {}", format_secs(-age))
    } else {
        format!("{} ago", format_secs(age.max(0.0)))
    };
    format!("{} ({rel})", format_local(unix))
}

/// The detail pane's text for one row; a function of its own so the viewport can measure it.
fn detail_lines(app: &App, row: &Row, now: f64, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = health_lines(row, now, theme);
    match &row.entry {
        Some(entry) => lines.extend(entry_lines(row, entry, now, theme)),
        None => lines.push(Line::from(vec![
            label("Last beat", theme),
            Span::raw("never"),
        ])),
    }
    lines.push(Line::default());
    lines.push(Line::styled("Data", theme.title()));
    let text = match row.entry.as_ref().map(|e| &e.additional_data) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(value) => serde_json::to_string_pretty(value).unwrap_or_else(|e| e.to_string()),
    };
    if text.is_empty() {
        lines.push(Line::styled("  none", theme.dim()));
    }
    lines.extend(text.lines().map(|l| Line::raw(format!("  {l}"))));
    lines.push(Line::default());
    lines.extend(history_lines(app, row, now, theme));
    lines.into_iter().map(escaped).collect()
}

/// `line` with every span's text escaped ([`text::escape`]): the detail pane shows what
/// writers chose in nearly every line, and its own text has nothing to escape.
fn escaped(mut line: Line<'static>) -> Line<'static> {
    for span in &mut line.spans {
        if let std::borrow::Cow::Owned(shown) = text::escape(&span.content) {
            span.content = shown.into();
        }
    }
    line
}

/// The gaps between the last beats as a sparkline, and the transitions: as one line of
/// periods, then one line each.
fn history_lines(app: &App, row: &Row, now: f64, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled("History", theme.title())];
    let beats = app
        .history()
        .and_then(|h| h.selected.as_ref())
        .filter(|s| s.name == row.name)
        .map_or(&[][..], |s| &s.beats);
    let gaps = recent::gaps(beats);
    if let (Some(min), Some(max)) = (gaps.iter().min(), gaps.iter().max()) {
        lines.push(Line::from(vec![
            label("Beat gaps", theme),
            Span::styled(sparkline(&gaps), theme.severity(Severity::Ok)),
            Span::styled(
                format!(
                    "  last {} beats, {}–{}",
                    beats.len(),
                    format_secs(*min as f64),
                    format_secs(*max as f64)
                ),
                theme.dim(),
            ),
        ]));
    }
    let timeline = app.timeline(&row.name);
    if timeline.is_empty() {
        lines.push(Line::styled("  no transitions yet", theme.dim()));
        return lines;
    }
    let owned: Vec<_> = timeline.iter().map(|&t| t.clone()).collect();
    lines.push(Line::from(vec![
        label("Periods", theme),
        Span::raw(recent::timeline_text(&owned, now, &chrono::Local)),
    ]));
    for t in timeline {
        let from = t.from.map_or_else(
            || Span::styled("new", theme.dim()),
            |from| Span::styled(state_label(from), theme.state(from)),
        );
        lines.push(Line::from(vec![
            Span::raw(format!("  {}  ", format_local(t.time))),
            from,
            Span::raw(" → "),
            Span::styled(state_label(t.to), theme.state(t.to)),
            Span::styled(format!("  {}", t.reason), theme.dim()),
        ]));
    }
    lines
}

/// `▁▃█▂`: each value as a bar, scaled to the largest.
fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .map(|&v| BARS[((v * 7).div_ceil(max)) as usize])
        .collect()
}

/// The history tab: each process's last hour (or day: `window` seconds) as a row of cells,
/// one per slice, lettered by state so it reads without colour, and its beats in the last
/// minute.
fn history_tab(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &App,
    now: f64,
    window: f64,
    name_wanted: u16,
    theme: &Theme,
) {
    let name_width = usize::from(name_wanted.clamp(8, 24));
    let cells = usize::from(area.width).saturating_sub(name_width + 2 + 7);
    let rows: Vec<&Row> = app
        .rows(Table::Monitored)
        .chain(app.rows(Table::Additional))
        .collect();
    let selected = app.selected_row().map(|r| r.name.as_str());
    let body = usize::from(area.height.saturating_sub(3));
    let at = rows
        .iter()
        .position(|r| Some(r.name.as_str()) == selected)
        .unwrap_or(0);
    let first = (at + 1).saturating_sub(body.max(1));
    let mut lines = vec![Line::from(vec![
        Span::styled(
            pad(
                &format!(
                    "{:<name_width$}  {}h ago",
                    "History",
                    (window / 3600.0).round()
                ),
                name_width + 2 + cells.saturating_sub(3),
            ),
            theme.title(),
        ),
        Span::styled("now  /min", theme.dim()),
    ])];
    let history = app.history();
    // The legend lists only the states on screen: all thirteen do not fit a 120-column line.
    let mut shown: Vec<State> = Vec::new();
    for row in rows.iter().skip(first).take(body) {
        let transitions = history
            .and_then(|h| h.transitions.get(&row.name))
            .map_or(&[][..], Vec::as_slice);
        let name: String = columns::name(row).chars().take(name_width).collect();
        let name_style = if Some(row.name.as_str()) == selected {
            Theme::selected()
        } else {
            Style::new()
        };
        let mut spans = vec![
            Span::styled(format!("{name:<name_width$}"), name_style),
            Span::raw("  "),
        ];
        for cell in recent::buckets(row.health.state, transitions, now, window, cells) {
            spans.push(match cell {
                Some(state) => {
                    if !shown.contains(&state) {
                        shown.push(state);
                    }
                    Span::styled(state_letter(state).to_string(), theme.state(state))
                }
                None => Span::styled(" ", theme.dim()),
            });
        }
        let per_minute = history.map_or_else(
            || "-".to_owned(),
            |h| h.last_minute(&row.name, now).to_string(),
        );
        spans.push(Span::raw(format!(" {per_minute:>5}")));
        lines.push(Line::from(spans));
    }
    if history.is_none() {
        lines.push(Line::styled(
            "  no history yet: it is recorded while hbmon or hbmon serve runs",
            theme.dim(),
        ));
    }
    let legend: Vec<Span<'static>> = State::ALL
        .iter()
        .filter(|s| shown.contains(s))
        .flat_map(|&s| {
            [
                Span::styled(state_letter(s).to_string(), theme.state(s)),
                Span::styled(format!(" {}  ", s.as_str()), theme.dim()),
            ]
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines),
        Rect {
            height: area.height.saturating_sub(1),
            ..area
        },
    );
    let bottom = Rect {
        y: area.y + area.height.saturating_sub(1),
        height: 1.min(area.height),
        ..area
    };
    frame.render_widget(Line::from(legend), bottom);
}

/// One cell of the history tab: healthy states quiet, trouble loud, a letter each.
fn state_letter(state: State) -> char {
    match state {
        State::Up => '.',
        State::Running => 'r',
        State::Late => 'l',
        State::Error => 'e',
        State::Silent => 's',
        State::Skewed => '>',
        State::Degraded => 'g',
        State::Hung => 'H',
        State::Dead => 'D',
        State::Failed => 'F',
        State::Overdue => 'O',
        State::Stopped => '_',
        State::Pending => '?',
        State::Paused => 'p',
    }
}

/// A field name in the detail pane, padded so the values line up.
fn label(text: &str, theme: &Theme) -> Span<'static> {
    Span::styled(format!("{text:<13}"), theme.dim())
}

/// State, since when, and the live process.
fn health_lines(row: &Row, now: f64, theme: &Theme) -> Vec<Line<'static>> {
    let health = &row.health;
    let mut lines = vec![Line::from(vec![
        label("State", theme),
        Span::styled(state_label(health.state), theme.state(health.state)),
        Span::raw(format!(" — {}", health.reason)),
    ])];
    if let Some(since) = health.since {
        lines.push(Line::from(vec![
            label(
                &format!("{} since", capitalize(health.state.as_str())),
                theme,
            ),
            Span::raw(when(since, now)),
        ]));
    }
    if row.label.is_some() {
        lines.push(Line::from(vec![
            label("Heartbeat", theme),
            Span::raw(row.name.clone()),
        ]));
    }
    let mut pid = vec![label("PID", theme), Span::raw(columns::pid(row))];
    if let Some(process) = &row.process {
        pid.push(Span::raw(format!(
            "  cpu {}  mem {}  running {}",
            columns::cpu(row),
            columns::memory(row),
            columns::runtime(row, now)
        )));
        lines.push(Line::from(pid));
        lines.push(Line::from(vec![
            label("Command", theme),
            // A script passed as one argument keeps its newlines; the pane has one line.
            Span::raw(text::one_line(&process.cmd).into_owned()),
        ]));
    } else {
        if row.pid().is_some() {
            pid.push(Span::styled("  (not running)", theme.dim()));
        }
        lines.push(Line::from(pid));
    }
    lines
}

/// What the heartbeat file says: this run, its beats and errors, the last job run.
fn entry_lines(row: &Row, entry: &Entry, now: f64, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(first) = entry.first_heartbeat {
        lines.push(Line::from(vec![
            label("Alive since", theme),
            Span::raw(when(first, now)),
        ]));
    }
    lines.push(Line::from(vec![
        label("Last beat", theme),
        Span::raw(format!(
            "{}, every {} (grace {})",
            when(entry.last_heartbeat, now),
            format_secs(row.rules.interval),
            format_secs(row.rules.grace)
        )),
    ]));
    let host = entry
        .host
        .as_ref()
        .map_or_else(String::new, |h| format!("  host {h}"));
    lines.push(Line::from(vec![
        label("Beats", theme),
        Span::raw(format!(
            "{}  errors {}  reported {}  kind {}{host}",
            columns::beats(row),
            entry
                .errors
                .map_or_else(|| "-".to_owned(), |e| e.to_string()),
            entry.reported().as_str(),
            entry.kind().as_str(),
        )),
    ]));
    if let Some(error) = &entry.last_error {
        let at = entry
            .last_error_at
            .map_or_else(String::new, |t| format!(" at {}", when(t, now)));
        lines.push(Line::from(vec![
            label("Last error", theme),
            Span::styled(format!("{error}{at}"), theme.severity(Severity::Warning)),
        ]));
    }
    let mut job = match (entry.started_at, entry.finished_at) {
        (Some(started), finished) => {
            let mut job = vec![format!("started {}", when(started, now))];
            job.extend(finished.map(|f| format!("finished after {}", format_secs(f - started))));
            job
        }
        // A run reported only at its end (an HTTP ping of its exit code, no `/start`).
        (None, Some(finished)) => vec![format!(
            "finished {}, start not reported",
            when(finished, now)
        )],
        (None, None) => Vec::new(),
    };
    if !job.is_empty() {
        job.extend(entry.exit_code.map(|code| format!("exit code {code}")));
        lines.push(Line::from(vec![
            label("Last run", theme),
            Span::raw(job.join(", ")),
        ]));
    }
    lines
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn detail(frame: &mut Frame<'_>, area: Rect, app: &App, now: f64, theme: &Theme) {
    let Some(row) = app.selected_row() else {
        return;
    };
    let block = Block::bordered()
        .border_style(theme.dim())
        .title(Line::from(vec![
            Span::styled(format!(" {} ", columns::name(row)), theme.title()),
            Span::styled(state_label(row.health.state), theme.state(row.health.state)),
            Span::raw(" "),
        ]));
    let lines = detail_lines(app, row, now, theme);
    let scroll = app.detail_scroll().min(lines.len().saturating_sub(1));
    let paragraph = Paragraph::new(Text::from(lines))
        .block(block)
        .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0));
    frame.render_widget(paragraph, area);
}

fn footer(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let hints: &[(&str, &str)] = match app.mode() {
        Mode::Filter => {
            let line = Line::from(vec![
                Span::styled(" filter: ", theme.key()),
                Span::raw(app.filter().to_owned()),
                Span::styled("▏", theme.key()),
                Span::styled("   Enter keep  Esc clear", theme.dim()),
            ]);
            frame.render_widget(line, area);
            return;
        }
        Mode::Detail => &[
            ("↑↓", "scroll"),
            ("J/K", "next/prev"),
            ("Esc", "close"),
            ("d", "remove"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::Confirm(_) => &[("y", "remove"), ("any other key", "keeps it")],
        Mode::Normal | Mode::Help => &[
            ("q", "quit"),
            ("↑↓", "move"),
            ("/", "filter"),
            ("s", "sort"),
            ("Enter", "details"),
            ("Tab", "hour/day"),
            ("r", "refresh"),
            ("d", "remove"),
            ("?", "help"),
        ],
    };
    // Hints that do not fit are left out whole, keeping the last one (`? help`, which
    // lists every key), rather than cut mid-word at the edge.
    let width = |(key, what): &(&str, &str)| key.chars().count() + what.chars().count() + 3;
    let last = hints.last().map_or(0, width);
    let mut room = usize::from(area.width).saturating_sub(1 + last);
    let mut spans = vec![Span::raw(" ")];
    for (i, hint) in hints.iter().enumerate() {
        let is_last = i + 1 == hints.len();
        if !is_last {
            if width(hint) > room {
                continue;
            }
            room -= width(hint);
        }
        spans.push(Span::styled(hint.0, theme.key()));
        spans.push(Span::raw(format!(" {}  ", hint.1)));
    }
    frame.render_widget(Line::from(spans), area);
}

/// A centred box of `width`×`height` cells inside `area`, cleared.
fn popup(frame: &mut Frame<'_>, area: Rect, width: u16, height: u16) -> Rect {
    let rect = area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    );
    frame.render_widget(Clear, rect);
    rect
}

const HELP_KEYS: [(&str, &str); 12] = [
    ("q  Ctrl-C", "quit"),
    ("Esc", "close what is open, clear the filter, else quit"),
    ("↑↓  j k", "move the selection (the mouse wheel too)"),
    ("PgUp PgDn", "move a page (Ctrl-U Ctrl-D)"),
    ("g G  Home End", "first, last"),
    (
        "/",
        "filter by name or label: Enter keeps it, Esc clears it",
    ),
    (
        "s  S",
        "sort by state, name, last beat, cpu, memory; reverse",
    ),
    (
        "Enter",
        "details: data, PID, since when, errors, transitions",
    ),
    (
        "Tab",
        "history: every process's last hour, again: last day; beats per minute",
    ),
    ("r", "re-read the file and re-probe now"),
    ("d", "remove the selected entry from the file (asks first)"),
    ("?", "this help"),
];

fn state_meaning(state: State) -> &'static str {
    match state {
        State::Up => "beating on time",
        State::Running => "a job run in progress",
        State::Late => "missed a beat",
        State::Error => "reported an error",
        State::Silent => "its process runs, never beats",
        State::Skewed => "beat from the future: clock skew",
        State::Degraded => "missed several beats",
        State::Hung => "process alive, beats stopped",
        State::Dead => "process gone or beats long stopped",
        State::Failed => "last job run failed",
        State::Overdue => "job did not start in time",
        State::Stopped => "stopped cleanly",
        State::Pending => "configured, not seen yet",
        State::Paused => "paused for maintenance",
    }
}

/// Pads to `width` terminal cells (not chars: `⏰` takes two).
fn pad(text: &str, width: usize) -> String {
    let cells = Span::raw(text).width();
    format!("{text}{}", " ".repeat(width.saturating_sub(cells)))
}

fn help(frame: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let mut lines = vec![Line::styled("Keys", theme.title())];
    for (key, what) in HELP_KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {key:<14}"), theme.key()),
            Span::raw(what),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::styled("States", theme.title()));
    // Two states per line keeps the legend short enough for a 24-line terminal.
    for pair in State::ALL.chunks(2) {
        let mut spans = Vec::new();
        for &state in pair {
            spans.push(Span::styled(
                format!("  {}", pad(&state_label(state), 11)),
                theme.state(state),
            ));
            spans.push(Span::raw(format!("{:<36}", state_meaning(state))));
        }
        lines.push(Line::from(spans));
    }
    let height = lines.len() as u16 + 2;
    let rect = popup(frame, area, 100, height);
    let block = Block::bordered()
        .border_style(theme.dim())
        .title(Span::styled(" hbmon help ", theme.title()))
        .title_bottom(Line::from(Span::styled(" any key closes ", theme.dim())).right_aligned());
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

fn confirm(frame: &mut Frame<'_>, area: Rect, app: &App, name: &str, theme: &Theme) {
    let question = format!(" Remove {name:?} from the heartbeat file? ");
    let file = format!(" {} ", app.file);
    let width = question.chars().count().max(file.chars().count()) as u16 + 2;
    let rect = popup(frame, area, width.max(36), 6);
    let block = Block::bordered()
        .border_style(theme.severity(Severity::Critical))
        .title(Span::styled(" remove ", theme.severity(Severity::Critical)));
    let lines = vec![
        Line::raw(question),
        Line::styled(file, theme.dim()),
        Line::default(),
        Line::from(vec![
            Span::raw(" "),
            Span::styled("y", theme.key()),
            Span::raw(" remove   "),
            Span::styled("n", theme.key()),
            Span::raw(" keep"),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::{Action, Notice};
    use crate::tui::fixtures::{NOW, many, mixed, observe};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn app(color: bool) -> App {
        let mut app = App::new(
            "~/.local/state/hbmon/heartbeat_status.json".into(),
            NOW - 312.0,
            color,
        );
        observe(&mut app, mixed());
        app
    }

    /// Draws as the loop does: measure the viewport, tell the app, draw.
    fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        app.update(Action::Viewport(viewport(
            Size::new(width, height),
            app,
            NOW,
        )));
        terminal.draw(|frame| draw(frame, app, NOW)).unwrap();
        terminal
    }

    /// The screen as text, local clock times masked: they depend on the machine's time zone.
    fn screen(terminal: &Terminal<TestBackend>) -> String {
        let text = terminal.backend().to_string();
        let date_time = regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").unwrap();
        let time = regex::Regex::new(r"\b\d{2}:\d{2}:\d{2}\b").unwrap();
        // The history's periods show minutes only.
        let minutes = regex::Regex::new(r"\b\d{2}:\d{2}\b").unwrap();
        let text = date_time.replace_all(&text, "YYYY-MM-DD hh:mm:ss");
        let text = time.replace_all(&text, "hh:mm:ss");
        minutes.replace_all(&text, "hh:mm").into_owned()
    }

    #[test]
    fn wide_terminal_shows_every_column() {
        let mut app = app(true);
        insta::assert_snapshot!(screen(&render(&mut app, 120, 30)));
    }

    #[test]
    fn classic_terminal_drops_low_priority_columns() {
        let mut app = app(true);
        let shown = screen(&render(&mut app, 80, 24));
        assert!(!shown.contains("BEATS") && !shown.contains("INTERVAL"));
        assert!(shown.contains("LAST BEAT") && shown.contains("DATA"));
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn narrowest_terminal_keeps_name_state_and_last_beat() {
        let mut app = app(true);
        let shown = screen(&render(&mut app, 60, 12));
        for title in ["NAME", "STATE", "LAST BEAT"] {
            assert!(shown.contains(title), "{title} missing:\n{shown}");
        }
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn tiny_terminal_says_it_is_too_small() {
        let mut app = app(true);
        insta::assert_snapshot!(screen(&render(&mut app, 40, 8)));
    }

    #[test]
    fn detail_pane() {
        let mut app = app(true);
        app.update(Action::Move(1)); // websocket-reader: hung, with data
        app.update(Action::ToggleDetail);
        let mut hung = mixed();
        hung.now = NOW + 1.0;
        observe(&mut app, hung);
        insta::assert_snapshot!(screen(&render(&mut app, 120, 30)));
    }

    #[test]
    fn detail_pane_of_a_failed_job_with_transitions() {
        let mut app = app(true);
        let mut later = mixed();
        let job = later
            .rows
            .iter_mut()
            .find(|r| r.name == "report-job")
            .unwrap();
        job.health = crate::status::Health::new(State::Running, "running for 2s", None);
        observe(&mut app, later);
        let mut failed = mixed();
        failed.now = NOW + 30.0;
        observe(&mut app, failed);
        app.update(Action::Move(4));
        app.update(Action::ToggleDetail);
        render(&mut app, 100, 30);
        app.update(Action::DetailBottom);
        let shown = screen(&render(&mut app, 100, 30));
        assert!(shown.contains("▶ running → ✗ failed"), "{shown}");
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn a_run_reported_only_at_its_end_shows_its_end_and_exit_code() {
        let text = |entry: &Entry| -> Vec<String> {
            let row = crate::tui::fixtures::row("backup", State::Failed, 60.0);
            entry_lines(&row, entry, NOW, &Theme::new(false))
                .iter()
                .map(ToString::to_string)
                .filter(|line| line.starts_with("Last run"))
                .collect()
        };
        let mut entry = Entry {
            last_heartbeat: NOW - 60.0,
            finished_at: Some(NOW - 60.0),
            exit_code: Some(3),
            ..Entry::default()
        };
        let shown = text(&entry);
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].contains("start not reported, exit code 3"),
            "{shown:?}"
        );
        entry.started_at = Some(NOW - 90.0);
        let shown = text(&entry);
        assert!(
            shown[0].contains("finished after 30s, exit code 3"),
            "{shown:?}"
        );
    }

    /// History as a database would hold it: bidder died 25 min ago and came back 12 min
    /// ago; report-job started 10 min ago; beats every 30 s (one 95 s gap).
    fn with_history(app: &mut App) {
        use crate::changes::Transition;
        use crate::tui::recent::{Recent, Selected};
        let t = |name: &str, ago: f64, from: Option<State>, to: State| Transition {
            name: name.into(),
            time: NOW - ago,
            from,
            to,
            severity: to.severity(),
            reason: format!("{to} for the test"),
            since: None,
        };
        let bidder = vec![
            t("bidder", 720.0, Some(State::Dead), State::Up),
            t("bidder", 1500.0, Some(State::Up), State::Dead),
        ];
        let minute = (NOW / 60.0).floor() as i64 * 60;
        let mut beats: Vec<f64> = (0..20).map(|i| NOW - 10.0 - 30.0 * f64::from(i)).collect();
        beats.push(NOW - 700.0);
        let recent = Recent {
            at: NOW,
            minutes: [
                ("bidder".to_owned(), vec![(minute - 60, 2)]),
                ("scraper".to_owned(), vec![(minute - 60, 12)]),
            ]
            .into(),
            transitions: [
                ("bidder".to_owned(), bidder.clone()),
                (
                    "report-job".to_owned(),
                    vec![
                        t("report-job", 300.0, Some(State::Running), State::Failed),
                        t("report-job", 600.0, None, State::Running),
                    ],
                ),
            ]
            .into(),
            selected: Some(Selected {
                name: "bidder".into(),
                beats,
                transitions: bidder,
            }),
        };
        app.update(Action::History(Box::new(recent)));
    }

    #[test]
    fn detail_pane_with_beat_gaps_and_periods() {
        let mut app = app(true);
        app.update(Action::Move(2));
        with_history(&mut app);
        app.update(Action::ToggleDetail);
        render(&mut app, 120, 30);
        app.update(Action::DetailBottom);
        let shown = screen(&render(&mut app, 120, 30));
        assert!(shown.contains("Beat gaps"), "{shown}");
        assert!(
            shown.contains("up since hh:mm, was dead hh:mm–hh:mm"),
            "{shown}"
        );
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn history_tab_wide_and_classic() {
        for (width, height) in [(120, 30), (80, 24)] {
            let mut app = app(true);
            with_history(&mut app);
            app.update(Action::ToggleTab);
            let shown = screen(&render(&mut app, width, height));
            assert!(shown.contains("DDDD"), "{shown}");
            insta::assert_snapshot!(format!("history_tab_{width}x{height}"), shown);
        }
    }

    #[test]
    fn history_tab_over_the_last_day() {
        let mut app = app(true);
        with_history(&mut app);
        app.update(Action::ToggleTab);
        app.update(Action::ToggleTab);
        let shown = screen(&render(&mut app, 120, 30));
        assert!(shown.contains("24h ago"), "{shown}");
        insta::assert_snapshot!("history_tab_last_day", shown);
    }

    #[test]
    fn history_tab_without_colour_still_reads() {
        let mut app = app(false);
        with_history(&mut app);
        app.update(Action::ToggleTab);
        let terminal = render(&mut app, 120, 30);
        let colored = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg != Color::Reset || c.bg != Color::Reset);
        assert!(!colored);
        insta::assert_snapshot!(screen(&terminal));
    }

    #[test]
    fn help_overlay() {
        let mut app = app(true);
        app.update(Action::ToggleHelp);
        insta::assert_snapshot!(screen(&render(&mut app, 120, 30)));
    }

    #[test]
    fn confirm_dialog() {
        let mut app = app(true);
        app.update(Action::AskRemove);
        insta::assert_snapshot!(screen(&render(&mut app, 80, 24)));
    }

    #[test]
    fn corrupt_file_banner_keeps_the_last_good_view() {
        let mut app = app(true);
        app.update(Action::Troubles(vec![crate::monitor::Trouble::unreadable(
            "not a valid heartbeat file: expected `,` or `}` at line 3 column 5",
            NOW - 4.0,
        )]));
        let terminal = render(&mut app, 120, 30);
        let banner_cell = &terminal.backend().buffer()[(1, 2)];
        assert_eq!(banner_cell.bg, Color::Red);
        insta::assert_snapshot!(screen(&terminal));
    }

    #[test]
    fn what_writers_chose_is_drawn_escaped() {
        use crate::tui::fixtures::{report, row, with_data};
        let mut evil = with_data(
            row("evil\u{202e}txt", State::Error, 5.0),
            serde_json::json!("line one\u{2028}line two\n\u{1b}[2Jcleared"),
        );
        evil.health.reason = "reported an error 5s ago: \u{1b}]0;pwned\u{7}".into();
        if let Some(entry) = &mut evil.entry {
            entry.last_error = Some("\u{1b}]0;pwned\u{7}\u{1b}[2J".into());
            entry.host = Some("host\u{85}".into());
        }
        if let Some(process) = &mut evil.process {
            process.cmd = "sh -c 'echo hi\n\u{1b}[2J'".into();
        }
        let mut app = App::new("/tmp/hb.json".into(), NOW, false);
        let mut hostile = report(vec![evil]);
        hostile.invalid = vec![("bad\u{9b}".into(), "unknown variant `\u{7}`".into())];
        observe(&mut app, hostile);
        app.update(Action::ToggleDetail);
        let shown = screen(&render(&mut app, 120, 30));
        let raw: Vec<char> = shown
            .chars()
            .filter(|&c| c != '\n' && text::needs_escape(c))
            .collect();
        assert!(raw.is_empty(), "{raw:?} drawn raw");
        for escaped in [
            r"evil\u{202e}txt",
            r"reported an error 5s ago: \u{1b}]0;pwned\u{7}",
            r"\u{1b}]0;pwned\u{7}\u{1b}[2J",
            r"line one\u{2028}line two",
            r"\u{1b}[2Jcleared",
            r"host\u{85}",
            r"sh -c 'echo hi \u{1b}[2J'",
            r#"entry "bad\u{9b}" is not valid: unknown variant `\u{7}`"#,
        ] {
            assert!(shown.contains(escaped), "{escaped} not in\n{shown}");
        }
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn filter_in_progress_and_a_recent_notice() {
        let mut app = app(true);
        app.update(Action::Notice(Notice {
            text: "removed \"old-worker\"".into(),
            at: NOW - 1.0,
            is_error: false,
        }));
        app.update(Action::StartFilter);
        for c in "er".chars() {
            app.update(Action::FilterChar(c));
        }
        insta::assert_snapshot!(screen(&render(&mut app, 100, 20)));
    }

    #[test]
    fn an_empty_file_says_how_to_start() {
        let mut app = App::new("/tmp/hb.json".into(), NOW, true);
        let shown = screen(&render(&mut app, 100, 12));
        assert!(shown.contains("no heartbeats yet"), "{shown}");
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn no_color_draws_the_same_words_without_colour() {
        let mut colored = app(true);
        let mut plain = app(false);
        let (colored, plain) = (render(&mut colored, 120, 30), render(&mut plain, 120, 30));
        assert_eq!(screen(&colored), screen(&plain));
        let cells = |t: &Terminal<TestBackend>| t.backend().buffer().content().to_vec();
        assert!(
            cells(&plain)
                .iter()
                .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
            "a coloured cell under NO_COLOR"
        );
        assert!(cells(&colored).iter().any(|c| c.fg == Color::Red));
        // The selection and critical states stay distinct through modifiers alone.
        let buffer = plain.backend().buffer();
        let row_of = |needle: &str| {
            (0..buffer.area.height)
                .find(|&y| {
                    (0..buffer.area.width)
                        .map(|x| buffer[(x, y)].symbol())
                        .collect::<String>()
                        .contains(needle)
                })
                .unwrap()
        };
        let selected = row_of("Vue Frontend");
        assert!(buffer[(0, selected)].modifier.contains(Modifier::REVERSED));
        let hung = row_of("WebSocket Reader");
        let state_x = (0..buffer.area.width)
            .find(|&x| buffer[(x, hung)].symbol() == "⧗")
            .unwrap();
        assert!(buffer[(state_x, hung)].modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn ten_thousand_rows_build_only_the_visible_window() {
        let mut app = App::new("/tmp/hb.json".into(), NOW, false);
        observe(&mut app, many(10_000));
        app.update(Action::Viewport(viewport(Size::new(80, 24), &app, NOW)));
        app.update(Action::Page(250));
        let shown = screen(&render(&mut app, 80, 24));
        assert!(shown.contains("› proc-04750"), "{shown}");
        assert!(!shown.contains("proc-00000"));
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn a_report_built_from_a_file_config_and_probe() {
        use crate::report::{build, fixture};
        let report = build(
            &fixture::snapshot(),
            &fixture::config(),
            &mut fixture::probe(),
            fixture::NOW,
        );
        let mut app = App::new("/srv/hb.json".into(), fixture::NOW - 60.0, true);
        observe(&mut app, report);
        let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
        app.update(Action::Viewport(viewport(
            Size::new(120, 30),
            &app,
            fixture::NOW,
        )));
        terminal
            .draw(|frame| draw(frame, &app, fixture::NOW))
            .unwrap();
        let shown = screen(&terminal);
        assert!(shown.contains("! entry \"broken\" is not valid"), "{shown}");
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn long_paths_keep_their_file_name() {
        assert_eq!(shorten_path("/a/b/c/hb.json", 20), "/a/b/c/hb.json");
        assert_eq!(shorten_path("/very/long/dir/hb.json", 12), "…dir/hb.json");
    }

    #[test]
    fn columns_drop_in_priority_order() {
        let at = |w| {
            fit_columns(w, 20)
                .into_iter()
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
        };
        assert_eq!(at(200).len(), Column::ALL.len());
        assert!(!at(100).contains(&Column::Beats));
        assert_eq!(
            at(40),
            [
                Column::Cursor,
                Column::Name,
                Column::State,
                Column::LastBeat
            ]
        );
        let widths: u16 = fit_columns(100, 20).iter().map(|&(_, w)| w + 1).sum();
        assert_eq!(widths - 1, 100);
    }
}
