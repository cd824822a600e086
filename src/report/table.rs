//! The text table of `hbmon status`: a pure function of a [`Report`], a width and whether
//! to style it (ANSI colour and state symbols) — so it can be snapshot-tested. What writers
//! chose (names, data, reasons, invalid entries) is escaped ([`crate::text`]): the only
//! control characters in it are its own colours.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

use super::columns::{self, Align, Column, Context};
use super::{Report, Row};
use crate::health::Severity;
use crate::text;

const MAX_NAME: usize = 32;
/// Below this many cells the data column is left out rather than squeezed.
const MIN_DATA: usize = 8;
const GAP: &str = "  ";

/// Renders `report` for a terminal `width` cells wide. `styled`: ANSI colours and state
/// symbols, for a terminal; otherwise plain ASCII words, for pipes and `NO_COLOR`.
///
/// Layout: an optional system line, the MONITORED PROCESSES section (config order), the
/// ADDITIONAL HEARTBEAT PROCESSES section (file order), invalid entries, and a count per
/// state. A row that needs attention (warning or worse), or whose last beat is from the
/// future (clock skew), gets its reason on a line below.
pub fn render(report: &Report, width: usize, styled: bool) -> String {
    let style = Style(styled);
    let mut out = String::new();
    if let Some(system) = &report.system {
        let _ = writeln!(out, "{}", system_line(system));
        out.push('\n');
    }
    let cx = Context {
        now: report.now,
        symbols: styled,
    };
    // Every column the rows need but DATA, the last, each sized to its widest cell; the
    // same for both sections, so they line up.
    let mut fixed_columns = Column::shown(&report.rows);
    fixed_columns.retain(|&c| c != Column::Data);
    let rendered: Vec<(&Row, Vec<String>)> = report
        .rows
        .iter()
        .map(|r| (r, cells(&fixed_columns, r, &cx)))
        .collect();
    let widths = column_widths(&fixed_columns, rendered.iter().map(|(_, c)| c));
    let fixed: usize = widths.iter().sum::<usize>() + GAP.len() * widths.len();
    let data_width = width.saturating_sub(fixed);
    let data_width = (data_width >= MIN_DATA).then_some(data_width);
    let (monitored, additional): (Vec<_>, Vec<_>) =
        rendered.into_iter().partition(|(r, _)| r.monitored);

    let (no_monitored, no_additional) = if report.named {
        ("none named", "none named")
    } else {
        (
            "none configured (hbmon init writes a starter hbmon.toml)",
            "none",
        )
    };
    let sections = [
        ("MONITORED PROCESSES", monitored, no_monitored),
        ("ADDITIONAL HEARTBEAT PROCESSES", additional, no_additional),
    ];
    for (i, (title, rows, empty)) in sections.into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", style.bold(title));
        if rows.is_empty() {
            let _ = writeln!(out, "  {}", style.dim(empty));
            continue;
        }
        let mut header: Vec<String> = fixed_columns.iter().map(|c| c.title().to_owned()).collect();
        if data_width.is_some() {
            header.push(Column::Data.title().to_owned());
        }
        let header = line(&fixed_columns, &header, &widths, |_, cell| cell);
        let _ = writeln!(out, "{}", style.bold(&header));
        for (row, mut row_cells) in rows {
            if let Some(w) = data_width {
                row_cells.push(Column::Data.text(row, &cx, w));
            }
            let severity = row.health.severity;
            let text = line(&fixed_columns, &row_cells, &widths, |i, cell| {
                if fixed_columns.get(i) == Some(&Column::State) {
                    style.severity(severity, &cell)
                } else {
                    cell
                }
            });
            let _ = writeln!(out, "{text}");
            // Clock skew says so only in the reason: shown even for a row that is fine.
            if severity >= Severity::Warning || row.skewed(row.judged(report.now)) {
                let arrow = if styled { "↳" } else { "->" };
                let reason = format!("    {arrow} {}", columns::reason(row));
                let reason = columns::truncate(&reason, width.max(20));
                let _ = writeln!(out, "{}", style.severity(severity, &reason));
            }
        }
    }
    if !report.invalid.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "{}", style.bold("INVALID ENTRIES"));
        for (name, why) in &report.invalid {
            let line = format!("  {name}: {why}");
            let text = columns::truncate(&text::escape(&line), width.max(20));
            let _ = writeln!(out, "{}", style.severity(Severity::Warning, &text));
        }
    }
    out.push('\n');
    let _ = writeln!(out, "{}", summary(report));
    out
}

/// `3 up, 1 late, 1 dead` (or `no processes`), with invalid entries counted.
pub fn summary(report: &Report) -> String {
    let mut parts: Vec<String> = report
        .counts()
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    if !report.invalid.is_empty() {
        parts.push(format!("{} invalid", report.invalid.len()));
    }
    if parts.is_empty() {
        "no processes".to_owned()
    } else {
        parts.join(", ")
    }
}

fn system_line(system: &crate::probe::SystemInfo) -> String {
    let cpu = if system.cpu_percent.is_finite() {
        format!("{:.1}%", system.cpu_percent)
    } else {
        "-".to_owned()
    };
    let share = |used: u64, total: u64| {
        if total == 0 {
            "-".to_owned()
        } else {
            format!(
                "{}/{} ({:.0}%)",
                columns::bytes(used),
                columns::bytes(total),
                used as f64 * 100.0 / total as f64
            )
        }
    };
    format!(
        "{}  CPU {cpu}  RAM {}  disk {}",
        system.host,
        share(system.memory_used, system.memory_total),
        share(system.disk_used, system.disk_total)
    )
}

/// The cells of `columns` (all but DATA, which takes what room is left).
fn cells(columns: &[Column], row: &Row, cx: &Context) -> Vec<String> {
    columns
        .iter()
        .map(|&c| match c {
            Column::Name => c.text(row, cx, MAX_NAME),
            // Sized to their widest cell: nothing to cut.
            _ => c.text(row, cx, usize::MAX),
        })
        .collect()
}

fn column_widths<'a>(
    columns: &[Column],
    rows: impl Iterator<Item = &'a Vec<String>>,
) -> Vec<usize> {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.title().width()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    widths
}

/// One table line: cells padded to `widths` (the data cell, beyond them, is not), each
/// padded cell passed through `paint` (styling must not count towards the width).
fn line(
    columns: &[Column],
    cells: &[String],
    widths: &[usize],
    paint: impl Fn(usize, String) -> String,
) -> String {
    let mut out = String::from(" ");
    for (i, cell) in cells.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { GAP });
        let padded = match widths.get(i) {
            None => cell.clone(),
            Some(&w) => {
                let pad = " ".repeat(w.saturating_sub(cell.width()));
                if columns[i].spec().align == Align::Right {
                    format!("{pad}{cell}")
                } else {
                    format!("{cell}{pad}")
                }
            }
        };
        out.push_str(&paint(i, padded));
    }
    out.trim_end().to_owned()
}

/// ANSI styling, or none.
#[derive(Clone, Copy)]
struct Style(bool);

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    fn severity(self, severity: Severity, text: &str) -> String {
        match severity {
            Severity::None => self.dim(text),
            Severity::Ok => self.paint("32", text),
            Severity::Warning => self.paint("33", text),
            Severity::Degraded => self.paint("35", text),
            Severity::Critical => self.paint("1;31", text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::format_local;
    use crate::report::build;
    use crate::report::fixture::{self, NOW};

    fn report() -> Report {
        build(
            &fixture::snapshot(),
            &fixture::config(),
            &mut fixture::probe(),
            NOW,
        )
    }

    /// The clock column is local time; the snapshots must not depend on the time zone.
    fn render_fixed(report: &Report, width: usize, styled: bool) -> String {
        let mut text = render(report, width, styled);
        for row in &report.rows {
            if let Some(e) = &row.entry {
                let clock = &format_local(e.last_heartbeat)[11..];
                text = text.replace(clock, "hh:mm:ss");
            }
        }
        text
    }

    #[test]
    fn plain_table() {
        insta::assert_snapshot!(render_fixed(&report(), 120, false));
    }

    #[test]
    fn styled_table() {
        insta::assert_snapshot!(render_fixed(&report(), 120, true));
    }

    #[test]
    fn a_beat_from_the_future_shows_its_reason() {
        // The fixture's is 30 s ahead, past its interval and grace (15 s): skewed.
        let far = report();
        // Moved to 10 s ahead: up, as fresh, and the reason says why.
        let mut near = report();
        let row = near.rows.iter_mut().find(|r| r.name == "skewed").unwrap();
        row.entry_mut().last_heartbeat = NOW + 10.0;
        row.health = crate::health::evaluate(
            row.entry.as_deref(),
            &row.rules,
            NOW,
            crate::health::Os::Unknown,
            &crate::health::Probed::None,
        );
        for (report, state, reason) in [
            (
                far,
                "skewed",
                "-> last beat is 30s in the future (clock skew?)",
            ),
            (
                near,
                "up",
                "-> beat 0ms ago (last beat is 10s in the future: clock skew?)",
            ),
        ] {
            let text = render_fixed(&report, 120, false);
            let at = text.lines().position(|l| l.contains("skewed ")).unwrap();
            assert!(text.lines().nth(at).unwrap().contains(state), "{text}");
            let below = text.lines().nth(at + 1).unwrap();
            assert!(below.contains(reason), "{text}");
        }
    }

    #[test]
    fn what_writers_chose_is_escaped_in_every_cell() {
        use crate::config::Config;
        use crate::probe::FakeProbe;
        use crate::store::{Entry, Reported, Snapshot};
        let entry = Entry {
            last_heartbeat: NOW - 1.0,
            status: Some(Reported::Error),
            last_error: Some("\u{1b}]0;pwned\u{7}\u{1b}[2J".into()),
            additional_data: serde_json::json!({"note": "a\u{2028}b"}),
            ..Entry::default()
        };
        let snapshot = Snapshot {
            entries: vec![("evil\u{202e}txt".into(), entry.into())],
            invalid: vec![("bad\u{9b}1m".into(), "unknown variant `\u{1b}[2J`".into())],
        };
        let report = build(
            &snapshot,
            &Config::default(),
            &mut FakeProbe::default(),
            NOW,
        );
        let text = render(&report, 200, false);
        for line in text.lines() {
            assert!(!line.chars().any(text::needs_escape), "{line:?}");
        }
        for shown in [
            r"evil\u{202e}txt",
            r"-> reported an error 1s ago: \u{1b}]0;pwned\u{7}\u{1b}[2J",
            r"note=a\u{2028}b",
            r"bad\u{9b}1m: unknown variant `\u{1b}[2J`",
        ] {
            assert!(text.contains(shown), "{shown} not in\n{text}");
        }
    }

    #[test]
    fn rows_with_probes_add_a_resp_column_and_rows_without_leave_it_out() {
        use crate::checks::ProbeStatus;
        let without = render_fixed(&report(), 120, false);
        assert!(!without.contains("RESP"), "{without}");
        let mut probed = report();
        probed.rows[0].probes = vec![
            ProbeStatus::sample(
                "http",
                "http://127.0.0.1/health",
                Some(true),
                0,
                &[4.0, 12.4],
                NOW,
            ),
            ProbeStatus::sample("tcp", "127.0.0.1:5432", Some(true), 0, &[0.4], NOW),
        ];
        probed.rows[1].probes = vec![ProbeStatus::sample(
            "tcp",
            "127.0.0.1:6379",
            Some(true),
            0,
            &[0.43],
            NOW,
        )];
        // Probed but not run yet: a dash, and the column still shown for the others.
        probed.rows[2].probes = vec![ProbeStatus::sample(
            "command",
            "pg_isready",
            None,
            0,
            &[],
            NOW,
        )];
        insta::assert_snapshot!(render_fixed(&probed, 120, false));
    }

    #[test]
    fn narrow_table_drops_the_data_column() {
        let text = render_fixed(&report(), 80, false);
        assert!(!text.contains("DATA"), "{text}");
        // The rows; the count summary below them is one line at any width.
        let mut rows = text.lines().filter(|l| l.starts_with("  "));
        assert!(rows.all(|l| l.len() <= 110), "{text}");
    }

    #[test]
    fn an_empty_report_says_so() {
        let empty = Report {
            now: NOW,
            rows: Vec::new(),
            invalid: Vec::new(),
            system: None,
            named: false,
        };
        insta::assert_snapshot!(render(&empty, 80, false), @r"
        MONITORED PROCESSES
          none configured (hbmon init writes a starter hbmon.toml)

        ADDITIONAL HEARTBEAT PROCESSES
          none

        no processes
        ");
    }

    #[test]
    fn named_processes_leave_no_hint_to_configure() {
        let full = report();
        let additional = full.rows.iter().find(|r| !r.monitored).unwrap();
        let report = full.select(std::slice::from_ref(&additional.name)).unwrap();
        let text = render(&report, 120, false);
        let monitored = text.lines().skip_while(|l| *l != "MONITORED PROCESSES");
        assert_eq!(monitored.clone().nth(1), Some("  none named"), "{text}");
        assert!(!text.contains("none configured"), "{text}");
    }

    #[test]
    fn styling_does_not_shift_columns() {
        let strip = |s: &str| {
            let ansi = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
            ansi.replace_all(s, "").into_owned()
        };
        let report = report();
        let plain = render_fixed(&report, 120, false);
        let styled = strip(&render_fixed(&report, 120, true));
        // Same layout; only the symbols differ (and are one or two cells wide).
        let header = |t: &str| {
            t.lines()
                .find(|l| l.trim_start().starts_with("NAME"))
                .unwrap()
                .find("PID")
                .unwrap()
        };
        assert_eq!(header(&plain) + 2, header(&styled));
    }
}
