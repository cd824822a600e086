//! `hbmon beat`'s command line, parsed by a clap command of `beat` alone. A script beats by
//! running `hbmon beat` once per beat, and clap builds every argument of every command
//! before it parses one: for a beat that was a fifth of its instructions (BENCHMARKS.md §7).
//! Only a line whose command is certainly `beat` comes here — nothing before it but
//! `--file` and `--config` — and a line it refuses, or `--help`, goes on to the whole
//! parser, so help and errors are the whole parser's own (the tests below hold the two
//! side by side on the lines both take).

use std::ffi::OsString;

use clap::{Parser, Subcommand};

use super::Files;
use super::beat::{ABOUT, BeatArgs};

/// The command line of `hbmon beat`: the same program name, flags and subcommand as the
/// whole `Cli`, with no other subcommand.
#[derive(Debug, Parser)]
#[command(name = "hbmon")]
struct BeatLine {
    #[command(flatten)]
    files: Files,
    #[command(subcommand)]
    command: Only,
}

#[derive(Debug, Subcommand)]
enum Only {
    #[command(about = ABOUT)]
    Beat(BeatArgs),
}

/// `args` (the program's name first) parsed, if its command is `beat`; `None` for any
/// other line, which the whole parser takes. So is a line this one refuses, and `--help`:
/// the whole parser says those as it always has (its usage line, its "did you mean"), and
/// only they pay for building it.
pub fn parse(args: &[OsString]) -> Option<(Files, BeatArgs)> {
    try_parse(args)?.ok()
}

fn try_parse(args: &[OsString]) -> Option<Result<(Files, BeatArgs), clap::Error>> {
    is_beat(args).then(|| {
        BeatLine::try_parse_from(args).map(|line| match line.command {
            Only::Beat(beat) => (line.files, beat),
        })
    })
}

/// Whether the first word of `args` after the program's name that is not `--file` or
/// `--config` (with its value) is `beat`. Anything else before it — another flag, a
/// misspelling, a value that is not UTF-8 — is for the whole parser to judge.
fn is_beat(args: &[OsString]) -> bool {
    let mut words = args.iter().skip(1).map(|a| a.to_str());
    while let Some(word) = words.next() {
        match word {
            Some("beat") => return true,
            Some("--file" | "--config") => {
                words.next();
            }
            Some(w) if w.starts_with("--file=") || w.starts_with("--config=") => {}
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};

    fn line(words: &[&str]) -> Vec<OsString> {
        std::iter::once("hbmon")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// What a parse gave, in one comparable text: the flags and the beat, or clap's
    /// refusal (or help) as it would print it, with its kind and exit code.
    fn outcome(parsed: Result<(Files, BeatArgs), clap::Error>) -> String {
        match parsed {
            Ok((files, beat)) => format!("ok {files:?} {beat:?}"),
            Err(e) => format!("{:?} exit {}: {}", e.kind(), e.exit_code(), e.render()),
        }
    }

    fn whole(args: &[OsString]) -> Result<(Files, BeatArgs), clap::Error> {
        Cli::try_parse_from(args).map(|cli| match cli.command {
            Some(Command::Beat(beat)) => (cli.files, beat),
            other => panic!("the whole parser took {args:?} as {other:?}"),
        })
    }

    #[test]
    fn a_beat_line_parses_helps_and_errs_as_the_whole_parser_does() {
        let cases: &[&[&str]] = &[
            &["beat", "w"],
            &["beat", "w", "-q", "--pid", "4242"],
            &["--file", "f.json", "beat", "w"],
            &["--file=f.json", "--config", "c.toml", "beat", "w"],
            &["--file", "beat", "beat", "w"],
            &["beat", "w", "--file", "f.json", "--config=c.toml", "-qv"],
            &[
                "beat",
                "w",
                "--interval",
                "5m",
                "--set",
                "a=1",
                "--set",
                "b=x y",
            ],
            &[
                "beat",
                "w",
                "--data",
                r#"{"queue": 3}"#,
                "--kind",
                "job",
                "--no-pid",
            ],
            &[
                "beat",
                "w",
                "--schedule",
                "*/5 * * * *",
                "--tz",
                "Europe/Berlin",
            ],
            &[
                "beat",
                "w",
                "--start",
                "--run-id",
                "9f0e3c1a-52d4-4d7b-8f39-0c6c1f7b2a11",
            ],
            &["beat", "w", "--exit-code", "3", "--error", "disk full"],
            &["beat", "--help"],
            &["beat", "-h"],
            &["beat", "w", "--help"],
            &["beat"],
            &["beat", "bad name\u{7}"],
            &["beat", "w", "--kind", "cron"],
            &["beat", "w", "--pid", "0"],
            &["beat", "w", "--no-pid", "--pid", "3"],
            &["beat", "w", "--data", "{}", "--set", "a=1"],
            &["beat", "w", "--data", "{nope"],
            &["beat", "w", "--interval", "-5s"],
            &["beat", "w", "--tz", "UTC"],
            &["beat", "w", "--fil", "x"],
            &["beat", "w", "--refresh", "2s"],
            &["beat", "w", "--version"],
            &["beat", "w", "extra"],
            &["--config", "c.toml", "beat", "w", "--start", "--stopped"],
        ];
        let mut parsed = 0;
        for words in cases {
            let args = line(words);
            let fast = outcome(try_parse(&args).unwrap_or_else(|| panic!("{words:?} not taken")));
            assert_eq!(fast, outcome(whole(&args)), "{words:?}");
            parsed += usize::from(fast.starts_with("ok "));
        }
        // The first eleven lines are good ones: a parser refusing everything alike is caught.
        assert_eq!(parsed, 11);
    }

    #[test]
    fn only_a_line_whose_command_is_beat_is_taken() {
        let cases: &[(&[&str], bool)] = &[
            (&["beat", "w"], true),
            (&["--file", "f", "beat"], true),
            (&["--config=c", "beat", "w"], true),
            (&[], false),
            (&["status"], false),
            (&["help", "beat"], false),
            (&["--file"], false),
            (&["--file", "f"], false),
            (&["--refresh", "2s", "beat", "w"], false),
            (&["-h", "beat"], false),
            (&["--version"], false),
            (&["beats", "w"], false),
            (&["--files=f", "beat", "w"], false),
            (&["rm", "beat"], false),
        ];
        for (words, taken) in cases {
            assert_eq!(try_parse(&line(words)).is_some(), *taken, "{words:?}");
        }
    }
}
