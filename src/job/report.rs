//! A job's beats: what each says, and the thread that writes them once the command runs,
//! so that a beat waiting for the file's lock holds up neither the command, nor its
//! timeout, nor hbmon's exit for longer than the store's lock timeout.

use std::ffi::OsString;
use std::io::{self, ErrorKind};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::Scope;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::notified::Notified;
use super::{Job, Outcome};
use crate::clock::unix_now;
use crate::heartbeat::{FailureStreak, host};
use crate::paths::random_tag;
use crate::store::{Beat, DataChange, Reported, Store};

/// A beat for the writer thread to write.
enum Report {
    Started,
    StillRunning,
    /// What the command said on its notify socket (`--notify`).
    Notified(Notified),
    Finished(FinalBeat),
}

/// How a run ended, as its final beat says it.
pub struct FinalBeat {
    /// `succeeded`, `failed` or `stopped`.
    pub status: Reported,
    pub exit_code: u8,
    pub reason: String,
    pub output_tail: String,
    /// More keys for the data: what the command said on its notify socket and no beat
    /// carried yet.
    pub notified: Map<String, Value>,
    /// When it ended, as [`Reporter::now`] gives it: the wall-clock stamp and the
    /// monotonic time since the start.
    pub at: (f64, Duration),
}

/// The beats of a running command, handed to a writer thread.
pub struct Beats<'s> {
    /// `None` if the writer thread could not start: beats are then written in place.
    to_writer: Option<SyncSender<Report>>,
    reporter: &'s Reporter<'s>,
}

impl<'s> Beats<'s> {
    /// Starts the writer thread in `scope` and sends it the `running` beat.
    pub fn start(scope: &'s Scope<'s, '_>, reporter: &'s Reporter<'s>) -> Self {
        // A rendezvous channel: a keepalive is handed over only while the writer is idle,
        // so beats never pile up behind one that waits for the lock.
        let (tx, rx) = mpsc::sync_channel(0);
        let spawned = std::thread::Builder::new()
            .name("hbmon-beats".to_owned())
            .spawn_scoped(scope, move || {
                for report in rx {
                    reporter.write(report);
                }
            });
        let to_writer = match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                eprintln!(
                    "hbmon: cannot start a thread to write the beats ({e}); writing them in place"
                );
                None
            }
        };
        let beats = Beats {
            to_writer,
            reporter,
        };
        beats.send(Report::Started);
        beats
    }

    /// A keepalive beat; skipped while the previous beat is still being written.
    pub fn still_running(&self) {
        match &self.to_writer {
            Some(tx) => match tx.try_send(Report::StillRunning) {
                Ok(()) | Err(TrySendError::Full(_)) => {}
                Err(TrySendError::Disconnected(report)) => self.reporter.write(report),
            },
            None => self.reporter.write(Report::StillRunning),
        }
    }

    /// A beat the command asked for on its notify socket, handed over only if the writer
    /// is idle: else it comes back, to be offered again.
    pub fn try_notified(&self, beat: Notified) -> Result<(), Notified> {
        let Some(tx) = &self.to_writer else {
            self.reporter.write(Report::Notified(beat));
            return Ok(());
        };
        match tx.try_send(Report::Notified(beat)) {
            Err(TrySendError::Full(Report::Notified(beat))) => Err(beat),
            Err(TrySendError::Disconnected(report)) => {
                self.reporter.write(report);
                Ok(())
            }
            // Handed over (a full channel gives back what was sent: the beat above).
            Ok(()) | Err(TrySendError::Full(_)) => Ok(()),
        }
    }

    /// The final beat. It waits for the beat being written, if any; the writer thread then
    /// ends, and the scope that started it waits for this beat to be written.
    pub fn finished(self, ending: FinalBeat) {
        self.send(Report::Finished(ending));
    }

    fn send(&self, report: Report) {
        match &self.to_writer {
            Some(tx) => {
                // The writer is gone only if it panicked: write the beat here instead.
                if let Err(mpsc::SendError(report)) = tx.send(report) {
                    self.reporter.write(report);
                }
            }
            None => self.reporter.write(report),
        }
    }
}

/// Writes a job's beats, all with the same start time and PID.
pub struct Reporter<'a> {
    job: &'a Job,
    store: &'a Store,
    command: String,
    /// The start, as the file shows it (wall clock) and as the duration counts it (monotonic).
    started_at: f64,
    started: Instant,
    pid: Option<u32>,
    /// This invocation's run id, on every beat: two runs of one name at once are two runs.
    run_id: String,
    /// Repeated keepalive failures stay quiet; a final beat's failure is always said.
    failures: FailureStreak,
}

impl<'a> Reporter<'a> {
    pub fn new(job: &'a Job, store: &'a Store) -> Self {
        Reporter {
            job,
            store,
            command: command_line(&job.program, &job.args),
            started_at: unix_now(),
            started: Instant::now(),
            pid: None,
            run_id: new_run_id(),
            failures: FailureStreak::default(),
        }
    }

    /// Now, as the final beat says it: the wall-clock stamp, and the time since the start on
    /// the monotonic clock, which a stepped wall clock does not move.
    pub fn now(&self) -> (f64, Duration) {
        (unix_now(), self.started.elapsed())
    }

    /// The command started as `pid`: every beat from now on carries it.
    pub fn child_started(&mut self, pid: u32) {
        self.pid = Some(pid);
    }

    fn write(&self, report: Report) {
        match report {
            Report::Started => {
                let mut data = json!({ "command": self.command });
                if self.job.notify {
                    // Until it says READY=1, as a notify service is `activating` in systemd.
                    data["ready"] = Value::Bool(false);
                }
                self.send(Beat::running(self.started_at, DataChange::Replace(data)));
            }
            Report::StillRunning => self.send(Beat::running(self.started_at, DataChange::Keep)),
            Report::Notified(notified) => {
                let run = Beat::running(self.started_at, DataChange::Keep);
                self.send(notified.beat(run, Beat::alive(None)));
            }
            Report::Finished(FinalBeat {
                status,
                exit_code,
                reason,
                output_tail,
                notified,
                at: (finished_at, took),
            }) => {
                let mut data = notified;
                data.insert("output_tail".to_owned(), Value::String(output_tail));
                data.insert("reason".to_owned(), Value::String(reason.clone()));
                self.send(Beat::ended(
                    status,
                    Some(self.started_at),
                    finished_at,
                    Some(took),
                    Some(exit_code),
                    &reason,
                    DataChange::Merge(data),
                ));
            }
        }
    }

    /// Writes `beat` with this run's PID, interval, kind and host.
    fn send(&self, beat: Beat) {
        let beat = Beat {
            pid: self.pid,
            interval: self.job.interval.map(|d| d.as_secs_f64()),
            schedule: self.job.schedule.clone(),
            kind: Some(self.job.kind),
            host: host(),
            ..beat
        }
        .with_run_id(self.run_id.as_str());
        match self.store.beat(&self.job.name, &beat) {
            Ok(_) => self.failures.succeeded(),
            Err(e) => {
                if self.failures.failed() || beat.status != Reported::Running {
                    eprintln!(
                        "hbmon: cannot record the {} beat of {:?}: {e}",
                        beat.status.as_str(),
                        self.job.name
                    );
                }
            }
        }
    }

    /// Reports a command that could not start, shell-style: 127 not found, 126 otherwise.
    pub fn not_started(&self, error: &io::Error) -> Outcome {
        let (code, why) = match error.kind() {
            ErrorKind::NotFound => (127, "command not found".to_owned()),
            ErrorKind::PermissionDenied => (126, "permission denied (not executable?)".to_owned()),
            _ => (126, error.to_string()),
        };
        self.not_run(
            code,
            format!("cannot run `{}`: {why}", self.job.program.to_string_lossy()),
        )
    }

    /// Reports a run that never started the command, for `reason`, ending with `code`.
    pub fn not_run(&self, code: u8, reason: String) -> Outcome {
        self.send(Beat::finished(
            Some(self.started_at),
            self.started_at,
            None,
            Some(code),
            &reason,
            DataChange::Replace(json!({ "command": self.command, "reason": reason })),
        ));
        Outcome {
            pid: None,
            exit_code: code,
            reason,
            killed_by: None,
        }
    }
}

/// A run id no one can guess, shaped as a random (version 4) UUID, as healthchecks.io's
/// `rid` is: from the randomness the store's temp file names use, without a dependency.
fn new_run_id() -> String {
    let hex = format!("{}{}", random_tag(), random_tag());
    // The variant's two top bits are 10: 8, 9, a or b.
    let digit = u32::from_str_radix(&hex[16..17], 16).unwrap_or(0);
    let variant = char::from_digit(digit & 3 | 8, 16).unwrap_or('8');
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..]
    )
}

/// The command as a shell would take it back: arguments with spaces or quotes are quoted.
fn command_line(program: &OsString, args: &[OsString]) -> String {
    std::iter::once(program)
        .chain(args)
        .map(|arg| {
            let arg = arg.to_string_lossy();
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                arg.into_owned()
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_beats_carry_this_machines_host() {
        assert!(
            host().is_some(),
            "this machine has no host name to test with"
        );
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(&crate::paths::resolve_file(Some(
            &dir.path().join("hb.json"),
        )));
        let job = Job {
            name: "backup".to_owned(),
            program: "/nonexistent/backup".into(),
            args: Vec::new(),
            interval: None,
            schedule: None,
            timeout: None,
            keepalive: false,
            notify: false,
            kind: crate::store::Kind::Job,
        };
        let reporter = Reporter::new(&job, &store);
        reporter.write(Report::Started);
        let read = || {
            crate::store::read(store.path())
                .unwrap()
                .get("backup")
                .cloned()
        };
        assert_eq!(read().and_then(|e| e.host), host(), "the start");
        reporter.not_started(&io::Error::from(ErrorKind::NotFound));
        let ended = read().unwrap_or_default();
        assert_eq!(ended.reported(), Reported::Failed);
        assert_eq!(ended.host, host(), "the end");
    }

    #[test]
    fn run_ids_are_random_uuids() {
        let ids: Vec<String> = (0..100).map(|_| new_run_id()).collect();
        for id in &ids {
            let groups: Vec<&str> = id.split('-').collect();
            let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
            assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{id}"
            );
            assert!(groups[2].starts_with('4'), "version 4: {id}");
            assert!("89ab".contains(&groups[3][..1]), "variant 10: {id}");
        }
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn command_lines_quote_what_a_shell_would_split() {
        let line = command_line(
            &"backup.sh".into(),
            &[
                "--to=/mnt/b".into(),
                "two words".into(),
                "it's".into(),
                String::new().into(),
            ],
        );
        assert_eq!(line, r"backup.sh --to=/mnt/b 'two words' 'it'\''s' ''");
    }
}
