//! What the tables show of the report: the typed filter (`/`: a name or label, `state:NAME`,
//! `data:TEXT`, every word must match), "problems only" (`p`), and the additional processes
//! that stopped cleanly, hidden as `hbmon status` hides them unless all are asked for (`a`).

use super::{Action, App, Mode};
use crate::health::Severity;
use crate::report::Row;
use crate::report::columns;

/// One word of the typed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
    /// The name or the label contains it (case-insensitive).
    Name(String),
    /// The state's name starts with one of these (`state:dead,hung`; `state:d` while typing
    /// matches `dead` and `degraded`).
    State(Vec<String>),
    /// The DATA column's text (`key=value key=value`) contains it (case-insensitive).
    Data(String),
}

/// The rows the tables show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    words: Vec<Word>,
    /// `p`: only rows of warning severity or worse.
    pub problems: bool,
    /// `a`: also the additional processes that stopped cleanly.
    pub all: bool,
}

impl Filter {
    /// Reads the typed filter; words are separated by spaces.
    pub fn set_text(&mut self, text: &str) {
        self.words = text
            .split_whitespace()
            .map(|word| {
                let word = word.to_lowercase();
                if let Some(states) = word.strip_prefix("state:") {
                    Word::State(states.split(',').map(str::to_owned).collect())
                } else if let Some(data) = word.strip_prefix("data:") {
                    Word::Data(data.to_owned())
                } else {
                    Word::Name(word)
                }
            })
            .collect();
    }

    /// Whether the default view hides `row` (see [`Row::stopped_additional`]).
    pub fn hides_by_default(&self, row: &Row) -> bool {
        !self.all && row.stopped_additional()
    }

    pub fn matches(&self, row: &Row) -> bool {
        if self.hides_by_default(row) || (self.problems && row.health.severity < Severity::Warning)
        {
            return false;
        }
        self.words.iter().all(|word| match word {
            Word::Name(needle) => {
                row.name.to_lowercase().contains(needle)
                    || row
                        .label
                        .as_ref()
                        .is_some_and(|l| l.to_lowercase().contains(needle))
            }
            Word::State(names) => {
                let state: &str = row.health.state.as_str();
                names.iter().any(|n| state.starts_with(n.as_str()))
            }
            Word::Data(needle) => {
                let data = row
                    .entry
                    .as_ref()
                    .map(|e| columns::summarize(&e.additional_data).to_lowercase());
                data.is_some_and(|d| d.contains(needle))
            }
        })
    }

    /// Whether anything narrows the view beyond the default.
    pub fn narrows(&self) -> bool {
        self.problems || !self.words.is_empty()
    }
}

impl App {
    /// The actions that change what the tables show.
    pub(super) fn narrow(&mut self, action: &Action) {
        match action {
            Action::StartFilter => self.mode = Mode::Filter,
            Action::FilterChar(c) => {
                self.filter.push(*c);
                self.view.set_text(&self.filter);
                self.reorder();
            }
            Action::FilterBackspace => {
                self.filter.pop();
                self.view.set_text(&self.filter);
                self.reorder();
            }
            Action::ToggleProblems => {
                self.view.problems = !self.view.problems;
                self.reorder();
            }
            Action::ToggleAll => {
                self.view.all = !self.view.all;
                self.reorder();
            }
            Action::FilterKeep => self.mode = Mode::Normal,
            Action::FilterClear => {
                self.mode = Mode::Normal;
                self.clear_filter();
            }
            _ => {}
        }
    }
}
