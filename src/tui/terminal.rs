//! Taking the terminal over (raw mode, alternate screen, mouse reporting) and giving it back
//! on every way out: quit, error, signal (all return through [`Session`]'s `Drop`) and panic
//! (a hook that restores before the panic message prints, so the message is readable).

use std::io::{self, Stdout, stdout};
use std::sync::Once;

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Screen = Terminal<CrosstermBackend<Stdout>>;

/// The terminal while the UI owns it; dropping it restores the terminal.
pub struct Session {
    pub screen: Screen,
}

impl Session {
    pub fn enter() -> io::Result<Session> {
        install_panic_hook();
        // From here on a failure must still restore what was already switched on.
        let entered = (|| {
            enable_raw_mode()?;
            execute!(stdout(), EnterAlternateScreen, EnableMouseCapture, Hide)?;
            Terminal::new(CrosstermBackend::new(stdout()))
        })();
        entered
            .map(|screen| Session { screen })
            .inspect_err(|_| restore())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        restore();
    }
}

/// Best effort: each step runs even if an earlier one failed, and there is nobody left to
/// tell about a failure.
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, Show);
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
