//! What an alert says: one line of text per notice, the `HBMON_*` environment of an alert
//! command, and the JSON body of a webhook (a `text` field for Slack/Mattermost-style
//! hooks, plus every detail).
//!
//! Names and reasons come from writers. The text and every `HBMON_*` value are escaped
//! ([`crate::text`]), as the log is: a command echoes them to a terminal or a log, a chat
//! shows the text, and a digest's variables are one line per notice, which a raw newline
//! in a name would break. The webhook's `alerts` details are JSON, escaped by JSON itself,
//! and keep the exact values.

use serde_json::{Value, json};

use super::decide::{Message, Notice, NoticeKind};
use super::group;
use crate::clock::format_local;
use crate::health::State;
use crate::text;

/// A message ready to deliver, the same for every target.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub text: String,
    pub env: Vec<(&'static str, String)>,
    pub json: Value,
}

/// Renders `message` from monitor host `host`.
pub fn render(message: &Message, host: Option<&str>) -> Rendered {
    let notices = message.notices();
    let root_host = match message {
        Message::Host { host, .. } => host.as_str(),
        _ => "",
    };
    let prefix = host.map_or_else(String::new, |h| format!("[{h}] "));
    let (kind, text) = match message {
        Message::Now(notice) => (kind_str(notice.kind), format!("{prefix}{}", line(notice))),
        Message::Digest(notices) => {
            let lines: Vec<String> = notices.iter().map(|n| format!("• {}", line(n))).collect();
            let count = notices.len();
            let heading = format!(
                "{prefix}hbmon digest: {count} change{}",
                if count == 1 { "" } else { "s" }
            );
            ("digest", format!("{heading}\n{}", lines.join("\n")))
        }
        Message::Host {
            host: down,
            notices,
        } => {
            let kind = notices.first().map_or(NoticeKind::Alert, |n| n.kind);
            let lines: Vec<String> = notices.iter().map(|n| format!("• {}", line(n))).collect();
            let names: Vec<String> = group::names(notices)
                .into_iter()
                .map(|n| text::escape(n).into_owned())
                .collect();
            let what = if kind == NoticeKind::Recovery {
                "is back"
            } else {
                "is down"
            };
            let heading = format!(
                "{prefix}host {} {what}: {} at once: {}",
                text::escape(down),
                count_of(notices.len()),
                names.join(", ")
            );
            (kind_str(kind), format!("{heading}\n{}", lines.join("\n")))
        }
    };
    // One value per notice, newline-joined: a digest's details line up with its notices.
    let column = |field: fn(&Notice) -> String| -> String {
        notices.iter().map(field).collect::<Vec<_>>().join("\n")
    };
    let env = vec![
        ("HBMON_KIND", kind.to_owned()),
        ("HBMON_TEXT", text.clone()),
        ("HBMON_COUNT", notices.len().to_string()),
        ("HBMON_HOST", host.unwrap_or_default().to_owned()),
        ("HBMON_NAME", column(|n| text::escape(&n.name).into_owned())),
        ("HBMON_STATE", column(|n| n.state.as_str().to_owned())),
        (
            "HBMON_PREVIOUS",
            column(|n| n.previous.map_or("", State::as_str).to_owned()),
        ),
        ("HBMON_SEVERITY", column(|n| n.severity.as_str().to_owned())),
        (
            "HBMON_REASON",
            column(|n| text::escape(&n.reason).into_owned()),
        ),
        (
            "HBMON_SINCE",
            column(|n| n.since.map_or_else(String::new, |s| s.to_string())),
        ),
        (
            "HBMON_TAKES_DOWN",
            column(|n| text::escape(&n.takes_down.join(",")).into_owned()),
        ),
        ("HBMON_ROOT_HOST", text::escape(root_host).into_owned()),
    ];
    let mut json = json!({
        "text": text,
        "kind": kind,
        "host": host,
        "root_host": (!root_host.is_empty()).then_some(root_host),
        "count": notices.len(),
        "alerts": notices,
    });
    if let (Message::Now(notice), Value::Object(top)) = (message, &mut json)
        && let Ok(Value::Object(details)) = serde_json::to_value(notice)
    {
        for (key, value) in details {
            top.entry(key).or_insert(value);
        }
    }
    Rendered { text, env, json }
}

/// `worker is dead (was up): pid 4242 is gone`; `worker is still dead (since 09:12): …`.
///
/// A root cause's hard notice names what depends on it: `db is dead (was up): pid 42 is
/// gone; takes down api, web` (a recovery: `…; back for api, web`).
fn line(n: &Notice) -> String {
    let said = said(n);
    if n.takes_down.is_empty() {
        return said;
    }
    let names: Vec<String> = n
        .takes_down
        .iter()
        .map(|d| text::escape(d).into_owned())
        .collect();
    let verb = if n.kind == NoticeKind::Recovery {
        "back for"
    } else {
        "takes down"
    };
    format!("{said}; {verb} {}", names.join(", "))
}

fn said(n: &Notice) -> String {
    let (name, reason) = (text::escape(&n.name), text::escape(&n.reason));
    match (n.kind, n.previous) {
        // "restarted bidder (3rd time in 10m): was hung 42s": the whole news already.
        (NoticeKind::Restart, _) => reason.into_owned(),
        (NoticeKind::Reminder, _) => {
            let since = n
                .since
                .map(|s| format!(" (since {})", short_time(s)))
                .unwrap_or_default();
            format!("{name} is still {}{since}: {reason}", n.state)
        }
        (_, Some(previous)) => format!("{name} is {} (was {previous}): {reason}", n.state),
        (_, None) => format!("{name} is {}: {reason}", n.state),
    }
}

/// `1 process`, `3 processes`.
fn count_of(n: usize) -> String {
    format!("{n} process{}", if n == 1 { "" } else { "es" })
}

fn kind_str(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::Alert => "alert",
        NoticeKind::Recovery => "recovery",
        NoticeKind::Reminder => "reminder",
        NoticeKind::Restart => "restart",
    }
}

/// `HH:MM` local time.
fn short_time(unix: f64) -> String {
    let full = format_local(unix);
    full.get(11..16).unwrap_or(&full).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Severity;

    fn notice(kind: NoticeKind, name: &str, previous: Option<State>, state: State) -> Notice {
        Notice {
            kind,
            name: name.to_owned(),
            state,
            previous,
            severity: state.severity(),
            reason: format!("why {name}"),
            since: Some(1000.5),
            time: 1001.0,
            takes_down: Vec::new(),
        }
    }

    fn env<'a>(r: &'a Rendered, key: &str) -> &'a str {
        r.env
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn a_single_alert_fills_every_variable_and_field() {
        let n = notice(NoticeKind::Alert, "worker", Some(State::Up), State::Dead);
        let r = render(&Message::Now(n), Some("box"));
        assert_eq!(r.text, "[box] worker is dead (was up): why worker");
        for (key, value) in [
            ("HBMON_KIND", "alert"),
            ("HBMON_NAME", "worker"),
            ("HBMON_STATE", "dead"),
            ("HBMON_PREVIOUS", "up"),
            ("HBMON_SEVERITY", "critical"),
            ("HBMON_REASON", "why worker"),
            ("HBMON_SINCE", "1000.5"),
            ("HBMON_COUNT", "1"),
            ("HBMON_HOST", "box"),
        ] {
            assert_eq!(env(&r, key), value, "{key}");
        }
        assert_eq!(r.json["text"], r.text.as_str());
        assert_eq!(r.json["name"], "worker");
        assert_eq!(r.json["state"], "dead");
        assert_eq!(r.json["previous"], "up");
        assert_eq!(r.json["severity"], "critical");
        assert_eq!(r.json["since"], 1000.5);
        assert_eq!(r.json["kind"], "alert");
        assert_eq!(r.json["alerts"][0]["reason"], "why worker");
    }

    #[test]
    fn a_restart_says_its_reason_alone_escaped_as_kind_restart() {
        let mut n = notice(NoticeKind::Restart, "bidder", None, State::Dead);
        n.reason = "restarted bidder (3rd time in 10m00s): was hung 42s\u{1b}[2J".into();
        let r = render(&Message::Now(n), None);
        assert_eq!(
            r.text,
            "restarted bidder (3rd time in 10m00s): was hung 42s\\u{1b}[2J"
        );
        assert_eq!(env(&r, "HBMON_KIND"), "restart");
        assert_eq!(r.json["kind"], "restart");
    }

    #[test]
    fn a_digest_lists_each_notice_on_its_own_line() {
        let r = render(
            &Message::Digest(vec![
                notice(NoticeKind::Alert, "a", None, State::Late),
                notice(NoticeKind::Recovery, "b", Some(State::Error), State::Up),
            ]),
            None,
        );
        assert_eq!(
            r.text,
            "hbmon digest: 2 changes\n• a is late: why a\n• b is up (was error): why b"
        );
        assert_eq!(env(&r, "HBMON_NAME"), "a\nb");
        assert_eq!(env(&r, "HBMON_PREVIOUS"), "\nerror");
        assert_eq!(env(&r, "HBMON_KIND"), "digest");
        assert_eq!(r.json["count"], 2);
        assert_eq!(r.json["alerts"][1]["kind"], "recovery");
        assert!(r.json.get("name").is_none());
    }

    #[test]
    fn names_and_reasons_are_escaped_in_the_text_and_variables_but_exact_in_the_details() {
        let mut n = notice(NoticeKind::Alert, "evil\u{202e}txt", None, State::Error);
        n.reason = "reported an error: \u{1b}]0;pwned\u{7}\nsecond line".to_owned();
        let r = render(&Message::Digest(vec![n.clone(), n.clone()]), None);
        let escaped =
            r"evil\u{202e}txt is error: reported an error: \u{1b}]0;pwned\u{7}\nsecond line";
        assert_eq!(
            r.text,
            format!("hbmon digest: 2 changes\n• {escaped}\n• {escaped}")
        );
        assert_eq!(env(&r, "HBMON_NAME"), "evil\\u{202e}txt\nevil\\u{202e}txt");
        assert_eq!(
            env(&r, "HBMON_REASON").lines().collect::<Vec<_>>(),
            [r"reported an error: \u{1b}]0;pwned\u{7}\nsecond line"; 2]
        );
        for (key, value) in &r.env {
            let raw = value.chars().filter(|&c| c != '\n').any(text::needs_escape);
            assert!(!raw, "{key}={value:?}");
        }
        assert_eq!(r.json["text"], r.text.as_str());
        assert_eq!(r.json["alerts"][0]["name"], n.name.as_str());
        assert_eq!(r.json["alerts"][0]["reason"], n.reason.as_str());
    }

    #[test]
    fn a_reminder_says_since_when() {
        let mut n = notice(NoticeKind::Reminder, "w", Some(State::Dead), State::Dead);
        n.severity = Severity::Critical;
        let text = render(&Message::Now(n.clone()), None).text;
        let since = short_time(n.since.unwrap());
        assert_eq!(text, format!("w is still dead (since {since}): why w"));
    }

    #[test]
    fn a_root_cause_names_what_it_takes_down_and_brings_back() {
        let mut n = notice(NoticeKind::Alert, "db", Some(State::Up), State::Dead);
        n.takes_down = vec!["api".into(), "worker".into(), "web\u{1b}".into()];
        let r = render(&Message::Now(n.clone()), None);
        assert_eq!(
            r.text,
            r"db is dead (was up): why db; takes down api, worker, web\u{1b}"
        );
        assert_eq!(env(&r, "HBMON_TAKES_DOWN"), r"api,worker,web\u{1b}");
        assert_eq!(r.json["takes_down"][2], "web\u{1b}");
        n.kind = NoticeKind::Recovery;
        (n.previous, n.state) = (Some(State::Dead), State::Up);
        let text = render(&Message::Now(n), None).text;
        assert_eq!(
            text,
            r"db is up (was dead): why db; back for api, worker, web\u{1b}"
        );
    }

    #[test]
    fn a_host_down_is_one_message_listing_its_processes() {
        let notices = vec![
            notice(NoticeKind::Alert, "a", Some(State::Up), State::Dead),
            notice(NoticeKind::Alert, "b", Some(State::Late), State::Dead),
        ];
        let message = Message::Host {
            host: "far".into(),
            notices,
        };
        let r = render(&message, Some("mon"));
        assert_eq!(
            r.text,
            "[mon] host far is down: 2 processes at once: a, b\n\
             • a is dead (was up): why a\n• b is dead (was late): why b"
        );
        assert_eq!(env(&r, "HBMON_KIND"), "alert");
        assert_eq!(env(&r, "HBMON_ROOT_HOST"), "far");
        assert_eq!(env(&r, "HBMON_NAME"), "a\nb");
        assert_eq!(r.json["root_host"], "far");
        assert_eq!(r.json["count"], 2);
    }
}
