//! `hbmon start|stop|restart NAME…`: asks the running `hbmon serve` (over its control
//! socket, [`crate::supervise::control`]) to start, stop or restart processes it supervises.
//! `stop` keeps a process stopped — no restart — until `start`.

use std::process::ExitCode;

use crate::paths::FileLocation;
use crate::supervise::Verb;
use crate::supervise::control::{self, Request};

/// `names`: heartbeat names or labels (serve, which has the config, resolves labels).
pub fn control(
    location: &FileLocation,
    verb: Verb,
    names: Vec<String>,
) -> anyhow::Result<ExitCode> {
    let socket = control::socket_path(&location.path);
    let reply = control::ask(&location.path, &Request { verb, names }).map_err(|e| {
        anyhow::anyhow!(
            "no hbmon serve supervises {} ({}: {e}): start one with `hbmon serve`",
            location.path.display(),
            socket.display()
        )
    })?;
    if reply.ok {
        println!("{}", crate::text::escape(&reply.text));
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!("{}", crate::text::escape(&reply.text).replace("\\n", "; "))
    }
}
