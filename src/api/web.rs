//! The web dashboard: the files of `web/` at the repository's root, in the binary
//! (`include_str!`: no network, no build step), served at `/` and `/assets/FILE`. Every
//! reply forbids inline script and any source but this server (`Content-Security-Policy`),
//! so no text a writer chose can run, even if a page put it into markup by mistake. The
//! asset URLs carry a version (a hash of the files), so a browser may keep them for good;
//! `/` itself, which holds the session's token, is never kept.

use std::sync::OnceLock;

use super::Api;
use crate::http::{Request, Response};

/// One file the browser loads.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    text: &'static str,
}

/// Every asset. The page is `index.html`, the rest is `/assets/…`.
const ASSETS: &[Asset] = &[
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        text: include_str!("../../web/style.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../../web/app.js"),
    },
    Asset {
        name: "overview.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../../web/overview.js"),
    },
    Asset {
        name: "process.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../../web/process.js"),
    },
    Asset {
        name: "history.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../../web/history.js"),
    },
    Asset {
        name: "send.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../../web/send.js"),
    },
];

const INDEX: &str = include_str!("../../web/index.html");

/// Only this server's own files run, load and are fetched; no inline script or style, no
/// plugin, no frame around it, no form sent anywhere. `img-src data:` is the favicon the
/// page draws.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                       form-action 'none'; frame-ancestors 'none'";

/// The version in the asset URLs: FNV-1a over every asset, in hex.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in ASSETS.iter().flat_map(|a| a.text.bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    })
}

/// The headers every reply of the dashboard has.
fn secured(reply: Response, cache: &'static str) -> Response {
    reply
        .with_header("Content-Security-Policy", CSP)
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("X-Frame-Options", "DENY")
        .with_header("Referrer-Policy", "same-origin")
        .with_header("Cache-Control", cache)
}

impl Api {
    /// `/`: the page, with the asset version and this session's token in it.
    pub(super) fn dashboard(&self) -> Response {
        let page = INDEX
            .replace("{{version}}", version())
            .replace("{{token}}", self.session.token().unwrap_or_default());
        secured(Response::ok("text/html; charset=utf-8", page), "no-store")
    }
}

/// `/assets/FILE`: kept for good when asked for by the current version (`?v=`), else
/// looked at again each time.
pub(super) fn asset(name: &str, request: &Request) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        let names: Vec<_> = ASSETS.iter().map(|a| a.name).collect();
        return Response::line(
            404,
            format!("no asset {name:?}: there are {}", names.join(", ")),
        );
    };
    let current = (request.query.iter()).any(|(k, v)| k == "v" && v == version());
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let reply = Response::ok(asset.content_type, asset.text.to_owned())
        .with_header("ETag", format!("\"{}\"", version()));
    secured(reply, cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_every_asset_by_its_version_and_runs_no_inline_script() {
        for asset in ASSETS {
            let url = format!("/assets/{}?v={{{{version}}}}", asset.name);
            assert!(INDEX.contains(&url), "index.html loads {url}");
        }
        // Every <script> has a src: the policy would refuse an inline one anyway.
        for script in INDEX.split("<script").skip(1) {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(tag.contains("src="), "<script{tag}>");
        }
        assert!(!INDEX.contains("style="), "no inline style");
        assert!(!CSP.contains("unsafe"), "{CSP}");
        // No writer's text goes in as markup.
        for asset in ASSETS {
            assert!(!asset.text.contains("innerHTML"), "{}", asset.name);
            assert!(!asset.text.contains("outerHTML"), "{}", asset.name);
            assert!(!asset.text.contains("insertAdjacentHTML"), "{}", asset.name);
            assert!(!asset.text.contains("document.write"), "{}", asset.name);
            assert!(!asset.text.contains("eval("), "{}", asset.name);
        }
    }
}
