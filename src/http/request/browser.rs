//! Whether a browser sent a request, told by the headers browsers add on their own and
//! command-line clients (curl, wget, a script's HTTP library) never send.
//!
//! Any page you visit can make your browser send a request to `127.0.0.1`: a form, an
//! `<img>`, a link. It cannot read the answer, but a ping writes (`?stopped` silences a
//! process). So a request a page sent (it says so: `Origin`, `Sec-Fetch-Site`, or a
//! `Referer` from another origin) is refused whatever it asks. An old browser's `<img>`
//! sends neither `Origin` nor `Sec-Fetch-*`, and a page can suppress its `Referer`; what it
//! cannot suppress is the browser in its other headers. A GET that carries one may read
//! (the address bar) but not write: from a browser a write must be a POST, which every
//! current browser marks with `Origin`.
//!
//! The one exception is serve's own dashboard: a request its browser marks as from the
//! same origin (`Sec-Fetch-Site: same-origin`, an `Origin` that is `http://HOST` for the
//! host it is for) is taken, to read; it writes only with the session's token
//! ([`Session`], `X-Hbmon-Token`), which only a page of this server was given.

use subtle::ConstantTimeEq;

use super::{Request, RequestError};

/// The header a dashboard page sends its session's token in.
pub const TOKEN_HEADER: &str = "X-Hbmon-Token";

/// The secret a running server gives the pages it serves, so that a write from one of
/// them is told from a write any other page on the same origin could not make: random
/// (`/dev/urandom`), held in memory only, new on every start.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// `None` when no randomness could be had: then no page may write.
    token: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token itself: a debug print could end up in a log.
        f.debug_struct("Session")
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Session {
    /// A new session of 32 random bytes, in hex; one without a token (no page writes) if
    /// `/dev/urandom` cannot be read.
    pub fn random() -> Session {
        use std::io::Read;
        let mut bytes = [0_u8; 32];
        let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
        if let Err(e) = &read {
            eprintln!("http: cannot read /dev/urandom ({e}): the dashboard will not write");
        }
        Session {
            token: read.ok().map(|()| {
                bytes.iter().fold(String::new(), |mut hex, b| {
                    use std::fmt::Write;
                    let _ = write!(hex, "{b:02x}");
                    hex
                })
            }),
        }
    }

    /// A session of a known token (tests).
    pub fn of(token: &str) -> Session {
        Session {
            token: Some(token.to_owned()),
        }
    }

    /// The token to give a page, if there is one.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Whether `given` is the token, compared in constant time (a byte-by-byte compare
    /// that stops early would tell a prober how much of a guess was right).
    fn admits(&self, given: Option<&str>) -> bool {
        match (&self.token, given) {
            (Some(token), Some(given)) => bool::from(token.as_bytes().ct_eq(given.as_bytes())),
            _ => false,
        }
    }
}

impl Request {
    /// Whether this request may write: a request from a page of this server (same
    /// origin) only with `session`'s token; else not a GET a browser sent, which any web
    /// page can make it send (an `<img>`); a browser's POST from elsewhere carries
    /// `Origin`, and was refused for it.
    pub fn may_write(&self, session: &Session) -> Result<(), RequestError> {
        if self.same_origin {
            return match self.token.as_deref() {
                None => Err(RequestError::NoToken),
                given if session.admits(given) => Ok(()),
                Some(_) => Err(RequestError::BadToken),
            };
        }
        match self.browser {
            Some(sign) if self.method != "POST" => Err(RequestError::BrowserWrite {
                method: self.method.clone(),
                sign,
            }),
            _ => Ok(()),
        }
    }
}

/// What the signs of a browser came to: the first header that shows one sent it, if one
/// does, and whether it said it came from a page of this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Judged {
    pub(super) browser: Option<&'static str>,
    pub(super) same_origin: bool,
}

/// What a request's headers said about a browser, gathered while its head is read.
#[derive(Debug, Default)]
pub(super) struct Signs {
    /// Why a web page sent it, from the first header that says so.
    page: Option<&'static str>,
    /// Every `Referer`, judged once the host the request is for is known.
    referers: Vec<String>,
    /// The first header only browsers send.
    browser: Option<&'static str>,
    /// Every `Origin`, judged once the host is known as a `Referer` is.
    origins: Vec<String>,
    /// `Sec-Fetch-Site: same-origin` was sent.
    fetch_same_origin: bool,
}

impl Signs {
    /// Notes header `name` (lower case) and its `value`.
    pub(super) fn header(&mut self, name: &str, value: &str) {
        let (page, browser) = match name {
            "origin" => {
                self.origins.push(value.to_owned());
                (None, Some("an Origin"))
            }
            // `none` is the user typing the URL: reading /metrics in a browser is fine.
            "sec-fetch-site" if value.eq_ignore_ascii_case("none") => (None, None),
            // A page of this server (the dashboard): judged with its Origin, if any.
            "sec-fetch-site" if value.eq_ignore_ascii_case("same-origin") => {
                self.fetch_same_origin = true;
                (None, Some("a same-origin Sec-Fetch-Site"))
            }
            // `same-site` is another port of this host: another origin all the same.
            "sec-fetch-site" => (
                Some("its Sec-Fetch-Site is neither none nor same-origin"),
                None,
            ),
            "referer" => {
                self.referers.push(value.to_owned());
                (None, Some("a Referer"))
            }
            // Node's `fetch` sends `*`; a browser sends the user's languages.
            "accept-language" if value != "*" => (None, Some("an Accept-Language")),
            "user-agent" if value.starts_with("Mozilla/") => {
                (None, Some("a browser's User-Agent (Mozilla/…)"))
            }
            "cookie" => (None, Some("a Cookie")),
            "upgrade-insecure-requests" | "dnt" | "sec-gpc" | "purpose" | "sec-purpose" => {
                (None, Some("a header only browsers send"))
            }
            n if n.starts_with("sec-ch-") => (None, Some("a browser's client hints (Sec-CH-…)")),
            _ => (None, None),
        };
        self.page = self.page.or(page);
        self.browser = self.browser.or(browser);
    }

    /// Refuses a request a web page of another origin sent: one with a `Sec-Fetch-Site`
    /// other than `none` or `same-origin`, or an `Origin` or a `Referer` whose origin is not
    /// `http://HOST` for the `host` it is for. Otherwise the first header that shows a
    /// browser sent it, if one does, and whether it is from a page of this server.
    pub(super) fn judge(self, host: Option<&str>) -> Result<Judged, RequestError> {
        if let Some(why) = self.page {
            return Err(RequestError::FromWebPage(why));
        }
        if self.origins.iter().any(|o| !same_origin(o, host)) {
            return Err(RequestError::FromWebPage("its Origin is another origin"));
        }
        if self.referers.iter().any(|r| !same_origin(r, host)) {
            return Err(RequestError::FromWebPage("its Referer is another origin"));
        }
        Ok(Judged {
            browser: self.browser,
            same_origin: self.fetch_same_origin || !self.origins.is_empty(),
        })
    }
}

/// Whether `referer` is a page of this server, reached by the name the request is for
/// (`host`, `NAME` or `NAME:PORT`): scheme `http` (serve has no TLS), the same host and
/// the same port, `:80` or none alike. With no host there is no origin to match.
fn same_origin(referer: &str, host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let scheme_ends = "http://".len();
    let Some(rest) = referer
        .get(..scheme_ends)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .and_then(|_| referer.get(scheme_ends..))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let default_port = |a: &str| a.strip_suffix(":80").unwrap_or(a).to_ascii_lowercase();
    !authority.is_empty() && default_port(authority) == default_port(host)
}

#[cfg(test)]
mod tests {
    use super::super::parse_head;
    use super::*;

    /// The signs of `headers` (name, value), judged for a request to `host`.
    fn judge(
        headers: &[(&str, &str)],
        host: Option<&str>,
    ) -> Result<Option<&'static str>, RequestError> {
        let mut signs = Signs::default();
        for (name, value) in headers {
            signs.header(&name.to_ascii_lowercase(), value);
        }
        signs.judge(host).map(|judged| judged.browser)
    }

    #[test]
    fn what_command_line_clients_send_shows_no_browser() {
        let clients: &[&[(&str, &str)]] = &[
            &[],
            &[("User-Agent", "curl/8.5.0"), ("Accept", "*/*")],
            &[
                ("User-Agent", "Wget/1.21.4"),
                ("Accept", "*/*"),
                ("Accept-Encoding", "identity"),
            ],
            &[
                ("User-Agent", "python-requests/2.31.0"),
                ("Accept-Encoding", "gzip, deflate"),
                ("Accept", "*/*"),
                ("Connection", "keep-alive"),
            ],
            &[("User-Agent", "Python-urllib/3.12")],
            &[("User-Agent", "Go-http-client/1.1")],
            // Node's fetch (undici).
            &[
                ("accept", "*/*"),
                ("accept-language", "*"),
                ("sec-fetch-mode", "cors"),
                ("user-agent", "node"),
                ("accept-encoding", "gzip, deflate"),
            ],
            // What the address bar adds, the user typing the URL (with the browser's
            // other headers, a GET there may read).
            &[("Sec-Fetch-Site", "none")],
        ];
        for headers in clients {
            assert_eq!(
                judge(headers, Some("127.0.0.1:4266")),
                Ok(None),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn a_page_is_refused_and_a_browser_is_named() {
        // Headers, and the refusal (`Err`) or browser sign (`Ok`) they come to, each by a
        // word of its message.
        type Case<'a> = (&'a [(&'a str, &'a str)], Result<Option<&'a str>, &'a str>);
        let host = Some("127.0.0.1:4266");
        let cases: &[Case] = &[
            (&[("Origin", "https://evil.example")], Err("Origin")),
            (&[("Origin", "null")], Err("Origin")),
            (&[("Sec-Fetch-Site", "cross-site")], Err("Sec-Fetch-Site")),
            (&[("sec-fetch-site", "same-site")], Err("Sec-Fetch-Site")),
            (&[("Origin", "http://127.0.0.1:4267")], Err("Origin")),
            (&[("Origin", "http://localhost:4266")], Err("Origin")),
            (
                &[
                    ("Sec-Fetch-Site", "same-origin"),
                    ("Origin", "http://evil.example"),
                ],
                Err("Origin"),
            ),
            // A page of this server (the dashboard): taken, as a browser.
            (
                &[("sec-fetch-site", "same-origin")],
                Ok(Some("same-origin")),
            ),
            (&[("Origin", "http://127.0.0.1:4266")], Ok(Some("Origin"))),
            (&[("Referer", "http://evil.example/page")], Err("Referer")),
            (&[("Referer", "https://127.0.0.1:4266/")], Err("Referer")),
            (&[("Referer", "http://127.0.0.1:4267/")], Err("Referer")),
            (&[("Referer", "http://localhost:4266/")], Err("Referer")),
            (
                &[("Referer", "http://127.0.0.1:4266.evil.example/")],
                Err("Referer"),
            ),
            (&[("Referer", "http://127.0.0.1/")], Err("Referer")),
            (&[("Referer", "not a url")], Err("Referer")),
            (&[("Referer", "http:///x")], Err("Referer")),
            (
                &[
                    ("Referer", "http://127.0.0.1:4266/"),
                    ("Referer", "http://evil.example/"),
                ],
                Err("Referer"),
            ),
            // Its own pages are the same origin: a browser, not a page elsewhere.
            (
                &[("Referer", "http://127.0.0.1:4266/status")],
                Ok(Some("Referer")),
            ),
            (
                &[("Referer", "HTTP://127.0.0.1:4266?x")],
                Ok(Some("Referer")),
            ),
            // An old browser's <img>: no Origin, no Sec-Fetch-*, no Referer.
            (
                &[
                    (
                        "User-Agent",
                        "Mozilla/5.0 (X11; Linux x86_64; rv:60.0) Gecko/20100101 Firefox/60.0",
                    ),
                    ("Accept", "*/*"),
                    ("Accept-Language", "en-US,en;q=0.5"),
                ],
                Ok(Some("User-Agent")),
            ),
            (&[("Accept-Language", "de")], Ok(Some("Accept-Language"))),
            (&[("Cookie", "a=b")], Ok(Some("Cookie"))),
            (
                &[("Sec-CH-UA", "\"Chromium\";v=\"120\"")],
                Ok(Some("Sec-CH")),
            ),
            (&[("DNT", "1")], Ok(Some("only browsers"))),
            (
                &[("Upgrade-Insecure-Requests", "1")],
                Ok(Some("only browsers")),
            ),
        ];
        for (headers, expected) in cases {
            let judged = judge(headers, host);
            match (expected, judged) {
                (Err(header), Err(e)) => {
                    assert_eq!(e.status(), 403, "{headers:?}");
                    assert!(e.to_string().contains(header), "{headers:?}: {e}");
                }
                (Ok(Some(header)), Ok(Some(sign))) => {
                    assert!(sign.contains(header), "{headers:?}: {sign}");
                }
                (expected, judged) => panic!("{headers:?}: {judged:?}, not {expected:?}"),
            }
        }
    }

    #[test]
    fn a_referer_matches_the_host_the_request_is_for() {
        assert!(same_origin(
            "http://localhost:4266/",
            Some("LocalHost:4266")
        ));
        assert!(same_origin("http://[::1]:4266/x", Some("[::1]:4266")));
        assert!(same_origin("http://box/x", Some("box:80")));
        assert!(same_origin("http://box:80/x", Some("box")));
        assert!(!same_origin("http://box:8080/x", Some("box")));
        assert!(!same_origin("http://127.0.0.1:4266/", None));
        assert!(!same_origin("http://", Some("")));
    }

    #[test]
    fn a_get_from_a_browser_may_read_but_not_write() {
        let old_browser = "GET /ping/x?stopped HTTP/1.1\r\nHost: 127.0.0.1:4266\r\n\
                           User-Agent: Mozilla/5.0 (Windows NT 6.1; rv:60.0) Firefox/60.0\r\n\
                           Accept: image/webp,*/*\r\nAccept-Language: en-US,en;q=0.5";
        let sign = parse_head(old_browser.as_bytes()).unwrap().browser;
        assert_eq!(sign, Some("a browser's User-Agent (Mozilla/…)"));
        let request = |method: &str, browser| Request {
            method: method.to_owned(),
            path: vec!["ping".to_owned(), "x".to_owned()],
            query: Vec::new(),
            body: Vec::new(),
            body_len: 0,
            browser,
            same_origin: false,
            token: None,
            peer: None,
            if_match: None,
            bearer: None,
        };
        let session = Session::of("secret");
        let refused = request("GET", sign).may_write(&session).unwrap_err();
        assert_eq!(refused.status(), 403);
        assert_eq!(
            refused.to_string(),
            "refused: this GET would write, and it has a browser's User-Agent (Mozilla/…), \
             which only browsers send: any web page can make a browser send a GET; ping with \
             POST (curl -d '' URL)"
        );
        assert_eq!(request("POST", sign).may_write(&session), Ok(()));
        assert_eq!(request("GET", None).may_write(&session), Ok(()));
        let curl = "GET /ping/x HTTP/1.1\r\nHost: 127.0.0.1:4266\r\nUser-Agent: curl/8.5.0\r\n\
                    Accept: */*";
        assert_eq!(parse_head(curl.as_bytes()).unwrap().browser, None);
        // A link on one of its own pages: the same origin, by the name the request is for.
        let own_page = "GET /status HTTP/1.1\r\nHost: localhost:4266\r\n\
                        Referer: http://localhost:4266/";
        assert_eq!(
            parse_head(own_page.as_bytes()).unwrap().browser,
            Some("a Referer")
        );
        let absolute = "GET http://localhost:4266/status HTTP/1.1\r\nHost: evil.example\r\n\
                        Referer: http://localhost:4266/";
        assert!(parse_head(absolute.as_bytes()).is_ok());
    }

    #[test]
    fn a_page_of_this_server_writes_only_with_the_sessions_token() {
        let session = Session::of("0123abcd");
        // The token sent, and whether a same-origin write (any method) is taken.
        let cases: &[(Option<&str>, Result<(), RequestError>)] = &[
            (Some("0123abcd"), Ok(())),
            (None, Err(RequestError::NoToken)),
            (Some(""), Err(RequestError::BadToken)),
            (Some("0123abce"), Err(RequestError::BadToken)),
            (Some("0123abcd0"), Err(RequestError::BadToken)),
            (Some("0123ABCD"), Err(RequestError::BadToken)),
        ];
        for method in ["POST", "DELETE", "PATCH"] {
            for (token, expected) in cases {
                let request = Request {
                    method: method.to_owned(),
                    path: vec!["api".to_owned()],
                    query: Vec::new(),
                    body: Vec::new(),
                    body_len: 0,
                    browser: Some("a same-origin Sec-Fetch-Site"),
                    same_origin: true,
                    token: token.map(str::to_owned),
                    peer: None,
                    if_match: None,
                    bearer: None,
                };
                assert_eq!(&request.may_write(&session), expected, "{method} {token:?}");
                if let Err(e) = expected {
                    assert_eq!(e.status(), 403);
                }
                // A server that could not make a token takes no page's write at all.
                let none = Session { token: None };
                assert!(request.may_write(&none).is_err(), "{method} {token:?}");
            }
        }
        assert!(!format!("{session:?}").contains("0123abcd"), "{session:?}");
        let random = Session::random();
        assert_eq!(random.token().map(str::len), Some(64));
        assert_ne!(random, Session::random(), "a new token on every start");
    }
}
