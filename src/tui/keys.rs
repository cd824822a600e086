//! Keys and the mouse to [`Action`]s, per [`Mode`]: one key table ([`keymap`]) that the key
//! map, the help overlay and the footer all read, as gitui's `key_list.rs`. Pure: no state
//! beyond the mode it is given.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::app::{Action, Mode, WHEEL_STEP};
use signal::SIGNAL;
use supervise::CONTROL;

mod signal;
mod supervise;

/// A key as the table names it: a code, with or without Ctrl (Shift is in the code: `G`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    code: KeyCode,
    ctrl: bool,
}

const fn key(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

const fn ch(c: char) -> Key {
    key(KeyCode::Char(c))
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

/// One line of the key table: its keys and the action of each, and how the help and the
/// footer say it. The one place a key is defined: the key map, the help overlay and the
/// footer all read [`keymap`].
pub struct Binding {
    pub keys: &'static [(Key, Action)],
    /// The keys as the help writes them (`↑↓  j k`).
    pub shown: &'static str,
    /// What they do, for the help; `None`: not listed there.
    pub help: Option<&'static str>,
    /// The footer's key and word (`↑↓ move`); `None`: not in the footer.
    pub hint: Option<(&'static str, &'static str)>,
}

/// What a key the table does not list does in a mode.
#[derive(Debug, Clone, Copy)]
pub enum Other {
    Nothing,
    /// A character is typed into the filter.
    Typed,
    /// Any other key does this (closes the help, keeps the entry).
    Does(&'static Action),
}

/// A mode's keys.
pub struct Keymap {
    pub bindings: &'static [Binding],
    pub other: Other,
}

/// Keys that do the same in every mode, the filter included.
static EVERYWHERE: &[Binding] = &[Binding {
    keys: &[(ctrl('c'), Action::Quit)],
    shown: "Ctrl-C",
    help: None,
    hint: None,
}];

/// Rows more than one mode has: one definition each, a mode changing at most its hint.
const QUIT: Binding = Binding {
    keys: &[(ch('q'), Action::Quit)],
    shown: "q  Ctrl-C",
    help: Some("quit"),
    hint: Some(("q", "quit")),
};

const REFRESH: Binding = Binding {
    keys: &[
        (ch('r'), Action::Refresh),
        (key(KeyCode::F(5)), Action::Refresh),
    ],
    shown: "r",
    help: Some("re-read the file and re-probe now"),
    hint: Some(("r", "refresh")),
};

const REMOVE: Binding = Binding {
    keys: &[
        (ch('d'), Action::AskRemove),
        (key(KeyCode::Delete), Action::AskRemove),
    ],
    shown: "d",
    help: Some("remove the selected entry from the file (asks first)"),
    hint: Some(("d", "remove")),
};

const HELP_KEY: Binding = Binding {
    keys: &[
        (ch('?'), Action::ToggleHelp),
        (key(KeyCode::F(1)), Action::ToggleHelp),
    ],
    shown: "?",
    help: Some("this help"),
    hint: Some(("?", "help")),
};

/// Scrolling the text that has the focus: the detail pane, or the help while it is open.
const SCROLL_LINES: Binding = Binding {
    keys: &[
        (key(KeyCode::Up), Action::ScrollDetail(-1)),
        (ch('k'), Action::ScrollDetail(-1)),
        (key(KeyCode::Down), Action::ScrollDetail(1)),
        (ch('j'), Action::ScrollDetail(1)),
    ],
    shown: "↑↓  j k",
    help: Some("scroll (the wheel too)"),
    hint: Some(("↑↓", "scroll")),
};

const SCROLL_PAGES: Binding = Binding {
    keys: &[
        (key(KeyCode::PageUp), Action::PageDetail(-1)),
        (ctrl('u'), Action::PageDetail(-1)),
        (key(KeyCode::PageDown), Action::PageDetail(1)),
        (ctrl('d'), Action::PageDetail(1)),
        (key(KeyCode::Home), Action::DetailTop),
        (ch('g'), Action::DetailTop),
        (key(KeyCode::End), Action::DetailBottom),
        (ch('G'), Action::DetailBottom),
    ],
    shown: "PgUp PgDn  g G",
    help: Some("scroll a page; to the top, the bottom"),
    hint: None,
};

/// The tables: htop/btop habits (`q`, arrows and `j`/`k`, `/`, `s`, `?`). The help lists
/// these, in this order; the footer those with a hint.
static TABLES: &[Binding] = &[
    QUIT,
    Binding {
        keys: &[(key(KeyCode::Esc), Action::Back)],
        shown: "Esc",
        help: Some("close what is open, clear the filter, else quit"),
        hint: None,
    },
    Binding {
        keys: &[
            (key(KeyCode::Up), Action::Move(-1)),
            (ch('k'), Action::Move(-1)),
            (key(KeyCode::Down), Action::Move(1)),
            (ch('j'), Action::Move(1)),
        ],
        shown: "↑↓  j k",
        help: Some("move the selection (the wheel too; a click selects, one on a title sorts)"),
        hint: Some(("↑↓", "move")),
    },
    Binding {
        keys: &[
            (key(KeyCode::PageUp), Action::Page(-1)),
            (ctrl('u'), Action::Page(-1)),
            (key(KeyCode::PageDown), Action::Page(1)),
            (ctrl('d'), Action::Page(1)),
        ],
        shown: "PgUp PgDn",
        help: Some("move a page (Ctrl-U Ctrl-D)"),
        hint: None,
    },
    Binding {
        keys: &[
            (key(KeyCode::Home), Action::Top),
            (ch('g'), Action::Top),
            (key(KeyCode::End), Action::Bottom),
            (ch('G'), Action::Bottom),
        ],
        shown: "g G  Home End",
        help: Some("first, last"),
        hint: None,
    },
    Binding {
        keys: &[(ch('/'), Action::StartFilter)],
        shown: "/",
        help: Some("filter: a name or label, state:dead, data:TEXT (every word must match)"),
        hint: Some(("/", "filter")),
    },
    Binding {
        keys: &[
            (ch('p'), Action::ToggleProblems),
            (ch('a'), Action::ToggleAll),
        ],
        shown: "p  a",
        help: Some("problems only; all: also the stopped additional processes hidden"),
        hint: Some(("p", "problems")),
    },
    Binding {
        keys: &[(ch('s'), Action::CycleSort), (ch('S'), Action::ReverseSort)],
        shown: "s  S",
        help: Some("sort by state, name, last beat, cpu, memory; reverse"),
        hint: Some(("s", "sort")),
    },
    Binding {
        keys: &[(ch('t'), Action::ToggleTree)],
        shown: "t",
        help: Some("tree: each process under what it needs (depends_on), or flat again"),
        hint: None,
    },
    Binding {
        keys: &[(key(KeyCode::Enter), Action::ToggleDetail)],
        shown: "Enter",
        help: Some("details: data, PID, since when, errors, transitions"),
        hint: Some(("Enter", "details")),
    },
    Binding {
        keys: &[(key(KeyCode::Tab), Action::ToggleTab)],
        shown: "Tab",
        help: Some("history: every process's last hour, again: last day; beats per minute"),
        hint: Some(("Tab", "hour/day")),
    },
    REFRESH,
    REMOVE,
    CONTROL,
    Binding {
        keys: &[
            (ch('K'), Action::AskSignal),
            (key(KeyCode::F(9)), Action::AskSignal),
        ],
        ..SIGNAL
    },
    HELP_KEY,
];

/// The detail pane has the focus: the moves scroll it; `J` `K` move the selection, which
/// the pane follows, so the next process is one key away.
static DETAIL: &[Binding] = &[
    SCROLL_LINES,
    SCROLL_PAGES,
    Binding {
        keys: &[(ch('K'), Action::Move(-1)), (ch('J'), Action::Move(1))],
        shown: "J K",
        help: Some("the next or previous process"),
        hint: Some(("J/K", "next/prev")),
    },
    Binding {
        keys: &[
            (key(KeyCode::Esc), Action::ToggleDetail),
            (key(KeyCode::Enter), Action::ToggleDetail),
        ],
        shown: "Esc  Enter",
        help: Some("close the details"),
        hint: Some(("Esc", "close")),
    },
    REMOVE,
    CONTROL,
    // The tables' help line says F9 already.
    Binding {
        help: None,
        ..SIGNAL
    },
    Binding {
        hint: None,
        ..REFRESH
    },
    HELP_KEY,
    QUIT,
];

/// Typing a filter: every character goes into it, `q` and `/` included; the list stays
/// navigable while typing.
static FILTER: &[Binding] = &[
    Binding {
        keys: &[(key(KeyCode::Enter), Action::FilterKeep)],
        shown: "Enter",
        help: Some("keep the filter"),
        hint: Some(("Enter", "keep")),
    },
    Binding {
        keys: &[(key(KeyCode::Esc), Action::FilterClear)],
        shown: "Esc",
        help: Some("drop the filter"),
        hint: Some(("Esc", "clear")),
    },
    Binding {
        keys: &[(key(KeyCode::Backspace), Action::FilterBackspace)],
        shown: "Backspace",
        help: None,
        hint: None,
    },
    Binding {
        keys: &[
            (key(KeyCode::Up), Action::Move(-1)),
            (key(KeyCode::Down), Action::Move(1)),
        ],
        shown: "↑↓",
        help: None,
        hint: None,
    },
];

/// The help is open: the moves scroll it (it outgrows a small terminal), `q` quits, any
/// other key closes it, as in htop.
static HELP: &[Binding] = &[SCROLL_LINES, SCROLL_PAGES, QUIT];

/// The remove prompt: only `y` removes.
static CONFIRM: &[Binding] = &[
    Binding {
        keys: &[(ch('y'), Action::Confirm), (ch('Y'), Action::Confirm)],
        shown: "y",
        help: None,
        hint: Some(("y", "remove")),
    },
    Binding {
        keys: &[],
        shown: "",
        help: None,
        hint: Some(("any other key", "keeps it")),
    },
];

/// The detail pane's keys that the tables do not have, for the help.
pub fn detail_only() -> impl Iterator<Item = &'static Binding> {
    DETAIL
        .iter()
        .filter(|b| !TABLES.iter().any(|t| t.keys == b.keys))
}

/// The keys of `mode`.
pub fn keymap(mode: &Mode) -> Keymap {
    match mode {
        Mode::Normal => Keymap {
            bindings: TABLES,
            other: Other::Nothing,
        },
        Mode::Filter => Keymap {
            bindings: FILTER,
            other: Other::Typed,
        },
        Mode::Detail => Keymap {
            bindings: DETAIL,
            other: Other::Nothing,
        },
        Mode::Help => Keymap {
            bindings: HELP,
            other: Other::Does(&Action::ToggleHelp),
        },
        Mode::Confirm(_) => Keymap {
            bindings: CONFIRM,
            other: Other::Does(&Action::Cancel),
        },
        Mode::Signal(dialog) => signal::keymap(dialog),
    }
}

/// The footer's hints for `mode`, in table order. Under the help overlay, the tables'.
pub fn hints(mode: &Mode) -> Vec<(&'static str, &'static str)> {
    let mode = if mode == &Mode::Help {
        &Mode::Normal
    } else {
        mode
    };
    keymap(mode)
        .bindings
        .iter()
        .filter_map(|b| b.hint)
        .collect()
}

/// The action for a key in `mode`, or `None` when the key means nothing there.
pub fn map_key(event: KeyEvent, mode: &Mode) -> Option<Action> {
    // Terminals with the keyboard-enhancement protocol also report releases; act on presses.
    if event.kind == KeyEventKind::Release {
        return None;
    }
    let pressed = Key {
        code: event.code,
        ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
    };
    let map = keymap(mode);
    let found = EVERYWHERE
        .iter()
        .chain(map.bindings)
        .flat_map(|b| b.keys)
        .find(|(k, _)| *k == pressed);
    if let Some((_, action)) = found {
        return Some(action.clone());
    }
    match (map.other, pressed.code) {
        (Other::Typed, KeyCode::Char(c)) if !pressed.ctrl => Some(Action::FilterChar(c)),
        (Other::Does(action), _) => Some(action.clone()),
        _ => None,
    }
}

/// The wheel scrolls the list, or the detail pane or the help when it has the focus; a left click
/// selects a row or sorts by a column's title (the app knows where they are).
pub fn map_mouse(mouse: MouseEvent, mode: &Mode) -> Option<Action> {
    let step = match mouse.kind {
        MouseEventKind::ScrollUp => -WHEEL_STEP,
        MouseEventKind::ScrollDown => WHEEL_STEP,
        MouseEventKind::Down(MouseButton::Left) => {
            return match mode {
                Mode::Normal | Mode::Filter | Mode::Detail => Some(Action::Click {
                    x: mouse.column,
                    y: mouse.row,
                }),
                Mode::Help | Mode::Confirm(_) | Mode::Signal(_) => None,
            };
        }
        _ => return None,
    };
    match mode {
        Mode::Normal | Mode::Filter => Some(Action::Move(step)),
        Mode::Detail | Mode::Help => Some(Action::ScrollDetail(step)),
        Mode::Confirm(_) | Mode::Signal(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventState;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ch(c: char) -> KeyEvent {
        key(KeyCode::Char(c))
    }

    #[test]
    fn no_key_means_two_things_in_a_mode_and_the_table_is_what_map_key_does() {
        for mode in [
            Mode::Normal,
            Mode::Filter,
            Mode::Detail,
            Mode::Help,
            Mode::Confirm("x".into()),
            signal::tests::menu(),
            signal::tests::confirm(),
        ] {
            let keys: Vec<Key> = EVERYWHERE
                .iter()
                .chain(keymap(&mode).bindings)
                .flat_map(|b| b.keys.iter().map(|(k, _)| *k))
                .collect();
            for (i, k) in keys.iter().enumerate() {
                assert!(!keys[..i].contains(k), "{mode:?}: {k:?} bound twice");
                let modifiers = if k.ctrl {
                    KeyModifiers::CONTROL
                } else {
                    KeyModifiers::NONE
                };
                let expected = EVERYWHERE
                    .iter()
                    .chain(keymap(&mode).bindings)
                    .flat_map(|b| b.keys)
                    .find(|(bound, _)| bound == k)
                    .map(|(_, a)| a.clone());
                assert_eq!(map_key(KeyEvent::new(k.code, modifiers), &mode), expected);
            }
        }
        // The footer says what the keys do.
        assert_eq!(hints(&Mode::Normal)[0], ("q", "quit"));
        assert_eq!(hints(&Mode::Help), hints(&Mode::Normal));
    }

    #[test]
    fn normal_mode_follows_htop_habits() {
        let m = Mode::Normal;
        assert_eq!(map_key(ch('q'), &m), Some(Action::Quit));
        assert_eq!(map_key(key(KeyCode::Esc), &m), Some(Action::Back));
        assert_eq!(map_key(ch('j'), &m), Some(Action::Move(1)));
        assert_eq!(map_key(key(KeyCode::Up), &m), Some(Action::Move(-1)));
        assert_eq!(map_key(key(KeyCode::PageDown), &m), Some(Action::Page(1)));
        assert_eq!(map_key(ch('g'), &m), Some(Action::Top));
        assert_eq!(map_key(ch('G'), &m), Some(Action::Bottom));
        assert_eq!(map_key(ch('/'), &m), Some(Action::StartFilter));
        assert_eq!(map_key(ch('s'), &m), Some(Action::CycleSort));
        assert_eq!(map_key(ch('S'), &m), Some(Action::ReverseSort));
        assert_eq!(map_key(ch('r'), &m), Some(Action::Refresh));
        assert_eq!(map_key(ch('d'), &m), Some(Action::AskRemove));
        assert_eq!(map_key(key(KeyCode::Enter), &m), Some(Action::ToggleDetail));
        assert_eq!(map_key(ch('?'), &m), Some(Action::ToggleHelp));
        assert_eq!(map_key(key(KeyCode::Tab), &m), Some(Action::ToggleTab));
        assert_eq!(map_key(ch('z'), &m), None);
    }

    #[test]
    fn ctrl_c_quits_everywhere_and_ctrl_d_pages() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for mode in [Mode::Normal, Mode::Filter, Mode::Detail, Mode::Help] {
            assert_eq!(map_key(ctrl_c, &mode), Some(Action::Quit), "{mode:?}");
        }
        let ctrl_d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert_eq!(map_key(ctrl_d, &Mode::Normal), Some(Action::Page(1)));
    }

    #[test]
    fn the_filter_takes_every_character_including_q() {
        let m = Mode::Filter;
        assert_eq!(map_key(ch('q'), &m), Some(Action::FilterChar('q')));
        assert_eq!(map_key(ch('/'), &m), Some(Action::FilterChar('/')));
        assert_eq!(
            map_key(key(KeyCode::Backspace), &m),
            Some(Action::FilterBackspace)
        );
        assert_eq!(map_key(key(KeyCode::Enter), &m), Some(Action::FilterKeep));
        assert_eq!(map_key(key(KeyCode::Esc), &m), Some(Action::FilterClear));
        assert_eq!(map_key(key(KeyCode::Down), &m), Some(Action::Move(1)));
    }

    #[test]
    fn detail_keys_scroll_the_pane() {
        let m = Mode::Detail;
        assert_eq!(map_key(ch('j'), &m), Some(Action::ScrollDetail(1)));
        assert_eq!(
            map_key(key(KeyCode::PageUp), &m),
            Some(Action::PageDetail(-1))
        );
        assert_eq!(map_key(ch('G'), &m), Some(Action::DetailBottom));
        assert_eq!(map_key(ch('J'), &m), Some(Action::Move(1)));
        assert_eq!(map_key(key(KeyCode::Esc), &m), Some(Action::ToggleDetail));
        assert_eq!(map_key(ch('q'), &m), Some(Action::Quit));
    }

    #[test]
    fn confirm_takes_only_y_as_yes() {
        let m = Mode::Confirm("web".into());
        assert_eq!(map_key(ch('y'), &m), Some(Action::Confirm));
        assert_eq!(map_key(ch('n'), &m), Some(Action::Cancel));
        assert_eq!(map_key(key(KeyCode::Enter), &m), Some(Action::Cancel));
        assert_eq!(map_key(ch('q'), &m), Some(Action::Cancel));
    }

    #[test]
    fn help_scrolls_with_the_moves_closes_on_any_other_key_and_q_quits() {
        assert_eq!(map_key(ch('x'), &Mode::Help), Some(Action::ToggleHelp));
        assert_eq!(
            map_key(key(KeyCode::Esc), &Mode::Help),
            Some(Action::ToggleHelp)
        );
        assert_eq!(map_key(ch('q'), &Mode::Help), Some(Action::Quit));
        assert_eq!(map_key(ch('j'), &Mode::Help), Some(Action::ScrollDetail(1)));
        assert_eq!(
            map_key(key(KeyCode::PageDown), &Mode::Help),
            Some(Action::PageDetail(1))
        );
    }

    #[test]
    fn key_releases_are_ignored() {
        let release = KeyEvent {
            code: KeyCode::Char('q'),
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Release,
            state: KeyEventState::NONE,
        };
        assert_eq!(map_key(release, &Mode::Normal), None);
    }

    #[test]
    fn the_wheel_moves_the_list_or_scrolls_the_detail() {
        let wheel = |kind| MouseEvent {
            kind,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        };
        let down = wheel(MouseEventKind::ScrollDown);
        assert_eq!(
            map_mouse(down, &Mode::Normal),
            Some(Action::Move(WHEEL_STEP))
        );
        assert_eq!(
            map_mouse(wheel(MouseEventKind::ScrollUp), &Mode::Detail),
            Some(Action::ScrollDetail(-WHEEL_STEP))
        );
        assert_eq!(
            map_mouse(down, &Mode::Help),
            Some(Action::ScrollDetail(WHEEL_STEP))
        );
        let click = MouseEvent {
            column: 7,
            row: 5,
            ..wheel(MouseEventKind::Down(MouseButton::Left))
        };
        assert_eq!(
            map_mouse(click, &Mode::Normal),
            Some(Action::Click { x: 7, y: 5 })
        );
        assert_eq!(map_mouse(click, &Mode::Confirm("web".into())), None);
        assert_eq!(map_mouse(wheel(MouseEventKind::Moved), &Mode::Normal), None);
    }
}
