//! `hbmon logs NAME [-f] [-n N] [--since D]`: a supervised process's output, as `hbmon
//! serve` captured it in `logs/NAME.log` (and its rotated files), like `pm2 logs` or
//! `journalctl -u`. Every line is printed escaped: the output is the process's, and a
//! control sequence in it must not reach the terminal.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::duration;
use crate::paths::FileLocation;
use crate::supervise::log::{self, read};
use crate::text;

/// How often `-f` looks for more.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The heartbeat name or its configured label.
    pub name: String,
    /// Keep printing what is written, as `tail -f` (across rotations), until interrupted.
    #[arg(short, long)]
    pub follow: bool,
    /// Print the last N lines first (0: none).
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 50)]
    pub lines: usize,
    /// Only lines written within this span, e.g. 10m, 2h.
    #[arg(long, allow_hyphen_values = true, value_parser = duration::parse, value_name = "D")]
    pub since: Option<Duration>,
}

/// `name`: the heartbeat name (a label the user gave is already turned into it).
pub fn logs(location: &FileLocation, name: &str, args: &LogsArgs) -> anyhow::Result<ExitCode> {
    let path = log::path(&log::dir(&location.path), name);
    match read::open(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !args.follow => anyhow::bail!(
            "no log for {:?} at {}: only a process hbmon serve runs (`run` in its \
             [[process]]) has one",
            text::escape(name),
            path.display()
        ),
        // Something is there that is not a log to read (a FIFO, a link, another kind of
        // file): say what, rather than that nothing is.
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            anyhow::bail!("cannot read the log at {}: {e}", path.display())
        }
        _ => {}
    }
    let since = args
        .since
        .map(|d| read::stamp_of(crate::clock::unix_now() - d.as_secs_f64()));
    let mut out = std::io::stdout().lock();
    let print = |out: &mut std::io::StdoutLock<'_>, line: &str| -> std::io::Result<()> {
        if since
            .as_deref()
            .is_none_or(|s| read::written_since(line, s))
        {
            writeln!(out, "{}", text::escape(line))?;
        }
        Ok(())
    };
    let (tail, at_end) = read::lines(&path, args.lines.max(1));
    if args.lines > 0 {
        for line in &tail[tail.len().saturating_sub(args.lines)..] {
            print(&mut out, line)?;
        }
    }
    out.flush()?;
    if !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    // From where the lines above end, in the very file they came from; a file that shrank
    // or was replaced (rotated) is read again from its start.
    let (mut file, mut offset) = match at_end {
        Some((file, end)) => (Some(file), end),
        None => (None, 0),
    };
    let mut partial = String::new();
    loop {
        std::thread::sleep(FOLLOW_EVERY);
        let now = read::open(&path).ok();
        let replaced = match (&file, &now) {
            (Some(old), Some(new)) => !same_file(old, new),
            (None, Some(_)) => true,
            _ => false,
        };
        if replaced {
            // What the old file got before it was rotated away, then the new one.
            if let Some(old) = file.as_mut() {
                drain(old, &mut offset, &mut partial)?;
            }
            file = now;
            offset = 0;
        }
        let Some(f) = file.as_mut() else { continue };
        drain(f, &mut offset, &mut partial)?;
        // Whole lines only: the rest waits for its end.
        while let Some(end) = partial.find('\n') {
            let line: String = partial.drain(..=end).collect();
            print(&mut out, line.trim_end_matches('\n'))?;
        }
        out.flush()?;
    }
}

/// Appends to `partial` what `file` has past `offset` (from its start if it shrank).
fn drain(file: &mut std::fs::File, offset: &mut u64, partial: &mut String) -> std::io::Result<()> {
    let len = file.metadata().map_or(0, |m| m.len());
    if len < *offset {
        *offset = 0;
    }
    if len == *offset {
        return Ok(());
    }
    let bytes = read::read_from(file, *offset)?;
    *offset += bytes.len() as u64;
    partial.push_str(&String::from_utf8_lossy(&bytes));
    Ok(())
}

fn same_file(a: &std::fs::File, b: &std::fs::File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (a.metadata(), b.metadata()) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}
