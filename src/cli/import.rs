//! `hbmon import pm2|supervisor|systemd`: reads what another tool runs (a file, standard
//! input, or the tool's own command, bounded in time) and prints `[[process]]` blocks.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use crate::import::{self, ImportError, Imported};

/// How long `pm2 jlist` or `systemctl cat` may take: a hung daemon must not hang hbmon.
const TOOL_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a source may be: a pm2 list of thousands of apps is a few MB.
const MAX_INPUT: u64 = 64 << 20;

#[derive(Debug, Args)]
#[command(after_help = "\
Prints [[process]] blocks (name, run, cwd, env, user, restart, stop_timeout, start_timeout, \
interval) to paste into hbmon.toml; what has no key in hbmon is said in a comment below its \
block. Bad input: one line naming the file and line, exit 2.

Examples:
  pm2 jlist | hbmon import pm2
  hbmon import supervisor /etc/supervisor/conf.d/apps.conf
  hbmon import systemd bidder.service /etc/systemd/system/api.service")]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: Source,
}

#[derive(Debug, Subcommand)]
pub enum Source {
    /// pm2's apps, from `pm2 jlist`: piped in, --from FILE, or run (pm2 on PATH).
    Pm2 {
        /// A file of `pm2 jlist` output (`-`: standard input).
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
    },
    /// supervisord's [program:x] sections of an ini file.
    Supervisor {
        /// The supervisord config (supervisord.conf, or a file of conf.d/).
        file: PathBuf,
    },
    /// systemd services: a unit file's path, or a unit's name (read by `systemctl cat`,
    /// drop-ins included).
    Systemd {
        #[arg(required = true, value_name = "UNIT")]
        units: Vec<String>,
    },
}

pub fn import(args: &ImportArgs) -> ExitCode {
    match read(&args.source) {
        Ok(imported) => {
            print!(
                "{}",
                import::render_all(&imported, &crate::config::check_user)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hbmon: {e}");
            ExitCode::from(2)
        }
    }
}

fn read(source: &Source) -> Result<Vec<Imported>, ImportError> {
    let env = |key: &str| std::env::var(key).ok();
    match source {
        Source::Pm2 { from } => {
            let (text, file) = match from {
                Some(file) => (read_input(file)?, file.clone()),
                None if !std::io::stdin().is_terminal() => {
                    (read_input(Path::new("-"))?, PathBuf::from("-"))
                }
                None => {
                    let file = PathBuf::from("pm2 jlist");
                    (run_tool("pm2", &["jlist"], &file)?, file)
                }
            };
            import::from_jlist(&text, &file, &env)
        }
        Source::Supervisor { file } => import::from_ini(&read_input(file)?, file, &env),
        Source::Systemd { units } => units
            .iter()
            .map(|unit| {
                let path = Path::new(unit);
                let (text, file) = if unit.contains('/') || path.is_file() {
                    (read_input(path)?, path.to_owned())
                } else {
                    let file = PathBuf::from(format!("systemctl cat {unit}"));
                    (run_tool("systemctl", &["cat", "--", unit], &file)?, file)
                };
                import::from_unit(&text, unit, &file)
            })
            .collect(),
    }
}

/// A file's text (`-`: standard input), at most [`MAX_INPUT`] bytes.
fn read_input(file: &Path) -> Result<String, ImportError> {
    let fail = |e: std::io::Error| ImportError::In {
        file: file.to_owned(),
        message: format!("cannot read: {e}"),
    };
    let mut bytes = Vec::new();
    if file == Path::new("-") {
        std::io::stdin().take(MAX_INPUT + 1).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut bytes))
    }
    .map_err(fail)?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(ImportError::In {
            file: file.to_owned(),
            message: format!("more than {} MiB: not a config", MAX_INPUT >> 20),
        });
    }
    String::from_utf8(bytes).map_err(|e| ImportError::In {
        file: file.to_owned(),
        message: format!("not UTF-8 text: {e}"),
    })
}

/// The standard output of `program args`, which must exit 0 within [`TOOL_TIMEOUT`].
fn run_tool(program: &str, args: &[&str], file: &Path) -> Result<String, ImportError> {
    let fail = |message: String| ImportError::In {
        file: file.to_owned(),
        message,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {program}: {e} (give the file instead)")))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    // Read on threads, so a full pipe cannot stall the tool while its time runs.
    let out = std::thread::spawn(move || read_all(stdout.as_mut()));
    let err = std::thread::spawn(move || read_all(stderr.as_mut()));
    let deadline = Instant::now() + TOOL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "{program} did not answer within {}",
                    crate::duration::format(TOOL_TIMEOUT)
                )));
            }
            Err(e) => return Err(fail(format!("cannot wait for {program}: {e}"))),
        }
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if !status.success() {
        let said = String::from_utf8_lossy(&err);
        let said = crate::text::one_line(said.trim());
        return Err(fail(format!("{program} failed ({status}): {said}")));
    }
    String::from_utf8(out).map_err(|e| fail(format!("not UTF-8 text: {e}")))
}

fn read_all(from: Option<&mut impl Read>) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(from) = from {
        let _ = from.take(MAX_INPUT).read_to_end(&mut bytes);
    }
    bytes
}
