//! Noticing changes to the heartbeat file. The watch is on its *directory*: every write
//! replaces the file with a rename, and a watch on the file itself would end at the first.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// Calls `changed` (on the watcher's thread) whenever `file` may have changed. The watch
/// lasts as long as the returned watcher.
pub fn watch(
    file: &Path,
    changed: impl Fn() + Send + 'static,
) -> notify::Result<RecommendedWatcher> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = file.file_name().map(ToOwned::to_owned);
    let mut watcher = notify::recommended_watcher(move |result: notify::Result<notify::Event>| {
        if concerns(&result, name.as_deref()) {
            changed();
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

/// Whether a directory event may mean the file called `name` changed: written, replaced or
/// removed — not read, and not its lock or temp files. A watcher error counts, since events
/// may have been lost.
fn concerns(result: &notify::Result<notify::Event>, name: Option<&OsStr>) -> bool {
    match result {
        Ok(event) => {
            !matches!(event.kind, EventKind::Access(_))
                && (event.paths.is_empty() || event.paths.iter().any(|p| p.file_name() == name))
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Beat, Store};
    use notify::event::{AccessKind, CreateKind, ModifyKind, RenameMode};
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn only_events_about_the_file_itself_count() {
        let name = Some(OsStr::new("hb.json"));
        let event = |kind, path: &str| Ok(notify::Event::new(kind).add_path(path.into()));
        let rename = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert!(concerns(&event(rename, "/d/hb.json"), name));
        assert!(concerns(
            &event(
                EventKind::Remove(notify::event::RemoveKind::File),
                "/d/hb.json"
            ),
            name
        ));
        assert!(!concerns(
            &event(EventKind::Access(AccessKind::Any), "/d/hb.json"),
            name
        ));
        assert!(!concerns(
            &event(EventKind::Create(CreateKind::File), "/d/hb.json.lock"),
            name
        ));
        assert!(!concerns(&event(rename, "/d/.hb.json.77.tmp"), name));
        assert!(concerns(&Err(notify::Error::generic("overflow")), name));
    }

    #[test]
    fn a_beat_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        let (tx, rx) = mpsc::channel();
        let _watcher = watch(&file, move || {
            let _ = tx.send(());
        })
        .unwrap();
        Store::new(&file).beat("a", &Beat::alive(None)).unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
}
