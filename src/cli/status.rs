//! `hbmon status`: judge every process once, print the table or the JSON document, and
//! exit with the Nagios plugin code (0 ok, 1 warning, 2 critical, 3 unknown).

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use crate::config::Config;
use crate::paths::FileLocation;
use crate::report::{self, Report, json, table};
use crate::text;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only these processes (heartbeat names or config labels); an unknown one exits 3.
    pub names: Vec<String>,
    /// Print one JSON document (every computed field) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also list additional processes that stopped cleanly (hidden from the table by
    /// default: they need no attention and pile up from one-off runs; named ones are
    /// always shown).
    #[arg(long)]
    pub all: bool,
    /// Measure CPU use, which takes a ~200 ms sample: auto (only for a table on a
    /// terminal), always, or never (CPU shows as "-", null in JSON).
    #[arg(long, value_enum, default_value_t = CpuSample::Auto, value_name = "WHEN")]
    pub cpu: CpuSample,
}

/// When `hbmon status` spends a short sample on measuring CPU use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CpuSample {
    Auto,
    Always,
    Never,
}

/// Runs `hbmon status`. Errors are not returned: they mean "unknown" (exit 3), printed —
/// a missing file with nothing configured, an unreadable file or config, an unknown name.
pub fn status(location: &FileLocation, explicit: Option<&Path>, args: &StatusArgs) -> ExitCode {
    match judge(location, explicit, args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("hbmon: {}", text::escape(&format!("{err:#}")));
            ExitCode::from(report::UNKNOWN_EXIT_CODE)
        }
    }
}

fn judge(
    location: &FileLocation,
    explicit: Option<&Path>,
    args: &StatusArgs,
) -> anyhow::Result<u8> {
    let (config, config_path) = Config::load(explicit, &location.path)?;
    let terminal = std::io::stdout().is_terminal();
    let sample = match args.cpu {
        CpuSample::Auto => terminal && !args.json,
        CpuSample::Always => true,
        CpuSample::Never => false,
    };
    let mut report = crate::manage::judge(location, &config, sample)?;
    // Nothing to judge, or a name that is nowhere: unknown. With --json that is still a
    // document (its `unknown` says why), so a `| jq` pipeline gets input.
    let selected = if args.names.is_empty() {
        // No names: the report as it is, not a copy of every row.
        Ok(None)
    } else {
        report.select(&args.names).map(Some)
    };
    let unknown = match selected {
        Ok(None) => report::nothing_to_judge(&location.path, &report),
        Ok(Some(selected)) => {
            report = selected;
            report::nothing_to_judge(&location.path, &report)
        }
        Err(missing) => {
            report.rows.clear();
            report.invalid.clear();
            Some(format!(
                "no process {missing:?} in {} or the config",
                location.path.display()
            ))
        }
    };
    let code = if unknown.is_some() {
        report::UNKNOWN_EXIT_CODE
    } else {
        report.exit_code()
    };
    if args.json {
        let mut document =
            json::Document::new(&report, &location.path, config_path.as_deref(), code);
        document.unknown.clone_from(&unknown);
        println!("{}", serde_json::to_string_pretty(&document)?);
        if let Some(why) = unknown {
            eprintln!("hbmon: {}", text::escape(&why));
        }
        return Ok(code);
    }
    if let Some(why) = unknown {
        anyhow::bail!(why);
    }
    let styled = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    // A process asked for by name is shown whatever its state.
    let hidden = if args.all || !args.names.is_empty() {
        0
    } else {
        hide_stopped_additional(&mut report)
    };
    println!("{}", header(location, config_path.as_deref()));
    println!();
    print!("{}", table::render(&report, width(terminal), styled));
    if hidden > 0 {
        println!(
            "{hidden} additional process{} stopped cleanly, not shown (--all shows {})",
            if hidden == 1 { "" } else { "es" },
            if hidden == 1 { "it" } else { "them" }
        );
    }
    Ok(code)
}

/// Removes additional (unconfigured) rows that stopped cleanly; returns how many.
fn hide_stopped_additional(report: &mut Report) -> usize {
    let before = report.rows.len();
    report.rows.retain(|r| !r.stopped_additional());
    before - report.rows.len()
}

fn header(location: &FileLocation, config: Option<&Path>) -> String {
    let config = config.map_or_else(
        || "no config (built-in defaults)".to_owned(),
        |p| format!("config {}", p.display()),
    );
    format!("hbmon status — {} — {config}", location.path.display())
}

/// The terminal's width; piped, `$COLUMNS` or a generous 160 (use --json to parse).
fn width(terminal: bool) -> usize {
    let size = terminal
        .then(crossterm::terminal::size)
        .and_then(Result::ok)
        .map(|(w, _)| usize::from(w));
    size.or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
        .unwrap_or(160)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::FakeProbe;
    use crate::store::{Entry, Snapshot};

    fn report(names: &[&str]) -> Report {
        let snapshot = Snapshot {
            entries: names
                .iter()
                .map(|n| {
                    let entry = Entry {
                        last_heartbeat: 100.0,
                        ..Entry::default()
                    };
                    ((*n).to_owned(), entry.into())
                })
                .collect(),
            invalid: vec![("broken".into(), "missing last_heartbeat".into())],
        };
        let config = Config::parse(
            "[[process]]\nname = \"a\"\nlabel = \"Alpha\"\n",
            Path::new("hbmon.toml"),
        )
        .unwrap();
        report::build(&snapshot, &config, &mut FakeProbe::default(), 101.0)
    }

    #[test]
    fn invalid_entries_make_at_least_a_warning() {
        let mut r = report(&["a"]);
        assert_eq!(r.exit_code(), 1);
        r.invalid.clear();
        assert_eq!(r.exit_code(), 0);
    }
}
