//! A job's output: passed through byte for byte, with its newest bytes kept for the final beat.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::store::kept_text;

/// The newest bytes of a job's output, filled by the pumps of its stdout and stderr.
#[derive(Debug)]
pub struct Tail {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug)]
struct State {
    bytes: VecDeque<u8>,
    capacity: usize,
    /// Bytes seen in all, kept or not; lets a waiter notice output still arriving.
    total: u64,
    /// Pumps still reading.
    open: usize,
    /// No longer passed on: the job has been reported.
    abandoned: bool,
}

impl Tail {
    /// A tail keeping the last `capacity` bytes of the output of `pumps` pumps.
    pub fn new(capacity: usize, pumps: usize) -> Self {
        Tail {
            state: Mutex::new(State {
                bytes: VecDeque::with_capacity(capacity),
                capacity,
                total: 0,
                open: pumps,
                abandoned: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain bytes and counters: a panicking pump cannot leave them half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `chunk`, dropping the oldest bytes beyond the capacity.
    pub fn push(&self, chunk: &[u8]) {
        let mut state = self.lock();
        state.total += chunk.len() as u64;
        let keep = chunk.len().min(state.capacity);
        let overflow = (state.bytes.len() + keep).saturating_sub(state.capacity);
        state.bytes.drain(..overflow);
        state.bytes.extend(&chunk[chunk.len() - keep..]);
        drop(state);
        self.changed.notify_all();
    }

    /// Marks one pump as finished (its pipe closed).
    pub fn close_one(&self) {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.changed.notify_all();
    }

    /// Waits until every pump has finished, for at most `limit`; false if one is still
    /// reading then (a process the job left behind holds its pipe open).
    pub fn wait_closed(&self, limit: Duration) -> bool {
        let (state, _) = self
            .changed
            .wait_timeout_while(self.lock(), limit, |state| state.open > 0)
            .unwrap_or_else(PoisonError::into_inner);
        state.open == 0
    }

    /// Stops the pumps: each closes its pipe at its next chunk instead of passing it on, and
    /// the tail keeps what it has.
    pub fn abandon(&self) {
        self.lock().abandoned = true;
    }

    fn abandoned(&self) -> bool {
        self.lock().abandoned
    }

    /// The kept bytes as text, as [`kept_text`] makes it.
    pub fn text(&self) -> String {
        let mut state = self.lock();
        let cut_short = state.total > state.bytes.len() as u64;
        kept_text(state.bytes.make_contiguous(), cut_short)
    }
}

/// Copies `from` to `to` until end of file, flushing each chunk so output appears as the
/// job writes it, and keeps every chunk in `tail`. If `to` fails (say our stdout is a pipe
/// whose reader quit), `from` is closed so the job sees a broken pipe, as it would have
/// without hbmon in between.
pub fn pump(mut from: impl Read, mut to: impl Write, tail: &Tail) {
    // A pipe holds 64 KiB: read it whole in one go.
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if tail.abandoned() {
            break;
        }
        let chunk = &buffer[..n];
        tail.push(chunk);
        if to.write_all(chunk).and_then(|()| to.flush()).is_err() {
            break;
        }
    }
    drop(from);
    tail.close_one();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{TAIL_BYTES, tail_text};

    #[test]
    fn keeps_only_the_newest_bytes() {
        let tail = Tail::new(8, 1);
        tail.push(b"abc");
        tail.push(b"defgh");
        assert_eq!(tail.text(), "abcdefgh");
        tail.push(b"ij");
        assert_eq!(tail.text(), "cdefghij");
        tail.push(b"0123456789xyz");
        assert_eq!(tail.text(), "56789xyz");
    }

    #[test]
    fn a_character_cut_at_the_start_is_dropped_not_mangled() {
        let tail = Tail::new(4, 1);
        tail.push("aé€".as_bytes()); // 1 + 2 + 3 bytes: the last 4 start inside 'é'
        assert_eq!(tail.text(), "€");
        let whole = Tail::new(16, 1);
        whole.push(b"\x80ok");
        assert_eq!(
            whole.text(),
            "\u{FFFD}ok",
            "nothing was cut: keep what was sent"
        );
    }

    #[test]
    fn a_whole_output_keeps_its_last_bytes_as_a_pipe_would() {
        assert_eq!(tail_text(b"short \xff"), "short \u{FFFD}");
        let long = ["é".repeat(TAIL_BYTES), "end".to_owned()].concat();
        let tail = tail_text(long.as_bytes());
        // 3 bytes of "end" and TAIL_BYTES - 3 of "é"s, an odd count: the first is cut.
        assert_eq!(
            tail,
            ["é".repeat((TAIL_BYTES - 4) / 2), "end".to_owned()].concat()
        );
        let piped = Tail::new(TAIL_BYTES, 1);
        piped.push(long.as_bytes());
        assert_eq!(tail, piped.text());
    }

    #[test]
    fn pump_passes_everything_through_and_keeps_the_tail() {
        let input: Vec<u8> = (0..50_000_u32).flat_map(u32::to_le_bytes).collect();
        let tail = Tail::new(TAIL_BYTES, 1);
        let mut out = Vec::new();
        pump(input.as_slice(), &mut out, &tail);
        assert_eq!(out, input);
        let state = tail.lock();
        assert_eq!(state.open, 0);
        assert_eq!(state.total, input.len() as u64);
        assert!(state.bytes.iter().eq(&input[input.len() - TAIL_BYTES..]));
    }

    #[test]
    fn pump_stops_reading_when_the_output_breaks() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let input = vec![b'x'; 100_000];
        let tail = Tail::new(TAIL_BYTES, 1);
        let mut reader = input.as_slice();
        pump(&mut reader, Broken, &tail);
        assert!(
            !reader.is_empty(),
            "the pump kept reading after its output broke"
        );
        assert!(tail.wait_closed(Duration::from_secs(60)));
    }

    #[test]
    fn an_abandoned_pump_stops_passing_output_on() {
        let tail = Tail::new(TAIL_BYTES, 1);
        tail.push(b"kept");
        tail.abandon();
        let mut out = Vec::new();
        pump(&b"late output"[..], &mut out, &tail);
        assert!(out.is_empty(), "passed on after being abandoned");
        assert_eq!(tail.text(), "kept");
        assert!(tail.wait_closed(Duration::ZERO));
    }
}
