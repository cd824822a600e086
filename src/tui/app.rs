//! The terminal UI's state and its pure [`App::update`]: selection, scrolling, filter, sort,
//! overlays, the latest [`Report`], what is wrong (the monitor's troubles) and the
//! transitions the monitor saw.
//! Nothing here does I/O or reads the clock; what needs the outside world is returned as an
//! [`Effect`] for the event loop to carry out.

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::recent::Recent;
use crate::changes::Transition;
use crate::monitor::Trouble;
use crate::report::{Report, Row};

/// How many transitions are kept per process: enough for "what just happened", bounded so
/// a flapping process cannot grow the monitor's memory.
pub const TRANSITIONS_KEPT: usize = 16;

/// Rows a mouse-wheel notch moves, as in htop.
pub const WHEEL_STEP: isize = 3;

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
}

/// What the table is ordered by; `s` cycles through them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Worst severity first, then by name.
    #[default]
    State,
    Name,
    /// Most recent beat first.
    LastBeat,
    /// Busiest first.
    Cpu,
    /// Largest first.
    Memory,
}

impl SortKey {
    #[must_use]
    pub fn next(self) -> SortKey {
        match self {
            SortKey::State => SortKey::Name,
            SortKey::Name => SortKey::LastBeat,
            SortKey::LastBeat => SortKey::Cpu,
            SortKey::Cpu => SortKey::Memory,
            SortKey::Memory => SortKey::State,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::State => "state",
            SortKey::Name => "name",
            SortKey::LastBeat => "last beat",
            SortKey::Cpu => "cpu",
            SortKey::Memory => "memory",
        }
    }

    /// The order by this key alone; ties are for the caller to break (by name).
    fn compare(self, a: &Row, b: &Row) -> Ordering {
        // Rows without a live process (or a beat, or a CPU sample yet) sort after those with
        // one; the rest biggest first. `total_cmp`: `sort_by` needs a total order.
        fn present(a: Option<f64>, b: Option<f64>) -> Ordering {
            match (a, b) {
                (Some(a), Some(b)) => b.total_cmp(&a),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        }
        match self {
            SortKey::State => b.health.severity.cmp(&a.health.severity),
            SortKey::Name => Ordering::Equal,
            SortKey::LastBeat => present(
                a.entry.as_ref().map(|e| e.last_heartbeat),
                b.entry.as_ref().map(|e| e.last_heartbeat),
            ),
            SortKey::Cpu => {
                let cpu = |r: &Row| {
                    r.process
                        .as_ref()
                        .map(|p| f64::from(p.cpu_percent))
                        .filter(|c| c.is_finite())
                };
                present(cpu(a), cpu(b))
            }
            SortKey::Memory => present(
                a.process.as_ref().map(|p| p.memory_bytes as f64),
                b.process.as_ref().map(|p| p.memory_bytes as f64),
            ),
        }
    }
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
    const fn index(self) -> usize {
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
}

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
    CycleSort,
    ReverseSort,
    Refresh,
    /// `d`: ask whether to remove the selected entry.
    AskRemove,
    /// `y` in the confirm dialog.
    Confirm,
    /// Anything else in the confirm dialog.
    Cancel,
    ToggleDetail,
    /// Scroll the detail pane by lines.
    ScrollDetail(isize),
    /// Scroll the detail pane by pages.
    PageDetail(isize),
    DetailTop,
    DetailBottom,
    ToggleHelp,
    /// `Tab`: the process tables or the history.
    ToggleTab,
    /// A new report: the file (or the last good read of it) judged at an instant.
    Report(Arc<Report>),
    /// What the monitor saw change with the report.
    Transitions(Vec<Transition>),
    /// What is wrong now, worst first (none: all is well).
    Troubles(Vec<Trouble>),
    Notice(Notice),
    Viewport(Viewport),
    /// A fresh read of the history database.
    History(Box<Recent>),
}

/// What [`App::update`] asks the event loop to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Re-read the file and re-probe now.
    Refresh,
    /// Remove this entry from the file, then refresh.
    Remove(String),
}

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
    filter: String,
    sort: SortKey,
    reverse: bool,
    detail_scroll: usize,
    troubles: Vec<Trouble>,
    notice: Option<Notice>,
    transitions: HashMap<String, VecDeque<Transition>>,
    tab: Tab,
    history: Option<Recent>,
    /// Indices into `report.rows`, filtered and sorted, per table.
    order: [Vec<usize>; 2],
    /// The selection, as an index into the monitored rows followed by the additional ones.
    cursor: usize,
    /// The selected process's name, so the selection follows it across reports and sorts.
    selected: Option<String>,
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
            Mode::Help | Mode::Confirm(_) => self.overlay_on_detail,
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
            sort: SortKey::default(),
            reverse: false,
            detail_scroll: 0,
            troubles: Vec::new(),
            notice: None,
            transitions: HashMap::new(),
            tab: Tab::default(),
            history: None,
            order: [Vec::new(), Vec::new()],
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

    pub fn sort(&self) -> (SortKey, bool) {
        (self.sort, self.reverse)
    }

    pub fn troubles(&self) -> &[Trouble] {
        &self.troubles
    }

    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    pub fn detail_scroll(&self) -> usize {
        self.detail_scroll
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

    /// How many rows a table shows after the filter.
    pub fn len(&self, table: Table) -> usize {
        self.order[table.index()].len()
    }

    /// How many rows the report has for a table, before the filter.
    pub fn total(&self, table: Table) -> usize {
        let monitored = table == Table::Monitored;
        self.report
            .rows
            .iter()
            .filter(|r| r.monitored == monitored)
            .count()
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

    fn row_at(&self, cursor: usize) -> Option<&Row> {
        let monitored = &self.order[0];
        let index = match monitored.get(cursor) {
            Some(&i) => i,
            None => *self.order[1].get(cursor - monitored.len())?,
        };
        self.report.rows.get(index)
    }

    fn visible_len(&self) -> usize {
        self.order[0].len() + self.order[1].len()
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
            Action::StartFilter => self.mode = Mode::Filter,
            Action::FilterChar(c) => {
                self.filter.push(c);
                self.reorder();
            }
            Action::FilterBackspace => {
                self.filter.pop();
                self.reorder();
            }
            Action::FilterKeep => self.mode = Mode::Normal,
            Action::FilterClear => {
                self.mode = Mode::Normal;
                self.clear_filter();
            }
            Action::CycleSort => {
                self.sort = self.sort.next();
                self.reorder();
            }
            Action::ReverseSort => {
                self.reverse = !self.reverse;
                self.reorder();
            }
            Action::Refresh => return Some(Effect::Refresh),
            Action::AskRemove => {
                if let Some(row) = self.selected_row().filter(|r| r.entry.is_some()) {
                    let name = row.name.clone();
                    self.open_overlay(Mode::Confirm(name));
                }
            }
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
            Action::ToggleDetail => {
                self.mode = if self.mode == Mode::Detail || self.selected_row().is_none() {
                    Mode::Normal
                } else {
                    Mode::Detail
                };
                self.detail_scroll = 0;
            }
            Action::ScrollDetail(by) => self.scroll_detail(by),
            Action::PageDetail(pages) => {
                let page = self.viewport.detail.max(1).cast_signed();
                self.scroll_detail(pages.saturating_mul(page));
            }
            Action::DetailTop => self.detail_scroll = 0,
            Action::DetailBottom => self.detail_scroll = self.viewport.detail_max_scroll,
            Action::ToggleHelp => {
                if self.mode == Mode::Help {
                    self.close_overlay();
                } else {
                    self.open_overlay(Mode::Help);
                }
            }
            Action::ToggleTab => self.tab = self.tab.next(),
            Action::Report(report) => self.set_report(report),
            Action::Transitions(transitions) => self.saw(transitions),
            Action::Troubles(troubles) => self.troubles = troubles,
            Action::Notice(notice) => self.notice = Some(notice),
            Action::Viewport(viewport) => {
                self.viewport = viewport;
                self.detail_scroll = self.detail_scroll.min(viewport.detail_max_scroll);
                self.keep_in_view();
            }
            Action::History(recent) => self.history = Some(*recent),
        }
        None
    }

    fn back(&mut self) -> Option<Effect> {
        match self.mode {
            Mode::Normal if self.filter.is_empty() => return Some(Effect::Quit),
            Mode::Normal | Mode::Filter => {
                self.mode = Mode::Normal;
                self.clear_filter();
            }
            Mode::Detail => self.mode = Mode::Normal,
            Mode::Help | Mode::Confirm(_) => self.close_overlay(),
        }
        None
    }

    fn clear_filter(&mut self) {
        if !self.filter.is_empty() {
            self.filter.clear();
            self.reorder();
        }
    }

    fn page_size(&self) -> usize {
        if self.cursor_in(Table::Monitored).is_some() {
            self.viewport.monitored
        } else {
            self.viewport.additional
        }
    }

    fn move_by(&mut self, by: isize) {
        let target = self.cursor.saturating_add_signed(by);
        self.select(target.min(self.visible_len().saturating_sub(1)));
    }

    fn select(&mut self, cursor: usize) {
        if cursor != self.cursor {
            self.detail_scroll = 0;
        }
        self.cursor = cursor;
        self.selected = self.selected_row().map(|r| r.name.clone());
        self.keep_in_view();
    }

    fn scroll_detail(&mut self, by: isize) {
        self.detail_scroll = self
            .detail_scroll
            .saturating_add_signed(by)
            .min(self.viewport.detail_max_scroll);
    }

    fn set_report(&mut self, report: Arc<Report>) {
        self.report = report;
        self.reorder();
    }

    /// Keeps the latest transitions of each process.
    fn saw(&mut self, transitions: Vec<Transition>) {
        for t in transitions {
            let ring = self.transitions.entry(t.name.clone()).or_default();
            if ring.len() == TRANSITIONS_KEPT {
                ring.pop_front();
            }
            ring.push_back(t);
        }
    }

    /// Recomputes both tables' order after the report, filter or sort changed, and moves the
    /// cursor to where the selected process now is (or the nearest row if it is gone).
    fn reorder(&mut self) {
        let needle = self.filter.to_lowercase();
        let rows = &self.report.rows;
        // Folded once, not in every comparison: with 10 000 rows a sort compares ~130 000 times.
        let folded: Vec<String> = rows
            .iter()
            .map(|r| r.display_name().to_lowercase())
            .collect();
        for (slot, monitored) in [(0, true), (1, false)] {
            let mut order: Vec<usize> = (0..rows.len())
                .filter(|&i| rows[i].monitored == monitored && matches(&rows[i], &needle))
                .collect();
            order.sort_by(|&a, &b| {
                let ordering = self
                    .sort
                    .compare(&rows[a], &rows[b])
                    .then_with(|| folded[a].cmp(&folded[b]))
                    .then_with(|| rows[a].name.cmp(&rows[b].name));
                if self.reverse {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
            self.order[slot] = order;
        }
        let found = self.selected.as_deref().and_then(|name| {
            (0..self.visible_len()).find(|&i| self.row_at(i).is_some_and(|r| r.name == name))
        });
        let cursor = found.unwrap_or_else(|| self.cursor.min(self.visible_len().saturating_sub(1)));
        if found.is_none() {
            self.detail_scroll = 0;
        }
        self.cursor = cursor;
        self.selected = self.selected_row().map(|r| r.name.clone());
        if self.selected.is_none() && self.detail_open() {
            self.overlay_on_detail = false;
            if self.mode == Mode::Detail {
                self.mode = Mode::Normal;
            }
        }
        self.keep_in_view();
    }

    /// Scrolls each table so the selection is on screen and no table shows blank rows it
    /// could fill.
    fn keep_in_view(&mut self) {
        for table in [Table::Monitored, Table::Additional] {
            let slot = table.index();
            let height = match table {
                Table::Monitored => self.viewport.monitored,
                Table::Additional => self.viewport.additional,
            }
            .max(1);
            let mut offset = self.offsets[slot];
            if let Some(i) = self.cursor_in(table) {
                if i < offset {
                    offset = i;
                } else if i >= offset + height {
                    offset = i + 1 - height;
                }
            }
            self.offsets[slot] = offset.min(self.order[slot].len().saturating_sub(height));
        }
    }
}

/// Case-insensitive substring match on the heartbeat name or the label.
fn matches(row: &Row, needle: &str) -> bool {
    needle.is_empty()
        || row.name.to_lowercase().contains(needle)
        || row
            .label
            .as_ref()
            .is_some_and(|l| l.to_lowercase().contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::{Seen, Tracker};
    use crate::status::{Health, State};
    use crate::tui::fixtures::{self, NOW, many, mixed, monitored, row};

    fn app_with(report: Report) -> App {
        let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, true);
        app.update(Action::Report(Arc::new(report)));
        app
    }

    fn names(app: &App, table: Table) -> Vec<&str> {
        app.rows(table).map(|r| r.name.as_str()).collect()
    }

    fn selected(app: &App) -> &str {
        app.selected_row().map_or("", |r| r.name.as_str())
    }

    #[test]
    fn rows_split_into_tables_worst_first() {
        let app = app_with(mixed());
        assert_eq!(
            names(&app, Table::Monitored),
            [
                "vue-frontend",
                "websocket-reader",
                "bidder",
                "nightly-backup"
            ]
        );
        assert_eq!(
            names(&app, Table::Additional),
            ["report-job", "scraper", "test-process-1", "old-worker"]
        );
        assert_eq!(app.total(Table::Monitored), 4);
        assert_eq!(selected(&app), "vue-frontend");
    }

    #[test]
    fn the_cursor_walks_both_tables_and_stops_at_the_ends() {
        let mut app = app_with(mixed());
        app.update(Action::Move(-1));
        assert_eq!(selected(&app), "vue-frontend");
        app.update(Action::Move(4));
        assert_eq!(selected(&app), "report-job");
        assert_eq!(app.cursor_in(Table::Additional), Some(0));
        assert_eq!(app.cursor_in(Table::Monitored), None);
        app.update(Action::Bottom);
        assert_eq!(selected(&app), "old-worker");
        app.update(Action::Move(5));
        assert_eq!(selected(&app), "old-worker");
        app.update(Action::Top);
        assert_eq!(selected(&app), "vue-frontend");
    }

    #[test]
    fn the_selection_follows_its_process_when_the_order_changes() {
        let mut app = app_with(mixed());
        app.update(Action::Move(2)); // bidder, up
        assert_eq!(selected(&app), "bidder");
        let mut next = mixed();
        next.rows[0].health = Health::new(State::Dead, "pid gone", Some(NOW));
        app.update(Action::Report(Arc::new(next)));
        assert_eq!(selected(&app), "bidder");
        assert_eq!(app.cursor_in(Table::Monitored), Some(0));
    }

    #[test]
    fn a_vanished_selection_falls_to_the_nearest_row() {
        let mut app = app_with(mixed());
        app.update(Action::Bottom);
        let mut next = mixed();
        next.rows.retain(|r| r.name != "old-worker");
        app.update(Action::Report(Arc::new(next)));
        assert_eq!(selected(&app), "test-process-1");
        app.update(Action::Report(Arc::new(fixtures::report(vec![]))));
        assert_eq!(app.selected_row(), None);
        app.update(Action::Move(1));
        assert_eq!(app.selected_row(), None);
    }

    #[test]
    fn the_filter_narrows_live_and_enter_keeps_it() {
        let mut app = app_with(mixed());
        app.update(Action::StartFilter);
        assert_eq!(app.mode(), &Mode::Filter);
        for c in "WEB".chars() {
            app.update(Action::FilterChar(c));
        }
        // Case-insensitive, on the name and the label ("WebSocket Reader").
        assert_eq!(names(&app, Table::Monitored), ["websocket-reader"]);
        assert!(names(&app, Table::Additional).is_empty());
        app.update(Action::FilterBackspace);
        app.update(Action::FilterBackspace);
        assert_eq!(app.filter(), "W");
        app.update(Action::FilterChar('o'));
        assert_eq!(app.update(Action::FilterKeep), None);
        assert_eq!(app.mode(), &Mode::Normal);
        assert_eq!(app.filter(), "Wo");
        assert_eq!(names(&app, Table::Additional), ["old-worker"]);
        // Esc first clears the filter, then quits.
        assert_eq!(app.update(Action::Back), None);
        assert_eq!(app.filter(), "");
        assert_eq!(app.len(Table::Additional), 4);
        assert_eq!(app.update(Action::Back), Some(Effect::Quit));
    }

    #[test]
    fn esc_in_the_filter_drops_it() {
        let mut app = app_with(mixed());
        app.update(Action::StartFilter);
        app.update(Action::FilterChar('z'));
        assert_eq!(app.len(Table::Monitored) + app.len(Table::Additional), 0);
        app.update(Action::FilterClear);
        assert_eq!((app.mode(), app.filter()), (&Mode::Normal, ""));
        assert_eq!(app.len(Table::Additional), 4);
    }

    #[test]
    fn sort_cycles_and_reverses() {
        let mut app = app_with(mixed());
        app.update(Action::CycleSort);
        assert_eq!(app.sort(), (SortKey::Name, false));
        assert_eq!(
            names(&app, Table::Additional),
            ["old-worker", "report-job", "scraper", "test-process-1"]
        );
        app.update(Action::ReverseSort);
        assert_eq!(app.sort(), (SortKey::Name, true));
        assert_eq!(names(&app, Table::Additional)[0], "test-process-1");
        app.update(Action::ReverseSort);
        app.update(Action::CycleSort);
        assert_eq!(app.sort().0, SortKey::LastBeat);
        assert_eq!(
            names(&app, Table::Monitored),
            [
                "bidder",
                "websocket-reader",
                "vue-frontend",
                "nightly-backup"
            ]
        );
        for key in [SortKey::Cpu, SortKey::Memory, SortKey::State] {
            app.update(Action::CycleSort);
            assert_eq!(app.sort().0, key);
        }
    }

    #[test]
    fn cpu_sort_puts_the_busiest_first_and_dead_processes_last() {
        let mut report = mixed();
        // An unknown CPU (no second sample yet) sorts with the processes that have none.
        for (row, cpu) in report
            .rows
            .iter_mut()
            .zip([5.0, 80.0, 0.0, 0.0, 20.0, f32::NAN])
        {
            if let Some(p) = &mut row.process {
                p.cpu_percent = cpu;
            }
        }
        let mut app = app_with(report);
        app.update(Action::CycleSort);
        app.update(Action::CycleSort);
        app.update(Action::CycleSort);
        assert_eq!(app.sort().0, SortKey::Cpu);
        assert_eq!(
            names(&app, Table::Additional),
            ["test-process-1", "old-worker", "report-job", "scraper"]
        );
    }

    /// What the event loop does with an update: the report, and the transitions the
    /// monitor's tracker saw in it.
    fn observe(app: &mut App, tracker: &mut Tracker, report: Report) -> usize {
        let transitions = tracker.observe(&report).transitions;
        let seen = transitions.len();
        app.update(Action::Report(Arc::new(report)));
        app.update(Action::Transitions(transitions));
        seen
    }

    #[test]
    fn state_changes_between_reports_are_transitions_to_record() {
        let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, true);
        let mut tracker = Tracker::default();
        assert_eq!(observe(&mut app, &mut tracker, mixed()), 8, "all new");
        assert_eq!(app.transitions("bidder").count(), 1);
        let mut later = mixed();
        later.now = NOW + 10.0;
        later.rows[0].health = Health::new(State::Late, "no beat for 46s", Some(NOW + 10.0));
        assert_eq!(observe(&mut app, &mut tracker, later.clone()), 1);
        let seen: Vec<_> = app
            .transitions("bidder")
            .map(|t| (t.from, t.to, t.time, t.reason.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (None, State::Up, NOW, "up for the test"),
                (Some(State::Up), State::Late, NOW + 10.0, "no beat for 46s")
            ]
        );
        // The same report again changes nothing.
        assert_eq!(observe(&mut app, &mut tracker, later), 0);
        assert_eq!(app.transitions("bidder").count(), 2);
    }

    #[test]
    fn remembered_states_are_not_new_and_history_leads_the_timeline() {
        let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, true);
        let mut tracker = Tracker::default();
        tracker.remember(
            "a",
            Seen {
                state: Some(State::Dead),
                last_beat: Some(NOW - 100.0),
            },
        );
        let mut dead = row("a", State::Dead, 100.0);
        dead.entry.as_mut().unwrap().last_heartbeat = NOW - 100.0;
        assert_eq!(
            observe(&mut app, &mut tracker, fixtures::report(vec![dead])),
            0
        );
        let stored = Transition {
            name: "a".into(),
            time: NOW - 100.0,
            from: Some(State::Up),
            to: State::Dead,
            severity: State::Dead.severity(),
            reason: "gone".into(),
            since: None,
        };
        app.update(Action::History(Box::new(Recent {
            at: NOW,
            selected: Some(crate::tui::recent::Selected {
                name: "a".into(),
                beats: vec![],
                transitions: vec![stored.clone()],
            }),
            ..Recent::default()
        })));
        let mut up = fixtures::report(vec![row("a", State::Up, 0.0)]);
        up.now = NOW + 5.0;
        observe(&mut app, &mut tracker, up);
        let timeline: Vec<_> = app.timeline("a").iter().map(|t| (t.to, t.time)).collect();
        assert_eq!(
            timeline,
            [(State::Up, NOW + 5.0), (State::Dead, NOW - 100.0)]
        );
    }

    #[test]
    fn history_is_read_only_while_the_screen_shows_it() {
        let mut app = app_with(mixed());
        assert!(!app.shows_history(), "the tables alone show no history");
        app.update(Action::ToggleDetail);
        assert!(
            app.shows_history(),
            "the detail pane shows the selection's history"
        );
        app.update(Action::ToggleDetail);
        app.update(Action::ToggleTab);
        assert!(app.shows_history(), "the history tab");
    }

    #[test]
    fn tab_cycles_tables_last_hour_last_day() {
        let mut app = app_with(mixed());
        assert_eq!(app.tab(), Tab::Processes);
        for expected in [Tab::LastHour, Tab::LastDay, Tab::Processes] {
            app.update(Action::ToggleTab);
            assert_eq!(app.tab(), expected);
        }
    }

    #[test]
    fn transitions_are_bounded_per_process() {
        let mut app = App::new("/tmp/hb.json".into(), NOW - 60.0, true);
        let mut tracker = Tracker::default();
        observe(
            &mut app,
            &mut tracker,
            fixtures::report(vec![row("flap", State::Up, 0.0)]),
        );
        for i in 0..40 {
            let state = if i % 2 == 0 { State::Late } else { State::Up };
            let mut report = fixtures::report(vec![row("flap", state, 0.0)]);
            report.now = NOW + f64::from(i);
            observe(&mut app, &mut tracker, report);
        }
        assert_eq!(app.transitions("flap").count(), TRANSITIONS_KEPT);
        assert_eq!(
            app.transitions("flap").last().map(|t| t.time),
            Some(NOW + 39.0)
        );
    }

    #[test]
    fn troubles_stand_over_new_reports_until_the_monitor_says_they_are_over() {
        let mut app = app_with(mixed());
        let bad = vec![Trouble::unreadable("bad json", NOW)];
        app.update(Action::Troubles(bad.clone()));
        assert_eq!(app.report().rows.len(), 8);
        // The engine re-judges the last good read: the error stands.
        app.update(Action::Report(Arc::new(mixed())));
        assert_eq!(app.troubles(), bad);
        app.update(Action::Troubles(Vec::new()));
        assert!(app.troubles().is_empty());
    }

    #[test]
    fn removing_asks_first_and_only_for_rows_with_an_entry() {
        let mut app = app_with(mixed());
        app.update(Action::AskRemove);
        assert_eq!(app.mode(), &Mode::Confirm("vue-frontend".into()));
        assert_eq!(app.update(Action::Cancel), None);
        assert_eq!(app.mode(), &Mode::Normal);
        app.update(Action::AskRemove);
        assert_eq!(
            app.update(Action::Confirm),
            Some(Effect::Remove("vue-frontend".into()))
        );
        assert_eq!(app.mode(), &Mode::Normal);
        // A configured process that never beat has nothing in the file to remove.
        app.update(Action::Move(3));
        assert_eq!(selected(&app), "nightly-backup");
        app.update(Action::AskRemove);
        assert_eq!(app.mode(), &Mode::Normal);
        assert_eq!(app.update(Action::Confirm), None);
    }

    #[test]
    fn paging_scrolls_the_table_to_keep_the_selection_in_view() {
        let mut app = app_with(many(100));
        app.update(Action::Viewport(Viewport {
            additional: 10,
            ..Viewport::default()
        }));
        app.update(Action::Page(1));
        assert_eq!(app.cursor_in(Table::Additional), Some(10));
        assert_eq!(app.offset(Table::Additional), 1);
        app.update(Action::Move(-5));
        assert_eq!(app.offset(Table::Additional), 1);
        app.update(Action::Bottom);
        assert_eq!(app.offset(Table::Additional), 90);
        app.update(Action::Page(-2));
        assert_eq!(app.cursor_in(Table::Additional), Some(79));
        assert_eq!(app.offset(Table::Additional), 79);
        // A taller screen shows more rows, never blank ones below the last.
        app.update(Action::Viewport(Viewport {
            additional: 40,
            ..Viewport::default()
        }));
        assert_eq!(app.offset(Table::Additional), 60);
        // The filter shrinks the table; the offset follows.
        app.update(Action::StartFilter);
        app.update(Action::FilterChar('9'));
        assert_eq!(app.offset(Table::Additional), 0);
    }

    #[test]
    fn the_detail_pane_scrolls_within_its_text_and_resets_on_a_new_selection() {
        let mut app = app_with(mixed());
        app.update(Action::ToggleDetail);
        assert_eq!(app.mode(), &Mode::Detail);
        app.update(Action::Viewport(Viewport {
            detail: 5,
            detail_max_scroll: 7,
            ..Viewport::default()
        }));
        app.update(Action::ScrollDetail(3));
        assert_eq!(app.detail_scroll(), 3);
        app.update(Action::PageDetail(1));
        assert_eq!(app.detail_scroll(), 7);
        app.update(Action::DetailTop);
        assert_eq!(app.detail_scroll(), 0);
        app.update(Action::DetailBottom);
        assert_eq!(app.detail_scroll(), 7);
        app.update(Action::Move(1));
        assert_eq!(app.detail_scroll(), 0);
        assert_eq!(app.mode(), &Mode::Detail);
        assert_eq!(app.update(Action::Back), None);
        assert_eq!(app.mode(), &Mode::Normal);
    }

    #[test]
    fn the_detail_pane_closes_when_nothing_is_selected() {
        let mut app = app_with(fixtures::report(vec![]));
        app.update(Action::ToggleDetail);
        assert_eq!(app.mode(), &Mode::Normal);
        let mut app = app_with(fixtures::report(vec![row("a", State::Up, 1.0)]));
        app.update(Action::ToggleDetail);
        app.update(Action::Report(Arc::new(fixtures::report(vec![]))));
        assert_eq!(app.mode(), &Mode::Normal);
    }

    #[test]
    fn help_and_the_remove_prompt_opened_over_the_detail_pane_go_back_to_it() {
        let mut app = app_with(mixed());
        app.update(Action::ToggleDetail);
        for (open, close) in [
            (Action::ToggleHelp, Action::ToggleHelp),
            (Action::ToggleHelp, Action::Back),
            (Action::AskRemove, Action::Cancel),
            (Action::AskRemove, Action::Back),
        ] {
            app.update(open.clone());
            assert_ne!(app.mode(), &Mode::Detail);
            assert!(app.detail_open(), "{open:?}: the pane stays under it");
            app.update(close.clone());
            assert_eq!(app.mode(), &Mode::Detail, "{open:?} then {close:?}");
        }
        // Confirming a removal goes back to the pane too (it closes once the row is gone).
        app.update(Action::AskRemove);
        assert!(matches!(
            app.update(Action::Confirm),
            Some(Effect::Remove(_))
        ));
        assert_eq!(app.mode(), &Mode::Detail);
        // Opened from the table, they go back to the table.
        app.update(Action::Back);
        app.update(Action::ToggleHelp);
        app.update(Action::ToggleHelp);
        assert_eq!(app.mode(), &Mode::Normal);
        assert!(!app.detail_open());
    }

    #[test]
    fn help_toggles_and_esc_closes_it() {
        let mut app = app_with(mixed());
        app.update(Action::ToggleHelp);
        assert_eq!(app.mode(), &Mode::Help);
        app.update(Action::ToggleHelp);
        assert_eq!(app.mode(), &Mode::Normal);
        app.update(Action::ToggleHelp);
        assert_eq!(app.update(Action::Back), None);
        assert_eq!(app.mode(), &Mode::Normal);
        assert_eq!(app.update(Action::Quit), Some(Effect::Quit));
        assert_eq!(app.update(Action::Refresh), Some(Effect::Refresh));
    }

    #[test]
    fn labels_sort_by_what_is_shown() {
        let report = fixtures::report(vec![
            monitored(row("zeta", State::Up, 1.0), "Alpha"),
            monitored(row("alpha", State::Up, 1.0), "Zulu"),
        ]);
        let mut app = app_with(report);
        app.update(Action::CycleSort);
        assert_eq!(names(&app, Table::Monitored), ["zeta", "alpha"]);
    }
}
