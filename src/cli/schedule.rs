//! `hbmon schedule EXPR [--tz TZ] [--after TIME] [--count N] [--json]`: a cron schedule in
//! words and its next fire times, each in the schedule's zone and in UTC (as
//! `systemd-analyze calendar --iterations` shows a calendar spec).

use std::process::ExitCode;

use clap::Args;

use crate::clock;
use crate::cron::{self, Schedule};
use crate::duration;

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// A cron expression, quoted: five fields (minute hour day-of-month month day-of-week)
    /// or a macro such as @daily.
    #[arg(allow_hyphen_values = true)]
    pub expr: String,
    /// The IANA time zone it runs in, e.g. Europe/Berlin (default: the machine's).
    #[arg(long, value_name = "TZ")]
    pub tz: Option<String>,
    /// List the fire times after this RFC 3339 time, e.g. 2026-03-29T00:00:00Z (default: now).
    #[arg(long, value_parser = clock::parse_rfc3339, value_name = "TIME", allow_hyphen_values = true)]
    pub after: Option<f64>,
    /// How many fire times to list (1-1000).
    #[arg(long, default_value_t = 5, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub count: u16,
    /// Print a JSON array of the fire times: `{"unix", "utc", "local"}` each.
    #[arg(long)]
    pub json: bool,
}

/// `--schedule EXPR [--tz TZ]` of `hbmon run` and `hbmon beat`: a job's cron schedule,
/// written to its entry as `schedule` and `tz`, promised as `--interval` promises a period.
#[derive(Debug, Clone, Default, Args)]
pub struct ScheduleFlags {
    /// The cron schedule the job runs on, quoted (five fields or @daily...): it is overdue
    /// when a fire time plus grace passes without a run. Instead of --interval.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true, conflicts_with = "interval",
          value_parser = |e: &str| Schedule::parse(e, Some("UTC")).map(|_| e.to_owned()))]
    pub schedule: Option<String>,
    /// The IANA time zone of --schedule, e.g. Europe/Berlin (default: the machine's).
    #[arg(long, value_name = "TZ", requires = "schedule",
          value_parser = |z: &str| Schedule::parse("@daily", Some(z)).map(|_| z.to_owned()))]
    pub tz: Option<String>,
}

impl ScheduleFlags {
    /// The schedule promised, if any (each flag was checked as clap parsed it).
    pub fn schedule(&self) -> Result<Option<Schedule>, cron::ScheduleError> {
        self.schedule
            .as_deref()
            .map(|expr| Schedule::parse(expr, self.tz.as_deref()))
            .transpose()
    }
}

pub fn schedule(args: &ScheduleArgs) -> anyhow::Result<ExitCode> {
    let schedule = Schedule::parse(&args.expr, args.tz.as_deref())?;
    let after = args.after.unwrap_or_else(clock::unix_now);
    let fires: Vec<f64> =
        std::iter::successors(schedule.next_after(after), |&t| schedule.next_after(t))
            .take(usize::from(args.count))
            .collect();
    if args.json {
        let rows: Vec<serde_json::Value> = fires
            .iter()
            .map(|&t| {
                serde_json::json!({
                    "unix": t as i64,
                    "utc": cron::rfc3339_utc(t),
                    "local": schedule.rfc3339_local(t),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(ExitCode::SUCCESS);
    }
    // The expression is the user's own, but it may hold anything a shell can pass.
    let expr = crate::text::escape(schedule.expr());
    println!("     Schedule: {expr}");
    println!(
        "    Explained: {}",
        crate::text::escape(&schedule.explain())
    );
    println!("        After: {}", cron::display_utc(after));
    if fires.is_empty() {
        println!("  Next elapse: never (none within 50 years)");
    }
    let from = if args.after.is_some() {
        "From --after"
    } else {
        "From now"
    };
    for (i, &t) in fires.iter().enumerate() {
        let label = if i == 0 {
            "Next elapse".to_owned()
        } else {
            format!("Iteration #{}", i + 1)
        };
        println!("{label:>13}: {}", schedule.display_local(t));
        println!("     (in UTC): {}", cron::display_utc(t));
        println!("{from:>13}: in {}", duration::format_secs(t - after));
    }
    Ok(ExitCode::SUCCESS)
}
