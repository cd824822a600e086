//! The engine driven by hand: real files in a temp dir, a fake or real probe.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use super::*;
use crate::changes::tests::{report, row};
use crate::health::State;
use crate::history::{Batch, History};
use crate::probe::{FakeProbe, SysProbe};
use crate::signals::SIGHUP;
use crate::store::{Beat, Store};

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    file: PathBuf,
    config: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        Fixture {
            file: path.join("hb.json"),
            config: path.join("hbmon.toml"),
            dir: path,
            _dir: dir,
        }
    }

    fn beat(&self, name: &str) {
        Store::new(&self.file)
            .beat(name, &Beat::alive(Some(std::process::id())))
            .unwrap();
    }

    /// An engine of the fixture's file, its config read from `hbmon.toml` if there is one.
    fn engine(&self, probe: Box<dyn crate::probe::Probe + Send>) -> Engine {
        let (config, config_path) = Config::load(Some(&self.config), &self.file)
            .unwrap_or_else(|_| (Config::default(), None));
        Engine::new(Options {
            file: self.file.clone(),
            config,
            config_path,
            config_flag: Some(self.config.clone()),
            refresh: Duration::from_secs(1),
            alerts: false,
            supervise: false,
            probe,
        })
        .unwrap()
    }

    fn write_config(&self, text: &str) {
        // Written aside and renamed, as editors do: a new inode, so always a new stamp.
        let aside = self.dir.join(".hbmon.toml.new");
        std::fs::write(&aside, text).unwrap();
        std::fs::rename(&aside, &self.config).unwrap();
    }
}

/// The updates `engine` publishes from now on.
fn updates(engine: &Engine) -> mpsc::Receiver<Arc<Update>> {
    let (tx, rx) = mpsc::channel();
    engine
        .feed()
        .subscribe(move |u| tx.send(Arc::clone(u)).is_ok());
    rx
}

const READ: Step = Step {
    read: true,
    probing: Probing::Cached,
    counted: false,
};

fn lines(update: &Update) -> Vec<String> {
    update.news.iter().map(ToString::to_string).collect()
}

#[test]
fn an_unchanged_file_is_not_read_again_and_a_beat_decodes_only_its_entry() {
    let fx = Fixture::new();
    for name in ["a", "b", "c"] {
        fx.beat(name);
    }
    let mut engine = fx.engine(Box::new(FakeProbe::default()));
    assert_eq!(engine.decodes(), 3);
    let rx = updates(&engine);
    // The once-a-second check, no event: the stamp is the last read's, nothing is read.
    let tick = Step {
        read: false,
        probing: Probing::Fresh,
        counted: true,
    };
    engine.step(tick);
    assert!(!rx.recv().unwrap().read);
    assert_eq!(engine.decodes(), 3);
    // Asked to read (an event, `r`): read, but no entry's text changed, none is decoded.
    engine.step(READ);
    assert!(rx.recv().unwrap().read);
    assert_eq!(engine.decodes(), 3);
    // A beat no event reported: the new stamp has it read, and only its entry decoded.
    fx.beat("b");
    engine.step(tick);
    let update = rx.recv().unwrap();
    assert!(update.read && !update.changes.beats.is_empty());
    assert_eq!(engine.decodes(), 4);
}

#[test]
fn a_file_error_keeps_the_last_good_read_and_is_said_once_until_it_reads_again() {
    let f = Fixture::new();
    f.beat("steady");
    let mut engine = f.engine(Box::new(FakeProbe::default()));
    let rx = updates(&engine);
    assert!(engine.feed().latest().troubles.is_empty());

    std::fs::write(&f.file, "{ \"processes\": ").unwrap();
    engine.step(READ);
    let bad = rx.try_recv().unwrap();
    assert!(
        lines(&bad)
            .iter()
            .any(|l| l.starts_with("file: ") && l.ends_with("; judging the last good read")),
        "{:?}",
        lines(&bad)
    );
    assert_eq!(bad.report.rows[0].name, "steady", "the last good read");
    assert_eq!(bad.troubles.len(), 1);
    assert!(bad.troubles[0].error);
    assert!(
        bad.troubles[0]
            .text
            .starts_with("not a valid heartbeat file: ")
            && bad.troubles[0]
                .text
                .contains("showing the last good view (since "),
        "{:?}",
        bad.troubles
    );

    // The same error again: no news, the same trouble (since the first).
    engine.step(READ);
    let again = rx.try_recv().unwrap();
    assert!(again.news.is_empty(), "{:?}", lines(&again));
    assert_eq!(again.troubles, bad.troubles);

    f.beat("steady");
    engine.step(READ);
    let good = rx.try_recv().unwrap();
    assert_eq!(
        lines(&good),
        [format!("file: {} reads again", f.file.display())]
    );
    assert!(good.troubles.is_empty());
}

#[test]
fn no_file_is_said_as_status_says_it_and_a_missing_directory_is_no_history_error() {
    let f = Fixture::new();
    let mistyped = f.dir.join("no-such-dir").join("hb.json");
    let engine = Engine::new(Options {
        file: mistyped.clone(),
        config: Config::default(),
        config_path: None,
        config_flag: None,
        refresh: Duration::from_secs(1),
        alerts: false,
        supervise: false,
        probe: Box::new(FakeProbe::default()),
    })
    .unwrap();
    let first = engine.feed().latest();
    assert_eq!(
        first.troubles,
        [Trouble {
            text: format!("no heartbeat file at {} yet", mistyped.display()),
            error: false,
        }]
    );
    assert!(first.news.is_empty(), "{:?}", lines(&first));

    // A file deleted under a running monitor: the same.
    f.beat("short-lived");
    let mut engine = f.engine(Box::new(FakeProbe::default()));
    let rx = updates(&engine);
    assert!(engine.feed().latest().troubles.is_empty());
    std::fs::remove_file(&f.file).unwrap();
    engine.step(READ);
    assert_eq!(rx.try_recv().unwrap().troubles, [Trouble::missing(&f.file)]);
}

#[test]
fn a_monitor_standing_by_for_history_is_seeded_from_the_database() {
    let f = Fixture::new();
    let database = crate::paths::history_path(&f.file);
    let (mut history, _) = History::open(&database).unwrap();
    let changes =
        Tracker::default().observe(&report(5.0, vec![row("gone", State::Dead, Some(4.0))]));
    history.insert(&Batch::of(&changes)).unwrap();
    drop(history);
    // Another monitor records: it holds the recorder's lock.
    let _serve = crate::history::try_lock_sidecar(&crate::paths::lock_path(&database))
        .unwrap()
        .unwrap();
    // Its entry's PID is gone: dead, as the database knew it.
    Store::new(&f.file)
        .beat("gone", &Beat::alive(Some(u32::MAX - 1)))
        .unwrap();
    let engine = f.engine(Box::new(FakeProbe::default()));
    let first = engine.feed().latest();
    assert_eq!(first.report.rows[0].health.state, State::Dead);
    assert!(
        first.changes.transitions.is_empty(),
        "not new: {:?}",
        lines(&first)
    );
    assert!(
        lines(&first)
            .iter()
            .any(|l| l.starts_with("history: another monitor records")),
        "{:?}",
        lines(&first)
    );
}

#[test]
fn an_edited_config_is_taken_a_broken_one_refused_and_the_one_in_use_kept() {
    let f = Fixture::new();
    f.write_config("");
    f.beat("other");
    let mut engine = f.engine(Box::new(FakeProbe::default()));
    let rx = updates(&engine);
    assert_eq!(engine.feed().latest().report.rows.len(), 1);

    f.write_config("[[process]]\nname = \"added\"\n");
    assert!(engine.reload(Prompt::Changed));
    engine.step(READ);
    let reloaded = rx.try_recv().unwrap();
    assert_eq!(
        lines(&reloaded),
        [
            format!(
                "config: reloaded {}: 1 monitored process, 0 alert rules",
                f.config.display()
            ),
            "added: new -> pending (never beat)".to_owned()
        ]
    );
    assert!(
        reloaded
            .report
            .rows
            .iter()
            .any(|r| r.name == "added" && r.monitored)
    );
    // Unchanged since: nothing to do.
    assert!(!engine.reload(Prompt::Changed));

    f.write_config("[[process]]\nname = \"added\"\n[[process]]\nname = 3\n");
    assert!(!engine.reload(Prompt::Changed));
    engine.step(READ);
    let refused = rx.try_recv().unwrap();
    let said = lines(&refused);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with(&format!("config: {}:4: name: ", f.config.display()))
            && said[0].contains("; keeping the config read at "),
        "{said:?}"
    );
    assert_eq!(refused.troubles.len(), 1);
    assert_eq!(refused.troubles[0].text, said[0]);
    assert!(
        refused.report.rows.iter().any(|r| r.name == "added"),
        "kept"
    );
    // Said once, not at every look while it lasts.
    assert!(!engine.reload(Prompt::Changed));
    engine.step(READ);
    assert!(rx.try_recv().unwrap().news.is_empty());

    f.write_config("[[process]]\nname = \"added\"\n[[process]]\nname = \"third\"\n");
    assert!(engine.reload(Prompt::Changed));
    engine.step(READ);
    let fixed = rx.try_recv().unwrap();
    assert!(fixed.troubles.is_empty(), "{:?}", fixed.troubles);
    assert_eq!(engine.config().processes.len(), 2);
}

#[test]
fn a_config_made_untrusted_or_deleted_is_refused_and_sighup_reads_it_anyway() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    f.write_config("[[process]]\nname = \"kept\"\n");
    std::fs::set_permissions(&f.config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut engine = f.engine(Box::new(FakeProbe::default()));
    let rx = updates(&engine);

    // A chmod the watch does not report: the once-a-second look sees the stamp change.
    std::fs::set_permissions(&f.config, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(!engine.reload(Prompt::Changed));
    engine.step(READ);
    let untrusted = lines(&rx.try_recv().unwrap());
    assert!(
        untrusted[0].contains("writable by group or others"),
        "{untrusted:?}"
    );
    assert_eq!(engine.config().processes[0].name, "kept");

    std::fs::set_permissions(&f.config, std::fs::Permissions::from_mode(0o600)).unwrap();
    // SIGHUP reads it whatever its stamp says, and the log says what asked.
    assert!(engine.reload(Prompt::Signal(SIGHUP)));
    assert!(engine.reload(Prompt::Signal(SIGHUP)));
    engine.step(READ);
    let said = lines(&rx.try_recv().unwrap());
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].starts_with("config (SIGHUP): reloaded "),
        "{said:?}"
    );

    std::fs::remove_file(&f.config).unwrap();
    assert!(!engine.reload(Prompt::Changed));
    engine.step(READ);
    let gone = lines(&rx.try_recv().unwrap());
    assert!(
        gone[0].starts_with(&format!(
            "config: {} is gone; keeping the config read at ",
            f.config.display()
        )),
        "{gone:?}"
    );
    assert_eq!(engine.config().processes[0].name, "kept");
}

#[test]
fn a_process_found_by_match_stays_found_across_rereads_of_a_busy_file() {
    let f = Fixture::new();
    let mut child = crate::probe::tests::child("31.2236");
    f.write_config("[[process]]\nname = \"matched\"\nmatch = '^sleep 31\\.2236$'\n");
    f.beat("neighbour");
    let mut engine = f.engine(Box::new(SysProbe::new(&f.file)));
    let rx = updates(&engine);
    // A neighbour's beats are re-reads between the probe's own refreshes.
    for round in 0..6 {
        for probing in [Probing::Cached, Probing::Cached, Probing::Fresh] {
            f.beat("neighbour");
            engine.step(Step {
                read: true,
                probing,
                counted: false,
            });
            let update = rx.try_recv().unwrap();
            let matched = update
                .report
                .rows
                .iter()
                .find(|r| r.name == "matched")
                .unwrap();
            assert_eq!(
                matched.pid(),
                Some(child.id()),
                "round {round}, {probing:?}: {}",
                matched.health.reason
            );
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_reload_says_which_changes_wait_for_the_next_start() {
    let config = |text: &str| Config::parse(text, std::path::Path::new("hbmon.toml")).unwrap();
    let job = "[[process]]\nname = \"a\"\n";
    let uuid = "uuid = \"5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15\"\n";
    // The config before, after, and what the reload line adds.
    let cases = [
        (
            job.to_owned(),
            format!("{job}[[process]]\nname = \"b\"\n"),
            "",
        ),
        (
            job.to_owned(),
            format!("{job}{uuid}"),
            "; [[process]] uuid, slug and push_token take effect at the next start",
        ),
        (
            format!("{job}{uuid}"),
            format!("{job}slug = \"x\"\n"),
            "; [[process]] uuid, slug and push_token take effect at the next start",
        ),
        (
            job.to_owned(),
            format!("[serve]\nping_key = \"k\"\n{job}"),
            "; [serve] take effect at the next start",
        ),
        (
            job.to_owned(),
            format!("[serve]\nping_body_limit = 10\n{job}"),
            "; [serve] take effect at the next start",
        ),
    ];
    for (old, new, said) in cases {
        let text = reloaded(None, &config(&old), &config(&new));
        let rest = text
            .strip_prefix("reloaded the built-in defaults: ")
            .unwrap();
        assert_eq!(
            rest.split_once(" rules").map(|(_, said)| said),
            Some(said),
            "{old} -> {new}: {text}"
        );
    }
}
