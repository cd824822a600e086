//! `hbmon status`: judge every process once, print the table or the JSON document, and
//! exit with the Nagios plugin code (0 ok, 1 warning, 2 critical, 3 unknown).

use std::io::{IsTerminal, Write as _};
use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use crate::config::Config;
use crate::paths::FileLocation;
use crate::remote::{self, Remote};
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
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `--remote URL [--token T]`, for `hbmon status` and the UI.
#[derive(Debug, Default, Args)]
pub struct RemoteArgs {
    /// Also show the processes another machine's `hbmon serve` judged (its base URL, such
    /// as https://box2:4266; repeatable, added to the config's [[remote]]s), with a HOST
    /// column; one that cannot be read is a line (for `status`: exit 3 unless something
    /// is critical).
    #[arg(long = "remote", value_name = "URL")]
    pub remotes: Vec<String>,
    /// The bearer token --remote sends: once for every --remote, or once per --remote
    /// in their order.
    #[arg(long = "token", value_name = "TOKEN", requires = "remotes")]
    pub tokens: Vec<String>,
}

impl RemoteArgs {
    /// The remotes to read: the config's `[[remote]]`s (a relative `token_file` beside
    /// the config at `config_path`), then `--remote`'s URLs with their `--token`s; each
    /// named distinctly. An inline token in a config others may read is warned of.
    pub fn remotes(
        &self,
        config: &Config,
        config_path: Option<&Path>,
    ) -> anyhow::Result<Vec<Remote>> {
        if let Some(warning) =
            config_path.and_then(|path| remote::readable_token_warning(config, path))
        {
            eprintln!("hbmon: {warning}");
        }
        let dir = config_path.map_or(Path::new("."), crate::fsafe::dir_of);
        let mut remotes = remote::configured(config, dir)?;
        let token = |i: usize| match self.tokens.len() {
            0 => Ok(None),
            1 => Ok(Some(self.tokens[0].clone())),
            n if n == self.remotes.len() => Ok(Some(self.tokens[i].clone())),
            n => Err(anyhow::anyhow!(
                "{n} --token for {} --remote: give one for all, or one for each",
                self.remotes.len()
            )),
        };
        for (i, url) in self.remotes.iter().enumerate() {
            remotes.push(Remote::from_url(url, token(i)?)?);
        }
        remote::distinct(&mut remotes);
        Ok(remotes)
    }
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
    let remotes = args.remote.remotes(&config, config_path.as_deref())?;
    let fetched = remote::fetch_all(&remotes);
    if !remotes.is_empty() {
        let host = remote::local_host(&report);
        remote::merge(&mut report, &host, &fetched);
    }
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
        remote::exit_code(report.exit_code(), &fetched)
    };
    if args.json {
        let mut document =
            json::Document::new(&report, &location.path, config_path.as_deref(), code);
        document.unknown.clone_from(&unknown);
        // Written straight from the rows (a tree of every field first was most of the
        // time at 10 000 rows); remote rows are spliced into a tree of their own.
        let mut text = if remotes.is_empty() {
            json::to_sorted_pretty(&document)?
        } else {
            let mut document = serde_json::to_value(&document)?;
            with_remotes(&mut document, &report, &fetched);
            json::to_sorted_pretty(&document)?
        };
        text.push(b'\n');
        std::io::stdout().lock().write_all(&text)?;
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
    for f in &fetched {
        if let Err(why) = &f.result {
            println!("{}", remote::unreachable_line(&f.name, f.at, f.at, why));
        }
    }
    if hidden > 0 {
        println!(
            "{hidden} additional process{} stopped cleanly, not shown (--all shows {})",
            if hidden == 1 { "" } else { "es" },
            if hidden == 1 { "it" } else { "them" }
        );
    }
    Ok(code)
}

/// `--json` with remotes: each remote row as its serve wrote it (with `host`), and
/// `remotes`, what each one answered.
fn with_remotes(document: &mut serde_json::Value, report: &Report, fetched: &[remote::Fetched]) {
    let raw = remote::raw_processes(fetched);
    if let Some(serde_json::Value::Array(processes)) = document.get_mut("processes") {
        for (process, row) in processes.iter_mut().zip(&report.rows) {
            let key = (row.host.as_deref().unwrap_or(""), row.name.as_str());
            if let (Some(_), Some(&theirs)) = (row.judged_at, raw.get(&key)) {
                process.clone_from(theirs);
            }
        }
    }
    let remotes: Vec<serde_json::Value> = fetched
        .iter()
        .map(|f| {
            let (now, error) = match &f.result {
                Ok(judged) => (Some(judged.now), None),
                Err(why) => (None, Some(why.to_string())),
            };
            serde_json::json!({
                "name": f.name,
                "url": f.url,
                "reachable": error.is_none(),
                "asked_at": f.at,
                "now": now,
                "error": error,
            })
        })
        .collect();
    if let serde_json::Value::Object(fields) = document {
        fields.insert("remotes".into(), remotes.into());
    }
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
