//! The column model's tests: one of a kind, texts and orders.

use super::*;
use serde_json::json;

#[test]
fn the_columns_titles_drop_ranks_and_sort_cycle_are_each_one_of_a_kind() {
    let titles: std::collections::HashSet<_> = Column::ALL.iter().map(|c| c.title()).collect();
    assert_eq!(titles.len(), Column::ALL.len());
    let mut ranks: Vec<u8> = Column::ALL.iter().filter_map(|c| c.spec().drop).collect();
    ranks.sort_unstable();
    ranks.dedup();
    assert_eq!(
        ranks.len(),
        Column::ALL
            .iter()
            .filter(|c| c.spec().drop.is_some())
            .count()
    );
    assert_eq!(
        Column::sort_cycle().collect::<Vec<_>>(),
        [
            Column::State,
            Column::Name,
            Column::LastBeat,
            Column::Cpu,
            Column::Memory
        ]
    );
    assert_eq!(Column::Memory.next_sort(), Column::State);
    // A column outside the cycle (sorted by a click on its title) goes on to its start.
    assert_eq!(Column::Pid.next_sort(), Column::State);
    assert_eq!(Column::ALL.last(), Some(&Column::Data));
}

#[test]
fn resp_is_needed_only_by_probed_rows_and_sorts_the_slowest_first() {
    use crate::checks::ProbeStatus;
    use crate::report::fixture;
    let fixture = super::super::build(
        &fixture::snapshot(),
        &fixture::config(),
        &mut fixture::probe(),
        fixture::NOW,
    );
    let row = |name: &str| {
        let mut r = fixture.rows[0].clone();
        r.name = name.to_owned();
        r.label = None;
        r
    };
    let probed = |name: &str, runs: &[&[f64]]| {
        let mut r = row(name);
        r.probes = runs
            .iter()
            .map(|ms| ProbeStatus::sample("tcp", "127.0.0.1:1", Some(true), 0, ms, 1.0))
            .collect();
        r
    };
    assert!(!Column::shown(&fixture.rows).contains(&Column::Resp));
    // Nor HOST: the fixture is one machine's.
    assert_eq!(Column::shown(&fixture.rows).len(), Column::ALL.len() - 2);
    // Its slowest probe speaks for a row; one not run yet is a dash, after the timed.
    let mut rows = vec![
        probed("waiting", &[&[]]),
        probed("quick", &[&[0.42]]),
        probed("slow", &[&[3.0], &[1250.0]]),
        row("plain"),
    ];
    assert!(Column::shown(&rows).contains(&Column::Resp));
    rows.sort_by(|a, b| Column::Resp.compare(a, b));
    let cx = Context {
        now: 1.0,
        symbols: false,
    };
    let cells: Vec<(&str, String)> = rows
        .iter()
        .map(|r| (r.name.as_str(), Column::Resp.text(r, &cx, 8)))
        .collect();
    assert_eq!(
        cells,
        [
            ("slow", "1250ms".to_owned()),
            ("quick", "0.4ms".to_owned()),
            ("waiting", "-".to_owned()),
            ("plain", "-".to_owned()),
        ]
    );
}

#[test]
fn summaries_are_one_line() {
    assert_eq!(
        summarize(&json!({"port": 8080, "mode": "live"})),
        "mode=live port=8080"
    );
    assert_eq!(summarize(&json!("...")), "...");
    assert_eq!(summarize(&json!([1, 2])), "[1,2]");
    assert_eq!(summarize(&json!(null)), "");
    assert_eq!(
        summarize(&json!({"output_tail": "copying\nfailed: disk full\n"})),
        "output_tail=copying failed: disk full"
    );
    // Escaped, not dropped: what the writer sent stays readable, and harmless.
    assert_eq!(
        summarize(&json!({"msg": "\u{1b}]0;pwned\u{7}\u{2028}ok"})),
        r"msg=\u{1b}]0;pwned\u{7}\u{2028}ok"
    );
    assert_eq!(truncate("abcdef", 4), "abc…");
    assert_eq!(truncate("abc", 4), "abc");
}

#[test]
fn old_beats_show_their_date() {
    use chrono::{Local, TimeZone};
    let noon = Local
        .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .unwrap()
        .timestamp() as f64;
    let cases = [
        (noon - 3600.0, "11:00:00"),
        (noon - 86_400.0 * 3.0, "Nov 20"),
        (noon - 86_400.0 * 20.0, "Nov  3"),
        (noon - 86_400.0 * 400.0, "Oct 2025"),
    ];
    for (at, text) in cases {
        assert_eq!(local_stamp(at, noon), text);
    }
}

#[test]
fn bytes_use_binary_units() {
    assert_eq!(bytes(512), "512B");
    assert_eq!(bytes(1536), "1.5K");
    assert_eq!(bytes(45 * 1024 * 1024 + 600 * 1024), "45.6M");
}
