//! The engine's state between checks, and one check: the last good read of the file, the
//! transition tracker, the roles (recorder, alerter), the config in use — and [`Engine::step`],
//! which judges every process, records, alerts and publishes the [`Update`]. Synchronous:
//! [`super::Monitor`] runs it on a thread of its own; tests drive it directly.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::feed::{Feed, News, Prompt, Trouble, Update};
use super::judge::{Judge, Probing};
use super::prober::Prober;
use super::reload::{ConfigFile, Outcome};
use super::roles::Roles;
use super::{MonitorError, Options};
use crate::changes::{Changes, Tracker};
use crate::clock::unix_now;
use crate::config::Config;
use crate::report::Report;
use crate::store::{Decoded, Snapshot, StoreError};
use crate::supervise::control::{Reply, Request};
use crate::supervise::{Claim, Supervisor, published};
use crate::watch::Stamp;

/// What the log says of a config reloaded from `path`: what is in it, and what of the
/// change waits for a restart.
fn reloaded(path: Option<&std::path::Path>, old: &Config, new: &Config) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut text = format!(
        "reloaded {}: {}, {}",
        path.map_or_else(
            || "the built-in defaults".into(),
            |p| p.display().to_string()
        ),
        plural(
            new.processes.len(),
            "monitored process",
            "monitored processes"
        ),
        plural(new.alerts.len(), "alert rule", "alert rules"),
    );
    let later: Vec<&str> = [
        (new.history != old.history, "[history] keep"),
        (new.serve != old.serve, "[serve]"),
        // The HTTP API finds processes by these as the config at its start had them.
        (
            ping_ids(new) != ping_ids(old),
            "[[process]] uuid, slug and push_token",
        ),
    ]
    .into_iter()
    .filter_map(|(changed, what)| changed.then_some(what))
    .collect();
    if !later.is_empty() {
        text += "; ";
        text += &later.join(" and ");
        text += " take effect at the next start";
    }
    text
}

/// The ping URL keys of each configured process that has any, in file order.
fn ping_ids(config: &Config) -> Vec<(&str, &crate::config::PingIds)> {
    (config.processes.iter())
        .filter(|p| p.ping != crate::config::PingIds::default())
        .map(|p| (p.name.as_str(), &p.ping))
        .collect()
}

/// What one check does besides judging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Read the file again first.
    pub read: bool,
    pub probing: Probing,
    /// The once-a-second check: the only one that counts toward `after = N`.
    pub counted: bool,
}

/// Why the file could not be read, since when.
#[derive(Debug)]
struct FileError {
    /// The full error, for the log.
    message: String,
    /// For a banner under a header that already names the file.
    short: String,
    since: f64,
}

/// The monitor between checks.
#[derive(Debug)]
pub struct Engine {
    pub(super) file: PathBuf,
    config: Config,
    pub(super) config_file: ConfigFile,
    /// Why the last config read was refused, while the config in use stays.
    config_refused: Option<String>,
    judge: Judge,
    tracker: Tracker,
    roles: Roles,
    prober: Prober,
    /// Whether this monitor may supervise (`hbmon serve`), and the supervisor while it
    /// holds the role.
    supervises: bool,
    supervisor: Option<Supervisor>,
    /// Said once: another monitor supervises.
    said_supervised: bool,
    /// The supervisor's recent restarts handed to the history (name, millisecond).
    handed: std::collections::HashSet<(String, u64)>,
    /// The last good read of the file, judged again while the file does not parse.
    snapshot: Snapshot,
    /// The reader, which decodes only the entries whose text changed since that read.
    decoded: Decoded,
    /// The file as it was at the last read, to notice a change no event reported.
    stamp: Option<Stamp>,
    file_error: Option<FileError>,
    /// No file at all (a mistyped `--file`, or deleted): said on screen.
    missing: bool,
    pub(super) refresh: Duration,
    /// What happened since the last update.
    news: Vec<News>,
    seq: u64,
    feed: Feed,
}

impl Engine {
    /// Claims the roles that are free (see [`Roles::start`]), then reads and judges the file
    /// once: the feed has a first update before anything runs.
    pub fn new(options: Options) -> Result<Engine, MonitorError> {
        let Options {
            file,
            config,
            config_path,
            config_flag,
            refresh,
            alerts,
            supervise,
            probe,
        } = options;
        let keep = Duration::from_secs_f64(config.history.keep);
        let roles = Roles::new(
            file.clone(),
            keep,
            alerts.then_some(config.alerts.as_slice()),
        )
        .map_err(|cause| MonitorError::Start {
            what: "alert thread",
            cause,
        })?;
        let prober = Prober::new(file.clone());
        let mut engine = Engine {
            prober,
            supervises: supervise,
            supervisor: None,
            said_supervised: false,
            handed: std::collections::HashSet::new(),
            config_file: ConfigFile::new(config_flag, file.clone(), config_path, unix_now()),
            file,
            config,
            config_refused: None,
            judge: Judge::new(probe),
            tracker: Tracker::default(),
            roles,
            snapshot: Snapshot::default(),
            decoded: Decoded::default(),
            stamp: None,
            file_error: None,
            missing: false,
            refresh,
            news: Vec::new(),
            seq: 0,
            feed: Feed::new(Report::default(), None),
        };
        engine
            .roles
            .start(&mut engine.tracker, &mut engine.news, unix_now())?;
        engine
            .prober
            .claim_if_free(&engine.config, &mut engine.news);
        engine.claim_supervision();
        engine.step(Step {
            read: true,
            probing: Probing::Fresh,
            counted: true,
        });
        Ok(engine)
    }

    /// Where the updates go.
    pub fn feed(&self) -> Feed {
        self.feed.clone()
    }

    /// The config in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// One check: reads the file if asked or if its stamp changed, judges every process at
    /// this instant, logs and records what changed, runs the alert rules (when this monitor
    /// sends them), and publishes the update.
    ///
    /// A file whose stamp (inode, size, times, device) is the one of the last read is not
    /// read again unless asked: between changes, a check only judges again (deadlines move).
    /// A writer cannot change the file and keep its stamp: every writer renames a new file
    /// in, and the new file's inode cannot be the one being replaced, which still exists
    /// until the rename. (A freed inode can come back two writes later with the same size
    /// within one mtime tick; the watch's event, which always reads, covers that.)
    pub fn step(&mut self, step: Step) {
        let read = step.read || self.changed_unseen();
        if read {
            self.read();
        }
        let now = unix_now();
        let results = self.prober.results(&self.config, now);
        let mut report =
            self.judge
                .report(&self.snapshot, &self.config, now, step.probing, &results);
        let mut restarts = Vec::new();
        let recent = if let Some(supervisor) = &mut self.supervisor {
            let lines;
            (lines, restarts) = supervisor.step(&mut report, &self.config, now);
            self.news.extend(lines.into_iter().map(News::Supervised));
            supervisor.recent()
        } else {
            // Shown as the supervising serve shows it, whichever face this is.
            published::apply(&mut report, &self.file, now)
                .map(|units| units.restarts)
                .unwrap_or_default()
        };
        let mut changes = self.tracker.observe(&report);
        changes.restarts = self.unrecorded(&recent);
        if self.roles.recording() {
            changes.minutes = self.prober.minutes(now, false);
        }
        self.news
            .extend(changes.transitions.iter().cloned().map(News::Transition));
        self.news
            .extend(changes.flips.iter().cloned().map(News::Flip));
        self.roles
            .record(&changes, &mut self.tracker, &mut self.news);
        self.roles.alert(
            &report,
            &restarts,
            &self.config,
            now,
            step.counted,
            &mut self.news,
        );
        self.seq += 1;
        self.feed.publish(Update {
            seq: self.seq,
            report: Arc::new(report),
            changes,
            read,
            config: self.config_file.path().map(Path::to_owned),
            troubles: self.troubles(),
            news: std::mem::take(&mut self.news),
            supervising: self.supervisor.is_some(),
        });
    }

    /// Of the supervisor's `recent` restarts (its own, or those the supervising serve
    /// published), the ones this monitor has not yet handed to its history — all of them
    /// just after it took the role over: one the last holder recorded is the same row
    /// again (its name and millisecond), kept once. None while it does not record: the
    /// history has one writer, whichever face holds its role.
    fn unrecorded(&mut self, recent: &[published::Restarted]) -> Vec<crate::changes::Restart> {
        if !self.roles.recording() {
            self.handed.clear();
            return Vec::new();
        }
        let fresh = recent
            .iter()
            .filter(|r| !self.handed.contains(&r.key()))
            .map(published::Restarted::restart)
            .collect();
        self.handed = recent.iter().map(published::Restarted::key).collect();
        fresh
    }

    /// Reads the file. One that does not parse keeps the last good read, under the error.
    fn read(&mut self) {
        self.stamp = Stamp::of(&self.file);
        match self.decoded.read(&self.file) {
            Ok(snapshot) => {
                if self.file_error.take().is_some() {
                    self.news
                        .push(News::FileOk(self.file.display().to_string()));
                }
                self.missing = snapshot.entries.is_empty()
                    && snapshot.invalid.is_empty()
                    && std::fs::symlink_metadata(&self.file).is_err();
                self.snapshot = snapshot;
            }
            Err(e) => {
                let message = e.to_string();
                let short = match e {
                    StoreError::Corrupt { reason, .. } => {
                        format!("not a valid heartbeat file: {reason}")
                    }
                    other => other.to_string(),
                };
                // The same error again is no news; another one is, from now.
                if self
                    .file_error
                    .as_ref()
                    .is_some_and(|old| old.message == message)
                {
                    return;
                }
                let since = unix_now();
                self.news.push(News::FileError(message.clone()));
                self.missing = false;
                self.file_error = Some(FileError {
                    message,
                    short,
                    since,
                });
            }
        }
    }

    /// Whether the file changed since the last read without an event saying so.
    fn changed_unseen(&self) -> bool {
        Stamp::of(&self.file) != self.stamp
    }

    /// How many entries this engine decoded since it began (tests count re-reads by it).
    #[cfg(test)]
    pub(super) fn decodes(&self) -> u64 {
        self.decoded.decodes()
    }

    /// The once-a-second chores: a role whose holder stopped is taken over.
    pub(super) fn tick(&mut self) {
        self.roles
            .claim_if_free(&mut self.tracker, &mut self.news, unix_now());
        self.prober.claim_if_free(&self.config, &mut self.news);
        self.claim_supervision();
    }

    /// Carries out a user's `request` (`hbmon start|stop|restart`), name by name (a label
    /// is taken for its process's name).
    pub fn control(&mut self, request: &Request) -> Reply {
        let Some(supervisor) = &mut self.supervisor else {
            return Reply {
                ok: false,
                text: "this hbmon serve does not supervise: another one does".into(),
            };
        };
        let (mut ok, mut lines) = (true, Vec::new());
        for given in &request.names {
            let name = self.config.name_for(given).to_owned();
            match supervisor.control(request.verb, &name, &self.config) {
                Ok(line) => {
                    self.news.push(News::Supervised(format!("{line} (asked)")));
                    lines.push(line);
                }
                Err(line) => {
                    ok = false;
                    lines.push(line);
                }
            }
        }
        Reply {
            ok,
            text: lines.join("\n"),
        }
    }

    /// Takes the supervisor's role if this monitor may, the config supervises a process,
    /// and no other monitor holds it.
    fn claim_supervision(&mut self) {
        let wanted = self.config.processes.iter().any(|p| p.supervise.is_some());
        if !self.supervises || !wanted || self.supervisor.is_some() {
            return;
        }
        if !crate::fsafe::dir_of(&self.file).is_dir() {
            return;
        }
        match Supervisor::claim(&self.file) {
            Claim::Held(supervisor) => {
                self.supervisor = Some(*supervisor);
                self.news.push(News::Took(
                    "supervise: started and restarted from this monitor".into(),
                ));
            }
            Claim::Taken if !self.said_supervised => {
                self.said_supervised = true;
                self.news.push(News::StandingBy(format!(
                    "supervise: another monitor supervises the processes (it holds {})",
                    crate::supervise::lock_path(&self.file).display()
                )));
            }
            Claim::Failed(e) if !self.said_supervised => {
                self.said_supervised = true;
                self.news.push(News::StandingBy(format!("supervise: {e}")));
            }
            Claim::Taken | Claim::Failed(_) => {}
        }
    }

    /// Looks at the config again (`prompt`: what asked); true if a new one is in use. A
    /// config that cannot be used (broken, untrusted, gone) leaves the one in use, and says
    /// why until it is fixed. Alert rules that did not change keep their state.
    pub fn reload(&mut self, prompt: Prompt) -> bool {
        let forced = matches!(prompt, Prompt::Signal(_));
        let now = unix_now();
        match self.config_file.check(forced, now) {
            Outcome::Unchanged if forced => {
                self.news.push(News::ConfigReloaded {
                    text: "no config file found: the built-in defaults stay".to_owned(),
                    why: prompt,
                });
                false
            }
            Outcome::Unchanged => false,
            Outcome::Refused(text) => {
                self.refuse(text, prompt);
                false
            }
            Outcome::Reloaded { config, path } => {
                if let Err(e) = self.roles.reload_alerts(&config.alerts, &self.tracker, now) {
                    self.refuse(format!("cannot start an alert lane: {e}"), prompt);
                    return false;
                }
                let text = reloaded(path.as_deref(), &self.config, &config);
                self.config = config;
                self.config_refused = None;
                self.prober.claim_if_free(&self.config, &mut self.news);
                self.news.push(News::ConfigReloaded { text, why: prompt });
                true
            }
        }
    }

    fn refuse(&mut self, text: String, prompt: Prompt) {
        self.news.push(News::ConfigRefused {
            text: text.clone(),
            why: prompt,
        });
        self.config_refused = Some(text);
    }

    /// What is wrong and lasts, errors first.
    fn troubles(&self) -> Vec<Trouble> {
        let mut troubles = Vec::new();
        if let Some(e) = &self.file_error {
            troubles.push(Trouble::unreadable(&e.short, e.since));
        }
        if let Some(why) = &self.config_refused {
            troubles.push(Trouble::config(why));
        }
        if self.missing {
            troubles.push(Trouble::missing(&self.file));
        }
        troubles
    }

    /// Says `news` with the next update (what the loop itself found).
    pub(super) fn say(&mut self, news: News) {
        self.news.push(news);
    }

    /// Stops the roles: alerts still undelivered get until `stop_by` (pending digests are
    /// sent first), the history's queue its flush. Returns what is left to say.
    pub fn finish(mut self, stop_by: Instant) -> Vec<News> {
        let mut news = std::mem::take(&mut self.news);
        // The supervised processes stop before the monitor does (as systemd's dependents).
        if let Some(supervisor) = self.supervisor.take() {
            news.extend(
                supervisor
                    .finish(&self.config)
                    .into_iter()
                    .map(News::Supervised),
            );
        }
        // The probes' open minutes, as they stand, are the history's last rows.
        if self.roles.recording() {
            let last = Changes {
                minutes: self.prober.minutes(unix_now(), true),
                ..Changes::default()
            };
            self.roles.record(&last, &mut self.tracker, &mut news);
        }
        news.extend(self.roles.finish(stop_by));
        news
    }
}

#[cfg(test)]
mod tests;
