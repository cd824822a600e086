//! A schedule in words, for `hbmon schedule` and the UI: `at 03:00 every day`,
//! `every 15 minutes on Monday through Friday`, `at 00:00 on the last day of the month`.

use super::field::{Field, Kind};
use super::walk::Spec;

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// At most this many times of day are listed one by one (`at 09:00, 12:00 and 18:00`).
const MAX_TIMES: u32 = 6;

pub fn explain(spec: &Spec) -> String {
    let (time, fixed) = time_phrase(spec);
    let day = day_phrase(spec);
    let mut out = time;
    match day {
        // "every 15 minutes every day" says nothing more than "every 15 minutes".
        None if !fixed => {}
        None => out.push_str(" every day"),
        Some(day) => {
            out.push(' ');
            out.push_str(&day);
        }
    }
    if spec.month.values != Kind::Month.full() {
        let months: Vec<u32> = spec.month.list().collect();
        out.push_str(" in ");
        out.push_str(&join(
            &runs(&months, 1)
                .into_iter()
                .map(|(a, b)| span(a, b, " through ", |m| MONTH_NAMES[m as usize - 1].into()))
                .collect::<Vec<_>>(),
            "and",
        ));
    }
    out
}

/// The time of day, and whether it is a list of fixed times (then "every day" is said).
fn time_phrase(spec: &Spec) -> (String, bool) {
    let minutes: Vec<u32> = spec.minute.list().collect();
    let hours: Vec<u32> = spec.hour.list().collect();
    let every_hour = spec.hour.values == Kind::Hour.full();
    let every_minute = spec.minute.values == Kind::Minute.full();
    if !every_hour && (minutes.len() * hours.len()) as u32 <= MAX_TIMES {
        let times: Vec<String> = hours
            .iter()
            .flat_map(|h| minutes.iter().map(move |m| format!("{h:02}:{m:02}")))
            .collect();
        return (format!("at {}", join(&times, "and")), true);
    }
    let minute = if every_minute {
        "every minute".to_owned()
    } else if let Some(step) = step_from_zero(&minutes, 60) {
        format!("every {step} minutes")
    } else {
        let plural = if minutes.len() == 1 { "" } else { "s" };
        format!("at minute{plural} {}", numbers(&minutes))
    };
    let hour = if every_hour {
        if every_minute || step_from_zero(&minutes, 60).is_some() {
            String::new()
        } else {
            " past every hour".to_owned()
        }
    } else if let Some(step) = step_from_zero(&hours, 24) {
        format!(" past every {step} hours")
    } else {
        let plural = if hours.len() == 1 { "" } else { "s" };
        format!(" past hour{plural} {}", numbers(&hours))
    };
    (minute + &hour, false)
}

/// The days, or None for every day.
fn day_phrase(spec: &Spec) -> Option<String> {
    let every_date = spec.day.values == Kind::Day.full() && !spec.day.has_extras();
    let every_weekday = spec.weekday.sunday_folded() == 0x7f;
    let dom = (!every_date).then(|| day_of_month(&spec.day));
    let dow = (!every_weekday).then(|| day_of_week(&spec.weekday));
    match (dom, dow) {
        (None, None) => None,
        (Some(one), None) | (None, Some(one)) => Some(format!("on {one}")),
        (Some(dom), Some(dow)) if spec.day_and => Some(format!("on {dom} if it is {dow}")),
        (Some(dom), Some(dow)) => Some(format!("on {dom} and on {dow}")),
    }
}

fn day_of_month(day: &Field) -> String {
    let days: Vec<u32> = day.list().collect();
    let mut items: Vec<String> = runs(&days, 3)
        .into_iter()
        .map(|(a, b)| span(a, b, "-", |v| v.to_string()))
        .collect();
    if day.last {
        items.push("the last day".to_owned());
    }
    if day.last_weekday {
        items.push("the last weekday".to_owned());
    }
    let prefix = match days.len() {
        0 => "",
        1 => "day ",
        _ => "days ",
    };
    format!("{prefix}{} of the month", join(&items, "and"))
}

fn day_of_week(weekday: &Field) -> String {
    let mut items = Vec::new();
    let days: Vec<u32> = (0..7)
        .filter(|d| weekday.sunday_folded() >> d & 1 == 1)
        .collect();
    // A week read from Monday: MON-FRI is "Monday through Friday", SAT-SUN a weekend.
    let mut from_monday: Vec<u32> = days.iter().map(|d| (d + 6) % 7).collect();
    from_monday.sort_unstable();
    items.extend(runs(&from_monday, 3).into_iter().map(|(a, b)| {
        span(a, b, " through ", |d| {
            DAY_NAMES[(d as usize + 1) % 7].into()
        })
    }));
    let mut monthly = Vec::new();
    for (d, name) in DAY_NAMES.iter().enumerate() {
        for (k, ordinal) in ["first", "second", "third", "fourth", "fifth"]
            .iter()
            .enumerate()
        {
            if weekday.nth[k + 1] >> d & 1 == 1 {
                monthly.push(format!("the {ordinal} {name}"));
            }
        }
        if weekday.last_of >> d & 1 == 1 {
            monthly.push(format!("the last {name}"));
        }
    }
    if !monthly.is_empty() {
        items.push(format!("{} of the month", join(&monthly, "and")));
    }
    join(&items, "and")
}

/// `values` as `a, b, c through d and e`.
fn numbers(values: &[u32]) -> String {
    join(
        &runs(values, 3)
            .into_iter()
            .map(|(a, b)| span(a, b, "-", |v| v.to_string()))
            .collect::<Vec<_>>(),
        "and",
    )
}

fn span(a: u32, b: u32, to: &str, name: impl Fn(u32) -> String) -> String {
    if a == b {
        name(a)
    } else {
        format!("{}{to}{}", name(a), name(b))
    }
}

/// Sorted `values` as runs of consecutive values; a run shorter than `min_run` is split
/// into single values.
fn runs(values: &[u32], min_run: usize) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        if j - i + 1 >= min_run {
            out.push((values[i], values[j]));
        } else {
            out.extend(values[i..=j].iter().map(|&v| (v, v)));
        }
        i = j + 1;
    }
    out
}

/// `n` when `values` is 0, n, 2n, … up to the field's end (`*/n`), n > 1.
fn step_from_zero(values: &[u32], modulus: u32) -> Option<u32> {
    let step = *values.get(1)?;
    let all_steps = values.first() == Some(&0)
        && values
            .iter()
            .enumerate()
            .all(|(i, &v)| v == i as u32 * step)
        && values.last().is_some_and(|&last| last + step >= modulus);
    (step > 1 && all_steps).then_some(step)
}

fn join(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use crate::cron::Schedule;

    #[test]
    fn schedules_read_as_words() {
        let cases = [
            ("0 3 * * *", "at 03:00 every day"),
            ("@hourly", "at minute 0 past every hour"),
            ("* * * * *", "every minute"),
            ("*/15 * * * *", "every 15 minutes"),
            (
                "*/15 9-17 * * MON-FRI",
                "every 15 minutes past hours 9-17 on Monday through Friday",
            ),
            ("0 */2 * * *", "at minute 0 past every 2 hours"),
            ("30 9,18 * * *", "at 09:30 and 18:30 every day"),
            ("0 0 1 * *", "at 00:00 on day 1 of the month"),
            ("0 0 L * *", "at 00:00 on the last day of the month"),
            (
                "0 0 1,15,LW * *",
                "at 00:00 on days 1, 15 and the last weekday of the month",
            ),
            ("0 0 * * 5L", "at 00:00 on the last Friday of the month"),
            (
                "0 0 * * MON#2,SUN",
                "at 00:00 on Sunday and the second Monday of the month",
            ),
            ("0 0 * * SAT,SUN", "at 00:00 on Saturday and Sunday"),
            (
                "0 0 1 * MON",
                "at 00:00 on day 1 of the month and on Monday",
            ),
            (
                "0 0 */2 * MON",
                "at 00:00 on days 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29 and 31 of the month if it is Monday",
            ),
            (
                "0 12 * JAN-MAR,DEC *",
                "at 12:00 every day in January through March and December",
            ),
            ("5,10 * * * *", "at minutes 5 and 10 past every hour"),
        ];
        for (expr, want) in cases {
            let s = Schedule::parse(expr, Some("Europe/Berlin")).unwrap();
            assert_eq!(s.explain(), format!("{want} (Europe/Berlin)"), "{expr}");
        }
    }
}
