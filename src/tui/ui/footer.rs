//! The footer: the keys that matter in the current mode, or the filter being typed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::theme::Theme;
use crate::tui::app::{App, Mode};
use crate::tui::keys;

pub(super) fn footer(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let hints = keys::hints(app.mode());
    if app.mode() == &Mode::Filter {
        let said: Vec<String> = hints
            .iter()
            .map(|(k, what)| format!("{k} {what}"))
            .collect();
        let line = Line::from(vec![
            Span::styled(" filter: ", theme.key()),
            Span::raw(app.filter().to_owned()),
            Span::styled("▏", theme.key()),
            Span::styled(format!("   {}", said.join("  ")), theme.dim()),
        ]);
        frame.render_widget(line, area);
        return;
    }
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
