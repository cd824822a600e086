//! The raw Unix calls `hbmon run` needs: passing stop and user signals on to the child's
//! process group, signalling that group, and waiting for the child's exit without reaping
//! it. The job module's `unsafe` lives here and in `lifeline` (the command dying with
//! hbmon), each block with why it is sound.
//!
//! The child runs in its own process group (as under GNU `timeout`), so that a timeout or a
//! signal passed on reaches the processes it started too. A terminal's Ctrl-C therefore
//! reaches hbmon alone (the terminal signals its foreground group, which the child has
//! left), and hbmon passes it on once, like a `kill` from anywhere else.

use std::ffi::c_void;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use libc::c_int;

use crate::signal;

/// The signals hbmon passes on: the ones that ask a process to stop, and the user signals
/// programs use for "reload" or "dump state".
const FORWARDED: [c_int; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// The child's process group (its PID) while it can be signalled (0: none). Cleared
/// *before* the child is reaped, so a late signal can never reach a recycled PID.
static GROUP: AtomicI32 = AtomicI32::new(0);
/// Signals received but not passed on yet, one bit per signal number: those that came
/// before the child started, and after it exited (re-raised when the handlers go).
static PENDING: AtomicU64 = AtomicU64::new(0);
/// Handlers between reading `GROUP` and signalling it; the child is not reaped while any is.
static IN_FLIGHT: AtomicI32 = AtomicI32::new(0);
/// The last signal passed on, for the run's reason.
static PASSED_ON: AtomicI32 = AtomicI32::new(0);
/// The first stop signal (SIGTERM, SIGINT, SIGHUP) passed on: the run was asked to stop.
static STOP_PASSED_ON: AtomicI32 = AtomicI32::new(0);

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
        GROUP.store(0, Ordering::SeqCst);
        PENDING.store(0, Ordering::SeqCst);
        PASSED_ON.store(0, Ordering::SeqCst);
        STOP_PASSED_ON.store(0, Ordering::SeqCst);
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

    /// From now on signals go to the process group `pid` leads; those that arrived before
    /// are passed on now.
    pub fn child_started(&self, pid: u32) {
        let Ok(pid) = i32::try_from(pid) else { return };
        GROUP.store(pid, Ordering::SeqCst);
        pass_on_pending();
    }

    /// The child has exited: stop signalling its group (call before reaping it). Signals
    /// from now on are kept, and raised again at hbmon when the handlers are removed.
    pub fn child_exited(&self) {
        GROUP.store(0, Ordering::SeqCst);
        // A handler that read the group before it was cleared may still be signalling it:
        // the PID must stay unreaped (so not reusable) until it is done. It is one kill(2).
        while IN_FLIGHT.load(Ordering::SeqCst) > 0 {
            std::thread::yield_now();
        }
    }

    /// The last signal passed on to the child, if any.
    pub fn passed_on(&self) -> Option<c_int> {
        Some(PASSED_ON.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }

    /// The first stop signal (see [`signal::STOPS`]) passed on to the child, if any: the
    /// run was asked to stop, whatever was passed on after.
    pub fn stop_passed_on(&self) -> Option<c_int> {
        Some(STOP_PASSED_ON.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }
}

impl Drop for Forwarding {
    /// Restores the previous handlers, then raises every signal that was not passed on
    /// (it came when there was no child to take it): asked to stop, hbmon now stops, after
    /// its report is written.
    fn drop(&mut self) {
        GROUP.store(0, Ordering::SeqCst);
        for (signal, old) in &self.previous {
            // SAFETY: restores the action saved by `install`, a valid sigaction.
            unsafe { libc::sigaction(*signal, old, std::ptr::null_mut()) };
        }
        let pending = PENDING.swap(0, Ordering::SeqCst);
        for signal in FORWARDED {
            if pending & bit(signal) != 0 {
                // SAFETY: raise has no memory effects; the previous action now handles it.
                unsafe { libc::raise(signal) };
            }
        }
    }
}

fn bit(signal: c_int) -> u64 {
    1 << (signal & 63)
}

/// The handler: records the signal and passes it on if the child's group is there. Only
/// atomics and kill(2), both async-signal-safe; `errno` is kept for the code interrupted.
extern "C" fn on_signal(signal: c_int, _info: *mut libc::siginfo_t, _context: *mut c_void) {
    let _errno = signal::ErrnoGuard::save();
    PENDING.fetch_or(bit(signal), Ordering::SeqCst);
    pass_on_pending();
}

/// Passes every pending signal on to the child's group, if it can be signalled. Called by
/// the handler and by `child_started`, possibly at once on two threads: whichever takes
/// the pending bits delivers them, and a signal recorded before `GROUP` is set is seen by
/// `child_started`, one recorded after it by the handler itself, so none is lost.
fn pass_on_pending() {
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    let group = GROUP.load(Ordering::SeqCst);
    if group > 0 {
        let pending = PENDING.swap(0, Ordering::SeqCst);
        for signal in FORWARDED {
            if pending & bit(signal) != 0 {
                PASSED_ON.store(signal, Ordering::SeqCst);
                if signal::is_stop(signal) {
                    // The first one: a SIGHUP after a SIGTERM does not change what was asked.
                    let _ = STOP_PASSED_ON.compare_exchange(
                        0,
                        signal,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                }
                // SAFETY: kill has no memory effects; the group leader stays unreaped
                // while IN_FLIGHT counts this call.
                unsafe { libc::kill(-group, signal) };
            }
        }
    }
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
}
