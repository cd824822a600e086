//! The signal dialog: its menu with the cursor on a signal, and the confirm.

use super::*;

#[test]
fn signal_menu_and_its_confirm() {
    let mut app = app(true);
    // websocket-reader: hung, its process alive.
    app.update(Action::Move(1));
    app.update(Action::AskSignal);
    app.update(Action::SignalMenu(3));
    let menu = screen(&render(&mut app, 80, 24));
    assert!(menu.contains("▶ SIGKILL"), "{menu}");
    assert!(
        menu.contains("↑↓ choose"),
        "the footer says the menu's keys: {menu}"
    );
    insta::assert_snapshot!("signal_menu", menu);
    app.update(Action::PickSignal);
    let confirm = screen(&render(&mut app, 80, 24));
    assert!(
        confirm.contains("Send SIGKILL to websocket-reader (pid"),
        "{confirm}"
    );
    insta::assert_snapshot!("signal_confirm", confirm);
}
