//! The tests of `api/ping.rs`: a ping's path, query and body as the beat it writes.

use super::*;
use crate::store::TAIL_BYTES;
use serde_json::json;

fn query(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// The ping at `path` (`""`, `/fail`, `/start`, `/3`) with `text` as its query.
fn ping(path: &str, text: &str, body: &str) -> Result<Ping, PingError> {
    let event = match path.strip_prefix('/') {
        None => Event::Beat,
        Some(segment) => Event::parse(segment)?,
    };
    Ping::parse(event, &query(text), body.as_bytes())
}

#[test]
fn path_segments_name_an_event_or_are_refused_by_value() {
    let cases: &[(&str, Result<Event, &str>)] = &[
        ("fail", Ok(Event::Fail)),
        ("start", Ok(Event::Start)),
        ("0", Ok(Event::Exit(0))),
        ("3", Ok(Event::Exit(3))),
        ("255", Ok(Event::Exit(255))),
        ("007", Ok(Event::Exit(7))),
        (
            "256",
            Err("\"256\" after /ping/NAME/ is not start, fail, log or an exit code"),
        ),
        ("-1", Err("\"-1\" after")),
        ("+3", Err("\"+3\" after")),
        ("abc", Err("\"abc\" after")),
        ("Start", Err("\"Start\" after")),
        ("", Err("\"\" after")),
        ("3.0", Err("\"3.0\" after")),
        (
            "99999999999999999999",
            Err("\"99999999999999999999\" after"),
        ),
    ];
    for (segment, expected) in cases {
        match (Event::parse(segment), expected) {
            (Ok(event), Ok(want)) => assert_eq!(event, *want, "{segment}"),
            (Err(e), Err(message)) => {
                assert!(e.to_string().starts_with(message), "{segment}: {e}");
            }
            (got, _) => panic!("{segment:?}: {got:?}"),
        }
    }
}

/// What a beat says, in one line: status, error, interval, kind (the PID is always none).
fn said(beat: &Beat) -> String {
    assert_eq!(beat.pid, None);
    let mut said = vec![beat.status.as_str().to_owned()];
    said.extend(beat.error.as_ref().map(|e| format!("error {e:?}")));
    said.extend(beat.interval.map(|i| format!("interval {i}")));
    said.extend(beat.kind.map(|k| format!("kind {}", k.as_str())));
    said.join(", ")
}

#[test]
fn parameters_mirror_hbmon_beat() {
    let no_message = format!("error {NO_MESSAGE:?}");
    let no_message = no_message.as_str();
    // (path, query, the beat of a ping to a name not in the file)
    let cases: &[(&str, &str, &[&str])] = &[
        ("", "", &["alive"]),
        ("", "interval=30s", &["alive", "interval 30"]),
        (
            "",
            "interval=1h30m&kind=job",
            &["alive", "interval 5400", "kind job"],
        ),
        ("", "kind=app", &["alive", "kind app"]),
        ("", "status=alive", &["alive"]),
        (
            "",
            "status=error&msg=disk full",
            &["error", "error \"disk full\""],
        ),
        ("", "status=error", &["error", no_message]),
        ("/fail", "", &["error", no_message]),
        ("/fail", "msg=exit 3", &["error", "error \"exit 3\""]),
        ("/fail", "status=error", &["error", no_message]),
        ("", "stopped", &["stopped"]),
        ("", "stopped=1", &["stopped"]),
        ("", "stopped=true&status=stopped", &["stopped"]),
        ("", "status=stopped", &["stopped"]),
        ("/start", "interval=1d", &["running", "interval 86400"]),
        ("/start", "kind=job", &["running", "kind job"]),
        ("/0", "", &["succeeded"]),
        ("/3", "", &["failed", "error \"exited with code 3\""]),
        ("/3", "msg=disk full", &["failed", "error \"disk full\""]),
        (
            "/255",
            "interval=1h",
            &["failed", "error \"exited with code 255\"", "interval 3600"],
        ),
    ];
    for (path, text, expected) in cases {
        let beat = ping(path, text, "")
            .unwrap_or_else(|e| panic!("{path}?{text}: {e}"))
            .beat(None, 10.0, None);
        assert_eq!(said(&beat), expected.join(", "), "{path}?{text}");
    }
}

#[test]
fn bad_parameters_name_themselves_and_their_value() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "",
            "interval=soon",
            "interval=\"soon\": expected a number (use e.g. 30s",
        ),
        ("", "interval=-5", "interval=\"-5\": must not be negative"),
        (
            "",
            "interval=1h1h",
            "interval=\"1h1h\": units go largest first",
        ),
        ("", "interval=0s", "interval=\"0s\": must be more than zero"),
        ("/start", "interval=x", "interval=\"x\": expected a number"),
        ("", "kind=cron", "kind=\"cron\": use app or job"),
        (
            "",
            "status=ok",
            "status=\"ok\": use alive, error or stopped",
        ),
        ("", "stopped=no", "stopped=\"no\": a flag"),
        (
            "",
            "msg=hi",
            "msg=\"hi\": goes with status=error, /fail or a non-zero exit code",
        ),
        ("", "status=alive&msg=hi", "msg=\"hi\": goes with"),
        ("/0", "msg=hi", "msg=\"hi\": goes with"),
        ("/start", "msg=hi", "msg=\"hi\": goes with"),
        (
            "/fail",
            "status=alive",
            "status=\"alive\": conflicts with /fail",
        ),
        (
            "",
            "status=error&stopped",
            "status=\"error\": conflicts with stopped",
        ),
        ("/fail", "stopped", "stopped=\"\": conflicts with /fail"),
        ("/start", "stopped", "stopped=\"\": conflicts with /start"),
        ("/3", "stopped=1", "stopped=\"1\": conflicts with /3"),
        (
            "/start",
            "status=alive",
            "status=\"alive\": conflicts with /start",
        ),
        ("/0", "status=error", "status=\"error\": conflicts with /0"),
        (
            "/start",
            "kind=app",
            "kind=\"app\": conflicts with /start: a run is a job's",
        ),
        ("/7", "kind=app", "kind=\"app\": conflicts with /7"),
        ("", "pid=42", "unknown parameter \"pid\""),
        ("/start", "every=1d", "unknown parameter \"every\""),
        (
            "",
            "interval=1s&interval=2s",
            "parameter \"interval\" is given twice",
        ),
    ];
    for (path, text, message) in cases {
        let err = ping(path, text, "").unwrap_err().to_string();
        assert!(err.starts_with(message), "{path}?{text}: {err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

/// Pings `(path, query, at)` in turn.
type Pings<'a> = &'a [(&'a str, &'a str, f64)];

/// The entry after `pings`, each over the one before.
fn after(pings: Pings) -> Option<Entry> {
    pings.iter().fold(None, |entry, (path, text, at)| {
        Some(ping(path, text, "").unwrap().apply(entry, *at, None))
    })
}

/// A finished or running entry in one line: status, exit code, start, duration, error.
fn run_of(entry: &Entry) -> String {
    assert_eq!(entry.pid, None);
    let mut said = vec![entry.reported().as_str().to_owned()];
    said.extend(entry.exit_code.map(|c| format!("exit {c}")));
    said.extend(entry.started_at.map(|t| format!("from {t}")));
    said.extend(entry.duration.map(|d| format!("took {d}")));
    said.extend(entry.last_error.as_ref().map(|e| format!("error {e:?}")));
    said.join(", ")
}

#[test]
fn a_run_ends_as_hbmon_run_ends_it_with_a_duration_from_its_start() {
    let started: Pings = &[("/start", "", 100.0)];
    let succeeded: Pings = &[("/start", "", 50.0), ("/0", "", 60.0)];
    let no_message = format!("failed, from 100, took 30, error {NO_MESSAGE:?}");
    let error = format!("error, error {NO_MESSAGE:?}");
    // (pings before, the ping at 130, the entry after it)
    let cases: &[(Pings, &str, &str, &str)] = &[
        (started, "/0", "", "succeeded, exit 0, from 100, took 30"),
        (
            started,
            "/3",
            "",
            "failed, exit 3, from 100, took 30, error \"exited with code 3\"",
        ),
        (
            started,
            "/3",
            "msg=disk full",
            "failed, exit 3, from 100, took 30, error \"disk full\"",
        ),
        // healthchecks.io's habits: a bare ping ends the run well, /fail badly.
        (started, "", "", "succeeded, exit 0, from 100, took 30"),
        (started, "/fail", "", &no_message),
        (started, "", "stopped", "stopped, from 100"),
        // No /start: the start is unknown, and so is the duration.
        (
            &[],
            "/3",
            "",
            "failed, exit 3, error \"exited with code 3\"",
        ),
        // A start from an earlier run is not this run's.
        (succeeded, "/0", "", "succeeded, exit 0"),
        // Nothing in progress: today's beats.
        (succeeded, "", "", "alive, exit 0, from 50, took 10"),
        (&[], "/fail", "", &error),
    ];
    for (before, path, text, expected) in cases {
        let entry = ping(path, text, "")
            .unwrap()
            .apply(after(before), 130.0, None);
        let what = format!("{before:?} then {path}?{text}");
        assert_eq!(run_of(&entry), *expected, "{what}");
        if matches!(entry.reported(), Reported::Succeeded | Reported::Failed) {
            assert_eq!(entry.kind, Some(Kind::Job), "{what}");
            assert_eq!(entry.finished_at, Some(130.0), "{what}");
        }
    }
    // `hbmon run --kind app` supervising a service: not a job's run, so a ping is a beat.
    let service = Beat {
        kind: Some(Kind::App),
        ..Beat::running(90.0, DataChange::Keep)
    }
    .apply(None, 90.0);
    let entry = ping("", "", "").unwrap().apply(Some(service), 130.0, None);
    assert_eq!(entry.status, Some(Reported::Alive));
}

#[test]
fn a_start_is_a_running_job_and_a_new_run() {
    let first = after(&[("/start", "interval=1d", 100.0)]).unwrap();
    assert_eq!(first.status, Some(Reported::Running));
    assert_eq!(
        (first.kind, first.started_at),
        (Some(Kind::Job), Some(100.0))
    );
    assert_eq!(first.interval, Some(86_400.0));
    let again = after(&[
        ("/start", "", 100.0),
        ("/1", "", 110.0),
        ("/start", "", 200.0),
    ])
    .unwrap();
    assert_eq!(
        (again.started_at, again.first_heartbeat),
        (Some(200.0), Some(200.0))
    );
    assert_eq!(
        (again.exit_code, again.duration, again.beats),
        (None, None, Some(1))
    );
    assert_eq!((again.errors, again.last_error), (Some(0), None));
}

#[test]
fn a_body_nested_deeper_than_the_file_keeps_is_refused() {
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    let kept = ping("", "", &nested(MAX_DATA_DEPTH)).unwrap();
    assert_eq!(kept.body.as_ref().map(store::depth), Some(MAX_DATA_DEPTH));
    // One level more than the file keeps, then past serde_json's own limit.
    for levels in [MAX_DATA_DEPTH + 1, 127, 128, 200, 20_000] {
        let refused = ping("", "", &nested(levels)).unwrap_err();
        assert_eq!(refused, PingError::TooDeep, "{levels}");
        assert_eq!(
            refused.to_string(),
            "the body is JSON nested more than 126 levels deep, deeper than the heartbeat \
             file's readers go"
        );
    }
    // Brackets that do not balance within serde_json's limit are no JSON: a log.
    let log = ping("", "", &format!("{} oops", "[".repeat(100))).unwrap();
    assert!(log.body.unwrap()["output_tail"].is_string());
}

#[test]
fn a_body_is_the_data_json_as_is_and_text_as_the_output_tail() {
    let data = |path: &str, body: &str, previous: Option<Entry>| {
        ping(path, "", body)
            .unwrap()
            .apply(previous, 10.0, None)
            .additional_data
    };
    assert_eq!(data("", "{\"rows\": 1200}\n", None), json!({"rows": 1200}));
    assert_eq!(data("", "\"text\"", None), json!("text"));
    assert_eq!(
        data("/3", "backup: disk full\n", None),
        json!({"output_tail": "backup: disk full\n"})
    );
    assert_eq!(
        data("", "{\"rows\": ", None),
        json!({"output_tail": "{\"rows\": "})
    );
    let long = format!("{}end", "x".repeat(2 * TAIL_BYTES));
    let tail = data("/0", &long, None);
    assert_eq!(tail["output_tail"].as_str().map(str::len), Some(TAIL_BYTES));
    assert!(tail["output_tail"].as_str().unwrap().ends_with("xend"));

    let with_data = Some(ping("", "", "{\"a\": 1}").unwrap().apply(None, 1.0, None));
    assert_eq!(
        data("", " \r\n", with_data.clone()),
        json!({"a": 1}),
        "no body keeps it"
    );
    assert_eq!(data("/3", "", with_data.clone()), json!({"a": 1}));
    assert_eq!(
        data("/start", "", with_data.clone()),
        Value::Null,
        "a run starts afresh"
    );
    assert_eq!(data("/start", "{\"b\": 2}", with_data), json!({"b": 2}));
}

const RID_A: &str = "8c6f5c1e-3f7a-4a8e-9d6b-2b1f0c9e7a11";
const RID_B: &str = "0b8d2a54-91c3-4e27-8f0a-5d6e7c1b2a33";

#[test]
fn a_rid_is_a_uuid_in_any_form_python_reads_kept_in_one_spelling() {
    let cases: &[(&str, Result<&str, ()>)] = &[
        (RID_A, Ok(RID_A)),
        ("8C6F5C1E-3F7A-4A8E-9D6B-2B1F0C9E7A11", Ok(RID_A)),
        ("8c6f5c1e3f7a4a8e9d6b2b1f0c9e7a11", Ok(RID_A)),
        ("{8c6f5c1e-3f7a-4a8e-9d6b-2b1f0c9e7a11}", Ok(RID_A)),
        ("urn:uuid:8c6f5c1e-3f7a-4a8e-9d6b-2b1f0c9e7a11", Ok(RID_A)),
        ("", Err(())),
        ("run-1", Err(())),
        ("8c6f5c1e-3f7a-4a8e-9d6b-2b1f0c9e7a1", Err(())),
        ("8c6f5c1e-3f7a-4a8e-9d6b-2b1f0c9e7a11x", Err(())),
    ];
    for (given, expected) in cases {
        let parsed = ping("/start", &format!("rid={given}"), "");
        match (parsed, expected) {
            (Ok(ping), Ok(want)) => assert_eq!(ping.rid(), Some(*want), "{given}"),
            (Err(e), Err(())) => assert_eq!(
                e.to_string(),
                format!("rid={given:?}: invalid uuid format"),
                "{given}"
            ),
            (got, _) => panic!("{given:?}: {got:?}"),
        }
    }
    let twice = ping("", &format!("rid={RID_A}&rid={RID_B}"), "").unwrap_err();
    assert_eq!(twice, PingError::Twice("rid".into()));
}

/// A run in progress of `entry`, in one line: its start.
fn runs_of(entry: &Entry) -> Vec<String> {
    entry
        .runs_in_progress()
        .iter()
        .map(|(id, run)| format!("{} from {}", &id[..1], run.started_at))
        .collect()
}

#[test]
fn two_overlapping_runs_by_rid_end_each_with_its_own_start_and_code() {
    let a = format!("rid={RID_A}");
    let b = format!("rid={RID_B}");
    let running = after(&[("/start", &a, 100.0), ("/start", &b, 110.0)]).unwrap();
    assert_eq!(runs_of(&running), ["8 from 100", "0 from 110"]);
    assert_eq!(running.reported(), Reported::Running);

    // B ends first, badly; A's start is untouched, and the entry's run is B's.
    let b_ended = ping("/3", &b, "")
        .unwrap()
        .apply(Some(running), 130.0, None);
    assert_eq!(
        run_of(&b_ended),
        "failed, exit 3, from 110, took 20, error \"exited with code 3\""
    );
    assert_eq!(runs_of(&b_ended), ["8 from 100"]);
    // A ends well, with a bare ping, its duration from its own start, not B's.
    let a_ended = ping("", &a, "").unwrap().apply(Some(b_ended), 140.0, None);
    assert_eq!(
        run_of(&a_ended),
        "succeeded, exit 0, from 100, took 40, error \"exited with code 3\""
    );
    assert!(a_ended.runs.is_empty());
    assert_eq!(a_ended.errors, Some(1));
}

#[test]
fn a_ping_with_a_rid_takes_its_start_from_runs_not_from_the_newest_finished_run() {
    let a = format!("rid={RID_A}");
    // A finished run, then a run by id in progress: the entry's `started_at` is the
    // finished one's (50), the run's start is 120.
    let before = after(&[
        ("/start", "", 50.0),
        ("/0", "", 60.0),
        ("/start", &a, 120.0),
    ]);
    assert_eq!(before.as_ref().and_then(|e| e.started_at), Some(50.0));
    let parsed = ping("/0", &a, "").unwrap();
    assert_eq!(parsed.run_start(before.as_ref()), Some(120.0));
    let ended = parsed.apply(before.clone(), 130.0, None);
    assert_eq!(run_of(&ended), "succeeded, exit 0, from 120, took 10");
    // Without the rid, no run of the job's is the unnamed one: an end of no known start.
    let plain = ping("/0", "", "").unwrap();
    assert_eq!(plain.run_start(before.as_ref()), None);
    // A rid that never started: a run reported only at its end.
    let other = ping("/0", &format!("rid={RID_B}"), "").unwrap();
    let ended = other.apply(before, 130.0, None);
    assert_eq!(run_of(&ended), "succeeded, exit 0");
    assert_eq!(runs_of(&ended), ["8 from 120"], "A still runs");
}

#[test]
fn a_log_adds_to_the_output_tail_and_changes_nothing_else() {
    let ended = ping("/3", "", "step 1\n").unwrap().apply(None, 10.0, None);
    let log = |entry: &mut Entry, body: &str| ping("/log", "", body).unwrap().log_into(entry);
    let mut entry = ended.clone();
    assert!(log(&mut entry, "step 2\n"));
    assert_eq!(
        entry.additional_data,
        json!({"output_tail": "step 1\nstep 2\n"})
    );
    assert_eq!(
        Entry {
            additional_data: ended.additional_data.clone(),
            ..entry.clone()
        },
        ended,
        "nothing but the data changed"
    );
    // Within the tail's bound, the newest kept; text that looks like JSON is text.
    assert!(log(
        &mut entry,
        &format!("{}{{\"a\": 1}}", "x".repeat(TAIL_BYTES))
    ));
    let tail = entry.additional_data["output_tail"].as_str().unwrap();
    assert_eq!(tail.len(), TAIL_BYTES);
    assert!(tail.ends_with("x{\"a\": 1}"));
    // Other keys of the data stay; no data yet makes one; no body adds nothing.
    let mut other = Entry {
        additional_data: json!({"rows": 3}),
        ..ended.clone()
    };
    assert!(log(&mut other, "done\n"));
    assert_eq!(
        other.additional_data,
        json!({"rows": 3, "output_tail": "done\n"})
    );
    let mut empty = Entry::default();
    assert!(log(&mut empty, "hi"));
    assert_eq!(empty.additional_data, json!({"output_tail": "hi"}));
    assert!(log(&mut empty, ""));
    assert_eq!(empty.additional_data, json!({"output_tail": "hi"}));
    // Data that is no object has no tail to add to: kept as it is.
    let mut list = Entry {
        additional_data: json!([1, 2]),
        ..Entry::default()
    };
    assert!(!log(&mut list, "hi"));
    assert_eq!(list.additional_data, json!([1, 2]));
}

#[test]
fn a_log_takes_a_rid_and_refuses_what_would_change_state() {
    assert!(ping("/log", &format!("rid={RID_A}"), "x").unwrap().is_log());
    for (text, message) in [
        ("interval=1h", "interval=\"1h\": conflicts with /log"),
        ("kind=job", "kind=\"job\": conflicts with /log"),
        ("status=error", "status=\"error\": conflicts with /log"),
        ("stopped", "stopped=\"\": conflicts with /log"),
        ("msg=hi", "msg=\"hi\": goes with status=error"),
    ] {
        let err = ping("/log", text, "").unwrap_err().to_string();
        assert!(err.starts_with(message), "{text}: {err}");
    }
}
