//! The active probes of a `[[process]]` — `http`, `tcp`, `command` and the keys that say
//! how often, how patiently and how strictly they are run — and their parsing. The config
//! owns these types; `crate::checks` runs them.

use std::time::Duration;

use toml::Spanned;

use super::{Fault, Span, positive};

/// A probe gets this long per run unless `probe_timeout` says.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Consecutive failures before a probe counts, unless `probe_fails` says: one failure is
/// flapping, tolerated.
pub const PROBE_FAILS: u32 = 2;
/// The longest `probe_timeout`: past it, a probe cannot be told from a hung one anyway.
pub const MAX_PROBE_TIMEOUT: Duration = Duration::from_secs(300);

/// What one probe looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    /// A GET answered 2xx within the timeout, its body containing `expect` if given.
    Http { url: String, expect: Option<String> },
    /// `host:port` accepts a TCP connection within the timeout.
    Tcp { addr: String },
    /// The command exits 0 within the timeout; `argv[0]` is run without a shell (with
    /// `command_shell = true`, `shell`, `argv` is `sh -c LINE`).
    Command {
        line: String,
        argv: Vec<String>,
        shell: bool,
    },
}

impl ProbeKind {
    /// `http`, `tcp` or `command`, as JSON and metrics label it.
    pub fn name(&self) -> &'static str {
        match self {
            ProbeKind::Http { .. } => "http",
            ProbeKind::Tcp { .. } => "tcp",
            ProbeKind::Command { .. } => "command",
        }
    }

    /// What it looks at, as written: the URL, the address, the command line.
    pub fn target(&self) -> &str {
        match self {
            ProbeKind::Http { url, .. } => url,
            ProbeKind::Tcp { addr } => addr,
            ProbeKind::Command { line, .. } => line,
        }
    }
}

/// The probes of one process and how they are judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Probes {
    /// In the order `http`, `tcp`, `command`; at least one.
    pub kinds: Vec<ProbeKind>,
    /// Per run.
    pub timeout: Duration,
    /// Between runs; `None`: the process's interval.
    pub every: Option<Duration>,
    /// Consecutive failures before a probe counts as failing.
    pub fails: u32,
    /// A failing probe is critical, not degraded.
    pub critical: bool,
}

/// The probe keys of a `[[process]]` as read (declared in its raw table, which refuses
/// unknown keys and so cannot flatten this in).
#[derive(Debug, Default)]
pub(super) struct RawProbes {
    pub http: Option<Spanned<String>>,
    pub http_expect: Option<Spanned<String>>,
    pub tcp: Option<Spanned<String>>,
    pub command: Option<Spanned<String>>,
    pub command_shell: Option<Spanned<bool>>,
    pub probe_timeout: Option<Spanned<Span>>,
    pub probe_every: Option<Spanned<Span>>,
    pub probe_fails: Option<Spanned<u32>>,
    pub probe_critical: Option<Spanned<bool>>,
}

impl RawProbes {
    /// `None` without a probe; the other keys without one are refused (they would do
    /// nothing, silently).
    pub(super) fn validate(self) -> Result<Option<Probes>, Fault> {
        let mut kinds = Vec::new();
        if let Some(url) = self.http {
            kinds.push(ProbeKind::Http {
                url: http_url(&url)?,
                expect: self.http_expect.map(Spanned::into_inner),
            });
        } else if let Some(expect) = &self.http_expect {
            return Err((
                expect.span(),
                "http_expect",
                "needs http = \"http://...\"".into(),
            ));
        }
        if let Some(addr) = self.tcp {
            kinds.push(ProbeKind::Tcp {
                addr: host_port(&addr)?,
            });
        }
        let shell = self.command_shell.as_ref().is_some_and(|s| *s.get_ref());
        if let Some(line) = self.command {
            kinds.push(command(&line, shell)?);
        } else if let Some(s) = &self.command_shell {
            return Err((s.span(), "command_shell", "needs command = \"...\"".into()));
        }
        let timeout = positive("probe_timeout", self.probe_timeout.as_ref())?;
        let every = positive("probe_every", self.probe_every.as_ref())?;
        let keys = [
            (
                "probe_timeout",
                self.probe_timeout.as_ref().map(Spanned::span),
            ),
            ("probe_every", self.probe_every.as_ref().map(Spanned::span)),
            ("probe_fails", self.probe_fails.as_ref().map(Spanned::span)),
            (
                "probe_critical",
                self.probe_critical.as_ref().map(Spanned::span),
            ),
        ];
        if kinds.is_empty() {
            return match keys.into_iter().find_map(|(key, at)| Some((key, at?))) {
                Some((key, at)) => Err((
                    at,
                    key,
                    "applies only with a probe: add http, tcp or command".into(),
                )),
                None => Ok(None),
            };
        }
        let timeout = timeout.map_or(PROBE_TIMEOUT, Duration::from_secs_f64);
        if timeout > MAX_PROBE_TIMEOUT
            && let Some(at) = &self.probe_timeout
        {
            return Err((at.span(), "probe_timeout", "must be at most 5m".into()));
        }
        let fails = match self.probe_fails {
            Some(n) if *n.get_ref() == 0 => {
                return Err((n.span(), "probe_fails", "must be at least 1".into()));
            }
            Some(n) => n.into_inner(),
            None => PROBE_FAILS,
        };
        Ok(Some(Probes {
            kinds,
            timeout,
            every: every.map(Duration::from_secs_f64),
            fails,
            critical: self.probe_critical.is_some_and(Spanned::into_inner),
        }))
    }
}

/// An `http://` or `https://` URL with a host.
fn http_url(url: &Spanned<String>) -> Result<String, Fault> {
    let text = url.get_ref();
    let bad = |why: &str| Err((url.span(), "http", format!("{text:?} {why}")));
    let Some(rest) = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
    else {
        return bad("is not an http:// or https:// URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return bad("has no host");
    }
    match text.parse::<ureq::http::Uri>() {
        Ok(uri) if uri.host().is_some() => Ok(text.clone()),
        Ok(_) => bad("has no host"),
        Err(e) => bad(&format!("is not a valid URL: {e}")),
    }
}

/// `host:port` (`[::1]:port` for IPv6), the port a number from 1 to 65535.
fn host_port(addr: &Spanned<String>) -> Result<String, Fault> {
    let text = addr.get_ref();
    let bad = |why: &str| Err((addr.span(), "tcp", format!("{text:?} {why}")));
    let Some((host, port)) = text.rsplit_once(':') else {
        return bad("is not host:port");
    };
    if host.trim_matches(['[', ']']).is_empty() || host.contains(char::is_whitespace) {
        return bad("has no host (host:port)");
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(text.clone()),
        _ => bad("has no port from 1 to 65535 (host:port)"),
    }
}

/// The command's argv: split as a shell would (quotes, escapes) but run without one, or
/// `sh -c LINE` when asked.
fn command(line: &Spanned<String>, shell: bool) -> Result<ProbeKind, Fault> {
    let text = line.get_ref();
    let bad = |why: String| Err((line.span(), "command", why));
    if text.trim().is_empty() {
        return bad("must not be empty".into());
    }
    let argv = if shell {
        vec!["sh".to_owned(), "-c".to_owned(), text.clone()]
    } else {
        match shlex::split(text) {
            Some(argv) if !argv.is_empty() => argv,
            _ => return bad(format!("{text:?} has an unclosed quote or a trailing \\")),
        }
    };
    Ok(ProbeKind::Command {
        line: text.clone(),
        argv,
        shell,
    })
}

impl Probes {
    /// Its keys as [`super::Config::to_toml`] writes them, reading back to the same.
    pub(super) fn to_toml(&self, out: &mut String) {
        for kind in &self.kinds {
            match kind {
                ProbeKind::Http { url, expect } => {
                    super::show::line(out, "http", &super::show::quote(url));
                    if let Some(expect) = expect {
                        super::show::line(out, "http_expect", &super::show::quote(expect));
                    }
                }
                ProbeKind::Tcp { addr } => super::show::line(out, "tcp", &super::show::quote(addr)),
                ProbeKind::Command { line, shell, .. } => {
                    super::show::line(out, "command", &super::show::quote(line));
                    if *shell {
                        super::show::line(out, "command_shell", "true");
                    }
                }
            }
        }
        super::show::line(
            out,
            "probe_timeout",
            &super::show::secs(self.timeout.as_secs_f64()),
        );
        if let Some(every) = self.every {
            super::show::line(out, "probe_every", &super::show::secs(every.as_secs_f64()));
        }
        super::show::line(out, "probe_fails", &self.fails.to_string());
        super::show::line(out, "probe_critical", &self.critical.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};
    use super::*;
    use std::path::Path;

    fn parse(body: &str) -> Result<Config, ConfigError> {
        Config::parse(
            &format!("[[process]]\nname = \"web\"\n{body}"),
            Path::new("/etc/hb/hbmon.toml"),
        )
    }

    #[test]
    fn probes_parse_with_their_defaults() {
        let config = parse(
            "http = \"http://127.0.0.1:8080/health\"\nhttp_expect = \"ok\"\n\
             tcp = \"[::1]:5432\"\ncommand = \"pg_isready -q -d 'my db'\"\n",
        )
        .unwrap();
        let probes = config.processes[0].probes.clone().unwrap();
        assert_eq!(
            probes.kinds,
            [
                ProbeKind::Http {
                    url: "http://127.0.0.1:8080/health".into(),
                    expect: Some("ok".into())
                },
                ProbeKind::Tcp {
                    addr: "[::1]:5432".into()
                },
                ProbeKind::Command {
                    line: "pg_isready -q -d 'my db'".into(),
                    argv: vec![
                        "pg_isready".into(),
                        "-q".into(),
                        "-d".into(),
                        "my db".into()
                    ],
                    shell: false
                },
            ]
        );
        assert_eq!(
            (probes.timeout, probes.every, probes.fails, probes.critical),
            (PROBE_TIMEOUT, None, PROBE_FAILS, false)
        );
        let shell = parse("command = \"test -e /x && true\"\ncommand_shell = true\n").unwrap();
        let Some(ProbeKind::Command { argv, .. }) = shell.processes[0]
            .probes
            .as_ref()
            .map(|p| p.kinds[0].clone())
        else {
            panic!("no command");
        };
        assert_eq!(argv, ["sh", "-c", "test -e /x && true"]);
        assert!(parse("").unwrap().processes[0].probes.is_none());
    }

    #[test]
    fn probe_keys_read_back_from_the_shown_config() {
        let config = parse(
            "http = \"https://example.com/\"\ncommand = \"true\"\ncommand_shell = true\n\
             probe_timeout = \"2s\"\nprobe_every = \"10s\"\nprobe_fails = 3\nprobe_critical = true\n",
        )
        .unwrap();
        let shown = config.to_toml();
        let again = Config::parse(&shown, Path::new("x")).unwrap();
        assert_eq!(
            again.processes[0].probes, config.processes[0].probes,
            "{shown}"
        );
    }

    /// Each bad probe key is one line naming the file, line 3 and the key.
    #[test]
    fn bad_probe_keys_are_one_line_naming_line_and_key() {
        let cases = [
            (
                "http = \"ftp://x/\"",
                "http",
                "is not an http:// or https:// URL",
            ),
            ("http = \"http:///health\"", "http", "has no host"),
            ("http = \"http://a b/\"", "http", "is not a valid URL"),
            ("http_expect = \"ok\"", "http_expect", "needs http"),
            ("tcp = \"localhost\"", "tcp", "is not host:port"),
            ("tcp = \":80\"", "tcp", "has no host"),
            ("tcp = \"db:99999\"", "tcp", "has no port from 1 to 65535"),
            ("tcp = \"db:0\"", "tcp", "has no port"),
            ("command = \"  \"", "command", "must not be empty"),
            ("command = \"echo 'open\"", "command", "unclosed quote"),
            ("command_shell = true", "command_shell", "needs command"),
            (
                "probe_fails = 3",
                "probe_fails",
                "applies only with a probe",
            ),
            (
                "tcp = \"db:1\"\nprobe_fails = 0",
                "probe_fails",
                "at least 1",
            ),
            (
                "tcp = \"db:1\"\nprobe_timeout = \"0s\"",
                "probe_timeout",
                "greater than zero",
            ),
            (
                "tcp = \"db:1\"\nprobe_timeout = \"6m\"",
                "probe_timeout",
                "at most 5m",
            ),
            (
                "tcp = \"db:1\"\nprobe_every = 0",
                "probe_every",
                "greater than zero",
            ),
        ];
        for (body, key, message) in cases {
            let shown = parse(body).unwrap_err().to_string();
            let line = 3 + body.lines().count() - 1;
            assert!(
                shown.starts_with(&format!("/etc/hb/hbmon.toml:{line}: {key}: ")),
                "{body}: {shown}"
            );
            assert!(shown.contains(message) && !shown.contains('\n'), "{shown}");
        }
    }
}
