//! Noticing changes to a file (the heartbeat file, the config). The watch is on its
//! *directory*: every write replaces the file with a rename, and a watch on the file itself
//! would end at the first. Paced: a storm of changes reaches the loop a few times a second,
//! not once per beat. Also the two pieces every loop that waits on it shares:
//! [`next_batch`] and [`next_second`].

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// Waits until `deadline` for one event, then takes every event already queued with it,
/// so a burst (a dozen file events per beat, a storm of beats) is handled once. Empty at
/// the deadline; `None` when every sender is gone.
pub fn next_batch<E>(rx: &Receiver<E>, deadline: Instant) -> Option<Vec<E>> {
    let first = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(event) => Some(event),
        Err(RecvTimeoutError::Timeout) => None,
        Err(RecvTimeoutError::Disconnected) => return None,
    };
    Some(
        first
            .into_iter()
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
            .collect(),
    )
}

/// The next whole wall-clock second, as an `Instant`: clocks on screen and "late" flip in
/// step with real time.
pub fn next_second() -> Instant {
    let fraction = crate::clock::unix_now().fract();
    Instant::now() + Duration::from_secs_f64((1.0 - fraction).clamp(0.001, 1.0))
}

/// The first change after a quiet spell reaches the loop at once; while more keep coming,
/// at most one per gap, which grows from the first to the second while the storm lasts.
/// Hundreds of writers each rewriting the file then cost four reads a second, not one per
/// beat, and a lone beat still shows within milliseconds.
const MIN_GAP: Duration = Duration::from_millis(100);
const MAX_GAP: Duration = Duration::from_millis(250);

/// Calls `changed(i)` (on the watcher's thread) whenever the file called `names[i]` in `dir`
/// may have changed, paced (see [`MIN_GAP`]). One watcher, one thread and one pace for all
/// the files of a directory: a second watcher on a busy directory (the config beside the
/// heartbeat file) would wake for each of its events unpaced. The watch lasts as long as
/// the returned watcher.
pub fn watch(
    dir: &Path,
    names: Vec<OsString>,
    mut changed: impl FnMut(usize) + Send + 'static,
) -> notify::Result<RecommendedWatcher> {
    let mut pacer = Pacer::default();
    let mut watcher = notify::recommended_watcher(move |result: notify::Result<notify::Event>| {
        let concerned: Vec<usize> = (0..names.len())
            .filter(|&i| concerns(&result, Some(&names[i])))
            .collect();
        if concerned.is_empty() {
            return;
        }
        // Holding the event here, on the watcher's own thread, lets the kernel queue the
        // storm's events, read together on the next wake-up: each beat is a burst of
        // directory events (lock, temp file, rename, the reads), and taking them one
        // wake-up at a time would cost more than everything else the monitor does.
        std::thread::sleep(pacer.hold(Instant::now()));
        for i in concerned {
            changed(i);
        }
        pacer.sent(Instant::now());
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

/// What identifies one version of a file without reading it: its device and inode, size,
/// times (to the nanosecond), mode and owner — to notice a change no event reported (a
/// watch that could not be set up, a `chmod`, which the watch ignores), and to skip reading
/// a file that did not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    device: u64,
    inode: u64,
    len: u64,
    modified: (i64, i64),
    changed: (i64, i64),
    mode: u32,
    owner: u32,
}

impl Stamp {
    /// `None`: no such file (or it cannot be looked at).
    pub fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        Some(Stamp {
            device: meta.dev(),
            inode: meta.ino(),
            len: meta.len(),
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
            mode: meta.mode(),
            owner: meta.uid(),
        })
    }
}

/// Paces file events (see [`MIN_GAP`]).
#[derive(Debug)]
struct Pacer {
    last_sent: Option<Instant>,
    gap: Duration,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            last_sent: None,
            gap: MIN_GAP,
        }
    }
}

impl Pacer {
    /// How long to hold an event that arrives at `now` before passing it on.
    fn hold(&mut self, now: Instant) -> Duration {
        match self.last_sent {
            Some(last) if now < last + self.gap => {
                let wait = last + self.gap - now;
                self.gap = (self.gap * 2).min(MAX_GAP);
                wait
            }
            _ => {
                self.gap = MIN_GAP;
                Duration::ZERO
            }
        }
    }

    fn sent(&mut self, at: Instant) {
        self.last_sent = Some(at);
    }
}

/// Whether a directory event means the file called `name` changed: replaced by a rename
/// (how every writer writes), moved away, removed, created or written in place. Each change
/// counts once — not the duplicate "both ends of a rename" event, not every `write` of an
/// in-place writer (its close counts) — since a beat is a dozen directory events and a busy
/// file sees hundreds of beats a second. Reads (the monitor's own included) and the lock and
/// temp files never count. A watcher error does, since events may have been lost.
fn concerns(result: &notify::Result<notify::Event>, name: Option<&OsStr>) -> bool {
    use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
    let Ok(event) = result else {
        return true;
    };
    let counts = match event.kind {
        EventKind::Modify(
            ModifyKind::Name(RenameMode::Both) | ModifyKind::Data(_) | ModifyKind::Metadata(_),
        ) => false,
        EventKind::Access(access) => access == AccessKind::Close(AccessMode::Write),
        EventKind::Create(_)
        | EventKind::Modify(_)
        | EventKind::Remove(_)
        | EventKind::Any
        | EventKind::Other => true,
    };
    counts && (event.paths.is_empty() || event.paths.iter().any(|p| p.file_name() == name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Beat, Store};
    use notify::event::{AccessKind, CreateKind, ModifyKind, RenameMode};
    use std::sync::mpsc;

    #[test]
    fn a_batch_is_everything_queued_empty_at_the_deadline_none_when_closed() {
        let (tx, rx) = mpsc::channel();
        for n in 1..=3 {
            tx.send(n).unwrap();
        }
        assert_eq!(next_batch(&rx, Instant::now()), Some(vec![1, 2, 3]));
        assert_eq!(next_batch(&rx, Instant::now()), Some(vec![]));
        drop(tx);
        assert_eq!(next_batch::<i32>(&rx, Instant::now()), None);
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_lone_event_passes_at_once_and_a_storm_is_paced_ever_slower() {
        let t0 = Instant::now();
        let mut pacer = Pacer::default();
        assert_eq!(pacer.hold(t0), Duration::ZERO);
        pacer.sent(t0);
        // The storm: each event is held to the end of the gap, which grows to MAX_GAP.
        assert_eq!(pacer.hold(t0 + 10 * MS), 90 * MS);
        pacer.sent(t0 + 100 * MS);
        assert_eq!(pacer.hold(t0 + 101 * MS), 199 * MS);
        pacer.sent(t0 + 300 * MS);
        assert_eq!(pacer.hold(t0 + 300 * MS), MAX_GAP);
        pacer.sent(t0 + 550 * MS);
        assert_eq!(pacer.hold(t0 + 560 * MS), 240 * MS);
        pacer.sent(t0 + 800 * MS);
        // Quiet for a gap: the next event passes at once, and the gap starts small again.
        assert_eq!(pacer.hold(t0 + 1100 * MS), Duration::ZERO);
        pacer.sent(t0 + 1100 * MS);
        assert_eq!(pacer.hold(t0 + 1150 * MS), 50 * MS);
    }

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
    fn each_change_of_the_file_counts_once() {
        use notify::event::{
            AccessKind, AccessMode, CreateKind, DataChange, ModifyKind, RemoveKind, RenameMode,
        };
        let name = Some(OsStr::new("hb.json"));
        let event = |kind, paths: &[&str]| {
            let mut event = notify::Event::new(kind);
            for path in paths {
                event = event.add_path((*path).into());
            }
            concerns(&Ok(event), name)
        };
        let rename = |mode| EventKind::Modify(ModifyKind::Name(mode));
        // A writer's beat: only the rename onto the file counts.
        assert!(event(rename(RenameMode::To), &["/d/hb.json"]));
        assert!(!event(
            rename(RenameMode::Both),
            &["/d/.hb.json.7.tmp", "/d/hb.json"]
        ));
        assert!(!event(rename(RenameMode::From), &["/d/.hb.json.7.tmp"]));
        assert!(!event(
            EventKind::Create(CreateKind::File),
            &["/d/.hb.json.7.tmp"]
        ));
        let close_write = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(!event(close_write, &["/d/hb.json.lock"]));
        let open = EventKind::Access(AccessKind::Open(AccessMode::Any));
        assert!(!event(open, &["/d/hb.json"]));
        let close_read = EventKind::Access(AccessKind::Close(AccessMode::Read));
        assert!(!event(close_read, &["/d/hb.json"]));
        // Moved aside (a corrupt file), deleted, written in place: each counts.
        assert!(event(rename(RenameMode::From), &["/d/hb.json"]));
        assert!(event(EventKind::Remove(RemoveKind::File), &["/d/hb.json"]));
        assert!(event(close_write, &["/d/hb.json"]));
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        assert!(!event(write, &["/d/hb.json"]));
        // An event without paths (the watcher lost track) is not ignored.
        assert!(event(EventKind::Other, &[]));
    }

    #[test]
    fn a_beat_and_an_edit_beside_it_are_each_noticed_as_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        let (tx, rx) = mpsc::channel();
        let names = vec!["hb.json".into(), "hbmon.toml".into()];
        let _watcher = watch(dir.path(), names, move |i| {
            let _ = tx.send(i);
        })
        .unwrap();
        Store::new(&file).beat("a", &Beat::alive(None)).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(0));
        // One change, one event: a second (a writer's close after its rename) would hold
        // the next lone beat back as if a storm had begun.
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(300)),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        std::fs::write(dir.path().join("hbmon.toml"), "").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while rx
            .recv_timeout(deadline - std::time::Instant::now())
            .unwrap()
            != 1
        {}
    }
}
