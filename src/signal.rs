//! Signals as hbmon's writers treat them: their names, the three that ask a process to stop
//! (a stop, not a crash), ending a process by a signal as the default action would,
//! signalling a process group and waiting for its leader without reaping it — and the one
//! way this crate puts its own code in a signal handler, [`hook`], on signal-hook (whose
//! handler keeps `errno` and chains to the one it replaced). The raw calls
//! [`heartbeat`](crate::heartbeat), [`job`](crate::job) and the alert commands share;
//! [`signals`](crate::signals) turns signals into messages for a loop, on signal-hook too.
//!
//! signal-hook never gives a signal back: once hooked, its handler stays (unregistering an
//! action leaves the signal *ignored*, its docs warn). So a hook is for the life of the
//! process, and code that wants a signal only for a while does, the rest of the time, what
//! the default action does ([`default_action`]) from its hook.

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

/// `SIGTERM` for 15, and so on for the signals a process is commonly stopped or killed by
/// (or paused and resumed by).
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
        // The pair the UI's signal menu offers to pause and resume a process.
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGCONT => "SIGCONT",
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

/// How a signal is handled at the moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Its default action (for the stop signals: the process ends).
    Default,
    /// Ignored (`nohup`, `trap '' TERM`).
    Ignored,
    /// Caught by a handler: the host program's, or signal-hook's once hooked.
    Caught,
}

/// How `signal` is handled now. A query: nothing is installed.
pub fn disposition(signal: c_int) -> Disposition {
    // SAFETY: an all-zero sigaction is a valid value for sigaction to fill; a null `act`
    // only queries.
    let action = unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signal, std::ptr::null(), &raw mut current) != 0 {
            // An invalid signal number: nothing handles it.
            return Disposition::Default;
        }
        current.sa_sigaction
    };
    match action {
        libc::SIG_DFL => Disposition::Default,
        libc::SIG_IGN => Disposition::Ignored,
        _ => Disposition::Caught,
    }
}

/// Runs `action(signal)` in the handler of each of `signals`, for the rest of the process's
/// life (see the module doc), through signal-hook: after the handler the signal had, if it
/// had one. Returns the signals hooked (registering fails only for a signal number
/// signal-hook forbids, SIGKILL and the like).
///
/// # Safety
/// `action` runs in a signal handler, which may interrupt any code on any thread: only
/// async-signal-safe work (atomics, write(2), kill(2), [`default_action`]); no allocation,
/// no lock, no panic.
pub unsafe fn hook(signals: &[c_int], action: fn(c_int)) -> Vec<c_int> {
    signals
        .iter()
        .copied()
        .filter(|&signal| {
            // SAFETY: the caller's promise.
            unsafe { signal_hook::low_level::register(signal, move || action(signal)) }.is_ok()
        })
        .collect()
}

/// What `signal`'s default action does — for those hbmon hooks, end the process by it —
/// done from a hook (async-signal-safe) or anywhere else: a hook's work while nothing
/// wants the signal. Returns only for a signal whose default is to do nothing.
pub fn default_action(signal: c_int) {
    // Fails only for a signal number signal-hook does not know, which hbmon never hooks.
    let _ = signal_hook::low_level::emulate_default_handler(signal);
}

/// Ends this process by `signal`, as its default action does, so that whoever waits for it
/// sees what it would have seen without hbmon's handler: "killed by SIGTERM", not "exited
/// 143" (systemd calls the one a clean stop, the other a failure). Output is flushed first;
/// no core is dumped (as GNU `timeout` does, the one that matters is the command's).
///
/// Returns only if the signal does not end a process (a caller passes the signal something
/// died of, so that does not happen) or is one signal-hook does not know (a real-time one);
/// the caller's exit code then says how the command ended.
pub fn die_by(signal: c_int) {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on values of this frame; none touches Rust state. A
    // failure leaves at worst a core file.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &raw const no_core);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_DUMPABLE, 0);
    }
    // Puts the default action back, unblocks the signal on this thread and raises it there.
    default_action(signal);
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
    fn a_hook_runs_in_the_handler_and_the_signal_is_caught_from_then_on() {
        use std::sync::atomic::{AtomicI32, Ordering};
        static SEEN: AtomicI32 = AtomicI32::new(0);
        fn seen(signal: c_int) {
            SEEN.store(signal, Ordering::SeqCst);
        }
        // SIGWINCH: harmless to this test process, whatever else runs in it.
        // SAFETY: `seen` stores an atomic only.
        assert_eq!(unsafe { hook(&[libc::SIGWINCH], seen) }, [libc::SIGWINCH]);
        assert_eq!(disposition(libc::SIGWINCH), Disposition::Caught);
        // SAFETY: raising a signal this process catches; raise returns after the handler.
        unsafe { libc::raise(libc::SIGWINCH) };
        assert_eq!(SEEN.load(Ordering::SeqCst), libc::SIGWINCH);
        // Its default is to do nothing: the default action returns.
        default_action(libc::SIGWINCH);
        assert_eq!(disposition(libc::SIGKILL), Disposition::Default);
    }
}
