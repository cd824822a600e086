//! A remote's reply read as the `hbmon status --json` document, or refused: its rows
//! rebuilt as that serve judged them (state, reason, entry, process), nothing judged again.

use serde::Deserialize;
use serde_json::Value;

use super::{Judged, RemoteError};
use crate::checks::ProbeStatus;
use crate::health::{Health, IntervalSource, Rules, Severity, State};
use crate::probe::ProcessInfo;
use crate::report::{Row, json};
use crate::store::{Entry, Kind};

/// The part of the document the rows are made of.
#[derive(Deserialize)]
struct Document {
    schema: u32,
    now: f64,
    exit_code: u8,
    processes: Vec<Value>,
}

/// One process as the remote judged it.
#[derive(Deserialize)]
struct Verdict {
    name: String,
    label: Option<String>,
    #[serde(default)]
    monitored: bool,
    state: String,
    severity: String,
    #[serde(default)]
    reason: String,
    since: Option<f64>,
    entry: Option<Entry>,
    process: Option<Os>,
    rules: Option<Judging>,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    blocked_by: Vec<String>,
    #[serde(default)]
    probes: Vec<ProbeStatus>,
}

/// `process`: what its OS said.
#[derive(Deserialize)]
struct Os {
    pid: u32,
    #[serde(default)]
    name: String,
    #[serde(default)]
    cmd: String,
    start_time: u64,
    cpu_percent: Option<f32>,
    memory_bytes: u64,
}

/// The rules' parts the columns show.
#[derive(Deserialize)]
struct Judging {
    interval: f64,
    kind: Kind,
    interval_from: IntervalSource,
}

/// The rows of `body`, a reply of the remote called `host`; refused unless it is the
/// status document of a schema this hbmon reads, with a sane `now` and valid rows.
pub fn parse(host: &str, body: &[u8]) -> Result<Judged, RemoteError> {
    let not = |why: String| RemoteError::NotTheDocument(why);
    // serde would take `[1, 2.0, 0, []]` for the struct too.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(not("not a JSON object".to_owned()));
    }
    let doc: Document = serde_json::from_slice(body).map_err(|e| not(e.to_string()))?;
    if doc.schema != json::SCHEMA {
        return Err(not(format!(
            "schema {} (this hbmon reads {})",
            doc.schema,
            json::SCHEMA
        )));
    }
    if !(doc.now.is_finite() && doc.now > 0.0) {
        return Err(not(format!("now is {}", doc.now)));
    }
    if doc.exit_code > 3 {
        return Err(not(format!("exit_code is {}", doc.exit_code)));
    }
    let mut rows = Vec::with_capacity(doc.processes.len());
    let mut processes = Vec::with_capacity(doc.processes.len());
    for mut value in doc.processes {
        let process = Verdict::deserialize(&value).map_err(|e| not(format!("a process: {e}")))?;
        rows.push(process.row(host, doc.now)?);
        if let Value::Object(fields) = &mut value {
            fields.insert("host".into(), Value::String(host.to_owned()));
        }
        processes.push(value);
    }
    Ok(Judged {
        now: doc.now,
        exit_code: doc.exit_code,
        rows,
        processes,
    })
}

impl Verdict {
    fn row(self, host: &str, now: f64) -> Result<Row, RemoteError> {
        let bad = |what: &str, value: &str| {
            RemoteError::NotTheDocument(format!("process {:?}: {what} {value:?}", self.name))
        };
        let state: State = self.state.parse().map_err(|_| bad("state", &self.state))?;
        let severity: Severity =
            (self.severity.parse()).map_err(|_| bad("severity", &self.severity))?;
        let rules = self.rules.map_or_else(Rules::default, |r| Rules {
            interval: r.interval,
            kind: r.kind,
            interval_from: r.interval_from,
            monitored: self.monitored,
            ..Rules::default()
        });
        Ok(Row {
            name: self.name,
            label: self.label,
            monitored: self.monitored,
            entry: self.entry.map(std::sync::Arc::new),
            // Its severity as it said: `critical = false` there caps what the state implies.
            health: Health {
                severity,
                ..Health::new(state, self.reason, self.since)
            },
            process: self.process.map(|p| ProcessInfo {
                pid: p.pid,
                name: p.name,
                cmd: p.cmd,
                start_time: p.start_time,
                cpu_percent: p.cpu_percent.unwrap_or(f32::NAN),
                memory_bytes: p.memory_bytes,
            }),
            rules,
            depends_on: self.depends_on,
            blocked_by: self.blocked_by,
            probes: self.probes,
            host: Some(host.to_owned()),
            judged_at: Some(now),
        })
    }
}
