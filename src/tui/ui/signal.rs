//! The signal dialog over the screen: the menu of signals (htop's F9), then the confirm.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::overlays::{popup, yes_no};
use super::theme::{Theme, pad};
use crate::health::Severity;
use crate::text;
use crate::tui::app::{SIGNALS, Signalling, Target};

/// The menu's width: `▶ SIGTERM  15  ask it to stop`, with room for the longest meaning.
const WIDTH: u16 = 48;

pub(super) fn signal_dialog(frame: &mut Frame<'_>, area: Rect, dialog: &Signalling, theme: &Theme) {
    match dialog {
        Signalling::Menu { target, at } => menu(frame, area, target, *at, theme),
        Signalling::Confirm { target, signal } => confirm(frame, area, target, *signal, theme),
    }
}

/// Who the signal is for, as the title says it (the name escaped: a writer chose it).
fn whom(target: &Target) -> String {
    format!("{} (pid {})", text::escape(&target.name), target.pid)
}

fn menu(frame: &mut Frame<'_>, area: Rect, target: &Target, at: usize, theme: &Theme) {
    let title = format!(" send a signal to {} ", whom(target));
    let width = WIDTH.max(title.chars().count() as u16 + 2);
    let rect = popup(frame, area, width, SIGNALS.len() as u16 + 4);
    let block = Block::bordered()
        .border_style(theme.severity(Severity::Warning))
        .title(Span::styled(title, theme.title()))
        .title_bottom(
            Line::from(Span::styled(" Enter send…  Esc cancel ", theme.dim())).right_aligned(),
        );
    let mut lines = vec![Line::default()];
    lines.extend(SIGNALS.iter().enumerate().map(|(i, (signal, meaning))| {
        let name = crate::signal::name(*signal).unwrap_or("?");
        let text = format!(
            " {} {} {signal:>2}  {meaning}",
            if i == at { "▶" } else { " " },
            pad(name, 8)
        );
        if i == at {
            Line::styled(text, Theme::selected())
        } else {
            Line::raw(text)
        }
    }));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

fn confirm(frame: &mut Frame<'_>, area: Rect, target: &Target, signal: libc::c_int, theme: &Theme) {
    let name = crate::signal::name(signal).unwrap_or("the signal");
    let question = format!(" Send {name} to {}? ", whom(target));
    let width = (question.chars().count() as u16 + 2).max(36);
    let rect = popup(frame, area, width, 5);
    let block = Block::bordered()
        .border_style(theme.severity(Severity::Critical))
        .title(Span::styled(" signal ", theme.severity(Severity::Critical)));
    let lines = vec![
        Line::raw(question),
        Line::default(),
        yes_no("send", "cancel", theme),
    ];
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
