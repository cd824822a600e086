//! One check's document, cut for the event stream: its header, each row as its own JSON
//! text, and the rows' sort ranks apart ([`Built`]); and what changed from the check
//! before ([`Built::update`]), so a check in which only time passed costs a few hundred
//! bytes, not the megabyte of 1 000 rows. A row's fields that only count the time since
//! a stamp it carries (`since_beat`, `runtime`, a run's `running_for`, the RUNTIME and
//! LAST BEAT cells, the age in `reason`) are left out: the page counts them from the
//! event's `now` (web/app.js `tick`), which is what keeps an unchanged row unchanged.
//! Each is left out only when it is exactly what the page will count, else it stays
//! and the row is news as often as it changes.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::duration::format_secs;
use crate::report::columns::{self, Column};

/// A check's document, kept to diff the next one against.
#[derive(Debug, PartialEq)]
pub(super) struct Built {
    /// The document without `now`, `system` and `processes`, as JSON.
    head: String,
    /// The host's CPU, memory and disk, apart from the head: they change every check.
    system: String,
    now: f64,
    /// The rows' names in the document's order.
    names: Vec<String>,
    /// Each row's JSON text by name (without its `view.ranks`).
    rows: HashMap<String, String>,
    /// Per column, each row's place when sorted by it, in `names` order, as JSON: a beat
    /// moves one row first by LAST BEAT and every row it passes one down, so ranks apart
    /// keep those rows unchanged.
    ranks: String,
}

impl Built {
    /// `document`: the `GET /api/v1/processes` body with its troubles.
    pub(super) fn new(mut document: Value) -> Result<Built, String> {
        let now = document["now"]
            .as_f64()
            .ok_or("the document has no `now`")?;
        let Some(head) = document.as_object_mut() else {
            return Err("the document is not an object".to_owned());
        };
        head.remove("now");
        let system = serde_json::to_string(&head.remove("system").unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let Some(Value::Array(processes)) = head.remove("processes") else {
            return Err("the document has no `processes` list".to_owned());
        };
        let column_at = |column: Column| {
            head.get("columns")
                .and_then(Value::as_array)
                .and_then(|all| all.iter().position(|c| c["title"] == column.title()))
        };
        let (runtime_at, last_beat_at) = (column_at(Column::Runtime), column_at(Column::LastBeat));
        let head = serde_json::to_string(head).map_err(|e| e.to_string())?;
        let mut names = Vec::with_capacity(processes.len());
        let mut rows = HashMap::with_capacity(processes.len());
        let mut ranks: Vec<Vec<Value>> = Vec::new();
        for mut row in processes {
            let Some(name) = row["name"].as_str().map(str::to_owned) else {
                return Err("a row has no `name`".to_owned());
            };
            let own = match row["view"].as_object_mut().and_then(|v| v.remove("ranks")) {
                Some(Value::Array(own)) => own,
                _ => Vec::new(),
            };
            if ranks.len() < own.len() {
                ranks.resize_with(own.len(), Vec::new);
            }
            for (column, rank) in ranks.iter_mut().zip(own) {
                column.push(rank);
            }
            if let Some(row) = row.as_object_mut() {
                thin(row, now, runtime_at, last_beat_at);
            }
            let text = serde_json::to_string(&row).map_err(|e| e.to_string())?;
            // Names are the keys of the file's object: one row each.
            rows.insert(name.clone(), text);
            names.push(name);
        }
        let ranks = serde_json::to_string(&ranks).map_err(|e| e.to_string())?;
        Ok(Built {
            head,
            system,
            now,
            names,
            rows,
            ranks,
        })
    }

    /// The whole document as the `snapshot` event's data: the header's fields, `system`,
    /// `now`, `seq`, `ranks` and `processes` (thinned rows, in order).
    pub(super) fn snapshot(&self, seq: u64) -> String {
        let size: usize = self.rows.values().map(|r| r.len() + 1).sum();
        let mut out = String::with_capacity(self.head.len() + self.ranks.len() + size + 64);
        // The header is a JSON object: its fields, then the rest.
        out.push_str(self.head.strip_suffix('}').unwrap_or("{"));
        if out.len() > 1 {
            out.push(',');
        }
        let _ = write!(
            out,
            "\"system\":{},\"now\":{},\"seq\":{seq},\"ranks\":{},\"processes\":[",
            self.system,
            number(self.now),
            self.ranks
        );
        for (i, name) in self.names.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&self.rows[name]);
        }
        out.push_str("]}");
        out
    }

    /// What changed from `before` (the document of `seq - 1`) as the `update` event's
    /// data: `seq`, `base`, `now`, the rows `changed` (whole) and `removed` (names), and,
    /// only when they changed, `head`, `system`, `names` (the rows' order) and `ranks`.
    pub(super) fn update(&self, before: &Built, seq: u64) -> String {
        let changed: Vec<&str> = (self.names.iter())
            .filter(|name| before.rows.get(*name) != self.rows.get(*name))
            .map(|name| self.rows[name].as_str())
            .collect();
        let removed: Vec<&String> = (before.names.iter())
            .filter(|name| !self.rows.contains_key(*name))
            .collect();
        let mut out = format!(
            "{{\"seq\":{seq},\"base\":{},\"now\":{},\"changed\":[{}],\"removed\":{}",
            seq - 1,
            number(self.now),
            changed.join(","),
            serde_json::to_string(&removed).unwrap_or_else(|_| "[]".to_owned())
        );
        if self.head != before.head {
            out.push_str(",\"head\":");
            out.push_str(&self.head);
        }
        if self.system != before.system {
            out.push_str(",\"system\":");
            out.push_str(&self.system);
        }
        if self.names != before.names {
            out.push_str(",\"names\":");
            out.push_str(&serde_json::to_string(&self.names).unwrap_or_else(|_| "[]".to_owned()));
        }
        if self.ranks != before.ranks {
            out.push_str(",\"ranks\":");
            out.push_str(&self.ranks);
        }
        out.push('}');
        out
    }
}

/// `now` as JSON writes it (a number the page reads back exactly).
fn number(now: f64) -> String {
    serde_json::to_string(&now).unwrap_or_else(|_| "null".to_owned())
}

/// Takes out of `row` what the page counts from `now` itself, each only where the page
/// would write exactly what is there (web/app.js `tick` is the other half).
fn thin(
    row: &mut Map<String, Value>,
    now: f64,
    runtime_at: Option<usize>,
    last_beat_at: Option<usize>,
) {
    let age = row
        .get("last_heartbeat")
        .and_then(Value::as_f64)
        .map(|at| now - at);
    let runtime = row
        .get("process")
        .and_then(|p| p.get("start_time"))
        .and_then(Value::as_f64)
        .map(|start| (now - start).max(0.0));
    counted(row, "since_beat", age);
    counted(row, "runtime", runtime);
    if let Some(Value::Array(runs)) = row.get_mut("runs") {
        for run in runs.iter_mut().filter_map(Value::as_object_mut) {
            let running_for = run
                .get("started_at")
                .and_then(Value::as_f64)
                .map(|at| (now - at).max(0.0));
            counted(run, "running_for", running_for);
        }
    }
    if let Some(Value::Array(cells)) = row.get_mut("view").and_then(|v| v.get_mut("cells")) {
        for (at, text) in [
            (runtime_at, columns::runtime_text(runtime)),
            (last_beat_at, columns::age_text(age)),
        ] {
            if let Some(cell) = at.and_then(|at| cells.get_mut(at))
                && *cell == text
            {
                *cell = Value::Null;
            }
        }
    }
    // The reason's age (`beat 4s ago`, `no beat for 2m10s`) is the last beat's: the page
    // writes `before`, the age, `after`.
    if let (Some(age), Some(Value::String(reason))) = (age, row.get("reason"))
        && let Some((before, after)) = split_age(reason, &format_secs(age))
    {
        let parts = Value::from(vec![before, after]);
        row.remove("reason");
        row.insert("reason_ago".to_owned(), parts);
    }
}

/// Removes `field` from `object` when it holds exactly `value` (`None`: null).
fn counted(object: &mut Map<String, Value>, field: &str, value: Option<f64>) {
    if object.get(field).is_some_and(|v| v.as_f64() == value) {
        object.remove(field);
    }
}

/// `text` cut around its first `age` standing as a word of its own: (before, after).
fn split_age(text: &str, age: &str) -> Option<(String, String)> {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(age).find_map(|(at, _)| {
        let (before, after) = (&text[..at], &text[at + age.len()..]);
        (!word(before.chars().next_back()) && !word(after.chars().next()))
            .then(|| (before.to_owned(), after.to_owned()))
    })
}
