//! The detail pane of the selected process: its health, its entry, its data, and its
//! history (beat gaps, periods, transitions).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Paragraph};
use serde_json::Value;

use super::theme::Theme;
use crate::clock::format_local;
use crate::duration::format_secs;
use crate::health::Severity;
use crate::report::Row;
use crate::report::columns::{self};
use crate::text;
use crate::tui::app::App;
use crate::tui::recent;
use entry::entry_lines;

mod entry;

/// `2025-06-15 17:03:04 (2m10s ago)`: local time, and how long ago.
pub(super) fn when(unix: f64, now: f64) -> String {
    let age = now - unix;
    let rel = if age < -1.0 {
        format!("in {}", format_secs(-age))
    } else {
        format!("{} ago", format_secs(age.max(0.0)))
    };
    format!("{} ({rel})", format_local(unix))
}

/// The key of `additional_data` that holds a job's last lines of output (`hbmon run`, a
/// ping with a text body).
const OUTPUT: &str = "output_tail";

/// How many of the output's last lines the pane shows.
const OUTPUT_LINES: usize = 8;

/// The detail pane's text for one row, `width` cells wide; a function of its own so the
/// viewport can measure it.
pub(super) fn detail_lines(
    app: &App,
    row: &Row,
    now: f64,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    // A remote's row: its ages count to its serve's clock, and its history and log are
    // that machine's, not in this one's database.
    let remote = crate::tui::remote::remote_host(row);
    let now = row.judged(now);
    let mut lines = health_lines(app, row, now, theme);
    lines.extend(probe_lines(row, theme));
    match &row.entry {
        Some(entry) => lines.extend(entry_lines(row, entry, now, theme)),
        None => lines.push(Line::from(vec![
            label("Last beat", theme),
            Span::raw("never"),
        ])),
    }
    let data = row.entry.as_ref().map(|e| &e.additional_data);
    // A job's output as the text it was, one line each (escaped below), not as a JSON
    // string: it is what a failed run has to say, so it comes before the rest of the data.
    let output: Vec<&str> = output_tail(row).map_or_else(Vec::new, |o| o.lines().collect());
    if !output.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled("Output (last lines)", theme.title()));
        let from = output.len().saturating_sub(OUTPUT_LINES);
        lines.extend(output[from..].iter().map(|l| Line::raw(format!("  {l}"))));
    }
    let log = (app.history())
        .and_then(|h| h.selected.as_ref())
        .filter(|s| s.name == row.name && remote.is_none())
        .map_or(&[][..], |s| &s.log[..]);
    if !log.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled(
            format!("Log (last lines; hbmon logs {} for more)", row.name),
            theme.title(),
        ));
        lines.extend(log.iter().map(|l| Line::raw(format!("  {l}"))));
    }
    lines.push(Line::default());
    lines.push(Line::styled("Data", theme.title()));
    let text = match data {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) if map.contains_key(OUTPUT) => {
            let mut rest = map.clone();
            rest.remove(OUTPUT);
            if rest.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&rest).unwrap_or_else(|e| e.to_string())
            }
        }
        Some(value) => serde_json::to_string_pretty(value).unwrap_or_else(|e| e.to_string()),
    };
    if text.is_empty() {
        lines.push(Line::styled("  none", theme.dim()));
    }
    lines.extend(text.lines().map(|l| Line::raw(format!("  {l}"))));
    lines.push(Line::default());
    match remote {
        Some(host) => lines.push(Line::styled(
            format!("History: in {host}'s hbmon (hbmon history there)"),
            theme.dim(),
        )),
        None => lines.extend(history_lines(app, row, now, width, theme)),
    }
    lines.into_iter().map(escaped).collect()
}

/// The job's output tail, if its data holds one.
pub(super) fn output_tail(row: &Row) -> Option<&str> {
    row.entry.as_ref()?.additional_data.get(OUTPUT)?.as_str()
}

/// `line` with every span's text escaped ([`text::escape`]): the detail pane shows what
/// writers chose in nearly every line, and its own text has nothing to escape.
pub(super) fn escaped(mut line: Line<'static>) -> Line<'static> {
    for span in &mut line.spans {
        if let std::borrow::Cow::Owned(shown) = text::escape(&span.content) {
            span.content = shown.into();
        }
    }
    line
}

/// The gaps between the last beats as a sparkline, and the transitions: as periods
/// (wrapped to `width` between periods), then one line each, their reasons counted on to
/// `now`.
pub(super) fn history_lines(
    app: &App,
    row: &Row,
    now: f64,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
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
    let mut line = vec![label("Periods", theme)];
    let mut used = LABEL_WIDTH;
    let periods = recent::timeline_periods(&owned, now, &chrono::Local);
    let count = periods.len();
    for (i, period) in periods.into_iter().enumerate() {
        let text = if i + 1 < count {
            format!("{period}, ")
        } else {
            period
        };
        let cells = text.chars().count();
        if used > LABEL_WIDTH && used + cells > width {
            lines.push(Line::from(std::mem::take(&mut line)));
            line.push(Span::raw(" ".repeat(LABEL_WIDTH)));
            used = LABEL_WIDTH;
        }
        used += cells;
        line.push(Span::raw(text));
    }
    lines.push(Line::from(line));
    for t in timeline {
        let from = t.from.map_or_else(
            || Span::styled("new", theme.dim()),
            |from| Span::styled(from.label(), theme.state(from)),
        );
        lines.push(Line::from(vec![
            Span::raw(format!("  {}  ", format_local(t.time))),
            from,
            Span::raw(" → "),
            Span::styled(t.to.label(), theme.state(t.to)),
            Span::styled(
                format!("  {}", recent::live_reason(&t.reason, t.time, now)),
                theme.dim(),
            ),
        ]));
    }
    lines
}

/// `▁▃█▂`: each value as a bar, scaled to the largest.
pub(super) fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .map(|&v| BARS[((v * 7).div_ceil(max)) as usize])
        .collect()
}

/// Each active probe: its verdict, its response times (last, p50 and p95 over the last
/// hour, a sparkline of the last runs) and why its last failed run failed.
fn probe_lines(row: &Row, theme: &Theme) -> Vec<Line<'static>> {
    let ms = columns::millis;
    let mut lines = Vec::new();
    for (i, p) in row.probes.iter().enumerate() {
        let verdict = match (p.ok, p.failing) {
            (None, _) => "not run yet".to_owned(),
            (Some(true), _) => "ok".to_owned(),
            (Some(false), failing) => format!(
                "failed {} in a row{}",
                p.fails,
                if failing { "" } else { " (tolerated)" }
            ),
        };
        let bars: Vec<u64> = p
            .recent_ms
            .iter()
            .map(|ms| (ms * 10.0).round() as u64)
            .collect();
        lines.push(Line::from(vec![
            label(if i == 0 { "Probes" } else { "" }, theme),
            Span::raw(format!(
                "{} {}  {verdict}{}  last {}  p50 {}  p95 {}  {}",
                p.kind,
                text::escape(&p.target),
                match (p.stale, p.late) {
                    (true, _) => ", stale",
                    (false, true) => ", late",
                    (false, false) => "",
                },
                ms(p.last_ms),
                ms(p.p50_ms),
                ms(p.p95_ms),
                sparkline(&bars)
            )),
        ]));
        if let (Some(false), Some(error)) = (p.ok, &p.last_error) {
            lines.push(Line::from(vec![
                label("", theme),
                Span::styled(format!("  {}", text::escape(error)), theme.dim()),
            ]));
        }
    }
    lines
}

/// The cells a field name takes, so the values line up.
const LABEL_WIDTH: usize = 13;

/// A field name in the detail pane, padded so the values line up; one as long as the
/// padding ("Blocked since", "Degraded since") still keeps a space before its value.
pub(super) fn label(text: &str, theme: &Theme) -> Span<'static> {
    let width = LABEL_WIDTH.max(text.chars().count() + 1);
    Span::styled(format!("{text:<width$}"), theme.dim())
}

/// State, since when, and the live process.
pub(super) fn health_lines(app: &App, row: &Row, now: f64, theme: &Theme) -> Vec<Line<'static>> {
    let health = &row.health;
    let mut lines = vec![Line::from(vec![
        label("State", theme),
        Span::styled(health.state.label(), theme.state(health.state)),
        Span::raw(format!(" — {}", health.reason)),
    ])];
    // The judgement knows since when for some states (a deadline passed); for the others
    // (a PID found gone) the history knows when the state began.
    // A remote row's history is on its machine: this one's timeline of a same-named
    // process says nothing of it.
    let since = health.since.or_else(|| {
        if crate::tui::remote::remote_host(row).is_some() {
            return None;
        }
        app.timeline(&row.name)
            .first()
            .filter(|t| t.to == health.state)
            .map(|t| t.time)
    });
    if let Some(since) = since {
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
    // Both directions of `depends_on`: what it needs, and what needs it.
    let needed_by = app.needed_by(row);
    for (what, names) in [
        ("Needs", row.depends_on.iter().map(String::as_str).collect()),
        ("Needed by", needed_by),
    ] {
        if !names.is_empty() {
            lines.push(Line::from(vec![
                label(what, theme),
                Span::raw(names.join(", ")),
            ]));
        }
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

pub(super) fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

pub(super) fn detail(frame: &mut Frame<'_>, area: Rect, app: &App, now: f64, theme: &Theme) {
    let Some(row) = app.selected_row() else {
        return;
    };
    let block = Block::bordered()
        .border_style(theme.dim())
        .title(Line::from(vec![
            Span::styled(format!(" {} ", columns::name(row)), theme.title()),
            Span::styled(row.health.state.label(), theme.state(row.health.state)),
            Span::raw(" "),
        ]));
    let lines = detail_lines(
        app,
        row,
        now,
        usize::from(area.width.saturating_sub(2)),
        theme,
    );
    let scroll = app.detail_scroll().min(lines.len().saturating_sub(1));
    let paragraph = Paragraph::new(Text::from(lines))
        .block(block)
        .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0));
    frame.render_widget(paragraph, area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::State;
    use crate::tui::fixtures::NOW;

    #[test]
    fn probes_show_their_verdict_response_times_sparkline_and_error() {
        let mut row = crate::tui::fixtures::row("api", State::Unhealthy, 5.0);
        let probe = |kind: &str, target: &str, ok, fails, recent: &[f64]| {
            crate::checks::ProbeStatus::sample(kind, target, ok, fails, recent, NOW)
        };
        row.probes = vec![
            probe(
                "http",
                "http://127.0.0.1:8080/health",
                Some(false),
                2,
                &[3.0, 4.0, 12.0, 250.0],
            ),
            probe("tcp", "127.0.0.1:5432", Some(true), 0, &[0.2, 0.3, 0.2]),
            probe("command", "pg_isready -q", None, 0, &[]),
        ];
        let text: Vec<String> = probe_lines(&row, &Theme::new(false))
            .iter()
            .map(ToString::to_string)
            .collect();
        insta::assert_snapshot!(text.join("\n"));
    }
}
