//! What becomes of the history database as the recorder works on it — recording, busy,
//! repaired, moved, refused, pruned, dropping — as notes the monitor's loop logs (`hbmon
//! serve`) or shows (the live UI). `Display` is the line after `history: `.

use std::path::PathBuf;
use std::time::Duration;

use super::open::Repair;
use super::{HistoryError, Moved, Pruned};
use crate::changes::{ProbeFlip, Seen};
use crate::duration;

/// How much the recorder's queue holds (see [`super::Batch::bytes`]) before new changes are
/// dropped: minutes of a busy machine's beats while the database is locked, and a bound on
/// the memory a storm of large beats can take meanwhile.
pub const QUEUE_BYTES: usize = 16 << 20;

/// How long a stopping recorder waits for its queue to be written.
pub const FLUSH_GRACE: Duration = Duration::from_secs(2);

/// What became of the database.
#[derive(Debug)]
pub enum Note {
    /// Recording `path` from now on (first, or again after it was refused, deleted or
    /// replaced). `seen`: what it knew of each process; `flips`: each probe's newest flip;
    /// `missed`: rows that arrived while it was refused and were not recorded.
    Recording {
        path: PathBuf,
        keep: Duration,
        seen: Vec<(String, Seen)>,
        flips: Vec<ProbeFlip>,
        missed: usize,
    },
    /// Something unexpected found in the file, and what was done.
    Repaired(Repair),
    /// The file was deleted (or another put in its place) while recording; `again`: rows
    /// written into the old file since it was last seen in place, to be written again.
    Moved {
        path: PathBuf,
        moved: Moved,
        again: usize,
    },
    /// Another connection holds the database's write lock; changes wait in the queue.
    Busy {
        path: PathBuf,
    },
    /// Free again: `written` rows that waited were written.
    Free {
        path: PathBuf,
        written: usize,
    },
    /// Opening, reading or writing failed; the recorder retries every few seconds, and what
    /// arrives meanwhile is not recorded if the database is refused.
    Failed(HistoryError),
    Pruned {
        pruned: Pruned,
        keep: Duration,
    },
    /// The queue is full: changes are dropped until it has room.
    Dropping {
        path: PathBuf,
    },
    /// The queue has room again (or the recorder stopped while it was full); `dropped` rows
    /// were lost meanwhile.
    Resumed {
        dropped: usize,
    },
    /// The recorder stopped; `unwritten` rows could not be written in time.
    Finished {
        unwritten: usize,
    },
}

impl Note {
    /// Whether the note reports trouble (the UI shows those as errors).
    pub fn is_trouble(&self) -> bool {
        match self {
            Note::Recording { missed, .. } => *missed > 0,
            Note::Repaired(repair) => matches!(repair, Repair::MovedAside { .. }),
            Note::Moved { .. } | Note::Busy { .. } | Note::Failed(_) | Note::Dropping { .. } => {
                true
            }
            Note::Resumed { dropped } => *dropped > 0,
            Note::Finished { unwritten } => *unwritten > 0,
            Note::Free { .. } | Note::Pruned { .. } => false,
        }
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::Recording {
                path, keep, missed, ..
            } => {
                write!(
                    f,
                    "recording {} (keeping {})",
                    path.display(),
                    duration::format_exact(keep.as_secs_f64())
                )?;
                if *missed > 0 {
                    write!(
                        f,
                        "; {missed} beats and transitions were not recorded meanwhile"
                    )?;
                }
                Ok(())
            }
            Note::Repaired(repair) => repair.fmt(f),
            Note::Moved { path, moved, again } => write!(
                f,
                "{} was {} while recording: opening it anew, and writing again the {again} \
                 beats and transitions written into the old file since it was last checked",
                path.display(),
                match moved {
                    Moved::Deleted => "deleted",
                    Moved::Replaced => "replaced by another file",
                },
            ),
            Note::Busy { path } => write!(
                f,
                "{} is locked by another program: beats and transitions wait in memory (up to \
                 {} MiB) and are written when it lets go; checks go on",
                path.display(),
                QUEUE_BYTES >> 20
            ),
            Note::Free { path, written } => write!(
                f,
                "{} is free again: wrote the {written} beats and transitions that waited",
                path.display()
            ),
            Note::Failed(e) => e.fmt(f),
            Note::Pruned { pruned, keep } => write!(
                f,
                "pruned {} beats, {} transitions, {} probe flips, {} restarts and {} probe minutes \
                 older than {}",
                pruned.beats,
                pruned.transitions,
                pruned.flips,
                pruned.restarts,
                pruned.minutes,
                duration::format_exact(keep.as_secs_f64())
            ),
            Note::Dropping { path } => write!(
                f,
                "{} MiB of beats and transitions wait to be written to {}: dropping new ones \
                 until there is room",
                QUEUE_BYTES >> 20,
                path.display()
            ),
            Note::Resumed { dropped } => write!(
                f,
                "{dropped} beats and transitions were dropped while the queue was full"
            ),
            Note::Finished { unwritten } => write!(
                f,
                "stopped with {unwritten} beats and transitions still unwritten (the database \
                 stayed locked)"
            ),
        }
    }
}
