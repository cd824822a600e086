//! Editing `hbmon.toml` in place: add, change or remove one `[[process]]` with `toml_edit`,
//! which keeps every comment and the layout the user wrote. Each edit reads the file again
//! under an exclusive flock on `hbmon.toml.lock` (so two editors — the API, `hbmon mcp` —
//! never lose each other's change), refuses it if the file is not the version the caller
//! read (when the caller says which), checks the result with the real parser
//! ([`Config::parse`], so a bad value is refused with the line `hbmon config` would print),
//! and replaces the file atomically (temp file + rename, the old file's mode).
//!
//! A symlinked config is edited at its target, because that is what reading it does
//! ([`fsafe::read_trusted`] follows a link this user made to a file of this user's own):
//! the link is checked by the same rules, then the file it leads to is locked, rewritten
//! and renamed over — so a dotfiles link stays a link.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

use super::{Config, ConfigError};
use crate::fsafe::{self, FileError};
use crate::store::{self, StoreError};

/// How long an edit waits for another editor's lock before it gives up.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

/// The keys of a `[[process]]` as JSON: `{"name": "x", "interval": "30s", "critical": false}`.
pub type Fields = Map<String, Value>;

/// One change to the config's `[[process]]` tables.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A new `[[process]]` with these keys (`name` among them), after the others.
    Add(&'a Fields),
    /// Sets these keys of the process called `name`; a `null` removes the key.
    Update(&'a str, &'a Fields),
    /// Removes the process called `name`, with the comments above it.
    Remove(&'a str),
}

/// Why an edit was not made. Nothing is written for any of them.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The edited config would not parse or validate: `file:line: key: message`, exactly as
    /// `hbmon config` says it (or the file was already broken).
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    #[error(transparent)]
    Unsafe(#[from] FileError),
    #[error("cannot read config {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "{} is being edited by another program (its lock {} stayed held): try again",
        path.display(),
        lock.display()
    )]
    Locked { path: PathBuf, lock: PathBuf },
    /// The file is not the version the caller read: someone edited it since.
    #[error(
        "{} changed since version {expected} was read (now {found}): read it again and redo \
         the change",
        path.display()
    )]
    Conflict {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{}: no [[process]] named {name:?}", path.display())]
    NoProcess { path: PathBuf, name: String },
    #[error("{}: a [[process]] named {name:?} is already configured", path.display())]
    Exists { path: PathBuf, name: String },
    /// A value the request gave that the config cannot hold, or may not be changed.
    #[error("{}: {key}: {message}", path.display())]
    Field {
        path: PathBuf,
        key: String,
        message: String,
    },
    #[error(transparent)]
    Write(#[from] StoreError),
}

impl EditError {
    /// The key at fault, for a reply that names the field.
    pub fn field(&self) -> Option<&str> {
        match self {
            EditError::Invalid(ConfigError::Invalid { key, .. }) => key.as_deref(),
            EditError::Field { key, .. } => Some(key),
            EditError::NoProcess { .. } | EditError::Exists { .. } => Some("name"),
            _ => None,
        }
    }
}

/// An edit made: the file written and its new version.
#[derive(Debug)]
pub struct Edited {
    pub path: PathBuf,
    pub version: String,
    pub config: Config,
}

/// The version of config text, as [`edit`] compares it: 16 hex digits of a hash of the
/// bytes (FNV-1a: stable across builds and processes, unlike std's hasher). `absent` for
/// no file.
pub fn version_of(bytes: Option<&[u8]>) -> String {
    let Some(bytes) = bytes else {
        return "absent".to_owned();
    };
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The version of the config at `path` now (`absent` if there is none).
pub fn current_version(path: &Path) -> Result<String, EditError> {
    let target = target_of(path)?;
    Ok(version_of(read(&target)?.as_deref()))
}

/// Makes `change` to the config at `path` (created, private, if there is none), under its
/// lock; refused if `expected` is given and the file is not that version any more.
pub fn edit(path: &Path, change: Change<'_>, expected: Option<&str>) -> Result<Edited, EditError> {
    edit_waiting(path, change, expected, LOCK_WAIT)
}

/// [`edit`], waiting at most `wait` for the lock.
fn edit_waiting(
    path: &Path,
    change: Change<'_>,
    expected: Option<&str>,
    wait: Duration,
) -> Result<Edited, EditError> {
    let target = target_of(path)?;
    let lock_path = crate::paths::lock_path(&target);
    let lock = fsafe::open_lock(&lock_path, 0o600)?;
    take(&lock, &target, &lock_path, wait)?;
    let old = read(&target)?;
    let found = version_of(old.as_deref());
    if let Some(expected) = expected.filter(|e| *e != found) {
        return Err(EditError::Conflict {
            path: target,
            expected: expected.to_owned(),
            found,
        });
    }
    let text = match old {
        Some(bytes) => String::from_utf8(bytes).map_err(|e| EditError::Read {
            path: target.clone(),
            cause: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?,
        None => String::new(),
    };
    // A file that is already broken is said as it is, not as the edit's fault.
    Config::parse(&text, &target)?;
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| field(&target, "process", e.message().to_owned()))?;
    apply(&mut doc, change, &target)?;
    let new = doc.to_string();
    let config = Config::parse(&new, &target)?;
    // A new config names commands to run: only its owner may read or change it.
    let permissions = std::fs::symlink_metadata(&target).map_or_else(
        |_| std::fs::Permissions::from_mode(0o600),
        |m| m.permissions(),
    );
    store::replace_file(&target, &[new.as_str().into()], Some(permissions))?;
    Ok(Edited {
        version: version_of(Some(new.as_bytes())),
        path: target,
        config,
    })
}

/// The file an edit rewrites: `path`, or for a symlink the file it leads to, once the link
/// passes the checks reading it does.
fn target_of(path: &Path) -> Result<PathBuf, EditError> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(path.to_owned());
    }
    fsafe::read_trusted(path)?;
    std::fs::canonicalize(path).map_err(|cause| EditError::Read {
        path: path.to_owned(),
        cause,
    })
}

/// The config's bytes, as reading it takes them (regular, trusted, within the cap), but
/// never through a link: the target was resolved before the lock.
fn read(target: &Path) -> Result<Option<Vec<u8>>, EditError> {
    let Some((file, meta)) = fsafe::open_regular(target)? else {
        return Ok(None);
    };
    fsafe::check_trusted(target, &meta)?;
    Ok(Some(fsafe::read_capped(target, file, &meta)?))
}

/// Takes the edit lock within `wait`. Polled: an edit holds it for a millisecond, and a
/// poll leaves no thread blocked behind a holder that never lets go.
fn take(
    lock: &std::fs::File,
    target: &Path,
    lock_path: &Path,
    wait: Duration,
) -> Result<(), EditError> {
    let deadline = Instant::now() + wait;
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(EditError::Locked {
                    path: target.to_owned(),
                    lock: lock_path.to_owned(),
                });
            }
            Err(std::fs::TryLockError::Error(cause)) => {
                return Err(EditError::Read {
                    path: lock_path.to_owned(),
                    cause,
                });
            }
        }
    }
}

fn field(path: &Path, key: &str, message: String) -> EditError {
    EditError::Field {
        path: path.to_owned(),
        key: key.to_owned(),
        message,
    }
}

/// Makes `change` in the document.
fn apply(doc: &mut DocumentMut, change: Change<'_>, path: &Path) -> Result<(), EditError> {
    let processes = processes(doc, path)?;
    let find = |processes: &ArrayOfTables, name: &str| {
        processes
            .iter()
            .position(|t| t.get("name").and_then(Item::as_str) == Some(name))
    };
    match change {
        Change::Add(fields) => {
            let name = match fields.get("name") {
                Some(Value::String(name)) => name,
                Some(other) => {
                    return Err(field(path, "name", format!("{other} is not a string")));
                }
                None => return Err(field(path, "name", "is required".to_owned())),
            };
            if find(processes, name).is_some() {
                return Err(EditError::Exists {
                    path: path.to_owned(),
                    name: name.clone(),
                });
            }
            let mut table = Table::new();
            // `name` first, as every example writes it.
            set(&mut table, "name", &Value::String(name.clone()), path)?;
            for (key, value) in fields.iter().filter(|(k, _)| *k != "name") {
                set(&mut table, key, value, path)?;
            }
            processes.push(table);
        }
        Change::Update(name, fields) => {
            let at = find(processes, name).ok_or_else(|| EditError::NoProcess {
                path: path.to_owned(),
                name: name.to_owned(),
            })?;
            let table = processes.get_mut(at).expect("found above");
            for (key, value) in fields {
                if key == "name" && value.as_str() != Some(name) {
                    return Err(field(
                        path,
                        "name",
                        "cannot be changed: remove the process and add it under the new name"
                            .to_owned(),
                    ));
                }
                set(table, key, value, path)?;
            }
        }
        Change::Remove(name) => {
            let at = find(processes, name).ok_or_else(|| EditError::NoProcess {
                path: path.to_owned(),
                name: name.to_owned(),
            })?;
            processes.remove(at);
        }
    }
    Ok(())
}

/// The document's `[[process]]` tables, made if there are none yet.
fn processes<'d>(
    doc: &'d mut DocumentMut,
    path: &Path,
) -> Result<&'d mut ArrayOfTables, EditError> {
    let item = doc
        .entry("process")
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()));
    item.as_array_of_tables_mut().ok_or_else(|| {
        field(
            path,
            "process",
            "is not written as [[process]] tables; edit this file by hand".to_owned(),
        )
    })
}

/// Sets `key` to `value` in `table` (`null` removes it), keeping the comment after an
/// existing value and the spacing around it.
fn set(table: &mut Table, key: &str, value: &Value, path: &Path) -> Result<(), EditError> {
    if value.is_null() {
        if key == "name" {
            return Err(field(path, key, "cannot be removed".to_owned()));
        }
        table.remove(key);
        return Ok(());
    }
    let mut new = toml_value(value).map_err(|message| field(path, key, message))?;
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            *new.decor_mut() = old.decor().clone();
            *old = new;
        }
        None => {
            table.insert(key, Item::Value(new));
        }
    }
    Ok(())
}

/// A JSON value as a TOML value: strings, numbers, booleans, and arrays of them.
fn toml_value(value: &Value) -> Result<toml_edit::Value, String> {
    Ok(match value {
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into(),
            (None, Some(f)) => f.into(),
            (None, None) => return Err(format!("{n} does not fit in a TOML number")),
        },
        Value::Array(items) => {
            let mut array = toml_edit::Array::new();
            for item in items {
                array.push(toml_value(item)?);
            }
            array.into()
        }
        Value::Object(_) => {
            return Err("an object is no value a [[process]] key takes".to_owned());
        }
        Value::Null => return Err("null is no value".to_owned()),
    })
}

#[cfg(test)]
mod tests;
