//! `/api/v1/processes/NAME/restart` and `…/stop`: what `hbmon restart|stop NAME` does,
//! through the same control socket to the supervisor of this serve, with the write rules of
//! the management API.

use serde_json::json;

use super::Api;
use super::processes::{json_error, no_query};
use crate::http::{Request, Response};
use crate::supervise::Verb;
use crate::supervise::control::{self, Request as Ask};

impl Api {
    /// Asks the supervisor to `verb` the process `given` (a name or label: the supervisor,
    /// which has the config, resolves labels), as `hbmon restart|stop` asks it.
    pub(super) fn control(&self, request: &Request, given: &str, verb: Verb) -> Response {
        if let Err(reply) = no_query(request, &[]) {
            return reply;
        }
        if let Err(reply) = self.may_manage(request) {
            return reply;
        }
        let ask = Ask {
            verb,
            names: vec![given.to_owned()],
        };
        match control::ask(&self.file, &ask) {
            Ok(reply) if reply.ok => Response::json(200, &json!({"ok": true, "text": reply.text})),
            // The supervisor refused it (not supervised, unknown): the request's fault.
            Ok(reply) => json_error(409, &reply.text, Some("name")),
            Err(e) => json_error(
                503,
                &format!(
                    "this hbmon serve supervises nothing ({}: {e}): give processes a `command` \
                     in the config",
                    control::socket_path(&self.file).display()
                ),
                None,
            ),
        }
    }
}
