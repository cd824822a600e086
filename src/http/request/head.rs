//! A request's head as this server takes it: tokenized by `httparse` (request line and
//! header lines), then the headers that matter here, the target's path segments and query
//! percent-decoded (`percent-encoding`), and the signs of a browser (`browser.rs`).

use std::borrow::Cow;

use super::{MAX_BODY, RequestError, browser};

/// What the head says, before the body is read.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Head {
    pub(super) method: String,
    pub(super) path: Vec<String>,
    pub(super) query: Vec<(String, String)>,
    /// The host the request is for; `None` when it names none (an empty `Host` is none
    /// too, as RFC 9112 has a client send for a target without one).
    pub(super) host: Option<String>,
    pub(super) content_length: usize,
    pub(super) expect_continue: bool,
    pub(super) browser: Option<&'static str>,
    /// A page of this server sent it (`browser.rs`).
    pub(super) same_origin: bool,
    /// `X-Hbmon-Token`, as sent.
    pub(super) token: Option<String>,
    /// `If-Match`, as sent: the version a write is made against.
    pub(super) if_match: Option<String>,
    /// The token of `Authorization: Bearer TOKEN`.
    pub(super) bearer: Option<String>,
}

/// The head (without the blank line that ends it) read by `httparse`, which decides what is
/// a well-formed request line and header; what the server makes of them (the headers that
/// matter here, the target, the browser's signs) is decided here.
pub(super) fn parse_head(head: &[u8]) -> Result<Head, RequestError> {
    let text = std::str::from_utf8(head)
        .map_err(|_| RequestError::Malformed("the head is not UTF-8".into()))?;
    // httparse takes a head only with the blank line that ends it.
    let whole = [head, b"\r\n\r\n"].concat();
    // Room for as many headers as the head has lines: a fixed number would refuse a head
    // of many short headers that the size limit (MAX_HEAD) lets through.
    let mut headers = vec![httparse::EMPTY_HEADER; text.lines().count()];
    let mut parsed = httparse::Request::new(&mut headers);
    let (method, target) = match parsed.parse(&whole) {
        Ok(httparse::Status::Complete(_)) => (
            parsed.method.unwrap_or_default(),
            parsed.path.unwrap_or_default(),
        ),
        // Nothing but blank lines (which may come before a request line, RFC 9112, 2.2):
        // httparse waits for more.
        Ok(httparse::Status::Partial) => return Err(not_a_request_line("")),
        Err(_) => return Err(refusal(text, &parsed)),
    };
    let (authority, path, query) = parse_target(target)?;

    let mut host: Option<&str> = None;
    let mut content_length: Option<u64> = None;
    let mut expect_continue = false;
    let mut if_match = None;
    let mut token = None;
    let mut bearer = None;
    let mut signs = browser::Signs::default();
    for header in parsed.headers.iter() {
        // httparse took only visible ASCII, tabs and bytes of 0x80 and more, from UTF-8 text.
        let value = std::str::from_utf8(header.value)
            .map_err(|_| RequestError::Malformed("the head is not UTF-8".into()))?;
        let name = header.name.to_ascii_lowercase();
        signs.header(&name, value);
        match name.as_str() {
            "content-length" => {
                let length = value
                    .parse::<u64>()
                    .ok()
                    .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        RequestError::Malformed(format!("bad Content-Length {value:?}"))
                    })?;
                if content_length.is_some_and(|l| l != length) {
                    return Err(RequestError::Malformed(
                        "conflicting Content-Length headers".into(),
                    ));
                }
                content_length = Some(length);
            }
            // Two could name two hosts; RFC 9112 (3.2) asks for a 400.
            "host" if host.is_some() => {
                return Err(RequestError::Malformed("more than one Host header".into()));
            }
            "host" => host = Some(value),
            "transfer-encoding" => return Err(RequestError::LengthRequired),
            "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
            "if-match" => if_match = Some(value.to_owned()),
            "x-hbmon-token" => token = Some(value.to_owned()),
            "authorization" => bearer = bearer_token(value),
            _ => {}
        }
    }
    let host = authority.or(host).filter(|host| !host.is_empty());
    let judged = signs.judge(host)?;
    let content_length = content_length.unwrap_or(0);
    if content_length > MAX_BODY as u64 {
        return Err(RequestError::BodyTooLarge(content_length));
    }
    Ok(Head {
        method: method.to_owned(),
        path,
        query,
        host: host.map(str::to_owned),
        content_length: content_length as usize,
        expect_continue,
        browser: judged.browser,
        same_origin: judged.same_origin,
        token,
        if_match,
        bearer,
    })
}

/// The token of an `Authorization` header of the Bearer scheme (RFC 6750; its name in any
/// case); another scheme carries none.
fn bearer_token(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

fn not_a_request_line(line: &str) -> RequestError {
    RequestError::Malformed(format!("{line:?} is not METHOD TARGET HTTP/1.1"))
}

/// Why httparse refused the head `text`, said of the part at fault. httparse tells only the
/// kind of byte it stopped at, and how far into the request line it got (the method and
/// target it had parsed are left set), so the line is looked at again here, and each header
/// line is given to httparse alone to find the one at fault.
fn refusal(text: &str, parsed: &httparse::Request) -> RequestError {
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .skip_while(|l| l.is_empty());
    let request_line = lines.next().unwrap_or_default();
    let malformed = RequestError::Malformed;
    let [method, target, version] = request_line.split(' ').collect::<Vec<_>>()[..] else {
        return not_a_request_line(request_line);
    };
    if parsed.method.is_none() {
        return malformed(format!("bad method {method:?}"));
    }
    if parsed.path.is_none() {
        return malformed(format!("bad request target {target:?}"));
    }
    match version {
        "HTTP/1.1" | "HTTP/1.0" => {}
        v if v.starts_with("HTTP/") => return RequestError::Version(v.to_owned()),
        v => return malformed(format!("bad HTTP version {v:?}")),
    }
    for line in lines {
        let alone = [line.as_bytes(), b"\r\n\r\n"].concat();
        let mut header = [httparse::EMPTY_HEADER];
        match httparse::parse_headers(&alone, &mut header) {
            Ok(_) => {}
            Err(httparse::Error::HeaderName) if line.starts_with([' ', '\t']) => {
                return malformed("folded header lines are not allowed".into());
            }
            Err(httparse::Error::HeaderName) => {
                return malformed(match line.split_once(':') {
                    Some((name, _)) => format!("bad header name {name:?}"),
                    None => format!("header line {line:?} has no colon"),
                });
            }
            Err(_) => {
                let name = line.split_once(':').map_or(line, |(name, _)| name);
                return malformed(format!(
                    "the {name:?} header has a control character in its value"
                ));
            }
        }
    }
    // What no line shows by itself: the request line seen as a whole.
    not_a_request_line(request_line)
}

type Target<'a> = (Option<&'a str>, Vec<String>, Vec<(String, String)>);

/// The authority of an absolute target, the path's decoded segments and the query's
/// decoded pairs. The absolute form a proxy sends (`http://host:port/path`) is taken too,
/// as RFC 9112 asks of a server.
fn parse_target(target: &str) -> Result<Target<'_>, RequestError> {
    let (authority, origin_form) = match ["http://", "https://"]
        .iter()
        .find_map(|scheme| target.strip_prefix(scheme))
    {
        Some(rest) => match rest.find('/') {
            Some(i) => (Some(&rest[..i]), &rest[i..]),
            None => (Some(rest), "/"),
        },
        None => (None, target),
    };
    let Some(path) = origin_form.strip_prefix('/') else {
        return Err(RequestError::Malformed(format!(
            "the target {target:?} does not start with /"
        )));
    };
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let segments = path
        .split('/')
        .map(|s| decode(s, false))
        .collect::<Result<_, _>>()?;
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(key, true)?, decode(value, true)?))
        })
        .collect::<Result<_, _>>()?;
    Ok((authority, segments, pairs))
}

/// Percent-decodes `text`; in a query (`plus_is_space`) `+` is a space, as forms send it.
/// A `%` not followed by two hex digits is refused: `percent-encoding` would keep it as it
/// is, and a client that sent one meant something else than what would be written.
fn decode(text: &str, plus_is_space: bool) -> Result<String, RequestError> {
    let well_formed = text.split('%').skip(1).all(|after| {
        after
            .as_bytes()
            .get(..2)
            .is_some_and(|digits| digits.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return Err(RequestError::Malformed(format!(
            "bad percent-encoding in {text:?}"
        )));
    }
    // Before decoding, so that an encoded `%2B` stays a plus.
    let spaced = if plus_is_space {
        Cow::Owned(text.replace('+', " "))
    } else {
        Cow::Borrowed(text)
    };
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| RequestError::Malformed(format!("{text:?} is not UTF-8 once decoded")))
}
#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A request line, and the method, path segments and query it parses to.
    type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

    #[test]
    fn request_lines_and_targets() {
        let ok: &[Case] = &[
            ("GET / HTTP/1.1", "GET", &[""], &[]),
            ("GET /status HTTP/1.1", "GET", &["status"], &[]),
            (
                "HEAD /status/web-1 HTTP/1.0",
                "HEAD",
                &["status", "web-1"],
                &[],
            ),
            (
                "GET /ping/my%20job HTTP/1.1",
                "GET",
                &["ping", "my job"],
                &[],
            ),
            (
                "GET /ping/a%2Fb/fail HTTP/1.1",
                "GET",
                &["ping", "a/b", "fail"],
                &[],
            ),
            ("GET /ping/a+b HTTP/1.1", "GET", &["ping", "a+b"], &[]),
            (
                "GET /ping/%41%7a?msg=a%2bb%2B%0a HTTP/1.1",
                "GET",
                &["ping", "Az"],
                &[("msg", "a+b+\n")],
            ),
            (
                "GET /ping/caf%C3%A9 HTTP/1.1",
                "GET",
                &["ping", "café"],
                &[],
            ),
            (
                "POST /ping/x?interval=30s&kind=job HTTP/1.1",
                "POST",
                &["ping", "x"],
                &[("interval", "30s"), ("kind", "job")],
            ),
            (
                "GET /ping/x?status=error&msg=disk+full%21 HTTP/1.1",
                "GET",
                &["ping", "x"],
                &[("status", "error"), ("msg", "disk full!")],
            ),
            (
                "GET /ping/x?stopped&&a=b=c HTTP/1.1",
                "GET",
                &["ping", "x"],
                &[("stopped", ""), ("a", "b=c")],
            ),
            ("GET /status/ HTTP/1.1", "GET", &["status", ""], &[]),
            (
                "GET http://127.0.0.1:4266/metrics?x=1 HTTP/1.1",
                "GET",
                &["metrics"],
                &[("x", "1")],
            ),
            ("GET http://127.0.0.1:4266 HTTP/1.1", "GET", &[""], &[]),
        ];
        for &(line, method, path, query) in ok {
            let head = parse_head(format!("{line}\r\nHost: h").as_bytes())
                .unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(head.method, method, "{line}");
            assert_eq!(head.path, strings(path), "{line}");
            assert_eq!(head.query, pairs(query), "{line}");
        }
    }

    #[test]
    fn malformed_heads_are_refused_with_their_status() {
        let bad: &[(&str, u16, &str)] = &[
            ("", 400, "is not METHOD TARGET"),
            ("GET /", 400, "is not METHOD TARGET"),
            ("GET  / HTTP/1.1", 400, "is not METHOD TARGET"),
            ("GET / HTTP/1.1 extra", 400, "is not METHOD TARGET"),
            ("G(T / HTTP/1.1", 400, "bad method"),
            ("GET status HTTP/1.1", 400, "does not start with /"),
            ("GET / HTTP/2.0", 505, "HTTP/2.0 is not supported"),
            ("GET / SPDY/3", 400, "bad HTTP version"),
            (
                "GET /ping/%zz HTTP/1.1",
                400,
                "bad percent-encoding in \"%zz\"",
            ),
            ("GET /ping/a% HTTP/1.1", 400, "bad percent-encoding"),
            ("GET /ping/a%4 HTTP/1.1", 400, "bad percent-encoding"),
            (
                "GET /ping/x?msg=a%+Ab HTTP/1.1",
                400,
                "bad percent-encoding in \"a%+Ab\"",
            ),
            ("GET /ping/x?msg=%-1 HTTP/1.1", 400, "bad percent-encoding"),
            ("GET /ping/%+a HTTP/1.1", 400, "bad percent-encoding"),
            ("GET /ping/%0x HTTP/1.1", 400, "bad percent-encoding"),
            ("GET /ping/%%41 HTTP/1.1", 400, "bad percent-encoding"),
            ("GET /ping/%\u{e9}1 HTTP/1.1", 400, "bad percent-encoding"),
            ("GET /ping/%FF HTTP/1.1", 400, "is not UTF-8 once decoded"),
            ("GET /ping/x?msg=%e2%82 HTTP/1.1", 400, "is not UTF-8"),
            ("GET / HTTP/1.1\r\nHost h", 400, "has no colon"),
            ("GET / HTTP/1.1\r\n h: v", 400, "folded"),
            ("GET / HTTP/1.1\r\nBad Name: v", 400, "bad header name"),
            (
                "POST / HTTP/1.1\r\nContent-Length: -1",
                400,
                "bad Content-Length",
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: +5",
                400,
                "bad Content-Length",
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2",
                400,
                "conflicting",
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 67108865",
                413,
                "67108865 bytes",
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked",
                411,
                "Content-Length",
            ),
            (
                "GET / HTTP/1.1\r\nHost: localhost\r\nhost: evil.example",
                400,
                "more than one Host header",
            ),
            (
                "GET / HTTP/1.1\r\nOrigin: https://evil.example",
                403,
                "web page",
            ),
            (
                "GET / HTTP/1.1\r\nSec-Fetch-Site: cross-site",
                403,
                "web page",
            ),
            (
                "GET / HTTP/1.1\r\nsec-fetch-site: same-site",
                403,
                "web page",
            ),
            // Same origin by its word, but no host to be the same origin of.
            (
                "GET / HTTP/1.1\r\nOrigin: http://127.0.0.1:4266",
                403,
                "its Origin is another origin",
            ),
            (
                "GET /status HTTP/1.1\r\nHost: 127.0.0.1:4266\r\nReferer: http://evil.example/",
                403,
                "a web page sent this request (its Referer is another origin)",
            ),
            (
                "GET /ping/x HTTP/1.1\r\nReferer: http://127.0.0.1:4266/\r\nHost: 127.0.0.1:4267",
                403,
                "Referer is another origin",
            ),
        ];
        for &(head, status, message) in bad {
            let err = parse_head(head.as_bytes()).unwrap_err();
            assert_eq!(err.status(), status, "{head:?}: {err}");
            assert!(err.to_string().contains(message), "{head:?}: {err}");
        }
    }

    #[test]
    fn headers_that_matter_are_read() {
        let head = parse_head(
            b"\r\nPOST /ping/x HTTP/1.1\r\nHost: h\r\ncontent-length:  12 \r\nExpect: 100-Continue\r\n\
              Content-Length: 12\r\nSec-Fetch-Site: none",
        )
        .unwrap();
        assert_eq!(head.content_length, 12);
        assert!(head.expect_continue);
        let head = parse_head(b"GET / HTTP/1.0").unwrap();
        assert_eq!((head.content_length, head.expect_continue), (0, false));
    }

    #[test]
    fn control_characters_httparse_refuses_are_a_400_naming_where() {
        // Taken as they were by the hand-written parser; refused as RFC 9110 (5.5) and
        // RFC 9112 (2.2, 3.2) allow: a bare CR is invalid, other controls in a field value
        // or a target are not field or URI characters.
        let bad: &[(&str, &str)] = &[
            (
                "GET / HTTP/1.1\r\nX-Note: a\u{1b}[2Jb",
                "the \"X-Note\" header has a control character in its value",
            ),
            (
                "GET / HTTP/1.1\r\nHost: h\r\nX-Note: a\rb",
                "the \"X-Note\" header has a control character",
            ),
            (
                "GET /ping/a\u{1}b HTTP/1.1",
                "bad request target \"/ping/a\\u{1}b\"",
            ),
            ("GET /ping/a\u{7f} HTTP/1.1", "bad request target"),
            ("GET /ping/a\tb HTTP/1.1", "bad request target"),
        ];
        for &(head, message) in bad {
            let err = parse_head(head.as_bytes()).unwrap_err();
            assert_eq!(err.status(), 400, "{head:?}: {err}");
            assert!(err.to_string().contains(message), "{head:?}: {err}");
        }
        // A tab inside a value, and bytes past ASCII, are field content.
        let head = "GET / HTTP/1.1\r\nUser-Agent: a\tb\r\nX-Name: caf\u{e9}";
        assert!(parse_head(head.as_bytes()).is_ok());
    }

    #[test]
    fn a_head_of_many_short_headers_is_read_whole() {
        // What fits in MAX_HEAD: httparse gets room for a header on every line.
        let many = "X-A: b\r\n".repeat(1000);
        let head = format!("POST /ping/x HTTP/1.1\r\n{many}Content-Length: 7");
        assert!(head.len() < super::super::MAX_HEAD);
        assert_eq!(parse_head(head.as_bytes()).unwrap().content_length, 7);
    }
}
