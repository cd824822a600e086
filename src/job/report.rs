//! A job's beats: what each says, and the thread that writes them once the command runs,
//! so that a beat waiting for the file's lock holds up neither the command, nor its
//! timeout, nor hbmon's exit for longer than the store's lock timeout.

use std::ffi::OsString;
use std::io::{self, ErrorKind};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::Scope;

use serde_json::{Map, Value, json};

use super::{Job, Outcome};
use crate::heartbeat::{FailureStreak, host};
use crate::store::{Beat, DataChange, JobRun, Reported, Store, unix_now};

/// A beat for the writer thread to write.
enum Report {
    Started,
    StillRunning,
    Finished {
        exit_code: u8,
        reason: String,
        output_tail: String,
        finished_at: f64,
    },
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

    /// The final beat. It waits for the beat being written, if any; the writer thread then
    /// ends, and the scope that started it waits for this beat to be written.
    pub fn finished(self, exit_code: u8, reason: String, output_tail: String, finished_at: f64) {
        self.send(Report::Finished {
            exit_code,
            reason,
            output_tail,
            finished_at,
        });
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
    host: Option<String>,
    command: String,
    started_at: f64,
    pid: Option<u32>,
    /// Repeated keepalive failures stay quiet; a final beat's failure is always said.
    failures: FailureStreak,
}

impl<'a> Reporter<'a> {
    pub fn new(job: &'a Job, store: &'a Store) -> Self {
        Reporter {
            job,
            store,
            host: host(),
            command: command_line(&job.program, &job.args),
            started_at: unix_now(),
            pid: None,
            failures: FailureStreak::default(),
        }
    }

    /// The command started as `pid`: every beat from now on carries it.
    pub fn child_started(&mut self, pid: u32) {
        self.pid = Some(pid);
    }

    fn write(&self, report: Report) {
        match report {
            Report::Started => self.send(
                Reported::Running,
                DataChange::Replace(json!({ "command": self.command })),
                None,
                None,
            ),
            Report::StillRunning => self.send(Reported::Running, DataChange::Keep, None, None),
            Report::Finished {
                exit_code,
                reason,
                output_tail,
                finished_at,
            } => self.finish(exit_code, &reason, output_tail, finished_at),
        }
    }

    /// Writes one beat; `end` is the exit code and finish time of a final beat.
    fn send(
        &self,
        status: Reported,
        data: DataChange,
        error: Option<String>,
        end: Option<(i32, f64)>,
    ) {
        let beat = Beat {
            status,
            pid: self.pid,
            interval: self.job.interval.map(|d| d.as_secs_f64()),
            data,
            error,
            kind: Some(self.job.kind),
            job: Some(JobRun {
                started_at: self.started_at,
                exit_code: end.map(|(code, _)| code),
                finished_at: end.map(|(_, at)| at),
            }),
            host: self.host.clone(),
        };
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

    /// The final beat: `succeeded` for exit code 0, else `failed` with `reason` as its error.
    fn finish(&self, exit_code: u8, reason: &str, output_tail: String, finished_at: f64) {
        let mut data = Map::new();
        data.insert("output_tail".to_owned(), Value::String(output_tail));
        data.insert("reason".to_owned(), Value::String(reason.to_owned()));
        let (status, error) = if exit_code == 0 {
            (Reported::Succeeded, None)
        } else {
            (Reported::Failed, Some(reason.to_owned()))
        };
        self.send(
            status,
            DataChange::Merge(data),
            error,
            Some((i32::from(exit_code), finished_at)),
        );
    }

    /// Reports a command that could not start, shell-style: 127 not found, 126 otherwise.
    pub fn not_started(&self, error: &io::Error) -> Outcome {
        let (code, why) = match error.kind() {
            ErrorKind::NotFound => (127, "command not found".to_owned()),
            ErrorKind::PermissionDenied => (126, "permission denied (not executable?)".to_owned()),
            _ => (126, error.to_string()),
        };
        let reason = format!("cannot run `{}`: {why}", self.job.program.to_string_lossy());
        self.send(
            Reported::Failed,
            DataChange::Replace(json!({ "command": self.command, "reason": reason })),
            Some(reason.clone()),
            Some((i32::from(code), self.started_at)),
        );
        Outcome {
            pid: None,
            exit_code: code,
            reason,
        }
    }
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
