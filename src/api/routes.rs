//! The table of the API's endpoints ([`ROUTES`]): which paths there are, the methods each
//! takes and what answers it. The routing reads it, the 404 reply lists it, and tests hold
//! docs/serve.md and lib.rs's map to it, so that no list of endpoints is kept by hand.

use super::Api;
use super::auth::Need;
use crate::config::Scope;
use crate::http::{Request, Response};
use crate::report::metrics;
use crate::supervise::Verb;

/// The endpoints that only read.
const READ: &str = "GET, HEAD";
/// The management API's list, which `POST` adds to.
const LIST: &str = "GET, HEAD, POST";
/// One process of the management API.
const ONE: &str = "GET, HEAD, PATCH, DELETE";
/// An act on one process.
const ACT: &str = "POST";
/// A ping: `GET` too, as healthchecks.io takes it, so `curl URL` with no flags works, and
/// `HEAD` (`curl -I URL`), which it takes as well: the reply has its headers and no body.
const PING: &str = "GET, POST, HEAD";
/// An Uptime Kuma push: `GET` as its push URL is shown (`curl URL`), and `POST`.
const PUSH: &str = "GET, POST";

/// One endpoint: its path as the docs write it (an upper-case segment, `NAME` or `CODE`,
/// stands for any one segment), the methods it takes, and what answers it, given the
/// segments the upper-case ones stand for.
pub struct Route {
    pub path: &'static str,
    pub methods: &'static str,
    /// The token's scope a request needs once `[[serve.token]]`s are configured.
    pub need: Need,
    pub(super) answer: fn(&Api, &Request, &[&str]) -> Response,
}

/// Every endpoint, in the order the 404 reply lists them: the routing, that reply, and the
/// tests that docs/serve.md and lib.rs list them all read this table. The first that
/// matches answers: `/ping/NAME/start` before `/ping/NAME/CODE`, which takes any other
/// segment and says why it is not a code. `/ping/NAME` is also healthchecks.io's
/// `/ping/<uuid>` when NAME is a UUID, and `/ping/NAME/…` its `/ping/<ping-key>/<slug>`
/// when NAME is the ping key (`Api::ping` tells them apart).
pub const ROUTES: &[Route] = &[
    Route {
        path: "/status",
        methods: READ,
        need: Need::Scope(Scope::Read),
        answer: |api, _, _| api.status(None),
    },
    Route {
        path: "/status/NAME",
        methods: READ,
        need: Need::Scope(Scope::Read),
        answer: |api, _, at| api.status(Some(at[0])),
    },
    Route {
        path: "/metrics",
        methods: READ,
        need: Need::Scope(Scope::Read),
        answer: |api, _, _| {
            Response::ok(metrics::CONTENT_TYPE, metrics::render(&api.feed.report()))
        },
    },
    Route {
        path: "/ping/NAME",
        methods: PING,
        need: Need::Scope(Scope::Ping),
        answer: |api, request, at| api.ping(at[0], None, request),
    },
    Route {
        path: "/ping/NAME/start",
        methods: PING,
        need: Need::Scope(Scope::Ping),
        answer: |api, request, at| api.ping(at[0], Some("start"), request),
    },
    Route {
        path: "/ping/NAME/fail",
        methods: PING,
        need: Need::Scope(Scope::Ping),
        answer: |api, request, at| api.ping(at[0], Some("fail"), request),
    },
    Route {
        path: "/ping/NAME/log",
        methods: PING,
        need: Need::Scope(Scope::Ping),
        answer: |api, request, at| api.ping(at[0], Some("log"), request),
    },
    Route {
        path: "/ping/NAME/CODE",
        methods: PING,
        need: Need::Scope(Scope::Ping),
        answer: |api, request, at| api.ping(at[0], Some(at[1]), request),
    },
    Route {
        path: "/ping/KEY/SLUG/start",
        methods: PING,
        need: Need::Scope(Scope::Ping),
        answer: |api, request, at| api.ping_by_key(at[0], at[1], "start", request),
    },
    Route {
        path: "/ping/KEY/SLUG/fail",
        methods: PING,
        need: Need::Scope(Scope::Ping),
        answer: |api, request, at| api.ping_by_key(at[0], at[1], "fail", request),
    },
    Route {
        path: "/ping/KEY/SLUG/log",
        methods: PING,
        need: Need::Scope(Scope::Ping),
        answer: |api, request, at| api.ping_by_key(at[0], at[1], "log", request),
    },
    Route {
        path: "/ping/KEY/SLUG/CODE",
        methods: PING,
        need: Need::Scope(Scope::Ping),
        answer: |api, request, at| api.ping_by_key(at[0], at[1], at[2], request),
    },
    Route {
        path: "/api/push/TOKEN",
        methods: PUSH,
        need: Need::Scope(Scope::Ping),
        answer: |api, request, at| api.push(at[0], request),
    },
    Route {
        path: "/api/v1/processes",
        methods: LIST,
        need: Need::ReadOrWrite,
        answer: |api, request, _| api.processes(request),
    },
    Route {
        path: "/api/v1/processes/NAME",
        methods: ONE,
        need: Need::ReadOrWrite,
        answer: |api, request, at| api.process(request, at[0]),
    },
    Route {
        path: "/api/v1/processes/NAME/pause",
        methods: ACT,
        need: Need::ReadOrWrite,
        answer: |api, request, at| api.pause(request, at[0], false),
    },
    Route {
        path: "/api/v1/processes/NAME/resume",
        methods: ACT,
        need: Need::ReadOrWrite,
        answer: |api, request, at| api.pause(request, at[0], true),
    },
    Route {
        path: "/api/v1/processes/NAME/history",
        methods: READ,
        need: Need::ReadOrWrite,
        answer: |api, request, at| api.history(request, at[0]),
    },
    Route {
        path: "/api/v1/processes/NAME/restart",
        methods: ACT,
        need: Need::Scope(Scope::Write),
        answer: |api, request, at| api.control(request, at[0], Verb::Restart),
    },
    Route {
        path: "/api/v1/processes/NAME/stop",
        methods: ACT,
        need: Need::Scope(Scope::Write),
        answer: |api, request, at| api.control(request, at[0], Verb::Stop),
    },
    Route {
        path: "/api/v1/history",
        methods: READ,
        need: Need::Scope(Scope::Read),
        answer: |api, request, _| api.fleet_history(request),
    },
    Route {
        path: "/api/v1/events",
        methods: READ,
        need: Need::Scope(Scope::Read),
        answer: |api, request, _| api.events(request),
    },
    Route {
        path: "/healthz",
        methods: READ,
        need: Need::Nothing,
        answer: |_, _, _| Response::line(200, "ok"),
    },
    Route {
        path: "/",
        methods: READ,
        need: Need::Scope(Scope::Read),
        answer: |api, _, _| api.dashboard(),
    },
    Route {
        path: "/assets/FILE",
        methods: READ,
        need: Need::Nothing,
        answer: |_, request, at| super::web::asset(at[0], request),
    },
];

impl Route {
    /// The segments of `path` that this route's upper-case segments stand for, if `path`
    /// is this route's.
    fn matches<'p>(&self, path: &[&'p str]) -> Option<Vec<&'p str>> {
        let pattern = self.path.strip_prefix('/').unwrap_or(self.path).split('/');
        if pattern.clone().count() != path.len() {
            return None;
        }
        let mut stand_ins = Vec::new();
        for (want, &segment) in pattern.zip(path) {
            // An empty segment (`/`) is itself, not a stand-in.
            if !want.is_empty() && want.bytes().all(|b| b.is_ascii_uppercase()) {
                stand_ins.push(segment);
            } else if want != segment {
                return None;
            }
        }
        Some(stand_ins)
    }
}

/// The route that answers `path`, the first of [`ROUTES`] it matches, and the segments its
/// upper-case ones stand for.
pub(super) fn find<'p>(path: &[&'p str]) -> Option<(&'static Route, Vec<&'p str>)> {
    ROUTES
        .iter()
        .find_map(|route| Some((route, route.matches(path)?)))
}

/// The reply to a path no route takes: it names them all.
pub(super) fn no_endpoint(path: &[&str]) -> Response {
    let paths: Vec<&str> = ROUTES.iter().map(|route| route.path).collect();
    let (last, others) = paths.split_last().unwrap_or((&"", &[]));
    Response::line(
        404,
        format!(
            "no endpoint {:?}: there are {} and {last}",
            format!("/{}", path.join("/")),
            others.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path, methods and scope of every route, sorted.
    fn table() -> Vec<(&'static str, &'static str, &'static str)> {
        let mut table: Vec<_> = (ROUTES.iter())
            .map(|r| (r.path, r.methods, r.need.describe()))
            .collect();
        table.sort_unstable();
        table
    }

    /// The texts in backticks in `text` that are paths.
    fn quoted_paths(text: &str) -> Vec<&str> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .filter(|quoted| quoted.starts_with('/'))
            .collect()
    }

    #[test]
    fn docs_serve_md_lists_every_route_with_its_methods_and_scope_and_no_other() {
        let docs = include_str!("../../docs/serve.md");
        // The rows of its table of endpoints: | `/path` | METHODS | SCOPE | answer |
        let mut listed: Vec<_> = docs
            .lines()
            .filter_map(|line| {
                let (path, rest) = line.strip_prefix("| `")?.split_once("` | ")?;
                let mut cells = rest.split(" | ");
                let (methods, scope) = (cells.next()?, cells.next()?);
                path.starts_with('/').then_some((path, methods, scope))
            })
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, table(), "docs/serve.md's table of endpoints");
    }

    #[test]
    fn the_crate_map_names_every_route_and_no_other() {
        let map = include_str!("../lib.rs");
        let start = map.find("//! - [`api`]").expect("lib.rs's map has api");
        let end = map[start + 1..]
            .find("//! - [")
            .map_or(map.len(), |i| start + 1 + i);
        let mut named = quoted_paths(&map[start..end]);
        named.sort_unstable();
        let mut paths: Vec<_> = ROUTES.iter().map(|r| r.path).collect();
        paths.sort_unstable();
        assert_eq!(named, paths, "lib.rs's line on api");
    }

    #[test]
    fn every_route_is_reached_by_its_own_paths() {
        for (i, route) in ROUTES.iter().enumerate() {
            let example = (route.path.replace("NAME", "backup").replace("CODE", "3"))
                .replace("FILE", "app.js");
            let path: Vec<&str> = example[1..].split('/').collect();
            let first = ROUTES.iter().position(|r| r.matches(&path).is_some());
            assert_eq!(first, Some(i), "{example} is answered by an earlier route");
        }
        let route = |path| find(path).map(|(route, stand_ins)| (route.path, stand_ins));
        assert_eq!(
            route(&["ping", "a/b", "abc"]),
            Some(("/ping/NAME/CODE", vec!["a/b", "abc"]))
        );
        assert_eq!(
            route(&["status", "NAME"]),
            Some(("/status/NAME", vec!["NAME"]))
        );
        assert_eq!(route(&["ping"]), None);
        assert_eq!(route(&["nope"]), None, "/ is itself, not a stand-in");
        assert_eq!(route(&[""]), Some(("/", vec![])));
        assert_eq!(
            route(&["ping", "x", "start", "now"]),
            Some(("/ping/KEY/SLUG/CODE", vec!["x", "start", "now"])),
            "a key's slug's event, which says why it is not a code"
        );
        assert_eq!(route(&["ping", "k", "s", "start", "now"]), None);
    }

    #[test]
    fn the_404_reply_names_every_route() {
        let reply = no_endpoint(&["nope"]);
        assert_eq!(reply.status, 404);
        assert_eq!(
            reply.body,
            "no endpoint \"/nope\": there are /status, /status/NAME, /metrics, /ping/NAME, \
             /ping/NAME/start, /ping/NAME/fail, /ping/NAME/log, /ping/NAME/CODE, \
             /ping/KEY/SLUG/start, /ping/KEY/SLUG/fail, /ping/KEY/SLUG/log, /ping/KEY/SLUG/CODE, \
             /api/push/TOKEN, /api/v1/processes, /api/v1/processes/NAME, \
             /api/v1/processes/NAME/pause, /api/v1/processes/NAME/resume, \
             /api/v1/processes/NAME/history, /api/v1/processes/NAME/restart, \
             /api/v1/processes/NAME/stop, /api/v1/history, /api/v1/events, /healthz, / and /assets/FILE\n"
        );
    }
}
