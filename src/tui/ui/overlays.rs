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

/// The help box's widest: key lines and two states a line fit in it.
const HELP_WIDTH: u16 = 100;
/// The key column: two spaces, then the keys padded to this.
const KEY_COLUMN: usize = 18;
/// One state of the legend: symbol and word, then its meaning.
const STATE_WIDTH: usize = 2 + 12 + 35;

/// The help box inside `area` and its text, flowed to the box's width: a key's words wrap
/// under its column, and the states go two a line only where two fit.
fn help_layout(area: Rect, theme: &Theme) -> (Rect, Vec<Line<'static>>) {
    let width = HELP_WIDTH.min(area.width);
    let inner = usize::from(width.saturating_sub(2));
    let mut lines = vec![Line::styled("Keys", theme.title())];
    key_lines(
        &mut lines,
        keys::keymap(&Mode::Normal).bindings.iter(),
        inner,
        theme,
    );
    lines.push(Line::styled("In the details", theme.title()));
    key_lines(&mut lines, keys::detail_only(), inner, theme);
    lines.push(Line::styled("States", theme.title()));
    let per_line = (inner / STATE_WIDTH).clamp(1, 2);
    for group in State::ALL.chunks(per_line) {
        let mut spans = Vec::new();
        for &state in group {
            spans.push(Span::styled(
                format!("  {}", pad(&state.label(), 12)),
                theme.state(state),
            ));
            spans.push(Span::raw(format!("{:<35}", state.meaning())));
        }
        lines.push(Line::from(spans));
    }
    let height = (lines.len() as u16).saturating_add(2).min(area.height);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    (rect, lines)
}

/// A line per key binding with help, its words wrapped to `inner` under the key column.
fn key_lines<'a>(
    lines: &mut Vec<Line<'static>>,
    bindings: impl Iterator<Item = &'a keys::Binding>,
    inner: usize,
    theme: &Theme,
) {
    let room = inner.saturating_sub(KEY_COLUMN).max(10);
    for (key, what) in bindings.filter_map(|b| Some((b.shown, b.help?))) {
        for (i, part) in wrap(what, room).into_iter().enumerate() {
            let key = if i == 0 { key } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("  {}", pad(key, KEY_COLUMN - 2)), theme.key()),
                Span::raw(part),
            ]));
        }
    }
}

/// `text` in lines of at most `width` columns, broken between words (a word longer than
/// that stands alone, cut by the box).
fn wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.width() + 1 + word.width() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// The lines the help shows at once in `area`, and how far it can scroll.
pub(super) fn help_scroll(area: Rect, theme: &Theme) -> (usize, usize) {
    let (rect, lines) = help_layout(area, theme);
    let shown = usize::from(rect.height.saturating_sub(2));
    (shown, lines.len().saturating_sub(shown))
}

pub(super) fn help(frame: &mut Frame<'_>, area: Rect, scroll: usize, theme: &Theme) {
    let (rect, lines) = help_layout(area, theme);
    frame.render_widget(Clear, rect);
    let shown = usize::from(rect.height.saturating_sub(2));
    let scroll = scroll.min(lines.len().saturating_sub(shown));
    // Says how to scroll only when there is more than fits, from the key table.
    let closes = if lines.len() > shown {
        let scrolls: Vec<String> = keys::keymap(&Mode::Help)
            .bindings
            .iter()
            .filter_map(|b| b.hint)
            .map(|(key, what)| format!("{key} {what}"))
            .collect();
        format!(" {}  any other key closes ", scrolls.join("  "))
    } else {
        " any key closes ".to_owned()
    };
    let block = Block::bordered()
        .border_style(theme.dim())
        .title(Span::styled(" hbmon help ", theme.title()))
        .title_bottom(Line::from(Span::styled(closes, theme.dim())).right_aligned());
    let scroll = u16::try_from(scroll).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), rect);
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
        yes_no("remove", "keep", theme),
    ];
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

/// A prompt's last line: ` y YES   n NO`.
pub(super) fn yes_no(yes: &str, no: &str, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::raw(" "),
        Span::styled("y", theme.key()),
        Span::raw(format!(" {yes}   ")),
        Span::styled("n", theme.key()),
        Span::raw(format!(" {no}")),
    ])
}
