//! The supervision keys, `R` restart and `x` stop, in a room of their own as the signal
//! dialog's are: they ask `hbmon serve`, which refuses a process it does not run.

use super::{Action, Binding, ch};
use crate::supervise::Verb;

pub(super) const CONTROL: Binding = Binding {
    keys: &[
        (ch('R'), Action::Control(Verb::Restart)),
        (ch('x'), Action::Control(Verb::Stop)),
    ],
    shown: "R  x",
    help: Some("restart, stop the selected process (one hbmon serve runs)"),
    hint: None,
};

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::super::map_key;
    use super::*;
    use crate::tui::app::Mode;

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn r_restarts_and_x_stops_in_the_tables_and_the_details() {
        for mode in [Mode::Normal, Mode::Detail] {
            let restart = Some(Action::Control(Verb::Restart));
            assert_eq!(map_key(press('R'), &mode), restart, "{mode:?}");
            assert_eq!(
                map_key(press('x'), &mode),
                Some(Action::Control(Verb::Stop))
            );
        }
    }
}
