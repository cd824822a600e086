//! What the engine publishes, and how faces subscribe: the latest [`Update`] behind an
//! `Arc` (a reader holds a lock only to clone it), and a callback per subscriber called with
//! each new one, in order, on the engine's thread.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::changes::{Changes, ProbeFlip, Transition};
use crate::clock::format_local;
use crate::health::State;
use crate::history::Note;
use crate::report::{Report, columns};
use crate::signals;
use crate::text;

/// One check of every process, and what came with it.
#[derive(Debug)]
pub struct Update {
    /// 1 for the first check, then one more per update: a subscriber can tell it missed one.
    pub seq: u64,
    pub report: Arc<Report>,
    /// What `report` changed since the check before.
    pub changes: Changes,
    /// Whether the file was read again for this check (else its last good read was judged).
    pub read: bool,
    /// The file the config judging `report` came from (`None`: the built-in defaults); it
    /// changes when a reload finds another one, as `hbmon.toml` created after the start.
    pub config: Option<PathBuf>,
    /// What is wrong and lasts, worst first: for a banner (the UI) or a health check.
    pub troubles: Vec<Trouble>,
    /// What happened since the update before, in order: one log line each for `hbmon serve`,
    /// a notice for the UI.
    pub news: Vec<News>,
    /// Whether this monitor supervises the processes (holds that role) at this check: a
    /// serve that takes the role over later opens its control socket then.
    pub supervising: bool,
}

/// A lasting problem, said until it is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trouble {
    /// One line, for a banner.
    pub text: String,
    /// An error (the view may be stale or wrong) rather than a warning.
    pub error: bool,
}

impl Trouble {
    /// The file cannot be read or parsed (`why`, under a header that names it) since
    /// `since`: the view is its last good read.
    pub fn unreadable(why: &str, since: f64) -> Trouble {
        Trouble {
            text: format!(
                "{why} — showing the last good view (since {})",
                format_local(since)
            ),
            error: true,
        }
    }

    /// The config was read again and refused (`why` says what stays in use).
    pub fn config(why: &str) -> Trouble {
        Trouble {
            text: format!("config: {why}"),
            error: true,
        }
    }

    /// There is no file at `path` (a mistyped `--file`, or it was deleted), as `hbmon
    /// status` says it.
    pub fn missing(path: &Path) -> Trouble {
        Trouble {
            text: format!("no heartbeat file at {} yet", path.display()),
            error: false,
        }
    }
}

/// Something that happened, as `hbmon serve` logs it (`Display`: one line, writers' words
/// escaped).
#[derive(Debug)]
pub enum News {
    Transition(Transition),
    /// A probe's verdict flipped (its process's state may not have changed with it).
    Flip(ProbeFlip),
    /// The file cannot be read or parsed (or fails differently than before): the full error.
    FileError(String),
    /// It reads again.
    FileOk(String),
    /// Its directory cannot be watched: changes are found by the once-a-second look instead.
    Unwatched(String),
    /// What became of the history database.
    History(Note),
    /// The history cannot be recorded or read (said once while it lasts).
    HistoryError(String),
    /// Another monitor holds a role's lock: this one stands by for it.
    StandingBy(String),
    /// This monitor took a role.
    Took(String),
    /// An alert went out (or into its target's queue).
    Alert(String),
    /// The supervisor started, restarted, stopped or gave up on a process.
    Supervised(String),
    /// A config was read again and is in use; `why`: what prompted it.
    ConfigReloaded {
        text: String,
        why: Prompt,
    },
    /// A config was read again and refused: the one before stays in use.
    ConfigRefused {
        text: String,
        why: Prompt,
    },
}

/// Why the config was read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// It changed (or one appeared where the config is looked for).
    Changed,
    /// Asked for: SIGHUP to `hbmon serve`.
    Signal(i32),
}

impl News {
    /// Whether it reports trouble (the UI shows those as errors).
    pub fn is_trouble(&self) -> bool {
        match self {
            News::History(note) => note.is_trouble(),
            News::FileError(_)
            | News::Unwatched(_)
            | News::HistoryError(_)
            | News::ConfigRefused { .. } => true,
            News::Transition(_)
            | News::Flip(_)
            | News::FileOk(_)
            | News::StandingBy(_)
            | News::Took(_)
            | News::Alert(_)
            | News::Supervised(_)
            | News::ConfigReloaded { .. } => false,
        }
    }
}

impl fmt::Display for News {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            News::Transition(t) => {
                // `worker: up -> dead (pid 4242 is gone)`: the name and the reason (which
                // may quote a writer's error) escaped, so no writer can forge a log line.
                let from = t.from.map_or("new", State::as_str);
                let (name, reason) = (text::escape(&t.name), text::escape(&t.reason));
                write!(f, "{name}: {from} -> {} ({reason})", t.to)
            }
            News::Flip(flip) => {
                // `web: probe http http://127.0.0.1/health ok -> failing in 35ms (HTTP 500)`.
                let change = if flip.failing {
                    "ok -> failing"
                } else {
                    "failing -> ok"
                };
                write!(
                    f,
                    "{}: probe {} {} {change} in {}",
                    text::escape(&flip.name),
                    flip.kind,
                    text::escape(&flip.target),
                    columns::millis(flip.ms)
                )?;
                match &flip.reason {
                    Some(reason) => write!(f, " ({})", text::escape(reason)),
                    None => Ok(()),
                }
            }
            News::FileError(e) => {
                write!(f, "file: {}; judging the last good read", text::escape(e))
            }
            News::FileOk(path) => write!(f, "file: {} reads again", text::escape(path)),
            News::Unwatched(e) => write!(
                f,
                "file: {}; looking for changes once a second instead",
                text::escape(e)
            ),
            News::History(note) => write!(f, "history: {}", text::escape(&note.to_string())),
            News::HistoryError(e) => write!(f, "history: {}", text::escape(e)),
            News::Supervised(what) => write!(f, "supervise: {}", text::escape(what)),
            News::StandingBy(what) | News::Took(what) | News::Alert(what) => f.write_str(what),
            News::ConfigReloaded { text, why } | News::ConfigRefused { text, why } => {
                if let Prompt::Signal(signal) = why {
                    write!(f, "config ({}): ", signals::name(*signal))?;
                } else {
                    f.write_str("config: ")?;
                }
                f.write_str(&text::escape(text))
            }
        }
    }
}

/// Something to call with each update; false ends the subscription.
type Sink = Box<dyn FnMut(&Arc<Update>) -> bool + Send>;

/// The engine's output, shared: clone it for each face.
#[derive(Clone)]
pub struct Feed {
    shared: Arc<Mutex<Shared>>,
}

struct Shared {
    latest: Arc<Update>,
    sinks: Vec<Sink>,
}

impl fmt::Debug for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feed")
            .field("seq", &self.latest().seq)
            .finish_non_exhaustive()
    }
}

impl Feed {
    /// A feed whose latest update is `report` alone, judged with the config from `config`
    /// (the engine starts one with its first check; tests and replays start one with a
    /// report they built).
    pub fn new(report: Report, config: Option<PathBuf>) -> Feed {
        Feed::starting(Update {
            seq: 0,
            report: Arc::new(report),
            changes: Changes::default(),
            read: false,
            config,
            troubles: Vec::new(),
            news: Vec::new(),
            supervising: false,
        })
    }

    pub(super) fn starting(first: Update) -> Feed {
        Feed {
            shared: Arc::new(Mutex::new(Shared {
                latest: Arc::new(first),
                sinks: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The latest update.
    pub fn latest(&self) -> Arc<Update> {
        Arc::clone(&self.lock().latest)
    }

    /// The latest report (what `/status` answers from).
    pub fn report(&self) -> Arc<Report> {
        Arc::clone(&self.lock().latest.report)
    }

    /// Calls `sink` with every update after the one it returns, in order, on the engine's
    /// thread, until `sink` returns false. `sink` must not block (send to a channel, set a
    /// flag): the engine waits for it; nor call this feed, whose lock it runs under.
    pub fn subscribe(
        &self,
        sink: impl FnMut(&Arc<Update>) -> bool + Send + 'static,
    ) -> Arc<Update> {
        let mut shared = self.lock();
        shared.sinks.push(Box::new(sink));
        Arc::clone(&shared.latest)
    }

    /// Makes `update` the latest and hands it to every subscriber. One lock for both, so a
    /// subscriber starting meanwhile gets each update once: as its first, or through `sink`.
    pub(super) fn publish(&self, update: Update) {
        let update = Arc::new(update);
        let mut shared = self.lock();
        shared.latest = Arc::clone(&update);
        shared.sinks.retain_mut(|sink| sink(&update));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::Transition;
    use crate::health::Severity;
    use std::sync::mpsc;

    fn update(seq: u64) -> Update {
        Update {
            seq,
            report: Arc::new(Report::default()),
            changes: Changes::default(),
            read: false,
            config: None,
            troubles: Vec::new(),
            news: Vec::new(),
            supervising: false,
        }
    }

    #[test]
    fn a_subscriber_gets_every_update_after_the_one_it_started_from_once() {
        let feed = Feed::starting(update(1));
        let (tx, rx) = mpsc::channel();
        let first = feed.subscribe(move |u| tx.send(u.seq).is_ok());
        assert_eq!(first.seq, 1);
        feed.publish(update(2));
        feed.publish(update(3));
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [2, 3]);
        assert_eq!(feed.latest().seq, 3);
        // A subscriber that is gone (its channel closed) is dropped, not called again.
        drop(rx);
        feed.publish(update(4));
        assert!(feed.lock().sinks.is_empty());
    }

    #[test]
    fn a_probe_flip_is_one_line_with_its_time_and_the_servers_words_escaped() {
        let flip = |failing: bool, reason: Option<&str>| ProbeFlip {
            name: "web".into(),
            time: 1.0,
            kind: "http".into(),
            target: "http://127.0.0.1/health".into(),
            failing,
            ms: Some(35.2),
            reason: reason.map(str::to_owned),
        };
        assert_eq!(
            News::Flip(flip(true, Some("HTTP 500\n\u{1b}[2J"))).to_string(),
            "web: probe http http://127.0.0.1/health ok -> failing in 35ms (HTTP 500\\n\\u{1b}[2J)"
        );
        assert_eq!(
            News::Flip(flip(false, None)).to_string(),
            "web: probe http http://127.0.0.1/health failing -> ok in 35ms"
        );
    }

    #[test]
    fn a_transition_is_one_line_with_what_writers_chose_escaped() {
        let t = Transition {
            name: "evil\nname".into(),
            time: 1.0,
            from: None,
            to: State::Error,
            severity: Severity::Warning,
            reason: "reported an error: \u{1b}[2J".into(),
            since: None,
        };
        assert_eq!(
            News::Transition(t).to_string(),
            "evil\\nname: new -> error (reported an error: \\u{1b}[2J)"
        );
    }
}
