//! What a program may do to the monitored processes, one function per act, shared by every
//! face that offers them — the management API (`/api/v1/…`), `hbmon mcp`, and the CLI's
//! `pause`, `resume`, `history --json` and `status` — so each act has one meaning: judge the
//! file once as `hbmon status` does, add, change or remove a `[[process]]` (through
//! [`config::edit`], comments kept), pause or resume one (its entry's `paused_until`, as
//! `hbmon pause` writes it), and read one's history or the whole fleet's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::clock::unix_now;
pub use crate::config::edit::Change;
use crate::config::edit::{self, EditError, Edited, Fields};
use crate::config::{Config, ConfigError};
use crate::health::State;
use crate::history::{self, History, HistoryError};
use crate::paths::{self, FileLocation};
use crate::probe::SysProbe;
use crate::report::{self, Report};
use crate::store::{self, Entry, Pause, Store, StoreError};

/// How long a sample of CPU use takes when [`judge`] is asked for one: sysinfo needs at
/// least this much between two readings.
pub const CPU_SAMPLE: Duration = sysinfo::MINIMUM_CPU_UPDATE_INTERVAL;

/// Keys a program may not set, change or remove through these acts: each makes the
/// monitor run something — a `command` probe, a program `hbmon serve` supervises (`run`,
/// `restart_command`) — or changes what that runs as (`shell`, `cwd`, `env`: `LD_PRELOAD`,
/// `PATH`; `user`), all as the monitor's user, and anyone who can reach the API on this
/// machine (another user included) or steer an agent would get to choose it. These are
/// written by hand; a test holds them and the keys a request may set to every key a
/// `[[process]]` takes, so a new key is classified before it ships.
const REFUSED_KEYS: &[&str] = &[
    "command",
    "command_shell",
    "run",
    "restart_command",
    "shell",
    "cwd",
    "env",
    "user",
];

/// Why an act was not done; nothing was written for any of them.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error(transparent)]
    Edit(#[from] EditError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    History(#[from] HistoryError),
    /// Pause and resume write the process's entry: one that never beat has none.
    #[error("no entry {name:?} in {} to {verb}{why}", file.display(), why = if *verb == "pause" { ": only a process that has beaten can be paused" } else { "" })]
    NoEntry {
        file: PathBuf,
        name: String,
        verb: &'static str,
    },
    #[error("no process {name:?} in {} or the config", file.display())]
    Unknown { file: PathBuf, name: String },
    /// A field of the request: `for`, `since`, `limit`, a refused key.
    #[error("{field}: {message}")]
    Field { field: String, message: String },
}

impl ManageError {
    /// The field at fault, for a reply that names it.
    pub fn field(&self) -> Option<&str> {
        match self {
            ManageError::Edit(e) => e.field(),
            ManageError::Config(ConfigError::Invalid { key, .. }) => key.as_deref(),
            ManageError::Field { field, .. } => Some(field),
            ManageError::NoEntry { .. } | ManageError::Unknown { .. } => Some("name"),
            _ => None,
        }
    }

    /// The HTTP status that says what went wrong.
    pub fn status(&self) -> u16 {
        match self {
            ManageError::Edit(EditError::Conflict { .. }) => 412,
            ManageError::Edit(EditError::Exists { .. }) => 409,
            ManageError::Edit(EditError::NoProcess { .. })
            | ManageError::NoEntry { .. }
            | ManageError::Unknown { .. }
            | ManageError::History(HistoryError::Missing { .. } | HistoryError::Empty { .. }) => {
                404
            }
            ManageError::Edit(EditError::Invalid(_) | EditError::Field { .. })
            | ManageError::Field { .. } => 400,
            ManageError::Edit(EditError::Locked { .. })
            | ManageError::Store(StoreError::LockTimeout { .. }) => 503,
            _ => 500,
        }
    }
}

/// Where the acts apply: the heartbeat file, and the config an edit changes — the one in
/// use, or where `hbmon init` would write one.
#[derive(Debug, Clone)]
pub struct Target {
    pub location: FileLocation,
    /// `--config` or `$HBMON_CONFIG`, as the monitor was given it.
    pub config_flag: Option<PathBuf>,
}

impl Target {
    /// The config file an edit changes now (a config created since is found as a reload
    /// finds it).
    pub fn config_path(&self) -> PathBuf {
        paths::locate_config(self.config_flag.as_deref(), &self.location.path)
            .map_or_else(|| paths::config_beside(&self.location.path), |c| c.path)
    }

    /// The config in use, and the file it came from.
    pub fn config(&self) -> Result<(Config, Option<PathBuf>), ManageError> {
        Ok(Config::load(
            self.config_flag.as_deref(),
            &self.location.path,
        )?)
    }

    /// The heartbeat name `given` means: itself, or the process a configured label names.
    /// A broken config does not stop an act on a name the file holds.
    pub fn name_for(&self, given: &str) -> String {
        if store::read(&self.location.path).is_ok_and(|s| s.get(given).is_some()) {
            return given.to_owned();
        }
        self.config()
            .map_or_else(|_| given.to_owned(), |(c, _)| c.name_for(given).to_owned())
    }
}

/// Every process judged once, as `hbmon status` judges it: the config, the file, the OS's
/// word on each PID, the probe results and the supervisor's word the monitors last
/// published. `sample_cpu` spends [`CPU_SAMPLE`] measuring CPU use (else it is unknown).
pub fn judge(
    location: &FileLocation,
    config: &Config,
    sample_cpu: bool,
) -> Result<Report, StoreError> {
    let snapshot = store::read(&location.path)?;
    let mut probe = SysProbe::new(&location.path);
    if sample_cpu {
        // The first reading primes; `report::build_probed` takes the second.
        report::refresh(&snapshot, config, &mut probe);
        std::thread::sleep(CPU_SAMPLE);
    }
    let now = unix_now();
    let probed = crate::checks::sidecar::read(&location.path, config, now);
    let mut report = report::build_probed(&snapshot, config, &mut probe, now, &probed);
    // `gave-up` and stopped by hand, as the supervising serve judges them.
    let _ = crate::supervise::published::apply(&mut report, &location.path, now);
    Ok(report)
}

/// The `hbmon status --json` document of `report` (of one process when `name` is given),
/// with the config's version, which an edit may be made against.
pub fn status(
    report: &Report,
    target: &Target,
    config: Option<&Path>,
    name: Option<&str>,
) -> Result<Value, ManageError> {
    let one;
    let report = match name {
        None => report,
        Some(name) => {
            one = report
                .select(&[name.to_owned()])
                .map_err(|_| ManageError::Unknown {
                    file: target.location.path.clone(),
                    name: name.to_owned(),
                })?;
            &one
        }
    };
    let document =
        report::json::Document::new(report, &target.location.path, config, report.exit_code());
    let mut value = serde_json::to_value(&document).map_err(|e| ManageError::Field {
        field: "processes".to_owned(),
        message: format!("cannot encode: {e}"),
    })?;
    value["config_version"] = edit::current_version(&target.config_path())?.into();
    // The table as the terminal UI shows it, for the dashboard: its columns, and each
    // row's cells, order and symbol beside the row's data.
    let view = report::columns::View::new(report);
    value["columns"] = serde_json::to_value(&view.columns).unwrap_or_default();
    if let Some(rows) = value["processes"].as_array_mut() {
        for (row, seen) in rows.iter_mut().zip(&view.rows) {
            row["view"] = serde_json::to_value(seen).unwrap_or_default();
        }
    }
    Ok(value)
}

/// Makes `change` to the config (add, change or remove a `[[process]]`); `expected`: the
/// config version the caller read, if it says.
pub fn edit(
    target: &Target,
    change: Change<'_>,
    expected: Option<&str>,
) -> Result<Edited, ManageError> {
    if let Change::Add(fields) | Change::Update(_, fields) = change {
        allowed(fields)?;
    }
    Ok(edit::edit(&target.config_path(), change, expected)?)
}

fn allowed(fields: &Fields) -> Result<(), ManageError> {
    // A name `hbmon beat` refuses (a control character) could never beat: an entry no
    // process can write, and bytes a terminal would obey if anything showed it raw.
    if let Some(Value::String(name)) = fields.get("name") {
        store::parse_name(name).map_err(|message| ManageError::Field {
            field: "name".to_owned(),
            message,
        })?;
    }
    match fields.keys().find(|k| REFUSED_KEYS.contains(&k.as_str())) {
        Some(key) => Err(ManageError::Field {
            field: key.clone(),
            message: "this key makes the monitor run a program (as the monitor's user), so \
                      no request may set, change or remove it: edit hbmon.toml by hand"
                .to_owned(),
        }),
        None => Ok(()),
    }
}

/// Pauses `name` (a heartbeat name) for `span`, or until resumed; the entry as written.
pub fn pause(
    location: &FileLocation,
    name: &str,
    span: Option<Duration>,
) -> Result<Entry, ManageError> {
    let pause = span.map_or(Pause::Indefinite, |span| {
        Pause::Until(unix_now() + span.as_secs_f64())
    });
    Store::at(location)
        .update(name, |entry| entry.set_pause(Some(pause)))?
        .ok_or_else(|| ManageError::NoEntry {
            file: location.path.clone(),
            name: name.to_owned(),
            verb: "pause",
        })
}

/// Ends `name`'s pause; whether it was paused.
pub fn resume(location: &FileLocation, name: &str) -> Result<bool, ManageError> {
    let mut was_paused = false;
    Store::at(location)
        .update(name, |entry| {
            was_paused = entry.pause().is_some();
            entry.set_pause(None);
        })?
        .ok_or_else(|| ManageError::NoEntry {
            file: location.path.clone(),
            name: name.to_owned(),
            verb: "resume",
        })?;
    Ok(was_paused)
}

/// `name`'s transitions, probe flips, restarts, probes' minutes of response times and beats
/// of the last `since`, newest first, at most `limit` of each, and as `before` its newest
/// transition before that (the state it held as the range begins; `null`: none recorded):
/// the document `hbmon history --json` prints.
pub fn history(
    location: &FileLocation,
    name: &str,
    since: Duration,
    limit: Option<usize>,
) -> Result<Value, ManageError> {
    let (path, db, since) = open_history(location, since)?;
    Ok(json!({
        "name": name,
        "database": path,
        "since": since,
        "transitions": db.transitions(Some(name), since, limit)?,
        "before": db.transition_before(name, since)?,
        "probe_flips": db.probe_flips(Some(name), since, limit)?,
        "restarts": db.restarts(Some(name), since, limit)?,
        "probe_minutes": db.probe_minutes(name, since, limit)?,
        "beats": db.beats(name, since, limit)?,
    }))
}

/// The whole fleet's transitions and restarts of the last `since` (those of `name` only,
/// and of transitions only those into `state`, when given), newest first, at most `limit`
/// of each: the timeline of "what broke overnight", read as [`history`] reads one
/// process's.
pub fn fleet_history(
    location: &FileLocation,
    name: Option<&str>,
    state: Option<State>,
    since: Duration,
    limit: Option<usize>,
) -> Result<Value, ManageError> {
    let (path, db, since) = open_history(location, since)?;
    // Few rows are transitions into one state: the limit applies after that choice, so
    // the newest N of them are all there, not whichever fell among the newest N of all.
    let mut transitions = db.transitions(name, since, state.map_or(limit, |_| None))?;
    if let Some(state) = state {
        transitions.retain(|t| t.to == state);
        transitions.truncate(limit.unwrap_or(usize::MAX));
    }
    Ok(json!({
        "database": path,
        "since": since,
        "transitions": transitions,
        "restarts": db.restarts(name, since, limit)?,
    }))
}

/// The history database beside the heartbeat file, and the Unix time `since` ago.
fn open_history(
    location: &FileLocation,
    since: Duration,
) -> Result<(PathBuf, History, f64), ManageError> {
    let path = paths::history_path(&location.path);
    let db = History::open_existing(&path, history::READ_WAIT)?;
    Ok((path, db, unix_now() - since.as_secs_f64()))
}

/// A state a request named (`state`): one of the states hbmon shows.
pub fn state(field: &str, text: &str) -> Result<State, ManageError> {
    text.parse().map_err(|_| ManageError::Field {
        field: field.to_owned(),
        message: format!(
            "{text:?} is not a state: there are {}",
            State::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// What a history shows unless asked, as `hbmon history`: the last day, 200 of each.
pub const HISTORY_SINCE: &str = "24h";
pub const HISTORY_LIMIT: usize = 200;

/// The answer to an edit made: the file written and its new version.
pub fn edited_json(edited: &Edited) -> Value {
    json!({"config": edited.path, "config_version": edited.version})
}

/// The answer to a pause: the name and when it ends (`null`: when resumed).
pub fn paused_json(name: &str, entry: &Entry) -> Value {
    let until = match entry.pause() {
        Some(Pause::Until(end)) => Some(end),
        _ => None,
    };
    json!({"name": name, "paused": true, "paused_until": until})
}

/// The answer to a resume.
pub fn resumed_json(name: &str, was_paused: bool) -> Value {
    json!({"name": name, "paused": false, "was_paused": was_paused})
}

/// A span a request gave (`for`, `since`), in the notation of `--for` and `--since`.
pub fn span(field: &str, text: &str) -> Result<Duration, ManageError> {
    crate::duration::parse(text).map_err(|e| ManageError::Field {
        field: field.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests;
