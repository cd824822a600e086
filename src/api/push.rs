//! `/api/push/TOKEN?status=up|down&msg=…&ping=…`: Uptime Kuma's push monitor URL, so a
//! script that pushes to Uptime Kuma pushes to hbmon by changing its base URL. The token is
//! a `[[process]]`'s `push_token`; `up` is a beat, `down` an error beat with `msg` as its
//! message, and `ping` (milliseconds) is kept in the entry's data as `ping_ms`, beside
//! `msg`. Replies are Uptime Kuma's JSON: `{"ok":true}`, or `{"ok":false,"msg":…}` (404, as
//! Uptime Kuma answers every refused push).

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::Api;
use crate::clock::unix_now;
use crate::heartbeat::host;
use crate::http::{Request, Response};
use crate::store::{Beat, DataChange, Reported};
use crate::text;

/// Uptime Kuma's reply to a token that names no monitor.
pub const NOT_FOUND: &str = "Monitor not found or not active.";
/// The longest response time Uptime Kuma takes, in milliseconds.
const MAX_PING_MS: f64 = 1e11;

/// What a push says, checked.
#[derive(Debug, Clone, PartialEq)]
struct Push {
    up: bool,
    msg: String,
    ping_ms: Option<f64>,
}

impl Push {
    /// `status` (default `up`), `msg` (default `OK`) and `ping` from the query; why not, in
    /// Uptime Kuma's words where it has some.
    fn parse(query: &[(String, String)]) -> Result<Push, String> {
        let mut push = Push {
            up: true,
            msg: "OK".to_owned(),
            ping_ms: None,
        };
        for (i, (param, value)) in query.iter().enumerate() {
            if query[..i].iter().any(|(earlier, _)| earlier == param) {
                return Err(format!("parameter {param:?} is given twice"));
            }
            match param.as_str() {
                "status" => {
                    push.up = match value.as_str() {
                        "up" | "" => true,
                        "down" => false,
                        _ => return Err(format!("status={value:?}: use up or down")),
                    };
                }
                // Uptime Kuma reads an empty one as none.
                "msg" | "ping" if value.is_empty() => {}
                "msg" => push.msg.clone_from(value),
                // Uptime Kuma drops a ping it cannot read; refused here, not lost unsaid.
                "ping" => {
                    push.ping_ms = Some(
                        value
                            .parse::<f64>()
                            .ok()
                            .filter(|ms| (0.0..=MAX_PING_MS).contains(ms))
                            .ok_or_else(|| {
                                "Invalid ping value. Must be between 0 and 100000000000 ms."
                                    .to_owned()
                            })?,
                    );
                }
                _ => {
                    return Err(format!(
                        "unknown parameter {param:?}: a push takes status, msg and ping"
                    ));
                }
            }
        }
        Ok(push)
    }

    /// The beat it writes: no PID (HTTP carries none), this machine's host.
    fn beat(&self) -> Beat {
        let mut data = Map::new();
        data.insert("msg".to_owned(), Value::String(self.msg.clone()));
        if let Some(ms) = self.ping_ms {
            data.insert("ping_ms".to_owned(), json!(ms));
        }
        Beat {
            status: if self.up {
                Reported::Alive
            } else {
                Reported::Error
            },
            error: (!self.up).then(|| self.msg.clone()),
            data: DataChange::Merge(data),
            host: host(),
            ..Beat::alive(None)
        }
    }
}

impl Api {
    /// `/api/push/TOKEN`.
    pub(super) fn push(&self, token: &str, request: &Request) -> Response {
        if let Err(refused) = request.may_write(&self.session) {
            return answer(refused.status(), Some(&refused.to_string()));
        }
        let Some(name) = self.addresses.by_push_token(token) else {
            return answer(404, Some(NOT_FOUND));
        };
        let push = match Push::parse(&request.query) {
            Ok(push) => push,
            Err(why) => return answer(404, Some(&why)),
        };
        let beat = push.beat();
        let now = unix_now();
        let written = self.write_entry(name, move |previous| Some(beat.apply(previous, now)));
        match written {
            Ok(entry) => {
                if let Some(entry) = &entry {
                    self.starts.written(name, None, entry, now, Instant::now());
                }
                answer(200, None)
            }
            Err(e) => {
                eprintln!("http: push {name:?}: {}", text::escape(&e.to_string()));
                let status = if e.is_busy() { 503 } else { 500 };
                answer(status, Some(&e.to_string()))
            }
        }
    }
}

/// Uptime Kuma's reply: `{"ok":true}`, or `{"ok":false,"msg":why}`.
fn answer(status: u16, why: Option<&str>) -> Response {
    let body = match why {
        None => json!({ "ok": true }),
        Some(why) => json!({ "ok": false, "msg": why }),
    };
    Response {
        status,
        ..Response::ok("application/json; charset=utf-8", body.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> Vec<(String, String)> {
        (text.split('&'))
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    #[test]
    fn a_push_is_up_with_ok_unless_it_says_otherwise() {
        let push = |up, msg: &str, ping_ms| Push {
            up,
            msg: msg.to_owned(),
            ping_ms,
        };
        let cases = [
            ("", Ok(push(true, "OK", None))),
            ("status=up&msg=&ping=", Ok(push(true, "OK", None))),
            (
                "status=down&msg=disk full",
                Ok(push(false, "disk full", None)),
            ),
            ("ping=12.5", Ok(push(true, "OK", Some(12.5)))),
            ("ping=0", Ok(push(true, "OK", Some(0.0)))),
            ("ping=100000000000", Ok(push(true, "OK", Some(1e11)))),
            (
                "ping=100000000001",
                Err("Invalid ping value. Must be between 0 and 100000000000 ms."),
            ),
            (
                "ping=-1",
                Err("Invalid ping value. Must be between 0 and 100000000000 ms."),
            ),
            (
                "ping=NaN",
                Err("Invalid ping value. Must be between 0 and 100000000000 ms."),
            ),
            (
                "ping=fast",
                Err("Invalid ping value. Must be between 0 and 100000000000 ms."),
            ),
            (
                "status=sideways",
                Err("status=\"sideways\": use up or down"),
            ),
            (
                "status=up&status=down",
                Err("parameter \"status\" is given twice"),
            ),
            (
                "token=x",
                Err("unknown parameter \"token\": a push takes status, msg and ping"),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                Push::parse(&query(text)),
                expected.map_err(str::to_owned),
                "{text}"
            );
        }
    }

    #[test]
    fn down_is_an_error_beat_with_its_message_and_the_ping_goes_in_the_data() {
        let beat = Push::parse(&query("status=down&msg=no route&ping=7"))
            .unwrap()
            .beat();
        assert_eq!(beat.status, Reported::Error);
        assert_eq!(beat.error.as_deref(), Some("no route"));
        assert_eq!(beat.pid, None);
        let DataChange::Merge(data) = beat.data else {
            panic!("{:?}", beat.data)
        };
        assert_eq!(
            Value::Object(data),
            json!({"msg": "no route", "ping_ms": 7.0})
        );
        let up = Push::parse(&query("")).unwrap().beat();
        assert_eq!((up.status, up.error), (Reported::Alive, None));
    }
}
