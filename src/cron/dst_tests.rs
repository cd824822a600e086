//! Fire times across DST changes, both ways, in zones east and west and one that moves by
//! half an hour; each expected list is what cronsim 2.8 gives (healthchecks.io's engine).

use super::Schedule;

fn unix(rfc3339: &str) -> f64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_second() as f64
}

/// (zone, expression, start, the fire times after it in the zone's RFC 3339).
const CASES: &[(&str, &str, &str, &[&str])] = &[
    (
        "Europe/Berlin",
        "30 2 * * *",
        "2026-03-28T12:00:00+01:00",
        &[
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
            "2026-03-31T02:30:00+02:00",
        ],
    ),
    (
        "Europe/Berlin",
        "30 2 * * *",
        "2026-10-24T12:00:00+02:00",
        &[
            "2026-10-25T02:30:00+02:00",
            "2026-10-26T02:30:00+01:00",
            "2026-10-27T02:30:00+01:00",
        ],
    ),
    (
        "Europe/Berlin",
        "30 * * * *",
        "2026-03-29T00:45:00+01:00",
        &[
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T03:30:00+02:00",
            "2026-03-29T04:30:00+02:00",
        ],
    ),
    (
        "Europe/Berlin",
        "30 * * * *",
        "2026-10-25T01:45:00+02:00",
        &[
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:30:00+01:00",
            "2026-10-25T03:30:00+01:00",
            "2026-10-25T04:30:00+01:00",
        ],
    ),
    (
        "Europe/Berlin",
        "0,30 2 * * *",
        "2026-03-29T00:00:00+01:00",
        &[
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
        ],
    ),
    (
        "Europe/Berlin",
        "*/20 2 * * *",
        "2026-10-25T01:00:00+02:00",
        &[
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:20:00+02:00",
            "2026-10-25T02:40:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T02:20:00+01:00",
            "2026-10-25T02:40:00+01:00",
            "2026-10-26T02:00:00+01:00",
        ],
    ),
    (
        "America/New_York",
        "30 2 * * *",
        "2026-03-07T12:00:00-05:00",
        &[
            "2026-03-08T03:00:00-04:00",
            "2026-03-09T02:30:00-04:00",
            "2026-03-10T02:30:00-04:00",
        ],
    ),
    (
        "America/New_York",
        "30 1 * * *",
        "2026-10-31T12:00:00-04:00",
        &[
            "2026-11-01T01:30:00-04:00",
            "2026-11-02T01:30:00-05:00",
            "2026-11-03T01:30:00-05:00",
        ],
    ),
    (
        "America/New_York",
        "0 * * * *",
        "2026-11-01T00:30:00-04:00",
        &[
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T01:00:00-05:00",
            "2026-11-01T02:00:00-05:00",
            "2026-11-01T03:00:00-05:00",
        ],
    ),
    (
        "America/New_York",
        "15 2 8 3 *",
        "2026-03-01T00:00:00-05:00",
        &["2026-03-08T03:00:00-04:00", "2027-03-08T02:15:00-05:00"],
    ),
    (
        "Australia/Sydney",
        "30 2 * * *",
        "2026-10-03T12:00:00+10:00",
        &[
            "2026-10-04T03:00:00+11:00",
            "2026-10-05T02:30:00+11:00",
            "2026-10-06T02:30:00+11:00",
        ],
    ),
    (
        "Australia/Sydney",
        "30 2 * * *",
        "2026-04-04T12:00:00+11:00",
        &[
            "2026-04-05T02:30:00+11:00",
            "2026-04-06T02:30:00+10:00",
            "2026-04-07T02:30:00+10:00",
        ],
    ),
    (
        "Australia/Sydney",
        "*/30 2 * * *",
        "2026-04-05T01:00:00+11:00",
        &[
            "2026-04-05T02:00:00+11:00",
            "2026-04-05T02:30:00+11:00",
            "2026-04-05T02:00:00+10:00",
            "2026-04-05T02:30:00+10:00",
            "2026-04-06T02:00:00+10:00",
            "2026-04-06T02:30:00+10:00",
        ],
    ),
    (
        "Australia/Sydney",
        "0 3 * * *",
        "2026-10-03T12:00:00+10:00",
        &["2026-10-04T03:00:00+11:00", "2026-10-05T03:00:00+11:00"],
    ),
    (
        "Australia/Lord_Howe",
        "15 2 * * *",
        "2026-10-03T12:00:00+10:30",
        &[
            "2026-10-04T02:30:00+11:00",
            "2026-10-05T02:15:00+11:00",
            "2026-10-06T02:15:00+11:00",
        ],
    ),
    (
        "Australia/Lord_Howe",
        "45 1 * * *",
        "2026-04-04T12:00:00+11:00",
        &[
            "2026-04-05T01:45:00+11:00",
            "2026-04-06T01:45:00+10:30",
            "2026-04-07T01:45:00+10:30",
        ],
    ),
    (
        "Australia/Lord_Howe",
        "0 * * * *",
        "2026-10-04T01:00:00+10:30",
        &[
            "2026-10-04T03:00:00+11:00",
            "2026-10-04T04:00:00+11:00",
            "2026-10-04T05:00:00+11:00",
        ],
    ),
    (
        "Australia/Lord_Howe",
        "*/15 1 * * *",
        "2026-04-05T01:00:00+11:00",
        &[
            "2026-04-05T01:15:00+11:00",
            "2026-04-05T01:30:00+11:00",
            "2026-04-05T01:45:00+11:00",
            "2026-04-05T01:30:00+10:30",
            "2026-04-05T01:45:00+10:30",
            "2026-04-06T01:00:00+10:30",
            "2026-04-06T01:15:00+10:30",
        ],
    ),
];

#[test]
fn next_fire_times_across_dst_are_cronsims() {
    for &(tz, expr, start, want) in CASES {
        let s = Schedule::parse(expr, Some(tz)).unwrap();
        let mut t = unix(start);
        let got: Vec<String> = want
            .iter()
            .map(|_| {
                t = s.next_after(t).unwrap();
                s.rfc3339_local(t)
            })
            .collect();
        assert_eq!(got, want, "{expr} in {tz} after {start}");
    }
}

#[test]
fn the_newest_fire_time_at_or_before_agrees_with_the_next_across_dst() {
    for &(tz, expr, start, want) in CASES {
        let s = Schedule::parse(expr, Some(tz)).unwrap();
        let fires: Vec<f64> = want.iter().map(|w| unix(w)).collect();
        for (i, &fire) in fires.iter().enumerate() {
            assert_eq!(
                s.prev_at_or_before(fire),
                Some(fire),
                "{expr} in {tz} at {fire}"
            );
            assert_eq!(
                s.prev_at_or_before(fire + 0.5),
                Some(fire),
                "{expr} in {tz}"
            );
            let before = if i == 0 { None } else { Some(fires[i - 1]) };
            if let Some(before) = before {
                assert_eq!(
                    s.prev_at_or_before(fire - 1.0),
                    Some(before),
                    "{expr} in {tz} before {fire}"
                );
            } else {
                assert!(
                    s.prev_at_or_before(fire - 1.0).unwrap() <= unix(start),
                    "{expr} in {tz}"
                );
            }
        }
    }
}

#[test]
fn started_in_a_repeated_hour_a_fixed_time_already_fired_is_not_next() {
    // 02:15 on the second pass (+01:00): 02:30 fired 15 minutes into the first pass.
    // cronsim's walk hands back that past 02:30 here; hbmon's next is the next day's.
    let s = Schedule::parse("30 2 * * *", Some("Europe/Berlin")).unwrap();
    let t = unix("2026-10-25T02:15:00+01:00");
    assert_eq!(
        s.rfc3339_local(s.next_after(t).unwrap()),
        "2026-10-26T02:30:00+01:00"
    );
    assert_eq!(
        s.rfc3339_local(s.prev_at_or_before(t).unwrap()),
        "2026-10-25T02:30:00+02:00"
    );
}

#[test]
fn a_schedule_that_never_fires_ends_at_once() {
    // The 1st of a month that is also its fourth Monday never comes (cronsim's own case);
    // 50 years of it are searched field by field, and then None.
    let s = Schedule::parse("1 1 */100 * MON#4", Some("Europe/Berlin")).unwrap();
    let t = unix("2026-01-01T00:00:00Z");
    assert_eq!(s.next_after(t), None);
    assert_eq!(s.prev_at_or_before(t), None);
}

#[test]
fn a_rare_schedule_is_found_years_ahead() {
    // The fifth Monday of a February: 2044-02-29 (cronsim's README).
    let s = Schedule::parse("0 0 * 2 MON#5", Some("UTC")).unwrap();
    let t = unix("2020-01-01T00:00:00Z");
    assert_eq!(
        s.rfc3339_local(s.next_after(t).unwrap()),
        "2044-02-29T00:00:00+00:00"
    );
    assert_eq!(
        s.rfc3339_local(s.prev_at_or_before(t).unwrap()),
        "2016-02-29T00:00:00+00:00"
    );
}
