//! Alerts: `[[alert]]` rules (their data is the config's: [`crate::config::Rule`]) that run a
//! command or post to a webhook when processes change state. [`decide`] is when (pure), [`group`] a host down as one message (pure),
//! [`message`] what is said, [`send`] the delivery; the engine runs every rule against each
//! of its checks (`monitor/alerter.rs`).

pub mod decide;
pub mod group;
pub mod message;
pub mod send;

pub use decide::{Decider, Message, Notice, NoticeKind, Observation};
pub use send::STOP_WITHIN;
