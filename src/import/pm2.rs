//! pm2's apps, from `pm2 jlist` (a JSON array, one object per app, its settings under
//! `pm2_env`): the script with its interpreter and arguments, `pm_cwd`, the app's own
//! environment (not the one pm2's daemon inherited), `autorestart`, `kill_timeout`.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::{ImportError, Imported, Restart, name_of};

/// Variables pm2 puts in every app's environment itself: its own, not the app's.
fn pm2_own(key: &str) -> bool {
    key.starts_with("PM2_")
        || key.starts_with("pm_")
        || key.starts_with("axm_")
        || matches!(key, "unique_id" | "NODE_APP_INSTANCE" | "name" | "status")
}

/// The apps of `pm2 jlist` output read from `file` (`-` for standard input). Variables
/// the app's environment has with the value this process has too are pm2's daemon's
/// inheritance, not the app's settings: left out (`inherited` gives this environment).
pub fn from_jlist(
    text: &str,
    file: &Path,
    inherited: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Imported>, ImportError> {
    let apps: Value = serde_json::from_str(text)
        .map_err(|e| ImportError::at(file, e.line(), format!("not pm2 jlist JSON: {e}")))?;
    let Value::Array(apps) = apps else {
        return Err(ImportError::whole(
            file,
            "not pm2 jlist output: expected a JSON array of apps",
        ));
    };
    apps.iter()
        .enumerate()
        .map(|(i, app)| {
            one(app, inherited).map_err(|m| ImportError::whole(file, format!("app {i}: {m}")))
        })
        .collect()
}

fn one(app: &Value, inherited: &dyn Fn(&str) -> Option<String>) -> Result<Imported, String> {
    let env = &app["pm2_env"];
    let name = app["name"]
        .as_str()
        .or_else(|| env["name"].as_str())
        .ok_or("no \"name\"")?;
    let script = env["pm_exec_path"]
        .as_str()
        .ok_or_else(|| format!("{name}: no pm2_env.pm_exec_path"))?;
    let mut imported = Imported {
        source: format!("pm2 app {name:?}"),
        name: name_of(name),
        cwd: env["pm_cwd"].as_str().map(str::to_owned),
        ..Imported::default()
    };
    let interpreter = env["exec_interpreter"].as_str().unwrap_or("node");
    if interpreter != "none" {
        imported.run.push(interpreter.to_owned());
        if interpreter == "node" {
            imported.run.extend(words(&env["node_args"]));
        }
    }
    imported.run.push(script.to_owned());
    imported.run.extend(words(&env["args"]));
    imported.restart = Some(match env["autorestart"].as_bool() {
        Some(false) => Restart::Never,
        // pm2 restarts on any exit, clean or not.
        _ => Restart::Always,
    });
    imported.stop_timeout = env["kill_timeout"].as_u64().map(Duration::from_millis);
    imported.user = env["username"]
        .as_str()
        .or_else(|| env["uid"].as_str())
        .map(str::to_owned);
    let mut left_out = 0;
    if let Some(vars) = env["env"].as_object() {
        for (key, value) in vars {
            let Some(value) = value.as_str() else {
                continue;
            };
            if pm2_own(key) {
                continue;
            }
            if inherited(key).as_deref() == Some(value) {
                left_out += 1;
                continue;
            }
            imported.env.insert(key.clone(), value.to_owned());
        }
    }
    if left_out > 0 {
        imported.notes.push(format!(
            "{left_out} variables of pm2's environment equal to this shell's are left out"
        ));
    }
    notes(env, &mut imported.notes);
    Ok(imported)
}

/// Arguments as pm2 keeps them: an array, or one string split like a shell.
fn words(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Value::String(line) => shlex::split(line).unwrap_or_else(|| vec![line.clone()]),
        _ => Vec::new(),
    }
}

/// Settings of pm2's with no key of their own in hbmon.
fn notes(env: &Value, notes: &mut Vec<String>) {
    if env["exec_mode"] == "cluster_mode" {
        notes.push(format!(
            "not mapped: cluster mode with instances = {} (hbmon runs one process per [[process]])",
            env["instances"]
        ));
    }
    for (key, why) in [
        ("min_uptime", "how long it must run to count as started, ms"),
        ("max_restarts", "restarts before pm2 gives up"),
        (
            "restart_delay",
            "ms between restarts (hbmon backs off exponentially)",
        ),
        ("max_memory_restart", "restart above this memory"),
        ("cron_restart", "restart on a cron schedule"),
    ] {
        let value = &env[key];
        if !value.is_null() && value != &Value::Bool(false) {
            notes.push(format!("not mapped: {key} = {value} ({why})"));
        }
    }
    if env["watch"].as_bool() == Some(true) || env["watch"].is_array() {
        notes.push("not mapped: watch (restart on file changes)".to_owned());
    }
}
