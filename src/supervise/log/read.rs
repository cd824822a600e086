//! Reading a supervised process's log back (`hbmon logs`): each line stamped when it was
//! written ([`Stamper`]), the newest lines across its rotated files, and what was appended
//! since a read — a rotation starts the file afresh.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use super::rotated;

/// The most of a log read back at once: a `log_size` far bigger is read from its end.
const READ_CAP: u64 = 64 << 20;

/// Puts the time at the start of each line of one stream's output: chunks come as the
/// pipe gives them, so a line may start in one and end in the next.
#[derive(Debug)]
pub struct Stamper {
    at_line_start: bool,
}

impl Default for Stamper {
    fn default() -> Self {
        Stamper {
            at_line_start: true,
        }
    }
}

impl Stamper {
    /// `chunk` with `stamp` and a space before each line that starts in it.
    pub fn stamp(&mut self, chunk: &[u8], stamp: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len() + stamp.len() + 1);
        for &byte in chunk {
            if self.at_line_start {
                out.extend_from_slice(stamp.as_bytes());
                out.push(b' ');
            }
            out.push(byte);
            self.at_line_start = byte == b'\n';
        }
        out
    }
}

/// The stamp of now: UTC to the millisecond, so stamps sort as text.
pub fn now_stamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The stamp of Unix time `secs`, to compare with a line's (`--since`).
pub fn stamp_of(secs: f64) -> String {
    chrono::DateTime::from_timestamp_millis((secs * 1000.0) as i64)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Opens a log to read, never through a symlink, only a regular file, and only one no
/// other user could have written: supervise writes logs 0600 as this user, so lines in a
/// log another user owns or may write could be anyone's, shown as the process's own.
pub fn open(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    crate::fsafe::check_trusted(path, &meta)
        .map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, e.to_string()))?;
    Ok(file)
}

/// Everything from `offset` on (at most [`READ_CAP`] from the end).
pub fn read_from(file: &mut File, offset: u64) -> io::Result<Vec<u8>> {
    let len = file.metadata()?.len();
    let start = offset.max(len.saturating_sub(READ_CAP));
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(len - start.min(len)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The log's lines, oldest first: its rotated files (`.N` ... `.1`) then the live one, as
/// far back as `enough` lines reach. A file that cannot be read is skipped. With them, the
/// live file as it was read and the offset its lines end at, so that a follower goes on
/// from exactly there: a line written between the two reads is neither lost nor doubled.
pub fn lines(path: &Path, enough: usize) -> (Vec<String>, Option<(File, u64)>) {
    let mut files = Vec::new();
    let mut live = None;
    let mut count = 0;
    for n in 0..=100 {
        let Ok(mut file) = open(&rotated(path, n)) else {
            if n > 0 {
                break;
            }
            continue;
        };
        if n == 0 {
            // A line still being written is the follower's.
            let (start, text) = whole_lines_at_end(&mut file, READ_CAP);
            let end = start + text.len() as u64;
            count += text.split(|&b| b == b'\n').count() - 1;
            files.push(text);
            live = Some((file, end));
        } else {
            let text = read_from(&mut file, 0).unwrap_or_default();
            count += text.split(|&b| b == b'\n').count() - 1;
            files.push(text);
        }
        if count >= enough {
            break;
        }
    }
    let lines = files
        .iter()
        .rev()
        .flat_map(|bytes| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    (lines, live)
}

/// The file's last `cap` bytes as they are now, up to the end of its last whole line, and
/// the offset they start at (a read that fails gives what it read).
fn whole_lines_at_end(file: &mut File, cap: u64) -> (u64, Vec<u8>) {
    let start = file.metadata().map_or(0, |m| m.len().saturating_sub(cap));
    let mut text = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_ok() {
        let _ = file.read_to_end(&mut text);
    }
    text.truncate(text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1));
    (start, text)
}

/// The most of a log's end [`tail`] reads: a screen's few lines, never the whole file.
const TAIL_BYTES: u64 = 16 << 10;

/// The last `n` whole lines of the live log at `path` (none when it is absent or refused),
/// read from at most its last [`TAIL_BYTES`]: cheap enough to read for a screen every few
/// seconds, as [`open`] never blocks (no FIFO) and never follows a link.
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(mut file) = open(path) else {
        return Vec::new();
    };
    let (start, text) = whole_lines_at_end(&mut file, TAIL_BYTES);
    // Read from the middle of the file, the first line may be cut: it is not taken.
    let whole = if start > 0 {
        text.iter()
            .position(|&b| b == b'\n')
            .map_or(&[][..], |i| &text[i + 1..])
    } else {
        &text[..]
    };
    let lines: Vec<String> = String::from_utf8_lossy(whole)
        .lines()
        .map(str::to_owned)
        .collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// Whether `line` was written at or after `since` (a stamp of [`stamp_of`]); a line
/// without a stamp is taken.
pub fn written_since(line: &str, since: &str) -> bool {
    match line.split_once(' ') {
        Some((stamp, _)) if stamp.len() == since.len() && stamp.ends_with('Z') => stamp >= since,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn each_line_is_stamped_once_across_chunks() {
        let mut s = Stamper::default();
        let mut out = s.stamp(b"one\ntw", "T1");
        out.extend(s.stamp(b"o\nthree", "T2"));
        out.extend(s.stamp(b"\n", "T3"));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "T1 one\nT1 two\nT2 three\n"
        );
    }

    #[test]
    fn lines_reach_back_into_rotated_files_and_since_filters_by_stamp() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a.log");
        std::fs::write(rotated(&path, 2), "x 0\n").unwrap();
        std::fs::write(rotated(&path, 1), "2026-01-01T00:00:01.000Z one\n").unwrap();
        std::fs::write(
            &path,
            "2026-01-01T00:00:02.000Z two\n2026-01-01T00:00:03.000Z three\n",
        )
        .unwrap();
        assert_eq!(lines(&path, 2).0.len(), 2);
        let (all, _) = lines(&path, 10);
        assert_eq!(all.len(), 4);
        assert_eq!(all[0], "x 0");
        let since = stamp_of(1_767_225_602.0);
        assert_eq!(since, "2026-01-01T00:00:02.000Z");
        let kept: Vec<&String> = all.iter().filter(|l| written_since(l, &since)).collect();
        assert_eq!(kept.len(), 3, "{kept:?}");
    }

    #[test]
    fn a_follower_goes_on_where_the_lines_end_and_a_half_written_line_is_its() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a.log");
        std::fs::write(&path, "one\ntwo\nthr").unwrap();
        let (lines, live) = lines(&path, 10);
        assert_eq!(lines, ["one", "two"]);
        let (mut file, end) = live.unwrap();
        assert_eq!(end, 8);
        // Written after the lines were read: the follower's, from `end`.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"ee\nfour\n")
            .unwrap();
        assert_eq!(read_from(&mut file, end).unwrap(), b"three\nfour\n");
    }

    #[test]
    fn a_log_is_not_read_through_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = tmp.path().join("secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let path = tmp.path().join("a.log");
        std::os::unix::fs::symlink(&secret, &path).unwrap();
        assert!(open(&path).is_err());
        assert!(lines(&path, 10).0.is_empty());
    }

    #[test]
    fn a_tail_is_the_last_whole_lines_and_nothing_through_a_link_or_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        assert!(tail(&log, 5).is_empty(), "no log: no lines");
        std::fs::write(&log, "one\ntwo\nthree\nhalf").unwrap();
        // A line still being written is not a line yet.
        assert_eq!(tail(&log, 2), ["two", "three"]);
        assert_eq!(tail(&log, 10), ["one", "two", "three"]);
        // A log far longer than is read: the line cut at the start of the read is left out.
        let written = (0..5000).map(|i| format!("line {i}\n")).collect::<Vec<_>>();
        std::fs::write(&log, written.concat()).unwrap();
        assert_eq!(tail(&log, 3), ["line 4997", "line 4998", "line 4999"]);
        let all = tail(&log, usize::MAX);
        assert!(all.len() < 5000, "more than the end was read");
        assert!(
            all.iter().all(|l| l.starts_with("line ")),
            "a cut line: {all:?}"
        );
        let link = dir.path().join("link.log");
        std::os::unix::fs::symlink(&log, &link).unwrap();
        assert!(tail(&link, 3).is_empty(), "read through a link");
        let fifo = dir.path().join("fifo.log");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert!(tail(&fifo, 3).is_empty(), "read from a FIFO");
    }
}
