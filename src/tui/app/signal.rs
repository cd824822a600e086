//! `K` (or F9): sending a signal to the selected row's process, as htop's F9 does — a menu
//! of signals, then a confirm. Only a process the report found alive (and the one that
//! beat, not a newer one reusing its PID) is offered; the send itself is the event loop's
//! ([`Effect::Signal`]), which checks the PID is still that process first.

use libc::c_int;

use super::{Action, App, Effect, Mode, Notice};

/// The menu, in htop's order of use: the polite stop first, the forceful ones after.
pub const SIGNALS: [(c_int, &str); 8] = [
    (libc::SIGTERM, "ask it to stop"),
    (libc::SIGINT, "interrupt, as Ctrl-C"),
    (libc::SIGHUP, "hang up: many daemons reload"),
    (libc::SIGKILL, "kill at once: no clean-up"),
    (libc::SIGSTOP, "pause it"),
    (libc::SIGCONT, "resume a paused process"),
    (libc::SIGUSR1, "user signal 1"),
    (libc::SIGUSR2, "user signal 2"),
];

/// The process a signal is for: its row's name, and its PID with the start time that
/// tells it from a later process given the same PID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub pid: u32,
    pub start_time: u64,
}

/// Where the signal dialog is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signalling {
    /// Choosing: the menu's cursor, an index into [`SIGNALS`].
    Menu { target: Target, at: usize },
    /// Asking whether to send this signal.
    Confirm { target: Target, signal: c_int },
}

impl Signalling {
    pub fn target(&self) -> &Target {
        match self {
            Signalling::Menu { target, .. } | Signalling::Confirm { target, .. } => target,
        }
    }
}

impl App {
    /// `K`, the menu's moves, `Enter`, then `y` or anything else.
    pub(super) fn signalling(&mut self, action: &Action) -> Option<Effect> {
        let Mode::Signal(dialog) = &self.mode else {
            if *action == Action::AskSignal {
                self.ask_signal();
            }
            return None;
        };
        match (dialog.clone(), action) {
            (Signalling::Menu { target, at }, Action::SignalMenu(by)) => {
                let at = at.saturating_add_signed(*by).min(SIGNALS.len() - 1);
                self.mode = Mode::Signal(Signalling::Menu { target, at });
            }
            (Signalling::Menu { target, at }, Action::PickSignal) => {
                let signal = SIGNALS[at].0;
                self.mode = Mode::Signal(Signalling::Confirm { target, signal });
            }
            (Signalling::Confirm { target, signal }, Action::Confirm) => {
                self.close_overlay();
                return Some(Effect::Signal { target, signal });
            }
            (_, Action::Cancel | Action::Back) => self.close_overlay(),
            _ => {}
        }
        None
    }

    fn ask_signal(&mut self) {
        let Some(row) = self.selected_row() else {
            return;
        };
        let why_not = match (&row.process, row.entry.as_ref().and_then(|e| e.pid)) {
            (Some(process), _) => {
                let target = Target {
                    name: row.name.clone(),
                    pid: process.pid,
                    start_time: process.start_time,
                };
                self.open_overlay(Mode::Signal(Signalling::Menu { target, at: 0 }));
                return;
            }
            (None, Some(pid)) => format!(
                "{:?}: pid {pid} is not alive (or is another process now): nothing to signal",
                row.display_name()
            ),
            (None, None) => format!(
                "{:?} reported no PID: nothing to signal",
                row.display_name()
            ),
        };
        self.notice = Some(Notice {
            text: why_not,
            at: self.report.now,
            is_error: true,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::tui::fixtures::{NOW, mixed};

    /// The mixed fixture, `websocket-reader` (hung, its process alive) selected.
    fn app() -> App {
        let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, true);
        app.update(Action::Report(Arc::new(mixed())));
        app.update(Action::Move(1));
        app
    }

    fn menu_at(app: &App) -> Option<usize> {
        match app.mode() {
            Mode::Signal(Signalling::Menu { at, .. }) => Some(*at),
            _ => None,
        }
    }

    #[test]
    fn a_signal_is_chosen_then_confirmed_then_sent() {
        let mut app = app();
        assert_eq!(app.update(Action::AskSignal), None);
        let target = match app.mode() {
            Mode::Signal(dialog) => dialog.target().clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(target.name, "websocket-reader");
        assert_eq!(
            Some(target.pid),
            app.selected_row().and_then(|r| r.entry.as_ref()?.pid)
        );
        for (by, at) in [(3, 3), (-1, 2), (-10, 0), (20, 7), (-7, 0)] {
            app.update(Action::SignalMenu(by));
            assert_eq!(menu_at(&app), Some(at), "after {by}");
        }
        assert_eq!(app.update(Action::PickSignal), None);
        assert_eq!(
            app.mode(),
            &Mode::Signal(Signalling::Confirm {
                target: target.clone(),
                signal: libc::SIGTERM
            })
        );
        assert_eq!(
            app.update(Action::Confirm),
            Some(Effect::Signal {
                target,
                signal: libc::SIGTERM
            })
        );
        assert_eq!(app.mode(), &Mode::Normal);
    }

    #[test]
    fn cancelling_at_either_step_sends_nothing_and_goes_back() {
        let mut app = app();
        app.update(Action::AskSignal);
        assert_eq!(app.update(Action::Cancel), None);
        assert_eq!(app.mode(), &Mode::Normal);
        // Opened over the detail pane, it goes back to the pane.
        app.update(Action::ToggleDetail);
        app.update(Action::AskSignal);
        app.update(Action::SignalMenu(3));
        app.update(Action::PickSignal);
        assert!(app.detail_open());
        assert_eq!(app.update(Action::Cancel), None);
        assert_eq!(app.mode(), &Mode::Detail);
        // A confirm before a signal is picked sends nothing (the keys never send one).
        app.update(Action::AskSignal);
        assert_eq!(app.update(Action::Confirm), None);
        assert_eq!(menu_at(&app), Some(0));
    }

    #[test]
    fn a_row_without_a_live_process_is_refused_in_a_notice() {
        let mut app = app();
        app.update(Action::Top);
        // vue-frontend: dead, its PID gone.
        assert_eq!(app.update(Action::AskSignal), None);
        assert_eq!(app.mode(), &Mode::Normal);
        let notice = app.notice().expect("a notice says why").text.clone();
        assert!(notice.contains("is not alive"), "{notice}");
        // nightly-backup: configured, never beat, no PID at all.
        app.update(Action::Move(3));
        app.update(Action::AskSignal);
        let notice = app.notice().expect("a notice says why").text.clone();
        assert!(notice.contains("reported no PID"), "{notice}");
        assert_eq!(app.mode(), &Mode::Normal);
    }
}
