//! Signals as messages, for the loops that wait on a channel (`hbmon serve`, the live UI):
//! the ones asked for are caught by signal-hook and handed, one by one, to a callback on a
//! thread of their own, so a loop ends (or reloads) by its normal path — the terminal given
//! back, the history flushed, the stopping line logged. No code runs in a signal handler
//! but signal-hook's own.

use std::io;
use std::thread::JoinHandle;

use signal_hook::iterator::{Handle, Signals};

pub use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// Signals being forwarded; [`Forward::close`] (or dropping it) ends the forwarding.
#[derive(Debug)]
pub struct Forward {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

/// Calls `deliver` with each of `signals` as it arrives, on a thread of its own, until
/// `deliver` returns false or the [`Forward`] is closed. From then on those signals are
/// caught and dropped: a second SIGTERM during a stop does not cut the stop short.
pub fn forward(
    signals: &[i32],
    mut deliver: impl FnMut(i32) -> bool + Send + 'static,
) -> io::Result<Forward> {
    let mut caught = Signals::new(signals)?;
    let handle = caught.handle();
    let thread = std::thread::Builder::new()
        .name("hbmon-signals".into())
        .spawn(move || {
            for signal in caught.forever() {
                if !deliver(signal) {
                    break;
                }
            }
        })?;
    Ok(Forward {
        handle,
        thread: Some(thread),
    })
}

impl Forward {
    /// Stops forwarding and waits for the thread to end.
    pub fn close(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.shut();
    }
}

/// `SIGTERM`, `SIGHUP`…; a number for one without a name.
pub fn name(signal: i32) -> String {
    signal_hook::low_level::signal_name(signal)
        .map_or_else(|| format!("signal {signal}"), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_signal_reaches_the_callback_and_is_named() {
        // SIGWINCH: harmless to this test process, whatever else runs in it.
        let (tx, rx) = mpsc::channel();
        let forward = forward(&[libc::SIGWINCH], move |s| tx.send(s).is_ok()).unwrap();
        // SAFETY: raising a signal this process now catches.
        unsafe { libc::raise(libc::SIGWINCH) };
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(libc::SIGWINCH));
        forward.close();
        assert_eq!(name(SIGHUP), "SIGHUP");
        assert_eq!(name(SIGTERM), "SIGTERM");
    }
}
