//! systemd services, from a unit file or `systemctl cat UNIT` (the unit and its drop-ins,
//! later lines overriding earlier ones, an empty `ExecStart=` clearing it): `ExecStart`
//! split as systemd splits it (quotes, backslash escapes), `WorkingDirectory`,
//! `Environment`, `Restart`, `TimeoutStartSec`/`TimeoutStopSec`, `WatchdogSec` (the
//! interval), `User`.

use std::path::Path;
use std::time::Duration;

use super::{ImportError, Imported, Restart, name_of};

/// The service of unit `unit` (its name, `bidder.service`, or its path) whose text is
/// `text`, read from `file` (the path, or `systemctl cat UNIT`).
pub fn from_unit(text: &str, unit: &str, file: &Path) -> Result<Imported, ImportError> {
    let base = Path::new(unit)
        .file_name()
        .map_or_else(|| unit.to_owned(), |n| n.to_string_lossy().into_owned());
    let name = base.strip_suffix(".service").unwrap_or(&base);
    let mut imported = Imported {
        source: format!("systemd unit {base} ({})", file.display()),
        name: name_of(name),
        // systemd's default: Restart=no.
        restart: Some(Restart::Never),
        ..Imported::default()
    };
    let mut exec: Vec<(usize, String)> = Vec::new();
    let mut section = String::new();
    for (line, text) in logical_lines(text) {
        let at = |m: String| ImportError::at(file, line, m);
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[') {
            name.strip_suffix(']')
                .ok_or_else(|| at(format!("{trimmed:?}: a section header ends with ]")))?
                .clone_into(&mut section);
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(at(format!("{trimmed:?} is no Key=value")));
        };
        let (key, value) = (key.trim(), value.trim());
        if section != "Service" {
            continue;
        }
        match (key, value) {
            ("ExecStart", "") => exec.clear(),
            ("ExecStart", _) => exec.push((line, value.to_owned())),
            _ => service_key(&mut imported, key, value).map_err(|m| at(format!("{key}: {m}")))?,
        }
    }
    let Some((line, first)) = exec.first() else {
        return Err(ImportError::whole(file, "no ExecStart= in [Service]"));
    };
    let (prefix, command) = exec_prefix(first);
    if !prefix.is_empty() {
        imported
            .notes
            .push(format!("ExecStart prefix {prefix:?} left out"));
    }
    imported.run =
        split(command).map_err(|m| ImportError::at(file, *line, format!("ExecStart: {m}")))?;
    if imported.run.is_empty() {
        return Err(ImportError::at(file, *line, "ExecStart: no command"));
    }
    if imported
        .run
        .iter()
        .any(|w| w.contains('%') || w.contains('$'))
    {
        imported.notes.push(
            "ExecStart has %specifiers or $VARIABLES, which systemd expands: check run".to_owned(),
        );
    }
    for (_, more) in exec.iter().skip(1) {
        imported
            .notes
            .push(format!("not mapped: another ExecStart={more}"));
    }
    Ok(imported)
}

/// One `Key=value` of `[Service]` but `ExecStart` into `imported`; what has no key
/// becomes a note.
fn service_key(imported: &mut Imported, key: &str, value: &str) -> Result<(), String> {
    match key {
        "WorkingDirectory" => {
            let dir = value.strip_prefix('-').unwrap_or(value);
            if dir == "~" || dir.starts_with("~/") {
                imported
                    .notes
                    .push(format!("WorkingDirectory={value}: ~ is the user's home"));
            }
            imported.cwd = Some(dir.to_owned());
        }
        "Environment" if value.is_empty() => imported.env.clear(),
        "Environment" => {
            for word in split(value)? {
                let (k, v) = word
                    .split_once('=')
                    .ok_or_else(|| format!("{word:?} is no KEY=value"))?;
                imported.env.insert(k.to_owned(), v.to_owned());
            }
        }
        "Restart" => imported.restart = restart(value, &mut imported.notes)?,
        "User" => imported.user = Some(value.to_owned()),
        "TimeoutStartSec" => imported.start_timeout = span(value)?,
        "TimeoutStopSec" => imported.stop_timeout = span(value)?,
        "TimeoutSec" => {
            imported.start_timeout = span(value)?;
            imported.stop_timeout = imported.start_timeout;
        }
        "WatchdogSec" => imported.interval = span(value)?,
        "Type" if value == "notify" || value == "notify-reload" => imported.notes.push(format!(
            "Type={value}: it speaks sd_notify (READY=1, WATCHDOG=1), which hbmon hears"
        )),
        "Type" => {}
        _ => imported.notes.push(format!("not mapped: {key}={value}")),
    }
    Ok(())
}

/// systemd's `Restart=` as hbmon's `restart`.
fn restart(value: &str, notes: &mut Vec<String>) -> Result<Option<Restart>, String> {
    Ok(match value {
        "no" => Some(Restart::Never),
        "always" => Some(Restart::Always),
        "on-failure" => Some(Restart::OnFailure),
        "on-abnormal" | "on-abort" | "on-watchdog" => {
            notes.push(format!(
                "Restart={value}: hbmon's on-failure restarts on any failure"
            ));
            Some(Restart::OnFailure)
        }
        "on-success" => {
            notes.push(
                "not mapped: Restart=on-success (restart after a clean exit only)".to_owned(),
            );
            None
        }
        _ => return Err(format!("{value:?} is no restart setting")),
    })
}

/// The lines of a unit, a line ending in `\` joined to the next (comment lines within
/// skipped), each with the number of the line it starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (i, line) in text.lines().enumerate() {
        if open {
            if line.trim_start().starts_with(['#', ';']) {
                continue;
            }
            if let Some((_, joined)) = out.last_mut() {
                joined.push(' ');
                joined.push_str(line.strip_suffix('\\').unwrap_or(line));
            }
        } else {
            out.push((i + 1, line.strip_suffix('\\').unwrap_or(line).to_owned()));
        }
        open = line.ends_with('\\');
    }
    out
}

/// ExecStart's special prefixes (`@`, `-`, `:`, `+`, `!`, `!!`) and the command after them.
fn exec_prefix(value: &str) -> (&str, &str) {
    let start = value
        .find(|c: char| !"@-:+!".contains(c))
        .unwrap_or(value.len());
    (&value[..start], &value[start..])
}

/// Words as systemd splits a command line: at whitespace outside quotes, `"…"` and
/// `'…'` quoting, C-style backslash escapes.
fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                let escaped = match chars.next() {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('s') => ' ',
                    Some(c) => c,
                    None => return Err(format!("a \\ at the end of {line:?}")),
                };
                word.get_or_insert_default().push(escaped);
            }
            (_, c) => word.get_or_insert_default().push(c),
        }
    }
    if quote.is_some() {
        return Err(format!("an unclosed quote in {line:?}"));
    }
    words.extend(word);
    Ok(words)
}

/// A systemd time span (`90`, `5s`, `1min 30s`, `500ms`, `2h`); `infinity` is none.
fn span(value: &str) -> Result<Option<Duration>, String> {
    if value == "infinity" {
        return Ok(None);
    }
    let mut total = 0.0;
    let mut rest = value.trim();
    if rest.is_empty() {
        return Err("an empty time span".to_owned());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{value:?} is no time span"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "" | "s" | "sec" | "second" | "seconds" => 1.0,
            "ms" | "msec" => 1e-3,
            "us" | "usec" | "µs" => 1e-6,
            "m" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" | "week" | "weeks" => 604_800.0,
            unit => return Err(format!("{value:?}: {unit:?} is no time unit")),
        };
        total += number * seconds;
        rest = rest[unit_len..].trim_start();
    }
    Ok(Some(Duration::from_secs_f64(total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_lines_split_as_systemd_splits_them() {
        let cases: &[(&str, &[&str])] = &[
            (
                "/usr/bin/bidder --port 8080",
                &["/usr/bin/bidder", "--port", "8080"],
            ),
            (
                r#"/bin/sh -c "echo 'hi there'; exec sleep 10""#,
                &["/bin/sh", "-c", "echo 'hi there'; exec sleep 10"],
            ),
            (
                r"/bin/echo a\ b 'c d' e\\f",
                &["/bin/echo", "a b", "c d", r"e\f"],
            ),
            (r#"/bin/x "" end"#, &["/bin/x", "", "end"]),
        ];
        for (line, want) in cases {
            assert_eq!(split(line).unwrap(), *want, "{line}");
        }
        assert!(split(r#"/bin/x "open"#).is_err());
    }

    #[test]
    fn spans_read_as_systemd_reads_them() {
        for (text, want) in [
            ("90", Some(90.0)),
            ("5s", Some(5.0)),
            ("1min 30s", Some(90.0)),
            ("1m30s", Some(90.0)),
            ("500ms", Some(0.5)),
            ("2h", Some(7200.0)),
            ("infinity", None),
        ] {
            assert_eq!(span(text).unwrap().map(|d| d.as_secs_f64()), want, "{text}");
        }
        for bad in ["", "5 parsecs", "soon"] {
            assert!(span(bad).is_err(), "{bad}");
        }
    }
}
