//! What the screen is showing: the tab, the mode (which has the keys), the two tables and
//! the rows the layout gives them.

use crate::report::columns::Column;

/// What the body shows; `Tab` cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    /// The process tables.
    #[default]
    Processes,
    /// Every process's last hour, from the history database.
    LastHour,
    /// Every process's last day.
    LastDay,
}

impl Tab {
    #[must_use]
    pub fn next(self) -> Tab {
        match self {
            Tab::Processes => Tab::LastHour,
            Tab::LastHour => Tab::LastDay,
            Tab::LastDay => Tab::Processes,
        }
    }

    /// The span of history the tab shows, in seconds; `None` for the process tables.
    pub fn window(self) -> Option<f64> {
        match self {
            Tab::Processes => None,
            Tab::LastHour => Some(3600.0),
            Tab::LastDay => Some(86_400.0),
        }
    }
}

/// Which key has the input focus.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    /// Typing a name filter after `/`.
    Filter,
    /// The detail pane of the selected process is open and scrolls.
    Detail,
    Help,
    /// Asking whether to remove this entry from the file.
    Confirm(String),
    /// Choosing a signal for a process, then asking whether to send it.
    Signal(super::signal::Signalling),
}

/// The two tables, in screen order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Processes listed in the config.
    Monitored,
    /// Processes that beat but are not in the config.
    Additional,
}

impl Table {
    pub(super) const fn index(self) -> usize {
        match self {
            Table::Monitored => 0,
            Table::Additional => 1,
        }
    }
}

/// How many rows the screen shows, as the last layout measured it. The loop tells the app
/// (see `ui::viewport`) so that paging and keeping the selection in view stay pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Viewport {
    /// Body rows of the monitored table.
    pub monitored: usize,
    /// Body rows of the additional table.
    pub additional: usize,
    /// Text lines the detail pane shows at once.
    pub detail: usize,
    /// How far the detail text can scroll (its lines minus what fits).
    pub detail_max_scroll: usize,
    /// Text lines the help shows at once, and how far it can scroll.
    pub help: usize,
    pub help_max_scroll: usize,
    /// Where each table is, for the mouse; `None` when it is not on screen.
    pub spots: [Option<Spot>; 2],
}

/// Where a table is on screen, for a mouse click: the line of its column titles (its rows
/// follow it) and each column's cells, `(x, width)` in [`Column::ALL`] order (width 0:
/// not shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spot {
    pub titles_y: u16,
    pub columns: [(u16, u16); Column::ALL.len()],
}

impl Spot {
    /// The column whose cells hold `x`, if one does.
    pub fn column_at(&self, x: u16) -> Option<Column> {
        self.columns
            .iter()
            .position(|&(at, width)| width > 0 && (at..at + width).contains(&x))
            .map(|i| Column::ALL[i])
    }
}
