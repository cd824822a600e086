//! The terminal UI's state and its pure [`App::update`]: selection, scrolling, filter, sort,
//! overlays, the latest [`Report`], the last file error and the transitions this monitor saw.
//! Nothing here does I/O or reads the clock; what needs the outside world is returned as an
//! [`Effect`] for the event loop to carry out.

mod filter;
mod message;
mod selection;
mod signal;
#[cfg(test)]
mod tests;
mod view;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

pub use self::filter::Filter;
pub use self::message::{Action, Effect, Notice};
pub use self::signal::{SIGNALS, Signalling, Target};
pub use self::view::{Mode, Spot, Tab, Table, Viewport};
use super::recent::Recent;
use super::remote::{Stale, remote_host};
use crate::changes::Transition;
use crate::monitor::Trouble;
use crate::report::columns::Column;
use crate::report::{Report, Row};

/// How many transitions are kept per process: enough for "what just happened", bounded so
/// a flapping process cannot grow the monitor's memory.
pub const TRANSITIONS_KEPT: usize = 16;

/// Rows a mouse-wheel notch moves, as in htop.
pub const WHEEL_STEP: isize = 3;

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    report: Arc<Report>,
    /// The heartbeat file as shown in the header (`~` for the home directory).
    pub file: String,
    /// When the monitor started (Unix seconds), for its runtime in the header.
    pub started: f64,
    /// False under `NO_COLOR`: every state is still told by its symbol and word.
    pub color: bool,
    mode: Mode,
    /// The filter as typed after `/`.
    filter: String,
    /// What the tables show: the typed filter read, problems only, all.
    view: Filter,
    /// The column the tables are sorted by (`s` cycles, a click on a title picks).
    sort: Column,
    reverse: bool,
    detail_scroll: usize,
    /// How far the help is scrolled (it outgrows a small terminal).
    help_scroll: usize,
    troubles: Vec<Trouble>,
    /// The remotes whose rows are not shown, and why.
    stale: Vec<Stale>,
    notice: Option<Notice>,
    transitions: HashMap<String, VecDeque<Transition>>,
    tab: Tab,
    history: Option<Recent>,
    /// Indices into `report.rows`, filtered and sorted, per table.
    order: [Vec<usize>; 2],
    /// `t`: the tables as trees of dependencies ([`crate::deps::tree`]), each row's depth
    /// in `order`'s order; `None`: flat.
    depths: Option<[Vec<usize>; 2]>,
    /// The selection, as an index into the monitored rows followed by the additional ones.
    cursor: usize,
    /// The selected process's host (for a remote's row) and name, so the selection follows
    /// it across reports and sorts.
    selected: Option<(Option<String>, String)>,
    offsets: [usize; 2],
    viewport: Viewport,
    /// Help or the remove prompt was opened over the detail pane, which it goes back to.
    overlay_on_detail: bool,
}

impl App {
    /// Whether anything on screen comes from the history database.
    pub fn shows_history(&self) -> bool {
        self.tab != Tab::Processes || self.detail_open()
    }

    /// Whether the detail pane is on screen: focused, or under help or the remove prompt.
    pub fn detail_open(&self) -> bool {
        match self.mode {
            Mode::Detail => true,
            Mode::Help | Mode::Confirm(_) | Mode::Signal(_) => self.overlay_on_detail,
            Mode::Normal | Mode::Filter => false,
        }
    }

    /// Opens help or the remove prompt over whatever is on screen.
    fn open_overlay(&mut self, overlay: Mode) {
        self.overlay_on_detail = self.mode == Mode::Detail;
        self.mode = overlay;
    }

    /// Closes help or the remove prompt, back to the detail pane if it was open under it.
    fn close_overlay(&mut self) {
        self.mode = if std::mem::take(&mut self.overlay_on_detail) {
            Mode::Detail
        } else {
            Mode::Normal
        };
    }

    pub fn new(file: String, started: f64, color: bool) -> App {
        App {
            report: Arc::new(Report {
                now: started,
                ..Report::default()
            }),
            file,
            started,
            color,
            mode: Mode::Normal,
            filter: String::new(),
            view: Filter::default(),
            sort: Column::State,
            reverse: false,
            detail_scroll: 0,
            help_scroll: 0,
            troubles: Vec::new(),
            stale: Vec::new(),
            notice: None,
            transitions: HashMap::new(),
            tab: Tab::default(),
            history: None,
            order: [Vec::new(), Vec::new()],
            depths: None,
            cursor: 0,
            selected: None,
            offsets: [0, 0],
            viewport: Viewport::default(),
            overlay_on_detail: false,
        }
    }

    pub fn report(&self) -> &Report {
        &self.report
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    pub fn sort(&self) -> (Column, bool) {
        (self.sort, self.reverse)
    }

    pub fn troubles(&self) -> &[Trouble] {
        &self.troubles
    }

    /// The remotes whose rows are not shown (`--remote`), in their order.
    pub fn stale(&self) -> &[Stale] {
        &self.stale
    }

    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    pub fn detail_scroll(&self) -> usize {
        self.detail_scroll
    }

    pub fn help_scroll(&self) -> usize {
        self.help_scroll
    }

    /// The transitions seen for `name`, oldest first.
    pub fn transitions(&self, name: &str) -> impl DoubleEndedIterator<Item = &Transition> {
        self.transitions.get(name).into_iter().flatten()
    }

    pub fn tab(&self) -> Tab {
        self.tab
    }

    /// The last read of the history database, if there is one.
    pub fn history(&self) -> Option<&Recent> {
        self.history.as_ref()
    }

    /// `name`'s transitions, newest first: the history's, then those this monitor saw
    /// since that read (all of them when there is no history).
    pub fn timeline(&self, name: &str) -> Vec<&Transition> {
        let stored: &[Transition] = self
            .history
            .as_ref()
            .and_then(|h| h.selected.as_ref())
            .filter(|s| s.name == name)
            .map_or(&[], |s| &s.transitions);
        let newest = stored.first().map_or(f64::NEG_INFINITY, |t| t.time);
        let mut oldest_first: Vec<&Transition> = stored
            .iter()
            .rev()
            .chain(self.transitions(name).filter(|t| t.time > newest))
            .collect();
        // A monitor that started without the history sees a known state as new: the
        // period began at the older transition.
        oldest_first.dedup_by(|later, earlier| later.to == earlier.to);
        oldest_first.reverse();
        oldest_first
    }

    /// The rows of one table, filtered and in display order.
    pub fn rows(&self, table: Table) -> impl ExactSizeIterator<Item = &Row> + '_ {
        self.order[table.index()]
            .iter()
            .map(|&i| &self.report.rows[i])
    }

    /// How deep the row at `i` of `table` is in the tree view (0: at the top, and for
    /// every row outside it).
    pub fn depth(&self, table: Table, i: usize) -> usize {
        self.depths
            .as_ref()
            .and_then(|d| d[table.index()].get(i).copied())
            .unwrap_or(0)
    }

    /// Whether the tables show the tree of dependencies (`t`).
    pub fn tree(&self) -> bool {
        self.depths.is_some()
    }

    /// What depends on `row` directly (its `depends_on` names it), in report order: the
    /// detail pane's "Needed by". Only on its machine: a dependency is a name there.
    pub fn needed_by(&self, row: &Row) -> Vec<&str> {
        self.report
            .rows
            .iter()
            .filter(|r| r.host == row.host && r.depends_on.contains(&row.name))
            .map(|r| r.name.as_str())
            .collect()
    }

    /// How many rows a table shows after the filter.
    pub fn len(&self, table: Table) -> usize {
        self.order[table.index()].len()
    }

    /// How many rows the report has for a table, before the filter (and without the rows
    /// hidden by default, see [`App::hidden`]).
    pub fn total(&self, table: Table) -> usize {
        let monitored = table == Table::Monitored;
        self.report
            .rows
            .iter()
            .filter(|r| r.monitored == monitored && !self.view.hides_by_default(r))
            .count()
    }

    /// How many rows are hidden by default (additional processes that stopped cleanly);
    /// `a` shows them.
    pub fn hidden(&self) -> usize {
        self.report
            .rows
            .iter()
            .filter(|r| self.view.hides_by_default(r))
            .count()
    }

    /// What narrows the tables besides the typed filter: problems only, all shown.
    pub fn view(&self) -> &Filter {
        &self.view
    }

    /// The first row of a table on screen.
    pub fn offset(&self, table: Table) -> usize {
        self.offsets[table.index()]
    }

    /// The selected row's position within `table`, if the selection is in it.
    pub fn cursor_in(&self, table: Table) -> Option<usize> {
        let monitored = self.order[0].len();
        match table {
            Table::Monitored => (self.cursor < monitored).then_some(self.cursor),
            Table::Additional => self
                .cursor
                .checked_sub(monitored)
                .filter(|&i| i < self.order[1].len()),
        }
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.row_at(self.cursor)
    }

    /// Applies one action; returns what the event loop must do, if anything.
    pub fn update(&mut self, action: Action) -> Option<Effect> {
        match action {
            Action::Quit => return Some(Effect::Quit),
            Action::Back => return self.back(),
            Action::Move(by) => self.move_by(by),
            Action::Page(pages) => {
                let page = self.page_size().max(1).cast_signed();
                self.move_by(pages.saturating_mul(page));
            }
            Action::Top => self.select(0),
            Action::Bottom => self.select(self.visible_len().saturating_sub(1)),
            Action::StartFilter
            | Action::FilterChar(_)
            | Action::FilterBackspace
            | Action::FilterKeep
            | Action::FilterClear
            | Action::ToggleProblems
            | Action::ToggleAll => self.narrow(&action),
            Action::Click { x, y } => self.click(x, y),
            Action::CycleSort => {
                self.sort = self.sort.next_sort();
                self.reorder();
            }
            Action::ReverseSort => {
                self.reverse = !self.reverse;
                self.reorder();
            }
            Action::Refresh => return Some(Effect::Refresh),
            Action::AskRemove | Action::Control(_) | Action::AskSignal if self.refused_remote() => {
            }
            Action::Control(verb) => {
                return self
                    .selected_row()
                    .map(|row| Effect::Control(verb, row.name.clone()));
            }
            Action::AskSignal | Action::SignalMenu(_) | Action::PickSignal => {
                return self.signalling(&action);
            }
            Action::Confirm | Action::Cancel if matches!(self.mode, Mode::Signal(_)) => {
                return self.signalling(&action);
            }
            Action::AskRemove | Action::Confirm | Action::Cancel => return self.removal(&action),
            Action::ToggleDetail => {
                self.mode = if self.mode == Mode::Detail || self.selected_row().is_none() {
                    Mode::Normal
                } else {
                    Mode::Detail
                };
                self.detail_scroll = 0;
            }
            Action::ScrollDetail(by) => self.scroll(by),
            Action::PageDetail(pages) => {
                let page = self.scrolled().1.max(1).cast_signed();
                self.scroll(pages.saturating_mul(page));
            }
            Action::DetailTop => *self.scrolled().0 = 0,
            Action::DetailBottom => {
                let (at, _, max) = self.scrolled();
                *at = max;
            }
            Action::ToggleHelp => {
                if self.mode == Mode::Help {
                    self.close_overlay();
                } else {
                    self.help_scroll = 0;
                    self.open_overlay(Mode::Help);
                }
            }
            Action::ToggleTab => self.tab = self.tab.next(),
            Action::ToggleTree => {
                self.depths = match self.depths {
                    Some(_) => None,
                    None => Some([Vec::new(), Vec::new()]),
                };
                self.reorder();
            }
            Action::Report(report) => self.set_report(report),
            Action::Transitions(transitions) => self.saw(transitions),
            Action::Troubles(troubles) => self.troubles = troubles,
            Action::Remotes(stale) => self.stale = stale,
            Action::Notice(notice) => self.notice = Some(notice),
            Action::Viewport(viewport) => {
                self.viewport = viewport;
                self.detail_scroll = self.detail_scroll.min(viewport.detail_max_scroll);
                self.help_scroll = self.help_scroll.min(viewport.help_max_scroll);
                self.keep_in_view();
            }
            Action::History(recent) => self.history = Some(*recent),
        }
        None
    }

    /// Whether the selected row is another machine's, refused (with a notice saying so)
    /// an action that would act on this machine: on a same-named process of this one.
    fn refused_remote(&mut self) -> bool {
        let Some(host) = self.selected_row().and_then(remote_host) else {
            return false;
        };
        let text = format!(
            "{}: remote rows are read-only here (act on that machine)",
            crate::text::escape(host)
        );
        self.notice = Some(Notice {
            text,
            at: self.report.now,
            is_error: true,
        });
        true
    }

    /// `d`, then `y` or anything else: removing the selected entry from the file.
    fn removal(&mut self, action: &Action) -> Option<Effect> {
        match action {
            Action::AskRemove => match self.selected_row() {
                Some(row) if row.entry.is_some() => {
                    let name = row.name.clone();
                    self.open_overlay(Mode::Confirm(name));
                }
                // A configured process that never beat: say why nothing happens.
                Some(row) => {
                    let text = format!(
                        "{:?} never beat: nothing in the file to remove (it is listed in the config)",
                        row.display_name()
                    );
                    self.notice = Some(Notice {
                        text,
                        at: self.report.now,
                        is_error: false,
                    });
                }
                None => {}
            },
            Action::Confirm => {
                if let Mode::Confirm(name) = &self.mode {
                    let name = name.clone();
                    self.close_overlay();
                    return Some(Effect::Remove(name));
                }
            }
            Action::Cancel => {
                if matches!(self.mode, Mode::Confirm(_)) {
                    self.close_overlay();
                }
            }
            _ => {}
        }
        None
    }

    fn back(&mut self) -> Option<Effect> {
        match self.mode {
            Mode::Normal if !self.view.narrows() => return Some(Effect::Quit),
            Mode::Normal | Mode::Filter => {
                self.mode = Mode::Normal;
                self.clear_filter();
            }
            Mode::Detail => self.mode = Mode::Normal,
            Mode::Help | Mode::Confirm(_) | Mode::Signal(_) => self.close_overlay(),
        }
        None
    }

    /// Drops the typed filter and "problems only".
    fn clear_filter(&mut self) {
        if self.view.narrows() {
            self.filter.clear();
            self.view.set_text("");
            self.view.problems = false;
            self.reorder();
        }
    }
}
