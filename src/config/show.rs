//! `hbmon config`'s output: the config as TOML that [`Config::parse`] reads back to the
//! same rules, with comments for what is left to the heartbeat entries.

use std::fmt::Write as _;

use super::{Config, Overlap, RemoteConfig, RemoteToken, Schedule, Secret, ServeConfig, Target};
use crate::duration;

/// Whether [`Config::show`] prints secrets (a token's, a ping key, a UUID, a push token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// As written: the config reads back the same (`hbmon config --show-secrets`).
    Shown,
    /// `"…(hidden, 32 chars)"`, which no config takes: a pasted or shared output gives no
    /// one a way in (`hbmon config`).
    Hidden,
}

impl Secrets {
    /// `value` quoted, or the mark that hides it.
    fn quote(self, value: &str) -> String {
        match self {
            Secrets::Shown => quote(value),
            Secrets::Hidden => quote(&format!("…(hidden, {} chars)", value.chars().count())),
        }
    }
}

impl Config {
    /// The config as TOML that [`Config::parse`] reads back to the same rules, secrets
    /// included.
    pub fn to_toml(&self) -> String {
        self.show(Secrets::Shown)
    }

    /// The config as TOML, with comments for what is left to the heartbeat entries, and
    /// its secrets as `secrets` says (`hbmon config`).
    pub fn show(&self, secrets: Secrets) -> String {
        let d = &self.defaults;
        let mut out = String::from("[defaults]\n");
        match d.interval {
            Some(i) => line(&mut out, "interval", &secs(i)),
            None => out.push_str("# interval: each entry's own interval, else 30s\n"),
        }
        match d.grace {
            Some(g) => line(&mut out, "grace", &secs(g)),
            None => out.push_str("# grace: half the interval\n"),
        }
        line(&mut out, "late_after", &count(d.late_after));
        line(&mut out, "degraded_after", &count(d.degraded_after));
        line(&mut out, "dead_after", &count(d.dead_after));
        for p in &self.processes {
            out.push_str("\n[[process]]\n");
            line(&mut out, "name", &quote(&p.name));
            if let Some(label) = &p.label {
                line(&mut out, "label", &quote(label));
            }
            if let Some(pattern) = &p.pattern {
                line(&mut out, "match", &quote(pattern.as_str()));
            }
            let optional = [
                ("interval", p.interval.map(secs)),
                ("schedule", p.schedule.as_ref().map(|s| quote(s.expr()))),
                (
                    "tz",
                    // The machine's zone without a name is what no tz says.
                    p.schedule
                        .as_ref()
                        .map(Schedule::tz_name)
                        .filter(|tz| *tz != "local")
                        .map(quote),
                ),
                ("grace", p.grace.map(secs)),
                ("kind", p.kind.map(|k| quote(k.as_str()))),
                ("late_after", p.late_after.map(count)),
                ("degraded_after", p.degraded_after.map(count)),
                ("dead_after", p.dead_after.map(count)),
                ("max_runtime", p.max_runtime.map(secs)),
                ("min_runtime", p.min_runtime.map(secs)),
                (
                    "overlap",
                    (p.overlap != Overlap::Allow).then(|| quote(p.overlap.as_str())),
                ),
                ("uuid", p.ping.uuid.as_deref().map(|u| secrets.quote(u))),
                ("slug", p.ping.slug.as_deref().map(quote)),
                (
                    "push_token",
                    p.ping.push_token.as_deref().map(|t| secrets.quote(t)),
                ),
            ];
            for (key, value) in optional {
                if let Some(value) = value {
                    line(&mut out, key, &value);
                }
            }
            line(&mut out, "critical", &p.critical.to_string());
            if !p.depends_on.is_empty() {
                let names: Vec<String> = p.depends_on.iter().map(|d| quote(d)).collect();
                line(&mut out, "depends_on", &format!("[{}]", names.join(", ")));
            }
            if !p.alerts {
                line(&mut out, "alerts", "false");
            }
            if let Some(probes) = &p.probes {
                probes.to_toml(&mut out);
            }
            if let Some(supervise) = &p.supervise {
                supervise.to_toml(&mut out);
            }
        }
        out.push_str("\n[history]\n");
        line(&mut out, "keep", &secs(self.history.keep));
        for rule in &self.alerts {
            out.push_str("\n[[alert]]\n");
            match &rule.target {
                Target::Command(cmd) => line(&mut out, "command", &quote(cmd)),
                Target::Webhook(url) => line(&mut out, "webhook", &quote(url)),
            }
            let p = &rule.policy;
            line(&mut out, "after", &p.after.to_string());
            if let Some(repeat) = p.repeat {
                line(&mut out, "repeat", &secs(repeat));
            }
            line(&mut out, "digest", &secs(p.digest));
            line(&mut out, "timeout", &secs(rule.timeout.as_secs_f64()));
        }
        for m in &self.maintenance {
            out.push_str("\n[[maintenance]]\n");
            line(&mut out, "schedule", &quote(m.window.schedule.expr()));
            if m.window.schedule.tz_name() != "local" {
                line(&mut out, "tz", &quote(m.window.schedule.tz_name()));
            }
            line(&mut out, "duration", &secs(m.window.duration));
            let globs: Vec<String> = m.processes.iter().map(|p| quote(p.as_str())).collect();
            line(&mut out, "processes", &format!("[{}]", globs.join(", ")));
        }
        remotes(&mut out, &self.remotes, secrets);
        serve(&mut out, &self.serve, secrets);
        out
    }
}

/// The `[[remote]]` tables.
fn remotes(out: &mut String, remotes: &[RemoteConfig], secrets: Secrets) {
    for remote in remotes {
        out.push_str("\n[[remote]]\n");
        line(out, "url", &quote(&remote.url));
        if let Some(name) = &remote.name {
            line(out, "name", &quote(name));
        }
        match &remote.token {
            Some(RemoteToken::Inline(token)) => line(out, "token", &secrets.quote(token)),
            Some(RemoteToken::File(path)) => {
                line(out, "token_file", &quote(&path.to_string_lossy()));
            }
            None => {}
        }
    }
}

/// The `[serve]` table.
fn serve(out: &mut String, serve: &ServeConfig, secrets: Secrets) {
    out.push_str("\n[serve]\n");
    line(
        out,
        "listen",
        &quote(&serve.listen.unwrap_or_default().to_string()),
    );
    if let Some(limit) = serve.ping_body_limit {
        line(out, "ping_body_limit", &limit.to_string());
    }
    if let Some(key) = &serve.ping_key {
        line(out, "ping_key", &secrets.quote(key));
    }
    // A healthchecks.io URL is its check's secret.
    if let Some(url) = &serve.heartbeat_url {
        line(out, "heartbeat_url", &secrets.quote(url));
        line(out, "heartbeat_every", &secs(serve.heartbeat_every()));
    }
    let access = &serve.access;
    if let Some((cert, key)) = &access.tls {
        line(out, "tls_cert", &quote(&cert.to_string_lossy()));
        line(out, "tls_key", &quote(&key.to_string_lossy()));
    }
    match (access.ping_rate, access.ping_rate()) {
        (_, None) => line(out, "ping_rate", &quote("off")),
        (Some(_), Some(rate)) => line(out, "ping_rate", &quote(&rate.to_string())),
        (None, Some(rate)) => {
            let _ = writeln!(out, "# ping_rate: {rate} (the default)");
        }
    }
    for token in &access.tokens {
        out.push_str("\n[[serve.token]]\n");
        line(out, "name", &quote(&token.name));
        match &token.secret {
            Secret::Inline(secret) => line(out, "secret", &secrets.quote(secret)),
            Secret::File(path) => line(out, "secret_file", &quote(&path.to_string_lossy())),
        }
        let scopes: Vec<String> = token.scopes.iter().map(|s| quote(s.as_str())).collect();
        line(out, "scopes", &format!("[{}]", scopes.join(", ")));
    }
}

pub(super) fn line(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key} = {value}");
}

pub(super) fn secs(s: f64) -> String {
    quote(&duration::format_exact(s))
}

fn count(n: f64) -> String {
    toml::Value::Float(n)
        .to_string()
        .trim_end_matches(".0")
        .to_owned()
}

/// A TOML string that reads back to `s`. With a character [`text`](crate::text) escapes
/// everywhere else (a control, bidi or line-separator character) it is a basic string with
/// that character as `\uXXXX`, so `hbmon config` prints none of them raw; else it is what
/// TOML's encoder writes.
pub(super) fn quote(s: &str) -> String {
    use std::fmt::Write as _;
    if !s.chars().any(crate::text::needs_escape) {
        return toml::Value::String(s.to_owned()).to_string();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if crate::text::needs_escape(c) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
