//! The raw Unix calls `hbmon run` needs: passing SIGINT, SIGTERM and SIGHUP on to the
//! child, signalling it, and waiting for its exit without reaping it. All of the job
//! module's `unsafe` lives here, each block with why it is sound.

use std::ffi::c_void;
use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

use libc::c_int;

/// The signals hbmon passes on: the ones that ask a process to stop.
const FORWARDED: [c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The child's PID while it can be signalled (0: none). Cleared *before* the child is
/// reaped, so a late signal can never reach a recycled PID.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// A signal that arrived before the child existed, delivered once it does.
static PENDING: AtomicI32 = AtomicI32::new(0);
/// The last signal passed on, for the run's reason.
static PASSED_ON: AtomicI32 = AtomicI32::new(0);

/// The signal handlers, installed for as long as this value lives. Only one may exist at a
/// time: the handler state is process-wide.
#[derive(Debug)]
pub struct Forwarding {
    previous: Vec<(c_int, libc::sigaction)>,
}

#[expect(
    clippy::unused_self,
    reason = "the state is static; taking &self proves the handlers are installed"
)]
impl Forwarding {
    /// Installs the handlers. A signal the process started with ignored (`nohup`) stays
    /// ignored, so the child inherits that too. sigaction fails only for an invalid signal
    /// number, which these are not; a signal it failed for would simply not be passed on.
    pub fn install() -> Forwarding {
        CHILD.store(0, Ordering::SeqCst);
        PENDING.store(0, Ordering::SeqCst);
        PASSED_ON.store(0, Ordering::SeqCst);
        let handler = on_signal as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void);
        let mut previous = Vec::new();
        for signal in FORWARDED {
            // SAFETY: an all-zero sigaction is a valid value (SIG_DFL, empty mask, no flags).
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: a null `act` only queries; `old` is a live local for it to fill.
            if unsafe { libc::sigaction(signal, std::ptr::null(), &raw mut old) } != 0
                || old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            // SAFETY: as above.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = handler as libc::sighandler_t;
            // SA_RESTART: the pumps' reads and the waiter's waitid carry on after a signal.
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            // SAFETY: `action` is a valid sigaction whose handler does only
            // async-signal-safe work.
            if unsafe { libc::sigaction(signal, &raw const action, std::ptr::null_mut()) } == 0 {
                previous.push((signal, old));
            }
        }
        Forwarding { previous }
    }

    /// From now on signals go to `pid`; one that arrived before is delivered now.
    pub fn child_started(&self, pid: u32) {
        let Ok(pid) = i32::try_from(pid) else { return };
        CHILD.store(pid, Ordering::SeqCst);
        let early = PENDING.swap(0, Ordering::SeqCst);
        if early != 0 {
            PASSED_ON.store(early, Ordering::SeqCst);
            // SAFETY: kill has no memory effects; `pid` is our unreaped child.
            unsafe { libc::kill(pid, early) };
        }
    }

    /// The child has exited: stop signalling it (call before reaping it).
    pub fn child_exited(&self) {
        CHILD.store(0, Ordering::SeqCst);
    }

    /// The last signal passed on to the child, if any.
    pub fn passed_on(&self) -> Option<c_int> {
        Some(PASSED_ON.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        CHILD.store(0, Ordering::SeqCst);
        for (signal, old) in &self.previous {
            // SAFETY: restores the action saved by `install`, a valid sigaction.
            unsafe { libc::sigaction(*signal, old, std::ptr::null_mut()) };
        }
    }
}

/// The handler: passes the signal on to the child. Only atomics and kill(2), both
/// async-signal-safe.
extern "C" fn on_signal(signal: c_int, info: *mut libc::siginfo_t, _context: *mut c_void) {
    if sent_to_the_whole_group(info) {
        return;
    }
    let child = CHILD.load(Ordering::SeqCst);
    if child > 0 {
        PASSED_ON.store(signal, Ordering::SeqCst);
        // SAFETY: kill has no memory effects; CHILD is cleared before the child is reaped.
        unsafe { libc::kill(child, signal) };
    } else {
        PENDING.store(signal, Ordering::SeqCst);
    }
}

/// Whether the kernel sent this signal itself, as the terminal does for Ctrl-C, Ctrl-\ and
/// hang-up: it goes to the whole foreground process group, the child included, and passing
/// it on would deliver it twice. Signals from kill(2) (`kill PID`, systemd, docker stop)
/// reach hbmon alone and are passed on.
#[cfg(target_os = "linux")]
fn sent_to_the_whole_group(info: *const libc::siginfo_t) -> bool {
    // SAFETY: the kernel hands an SA_SIGINFO handler a valid siginfo_t (null checked anyway).
    !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL
}

/// Elsewhere `si_code` does not tell the terminal from kill(2) reliably: pass everything on.
#[cfg(not(target_os = "linux"))]
fn sent_to_the_whole_group(_info: *const libc::siginfo_t) -> bool {
    false
}

/// Sends `signal` to `pid`.
pub fn send(pid: u32, signal: c_int) -> io::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: kill has no memory effects.
    if unsafe { libc::kill(pid, signal) } == 0 {
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

/// `SIGTERM` for 15, and so on for the signals a job is commonly stopped by.
fn name(signal: c_int) -> Option<&'static str> {
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
