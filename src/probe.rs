//! What the operating system says: per-process CPU, memory, start time and command line,
//! and the system's CPU/RAM/disk — behind the [`Probe`] trait so tests can fake it.
//!
//! `procfs`: on Linux, the PIDs a report names are read from `/proc/N/stat` directly, one
//! read each per refresh; sysinfo stays for the machine's figures and the process list
//! `match` searches.

mod procfs;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use regex::Regex;
use serde::Serialize;
use sysinfo::{
    Disks, Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind,
};

/// One live process as the OS reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessInfo {
    pub pid: u32,
    /// The executable's short name.
    pub name: String,
    /// The full command line, space-joined.
    pub cmd: String,
    /// Unix seconds when the process started.
    pub start_time: u64,
    /// CPU use since the previous refresh, in percent of one core (may exceed 100).
    /// `NaN` when unknown: there was no previous refresh of this process (JSON: `null`).
    pub cpu_percent: f32,
    /// Resident memory, bytes.
    pub memory_bytes: u64,
}

/// What the OS answers about one process.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// It runs.
    Alive(ProcessInfo),
    /// It does not (a zombie does not either).
    Gone,
    /// The OS could not be asked (sysinfo cannot read it, or the PID's `/proc/N/stat` is
    /// unreadable): never taken for gone.
    Unknown,
}

impl Lookup {
    /// The live process, if any.
    pub fn alive(self) -> Option<ProcessInfo> {
        match self {
            Lookup::Alive(p) => Some(p),
            Lookup::Gone | Lookup::Unknown => None,
        }
    }
}

/// The machine as a whole, for the header.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SystemInfo {
    pub host: String,
    /// Percent of all cores; `NaN` until a second refresh (JSON: `null`).
    pub cpu_percent: f32,
    pub memory_used: u64,
    pub memory_total: u64,
    /// The filesystem holding the heartbeat file.
    pub disk_used: u64,
    pub disk_total: u64,
}

/// The OS, as [`crate::report::build`] asks it. One [`Probe::refresh`] per report, then
/// lookups that read what it gathered.
pub trait Probe {
    /// Brings the given PIDs up to date, and the whole process list too when `list` is
    /// set (needed to find processes by `match`). Implementations may reuse a list a few
    /// seconds old: listing every process is the expensive part.
    fn refresh(&mut self, pids: &[u32], list: bool);
    /// The live process with this PID, or that there is none (a zombie is none), or that
    /// the OS cannot tell.
    fn process(&self, pid: u32) -> Lookup;
    /// The oldest live process whose command line matches `pattern` (the oldest, so that
    /// a program's main process wins over the children it forks), never an hbmon process
    /// (an `hbmon run` wrapper has its command in its own command line). `&mut`: a probe may
    /// remember the match to refresh it with the PIDs next time.
    fn find(&mut self, pattern: &Regex) -> Lookup;
    /// The machine as a whole, if known.
    fn system(&self) -> Option<SystemInfo>;
}

/// A [`Probe`] that is plain data: the processes and system it reports are exactly the
/// ones it holds. For tests (of this crate's reports and UI) and anything that replays.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakeProbe {
    pub processes: Vec<ProcessInfo>,
    pub system: Option<SystemInfo>,
    /// The PIDs of every refresh so far, so tests can check what was asked.
    pub refreshed: Vec<Vec<u32>>,
    /// Plays an OS that cannot be read: every lookup is [`Lookup::Unknown`].
    pub blind: bool,
}

impl FakeProbe {
    pub fn new(processes: Vec<ProcessInfo>) -> Self {
        FakeProbe {
            processes,
            ..FakeProbe::default()
        }
    }
}

impl FakeProbe {
    fn answer(&self, found: Option<&ProcessInfo>) -> Lookup {
        match found {
            _ if self.blind => Lookup::Unknown,
            Some(p) => Lookup::Alive(p.clone()),
            None => Lookup::Gone,
        }
    }
}

impl Probe for FakeProbe {
    fn refresh(&mut self, pids: &[u32], _list: bool) {
        self.refreshed.push(pids.to_vec());
    }

    fn process(&self, pid: u32) -> Lookup {
        self.answer(self.processes.iter().find(|p| p.pid == pid))
    }

    fn find(&mut self, pattern: &Regex) -> Lookup {
        self.answer(
            self.processes
                .iter()
                .filter(|p| pattern.is_match(&p.cmd))
                .min_by_key(|p| (p.start_time, p.pid)),
        )
    }

    fn system(&self) -> Option<SystemInfo> {
        self.system.clone()
    }
}

/// How long a full process list (for `match`) and the disk figures stay fresh enough.
const LIST_MAX_AGE: Duration = Duration::from_secs(5);

/// The real OS, through `sysinfo`. Keep one for the life of the monitor: CPU use is the
/// difference between two refreshes, so the first refresh only primes it (CPU shows as
/// unknown, `NaN`, until the second).
pub struct SysProbe {
    /// `None` when sysinfo cannot read this OS: every process is then unknown, never dead.
    system: Option<System>,
    /// Linux's `/proc`, which answers for the PIDs a refresh names (see [`procfs`]);
    /// `None` elsewhere, where sysinfo does.
    procfs: Option<procfs::Procfs>,
    disks: Option<Disks>,
    /// The heartbeat file's directory, whose filesystem the header's disk figures are for.
    dir: PathBuf,
    /// When the whole list and the disks were last read.
    listed_at: Option<Instant>,
    disks_at: Option<Instant>,
    /// PIDs whose CPU use is meaningful: refreshed this time, and known before.
    sampled: HashSet<u32>,
    /// PIDs [`Probe::find`] returned since the last refresh: refreshed with the asked-for
    /// PIDs next time, so processes found by `match` stay current between full lists.
    matched: Vec<u32>,
    /// What each process looked like at the last refresh, made on its first lookup: a report
    /// asks about every row's PID (and `match` about every process) on each re-read of the
    /// file, and building the answer (the command line joined) is most of a lookup's cost.
    /// It only changes at a refresh, which empties it.
    infos: RefCell<HashMap<u32, ProcessInfo>>,
    /// Whether the system-wide CPU has a previous sample.
    cpu_sampled: bool,
    refreshes: u32,
    own_pid: u32,
    /// This executable's file name: [`Probe::find`] skips every hbmon process.
    own_name: Option<std::ffi::OsString>,
    host: String,
}

impl std::fmt::Debug for SysProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SysProbe")
            .field("dir", &self.dir)
            .field("refreshes", &self.refreshes)
            .finish_non_exhaustive()
    }
}

impl SysProbe {
    /// A probe for a monitor of `heartbeat_file` (its filesystem is the one whose disk use
    /// the header shows). Reads only the host name until the first [`Probe::refresh`].
    pub fn new(heartbeat_file: &Path) -> Self {
        let dir = heartbeat_file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        SysProbe {
            system: System::new().ok(),
            procfs: procfs::Procfs::new(),
            disks: None,
            dir,
            listed_at: None,
            disks_at: None,
            sampled: HashSet::new(),
            matched: Vec::new(),
            infos: RefCell::default(),
            cpu_sampled: false,
            refreshes: 0,
            own_pid: std::process::id(),
            own_name: std::env::current_exe()
                .ok()
                .and_then(|exe| exe.file_name().map(ToOwned::to_owned)),
            host: System::host_name().unwrap_or_default(),
        }
    }

    /// What `process` looked like at the last refresh (see [`SysProbe::infos`]).
    fn info(&self, process: &sysinfo::Process) -> ProcessInfo {
        let pid = process.pid().as_u32();
        self.infos
            .borrow_mut()
            .entry(pid)
            .or_insert_with(|| self.made(process))
            .clone()
    }

    fn made(&self, process: &sysinfo::Process) -> ProcessInfo {
        let pid = process.pid().as_u32();
        let cmd = process
            .cmd()
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        let name = process.name().to_string_lossy().into_owned();
        ProcessInfo {
            pid,
            cmd: if cmd.is_empty() { name.clone() } else { cmd },
            name,
            start_time: process.start_time(),
            cpu_percent: if self.sampled.contains(&pid) {
                process.cpu_usage()
            } else {
                f32::NAN
            },
            memory_bytes: process.memory(),
        }
    }

    fn live(process: &sysinfo::Process) -> bool {
        process.exists()
            && process.status() != ProcessStatus::Zombie
            && process.thread_kind().is_none()
    }

    fn refresh_disks(&mut self) {
        if self.disks_at.is_some_and(|t| t.elapsed() < LIST_MAX_AGE) {
            return;
        }
        self.disks_at = Some(Instant::now());
        match &mut self.disks {
            Some(disks) => disks.refresh(true),
            None => self.disks = Disks::new_with_refreshed_list().ok(),
        }
    }

    /// The disk holding [`Self::dir`]: the longest mount point above it.
    fn disk(&self) -> Option<&sysinfo::Disk> {
        let dir = self
            .dir
            .ancestors()
            .find_map(|d| d.canonicalize().ok())
            .unwrap_or_else(|| PathBuf::from("/"));
        self.disks
            .as_ref()?
            .iter()
            .filter(|d| dir.starts_with(d.mount_point()))
            .max_by_key(|d| d.mount_point().as_os_str().len())
    }
}

impl Probe for SysProbe {
    fn refresh(&mut self, pids: &[u32], list: bool) {
        let Some(system) = &mut self.system else {
            return;
        };
        // The command line is read once per process: reading it on every refresh costs a
        // file read per PID per second, and only changes on `exec`.
        let kind = ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .with_cmd(UpdateKind::OnlyIfNotSet)
            .without_tasks();
        // A process already known has the previous sample CPU use is measured against.
        let mut known: HashSet<u32> = system.processes().keys().map(|p| p.as_u32()).collect();
        let list_due = list && self.listed_at.is_none_or(|t| t.elapsed() >= LIST_MAX_AGE);
        let matched = std::mem::take(&mut self.matched);
        if list_due {
            // One pass over everything, which covers `pids` too: refreshing them again right
            // after would measure CPU over a few microseconds.
            system.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
            self.listed_at = Some(Instant::now());
        } else {
            // Each PID once: sysinfo takes a PID listed twice for a dead one the second time
            // (the first pass cleared its "updated" mark) and drops it from the list, so a
            // process found by `match` and also beating, or found twice (two `match`es, two
            // reports between refreshes), would vanish until the next full list. With
            // `/proc` read directly, sysinfo refreshes only what `match` found.
            let asked = if self.procfs.is_some() { &[][..] } else { pids };
            let fresh: HashSet<u32> = asked.iter().chain(&matched).copied().collect();
            if fresh.is_empty() && self.procfs.is_some() {
                // What a process refresh would have sampled along (see below).
                system.refresh_cpu_usage();
            } else {
                let wanted: Vec<Pid> = fresh.iter().map(|&p| Pid::from_u32(p)).collect();
                system.refresh_processes_specifics(ProcessesToUpdate::Some(&wanted), true, kind);
            }
            known.retain(|p| fresh.contains(p));
        }
        if let Some(procfs) = &mut self.procfs {
            procfs.refresh(pids);
        }
        system.refresh_memory();
        // The process refresh also sampled the system-wide CPU times (sysinfo does it to
        // compute per-process shares), so the global figure is current from the second on.
        self.cpu_sampled = self.refreshes > 0;
        self.refreshes += 1;
        self.sampled = known;
        self.infos.get_mut().clear();
        self.refresh_disks();
    }

    fn process(&self, pid: u32) -> Lookup {
        let Some(system) = &self.system else {
            return Lookup::Unknown;
        };
        if let Some(answer) = self.procfs.as_ref().and_then(|p| p.lookup(pid)) {
            return answer;
        }
        match system.process(Pid::from_u32(pid)) {
            Some(process) if Self::live(process) => Lookup::Alive(self.info(process)),
            _ => Lookup::Gone,
        }
    }

    fn find(&mut self, pattern: &Regex) -> Lookup {
        let Some(system) = &self.system else {
            return Lookup::Unknown;
        };
        // Never an hbmon: `hbmon run NAME -- CMD` has CMD in its command line and is older
        // than CMD, so it would win over the very process the pattern is for.
        let hbmon = |p: &sysinfo::Process| {
            p.pid().as_u32() == self.own_pid || self.own_name.as_deref() == Some(p.name())
        };
        let mut infos = self.infos.borrow_mut();
        let candidates: Vec<u32> = system
            .processes()
            .values()
            .filter(|p| Self::live(p) && !hbmon(p))
            .map(|p| {
                let pid = p.pid().as_u32();
                infos.entry(pid).or_insert_with(|| self.made(p));
                pid
            })
            .collect();
        // Only the winner is copied out of the memo.
        let found = candidates
            .iter()
            .filter_map(|pid| infos.get(pid))
            .filter(|info| pattern.is_match(&info.cmd))
            .min_by_key(|info| (info.start_time, info.pid))
            .cloned();
        drop(infos);
        match found {
            Some(found) => {
                self.matched.push(found.pid);
                Lookup::Alive(found)
            }
            None => Lookup::Gone,
        }
    }

    fn system(&self) -> Option<SystemInfo> {
        let system = self.system.as_ref()?;
        let (disk_used, disk_total) = self.disk().map_or((0, 0), |d| {
            (
                d.total_space().saturating_sub(d.available_space()),
                d.total_space(),
            )
        });
        Some(SystemInfo {
            host: self.host.clone(),
            cpu_percent: if self.cpu_sampled {
                system.global_cpu_usage()
            } else {
                f32::NAN
            },
            memory_used: system.used_memory(),
            memory_total: system.total_memory(),
            disk_used,
            disk_total,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::process::{Child, Command};

    /// A child whose command line no other process has, once it has one: right after
    /// `fork` it still shows this test's (sysinfo reads a command line only once).
    pub(crate) fn child(secs: &str) -> Child {
        let child = Command::new("sleep").arg(secs).spawn().unwrap();
        let cmdline = format!("/proc/{}/cmdline", child.id());
        for _ in 0..500 {
            if std::fs::read(&cmdline).is_ok_and(|c| c.ends_with(format!("{secs}\0").as_bytes())) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        child
    }

    #[test]
    fn a_live_pid_is_found_and_cpu_is_unknown_until_the_second_refresh() {
        let mut sleeper = child("31.4159");
        let pid = sleeper.id();
        let mut probe = SysProbe::new(Path::new("/tmp/hb.json"));
        probe.refresh(&[pid], false);
        let first = probe.process(pid).alive().unwrap();
        assert_eq!(first.cmd, "sleep 31.4159");
        assert!(first.cpu_percent.is_nan());
        assert!(first.memory_bytes > 0);
        let started = first.start_time as f64;
        assert!(
            (started - crate::clock::unix_now()).abs() < 60.0,
            "{started}"
        );
        assert!(probe.system().unwrap().cpu_percent.is_nan());
        probe.refresh(&[pid], false);
        assert!(probe.process(pid).alive().unwrap().cpu_percent.is_finite());
        let system = probe.system().unwrap();
        assert!(system.cpu_percent.is_finite());
        assert!(system.memory_total >= system.memory_used && system.memory_used > 0);
        assert!(system.disk_total > 0);
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
        probe.refresh(&[pid], false);
        assert_eq!(probe.process(pid), Lookup::Gone);
    }

    #[test]
    fn a_process_is_described_once_per_refresh() {
        let mut sleeper = child("31.6180");
        let pid = sleeper.id();
        let mut probe = SysProbe::new(Path::new("hb.json"));
        probe.refresh(&[pid], true);
        let by_pid = probe.process(pid).alive().unwrap();
        let by_match = probe.find(&Regex::new("^sleep 31\\.6180$").unwrap());
        let by_match = by_match.alive().unwrap();
        assert_eq!((by_pid.pid, &by_pid.cmd), (by_match.pid, &by_match.cmd));
        assert!(probe.infos.borrow().contains_key(&pid));
        probe.refresh(&[pid], false);
        assert!(probe.infos.borrow().is_empty(), "a refresh forgets them");
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
    }

    #[test]
    fn a_zombie_counts_as_gone() {
        let mut zombie = child("31.2718");
        let pid = zombie.id();
        zombie.kill().unwrap();
        // Not reaped yet: the PID exists, as a zombie, until `wait`.
        std::thread::sleep(Duration::from_millis(50));
        let mut probe = SysProbe::new(Path::new("hb.json"));
        probe.refresh(&[pid], false);
        assert_eq!(probe.process(pid), Lookup::Gone);
        zombie.wait().unwrap();
    }

    #[test]
    fn find_matches_command_lines_but_never_itself() {
        let mut sleeper = child("31.1414");
        let mut probe = SysProbe::new(Path::new("hb.json"));
        probe.refresh(&[], true);
        let found = probe
            .find(&Regex::new(r"^sleep 31\.1414$").unwrap())
            .alive()
            .unwrap();
        assert_eq!(found.pid, sleeper.id());
        // This test's own command line matches its own name; the probe skips itself.
        let own = Regex::new(&regex::escape(&std::env::args().next().unwrap())).unwrap();
        assert!(
            probe
                .find(&own)
                .alive()
                .is_none_or(|p| p.pid != std::process::id())
        );
        // The found PID is refreshed with the next round, without a new full list.
        probe.refresh(&[], true);
        assert!(
            probe
                .process(sleeper.id())
                .alive()
                .unwrap()
                .cpu_percent
                .is_finite()
        );
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
    }

    #[test]
    fn a_process_found_twice_between_refreshes_stays_found() {
        let mut sleeper = child("31.1732");
        let pattern = Regex::new(r"^sleep 31\.1732$").unwrap();
        let mut probe = SysProbe::new(Path::new("hb.json"));
        probe.refresh(&[], true);
        // Found by two reports (or two `match`es) before the next refresh, which also has
        // its PID from an entry: it is still there afterwards, not dropped until a full list.
        for _ in 0..2 {
            assert_eq!(probe.find(&pattern).alive().unwrap().pid, sleeper.id());
        }
        for _ in 0..3 {
            probe.refresh(&[sleeper.id()], true);
            assert!(probe.process(sleeper.id()).alive().is_some());
            assert_eq!(probe.find(&pattern).alive().unwrap().pid, sleeper.id());
        }
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
    }
}
