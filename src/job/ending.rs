//! How a run ended, in the words and the status its final beat gives, and the code (or the
//! signal) hbmon then ends with.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use crate::duration;
use crate::signal;
use crate::store::{Kind, Reported};

/// The exit code of a run that timed out although the command then exited 0, as
/// `timeout(1)` uses: a run cut short did not succeed.
const TIMED_OUT_CODE: i32 = 124;

/// How a run ended: what its final beat says, and how hbmon ends.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Ending {
    /// `succeeded`, `failed` or (an app) `stopped`.
    pub status: Reported,
    /// Shell-style, as [`super::Outcome::exit_code`].
    pub code: u8,
    pub reason: String,
    /// As [`super::Outcome::killed_by`].
    pub killed_by: Option<libc::c_int>,
}

/// How a run of `kind` that ended with `status` is reported. `passed_on` is the last signal
/// hbmon passed on to it, `stop` the first stop signal among them (SIGTERM, SIGINT, SIGHUP).
/// A command killed by a stop signal was asked to stop too, passed on or not: systemd's
/// default stop signals the whole unit at once, and the command may be gone before hbmon's
/// own SIGTERM arrives.
pub(super) fn ending(
    kind: Kind,
    status: ExitStatus,
    timed_out: Option<Duration>,
    passed_on: Option<libc::c_int>,
    stop: Option<libc::c_int>,
) -> Ending {
    let killed_by = status.signal();
    let (code, ended) = match (status.code(), killed_by) {
        (Some(code), _) => (code, format!("exited with code {code}")),
        (None, Some(signal)) => (
            128 + signal,
            format!("killed by {}", signal::describe(signal)),
        ),
        (None, None) => (1, format!("ended with {status}")),
    };
    if let Some(after) = timed_out {
        // hbmon's own SIGTERM: hbmon exits with the code rather than die by it.
        return Ending {
            status: Reported::Failed,
            code: u8::try_from(if code == 0 { TIMED_OUT_CODE } else { code }).unwrap_or(u8::MAX),
            reason: format!("timed out after {}; {ended}", duration::format(after)),
            killed_by: None,
        };
    }
    let mut verdict = if code == 0 {
        Reported::Succeeded
    } else {
        Reported::Failed
    };
    let stop = stop.or(killed_by.filter(|&s| signal::is_stop(s)));
    let reason = if let Some(stop) = stop {
        // Ended as asked: by that signal, or by an exit a program gives for it (a handler
        // that exits 0, a shell that reports its child's end as 128+N).
        let as_asked = killed_by == Some(stop) || code == 0 || code == 128 + stop;
        let by = if killed_by == Some(stop) {
            signal::describe(stop)
        } else {
            format!("{}; {ended}", signal::describe(stop))
        };
        match kind {
            Kind::App if as_asked => {
                verdict = Reported::Stopped;
                format!("stopped by {by}")
            }
            // Asked to stop, it ended otherwise: `failed`, and the code says how.
            Kind::App => format!("asked to stop by {by}"),
            // A job cut short: its exit code decides, the reason says it was interrupted.
            Kind::Job => format!("interrupted by {by}"),
        }
    } else if let Some(signal) = passed_on {
        format!("{} passed on; {ended}", signal::describe(signal))
    } else {
        ended
    };
    // An app is not meant to end: one that exits 0 stopped, and says so at once.
    if kind == Kind::App && verdict == Reported::Succeeded {
        verdict = Reported::Stopped;
    }
    Ending {
        status: verdict,
        code: u8::try_from(code).unwrap_or(u8::MAX),
        reason,
        killed_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    fn killed(signal: i32) -> ExitStatus {
        ExitStatus::from_raw(signal)
    }

    /// (status, code, reason, killed_by) of a run's end.
    fn end(
        kind: Kind,
        status: ExitStatus,
        timed_out: Option<Duration>,
        passed_on: Option<libc::c_int>,
    ) -> (Reported, u8, String, Option<libc::c_int>) {
        let stop = passed_on.filter(|&s| signal::is_stop(s));
        let e = ending(kind, status, timed_out, passed_on, stop);
        (e.status, e.code, e.reason, e.killed_by)
    }

    #[test]
    fn endings_follow_the_shell_convention() {
        use Reported::{Failed, Succeeded};
        let job = |status, passed_on| end(Kind::Job, status, None, passed_on);
        assert_eq!(
            job(exited(0), None),
            (Succeeded, 0, "exited with code 0".into(), None)
        );
        assert_eq!(
            job(exited(3), None),
            (Failed, 3, "exited with code 3".into(), None)
        );
        assert_eq!(
            job(killed(9), None),
            (
                Failed,
                137,
                "killed by SIGKILL (signal 9)".into(),
                Some(libc::SIGKILL)
            )
        );
        assert_eq!(
            job(exited(7), Some(libc::SIGUSR1)),
            (
                Failed,
                7,
                "SIGUSR1 (signal 10) passed on; exited with code 7".into(),
                None
            )
        );
    }

    #[test]
    fn a_timed_out_run_never_succeeds_and_hbmon_does_not_die_by_its_own_signal() {
        let after = Some(Duration::from_secs(30));
        assert_eq!(
            end(Kind::Job, killed(15), after, None),
            (
                Reported::Failed,
                143,
                "timed out after 30s; killed by SIGTERM (signal 15)".into(),
                None
            )
        );
        let (status, code, reason, _) = end(Kind::App, exited(0), after, None);
        assert_eq!((status, code), (Reported::Failed, 124));
        assert!(reason.starts_with("timed out after 30s"), "{reason}");
    }

    #[test]
    fn an_app_asked_to_stop_that_stops_is_stopped_not_failed() {
        let app = |status, passed_on| end(Kind::App, status, None, passed_on);
        let term = Some(libc::SIGTERM);
        assert_eq!(
            app(killed(libc::SIGTERM), term),
            (
                Reported::Stopped,
                143,
                "stopped by SIGTERM (signal 15)".into(),
                Some(libc::SIGTERM)
            )
        );
        // A handler that exits 0, a shell reporting its child's end: as asked too.
        for (status, code) in [(exited(0), 0), (exited(143), 143)] {
            let (reported, got, reason, killed_by) = app(status, term);
            assert_eq!((reported, got, killed_by), (Reported::Stopped, code, None));
            assert_eq!(
                reason,
                format!("stopped by SIGTERM (signal 15); exited with code {code}")
            );
        }
        assert_eq!(
            app(killed(libc::SIGINT), Some(libc::SIGINT)).0,
            Reported::Stopped
        );
        assert_eq!(
            app(exited(3), term),
            (
                Reported::Failed,
                3,
                "asked to stop by SIGTERM (signal 15); exited with code 3".into(),
                None
            )
        );
        // SIGQUIT asks for a core dump, not a stop.
        assert_eq!(
            app(killed(libc::SIGQUIT), Some(libc::SIGQUIT)).0,
            Reported::Failed
        );
        // Signalled by someone else first (systemd stops a whole unit at once).
        assert_eq!(
            app(killed(libc::SIGTERM), None),
            (
                Reported::Stopped,
                143,
                "stopped by SIGTERM (signal 15)".into(),
                Some(libc::SIGTERM)
            )
        );
        assert_eq!(app(killed(libc::SIGKILL), None).0, Reported::Failed);
    }

    #[test]
    fn an_app_that_exits_by_itself_is_stopped_or_failed_at_once() {
        let (status, _, reason, _) = end(Kind::App, exited(0), None, None);
        assert_eq!(
            (status, reason.as_str()),
            (Reported::Stopped, "exited with code 0")
        );
        assert_eq!(end(Kind::App, exited(1), None, None).0, Reported::Failed);
    }

    #[test]
    fn a_job_asked_to_stop_says_it_was_interrupted() {
        assert_eq!(
            end(Kind::Job, killed(libc::SIGTERM), None, Some(libc::SIGTERM)),
            (
                Reported::Failed,
                143,
                "interrupted by SIGTERM (signal 15)".into(),
                Some(libc::SIGTERM)
            )
        );
        assert_eq!(
            end(Kind::Job, exited(7), None, Some(libc::SIGHUP)).2,
            "interrupted by SIGHUP (signal 1); exited with code 7"
        );
    }
}
