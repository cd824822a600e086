//! The history tab: every process's last hour or day as a strip of cells, a letter per
//! state, and its beats in the last minute; below them, the newest probe verdict flips.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::{Theme, pad};
use crate::changes::ProbeFlip;
use crate::health::State;
use crate::report::Row;
use crate::report::columns::{self};
use crate::text;
use crate::tui::app::{App, Table};
use crate::tui::recent;

/// The history tab: each process's last hour (or day: `window` seconds) as a row of cells,
/// one per slice, lettered by state so it reads without colour, and its beats in the last
/// minute.
pub(super) fn history_tab(
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
    let history = app.history();
    let flips: Vec<&ProbeFlip> = history
        .map_or(&[][..], |h| h.flips.as_slice())
        .iter()
        .filter(|f| f.time >= now - window)
        .collect();
    let all = usize::from(area.height.saturating_sub(3));
    // The window's flips: a heading and a line each, in at most a third of the tab.
    let flip_lines = (flips.len() + 1).min(all / 3) * usize::from(!flips.is_empty());
    let body = all - flip_lines;
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
                    Span::styled(state.letter().to_string(), theme.state(state))
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
    if flip_lines > 0 {
        lines.extend(flip_list(&flips[..flip_lines - 1], now, area.width, theme));
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
                Span::styled(s.letter().to_string(), theme.state(s)),
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

/// The heading and one line per probe flip (newest first), cut to `width`: failing in the
/// colour of `unhealthy`, passing again in that of `up`.
fn flip_list(flips: &[&ProbeFlip], now: f64, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled("Probe flips", theme.title())];
    for flip in flips {
        let text = format!(
            "{}  {}  {}",
            columns::local_stamp(flip.time, now),
            text::escape(&flip.name),
            flip.summary()
        );
        let style = theme.state(if flip.failing {
            State::Unhealthy
        } else {
            State::Up
        });
        lines.push(Line::styled(
            columns::truncate(&text, usize::from(width)),
            style,
        ));
    }
    lines
}
