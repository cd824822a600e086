//! `hbmon run --notify`, and each process `hbmon serve` supervises: the command is given a `NOTIFY_SOCKET` (and `WATCHDOG_USEC`, its
//! interval) and what it says there becomes the run's beats: `READY=1`, `WATCHDOG=1` and
//! `STATUS=…` a `running` beat (the status line in the data's `status`), `STOPPING=1` one
//! marked `stopping`, `ERRNO=n` and `WATCHDOG=trigger` an `error` beat. Nothing else beats
//! for it: a command that stops pinging turns `late`, then `hung`, as systemd's watchdog
//! would judge it. Datagrams refused or malformed are counted in the data's
//! `notify_ignored`, shown with the next beat.

use std::collections::VecDeque;
use std::io;
use std::process::Command;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::report::Beats;
use crate::notify::{Listener, Message, NotifySocket};
use crate::store::{Beat, DataChange, Reported};

/// The most beats that wait for the writer; more are folded into the last one, so a
/// command that floods the socket costs a bounded queue.
const QUEUE: usize = 64;

/// How soon a beat the writer was too busy to take is offered again.
const RETRY: Duration = Duration::from_millis(20);

/// A beat the command's message asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Notified {
    /// `Some`: an `error` beat with this message; `None`: a `running` one.
    pub error: Option<String>,
    /// Keys set in the entry's data.
    pub data: Map<String, Value>,
}

impl Notified {
    /// The beat it is: `fine` with its data merged in, or for an error, `failing` turned
    /// into an `error` beat with its message — one mapping for a job's run (`hbmon run
    /// --notify`: a `running` beat) and a supervised process (an `alive` one by its PID).
    pub fn beat(self, fine: Beat, failing: Beat) -> Beat {
        let data = DataChange::Merge(self.data);
        match self.error {
            None => Beat { data, ..fine },
            Some(message) => Beat {
                status: Reported::Error,
                error: Some(message),
                data,
                ..failing
            },
        }
    }
}

/// Gives `command` the socket and the watchdog interval, as systemd gives a service with
/// `WatchdogSec=`: a program pings at half of `WATCHDOG_USEC`.
pub fn give(command: &mut Command, socket: &NotifySocket, interval: Duration) {
    command
        .env("NOTIFY_SOCKET", socket.path())
        .env("WATCHDOG_USEC", interval.as_micros().to_string())
        // Not this process's: an hbmon run under systemd must not pass its own on.
        .env_remove("WATCHDOG_PID");
}

/// Starts listening on `socket`, each message sent on `events` as `wrap` makes it. Only
/// this user's datagrams are read (the command runs as this user; root aside, no one else
/// can reach the socket's directory anyway).
pub fn listen<E: Send + 'static>(
    socket: NotifySocket,
    events: Sender<E>,
    wrap: fn(Message) -> E,
) -> io::Result<Listener> {
    // SAFETY: getuid and geteuid cannot fail.
    let mut accept = vec![unsafe { libc::getuid() }, unsafe { libc::geteuid() }];
    accept.dedup();
    Listener::start(socket, accept, move |_pid, message| {
        events.send(wrap(message)).is_ok()
    })
}

/// The messages heard so far, as beats waiting for the writer.
#[derive(Debug, Default)]
pub struct Notifications {
    queue: VecDeque<Notified>,
    /// Datagrams and lines refused or malformed, since the start.
    ignored: u64,
    /// Since `RELOADING=1`, until `READY=1`.
    reloading: bool,
    retry_at: Option<Instant>,
}

impl Notifications {
    /// Takes in one message: a beat for what it says, the count of what it did not.
    pub fn heard(&mut self, message: &Message) {
        self.ignored += u64::from(message.ignored);
        let Some(beat) = self.beat_of(message) else {
            return;
        };
        if self.queue.len() >= QUEUE
            && let Some(last) = self.queue.back_mut()
        {
            last.data.extend(beat.data);
            last.error = beat.error.or(last.error.take());
        } else {
            self.queue.push_back(beat);
        }
        self.retry_at.get_or_insert_with(Instant::now);
    }

    fn beat_of(&mut self, message: &Message) -> Option<Notified> {
        if !message.says_something() {
            return None;
        }
        let mut data = Map::new();
        let mut set = |key: &str, value: Value| data.insert(key.to_owned(), value);
        if message.ready {
            set("ready", Value::Bool(true));
        }
        if message.reloading || message.ready && self.reloading {
            self.reloading = message.reloading;
            set("reloading", Value::Bool(message.reloading));
        }
        if message.stopping {
            set("stopping", Value::Bool(true));
        }
        if let Some(status) = &message.status {
            set("status", Value::String(status.clone()));
        }
        if self.ignored > 0 {
            set("notify_ignored", Value::from(self.ignored));
        }
        let error = if let Some(errno) = message.errno {
            Some(format!(
                "ERRNO={errno}: {}",
                io::Error::from_raw_os_error(errno)
            ))
        } else {
            message
                .trigger
                .then(|| "WATCHDOG=trigger: it asked for its watchdog to fire".to_owned())
        };
        Some(Notified { error, data })
    }

    /// The oldest waiting beat, taken (for a writer that writes each at once).
    pub fn take_next(&mut self) -> Option<Notified> {
        self.queue.pop_front()
    }

    /// When the next waiting beat is to be offered to the writer.
    pub fn retry_at(&self) -> Option<Instant> {
        self.retry_at.filter(|_| !self.queue.is_empty())
    }

    /// Offers the waiting beats to the writer, oldest first, without waiting: one it is
    /// too busy to take stays first in line for [`RETRY`].
    pub fn hand_over(&mut self, beats: &Beats) {
        if self.retry_at.is_none_or(|at| Instant::now() < at) {
            return;
        }
        while let Some(beat) = self.queue.pop_front() {
            if let Err(beat) = beats.try_notified(beat) {
                self.queue.push_front(beat);
                self.retry_at = Some(Instant::now() + RETRY);
                return;
            }
        }
        self.retry_at = None;
    }

    /// The data of the beats still waiting when the command ended, and the count of what
    /// was ignored: the final beat carries them (its error is the run's own).
    pub fn leftover(self) -> Map<String, Value> {
        let mut data = Map::new();
        for beat in self.queue {
            data.extend(beat.data);
        }
        if self.ignored > 0 {
            data.insert("notify_ignored".to_owned(), Value::from(self.ignored));
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::parse;

    fn heard(datagrams: &[&[u8]]) -> Vec<Notified> {
        let mut notes = Notifications::default();
        for datagram in datagrams {
            notes.heard(&parse(datagram));
        }
        notes.queue.into()
    }

    fn data(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn each_message_is_the_beat_it_maps_to() {
        let running = |pairs: &[(&str, Value)]| Notified {
            error: None,
            data: data(pairs),
        };
        let cases: &[(&[&[u8]], Vec<Notified>)] = &[
            (
                &[b"READY=1\nSTATUS=up on :8080"],
                vec![running(&[
                    ("ready", true.into()),
                    ("status", "up on :8080".into()),
                ])],
            ),
            (&[b"WATCHDOG=1"], vec![running(&[])]),
            (
                &[b"STOPPING=1"],
                vec![running(&[("stopping", true.into())])],
            ),
            (
                &[b"RELOADING=1", b"READY=1"],
                vec![
                    running(&[("reloading", true.into())]),
                    running(&[("ready", true.into()), ("reloading", false.into())]),
                ],
            ),
            (
                &[b"ERRNO=2"],
                vec![Notified {
                    error: Some("ERRNO=2: No such file or directory (os error 2)".into()),
                    data: Map::new(),
                }],
            ),
            (
                &[b"WATCHDOG=trigger"],
                vec![Notified {
                    error: Some("WATCHDOG=trigger: it asked for its watchdog to fire".into()),
                    data: Map::new(),
                }],
            ),
            // Garbage and the barrier are no beat; the count rides on the next one.
            (
                &[b"junk", b"BARRIER=1", b"READY=2\nWATCHDOG=1"],
                vec![running(&[("notify_ignored", 2.into())])],
            ),
        ];
        for (datagrams, want) in cases {
            assert_eq!(&heard(datagrams), want, "{datagrams:?}");
        }
    }

    #[test]
    fn a_flood_is_folded_into_a_bounded_queue() {
        let mut notes = Notifications::default();
        for n in 0..1000 {
            notes.heard(&parse(format!("STATUS={n}").as_bytes()));
        }
        notes.heard(&parse(b"ERRNO=5"));
        assert_eq!(notes.queue.len(), QUEUE);
        let last = notes.queue.back().unwrap();
        assert_eq!(last.data["status"], "999");
        assert!(last.error.as_deref().unwrap().starts_with("ERRNO=5"));
        assert_eq!(notes.leftover()["status"], "999");
    }
}
