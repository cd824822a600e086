//! One datagram's text as `sd_notify(3)` defines it: newline-separated `KEY=VALUE`
//! assignments, the ones hbmon maps kept, known ones it does not map passed over, and
//! malformed ones counted.

/// What one datagram says, as far as hbmon maps it. Several assignments may come in one
/// datagram (`READY=1\nSTATUS=serving`), so this is a set of them, not one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
// The protocol's flags, each independent of the others: not states of one machine.
#[allow(clippy::struct_excessive_bools)]
pub struct Message {
    /// `READY=1`: start-up is finished.
    pub ready: bool,
    /// `WATCHDOG=1`: the keep-alive ping.
    pub watchdog: bool,
    /// `WATCHDOG=trigger`: the process asks for its watchdog to fire, as if it had hung.
    pub trigger: bool,
    /// `STOPPING=1`: it is shutting down.
    pub stopping: bool,
    /// `RELOADING=1`: it is reloading its configuration.
    pub reloading: bool,
    /// `STATUS=…`: a free-form status line (raw: escape it where it is shown).
    pub status: Option<String>,
    /// `ERRNO=n`: it failed with this errno.
    pub errno: Option<i32>,
    /// Assignments (or whole datagrams) that were malformed, refused or unknown in value.
    pub ignored: u32,
}

impl Message {
    /// A datagram refused whole (too big, from another user, not UTF-8): one ignored.
    pub fn refused() -> Message {
        Message {
            ignored: 1,
            ..Message::default()
        }
    }

    /// Whether it says anything hbmon maps (a datagram of garbage or of `BARRIER=1` alone
    /// does not, and is no sign of life).
    pub fn says_something(&self) -> bool {
        self.ready
            || self.watchdog
            || self.trigger
            || self.stopping
            || self.reloading
            || self.status.is_some()
            || self.errno.is_some()
    }
}

/// Keys of the protocol hbmon knows but does not map: passed over, not counted as garbage.
const UNMAPPED: &[&str] = &[
    "BARRIER",
    "MAINPID",
    "MONOTONIC_USEC",
    "BUSERROR",
    "EXIT_STATUS",
    "EXTEND_TIMEOUT_USEC",
    "WATCHDOG_USEC",
    "NOTIFYACCESS",
    "FDSTORE",
    "FDSTOREREMOVE",
    "FDNAME",
    "FDPOLL",
];

/// Parses one datagram. Never fails: what cannot be read is counted in
/// [`Message::ignored`]; a later assignment of a key wins over an earlier one.
pub fn parse(datagram: &[u8]) -> Message {
    let Ok(text) = std::str::from_utf8(datagram) else {
        return Message::refused();
    };
    let mut message = Message::default();
    for line in text.split('\n').filter(|line| !line.is_empty()) {
        if !assign(&mut message, line) {
            message.ignored += 1;
        }
    }
    message
}

/// Applies one `KEY=VALUE` line; false when it is malformed or its value is not one the
/// key takes (`READY=0` means nothing in the protocol).
fn assign(message: &mut Message, line: &str) -> bool {
    let Some((key, value)) = line.split_once('=') else {
        return false;
    };
    match (key, value) {
        ("READY", "1") => message.ready = true,
        ("STOPPING", "1") => message.stopping = true,
        ("RELOADING", "1") => message.reloading = true,
        ("WATCHDOG", "1") => message.watchdog = true,
        ("WATCHDOG", "trigger") => message.trigger = true,
        // Control characters and all: the reader escapes them where it shows the line.
        ("STATUS", _) => message.status = Some(value.to_owned()),
        ("ERRNO", _) => match value.parse::<i32>() {
            Ok(errno) if errno >= 0 => message.errno = Some(errno),
            _ => return false,
        },
        _ => return UNMAPPED.contains(&key) && !value.is_empty(),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_parse_into_what_they_say() {
        let ready_status = Message {
            ready: true,
            status: Some("serving 3 clients".into()),
            ..Message::default()
        };
        let cases: &[(&[u8], Message)] = &[
            (b"READY=1\nSTATUS=serving 3 clients", ready_status.clone()),
            (b"READY=1\nSTATUS=serving 3 clients\n", ready_status),
            (
                b"WATCHDOG=1",
                Message {
                    watchdog: true,
                    ..Message::default()
                },
            ),
            (
                b"WATCHDOG=trigger",
                Message {
                    trigger: true,
                    ..Message::default()
                },
            ),
            (
                b"STOPPING=1\nERRNO=2",
                Message {
                    stopping: true,
                    errno: Some(2),
                    ..Message::default()
                },
            ),
            (
                b"RELOADING=1\nMONOTONIC_USEC=123",
                Message {
                    reloading: true,
                    ..Message::default()
                },
            ),
            (
                b"STATUS=a=b\x1b[2J",
                Message {
                    status: Some("a=b\u{1b}[2J".into()),
                    ..Message::default()
                },
            ),
            (b"BARRIER=1", Message::default()),
            (b"", Message::default()),
        ];
        for (datagram, want) in cases {
            assert_eq!(
                &parse(datagram),
                want,
                "{:?}",
                String::from_utf8_lossy(datagram)
            );
        }
    }

    #[test]
    fn garbage_is_counted_never_taken() {
        let cases: &[(&[u8], u32)] = &[
            (b"hello", 1),
            (b"READY=2", 1),
            (b"READY=yes\nWATCHDOG=0\nERRNO=-1\nERRNO=x", 4),
            (b"NOSUCHKEY=1\n=1\nMAINPID=", 3),
            (b"\xff\xfeREADY=1", 1),
        ];
        for (datagram, ignored) in cases {
            let message = parse(datagram);
            assert_eq!(message.ignored, *ignored, "{datagram:?}");
            assert!(!message.says_something(), "{datagram:?}: {message:?}");
        }
        let mixed = parse(b"junk\nWATCHDOG=1");
        assert!(mixed.watchdog && mixed.ignored == 1, "{mixed:?}");
    }
}
