//! Linux's `/proc/N/stat`, read once per PID per refresh: the state, CPU ticks, start time
//! and resident pages of every PID a report asks about, in one open and one read each.
//! sysinfo opens four files per PID for the same (`/proc/N`, `stat`, `statm`, and `status`
//! for the thread-group id); at 10 000 entries that sweep was most of serve's idle syscalls.
//! What never changes for one process (its command line, whether it is a thread) is read
//! once, when its PID and start time are new.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Instant;

use super::{Lookup, ProcessInfo};

/// A stat line is a few hundred bytes; anything longer is not one.
const STAT_MAX: u64 = 4096;
/// Command lines past this are shown cut: one planted 2 MB argument list must not be held
/// once per entry naming its PID.
const CMDLINE_MAX: u64 = 256 * 1024;
/// `PF_KTHREAD` in a stat line's flags: a kernel thread, which no heartbeat writer is.
const PF_KTHREAD: u64 = 0x0020_0000;

/// The fields of one `/proc/N/stat` line that a lookup needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Stat {
    /// `comm`: the executable's short name, as the kernel keeps it (may hold spaces and
    /// parentheses: the process names itself).
    pub comm: String,
    /// `R`, `S`, `Z`…
    pub state: u8,
    pub flags: u64,
    /// `utime + stime`, in clock ticks.
    pub ticks: u64,
    /// Clock ticks after boot: with the PID, which process this is (a reused PID has
    /// another).
    pub start: u64,
    pub rss_pages: u64,
}

/// Parses a stat line. The name field is everything between the first `(` and the *last*
/// `)`: a process can name itself `a) S 1 (b`, and the fields after the name count from
/// that last parenthesis.
pub(super) fn parse(line: &[u8]) -> Option<Stat> {
    let open = line.iter().position(|&b| b == b'(')?;
    let close = line.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let comm = String::from_utf8_lossy(&line[open + 1..close]).into_owned();
    let mut fields = line[close + 1..]
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty());
    // Fields 3 on (state is 3), as `man 5 proc` numbers them.
    let mut field = |n: usize| fields.nth(n);
    let number = |f: &[u8]| std::str::from_utf8(f).ok()?.parse::<u64>().ok();
    let state = *field(0)?.first()?;
    let flags = number(field(5)?)?; // 9
    let utime = number(field(4)?)?; // 14
    let stime = number(field(0)?)?; // 15
    let start = number(field(6)?)?; // 22
    let rss_pages = number(field(1)?)?; // 24
    Some(Stat {
        comm,
        state,
        flags,
        ticks: utime.saturating_add(stime),
        start,
        rss_pages,
    })
}

/// What reading one PID's files found.
#[derive(Debug, PartialEq, Eq)]
enum StatRead {
    Found(Stat),
    /// No such process (it may have exited since it was named): gone, not an error.
    Gone,
    /// It exists but cannot be read (permissions, a line that is not a stat line).
    Unreadable,
}

/// One PID as the last refresh found it.
#[derive(Debug)]
enum Seen {
    /// No such process.
    Gone,
    /// It exists but could not be read: the OS cannot tell.
    Unknown,
    Process(Tracked),
}

/// One process as last read, with what its CPU share is measured against.
#[derive(Debug)]
struct Tracked {
    start: u64,
    ticks: u64,
    at: Instant,
    /// Not a process's main thread, or a kernel thread: never alive to a lookup. Read once.
    thread: bool,
    cmd: String,
    /// `None` for a zombie: its PID exists, the process does not.
    info: Option<ProcessInfo>,
}

/// The PIDs of the last refresh, as `/proc` described them.
#[derive(Debug)]
pub(super) struct Procfs {
    root: PathBuf,
    ticks_per_sec: u64,
    page_size: u64,
    boot_time: u64,
    table: HashMap<u32, Seen>,
    buf: Vec<u8>,
}

impl Procfs {
    /// The real `/proc`, if this system has one that reads as Linux's.
    pub(super) fn new() -> Option<Procfs> {
        let mut procfs = Procfs::at(PathBuf::from("/proc"), sysinfo::System::boot_time().ok()?);
        let own = std::process::id();
        matches!(procfs.read_stat(own), StatRead::Found(_)).then_some(procfs)
    }

    /// A `/proc` at `root` (tests give a directory of made-up stat files), on a machine
    /// booted at `boot_time` (Unix seconds: sysinfo's, so start times agree with its own).
    pub(super) fn at(root: PathBuf, boot_time: u64) -> Procfs {
        // SAFETY: sysconf only reads a configuration value.
        let (ticks, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        Procfs {
            root,
            ticks_per_sec: u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100),
            page_size: u64::try_from(page).unwrap_or(4096),
            boot_time,
            table: HashMap::new(),
            buf: Vec::with_capacity(512),
        }
    }

    /// Reads every one of `pids` afresh, and forgets every other PID.
    pub(super) fn refresh(&mut self, pids: &[u32]) {
        let now = Instant::now();
        let mut old = std::mem::take(&mut self.table);
        let mut table = HashMap::with_capacity(pids.len());
        for &pid in pids {
            let seen = match self.read_stat(pid) {
                StatRead::Found(stat) => Seen::Process(match old.remove(&pid) {
                    Some(Seen::Process(was)) if was.start == stat.start => {
                        self.again(pid, was, &stat, now)
                    }
                    _ => self.first(pid, &stat, now),
                }),
                StatRead::Gone => Seen::Gone,
                StatRead::Unreadable => Seen::Unknown,
            };
            table.insert(pid, seen);
        }
        self.table = table;
    }

    /// What the last refresh found of `pid`; `None` if it was not asked about.
    pub(super) fn lookup(&self, pid: u32) -> Option<Lookup> {
        Some(match self.table.get(&pid)? {
            Seen::Unknown => Lookup::Unknown,
            Seen::Process(Tracked {
                thread: false,
                info: Some(info),
                ..
            }) => Lookup::Alive(info.clone()),
            Seen::Gone | Seen::Process(_) => Lookup::Gone,
        })
    }

    /// A process seen for the first time (or its PID now another's): its command line and
    /// thread-group id are read now, once; its CPU share is unknown until the next refresh.
    fn first(&mut self, pid: u32, stat: &Stat, now: Instant) -> Tracked {
        let thread = stat.flags & PF_KTHREAD != 0 || self.tgid(pid).is_some_and(|t| t != pid);
        let cmd = self.cmdline(pid);
        Tracked {
            start: stat.start,
            ticks: stat.ticks,
            at: now,
            thread,
            info: self.described(pid, stat, &cmd, f32::NAN),
            cmd,
        }
    }

    fn again(&self, pid: u32, was: Tracked, stat: &Stat, now: Instant) -> Tracked {
        let secs = now.duration_since(was.at).as_secs_f64();
        let used = stat.ticks.saturating_sub(was.ticks) as f64 / self.ticks_per_sec as f64;
        let cpu = if secs > 0.0 {
            (used / secs * 100.0) as f32
        } else {
            f32::NAN
        };
        Tracked {
            start: stat.start,
            ticks: stat.ticks,
            at: now,
            thread: was.thread,
            info: self.described(pid, stat, &was.cmd, cpu),
            cmd: was.cmd,
        }
    }

    /// The answer for a live process; `None` for a zombie (or one already reaped, `X`).
    fn described(&self, pid: u32, stat: &Stat, cmd: &str, cpu: f32) -> Option<ProcessInfo> {
        if matches!(stat.state, b'Z' | b'X' | b'x') {
            return None;
        }
        Some(ProcessInfo {
            pid,
            name: stat.comm.clone(),
            cmd: if cmd.is_empty() { &stat.comm } else { cmd }.to_owned(),
            // As sysinfo computes it, so the two agree to the second.
            start_time: self
                .boot_time
                .saturating_add(stat.start / self.ticks_per_sec),
            cpu_percent: cpu,
            memory_bytes: stat.rss_pages.saturating_mul(self.page_size),
        })
    }

    fn path(&self, pid: u32, file: &str) -> PathBuf {
        let mut path = self.root.join(pid.to_string());
        path.push(file);
        path
    }

    /// Reads `file` of `pid` into the buffer, at most `max` bytes.
    fn read(&mut self, pid: u32, file: &str, max: u64) -> Result<(), ErrorKind> {
        self.buf.clear();
        let path = self.path(pid, file);
        // ESRCH: the process exited between the open and the read. Either way it is gone.
        let kind = |e: std::io::Error| match e.raw_os_error() {
            Some(libc::ESRCH) => ErrorKind::NotFound,
            _ => e.kind(),
        };
        let file = File::open(&path).map_err(kind)?;
        file.take(max).read_to_end(&mut self.buf).map_err(kind)?;
        Ok(())
    }

    fn read_stat(&mut self, pid: u32) -> StatRead {
        match self.read(pid, "stat", STAT_MAX) {
            Ok(()) => parse(&self.buf).map_or(StatRead::Unreadable, StatRead::Found),
            Err(ErrorKind::NotFound) => StatRead::Gone,
            Err(_) => StatRead::Unreadable,
        }
    }

    /// The command line, its arguments space-joined as sysinfo joins them (what `match`
    /// and the UI see of processes sysinfo lists).
    fn cmdline(&mut self, pid: u32) -> String {
        if self.read(pid, "cmdline", CMDLINE_MAX).is_err() {
            return String::new();
        }
        // Empty arguments are left out, as sysinfo leaves them.
        self.buf
            .split(|&b| b == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| OsStr::from_bytes(arg).to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The thread-group id from `status`: a PID that is one thread of another process is
    /// not a process of its own.
    fn tgid(&mut self, pid: u32) -> Option<u32> {
        self.read(pid, "status", STAT_MAX).ok()?;
        // Looked for in the bytes: the kernel leaves a name's bytes ≥ 0x80 as they are, so
        // a thread named in bad UTF-8 would otherwise read as no thread at all.
        let line = (self.buf.split(|&b| b == b'\n')).find_map(|l| l.strip_prefix(b"Tgid:"))?;
        std::str::from_utf8(line).ok()?.trim().parse().ok()
    }
}

#[cfg(test)]
mod tests;
