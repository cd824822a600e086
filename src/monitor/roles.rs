//! The two roles one monitor at a time holds, each through a sidecar lock: *recording the
//! history* (the database's lock, taken by `hbmon serve` or the live UI) and *sending
//! alerts* (`<file>.alerts.lock`, only ever taken by `hbmon serve`: the UI never alerts). A
//! monitor that finds a role taken stands by and takes it over, within a second, once its
//! holder stops — so history is recorded once, and alerts are never sent twice.

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::alerter::Alerter;
use super::feed::News;
use crate::changes::{Changes, Restart, Tracker};
use crate::config::{Config, Rule};
use crate::history::{self, History, HistoryError, Note, Recorder, try_lock_sidecar};
use crate::paths;
use crate::report::Report;

/// The roles this monitor holds or stands by for.
#[derive(Debug)]
pub(super) struct Roles {
    file: PathBuf,
    database: PathBuf,
    keep: Duration,
    /// `Some` while this monitor holds the history lock: it records.
    recorder: Option<Recorder>,
    /// `None` for a monitor that never alerts (the UI).
    alerts: Option<Alerts>,
    /// The last history failure said, so a lasting one is said once.
    record_error: Option<String>,
}

#[derive(Debug)]
struct Alerts {
    /// `Some` while this monitor holds the alerts lock: it sends alerts.
    lock: Option<File>,
    alerter: Alerter,
}

impl Roles {
    /// The roles of a monitor of `file`: history (keeping `keep`), and alerts by `rules`
    /// when it is to send them. Claims nothing yet: see [`Roles::start`].
    pub(super) fn new(
        file: PathBuf,
        keep: Duration,
        rules: Option<&[Rule]>,
    ) -> std::io::Result<Roles> {
        let alerts = match rules {
            Some(rules) => Some(Alerts {
                lock: None,
                alerter: Alerter::start(rules)?,
            }),
            None => None,
        };
        Ok(Roles {
            database: paths::history_path(&file),
            file,
            keep,
            recorder: None,
            alerts,
            record_error: None,
        })
    }

    /// Claims what is free, waiting briefly for the history to open: what it knows seeds
    /// `tracker` (and the alert rules), so a restart neither repeats nor forgets transitions
    /// or alerts. A monitor standing by for history is seeded from the database all the
    /// same. The alerts lock failing (not merely taken) is an error: alerts are serve's job.
    pub(super) fn start(
        &mut self,
        tracker: &mut Tracker,
        news: &mut Vec<News>,
        now: f64,
    ) -> Result<(), HistoryError> {
        match self.claim_history(history::OPEN_WAIT, tracker, news) {
            Ok(true) => {}
            Ok(false) if !self.has_directory() => {}
            Ok(false) => {
                news.push(News::StandingBy(format!(
                    "history: another monitor records {} (it holds {}); standing by: \
                     transitions are logged, history is left to it until it stops",
                    self.database.display(),
                    paths::lock_path(&self.database).display()
                )));
                self.seed_from_database(tracker, news);
            }
            // Its lock cannot be had (a symlink planted as the lock file, say): monitor
            // without history, trying again every second, saying it once.
            Err(e) => self.history_error(&e.to_string(), news),
        }
        if self.alerts.is_some() && !self.claim_alerts(now, news)? {
            news.push(News::StandingBy(format!(
                "alerts: another hbmon serve sends them (it holds {}); standing by until it stops",
                paths::alerts_lock_path(&self.file).display()
            )));
        }
        Ok(())
    }

    /// A monitor standing by takes over each role once its lock is free (once a second).
    pub(super) fn claim_if_free(&mut self, tracker: &mut Tracker, news: &mut Vec<News>, now: f64) {
        if self.alerts.as_ref().is_some_and(|a| a.lock.is_none())
            && let Err(e) = self.claim_alerts(now, news)
        {
            self.history_error(&e.to_string(), news);
        }
        if self.recorder.is_none()
            && let Err(e) = self.claim_history(Duration::ZERO, tracker, news)
        {
            self.history_error(&e.to_string(), news);
        }
    }

    /// Whether the heartbeat file's directory exists. A monitor of a file in a directory
    /// that is not there (a mistyped `--file`) has nothing to record yet, and no history
    /// lock to fail on: it claims once the directory appears.
    fn has_directory(&self) -> bool {
        crate::fsafe::dir_of(&self.database).is_dir()
    }

    /// Tries to become the recorder, waiting up to `wait` for the database to open; true if
    /// it now is.
    fn claim_history(
        &mut self,
        wait: Duration,
        tracker: &mut Tracker,
        news: &mut Vec<News>,
    ) -> Result<bool, HistoryError> {
        if !self.has_directory() {
            return Ok(false);
        }
        let Some(recorder) = Recorder::claim(&self.database, self.keep, wait)? else {
            return Ok(false);
        };
        self.recorder = Some(recorder);
        self.notes(tracker, news);
        Ok(true)
    }

    /// What the database knows, for a monitor that does not record it; read without
    /// waiting (a database locked or refused is said, and the view starts without it).
    fn seed_from_database(&mut self, tracker: &mut Tracker, news: &mut Vec<News>) {
        let known = History::open_existing(&self.database, Duration::ZERO)
            .and_then(|h| Ok((h.last_seen()?, h.last_flips()?)));
        match known {
            Ok((seen, flips)) => {
                for (name, seen) in seen {
                    tracker.remember(&name, seen);
                }
                for flip in &flips {
                    tracker.remember_probe(flip);
                }
            }
            Err(e) if e.is_absent() => {}
            Err(e) => self.history_error(&e.to_string(), news),
        }
    }

    /// Tries to become the one monitor that sends alerts; true if it now is. The states the
    /// history knows seed the alert rules, so a restart neither repeats nor forgets alerts;
    /// read without waiting (history must never hold alerts back).
    fn claim_alerts(&mut self, now: f64, news: &mut Vec<News>) -> Result<bool, HistoryError> {
        let Some(lock) = try_lock_sidecar(&paths::alerts_lock_path(&self.file))? else {
            return Ok(false);
        };
        let seen = History::open_existing(&self.database, Duration::ZERO)
            .and_then(|history| history.last_seen());
        let Some(alerts) = &mut self.alerts else {
            return Ok(false);
        };
        match seen {
            Ok(seen) => {
                for (name, seen) in seen {
                    if let Some(state) = seen.state {
                        alerts.alerter.remember(&name, state, now);
                    }
                }
            }
            Err(e) if e.is_absent() => {}
            Err(e) => self.history_error(&e.to_string(), news),
        }
        news.push(News::Took("alerts: sent from this monitor".to_owned()));
        if let Some(alerts) = &mut self.alerts {
            alerts.lock = Some(lock);
        }
        Ok(true)
    }

    /// Whether this monitor records the history (holds its role).
    pub(super) fn recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// Hands `changes` to the recorder (never waiting for the database) and says what
    /// became of the history since the last check.
    pub(super) fn record(
        &mut self,
        changes: &Changes,
        tracker: &mut Tracker,
        news: &mut Vec<News>,
    ) {
        if let Some(recorder) = &mut self.recorder {
            recorder.record(changes);
        }
        self.notes(tracker, news);
    }

    fn notes(&mut self, tracker: &mut Tracker, news: &mut Vec<News>) {
        let Some(recorder) = &mut self.recorder else {
            return;
        };
        for note in recorder.notes() {
            match &note {
                Note::Failed(e) => {
                    self.history_error(&e.to_string(), news);
                    continue;
                }
                Note::Recording { seen, flips, .. } => {
                    self.record_error = None;
                    for (name, seen) in seen {
                        tracker.remember(name, *seen);
                    }
                    for flip in flips {
                        tracker.remember_probe(flip);
                    }
                }
                _ => {}
            }
            news.push(News::History(note));
        }
    }

    /// Says a history failure once, not once a second while it lasts.
    fn history_error(&mut self, message: &str, news: &mut Vec<News>) {
        if self.record_error.as_deref() != Some(message) {
            news.push(News::HistoryError(message.to_owned()));
            self.record_error = Some(message.to_owned());
        }
    }

    /// Runs the alert rules on `report` when this monitor sends alerts (`counted`: the
    /// once-a-second check, the only one that counts toward `after = N`).
    pub(super) fn alert(
        &mut self,
        report: &Report,
        restarts: &[Restart],
        config: &Config,
        now: f64,
        counted: bool,
        news: &mut Vec<News>,
    ) {
        if let Some(Alerts {
            lock: Some(_),
            alerter,
        }) = &mut self.alerts
        {
            let muted = |name: &str| !config.alerts_for(name);
            news.extend(
                alerter
                    .check(report, &muted, now, counted)
                    .into_iter()
                    .chain(alerter.restarted(report, restarts, &muted, now))
                    .map(News::Alert),
            );
        }
    }

    /// Takes `rules` as the alert rules from now on (see [`Alerter::reload`]).
    pub(super) fn reload_alerts(
        &mut self,
        rules: &[Rule],
        tracker: &Tracker,
        now: f64,
    ) -> std::io::Result<()> {
        let Some(alerts) = &mut self.alerts else {
            return Ok(());
        };
        let known: Vec<_> = tracker
            .states()
            .map(|(name, state)| (name.to_owned(), state))
            .collect();
        alerts.alerter.reload(rules, &known, now)
    }

    /// Stops: the history's last writes (≤ 2.5 s) and the alerts' (until `stop_by`) side by
    /// side, the stop taking the longer of the two, not their sum. Returns what to log.
    pub(super) fn finish(self, stop_by: Instant) -> Vec<News> {
        let (recorder, alerts) = (self.recorder, self.alerts);
        std::thread::scope(|scope| {
            let alerted = scope.spawn(move || {
                alerts
                    .map(|a| a.alerter.finish(stop_by))
                    .unwrap_or_default()
            });
            let mut news: Vec<News> = recorder
                .map(Recorder::finish)
                .unwrap_or_default()
                .into_iter()
                .map(News::History)
                .collect();
            let alerted = alerted.join().unwrap_or_default();
            // The digests' lines first: they were sent before the history's last words.
            let mut out: Vec<News> = alerted.into_iter().map(News::Alert).collect();
            out.append(&mut news);
            out
        })
    }
}
