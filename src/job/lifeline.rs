//! The command dies with hbmon. An `hbmon run` killed outright (SIGKILL, the OOM killer, a
//! crash) cannot report the run's end, so a command left running would work on unseen: its
//! entry says `running`, then `dead` once the command exits, never how it ended. Two ties:
//!
//! - A watchdog (all Unix): a small process forked off hbmon that does nothing but wait for
//!   a pipe whose only writer is hbmon to close. hbmon stands it down (kills it) before it
//!   reaps the command, so the pipe closes with the watchdog alive only when hbmon died
//!   without finishing. It then stops the command's process group as a timeout does:
//!   SIGTERM (and SIGCONT), then SIGKILL after [`KILL_GRACE`] to whatever is left of it. The
//!   group, because the command runs in its own (see `signals`), and what it started (a
//!   shell's pipeline, a `make`'s compilers) would otherwise run on without it.
//! - On Linux, the kernel too (`PR_SET_PDEATHSIG`): the command itself gets SIGTERM the
//!   moment hbmon dies, even if the watchdog was killed with it (`kill -9` of hbmon's process
//!   group) or could not start. It reaches the command only, not what the command started,
//!   nor a set-user-ID command (the kernel clears it at such an exec).
//!
//! SIGTERM rather than SIGKILL: the command can clean up (a trap removing a half-written
//! backup, a lock released), as on a timeout; the SIGKILL for one that ignores SIGTERM comes
//! from the watchdog, which, unlike the kernel's one-shot signal, can wait the grace first.
//! The command may so get SIGTERM twice at once (kernel and watchdog); a signal already
//! pending is not queued again, and a trap that exits ends it either way.

use std::io::{self, PipeWriter};
use std::os::fd::AsRawFd;
use std::time::Duration;

use libc::{c_int, pid_t};

use super::KILL_GRACE;

/// How often the watchdog looks whether the group it stopped is gone before [`KILL_GRACE`]
/// is up: a group that is gone is not signalled again, lest its ID have been reused.
const POLL: Duration = Duration::from_millis(100);

/// Descriptors a watchdog closes at most when it cannot close them in one call: enough for
/// any `hbmon run`, which holds a dozen; one above it would only be kept open a little longer.
const MAX_FDS: c_int = 1 << 16;

/// Makes the command `command` spawns get SIGTERM when this thread exits, which is when
/// hbmon dies: the kernel's parent-death signal is tied to the thread that forked, and
/// `run` spawns the command on the thread that then waits for it, until it is reaped.
#[cfg(target_os = "linux")]
pub fn die_with_hbmon(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let Ok(hbmon) = pid_t::try_from(std::process::id()) else {
        return;
    };
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // calls are allowed: prctl, getppid and reading errno are plain system calls.
    unsafe {
        command.pre_exec(move || {
            // A failure (an old kernel) leaves the watchdog alone to stop the command.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) == 0
                && libc::getppid() != hbmon
            {
                // hbmon died before the death signal was set, so it will never come; the
                // spawn fails here and the command never runs.
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// The watchdog of a running command; standing it down (dropping it) kills it.
#[derive(Debug)]
pub struct Watchdog {
    pid: pid_t,
    /// The pipe's only write end: it closes when hbmon dies, however it dies.
    _writer: PipeWriter,
}

impl Watchdog {
    /// Starts the watchdog of the process group that `group` (the command's PID) leads.
    pub fn start(group: u32) -> io::Result<Watchdog> {
        let group =
            pid_t::try_from(group).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // Close-on-exec: the commands hbmon starts never hold the write end.
        let (reader, writer) = io::pipe()?;
        let max_fd = max_fd();
        let mut all = empty_set();
        // SAFETY: `all` is a live sigset_t.
        unsafe { libc::sigfillset(&raw mut all) };
        let mut previous = empty_set();
        // Blocked across the fork: the child must not run hbmon's handlers (which pass a
        // signal on to the command's group) before it has put the defaults back.
        // SAFETY: both sets are live sigset_t values.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &raw const all, &raw mut previous) };
        // SAFETY: the child runs `watch` only, which makes async-signal-safe calls alone (the
        // other threads are gone there, maybe holding locks) and never returns.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: this is the freshly forked child.
            unsafe { watch(reader.as_raw_fd(), max_fd, group) }
        }
        let forked = if pid < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(pid)
        };
        // SAFETY: restores the mask saved above.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &raw const previous, std::ptr::null_mut())
        };
        Ok(Watchdog {
            pid: forked?,
            _writer: writer,
        })
    }
}

impl Drop for Watchdog {
    /// Stands the watchdog down: killed before the pipe closes, it never sees it close.
    fn drop(&mut self) {
        // SAFETY: kill and waitpid have no memory effects; the PID is this process's unreaped
        // child, so it cannot have been reused. SIGKILL ends it at once, even stopped.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            while libc::waitpid(self.pid, std::ptr::null_mut(), 0) < 0
                && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
            {}
        }
    }
}

fn empty_set() -> libc::sigset_t {
    // SAFETY: an all-zero sigset_t is a valid value; sigemptyset makes it the empty set.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live sigset_t.
    unsafe { libc::sigemptyset(&raw mut set) };
    set
}

/// One past the highest descriptor a watchdog closes when it must close them one by one.
fn max_fd() -> c_int {
    // SAFETY: an all-zero rlimit is a valid value for getrlimit to fill.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `limit` is a live rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) } != 0 {
        return MAX_FDS;
    }
    c_int::try_from(limit.rlim_cur).map_or(MAX_FDS, |n| n.min(MAX_FDS))
}

/// The watchdog's whole life, in the forked child: waits for the pipe `reader` to close,
/// then stops `group`, and exits. Never returns.
///
/// # Safety
/// Only in the child of a fork, whose other threads are gone: it makes async-signal-safe
/// calls only, allocates nothing and cannot panic.
unsafe fn watch(reader: c_int, max_fd: c_int, group: pid_t) -> ! {
    // SAFETY (the whole body): system calls on values of this frame; see the contract.
    unsafe {
        // Its own process group: a terminal's Ctrl-C or Ctrl-Z, which go to hbmon's group,
        // do not reach it, and it stops no one's job control.
        libc::setpgid(0, 0);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_NAME, c"hbmon-watchdog".as_ptr());
        // No hbmon handler may run here: they pass signals on to the command. (The standard
        // signals: hbmon handles no real-time one.)
        for signal in 1..32 {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &raw mut old) == 0
                && old.sa_sigaction != libc::SIG_DFL
                && old.sa_sigaction != libc::SIG_IGN
            {
                let mut default: libc::sigaction = std::mem::zeroed();
                default.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signal, &raw const default, std::ptr::null_mut());
            }
        }
        // hbmon's death orphans this process's group, and the kernel hangs up an orphaned
        // group with a stopped member (SIGHUP, then SIGCONT): a watchdog someone stopped is
        // so continued, and must live on to do its work.
        let mut ignore: libc::sigaction = std::mem::zeroed();
        ignore.sa_sigaction = libc::SIG_IGN;
        libc::sigaction(libc::SIGHUP, &raw const ignore, std::ptr::null_mut());
        // Nothing of hbmon's stays open here: not the pipe's write end (else it never
        // closes), nor hbmon's output (a cron job's log would stay open), nor a lock.
        if libc::dup2(reader, 0) < 0 {
            libc::_exit(1);
        }
        close_from(1, max_fd);
        let none = empty_set();
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const none, std::ptr::null_mut());

        let mut byte = 0u8;
        loop {
            match libc::read(0, (&raw mut byte).cast(), 1) {
                0 => break,
                n if n < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted => {
                    libc::_exit(1)
                }
                // Interrupted, or a byte nobody writes: still waiting.
                _ => {}
            }
        }
        stop(group);
        libc::_exit(0)
    }
}

/// Closes every descriptor from `first` on.
///
/// # Safety
/// As [`watch`]: async-signal-safe calls only.
unsafe fn close_from(first: c_int, max_fd: c_int) {
    #[cfg(target_os = "linux")]
    // SAFETY: close_range (Linux 5.9) closes descriptors; ENOSYS on older kernels.
    if unsafe { libc::syscall(libc::SYS_close_range, first, c_int::MAX, 0) } == 0 {
        return;
    }
    for fd in first..max_fd {
        // SAFETY: closing a descriptor that is not open is EBADF, nothing more.
        unsafe { libc::close(fd) };
    }
}

/// Stops `group` as a timeout does: SIGTERM and SIGCONT, then SIGKILL once [`KILL_GRACE`]
/// is up, unless the group is gone by then.
///
/// # Safety
/// As [`watch`]: async-signal-safe calls only.
unsafe fn stop(group: pid_t) {
    // SAFETY (the whole body): kill and poll have no memory effects.
    unsafe {
        libc::kill(-group, libc::SIGTERM);
        // A stopped process acts on SIGTERM only once continued.
        libc::kill(-group, libc::SIGCONT);
        let polls = KILL_GRACE.as_millis() / POLL.as_millis();
        for _ in 0..polls {
            libc::poll(std::ptr::null_mut(), 0, POLL.as_millis() as c_int);
            if libc::kill(-group, 0) != 0
                && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
            {
                return;
            }
        }
        libc::kill(-group, libc::SIGKILL);
    }
}
