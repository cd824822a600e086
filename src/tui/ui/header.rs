//! The header (host, system load, the monitor's runtime, the file; a count per state) and
//! the banner under it (a file error, a notice, invalid entries), and the line of remotes
//! whose rows are not shown.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::{Theme, Tone};
use crate::duration::format_secs;
use crate::health::State;
use crate::report::columns::{self};
use crate::text;
use crate::tui::app::App;

/// How long a notice (e.g. "removed web") stays in the banner.
pub(super) const NOTICE_SECS: f64 = 5.0;

pub(super) fn header(frame: &mut Frame<'_>, area: Rect, app: &App, now: f64, theme: &Theme) {
    let [line1, line2] = Layout::vertical([Constraint::Length(1); 2]).areas(area);
    frame.render_widget(system_line(app, now, theme, usize::from(area.width)), line1);
    frame.render_widget(counts_line(app, theme, usize::from(line2.width)), line2);
}

/// Host, system CPU/RAM/disk, the monitor's runtime and the file; shorter forms when narrow,
/// keeping the end of the path (its file name) rather than dropping it.
pub(super) fn system_line(app: &App, now: f64, theme: &Theme, width: usize) -> Line<'static> {
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
pub(super) fn counts_line(app: &App, theme: &Theme, width: usize) -> Line<'static> {
    let counts = app.report().counts();
    if counts.is_empty() {
        return Line::styled(" no processes", theme.dim());
    }
    let hidden = app.hidden();
    // Roomiest first; the last form always fits the 60-column minimum.
    let mut line = Line::default();
    for (words, gap) in [(true, "  "), (true, " "), (false, " ")] {
        let text = |state: State, n: usize| {
            if words {
                format!("{} {n}", state.label())
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
        // The counts include them: say why they are not in the tables.
        if hidden > 0 {
            line.spans.push(Span::styled(
                if words {
                    format!("({hidden} stopped not shown: a shows all)")
                } else {
                    format!("({hidden} hidden)")
                },
                theme.dim(),
            ));
        }
        if line.width() <= width {
            break;
        }
    }
    line
}

/// Keeps the end of a path (the file name matters most): `…/state/hbmon/heartbeat_status.json`.
pub(super) fn shorten_path(path: &str, width: usize) -> String {
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

/// The banner: the monitor's worst error (red: a file the last good view stands for, a
/// config not reloaded), else a recent notice, else its worst warning (no file yet), else
/// entries that are not valid.
pub(super) fn banner_text(app: &App, now: f64) -> Option<(String, Tone)> {
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

pub(super) fn banner(frame: &mut Frame<'_>, area: Rect, app: &App, now: f64, theme: &Theme) {
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

/// One line for the remotes whose rows are not shown: `! box2: unreachable since
/// 14:02:11 (connection refused)`, each after the other, cut to the width.
pub(super) fn stale_remotes(frame: &mut Frame<'_>, area: Rect, app: &App, now: f64, theme: &Theme) {
    let lines: Vec<String> = app.stale().iter().map(|s| s.line(now)).collect();
    let text = columns::truncate(
        &format!(" ! {}", lines.join("  ·  ")),
        usize::from(area.width),
    );
    frame.render_widget(
        Paragraph::new(text).style(theme.banner(Tone::Warning)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_keep_their_file_name() {
        assert_eq!(shorten_path("/a/b/c/hb.json", 20), "/a/b/c/hb.json");
        assert_eq!(shorten_path("/very/long/dir/hb.json", 12), "…dir/hb.json");
    }
}
