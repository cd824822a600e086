//! A stop signal is a stop, not a crash: while a [`Handle`](super::Handle) started with
//! [`handle_signals`](super::Heartbeat::handle_signals) on (the default) lives, SIGTERM,
//! SIGINT and SIGHUP — each only while it has its default action, which ends the process
//! without a word — are hooked ([`signal::hook`], on signal-hook). The hook wakes one thread
//! (`hbmon-signals`), which writes a `stopped` beat for every live handle
//! (`additional_data.reason` = `stopped by SIGTERM (signal 15)`), then ends the process by
//! that signal with its default action: as it would have ended, one beat later.
//!
//! The host's own handling wins: a signal it handles or ignores when a first handle starts
//! is left alone, and a handler it installs later with sigaction(2) or signal(3) replaces
//! this one. When the last handle stops, the hook does what the default action does (the
//! process ends by the signal, with no beat).
//!
//! What signal-hook cannot do: give a signal back. Its handler stays installed once hooked
//! (unregistering would leave the signal ignored, not ended by), so after the last handle a
//! query of the signal says "caught", not "default", and a host that then hooks the same
//! signal *with signal-hook* has its action run after this one — which ends the process
//! first. Install such a handler before the first handle starts (it is then left alone),
//! or turn this off with `handle_signals(false)`.

use std::ffi::c_void;
use std::io::{self, PipeReader, Read};
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

use libc::c_int;

use super::Shared;
use crate::signal::{self, Disposition};

/// The live handles that handle stop signals, and the signals hooked so far.
static LIVE: Mutex<Live> = Mutex::new(Live {
    handles: Vec::new(),
    hooked: Vec::new(),
    next_id: 0,
});

struct Live {
    handles: Vec<(u64, Weak<Shared>)>,
    /// Hooked for good (see the module doc); done while [`ARMED`] is off.
    hooked: Vec<c_int>,
    next_id: u64,
}

/// Whether a handle lives: the hook then wakes the watcher, else does the default action.
static ARMED: AtomicBool = AtomicBool::new(false);
/// The write end of the pipe the hook wakes the watcher through; -1 until it runs.
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// The process the watcher runs in: a child forked without exec inherits the hook but not
/// the thread, and must get the default action instead.
static OWNER: AtomicI32 = AtomicI32::new(0);
/// The watcher thread, started with the first handle; an error says why it could not be.
static WATCHER: OnceLock<Result<(), String>> = OnceLock::new();

/// A handle's place among those a stop signal stops; leaving it (drop) gives the signals
/// their default action back when it was the last.
#[derive(Debug)]
pub(super) struct Registration(u64);

/// Makes a stop signal stop `shared` with a `stopped` beat. `None`, said on stderr, if the
/// watcher thread cannot run: the handle works on without it.
pub(super) fn register(shared: &Arc<Shared>) -> Option<Registration> {
    if let Err(e) = WATCHER.get_or_init(start_watcher) {
        eprintln!(
            "hbmon: heartbeat {:?}: a stop signal will end it without a `stopped` beat: \
             cannot start the thread that writes it: {e}",
            shared.name
        );
        return None;
    }
    let mut live = lock();
    let id = live.next_id;
    live.next_id += 1;
    live.handles.push((id, Arc::downgrade(shared)));
    if live.handles.len() == 1 {
        // A first handle: hook each stop signal that has its default action now and is not
        // hooked already (the host may have given one back its default since).
        let wanted: Vec<c_int> = signal::STOPS
            .into_iter()
            .filter(|s| !live.hooked.contains(s) && signal::disposition(*s) == Disposition::Default)
            .collect();
        // SAFETY: `on_stop_signal` does async-signal-safe work only.
        let hooked = unsafe { signal::hook(&wanted, on_stop_signal) };
        live.hooked.extend(hooked);
        ARMED.store(true, Ordering::SeqCst);
    }
    Some(Registration(id))
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut live = lock();
        live.handles.retain(|(id, _)| *id != self.0);
        if live.handles.is_empty() {
            ARMED.store(false, Ordering::SeqCst);
        }
    }
}

fn lock() -> MutexGuard<'static, Live> {
    // Plain lists, never left half-changed by a panic.
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The hook: one byte down the pipe while a handle lives, in the watcher's process; the
/// default action otherwise. Atomics, getpid and write are async-signal-safe (signal-hook
/// keeps `errno`); a full pipe (EAGAIN) means a byte already waits for the watcher.
fn on_stop_signal(signal: c_int) {
    let wake = WAKE.load(Ordering::SeqCst);
    // SAFETY: getpid has no memory effects.
    if ARMED.load(Ordering::SeqCst)
        && wake >= 0
        && unsafe { libc::getpid() } == OWNER.load(Ordering::SeqCst)
    {
        let byte = u8::try_from(signal).unwrap_or(0);
        // SAFETY: writes one byte from a live local.
        unsafe { libc::write(wake, (&raw const byte).cast::<c_void>(), 1) };
        return;
    }
    signal::default_action(signal);
}

fn start_watcher() -> Result<(), String> {
    // Close-on-exec: no program the host starts holds either end.
    let (reader, writer) = io::pipe().map_err(|e| e.to_string())?;
    let writer = writer.into_raw_fd();
    // SAFETY: fcntl on a descriptor this function owns. Non-blocking: the handler must never
    // wait for the watcher.
    unsafe {
        let flags = libc::fcntl(writer, libc::F_GETFL);
        libc::fcntl(writer, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    std::thread::Builder::new()
        .name("hbmon-signals".to_owned())
        .spawn(move || watch(reader))
        .map_err(|e| e.to_string())?;
    // SAFETY: getpid has no memory effects.
    OWNER.store(unsafe { libc::getpid() }, Ordering::SeqCst);
    // Kept open for the life of the process: the handler may run at any time.
    WAKE.store(writer, Ordering::SeqCst);
    Ok(())
}

/// The watcher's life: waits for a signal's byte, then stops every live handle and ends
/// the process by that signal.
fn watch(mut reader: PipeReader) {
    let mut byte = [0u8];
    loop {
        match reader.read(&mut byte) {
            Ok(1) => stop_all(c_int::from(byte[0])),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // The write end never closes; nothing else is worth carrying on for.
            _ => return,
        }
    }
}

fn stop_all(signal: c_int) {
    let handles: Vec<Arc<Shared>> = lock()
        .handles
        .iter()
        .filter_map(|(_, handle)| handle.upgrade())
        .collect();
    let reason = signal::stopped_by(signal);
    for shared in handles {
        if let Err(e) = shared.stop_by_signal(&reason) {
            eprintln!("hbmon: heartbeat {:?}: {e}", shared.name);
        }
    }
    signal::die_by(signal);
    // Only if the signal did not end the process, which a stop signal's default action does.
    std::process::exit(128 + signal);
}

#[cfg(test)]
mod tests {
    //! Each case runs in a child process of its own (this test binary, filtered to one
    //! ignored helper): signal dispositions are process-wide, and the signal ends it.
    use std::os::unix::process::ExitStatusExt;
    use std::path::Path;
    use std::process::{Command, ExitStatus};
    use std::time::Duration;

    use super::*;
    use crate::Heartbeat;
    use crate::store::{self, Entry, Reported};

    const FILE_VAR: &str = "HBMON_STOP_SIGNALS_TEST_FILE";

    /// Runs helper `name` alone in a child process beating into `file`; its exit status,
    /// and what it printed (for a failure's message).
    fn in_child(name: &str, file: &Path) -> (ExitStatus, String) {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                &format!("heartbeat::stop_signals::tests::{name}"),
                "--exact",
                "--ignored",
                "--test-threads=1",
            ])
            .env(FILE_VAR, file)
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
        (out.status, printed)
    }

    fn entry(file: &Path) -> Entry {
        store::read(file).unwrap().get("child").cloned().unwrap()
    }

    /// The file a helper beats into; `None` when run by hand, not by its test.
    fn child_file() -> Option<String> {
        std::env::var(FILE_VAR).ok()
    }

    /// The handler `signal` has: to tell the host's own from signal-hook's.
    fn handler_of(signal: c_int) -> libc::sighandler_t {
        // SAFETY: an all-zero sigaction is a valid value; a null `act` only queries.
        let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        unsafe { libc::sigaction(signal, std::ptr::null(), &raw mut current) };
        current.sa_sigaction
    }

    /// Sends `signal` to this process and waits to be ended by it.
    fn signal_self(signal: c_int) -> ! {
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(libc::getpid(), signal) };
        std::thread::sleep(Duration::from_secs(20));
        panic!("still alive 20 s after signal {signal}");
    }

    #[test]
    #[ignore = "a helper: a_stop_signal_ends_the_process_stopped_and_by_that_signal runs it"]
    fn child_stopped_by_sigterm() {
        let Some(file) = child_file() else { return };
        assert_eq!(signal::disposition(libc::SIGTERM), Disposition::Default);
        let _handle = Heartbeat::new("child").file(file).start().unwrap();
        assert_eq!(signal::disposition(libc::SIGTERM), Disposition::Caught);
        signal_self(libc::SIGTERM);
    }

    #[test]
    fn a_stop_signal_ends_the_process_stopped_and_by_that_signal() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        let (status, printed) = in_child("child_stopped_by_sigterm", &file);
        assert_eq!(
            status.signal(),
            Some(libc::SIGTERM),
            "{status:?}\n{printed}"
        );
        let entry = entry(&file);
        assert_eq!(entry.reported(), Reported::Stopped);
        assert_eq!(
            entry.additional_data["reason"],
            "stopped by SIGTERM (signal 15)"
        );
        assert_eq!(entry.beats, Some(2));
    }

    #[test]
    #[ignore = "a helper: handle_signals_false_installs_nothing runs it"]
    fn child_without_signal_handling() {
        let Some(file) = child_file() else { return };
        let _handle = Heartbeat::new("child")
            .file(file)
            .handle_signals(false)
            .start()
            .unwrap();
        assert_eq!(signal::disposition(libc::SIGTERM), Disposition::Default);
        signal_self(libc::SIGTERM);
    }

    #[test]
    fn handle_signals_false_installs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        let (status, printed) = in_child("child_without_signal_handling", &file);
        assert_eq!(
            status.signal(),
            Some(libc::SIGTERM),
            "{status:?}\n{printed}"
        );
        assert_eq!(entry(&file).reported(), Reported::Alive);
    }

    #[test]
    #[ignore = "a helper: a_forked_child_gets_the_default_action runs it"]
    fn child_that_forks() {
        let Some(file) = child_file() else { return };
        let _handle = Heartbeat::new("child").file(file).start().unwrap();
        // SAFETY: the forked child makes async-signal-safe calls only (kill, _exit).
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: as above.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGTERM);
                libc::_exit(3);
            }
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above, into a live local.
        assert_eq!(unsafe { libc::waitpid(pid, &raw mut status, 0) }, pid);
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGTERM,
            "the forked child ended with status {status}"
        );
    }

    #[test]
    fn a_forked_child_gets_the_default_action() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        let (status, printed) = in_child("child_that_forks", &file);
        assert!(status.success(), "{status:?}\n{printed}");
        // The parent's entry: its child's signal wrote nothing into it.
        let entry = entry(&file);
        assert_eq!(entry.beats, Some(2), "{entry:?}");
        assert_eq!(entry.additional_data.get("reason"), None, "{entry:?}");
    }

    static HOST_HANDLER_RAN: AtomicI32 = AtomicI32::new(0);

    extern "C" fn host_handler(signal: c_int) {
        HOST_HANDLER_RAN.store(signal, Ordering::SeqCst);
    }

    /// Sends `signal` to this process and waits for the host's handler to have taken it.
    fn host_takes(signal: c_int) {
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(libc::getpid(), signal) };
        let clock = std::time::Instant::now();
        while HOST_HANDLER_RAN.load(Ordering::SeqCst) != signal {
            assert!(
                clock.elapsed() < Duration::from_secs(10),
                "the host's handler never got signal {signal}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    #[ignore = "a helper: a_host_handler_is_kept_and_the_default_comes_back_after_the_last_stop runs it"]
    fn child_with_a_host_handler() {
        let Some(file) = child_file() else { return };
        let host = host_handler as extern "C" fn(c_int) as libc::sighandler_t;
        // SAFETY: the handler only stores an atomic.
        unsafe { libc::signal(libc::SIGTERM, host) };
        let first = Heartbeat::new("child").file(&file).start().unwrap();
        let second = Heartbeat::new("other").file(&file).start().unwrap();
        assert_eq!(
            handler_of(libc::SIGTERM),
            host,
            "the host's handler was replaced"
        );
        assert_eq!(
            signal::disposition(libc::SIGINT),
            Disposition::Caught,
            "SIGINT had its default"
        );
        host_takes(libc::SIGTERM);
        // A handler the host installs after the handles started replaces hbmon's hook.
        // SAFETY: as above.
        unsafe { libc::signal(libc::SIGHUP, host) };
        host_takes(libc::SIGHUP);
        let alive = |name: &str| {
            store::read(Path::new(&file))
                .unwrap()
                .get(name)
                .unwrap()
                .reported()
                == Reported::Alive
        };
        assert!(
            alive("child") && alive("other"),
            "a host's signal stopped a handle"
        );
        first.stop().unwrap();
        second.stop().unwrap();
        // No handle lives: SIGINT does what its default does, with no beat.
        signal_self(libc::SIGINT);
    }

    #[test]
    fn a_host_handler_is_kept_and_the_default_comes_back_after_the_last_stop() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        let (status, printed) = in_child("child_with_a_host_handler", &file);
        assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}\n{printed}");
        let entry = entry(&file);
        assert_eq!(entry.reported(), Reported::Stopped);
        assert!(entry.additional_data.get("reason").is_none(), "{entry:?}");
        assert_eq!(entry.beats, Some(2), "{entry:?}");
    }
}
