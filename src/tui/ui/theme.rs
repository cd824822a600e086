//! Styles, or their monochrome stand-ins under `NO_COLOR`, and cell-exact padding.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;

use crate::health::{Severity, State};

/// Styles, or their monochrome stand-ins under `NO_COLOR`.
pub(super) struct Theme {
    color: bool,
}

impl Theme {
    pub(super) fn new(color: bool) -> Theme {
        Theme { color }
    }

    pub(super) fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub(super) fn severity(&self, severity: Severity) -> Style {
        match severity {
            Severity::Ok => self.fg(Color::Green),
            Severity::Warning => self.fg(Color::Yellow),
            Severity::Degraded => self.fg(Color::LightRed),
            Severity::Critical => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Severity::None => self.fg(Color::DarkGray),
        }
    }

    pub(super) fn state(&self, state: State) -> Style {
        self.severity(state.severity())
    }

    pub(super) fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub(super) fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub(super) fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// Reverse video, which needs no colour.
    pub(super) fn selected() -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub(super) fn banner(&self, tone: Tone) -> Style {
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

/// How loud a banner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    Error,
    Warning,
    Info,
}

/// Pads to `width` terminal cells, not chars (a writer's name may hold wide ones).
pub(super) fn pad(text: &str, width: usize) -> String {
    let cells = Span::raw(text).width();
    format!("{text}{}", " ".repeat(width.saturating_sub(cells)))
}
