//! Where things live: the heartbeat file (`--file`, `$HBMON_FILE`, per-user default), its
//! sidecar lock, temp and corrupt-copy names, and the config file (`hbmon.toml`).

use std::path::{Path, PathBuf};

/// The file name of the heartbeat file in the per-user default directory.
pub const FILE_NAME: &str = "heartbeat_status.json";

/// How the heartbeat file path was chosen; shown by `hbmon path` and in the UI header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    Default,
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Source::Flag => "--file",
            Source::Env => "$HBMON_FILE",
            Source::Default => "per-user default",
        }
    }
}

/// The resolved heartbeat file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLocation {
    pub path: PathBuf,
    pub source: Source,
}

impl FileLocation {
    /// The per-user default directory is private (0700); a path the user chose keeps the
    /// permissions its directory has, since it may be shared on purpose.
    pub fn private_dir(&self) -> bool {
        self.source == Source::Default
    }
}

/// First match wins: `flag`, then `$HBMON_FILE`, then the per-user state directory.
pub fn resolve_file(flag: Option<&Path>) -> FileLocation {
    resolve_file_with(flag, |key| std::env::var_os(key))
}

/// [`resolve_file`] with the environment passed in, so tests need not mutate the process's.
pub fn resolve_file_with(
    flag: Option<&Path>,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> FileLocation {
    if let Some(path) = flag {
        return FileLocation {
            path: path.to_path_buf(),
            source: Source::Flag,
        };
    }
    if let Some(path) = env("HBMON_FILE").filter(|p| !p.is_empty()) {
        return FileLocation {
            path: PathBuf::from(path),
            source: Source::Env,
        };
    }
    FileLocation {
        path: state_dir(&env).join("hbmon").join(FILE_NAME),
        source: Source::Default,
    }
}

/// `$XDG_STATE_HOME`, else `~/.local/state` (Linux and other Unixes); on macOS
/// `~/Library/Application Support`, the platform's place for app state.
fn state_dir(env: &impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    user_dir(env, "XDG_STATE_HOME", &[".local", "state"])
}

/// `$VAR` when set, else `~/<unix…>` — on macOS `~/Library/Application Support` for both
/// state and config, as its apps do.
fn user_dir(
    env: &impl Fn(&str) -> Option<std::ffi::OsString>,
    var: &str,
    unix: &[&str],
) -> PathBuf {
    if let Some(dir) = env(var).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = env("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    if cfg!(target_os = "macos") {
        home.join("Library").join("Application Support")
    } else {
        unix.iter().fold(home, |dir, part| dir.join(part))
    }
}

/// The config file's name, beside the heartbeat file or in the per-user config directory.
pub const CONFIG_NAME: &str = "hbmon.toml";

/// How the config file was found; shown by `hbmon config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    Flag,
    Env,
    BesideFile,
    UserDir,
}

impl ConfigSource {
    pub fn describe(self) -> &'static str {
        match self {
            ConfigSource::Flag => "--config",
            ConfigSource::Env => "$HBMON_CONFIG",
            ConfigSource::BesideFile => "beside the heartbeat file",
            ConfigSource::UserDir => "per-user config directory",
        }
    }
}

/// A config file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    pub path: PathBuf,
    pub source: ConfigSource,
}

/// First match wins: `flag` and `$HBMON_CONFIG` (returned even if missing, so that reading
/// it fails loudly), then `hbmon.toml` beside the heartbeat file, then the per-user config
/// directory (these two only if something is there). Something that is there but is no
/// regular file (a FIFO, a socket, a directory, a dangling link) is found all the same, so
/// that reading it fails naming it: skipped, it would leave hbmon silently on another
/// config or the built-in defaults. `None`: no config, built-in defaults.
pub fn locate_config(flag: Option<&Path>, heartbeat_file: &Path) -> Option<ConfigLocation> {
    locate_config_with(flag, heartbeat_file, |key| std::env::var_os(key))
}

/// [`locate_config`] with the environment passed in.
pub fn locate_config_with(
    flag: Option<&Path>,
    heartbeat_file: &Path,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Option<ConfigLocation> {
    if let Some(path) = flag {
        return Some(ConfigLocation {
            path: path.to_path_buf(),
            source: ConfigSource::Flag,
        });
    }
    if let Some(path) = env("HBMON_CONFIG").filter(|p| !p.is_empty()) {
        return Some(ConfigLocation {
            path: PathBuf::from(path),
            source: ConfigSource::Env,
        });
    }
    config_candidates_with(heartbeat_file, &env)
        .into_iter()
        // lstat, not stat: a link counts as there, whatever it leads to.
        .find(|c| c.path.symlink_metadata().is_ok())
}

/// The places searched when neither `--config` nor `$HBMON_CONFIG` is given, in order.
pub fn config_candidates(heartbeat_file: &Path) -> Vec<ConfigLocation> {
    config_candidates_with(heartbeat_file, &|key| std::env::var_os(key))
}

fn config_candidates_with(
    heartbeat_file: &Path,
    env: &impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Vec<ConfigLocation> {
    vec![
        ConfigLocation {
            path: beside(heartbeat_file, CONFIG_NAME),
            source: ConfigSource::BesideFile,
        },
        ConfigLocation {
            path: config_dir(env).join("hbmon").join(CONFIG_NAME),
            source: ConfigSource::UserDir,
        },
    ]
}

/// `hbmon.toml` in the heartbeat file's directory: where `hbmon init` writes by default.
pub fn config_beside(heartbeat_file: &Path) -> PathBuf {
    beside(heartbeat_file, CONFIG_NAME)
}

fn beside(file: &Path, name: &str) -> PathBuf {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
        _ => PathBuf::from(name),
    }
}

/// `$XDG_CONFIG_HOME`, else `~/.config`; on macOS `~/Library/Application Support`.
fn config_dir(env: &impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    user_dir(env, "XDG_CONFIG_HOME", &[".config"])
}

/// `<file>.lock`: the sidecar every writer locks (of the heartbeat file or the history).
/// Never the file itself, which each write
/// replaces (a lock on a replaced inode excludes nobody).
pub fn lock_path(file: &Path) -> PathBuf {
    with_suffix(file, ".lock")
}

/// The history database beside the heartbeat file: `heartbeat_status.json` ->
/// `heartbeat_history.sqlite`; any other name gets `_history.sqlite` after its stem, so two
/// heartbeat files in one directory keep separate histories.
pub fn history_path(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map_or_else(|| "heartbeat_status".into(), |s| s.to_string_lossy());
    let base = stem.strip_suffix("_status").unwrap_or(&stem);
    file.with_file_name(format!("{base}_history.sqlite"))
}

/// `<file>.alerts.lock`: held by the one `hbmon serve` that sends this file's alerts, so
/// two of them never send each alert twice. The live UI never takes it.
pub fn alerts_lock_path(file: &Path) -> PathBuf {
    with_suffix(file, ".alerts.lock")
}

/// `<file>.probes.lock`: held by the one monitor (`hbmon serve`, else the live UI) that
/// runs this file's active probes; `<file>.probes.json` ([`probes_path`]) is where it
/// publishes their results for the others.
pub fn probes_lock_path(file: &Path) -> PathBuf {
    with_suffix(file, ".probes.lock")
}

/// `<file>.probes.json`: the latest probe results, written by the holder of
/// [`probes_lock_path`], read by every other monitor and by `hbmon status`.
pub fn probes_path(file: &Path) -> PathBuf {
    with_suffix(file, ".probes.json")
}

/// `<file>.corrupt-<unix>`: where an unparseable file is moved, never deleted. `copy` numbers
/// the further ones moved aside within the same second (`.corrupt-<unix>.1`, …).
pub fn corrupt_path(file: &Path, unix_secs: u64, copy: u32) -> PathBuf {
    match copy {
        0 => with_suffix(file, &format!(".corrupt-{unix_secs}")),
        n => with_suffix(file, &format!(".corrupt-{unix_secs}.{n}")),
    }
}

/// `.<name>.<pid>.<16 hex>.tmp` beside the file: same directory, so `rename` is atomic.
/// Hidden, so a watcher and a person can ignore it; the PID says whose it is (a writer
/// removes those of writers that died); the random part makes the name unpredictable, so
/// nobody can plant something there ahead of the writer (which creates it `O_EXCL` anyway).
pub fn temp_path(file: &Path) -> PathBuf {
    file.with_file_name(format!(
        ".{}.{}.{}.tmp",
        file_name(file),
        std::process::id(),
        random_tag()
    ))
}

/// 16 hex digits no one can guess, for names that must not be taken first (temp files,
/// the demo's directory).
pub fn random_tag() -> String {
    use std::hash::{BuildHasher, Hasher};
    // Each RandomState is keyed from the OS's random source (then stepped per use): 64
    // unpredictable bits without a dependency.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{:016x}", hasher.finish())
}

/// The PID in a temp file name of `file` (the form of [`temp_path`], or the older
/// `.<name>.<pid>.tmp`); `None` for any other name.
pub fn temp_owner(file: &Path, candidate: &std::ffi::OsStr) -> Option<u32> {
    let rest = candidate
        .to_str()?
        .strip_prefix('.')?
        .strip_prefix(file_name(file).as_str())?
        .strip_prefix('.')?
        .strip_suffix(".tmp")?;
    let pid = match rest.split_once('.') {
        Some((pid, random))
            if random.len() == 16 && random.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            pid
        }
        Some(_) => return None,
        None => rest,
    };
    pid.parse().ok()
}

fn file_name(file: &Path) -> String {
    file.file_name()
        .map_or_else(|| FILE_NAME.into(), |n| n.to_string_lossy().into_owned())
}

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut os = file.as_os_str().to_owned();
    os.push(suffix);
    PathBuf::from(os)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let pairs: Vec<(String, OsString)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    #[test]
    fn flag_beats_env_beats_default() {
        let e = env(&[("HBMON_FILE", "/env/hb.json"), ("HOME", "/home/u")]);
        let flag = resolve_file_with(Some(Path::new("/flag/hb.json")), &e);
        assert_eq!(flag.path, Path::new("/flag/hb.json"));
        assert_eq!(flag.source, Source::Flag);
        let from_env = resolve_file_with(None, &e);
        assert_eq!(from_env.path, Path::new("/env/hb.json"));
        assert_eq!(from_env.source, Source::Env);
        assert!(!from_env.private_dir());
    }

    #[test]
    fn default_uses_xdg_state_home_then_home() {
        let xdg = resolve_file_with(None, env(&[("XDG_STATE_HOME", "/x"), ("HOME", "/h")]));
        assert_eq!(xdg.path, Path::new("/x/hbmon/heartbeat_status.json"));
        assert!(xdg.private_dir());
        if !cfg!(target_os = "macos") {
            let home = resolve_file_with(None, env(&[("HOME", "/h"), ("HBMON_FILE", "")]));
            assert_eq!(
                home.path,
                Path::new("/h/.local/state/hbmon/heartbeat_status.json")
            );
        }
    }

    #[test]
    fn config_flag_beats_env_beats_beside_beats_user_dir() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state").join("hb.json");
        let home = dir.path().join("home");
        let user = home.join(".config").join("hbmon").join(CONFIG_NAME);
        let e = env(&[("HOME", home.to_str().unwrap())]);
        assert_eq!(locate_config_with(None, &file, &e), None);
        std::fs::create_dir_all(user.parent().unwrap()).unwrap();
        std::fs::write(&user, "").unwrap();
        let found = locate_config_with(None, &file, &e).unwrap();
        assert_eq!((found.path, found.source), (user, ConfigSource::UserDir));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(config_beside(&file), "").unwrap();
        let found = locate_config_with(None, &file, &e).unwrap();
        assert_eq!(found.source, ConfigSource::BesideFile);
        let with_env = env(&[("HBMON_CONFIG", "/missing/c.toml")]);
        let found = locate_config_with(None, &file, &with_env).unwrap();
        assert_eq!(
            (found.path.as_path(), found.source),
            (Path::new("/missing/c.toml"), ConfigSource::Env)
        );
        let found = locate_config_with(Some(Path::new("f.toml")), &file, &with_env).unwrap();
        assert_eq!(found.source, ConfigSource::Flag);
    }

    #[test]
    fn something_not_a_file_where_a_config_is_looked_for_is_found_to_be_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        let e = env(&[("HOME", dir.path().join("home").to_str().unwrap())]);
        let beside = config_beside(&file);
        let fifo = std::ffi::CString::new(beside.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string for mkfifo to read.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let found = locate_config_with(None, &file, &e).unwrap();
        assert_eq!(
            (&found.path, found.source),
            (&beside, ConfigSource::BesideFile)
        );
        std::fs::remove_file(&beside).unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone.toml"), &beside).unwrap();
        let found = locate_config_with(None, &file, &e).unwrap();
        assert_eq!(
            found.path, beside,
            "a dangling link is found, to fail naming it"
        );
    }

    #[test]
    fn user_config_dir_honours_xdg() {
        let e = env(&[("XDG_CONFIG_HOME", "/xc"), ("HOME", "/h")]);
        let places = config_candidates_with(Path::new("hb.json"), &e);
        assert_eq!(places[0].path, Path::new("hbmon.toml"));
        assert_eq!(places[1].path, Path::new("/xc/hbmon/hbmon.toml"));
    }

    #[test]
    fn sidecar_names() {
        let f = Path::new("/d/hb.json");
        assert_eq!(lock_path(f), Path::new("/d/hb.json.lock"));
        assert_eq!(corrupt_path(f, 17, 0), Path::new("/d/hb.json.corrupt-17"));
        assert_eq!(corrupt_path(f, 17, 2), Path::new("/d/hb.json.corrupt-17.2"));
        assert_eq!(history_path(f), Path::new("/d/hb_history.sqlite"));
        assert_eq!(
            history_path(Path::new("/d/heartbeat_status.json")),
            Path::new("/d/heartbeat_history.sqlite")
        );
        let tmp = temp_path(f);
        assert_eq!(tmp.parent(), Some(Path::new("/d")));
        assert_ne!(tmp, temp_path(f), "unpredictable: no two alike");
        let name = tmp.file_name().unwrap();
        assert_eq!(temp_owner(f, name), Some(std::process::id()));
    }

    #[test]
    fn temp_owner_reads_the_pid_of_this_files_temp_names_only() {
        let f = Path::new("/d/hb.json");
        for (name, owner) in [
            (".hb.json.42.0123456789abcdef.tmp", Some(42)),
            (".hb.json.42.tmp", Some(42)),
            (".hb.json.42.xyz.tmp", None),
            (".hb.json.lock", None),
            (".other.json.42.tmp", None),
            ("hb.json.42.tmp", None),
            (".hb.json.x.tmp", None),
        ] {
            assert_eq!(temp_owner(f, std::ffi::OsStr::new(name)), owner, "{name}");
        }
    }
}
