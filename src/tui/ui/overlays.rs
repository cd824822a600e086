//! What opens over the screen: the help (keys and states) and the remove prompt.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::theme::{Theme, pad};
use crate::health::{Severity, State};
use crate::tui::app::App;
use crate::tui::app::Mode;
use crate::tui::keys;

/// A centred box of `width`×`height` cells inside `area`, cleared.
pub(super) fn popup(frame: &mut Frame<'_>, area: Rect, width: u16, height: u16) -> Rect {
    let rect = area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    );
    frame.render_widget(Clear, rect);
    rect
}

pub(super) fn help(frame: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let mut lines = vec![Line::styled("Keys", theme.title())];
    let tables = keys::keymap(&Mode::Normal).bindings;
    for (key, what) in tables.iter().filter_map(|b| Some((b.shown, b.help?))) {
        lines.push(Line::from(vec![
            Span::styled(format!("  {key:<14}"), theme.key()),
            Span::raw(what),
        ]));
    }
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
