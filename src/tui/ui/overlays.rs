//! What opens over the screen: the help (keys and states) and the remove prompt.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::theme::{Theme, pad};
use crate::health::{Severity, State};
use crate::tui::app::App;

/// A centred box of `width`×`height` cells inside `area`, cleared.
pub(super) fn popup(frame: &mut Frame<'_>, area: Rect, width: u16, height: u16) -> Rect {
    let rect = area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    );
    frame.render_widget(Clear, rect);
    rect
}

pub(super) const HELP_KEYS: [(&str, &str); 12] = [
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

pub(super) fn help(frame: &mut Frame<'_>, area: Rect, theme: &Theme) {
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
                format!("  {}", pad(&state.label(), 11)),
                theme.state(state),
            ));
            spans.push(Span::raw(format!("{:<36}", state.meaning())));
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

pub(super) fn confirm(frame: &mut Frame<'_>, area: Rect, app: &App, name: &str, theme: &Theme) {
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
