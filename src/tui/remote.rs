//! The UI's remote view (`hbmon --remote URL`, `[[remote]]`): a thread per remote asks
//! its serve every [`EVERY`], off the UI's and the engine's threads, and the loop merges
//! the newest answer of each into the engine's report before the app sees it. A remote
//! without a current answer is a line saying since when, never an empty silence.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::remote::{self, Fetched, Judged, Remote, RemoteError};
use crate::report::{Report, Row};
use crate::text;

/// How often a remote is asked: its serve judges once a second, and each ask costs it a
/// whole status document.
pub const EVERY: Duration = Duration::from_secs(2);

/// A remote whose rows are not on screen: not answered yet, or failing since `since`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    pub name: String,
    /// When it was first asked (no answer yet), or first failed in this run of failures.
    pub since: f64,
    /// `None`: no answer yet.
    pub why: Option<RemoteError>,
}

impl Stale {
    /// `box2: unreachable since 14:02:11 (connection refused)`, escaped.
    pub fn line(&self, now: f64) -> String {
        match &self.why {
            Some(why) => remote::unreachable_line(&self.name, self.since, now, why),
            None => format!(
                "{}: asked at {}, no answer yet",
                text::escape(&self.name),
                crate::report::columns::local_stamp(self.since, now)
            ),
        }
    }
}

/// Each remote's newest answer the loop has not taken yet. A remote's thread puts its
/// answer in place of its own untaken one rather than queueing another, and wakes the loop
/// only when the inbox was empty: a loop that stalls (a terminal stopped by Ctrl-S, an ssh
/// that hangs) holds at most one answer a remote (each up to [`remote::MAX_REPLY`]), never
/// one every [`EVERY`], and a burst of answers costs the loop one merge.
#[derive(Debug, Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<Fetched>>>);

impl Inbox {
    /// Puts `fetched` in, in place of its remote's untaken answer; true when the inbox was
    /// empty, so the loop needs waking.
    pub fn put(&self, fetched: Fetched) -> bool {
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let was_empty = held.is_empty();
        held.retain(|f| f.name != fetched.name);
        held.push(fetched);
        was_empty
    }

    /// The answers in, oldest first, taken out.
    pub fn take(&self) -> Vec<Fetched> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Starts one thread per remote. Each asks its remote (bounded by [`remote::TIMEOUT`] and
/// [`remote::MAX_REPLY`]), puts the answer in `inbox`, calls `wake` when the loop needs
/// waking, and asks again [`EVERY`] after it last asked — never two asks of one remote at
/// once, so a hung one costs one thread waiting out its timeout, and nothing else. A thread
/// ends when `wake` says false (the UI is gone).
pub fn spawn<F>(remotes: &[Remote], inbox: &Inbox, wake: F) -> std::io::Result<()>
where
    F: Fn() -> bool + Clone + Send + 'static,
{
    let agent = remote::agent();
    for remote in remotes {
        let (remote, agent, inbox, wake) =
            (remote.clone(), agent.clone(), inbox.clone(), wake.clone());
        std::thread::Builder::new()
            .name("hbmon-remote".into())
            .spawn(move || {
                loop {
                    let asked = Instant::now();
                    if inbox.put(remote::fetch_one(&agent, &remote)) && !wake() {
                        break;
                    }
                    std::thread::sleep(EVERY.saturating_sub(asked.elapsed()));
                }
            })?;
    }
    Ok(())
}

/// What the UI knows of each remote: its newest answer, or since when it has none.
#[derive(Debug)]
pub struct Remotes {
    known: Vec<Known>,
    /// Where the remotes' threads leave their answers.
    inbox: Inbox,
}

#[derive(Debug)]
struct Known {
    name: String,
    /// Its rows, while its newest answer is one.
    judged: Option<Arc<Judged>>,
    /// When it was first asked, or first failed in this run of failures.
    since: f64,
    why: Option<RemoteError>,
}

impl Remotes {
    /// The remotes (named distinctly, [`remote::distinct`]), none answered at `now`.
    pub fn new(remotes: &[Remote], now: f64) -> Remotes {
        let known = remotes
            .iter()
            .map(|r| Known {
                name: r.name.clone(),
                judged: None,
                since: now,
                why: None,
            })
            .collect();
        Remotes {
            known,
            inbox: Inbox::default(),
        }
    }

    /// Where the remotes' threads are to leave their answers.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Takes in every answer waiting in the inbox.
    pub fn take_news(&mut self) {
        for fetched in self.inbox.take() {
            self.take(fetched);
        }
    }

    /// Takes in one answer; a failure keeps the time of the first in a run of them.
    pub fn take(&mut self, fetched: Fetched) {
        let Some(known) = self.known.iter_mut().find(|k| k.name == fetched.name) else {
            return;
        };
        match fetched.result {
            Ok(mut judged) => {
                // The raw entries are for `status --json`; the screen draws the rows.
                judged.processes = Vec::new();
                known.judged = Some(Arc::new(judged));
                known.why = None;
            }
            Err(why) => {
                if known.judged.take().is_some() || known.why.is_none() {
                    known.since = fetched.at;
                }
                known.why = Some(why);
            }
        }
    }

    /// The remotes whose rows are not shown, in the order given.
    pub fn stale(&self) -> Vec<Stale> {
        self.known
            .iter()
            .filter(|k| k.judged.is_none())
            .map(|k| Stale {
                name: k.name.clone(),
                since: k.since,
                why: k.why.clone(),
            })
            .collect()
    }

    /// This machine's report with its rows under its host name and every answered
    /// remote's rows after them, as the remote judged them (aged on its own `now`).
    pub fn merge(&self, local: &Report) -> Report {
        let host = remote::local_host(local);
        let mut merged = local.clone();
        for row in &mut merged.rows {
            row.host = Some(host.clone());
        }
        for judged in self.known.iter().filter_map(|k| k.judged.as_deref()) {
            merged.rows.extend(judged.rows.iter().cloned());
        }
        merged
    }
}

/// The host of a row another machine judged; `None` for this machine's.
pub fn remote_host(row: &Row) -> Option<&str> {
    row.judged_at.and(row.host.as_deref())
}

#[cfg(test)]
mod tests;
