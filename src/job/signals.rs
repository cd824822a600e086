//! The signals `hbmon run` passes on to the child's process group, and the raw calls behind
//! that: signalling that group, and waiting for the child's exit without reaping it. The
//! job module's `unsafe` lives here and in `lifeline` (the command dying with hbmon), each
//! block with why it is sound.
//!
//! The child runs in its own process group (as under GNU `timeout`), so that a timeout or a
//! signal passed on reaches the processes it started too. A terminal's Ctrl-C therefore
//! reaches hbmon alone (the terminal signals its foreground group, which the child has
//! left), and hbmon passes it on once, like a `kill` from anywhere else.
//!
//! The handlers are hooks ([`signal::hook`], on signal-hook), for the life of the process:
//! while no [`Forwarding`] lives they do the default action, as the signal did before.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use libc::c_int;

use crate::signal::{self, Disposition};

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

/// The signals hooked so far (for good: see the module doc).
static HOOKED: Mutex<Vec<c_int>> = Mutex::new(Vec::new());
/// Whether a [`Forwarding`] lives: the hook then passes signals on, else does the default.
static ARMED: AtomicBool = AtomicBool::new(false);
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

/// Signals passed on for as long as this value lives. Only one may exist at a time: the
/// handler state is process-wide.
#[derive(Debug)]
pub struct Forwarding(());

#[expect(
    clippy::unused_self,
    reason = "the state is static; taking &self proves the handlers are installed"
)]
impl Forwarding {
    /// Passes signals on from now on. A signal the process started with ignored (`nohup`)
    /// stays ignored, so the child inherits that too. A signal signal-hook refuses (none of
    /// these) would simply not be passed on.
    pub fn install() -> Forwarding {
        GROUP.store(0, Ordering::SeqCst);
        PENDING.store(0, Ordering::SeqCst);
        PASSED_ON.store(0, Ordering::SeqCst);
        STOP_PASSED_ON.store(0, Ordering::SeqCst);
        let mut hooked = HOOKED.lock().unwrap_or_else(PoisonError::into_inner);
        let wanted: Vec<c_int> = FORWARDED
            .into_iter()
            .filter(|s| !hooked.contains(s) && signal::disposition(*s) != Disposition::Ignored)
            .collect();
        // SAFETY: `on_signal` does async-signal-safe work only.
        let added = unsafe { signal::hook(&wanted, on_signal) };
        hooked.extend(added);
        ARMED.store(true, Ordering::SeqCst);
        Forwarding(())
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
    /// Gives the signals their default action back, then does it for every signal that was
    /// not passed on (it came when there was no child to take it): asked to stop, hbmon now
    /// stops, after its report is written.
    fn drop(&mut self) {
        GROUP.store(0, Ordering::SeqCst);
        ARMED.store(false, Ordering::SeqCst);
        let pending = PENDING.swap(0, Ordering::SeqCst);
        for signal in FORWARDED {
            if pending & bit(signal) != 0 {
                signal::default_action(signal);
            }
        }
    }
}

fn bit(signal: c_int) -> u64 {
    1 << (signal & 63)
}

/// The hook: records the signal and passes it on if the child's group is there; the
/// default action while no [`Forwarding`] lives. Only atomics and kill(2), both
/// async-signal-safe (signal-hook keeps `errno` for the code interrupted).
fn on_signal(signal: c_int) {
    if !ARMED.load(Ordering::SeqCst) {
        signal::default_action(signal);
        return;
    }
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
