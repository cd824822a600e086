//! The table's columns, one model for `hbmon status` and the terminal UI: each column's
//! title, minimum width, alignment, when a narrow screen drops it, its text and its order
//! (sorting is a property of a column). Adding a column is one variant and one arm of
//! [`Column::spec`]; the two faces and their snapshots follow.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::Row;
use crate::duration;
use crate::health::State;
use crate::store::Kind;
use crate::text;

/// A column of the process table, in display order ([`Column::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::VariantArray)]
pub enum Column {
    /// The machine a row is from: only while rows of several are shown (`--remote`).
    Host,
    Name,
    State,
    Pid,
    Cpu,
    Memory,
    Runtime,
    BeatAt,
    LastBeat,
    /// The slowest active probe's last response time: only while some row has a probe.
    Resp,
    Interval,
    Beats,
    /// `additional_data` on one line: takes what room is left.
    Data,
}

/// Which side of its cell a column's text keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// What a cell's text depends on besides its row.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The instant the texts are for (ages count to it).
    pub now: f64,
    /// The state's symbol beside its word (`● up`); plain words for pipes.
    pub symbols: bool,
}

/// Everything about one column.
pub struct Spec {
    /// The header, also the sort's name in lower case.
    pub title: &'static str,
    /// The cells the UI gives it at least; NAME and DATA take what is left over.
    pub min_width: u16,
    pub align: Align,
    /// Narrow screens drop columns lowest rank first instead of wrapping; `None`: never
    /// dropped (name, state and time since the last beat are the question the screen
    /// answers).
    pub drop: Option<u8>,
    /// Its place in the sort key's cycle (`s`), if any; every column sorts when its
    /// title is clicked.
    pub cycle: Option<u8>,
    /// Shown only when some row passes this (RESP: a row with a probe); `None`: always.
    pub needed_by: Option<fn(&Row) -> bool>,
    /// The cell's text.
    text: fn(&Row, &Context) -> String,
    /// Its order, first first: the caller breaks ties (by name).
    compare: fn(&Row, &Row) -> Ordering,
}

impl Column {
    pub const ALL: &'static [Column] = <Column as strum::VariantArray>::VARIANTS;

    /// The one place a column is defined.
    #[allow(clippy::too_many_lines)]
    pub fn spec(self) -> Spec {
        match self {
            Column::Host => Spec {
                title: "HOST",
                min_width: 8,
                align: Align::Left,
                drop: None,
                cycle: None,
                needed_by: Some(|row| row.host.is_some()),
                text: |row, _| text::escape(row.host.as_deref().unwrap_or("")).into_owned(),
                compare: |a, b| {
                    caseless(
                        a.host.as_deref().unwrap_or(""),
                        b.host.as_deref().unwrap_or(""),
                    )
                },
            },
            Column::Name => Spec {
                title: "NAME",
                min_width: 12,
                align: Align::Left,
                drop: None,
                cycle: Some(1),
                needed_by: None,
                text: |row, _| name(row).into_owned(),
                compare: |a, b| caseless(a.display_name(), b.display_name()),
            },
            Column::State => Spec {
                title: "STATE",
                min_width: 10,
                align: Align::Left,
                drop: None,
                cycle: Some(0),
                needed_by: None,
                text: |row, cx| state(row, cx.symbols),
                // Worst first.
                compare: |a, b| b.health.severity.cmp(&a.health.severity),
            },
            Column::Pid => Spec {
                title: "PID",
                min_width: 7,
                align: Align::Right,
                drop: Some(8),
                cycle: None,
                needed_by: None,
                text: |row, _| pid(row),
                compare: |a, b| present(a.pid().map(f64::from), b.pid().map(f64::from)),
            },
            Column::Cpu => Spec {
                title: "CPU",
                min_width: 6,
                align: Align::Right,
                drop: Some(6),
                cycle: Some(3),
                needed_by: None,
                text: |row, _| cpu(row),
                // Busiest first; an unknown CPU (no second sample yet) with the rows
                // that have none.
                compare: |a, b| {
                    let cpu = |r: &Row| {
                        r.process
                            .as_ref()
                            .map(|p| f64::from(p.cpu_percent))
                            .filter(|c| c.is_finite())
                    };
                    present(cpu(a), cpu(b))
                },
            },
            Column::Memory => Spec {
                title: "MEM",
                min_width: 7,
                align: Align::Right,
                drop: Some(5),
                cycle: Some(4),
                needed_by: None,
                text: |row, _| memory(row),
                compare: |a, b| {
                    let mem = |r: &Row| r.process.as_ref().map(|p| p.memory_bytes as f64);
                    present(mem(a), mem(b))
                },
            },
            Column::Runtime => Spec {
                title: "RUNTIME",
                min_width: 7,
                align: Align::Right,
                drop: Some(3),
                cycle: None,
                needed_by: None,
                text: |row, cx| runtime(row, cx.now),
                // Longest first: the earliest start.
                compare: |a, b| {
                    let start = |r: &Row| r.process.as_ref().map(|p| -(p.start_time as f64));
                    present(start(a), start(b))
                },
            },
            Column::BeatAt => Spec {
                title: "BEAT AT",
                min_width: 8,
                align: Align::Left,
                drop: Some(4),
                cycle: None,
                needed_by: None,
                text: |row, cx| last_beat(row, cx.now),
                compare: newest_beat_first,
            },
            Column::LastBeat => Spec {
                title: "LAST BEAT",
                min_width: 10,
                align: Align::Right,
                drop: None,
                cycle: Some(2),
                needed_by: None,
                text: |row, cx| since_beat(row, cx.now),
                compare: newest_beat_first,
            },
            Column::Resp => Spec {
                title: "RESP",
                min_width: 6,
                align: Align::Right,
                drop: Some(9),
                cycle: None,
                needed_by: Some(|row| !row.probes.is_empty()),
                text: |row, _| millis(response_ms(row)),
                // Slowest first; rows without a timed run after those with one.
                compare: |a, b| present(response_ms(a), response_ms(b)),
            },
            Column::Interval => Spec {
                title: "INTERVAL",
                min_width: 8,
                align: Align::Right,
                drop: Some(2),
                cycle: None,
                needed_by: None,
                text: |row, cx| interval(row, cx.now),
                compare: |a, b| present(Some(a.rules.interval), Some(b.rules.interval)),
            },
            Column::Beats => Spec {
                title: "BEATS",
                min_width: 7,
                align: Align::Right,
                drop: Some(1),
                cycle: None,
                needed_by: None,
                text: |row, _| beats(row),
                compare: |a, b| {
                    let beats = |r: &Row| r.entry.as_ref().and_then(|e| e.beats).map(|b| b as f64);
                    present(beats(a), beats(b))
                },
            },
            Column::Data => Spec {
                title: "DATA",
                min_width: 12,
                align: Align::Left,
                drop: Some(7),
                cycle: None,
                needed_by: None,
                text: |row, _| data_text(row),
                compare: |a, b| data_text(a).cmp(&data_text(b)),
            },
        }
    }

    pub fn title(self) -> &'static str {
        self.spec().title
    }

    /// The cell's text for `row`, cut to `width` characters with `…` (any column: a
    /// huge interval must not be cut silently by the cell's edge).
    /// A remote's row counts its ages to the instant its own serve judged it at.
    pub fn text(self, row: &Row, cx: &Context, width: usize) -> String {
        let cx = Context {
            now: row.judged(cx.now),
            ..*cx
        };
        truncate(&(self.spec().text)(row, &cx), width)
    }

    /// The order of two rows by this column alone; ties are for the caller to break.
    pub fn compare(self, a: &Row, b: &Row) -> Ordering {
        (self.spec().compare)(a, b)
    }

    /// Whether `rows` need this column: a column that only some rows fill (RESP) is left
    /// out when none does, so a monitor without probes keeps its table as it was.
    pub fn needed(self, rows: &[Row]) -> bool {
        self.spec()
            .needed_by
            .is_none_or(|needed| rows.iter().any(needed))
    }

    /// The columns `rows` show, in display order ([`Column::needed`]).
    pub fn shown(rows: &[Row]) -> Vec<Column> {
        Column::ALL
            .iter()
            .copied()
            .filter(|c| c.needed(rows))
            .collect()
    }

    /// The columns of the sort key's cycle, in its order.
    pub fn sort_cycle() -> impl Iterator<Item = Column> {
        let mut cycle: Vec<(u8, Column)> = Column::ALL
            .iter()
            .filter_map(|&c| c.spec().cycle.map(|rank| (rank, c)))
            .collect();
        cycle.sort_unstable_by_key(|&(rank, _)| rank);
        cycle.into_iter().map(|(_, c)| c)
    }

    /// The next sort key after this one when `s` is pressed.
    #[must_use]
    pub fn next_sort(self) -> Column {
        let cycle: Vec<Column> = Column::sort_cycle().collect();
        let at = cycle.iter().position(|&c| c == self);
        at.map_or(cycle[0], |i| cycle[(i + 1) % cycle.len()])
    }

    /// The sort's name as the UI says it (`sort last beat ↓`).
    pub fn sort_name(self) -> String {
        self.title().to_lowercase()
    }
}

/// Rows with a value (a live process, a beat, a CPU sample) before those without; the rest
/// biggest first. `total_cmp`: sorting needs a total order.
fn present(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.total_cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn newest_beat_first(a: &Row, b: &Row) -> Ordering {
    let beat = |r: &Row| r.entry.as_ref().map(|e| e.last_heartbeat);
    present(beat(a), beat(b))
}

/// Case-insensitive order without allocating: a sort of 10 000 rows compares ~130 000 times.
fn caseless(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .cmp(b.chars().flat_map(char::to_lowercase))
    }
}

/// `● up` with symbols, else the word; `▶ 2 running` for a job with runs in progress at
/// once.
pub fn state(row: &Row, symbols: bool) -> String {
    let state = row.health.state;
    let word = match row.runs_in_progress() {
        n if n > 1 && state == State::Running => format!("{n} {state}"),
        _ => state.to_string(),
    };
    if symbols {
        format!("{} {word}", state.symbol())
    } else {
        word
    }
}

fn data_text(row: &Row) -> String {
    row.entry
        .as_ref()
        .map_or_else(String::new, |e| summarize(&e.additional_data))
}

/// The name shown: the label if configured, else the heartbeat name; escaped
/// ([`text::escape`]), as everything a writer chose.
pub fn name(row: &Row) -> Cow<'_, str> {
    text::escape(row.display_name())
}

/// Why the row is in its state (it may quote a writer's error), escaped.
pub fn reason(row: &Row) -> Cow<'_, str> {
    text::escape(&row.health.reason)
}

pub fn pid(row: &Row) -> String {
    row.pid().map_or_else(|| "-".to_owned(), |p| p.to_string())
}

pub fn cpu(row: &Row) -> String {
    row.process
        .as_ref()
        .filter(|p| p.cpu_percent.is_finite())
        .map_or_else(|| "-".to_owned(), |p| format!("{:.1}%", p.cpu_percent))
}

pub fn memory(row: &Row) -> String {
    row.process
        .as_ref()
        .map_or_else(|| "-".to_owned(), |p| bytes(p.memory_bytes))
}

/// Whole seconds: start times are whole seconds, so anything finer is noise.
pub fn runtime(row: &Row, now: f64) -> String {
    runtime_text(row.runtime(now))
}

/// [`runtime`]'s text of a runtime in seconds (the dashboard counts it on from its own
/// `now`, web/app.js `tick`, and must write the same).
pub fn runtime_text(secs: Option<f64>) -> String {
    match secs.map(f64::round) {
        None => "-".to_owned(),
        Some(secs) if secs < 1.0 => "0s".to_owned(),
        Some(secs) => duration::format_secs(secs),
    }
}

/// The last beat in local time, in at most 8 cells: `HH:MM:SS` today, else `Nov 22`
/// within half a year, else `Nov 2025`. A bare clock time for a beat days old would read
/// as minutes ago; the exact age is in the next column.
pub fn last_beat(row: &Row, now: f64) -> String {
    row.entry
        .as_ref()
        .map_or_else(|| "-".to_owned(), |e| local_stamp(e.last_heartbeat, now))
}

/// A Unix time in local time, dated only when it is not today (see [`last_beat`]).
pub fn local_stamp(at: f64, now: f64) -> String {
    let (Some(at_local), Some(now_local)) = (crate::clock::local(at), crate::clock::local(now))
    else {
        return "-".to_owned();
    };
    let format = if at_local.date_naive() == now_local.date_naive() {
        // Written out: chrono parses a format string on every call, and a table of 10 000
        // rows has one of these per row (most of `hbmon status`'s formatting).
        use chrono::Timelike;
        return format!(
            "{:02}:{:02}:{:02}",
            at_local.hour(),
            at_local.minute(),
            at_local.second()
        );
    } else if (now - at).abs() < 183.0 * 86_400.0 {
        "%b %e"
    } else {
        "%b %Y"
    };
    at_local.format(format).to_string()
}

/// Time since the last beat: `42s ago`, or `in 3s` for a beat from the future.
pub fn since_beat(row: &Row, now: f64) -> String {
    age_text(row.since_beat(now))
}

/// [`since_beat`]'s text of an age in seconds (`None`: never beat); a beat further in the
/// future than [`SKEW_TOLERANCE`](crate::health::SKEW_TOLERANCE) is `in …`, as
/// [`Row::skewed`] says. The dashboard writes it from its own `now` too (web/app.js).
pub fn age_text(age: Option<f64>) -> String {
    match age {
        None => "never".to_owned(),
        Some(age) if age < -crate::health::SKEW_TOLERANCE => {
            format!("in {}", duration::format_secs(-age))
        }
        Some(age) => format!("{} ago", duration::format_secs(age.max(0.0))),
    }
}

/// The interval; `-` for a job without a period of its own, which is never overdue
/// (showing the default would suggest it is checked against it); for a scheduled job, when
/// its next run is due ([`due`]).
pub fn interval(row: &Row, now: f64) -> String {
    let rules = &row.rules;
    if rules.schedule.0.is_some() && rules.kind == Kind::Job {
        return due(row, now).unwrap_or_else(|| "-".to_owned());
    }
    if rules.kind == Kind::Job && !rules.interval_from.is_own() {
        return "-".to_owned();
    }
    duration::format_secs(rules.interval)
}

/// A scheduled job's next run: `due 03:00 (in 4h12m)` in the schedule's zone, with the
/// weekday when it is a day or more away, and `(2h ago)` for the one missed while overdue.
/// `None` for a job without a schedule, or one that never fires again.
pub fn due(row: &Row, now: f64) -> Option<String> {
    let schedule = row.rules.schedule.0.as_ref()?;
    let due = crate::health::next_due(row.entry.as_deref(), &row.rules)?;
    let format = if due - now >= 86_400.0 {
        "%a %H:%M"
    } else {
        "%H:%M"
    };
    let relative = if due >= now {
        format!("in {}", duration::format_secs(due - now))
    } else {
        format!("{} ago", duration::format_secs(now - due))
    };
    Some(format!(
        "due {} ({relative})",
        schedule.strftime_local(due, format)
    ))
}

/// The slowest last run of `row`'s probes, in milliseconds: the one a reader worries
/// about. `None` without probes, or before any has run.
pub fn response_ms(row: &Row) -> Option<f64> {
    row.probes
        .iter()
        .filter_map(|p| p.last_ms)
        .filter(|ms| ms.is_finite())
        .reduce(f64::max)
}

/// A response time: a tenth of a millisecond below ten (a local probe takes well under
/// one), whole milliseconds above; `-` for none.
pub fn millis(ms: Option<f64>) -> String {
    match ms {
        None => "-".to_owned(),
        Some(ms) if ms < 10.0 => format!("{ms:.1}ms"),
        Some(ms) => format!("{ms:.0}ms"),
    }
}

pub fn beats(row: &Row) -> String {
    row.entry
        .as_ref()
        .and_then(|e| e.beats)
        .map_or_else(|| "-".to_owned(), |b| b.to_string())
}

/// `k=v k=v` for an object, the text of a string, JSON for anything else, on one line:
/// line breaks and tabs (a job's output tail has them) become single spaces, other
/// control characters are escaped ([`text::one_line`]).
pub fn summarize(data: &Value) -> String {
    let text = match data {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    text::one_line(&text).into_owned()
}

/// Cuts `text` to at most `width` characters, ending in `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `512B`, `12.3K`, `45.6M`, `1.2G` (binary units, as htop shows).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}B")
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

mod view;
pub use view::View;

#[cfg(test)]
mod tests;
