//! One run of an `http` probe: a GET answered with a 2xx status within the timeout (ureq
//! bounds the whole call), its body holding `http_expect` if one is given.

use std::io::Read as _;
use std::time::Duration;

/// How much of a body is searched for `http_expect`: a health answer is short, and a huge
/// one must not be read whole.
const MAX_BODY: u64 = 64 * 1024;

/// The agent every http probe shares (and its connection pool): no proxy from the
/// environment (a health URL is local more often than not), statuses judged here.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .user_agent(concat!("hbmon/", env!("CARGO_PKG_VERSION")))
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into()
}

/// Gets `url`; `Err` says why it failed, as the status table shows it.
pub fn run(
    agent: &ureq::Agent,
    url: &str,
    expect: Option<&str>,
    timeout: Duration,
) -> Result<(), String> {
    let response = agent
        .get(url)
        .config()
        .timeout_global(Some(timeout))
        .build()
        .call()
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => format!("no answer within {}", secs(timeout)),
            other => other.to_string(),
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let Some(expect) = expect else {
        return Ok(());
    };
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_BODY)
        .read_to_end(&mut body)
        .map_err(|e| format!("reading the body: {e}"))?;
    if String::from_utf8_lossy(&body).contains(expect) {
        Ok(())
    } else {
        Err(format!("HTTP {status} but the body lacks {expect:?}"))
    }
}

pub(super) fn secs(d: Duration) -> String {
    crate::duration::format_secs(d.as_secs_f64())
}
