//! The signal dialog's keys (`K`/F9, the menu, the confirm), apart from the main table so
//! that each dialog's rows stay in a room of their own.

use crossterm::event::KeyCode;

use super::{Action, Binding, Keymap, Other, ch, key};
use crate::tui::app::Signalling;

/// `k` moves up (vim's habit), so the signal key is htop's F9 and `K`; in the detail pane,
/// where `K` is the previous process, F9 alone.
pub(super) const SIGNAL: Binding = Binding {
    keys: &[(key(KeyCode::F(9)), Action::AskSignal)],
    shown: "K  F9",
    help: Some("send a signal to the selected process (a menu, then y)"),
    hint: None,
};

/// The dialog's keys at its step: any key the step does not list cancels.
pub(super) fn keymap(dialog: &Signalling) -> Keymap {
    let bindings = match dialog {
        Signalling::Menu { .. } => SIGNAL_MENU,
        Signalling::Confirm { .. } => SIGNAL_CONFIRM,
    };
    Keymap {
        bindings,
        other: Other::Does(&Action::Cancel),
    }
}

/// The signal menu: move, `Enter` picks, any other key closes it.
static SIGNAL_MENU: &[Binding] = &[
    Binding {
        keys: &[
            (key(KeyCode::Up), Action::SignalMenu(-1)),
            (ch('k'), Action::SignalMenu(-1)),
            (key(KeyCode::Down), Action::SignalMenu(1)),
            (ch('j'), Action::SignalMenu(1)),
        ],
        shown: "↑↓  j k",
        help: None,
        hint: Some(("↑↓", "choose")),
    },
    Binding {
        keys: &[(key(KeyCode::Enter), Action::PickSignal)],
        shown: "Enter",
        help: None,
        hint: Some(("Enter", "send…")),
    },
    Binding {
        keys: &[],
        shown: "",
        help: None,
        hint: Some(("any other key", "cancels")),
    },
];

/// The signal's confirm: only `y` sends.
static SIGNAL_CONFIRM: &[Binding] = &[
    Binding {
        keys: &[(ch('y'), Action::Confirm), (ch('Y'), Action::Confirm)],
        shown: "y",
        help: None,
        hint: Some(("y", "send")),
    },
    Binding {
        keys: &[],
        shown: "",
        help: None,
        hint: Some(("any other key", "cancels")),
    },
];

#[cfg(test)]
pub(super) mod tests {
    use crossterm::event::{KeyEvent, KeyModifiers};

    use super::super::map_key;
    use super::*;
    use crate::tui::app::{Mode, Target};

    fn target() -> Target {
        Target {
            name: "web".into(),
            pid: 42,
            start_time: 1,
        }
    }

    pub fn menu() -> Mode {
        Mode::Signal(Signalling::Menu {
            target: target(),
            at: 0,
        })
    }

    pub fn confirm() -> Mode {
        Mode::Signal(Signalling::Confirm {
            target: target(),
            signal: libc::SIGTERM,
        })
    }

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn k_moves_up_so_shift_k_and_f9_open_the_signal_menu() {
        let cases = [
            (Mode::Normal, KeyCode::Char('K'), Some(Action::AskSignal)),
            (Mode::Normal, KeyCode::F(9), Some(Action::AskSignal)),
            (Mode::Normal, KeyCode::Char('k'), Some(Action::Move(-1))),
            // In the pane K is the previous process; F9 still signals.
            (Mode::Detail, KeyCode::F(9), Some(Action::AskSignal)),
            (Mode::Detail, KeyCode::Char('K'), Some(Action::Move(-1))),
            (menu(), KeyCode::Char('k'), Some(Action::SignalMenu(-1))),
            (menu(), KeyCode::Down, Some(Action::SignalMenu(1))),
            (menu(), KeyCode::Enter, Some(Action::PickSignal)),
            (menu(), KeyCode::Esc, Some(Action::Cancel)),
            (menu(), KeyCode::Char('y'), Some(Action::Cancel)),
            (confirm(), KeyCode::Char('y'), Some(Action::Confirm)),
            (confirm(), KeyCode::Enter, Some(Action::Cancel)),
            (confirm(), KeyCode::Char('n'), Some(Action::Cancel)),
        ];
        for (mode, code, want) in cases {
            assert_eq!(map_key(press(code), &mode), want, "{mode:?} {code:?}");
        }
    }
}
