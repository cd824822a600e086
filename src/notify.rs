//! The listening side of systemd's readiness protocol (`sd_notify(3)`): a socket a child is
//! given as `NOTIFY_SOCKET`, the datagrams it sends there (`READY=1`, `WATCHDOG=1`,
//! `STATUS=…`, `STOPPING=1`, `ERRNO=n`, `WATCHDOG=trigger`) parsed into a [`Message`], and
//! a [`Listener`] thread that receives them. Any daemon that already speaks the protocol so
//! beats into hbmon with no code change.
//!
//! Built for reuse: `hbmon run --notify` (`job`) is its first user, and a supervisor of
//! long-running processes gives each of its children a socket the same way, mapping the
//! messages to beats as it likes. Nothing here knows about beats or the heartbeat file.
//!
//! What it trusts, as systemd does: only datagrams whose kernel-checked credentials
//! (`SO_PASSCRED`) name an accepted user, at most [`MAX_DATAGRAM`] bytes, in valid
//! `KEY=VALUE` lines. Anything else is counted ([`Message::ignored`]) and otherwise dropped,
//! never a reason to fail; file descriptors sent along (`systemd-notify`'s `BARRIER=1`)
//! are closed at once. The socket lives in a fresh directory only its owner may enter, so
//! other users (root aside) cannot even reach it.

mod listener;
mod message;
mod socket;

pub use listener::Listener;
pub use message::{Message, parse};
pub use socket::{Datagram, NotifyError, NotifySocket};

/// The largest datagram accepted, as systemd's `NOTIFY_BUFFER_MAX` (`PIPE_BUF`): a longer
/// one is garbage, not a message cut short.
pub const MAX_DATAGRAM: usize = 4096;
