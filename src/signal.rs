//! Signals as hbmon's writers treat them: their names, the three that ask a process to stop
//! (a stop, not a crash), ending a process by a signal as the default action would, and
//! keeping `errno` across a handler, signalling a process group and waiting for its leader
//! without reaping it. The raw calls [`heartbeat`](crate::heartbeat), [`job`](crate::job)
//! and the alert commands share.

use std::io::{self, Write};

use libc::c_int;

/// The signals that ask a process to stop: what `systemctl stop`, `docker stop`, launchd,
/// `kill` (SIGTERM), Ctrl-C (SIGINT) and a closed terminal (SIGHUP) send. A process that
/// ends because of one was stopped, not crashed (systemd counts an end by these as clean
/// too). SIGQUIT is not one: it asks for a core dump.
pub const STOPS: [c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// Whether `signal` asks a process to stop (see [`STOPS`]).
pub fn is_stop(signal: c_int) -> bool {
    STOPS.contains(&signal)
}

/// `SIGTERM` for 15, and so on for the signals a process is commonly stopped or killed by.
pub fn name(signal: c_int) -> Option<&'static str> {
    Some(match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        _ => return None,
    })
}

/// `SIGTERM (signal 15)`, or `signal 42` for one without a name here.
pub fn describe(signal: c_int) -> String {
    match name(signal) {
        Some(name) => format!("{name} (signal {signal})"),
        None => format!("signal {signal}"),
    }
}

/// The reason a writer gives for a stop by `signal`: `stopped by SIGTERM (signal 15)`.
pub fn stopped_by(signal: c_int) -> String {
    format!("stopped by {}", describe(signal))
}

/// Rust ignores SIGPIPE, so `println!` to a closed pipe (`hbmon status | head -1`) panics
/// with exit 101 and a backtrace in the user's log. A report command should end the way
/// `cat` does there: killed by SIGPIPE, silently.
pub fn die_quietly_on_closed_pipe() {
    // SAFETY: restoring a signal's default disposition at start-up, before any other thread
    // exists, touches no Rust state.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Ends this process by `signal`, as its default action does, so that whoever waits for it
/// sees what it would have seen without hbmon's handler: "killed by SIGTERM", not "exited
/// 143" (systemd calls the one a clean stop, the other a failure). Output is flushed first;
/// no core is dumped (as GNU `timeout` does, the one that matters is the command's).
///
/// Returns only if the signal did not end the process: one whose default action is not to
/// terminate (a caller passes the signal something died of, so that does not happen).
pub fn die_by(signal: c_int) {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on values of this frame; none touches Rust state. A
    // failure leaves at worst a core file or a signal still blocked, and then the caller's
    // exit code says how the command ended.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &raw const no_core);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_DUMPABLE, 0);
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(signal, &raw const default, std::ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, signal);
        // raise(3) signals this thread: with the signal unblocked here, it is delivered
        // before raise returns.
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &raw const set, std::ptr::null_mut());
        libc::raise(signal);
    }
}

/// `errno` as a signal handler found it, put back when the guard goes: a handler's own
/// system calls (a failed write(2) or kill(2)) must not change the `errno` of the code it
/// interrupted, which may be about to read it.
pub struct ErrnoGuard(c_int);

impl ErrnoGuard {
    /// Saves `errno`. Async-signal-safe.
    pub fn save() -> ErrnoGuard {
        // SAFETY: the thread's errno location is valid for the thread's life.
        ErrnoGuard(unsafe { *errno_location() })
    }
}

impl Drop for ErrnoGuard {
    fn drop(&mut self) {
        // SAFETY: as in `save`.
        unsafe { *errno_location() = self.0 };
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn errno_location() -> *mut c_int {
    // SAFETY: always safe to call; returns this thread's errno.
    unsafe { libc::__errno_location() }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
unsafe fn errno_location() -> *mut c_int {
    // SAFETY: always safe to call; returns this thread's errno (macOS, the BSDs).
    unsafe { libc::__error() }
}

/// Sends `signal` to the process group `group` leads: the child and what it started.
pub fn send_group(group: u32, signal: c_int) -> io::Result<()> {
    let group = i32::try_from(group).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: kill has no memory effects.
    if unsafe { libc::kill(-group, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Blocks until child `pid` has exited, leaving it unreaped (WNOWAIT) so that its PID
/// cannot be reused until `Child::wait` collects it.
pub fn wait_exited(pid: u32) -> io::Result<()> {
    let id = libc::id_t::from(pid);
    loop {
        // SAFETY: a zeroed siginfo_t is a valid buffer for waitid to fill.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a live local; waitid only writes into it.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                id,
                &raw mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_named_with_their_number() {
        assert_eq!(describe(libc::SIGTERM), "SIGTERM (signal 15)");
        assert_eq!(describe(42), "signal 42");
        assert_eq!(stopped_by(libc::SIGINT), "stopped by SIGINT (signal 2)");
    }

    #[test]
    fn only_the_three_stop_signals_are_stops() {
        assert!(is_stop(libc::SIGTERM) && is_stop(libc::SIGINT) && is_stop(libc::SIGHUP));
        assert!(!is_stop(libc::SIGQUIT) && !is_stop(libc::SIGKILL) && !is_stop(libc::SIGUSR1));
    }

    #[test]
    fn the_errno_guard_puts_errno_back() {
        // SAFETY: this thread's errno.
        unsafe { *errno_location() = libc::EINTR };
        {
            let _guard = ErrnoGuard::save();
            // SAFETY: as above.
            unsafe { *errno_location() = libc::ESRCH };
        }
        assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EINTR));
    }
}
