//! A stop signal is a stop, not a crash: while a [`Handle`](super::Handle) started with
//! [`handle_signals`](super::Heartbeat::handle_signals) on (the default) lives, SIGTERM,
//! SIGINT and SIGHUP — each only while it has its default action, which ends the process
//! without a word — get a handler. It wakes one thread (`hbmon-signals`), which writes a
//! `stopped` beat for every live handle (`additional_data.reason` = `stopped by SIGTERM
//! (signal 15)`), then puts the default action back and raises the signal again: the
//! process ends as it would have, by that signal, one beat later.
//!
//! The host's own handling wins: a signal it handles or ignores when the first handle
//! starts is left alone, and a handler it installs later replaces this one. When the last
//! handle stops, the default action is put back wherever this handler is still the one.

use std::ffi::c_void;
use std::io::{self, PipeReader, Read};
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

use libc::c_int;

use super::Shared;
use crate::signal::{self, ErrnoGuard};

/// The live handles that handle stop signals, and the signals this module's handler holds.
static LIVE: Mutex<Live> = Mutex::new(Live {
    handles: Vec::new(),
    installed: Vec::new(),
    next_id: 0,
});

struct Live {
    handles: Vec<(u64, Weak<Shared>)>,
    installed: Vec<c_int>,
    next_id: u64,
}

/// The write end of the pipe the handler wakes the watcher through; -1 until it runs.
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// The process the watcher runs in: a child forked without exec inherits the handler but
/// not the thread, and must get the default action instead.
static OWNER: AtomicI32 = AtomicI32::new(0);
/// The watcher thread, started with the first handle; an error says why it could not be.
static WATCHER: OnceLock<Result<(), String>> = OnceLock::new();

/// A handle's place among those a stop signal stops; leaving it (drop) gives the signals
/// back when it was the last.
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
    if live.installed.is_empty() {
        live.installed = install();
    }
    Some(Registration(id))
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut live = lock();
        live.handles.retain(|(id, _)| *id != self.0);
        if live.handles.is_empty() {
            let installed = std::mem::take(&mut live.installed);
            uninstall(&installed);
        }
    }
}

fn lock() -> MutexGuard<'static, Live> {
    // Plain lists, never left half-changed by a panic.
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn handler() -> libc::sighandler_t {
    on_stop_signal as extern "C" fn(c_int) as libc::sighandler_t
}

/// Installs the handler for each stop signal that has its default action; returns those.
fn install() -> Vec<c_int> {
    let mut installed = Vec::new();
    for signal in signal::STOPS {
        // SAFETY: an all-zero sigaction is a valid value (SIG_DFL, empty mask, no flags).
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null `act` only queries; `old` is a live local for it to fill.
        if unsafe { libc::sigaction(signal, std::ptr::null(), &raw mut old) } != 0
            || old.sa_sigaction != libc::SIG_DFL
        {
            continue;
        }
        // SAFETY: as above.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = handler();
        // SA_RESTART: the host's reads and waits carry on after the handler.
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: a valid sigaction whose handler does only async-signal-safe work.
        if unsafe { libc::sigaction(signal, &raw const action, std::ptr::null_mut()) } == 0 {
            installed.push(signal);
        }
    }
    installed
}

/// Puts the default action back for each of `installed` whose handler is still this one.
fn uninstall(installed: &[c_int]) {
    for &signal in installed {
        // SAFETY: as in `install`.
        let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null `act` only queries.
        if unsafe { libc::sigaction(signal, std::ptr::null(), &raw mut current) } == 0
            && current.sa_sigaction == handler()
        {
            // SAFETY: an all-zero sigaction is SIG_DFL.
            let default: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: a valid sigaction.
            unsafe { libc::sigaction(signal, &raw const default, std::ptr::null_mut()) };
        }
    }
}

/// The handler: one byte down the pipe. getpid, write and the errno guard are
/// async-signal-safe; a full pipe (EAGAIN) means a byte already waits for the watcher.
extern "C" fn on_stop_signal(signal: c_int) {
    let _errno = ErrnoGuard::save();
    let wake = WAKE.load(Ordering::SeqCst);
    // SAFETY: getpid has no memory effects.
    if wake >= 0 && unsafe { libc::getpid() } == OWNER.load(Ordering::SeqCst) {
        let byte = u8::try_from(signal).unwrap_or(0);
        // SAFETY: writes one byte from a live local.
        unsafe { libc::write(wake, (&raw const byte).cast::<c_void>(), 1) };
        return;
    }
    // SAFETY: signal and raise are async-signal-safe; the raised signal, blocked while this
    // handler runs, ends the process by the default action once it returns.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
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
    use std::sync::atomic::AtomicBool;
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

    fn disposition(signal: c_int) -> libc::sighandler_t {
        // SAFETY: as in `install`.
        let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null `act` only queries.
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
        let _handle = Heartbeat::new("child").file(file).start().unwrap();
        assert_eq!(disposition(libc::SIGTERM), handler());
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
        assert_eq!(disposition(libc::SIGTERM), libc::SIG_DFL);
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

    static HOST_HANDLER_RAN: AtomicBool = AtomicBool::new(false);

    extern "C" fn host_handler(_signal: c_int) {
        HOST_HANDLER_RAN.store(true, Ordering::SeqCst);
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
            disposition(libc::SIGTERM),
            host,
            "the host's handler was replaced"
        );
        assert_eq!(
            disposition(libc::SIGINT),
            handler(),
            "SIGINT had its default"
        );
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
        let clock = std::time::Instant::now();
        while !HOST_HANDLER_RAN.load(Ordering::SeqCst) {
            assert!(
                clock.elapsed() < Duration::from_secs(10),
                "the host's handler never ran"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            store::read(Path::new(&file))
                .unwrap()
                .get("child")
                .unwrap()
                .reported(),
            Reported::Alive
        );
        first.stop().unwrap();
        assert_eq!(disposition(libc::SIGINT), handler(), "a handle still lives");
        second.stop().unwrap();
        assert_eq!(
            disposition(libc::SIGINT),
            libc::SIG_DFL,
            "the default is back"
        );
        assert_eq!(disposition(libc::SIGTERM), host);
    }

    #[test]
    fn a_host_handler_is_kept_and_the_default_comes_back_after_the_last_stop() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hb.json");
        let (status, printed) = in_child("child_with_a_host_handler", &file);
        assert!(status.success(), "{status:?}\n{printed}");
        let entry = entry(&file);
        assert_eq!(entry.reported(), Reported::Stopped);
        assert!(entry.additional_data.get("reason").is_none(), "{entry:?}");
    }
}
