//! Keys and the mouse wheel to [`Action`]s, per [`Mode`]: htop/btop habits (`q`, arrows and
//! `j`/`k`, `/`, `s`, `?`). Pure: no state beyond the mode it is given.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use super::app::{Action, Mode, WHEEL_STEP};

/// The action for a key in `mode`, or `None` when the key means nothing there.
pub fn map_key(key: KeyEvent, mode: &Mode) -> Option<Action> {
    // Terminals with the keyboard-enhancement protocol also report releases; act on presses.
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    match mode {
        Mode::Normal => normal(key.code, ctrl),
        Mode::Filter => filter(key.code),
        Mode::Detail => detail(key.code, ctrl),
        Mode::Help => match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            // Any other key closes the help, as in htop.
            _ => Some(Action::ToggleHelp),
        },
        Mode::Confirm(_) => match key.code {
            KeyCode::Char('y' | 'Y') => Some(Action::Confirm),
            _ => Some(Action::Cancel),
        },
    }
}

fn normal(code: KeyCode, ctrl: bool) -> Option<Action> {
    let action = match code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc => Action::Back,
        KeyCode::Up | KeyCode::Char('k') => Action::Move(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::Move(1),
        KeyCode::Char('u') if ctrl => Action::Page(-1),
        KeyCode::Char('d') if ctrl => Action::Page(1),
        KeyCode::PageUp => Action::Page(-1),
        KeyCode::PageDown => Action::Page(1),
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Char('s') => Action::CycleSort,
        KeyCode::Char('S') => Action::ReverseSort,
        KeyCode::Char('r') | KeyCode::F(5) => Action::Refresh,
        KeyCode::Char('d') | KeyCode::Delete => Action::AskRemove,
        KeyCode::Enter => Action::ToggleDetail,
        KeyCode::Tab => Action::ToggleTab,
        KeyCode::Char('?') | KeyCode::F(1) => Action::ToggleHelp,
        _ => return None,
    };
    Some(action)
}

fn filter(code: KeyCode) -> Option<Action> {
    let action = match code {
        KeyCode::Enter => Action::FilterKeep,
        KeyCode::Esc => Action::FilterClear,
        KeyCode::Backspace => Action::FilterBackspace,
        // The list stays navigable while typing.
        KeyCode::Up => Action::Move(-1),
        KeyCode::Down => Action::Move(1),
        KeyCode::Char(c) => Action::FilterChar(c),
        _ => return None,
    };
    Some(action)
}

fn detail(code: KeyCode, ctrl: bool) -> Option<Action> {
    let action = match code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc | KeyCode::Enter => Action::ToggleDetail,
        KeyCode::Up | KeyCode::Char('k') => Action::ScrollDetail(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::ScrollDetail(1),
        KeyCode::Char('u') if ctrl => Action::PageDetail(-1),
        KeyCode::Char('d') if ctrl => Action::PageDetail(1),
        KeyCode::PageUp => Action::PageDetail(-1),
        KeyCode::PageDown => Action::PageDetail(1),
        KeyCode::Home | KeyCode::Char('g') => Action::DetailTop,
        KeyCode::End | KeyCode::Char('G') => Action::DetailBottom,
        // The pane follows the selection, so the next process is one key away.
        KeyCode::Char('K') => Action::Move(-1),
        KeyCode::Char('J') => Action::Move(1),
        KeyCode::Char('d') | KeyCode::Delete => Action::AskRemove,
        KeyCode::Char('r') | KeyCode::F(5) => Action::Refresh,
        KeyCode::Char('?') | KeyCode::F(1) => Action::ToggleHelp,
        _ => return None,
    };
    Some(action)
}

/// The wheel scrolls the list, or the detail pane when it has the focus.
pub fn map_mouse(mouse: MouseEvent, mode: &Mode) -> Option<Action> {
    let step = match mouse.kind {
        MouseEventKind::ScrollUp => -WHEEL_STEP,
        MouseEventKind::ScrollDown => WHEEL_STEP,
        _ => return None,
    };
    match mode {
        Mode::Normal | Mode::Filter => Some(Action::Move(step)),
        Mode::Detail => Some(Action::ScrollDetail(step)),
        Mode::Help | Mode::Confirm(_) => None,
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
        assert_eq!(map_key(ch('x'), &m), None);
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
    fn help_closes_on_any_key_but_q_quits() {
        assert_eq!(map_key(ch('x'), &Mode::Help), Some(Action::ToggleHelp));
        assert_eq!(map_key(ch('q'), &Mode::Help), Some(Action::Quit));
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
        assert_eq!(map_mouse(down, &Mode::Help), None);
        assert_eq!(map_mouse(wheel(MouseEventKind::Moved), &Mode::Normal), None);
    }
}
