//! Health: the states a process can be in, their severities, and the pure
//! [`evaluate`] that judges one process from its entry, its rules, the clock and the OS.
//!
//! # The rules, exactly
//!
//! `I` is the interval and `G` the grace ([`Rules`]); `age` is `now - last_heartbeat`. A
//! threshold of `n` missed intervals is crossed when `age > n·I + G` — strictly: a beat
//! exactly at `I + G` is still `up`, one microsecond later it is `late`. Checked in this
//! order, the first match wins:
//!
//! 1. No entry (never beaten): `silent` if the config's `match` finds a process that
//!    started more than `I + G` ago. Else, for a job whose period is its own (see 6),
//!    `overdue` once `now > known_since + I + G` ([`Rules::known_since`]: when hbmon
//!    learned of it, the config file's modification time) — so a job whose cron line
//!    never fires is seen. `pending` otherwise (a process that has only just started, or
//!    was only just configured, gets its first interval to beat).
//! 2. `stopped`: the newest report is a clean stop — even though its PID is gone.
//! 3. `dead`, at once: the entry's PID no longer exists (a zombie counts as gone), or it
//!    belongs to a process that started more than [`PID_REUSE_SLACK`] seconds after this
//!    run's `first_heartbeat` (the PID was reused). Checked for an app, unless it reports
//!    a finished run (`succeeded`/`failed`), and for a job only while it reports
//!    `running`: a job runs, exits and runs again, so after any other report (a finished
//!    run, or a plain `alive`/`error` beat from a cron script that has since exited) its
//!    process is meant to be gone — whether it runs on time is rule 6's `overdue`.
//! 4. `failed`: the newest report is a failed job run (exit code non-zero), or a run
//!    reported succeeded that took less than `min_runtime` ("last run ran 0.4s, expected
//!    ≥ 30s"). Also while other runs of the job are in progress: their keepalives do not
//!    hide it; their next start or end does.
//! 5. `skewed`: the last beat is more than `I + G` in the future. Everything below counts
//!    from the last beat, which a writer's clock ahead would keep fresh until real time
//!    caught up (a beat ten years ahead: `up` for ten years); so it is judged by nothing
//!    but the clock skew, a warning, until the clocks agree.
//! 6. Jobs (`kind = "job"`): with runs in progress that run ids name (the entry's
//!    `runs`), `hung` if one has run past `max_runtime` (the oldest such run named), else
//!    `error` while two or more run at once and the config says `overlap = "warn"` (each
//!    run named with its PID: a job that must not overlap, a warning as an error report
//!    is), else `running` ("2 running, the oldest for 5m"). Without them, `running`
//!    while a run started and is within `max_runtime` (`hung` past it); otherwise `overdue`
//!    when no run started within `I + G` of the last start (the interval is the job's
//!    period — only if the job's own config or its writer gave one, never a default). With
//!    a cron schedule ([`Rules::schedule`]) the period is the schedule: `overdue` once `now >
//!    F + G`, `F` the first fire time after the last start (for a job that never ran, after
//!    `known_since`: rule 1). Then, for a scheduled job, `error` if its newest run started
//!    when it was not due (no fire time since the run before it started: early, or twice
//!    in one period — a warning, as an overlap is). Else `error` if it reported one, else
//!    `up`. Lateness in beats does not apply: a job is quiet between runs.
//! 7. Apps: past `dead_after` intervals `hung` if the PID is alive, else `dead`; past
//!    `degraded_after` `degraded`; an `error` report; past `late_after` `late`; else `up`.
//!    So a worse timing state hides an error report, and an error hides lateness.
//!
//! 8. Probes (`http`, `tcp`, `command`; [`Probed`]): a process whose probe fails
//!    `probe_fails` runs in a row is `unhealthy` when rules 1 to 7 found it `up`,
//!    `running`, `late`, `error` or `skewed` (the reason names the failing probes, then
//!    what it is underneath); a worse state (`degraded`, `hung`, `dead`, `failed`,
//!    `overdue`) or `stopped` hides it. A process with probes and no entry is judged by
//!    its probes alone, a plain HTTP/TCP monitor: `up` while they pass, `unhealthy` when
//!    one fails, `pending` until one has run. `unhealthy` is degraded, or critical with
//!    `probe_critical = true`. Results another monitor published that are stale (older
//!    than its cadence allows) fail nothing: the beats judge alone, the reason saying the
//!    results are stale, and a process without beats is `late`.
//!
//! A beat from the future by more than [`SKEW_TOLERANCE`] (clock skew between writer and
//! reader) but at most `I + G` is judged with age 0 and says so in the reason; ages are
//! never negative. Further ahead, it is `skewed` (5) unless rules 2 to 4 apply.
//!
//! `paused` overrides all of this while the entry's `paused_until` (set by `hbmon pause`)
//! holds, or one of its `[[maintenance]]` windows ([`Rules::maintenance`]) is open; its
//! reason keeps the state underneath, so a paused process that died is seen.
//!
//! `blocked` is not decided here: it needs every row, so the report judges it after this
//! (`report/blocked.rs`, the rule in [`crate::deps`]): a process failing by the rules above
//! while a dependency of it (`depends_on`) is critical is `blocked` by that root cause
//! instead, severity degraded, its own state kept in its reason.
//!
//! A process configured with `critical = false` has its severity capped at `warning`:
//! it is shown dead, but does not page anyone (nor make `hbmon status` exit 2).

use serde::Serialize;

use crate::clock::format_local;
use crate::duration::format_secs;
use crate::probe::ProcessInfo;
use crate::store::{Entry, Kind, Pause, Reported};

pub use rules::{IntervalSource, Overlap, Rules, Scheduled};
pub use schedule::next_due;

/// A computed health state (DESIGN.md, "Health states"). Everything about a state is here:
/// its name (strum: `Display`, `FromStr`, `as_str`), [`State::ALL`], its severity, symbol,
/// history letter and meaning — adding one is this enum and its arms.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum State {
    Up,
    Running,
    Late,
    Error,
    Silent,
    Skewed,
    Degraded,
    Hung,
    Dead,
    Failed,
    Overdue,
    Blocked,
    Stopped,
    Pending,
    Paused,
    Unhealthy,
    /// Set by `hbmon serve`'s supervisor, never by [`evaluate`]: restarted `max_restarts`
    /// times within `restart_window`, and left alone until a manual start.
    #[serde(rename = "gave-up")]
    #[strum(serialize = "gave-up")]
    GaveUp,
}

/// How much a state matters. Ordered: `None < Ok < Warning < Degraded < Critical`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Severity {
    None,
    Ok,
    Warning,
    Degraded,
    Critical,
}

impl State {
    /// Every state, in declaration order (the order of counts and legends).
    pub const ALL: &'static [State] = <State as strum::VariantArray>::VARIANTS;

    pub fn severity(self) -> Severity {
        match self {
            State::Up | State::Running => Severity::Ok,
            State::Late | State::Error | State::Silent | State::Skewed => Severity::Warning,
            State::Degraded | State::Blocked | State::Unhealthy => Severity::Degraded,
            State::Hung | State::Dead | State::Failed | State::Overdue | State::GaveUp => {
                Severity::Critical
            }
            State::Stopped | State::Pending | State::Paused => Severity::None,
        }
    }

    /// The state's name, as JSON, the history and the table write it (`dead`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A one-cell symbol that tells states apart without colour (the word goes beside it).
    pub fn symbol(self) -> &'static str {
        match self {
            State::Up => "●",
            State::Running => "▶",
            State::Late => "◔",
            State::Error => "!",
            State::Silent => "?",
            State::Skewed => "»",
            State::Degraded => "◑",
            State::Hung => "◎",
            State::Dead => "✖",
            State::Failed => "✗",
            State::Overdue => "◷",
            State::Blocked => "◌",
            State::Stopped => "■",
            State::Pending => "…",
            State::Paused => "‖",
            State::Unhealthy => "◇",
            State::GaveUp => "▼",
        }
    }

    /// `● up`: the symbol and the word, so the state reads without colour.
    pub fn label(self) -> String {
        format!("{} {self}", self.symbol())
    }

    /// One cell of the UI's history strip: healthy states quiet, trouble loud (capitals),
    /// an ASCII letter each, so a strip reads without colour.
    pub fn letter(self) -> char {
        match self {
            State::Up => '.',
            State::Running => 'r',
            State::Late => 'l',
            State::Error => 'e',
            State::Silent => 's',
            State::Skewed => '>',
            State::Degraded => 'g',
            State::Hung => 'H',
            State::Dead => 'D',
            State::Failed => 'F',
            State::Overdue => 'O',
            State::Blocked => 'b',
            State::Stopped => '_',
            State::Pending => '?',
            State::Paused => 'p',
            State::Unhealthy => 'U',
            State::GaveUp => 'G',
        }
    }

    /// What the state means, in a few words (the UI's help legend).
    pub fn meaning(self) -> &'static str {
        match self {
            State::Up => "beating on time",
            State::Running => "a job run in progress",
            State::Late => "missed a beat",
            State::Error => "reported an error",
            State::Silent => "its process runs, never beats",
            State::Skewed => "beat from the future: clock skew",
            State::Degraded => "missed several beats",
            State::Hung => "process alive, beats stopped",
            State::Dead => "process gone or beats long stopped",
            State::Failed => "last job run failed",
            State::Overdue => "job did not start in time",
            State::Blocked => "failing; a dependency is critical",
            State::Stopped => "stopped cleanly",
            State::Pending => "configured, not seen yet",
            State::Paused => "paused for maintenance",
            State::Unhealthy => "beats, but a probe fails",
            State::GaveUp => "supervisor gave up restarting it",
        }
    }
}

impl Severity {
    /// The exit code of the Nagios plugin convention `hbmon status` follows: 0 for ok (and
    /// none), 1 for warning and degraded, 2 for critical. (3, unknown, is for when there is
    /// nothing to judge: an unreadable file or an unknown name.)
    pub fn exit_code(self) -> u8 {
        match self {
            Severity::None | Severity::Ok => 0,
            Severity::Warning | Severity::Degraded => 1,
            Severity::Critical => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The verdict on one process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub state: State,
    pub severity: Severity,
    /// Why, for a person: "no beat for 4m12s (5 intervals)", "pid 4242 is gone".
    pub reason: String,
    /// Since when the process is in this state, if known (Unix seconds).
    pub since: Option<f64>,
}

impl Health {
    pub fn new(state: State, reason: impl Into<String>, since: Option<f64>) -> Self {
        Health {
            state,
            severity: state.severity(),
            reason: reason.into(),
            since,
        }
    }
}

/// Slack when comparing a process's start time with a beat time. Start times are whole
/// seconds derived from the boot time, which itself wobbles by a second between reads.
pub const PID_REUSE_SLACK: f64 = 2.0;

/// How far in the future a beat may be before the reason calls it clock skew: writers
/// round their timestamps, and two clocks on one machine can differ by a few ms.
pub const SKEW_TOLERANCE: f64 = 1.0;

/// What the OS says about a process, for [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Os<'a> {
    /// Nothing to ask, or no answer: the entry names no PID (or one from another host),
    /// there is no entry and no `match`, or the OS cannot be read.
    Unknown,
    /// The PID (or the `match`) is a live process.
    Alive(&'a ProcessInfo),
    /// The entry's PID does not exist (or nothing matched `match`).
    Gone,
}

/// Judges one process. Pure: the clock (`now`, Unix seconds) and the OS's view of its PID
/// (`os`) are passed in, and what its probes say (`probed`). The rules are in the module docs.
pub fn evaluate(entry: Option<&Entry>, rules: &Rules, now: f64, os: Os, probed: &Probed) -> Health {
    let mut health = match entry {
        None if *probed != Probed::None => probes::alone(probed, rules),
        None => never_beaten(rules, now, os),
        Some(entry) => {
            let judged = probes::over(judge(entry, rules, now, os), probed, rules);
            if entry.paused_at(now) {
                paused(entry, &judged)
            } else {
                judged
            }
        }
    };
    if health.state != State::Paused
        && let Some(window) = schedule::in_maintenance(rules, now, &health)
    {
        health = window;
    }
    if !rules.critical {
        health.severity = health.severity.min(Severity::Warning);
    }
    health
}

/// A paused process: `underneath` is what it would be otherwise.
fn paused(entry: &Entry, underneath: &Health) -> Health {
    let until = match entry.pause() {
        Some(Pause::Until(end)) => format_local(end),
        _ => "hbmon resume".to_owned(),
    };
    Health::new(
        State::Paused,
        format!(
            "paused until {until}; underneath: {} ({})",
            underneath.state, underneath.reason
        ),
        None,
    )
}

fn never_beaten(rules: &Rules, now: f64, os: Os) -> Health {
    match os {
        Os::Alive(p) if rules.monitored => {
            let started = p.start_time as f64;
            let silent_at = rules.deadline(started, 1.0);
            if now > silent_at {
                Health::new(
                    State::Silent,
                    format!(
                        "pid {} ({}) matches, runs for {}, but never beat",
                        p.pid,
                        p.name,
                        format_secs((now - started).max(0.0))
                    ),
                    Some(silent_at),
                )
            } else {
                Health::new(
                    State::Pending,
                    format!("pid {} ({}) matches; no beat yet", p.pid, p.name),
                    Some(started),
                )
            }
        }
        _ => match rules.known_since {
            Some(known) if rules.kind == Kind::Job && schedule::next_due(None, rules).is_some() => {
                schedule::overdue(None, rules, now)
                    .unwrap_or_else(|| Health::new(State::Pending, "never ran yet", Some(known)))
            }
            _ => Health::new(State::Pending, "never beat", None),
        },
    }
}

fn judge(entry: &Entry, rules: &Rules, now: f64, os: Os) -> Health {
    let raw_age = now - entry.last_heartbeat;
    let mut health = judge_at(entry, rules, now, raw_age.max(0.0), os);
    // A `skewed` reason says nothing else.
    if raw_age < -SKEW_TOLERANCE && health.state != State::Skewed {
        health.reason = format!(
            "{} (last beat is {} in the future: clock skew?)",
            health.reason,
            format_secs(-raw_age)
        );
    }
    health
}

fn judge_at(entry: &Entry, rules: &Rules, now: f64, age: f64, os: Os) -> Health {
    let reported = entry.reported();
    let job = rules.kind == Kind::Job;
    if reported == Reported::Stopped {
        return Health::new(
            State::Stopped,
            format!("stopped cleanly {} ago", format_secs(age)),
            Some(entry.last_heartbeat),
        );
    }
    let finished = matches!(reported, Reported::Succeeded | Reported::Failed);
    if !finished
        && (!job || reported == Reported::Running)
        && let Some(dead) = pid_check(entry, os)
    {
        return dead;
    }
    if reported == Reported::Failed {
        let code = entry
            .exit_code
            .map_or_else(|| "unknown exit code".to_owned(), |c| format!("exit {c}"));
        return Health::new(
            State::Failed,
            format!("last run failed ({code}) {} ago", format_secs(age)),
            Some(entry.finished_at.unwrap_or(entry.last_heartbeat)),
        );
    }
    if let Some(short) = job::too_short(entry, rules, age) {
        return short;
    }
    // What follows counts from the last beat: one far ahead would pass for fresh until real
    // time caught up, so it is not trusted (rule 5 in the module docs).
    let ahead = entry.last_heartbeat - now;
    if ahead > rules.interval + rules.grace {
        return Health::new(
            State::Skewed,
            format!(
                "last beat is {} in the future (clock skew?)",
                format_secs(ahead)
            ),
            None,
        );
    }
    if job {
        job::judge_job(entry, rules, now, age)
    } else {
        judge_app(entry, rules, age, os)
    }
}

/// `dead` when the entry's PID is gone or now belongs to a newer process.
fn pid_check(entry: &Entry, os: Os) -> Option<Health> {
    let pid = entry.pid?;
    match os {
        Os::Gone => Some(Health::new(State::Dead, format!("pid {pid} is gone"), None)),
        Os::Alive(p) if pid_reused(entry, p) => Some(Health::new(
            State::Dead,
            format!(
                "pid {pid} now belongs to another process ({}, started {})",
                p.name,
                crate::clock::format_local(p.start_time as f64)
            ),
            None,
        )),
        Os::Alive(_) | Os::Unknown => None,
    }
}

/// Whether `process` holds the entry's PID but is not the process that beat: it started
/// after this run's first beat (beyond [`PID_REUSE_SLACK`]). Every beat proves its PID
/// existed then, so the process that wrote it must have started before.
pub fn pid_reused(entry: &Entry, process: &ProcessInfo) -> bool {
    let run_start = entry.first_heartbeat.unwrap_or(entry.last_heartbeat);
    entry.pid == Some(process.pid) && process.start_time as f64 > run_start + PID_REUSE_SLACK
}

fn judge_app(entry: &Entry, rules: &Rules, age: f64, os: Os) -> Health {
    let last = entry.last_heartbeat;
    let silence = || {
        let missed = (age / rules.interval).floor() as u64;
        let plural = if missed == 1 { "" } else { "s" };
        format!(
            "no beat for {} ({missed} interval{plural})",
            format_secs(age)
        )
    };
    let crossed = |missed: f64| age > missed * rules.interval + rules.grace;
    if crossed(rules.dead_after) {
        let since = Some(rules.deadline(last, rules.dead_after));
        return match os {
            Os::Alive(p) => Health::new(
                State::Hung,
                format!("{}; pid {} is alive", silence(), p.pid),
                since,
            ),
            Os::Gone | Os::Unknown => Health::new(State::Dead, silence(), since),
        };
    }
    if crossed(rules.degraded_after) {
        return Health::new(
            State::Degraded,
            silence(),
            Some(rules.deadline(last, rules.degraded_after)),
        );
    }
    if entry.reported() == Reported::Error {
        return error(entry, age);
    }
    if crossed(rules.late_after) {
        return Health::new(
            State::Late,
            silence(),
            Some(rules.deadline(last, rules.late_after)),
        );
    }
    Health::new(
        State::Up,
        format!("beat {} ago", format_secs(age)),
        entry.first_heartbeat,
    )
}

fn error(entry: &Entry, age: f64) -> Health {
    let message = entry.last_error.as_deref().unwrap_or("no message");
    Health::new(
        State::Error,
        format!("reported an error {} ago: {message}", format_secs(age)),
        Some(entry.last_error_at.unwrap_or(entry.last_heartbeat)),
    )
}

mod job;
mod probes;
mod rules;
mod schedule;

pub use probes::Probed;
#[cfg(test)]
mod tests;
