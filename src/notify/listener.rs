//! A thread that receives a notify socket's datagrams and hands each on as a [`Message`],
//! refusing (and counting) those from users not accepted or over the size limit.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Datagram, Message, NotifySocket, parse};

/// How long the thread waits for a datagram before it looks whether it is to stop: the
/// most a stop waits for it.
const POLL: Duration = Duration::from_millis(100);

/// A running listener; stopping it (or dropping it) delivers what is already queued on the
/// socket, ends the thread and removes the socket.
#[derive(Debug)]
pub struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Starts a thread receiving on `socket`. Datagrams from a uid in `accept` are parsed;
    /// others, and oversized ones, are delivered as [`Message::refused`]. `deliver` gets each
    /// with its sender's PID and returns false to end the thread.
    pub fn start(
        socket: NotifySocket,
        accept: Vec<u32>,
        mut deliver: impl FnMut(Option<u32>, Message) -> bool + Send + 'static,
    ) -> io::Result<Listener> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("hbmon-notify".to_owned())
            .spawn(move || {
                loop {
                    let stopping = stopped.load(Ordering::Acquire);
                    match socket.receive((!stopping).then_some(POLL)) {
                        Ok(Some(datagram)) => {
                            let pid = datagram.pid;
                            if !deliver(pid, judge(&datagram, &accept)) {
                                break;
                            }
                        }
                        Ok(None) | Err(_) if stopping => break,
                        Ok(None) => {}
                        // Not a datagram's fault (the socket is ours): wait, lest a
                        // lasting error spin the thread.
                        Err(_) => std::thread::sleep(POLL),
                    }
                }
            })?;
        Ok(Listener {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the listener once the datagrams already queued are delivered.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a datagram says, if its sender and size are accepted.
fn judge(datagram: &Datagram, accept: &[u32]) -> Message {
    let trusted = datagram.uid.is_some_and(|uid| accept.contains(&uid));
    if datagram.oversized || !trusted {
        return Message::refused();
    }
    parse(&datagram.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;
    use std::sync::mpsc;

    #[test]
    fn datagrams_are_judged_by_sender_and_size() {
        let datagram = |uid, oversized| Datagram {
            uid,
            pid: Some(7),
            bytes: b"WATCHDOG=1".to_vec(),
            oversized,
        };
        let watchdog = parse(b"WATCHDOG=1");
        for (uid, oversized, want) in [
            (Some(1000), false, watchdog),
            (Some(1001), false, Message::refused()),
            (None, false, Message::refused()),
            (Some(1000), true, Message::refused()),
        ] {
            assert_eq!(
                judge(&datagram(uid, oversized), &[1000]),
                want,
                "{uid:?} {oversized}"
            );
        }
    }

    #[test]
    fn a_stop_delivers_what_was_queued_first() {
        let parent = tempfile::tempdir().unwrap();
        let socket = NotifySocket::bind_in(parent.path()).unwrap();
        let path = socket.path().to_owned();
        let (tx, rx) = mpsc::channel();
        // SAFETY: getuid cannot fail.
        let me = unsafe { libc::getuid() };
        let listener =
            Listener::start(socket, vec![me], move |pid, m| tx.send((pid, m)).is_ok()).unwrap();
        let sender = UnixDatagram::unbound().unwrap();
        for datagram in [&b"READY=1"[..], b"junk", b"STOPPING=1"] {
            sender.send_to(datagram, &path).unwrap();
        }
        listener.stop();
        let got: Vec<(Option<u32>, Message)> = rx.iter().collect();
        let me_pid = Some(std::process::id());
        assert_eq!(
            got,
            [
                (me_pid, parse(b"READY=1")),
                (me_pid, parse(b"junk")),
                (me_pid, parse(b"STOPPING=1")),
            ]
        );
        assert!(!path.exists(), "the socket is removed with the listener");
    }
}
