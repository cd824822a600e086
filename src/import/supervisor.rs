//! supervisord's programs, from its ini file: each `[program:x]` section's `command`
//! (split as supervisord splits it, with no shell), `directory`, `environment`,
//! `autorestart`, `startsecs`, `stopwaitsecs` and `user`; `%(program_name)s`, `%(here)s`
//! and `%(ENV_X)s` expanded as supervisord expands them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::{ImportError, Imported, Restart, name_of};

/// A section's keys, each with the line it is on.
type Section = BTreeMap<String, (usize, String)>;

/// The `[program:x]` sections of supervisord config `text` read from `file`.
pub fn from_ini(
    text: &str,
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Imported>, ImportError> {
    let here = file
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (line, name, section) in sections(text, file)? {
        let Some(program) = name.strip_prefix("program:") else {
            continue;
        };
        let expand = |(at, value): &(usize, String)| {
            expand(value, program, &here, env).map_err(|m| ImportError::at(file, *at, m))
        };
        let command = section
            .get("command")
            .ok_or_else(|| ImportError::at(file, line, format!("[{name}] has no command")))?;
        let command_line = expand(command)?;
        let run = shlex::split(&command_line)
            .filter(|words| !words.is_empty())
            .ok_or_else(|| {
                ImportError::at(
                    file,
                    command.0,
                    format!("command: cannot split {command_line:?}"),
                )
            })?;
        let mut imported = Imported {
            source: format!("supervisord [{name}] of {}", file.display()),
            name: name_of(program),
            run,
            ..Imported::default()
        };
        for (key, value) in &section {
            let text = expand(value)?;
            let at = value.0;
            let seconds = || {
                text.parse::<u64>().map(Duration::from_secs).map_err(|_| {
                    ImportError::at(
                        file,
                        at,
                        format!("{key}: {text:?} is not a whole number of seconds"),
                    )
                })
            };
            match key.as_str() {
                "command" => {}
                "directory" => imported.cwd = Some(text),
                "user" => imported.user = Some(text),
                "environment" => {
                    imported.env = environment(&text)
                        .map_err(|m| ImportError::at(file, at, format!("environment: {m}")))?;
                }
                "autorestart" => {
                    imported.restart = Some(match text.to_ascii_lowercase().as_str() {
                        "true" => Restart::Always,
                        "false" => Restart::Never,
                        "unexpected" => Restart::OnFailure,
                        _ => {
                            return Err(ImportError::at(
                                file,
                                at,
                                format!("autorestart: {text:?} is none of true, false, unexpected"),
                            ));
                        }
                    });
                }
                "startsecs" => imported.start_timeout = Some(seconds()?),
                "stopwaitsecs" => imported.stop_timeout = Some(seconds()?),
                _ => imported.notes.push(format!("not mapped: {key} = {text}")),
            }
        }
        // supervisord's default: restart only on an exit code not in `exitcodes`.
        imported.restart.get_or_insert(Restart::OnFailure);
        out.push(imported);
    }
    Ok(out)
}

/// The sections of an ini file: `[name]`, then `key = value` lines (`;` or `#` comments,
/// a ` ;` comment after a value, indented lines continuing the value before them).
fn sections(text: &str, file: &Path) -> Result<Vec<(usize, String, Section)>, ImportError> {
    let mut out: Vec<(usize, String, Section)> = Vec::new();
    let mut last_key: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
            continue;
        }
        // An indented line continues the value before it.
        if raw.starts_with([' ', '\t'])
            && let Some(key) = &last_key
            && let Some((_, _, section)) = out.last_mut()
            && let Some((_, value)) = section.get_mut(key)
        {
            value.push('\n');
            value.push_str(strip_comment(trimmed));
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[') {
            let name = name.strip_suffix(']').ok_or_else(|| {
                ImportError::at(
                    file,
                    line,
                    format!("{trimmed:?}: a section header ends with ]"),
                )
            })?;
            out.push((line, name.trim().to_owned(), Section::new()));
            last_key = None;
            continue;
        }
        let Some((key, value)) = trimmed.split_once(['=', ':']) else {
            return Err(ImportError::at(
                file,
                line,
                format!("{trimmed:?} is no key = value"),
            ));
        };
        let Some((_, _, section)) = out.last_mut() else {
            return Err(ImportError::at(file, line, "a key before any [section]"));
        };
        let key = key.trim().to_ascii_lowercase();
        section.insert(key.clone(), (line, strip_comment(value.trim()).to_owned()));
        last_key = Some(key);
    }
    Ok(out)
}

/// A value without its inline comment (` ;` after it, as Python's configparser has it).
fn strip_comment(value: &str) -> &str {
    value
        .find(" ;")
        .or_else(|| value.find("\t;"))
        .map_or(value, |at| value[..at].trim_end())
}

/// supervisord's `%(name)s` expansions: `program_name`, `here`, `ENV_X`; `%%` is `%`.
fn expand(
    value: &str,
    program: &str,
    here: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            out.push('%');
            rest = after;
            continue;
        }
        let Some((name, after)) = rest.strip_prefix('(').and_then(|r| r.split_once(")s")) else {
            return Err(format!("a % that is no %(name)s in {value:?}"));
        };
        let expanded = match name {
            "program_name" => program.to_owned(),
            "here" => here.to_owned(),
            _ => match name.strip_prefix("ENV_") {
                Some(var) => env(var).ok_or_else(|| format!("%({name})s: ${var} is not set"))?,
                None => return Err(format!("%({name})s is no expansion hbmon knows")),
            },
        };
        out.push_str(&expanded);
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

/// `KEY="value",KEY2=value2`: supervisord's environment, split at commas outside quotes.
fn environment(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut vars = BTreeMap::new();
    let mut pairs = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ',') => pairs.push(std::mem::take(&mut current)),
            (_, c) => current.push(c),
        }
    }
    if quote.is_some() {
        return Err(format!("an unclosed quote in {text:?}"));
    }
    pairs.push(current);
    for pair in pairs.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?} is no KEY=value"))?;
        vars.insert(key.trim().to_owned(), value.to_owned());
    }
    Ok(vars)
}
