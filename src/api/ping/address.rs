//! Which process a ping URL names besides `/ping/NAME`: `/ping/<uuid>` and
//! `/ping/<ping-key>/<slug>` (healthchecks.io), `/api/push/<token>` (Uptime Kuma), from the
//! config `hbmon serve` started with. A key, a UUID and a token are secrets of a kind
//! (whoever has one may ping), so they are compared in constant time: a reply's timing
//! does not tell how much of a guess was right.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::config::Config;

/// What a path segment keeps as it is: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One configured process's ways to be named.
#[derive(Debug, Clone)]
struct Ids {
    name: String,
    uuid: Option<String>,
    slug: String,
    push_token: Option<String>,
}

/// The ping URLs' keys of every configured process, and the project's ping key.
#[derive(Debug, Clone, Default)]
pub struct Addresses {
    ping_key: Option<String>,
    processes: Vec<Ids>,
}

impl Addresses {
    pub fn new(config: &Config) -> Addresses {
        Addresses {
            ping_key: config.serve.ping_key.clone(),
            processes: (config.processes.iter())
                .map(|p| Ids {
                    name: p.name.clone(),
                    uuid: p.ping.uuid.clone(),
                    slug: p.slug().to_owned(),
                    push_token: p.ping.push_token.clone(),
                })
                .collect(),
        }
    }

    /// Whether `segment` is the ping key (`[serve] ping_key`); never without one.
    pub fn is_key(&self, segment: &str) -> bool {
        self.ping_key
            .as_deref()
            .is_some_and(|key| same(key, segment))
    }

    /// The process whose `uuid` is `uuid` (hyphenated, lower case).
    pub fn by_uuid(&self, uuid: &str) -> Option<&str> {
        self.find(|ids| ids.uuid.as_deref().is_some_and(|id| same(id, uuid)))
    }

    /// The process whose slug (`slug`, else its name) is `slug`.
    pub fn by_slug(&self, slug: &str) -> Option<&str> {
        self.find(|ids| ids.slug == slug)
    }

    /// Whether a configured process is called `name`.
    pub fn is_configured(&self, name: &str) -> bool {
        self.processes.iter().any(|ids| ids.name == name)
    }

    /// The process whose `push_token` is `token`.
    pub fn by_push_token(&self, token: &str) -> Option<&str> {
        self.find(|ids| ids.push_token.as_deref().is_some_and(|t| same(t, token)))
    }

    /// The paths configured process `name` is pinged by besides `/ping/NAME`, by kind:
    /// `uuid` (`/ping/<uuid>`), `slug` (`/ping/<ping-key>/<slug>`, given a ping key) and
    /// `push` (`/api/push/<token>`, Uptime Kuma's); `None` for a process not configured.
    /// Each holds a secret that pings without a token: the API shows them only to a
    /// request that may write (`processes.rs`), which could set them anyway.
    pub fn paths_of(&self, name: &str) -> Option<Value> {
        let ids = self.processes.iter().find(|ids| ids.name == name)?;
        let mut paths = Map::new();
        // Each part one path segment, as the router decodes it: a slug is the name unless
        // given, and a name may hold a space, `/`, `?` or `#`.
        let seg = |text: &str| utf8_percent_encode(text, SEGMENT).to_string();
        if let Some(uuid) = &ids.uuid {
            paths.insert("uuid".to_owned(), format!("/ping/{}", seg(uuid)).into());
        }
        if let Some(key) = &self.ping_key {
            paths.insert(
                "slug".to_owned(),
                format!("/ping/{}/{}", seg(key), seg(&ids.slug)).into(),
            );
        }
        if let Some(token) = &ids.push_token {
            paths.insert(
                "push".to_owned(),
                format!("/api/push/{}", seg(token)).into(),
            );
        }
        Some(Value::Object(paths))
    }

    /// The name of the process `matches` takes, asking every one: how long the search
    /// takes does not depend on where (or whether) it is found.
    fn find(&self, matches: impl Fn(&Ids) -> bool) -> Option<&str> {
        let mut found = None;
        for ids in &self.processes {
            if matches(ids) && found.is_none() {
                found = Some(ids.name.as_str());
            }
        }
        found
    }
}

/// `/ping/SEGMENT` is the UUID form when SEGMENT is a UUID as healthchecks.io writes one:
/// 36 characters, hyphenated; returned in lower case. Any other spelling (32 digits, braces)
/// stays a name, as a name could be spelled so.
pub fn uuid_form(segment: &str) -> Option<String> {
    let hyphens = [8, 13, 18, 23];
    let hyphenated = segment.len() == 36
        && (segment.bytes().enumerate()).all(|(i, b)| (b == b'-') == hyphens.contains(&i));
    hyphenated
        .then(|| uuid::Uuid::try_parse(segment).ok())
        .flatten()
        .map(|id| id.hyphenated().to_string())
}

/// `a == b` in time that depends on their lengths only.
fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses() -> Addresses {
        let config = Config::parse(
            "[serve]\nping_key = \"k3y\"\n\
             [[process]]\nname = \"backup\"\nuuid = \"5D8E1B0C-7A3F-4C92-8E61-0F2B9D4A7C15\"\n\
             push_token = \"tok\"\n\
             [[process]]\nname = \"db\"\nslug = \"db-main\"\n\
             [[process]]\nname = \"nightly backup/a?#%\"\n",
            std::path::Path::new("hbmon.toml"),
        )
        .unwrap();
        Addresses::new(&config)
    }

    #[test]
    fn each_key_finds_its_process_and_nothing_else_does() {
        let a = addresses();
        assert!(a.is_key("k3y"));
        for wrong in ["k3", "k3y ", "K3Y", ""] {
            assert!(!a.is_key(wrong), "{wrong:?}");
        }
        assert!(!Addresses::default().is_key(""), "no key, no key URLs");
        assert_eq!(
            a.by_uuid("5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15"),
            Some("backup")
        );
        assert_eq!(a.by_uuid("5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c16"), None);
        assert_eq!(a.by_slug("db-main"), Some("db"));
        assert_eq!(a.by_slug("backup"), Some("backup"), "the name is the slug");
        assert_eq!(a.by_slug("db"), None, "db has a slug of its own");
        assert!(a.is_configured("db") && !a.is_configured("db-main"));
        assert_eq!(a.by_push_token("tok"), Some("backup"));
        assert_eq!(a.by_push_token("to"), None);
    }

    #[test]
    fn a_configured_process_has_the_paths_its_keys_make_and_no_other() {
        let a = addresses();
        let cases = [
            (
                "backup",
                Some(serde_json::json!({
                    "uuid": "/ping/5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15",
                    "slug": "/ping/k3y/backup",
                    "push": "/api/push/tok",
                })),
            ),
            ("db", Some(serde_json::json!({"slug": "/ping/k3y/db-main"}))),
            // A slug that is the name: one segment, whatever the name holds.
            (
                "nightly backup/a?#%",
                Some(serde_json::json!({"slug": "/ping/k3y/nightly%20backup%2Fa%3F%23%25"})),
            ),
            ("db-main", None),
            ("never-configured", None),
        ];
        for (name, paths) in cases {
            assert_eq!(a.paths_of(name), paths, "{name}");
        }
        // Without a ping key there is no slug URL.
        let config = Config::parse(
            "[[process]]\nname = \"db\"\nslug = \"db-main\"\n",
            std::path::Path::new("hbmon.toml"),
        )
        .unwrap();
        assert_eq!(
            Addresses::new(&config).paths_of("db"),
            Some(serde_json::json!({}))
        );
    }

    #[test]
    fn only_a_hyphenated_uuid_is_the_uuid_form() {
        let cases = [
            (
                "5D8E1B0C-7A3F-4C92-8E61-0F2B9D4A7C15",
                Some("5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15"),
            ),
            ("5d8e1b0c7a3f4c928e610f2b9d4a7c15", None),
            ("{5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c15}", None),
            ("5d8e1b0c-7a3f-4c92-8e61-0f2b9d4a7c1g", None),
            ("5d8e1b0c-7a3f4-c92-8e61-0f2b9d4a7c15", None),
            ("backup", None),
        ];
        for (segment, form) in cases {
            assert_eq!(uuid_form(segment).as_deref(), form, "{segment}");
        }
    }
}
