//! The third role one monitor at a time holds: *running the active probes*
//! (`<file>.probes.lock`). The holder runs them ([`Checks`]) and publishes their results in
//! `<file>.probes.json`; every other monitor reads that file instead, so each probe runs
//! once whatever the number of monitors. Taken only while the config has probes; a
//! monitor standing by takes it over within a second of its holder stopping. The holder
//! starts its probes' last hour of response times from the minutes the history rolled up,
//! and hands the minutes it closes to the history when it records it too.

use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use super::feed::News;
use crate::checks::rollup::ProbeMinute;
use crate::checks::{self, Checks, Results, Spec};
use crate::clock::unix_now;
use crate::config::Config;
use crate::history::{History, HistoryError, try_lock_sidecar};
use crate::paths;

#[derive(Debug)]
pub(super) struct Prober {
    file: PathBuf,
    /// `Some` while this monitor holds the role, with the probes it runs.
    held: Option<(File, Checks)>,
    /// Said once: another monitor probes.
    said: bool,
    /// What was published last: written again only when it changed.
    published: Results,
}

impl Prober {
    pub(super) fn new(file: PathBuf) -> Prober {
        Prober {
            file,
            held: None,
            said: false,
            published: Results::new(),
        }
    }

    /// Takes the role if `config` has probes and it is free; lets it go if the config has
    /// none any more; otherwise runs `config`'s probes from now on.
    pub(super) fn claim_if_free(&mut self, config: &Config, news: &mut Vec<News>) {
        let specs = checks::specs(config);
        if specs.is_empty() {
            if self.held.take().is_some() {
                let _ = std::fs::remove_file(paths::probes_path(&self.file));
            }
            return;
        }
        if let Some((_, checks)) = &mut self.held {
            checks.configure(specs);
            return;
        }
        if !crate::fsafe::dir_of(&self.file).is_dir() {
            return;
        }
        match try_lock_sidecar(&paths::probes_lock_path(&self.file)) {
            Ok(Some(lock)) => match Checks::start(specs.clone()) {
                Ok(checks) => {
                    match self.last_hour(&specs) {
                        Ok(minutes) => checks.seed(&minutes),
                        Err(e) if e.is_absent() => {}
                        Err(e) => news.push(News::HistoryError(format!(
                            "probes: their last hour of response times starts empty: {e}"
                        ))),
                    }
                    self.held = Some((lock, checks));
                    news.push(News::Took("probes: run from this monitor".to_owned()));
                }
                Err(e) => news.push(News::StandingBy(format!("probes: cannot start: {e}"))),
            },
            Ok(None) if !self.said => {
                self.said = true;
                news.push(News::StandingBy(format!(
                    "probes: another monitor runs them (it holds {}); showing its results",
                    paths::probes_lock_path(&self.file).display()
                )));
            }
            Err(e) if !self.said => {
                self.said = true;
                news.push(News::StandingBy(format!("probes: {e}")));
            }
            Ok(None) | Err(_) => {}
        }
    }

    /// The minutes of response times the history holds of the last hour of `specs`'
    /// processes: one range of its key each, read without waiting for a lock (the loop's
    /// thread never waits on the database; a busy one leaves them to start empty).
    fn last_hour(&self, specs: &[Spec]) -> Result<Vec<ProbeMinute>, HistoryError> {
        let db = History::open_existing(&paths::history_path(&self.file), Duration::ZERO)?;
        let since = unix_now() - checks::stats::WINDOW;
        let mut names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let mut minutes = Vec::new();
        for name in names {
            minutes.extend(db.probe_minutes(name, since, None)?);
        }
        Ok(minutes)
    }

    /// The probes' minutes closed by `now` since the last call (with `open`, those still
    /// open too), when this monitor runs them.
    pub(super) fn minutes(&self, now: f64, open: bool) -> Vec<ProbeMinute> {
        self.held
            .as_ref()
            .map(|(_, checks)| checks.minutes(now, open))
            .unwrap_or_default()
    }

    /// The latest results: this monitor's own (published for the others), or the holder's
    /// (those older than `config` allows marked stale).
    pub(super) fn results(&mut self, config: &Config, now: f64) -> Results {
        match &self.held {
            Some((_, checks)) => {
                let results = checks.results();
                // A failed write leaves the others an older view (tried again at the next
                // check); this monitor's own is right.
                if results != self.published
                    && checks::sidecar::write(&self.file, &results, now).is_ok()
                {
                    self.published.clone_from(&results);
                }
                results
            }
            None => checks::sidecar::read(&self.file, config, now),
        }
    }
}
