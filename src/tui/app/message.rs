//! What goes into the app ([`Action`]: keys, the engine's reports, transitions and
//! troubles, notices) and what comes out of it for the event loop to do ([`Effect`]).

use std::sync::Arc;

use super::Viewport;
use crate::changes::Transition;
use crate::monitor::Trouble;
use crate::report::Report;
use crate::supervise::Verb;
use crate::tui::recent::Recent;

/// A message shown for a few seconds (a removal done, a refresh, a failure).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub at: f64,
    pub is_error: bool,
}

/// Everything that changes the app: keys (via `keys::map_key`) and the event loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Quit,
    /// `Esc`: close what is open, clear the filter, else quit.
    Back,
    /// Move the selection by this many rows.
    Move(isize),
    /// Move the selection by this many pages.
    Page(isize),
    Top,
    Bottom,
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    /// `Enter` in the filter: keep it and go back to the table.
    FilterKeep,
    /// `Esc` in the filter: drop it.
    FilterClear,
    /// `p`: only the rows of warning severity or worse, or all again.
    ToggleProblems,
    /// `a`: also the additional processes that stopped cleanly (hidden as `hbmon status`
    /// hides them), or not.
    ToggleAll,
    /// A left click at a cell of the screen: a row selects it, a column title sorts by
    /// that column (again: reversed).
    Click {
        x: u16,
        y: u16,
    },
    CycleSort,
    ReverseSort,
    Refresh,
    /// `d`: ask whether to remove the selected entry.
    AskRemove,
    /// `R` restart, `x` stop: asks `hbmon serve` to do it to the selected process.
    Control(Verb),
    /// `K` or F9: choose a signal for the selected process.
    AskSignal,
    /// Move the signal menu's cursor.
    SignalMenu(isize),
    /// `Enter` in the signal menu: ask whether to send it.
    PickSignal,
    /// `y` in a confirm dialog.
    Confirm,
    /// Anything else in a confirm dialog (or the signal menu).
    Cancel,
    ToggleDetail,
    /// Scroll the detail pane (the help, while it is open) by lines.
    ScrollDetail(isize),
    /// Scroll the detail pane (the help, while it is open) by pages.
    PageDetail(isize),
    DetailTop,
    DetailBottom,
    ToggleHelp,
    /// `Tab`: the process tables or the history.
    ToggleTab,
    /// `t`: the tables as trees of dependencies, dependents under what they need, or flat.
    ToggleTree,
    /// A new report: the file (or the last good read of it) judged at an instant.
    Report(Arc<Report>),
    /// What the monitor saw change with the report.
    Transitions(Vec<Transition>),
    /// What is wrong now, worst first (none: all is well).
    Troubles(Vec<Trouble>),
    /// The remotes whose rows are not shown (not answered yet, or failing), in order.
    Remotes(Vec<crate::tui::remote::Stale>),
    Notice(Notice),
    Viewport(Viewport),
    /// A fresh read of the history database.
    History(Box<Recent>),
}

/// What [`App::update`](super::App::update) asks the event loop to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Re-read the file and re-probe now.
    Refresh,
    /// Remove this entry from the file, then refresh.
    Remove(String),
    /// Ask `hbmon serve` to start, stop or restart this process.
    Control(Verb, String),
    /// Send `signal` to the target's PID, if it is still that process.
    Signal {
        target: super::signal::Target,
        signal: libc::c_int,
    },
}
