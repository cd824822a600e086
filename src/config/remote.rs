//! `[[remote]]`: another machine's `hbmon serve` that `hbmon status` (and `--remote`)
//! reads and shows beside this one's processes: its `url`, a `name` for the host column,
//! and the bearer token it wants (`token`, or `token_file`, read when it is used).

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::Fault;

/// One `[[remote]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    /// Its rows' host; `None`: the URL's host.
    pub name: Option<String>,
    /// Its base URL, `http://` or `https://`.
    pub url: String,
    pub token: Option<RemoteToken>,
}

/// Where a remote's token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteToken {
    /// `token = "…"`.
    Inline(String),
    /// `token_file = "…"`: read when the remote is asked, refused if others can read it.
    File(PathBuf),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRemote {
    url: Spanned<String>,
    name: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    token_file: Option<Spanned<PathBuf>>,
}

impl RawRemote {
    pub(super) fn validate(self) -> Result<RemoteConfig, Fault> {
        let url = self.url.get_ref();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err((
                self.url.span(),
                "url",
                format!("{url:?} is not an http:// or https:// URL"),
            ));
        }
        let token = match (self.token, self.token_file) {
            (Some(_), Some(file)) => {
                return Err((
                    file.span(),
                    "token_file",
                    "give token or token_file, not both".to_owned(),
                ));
            }
            (Some(t), None) => Some(RemoteToken::Inline(t.into_inner())),
            (None, Some(f)) => Some(RemoteToken::File(f.into_inner())),
            (None, None) => None,
        };
        if let Some(name) = &self.name
            && (name.get_ref().is_empty() || name.get_ref().chars().any(char::is_control))
        {
            return Err((
                name.span(),
                "name",
                "must be a non-empty name without control characters".to_owned(),
            ));
        }
        Ok(RemoteConfig {
            name: self.name.map(Spanned::into_inner),
            url: url.clone(),
            token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn remotes_and_the_dead_mans_url_are_checked_where_written() {
        // A config, and the start of its error (`None`: it is taken).
        let cases: &[(&str, Option<&str>)] = &[
            ("[[remote]]\nurl = \"https://box2:4266\"\n", None),
            (
                "[[remote]]\nurl = \"box2:4266\"\n",
                Some("hbmon.toml:2: url: \"box2:4266\" is not"),
            ),
            (
                "[[remote]]\nname = \"x\"\n",
                Some("hbmon.toml:1: url: missing field `url`"),
            ),
            (
                "[[remote]]\nurl = \"http://a\"\ntoken = \"t\"\ntoken_file = \"f\"\n",
                Some("hbmon.toml:4: token_file: give token or token_file, not both"),
            ),
            (
                "[[remote]]\nurl = \"http://a\"\nname = \"\"\n",
                Some("hbmon.toml:3: name: must be"),
            ),
            (
                "[[remote]]\nurl = \"http://a\"\nport = 1\n",
                Some("hbmon.toml:3: port: unknown key"),
            ),
            ("[serve]\nheartbeat_url = \"https://hc-ping.com/x\"\n", None),
            (
                "[serve]\nheartbeat_url = \"hc-ping.com/x\"\n",
                Some("hbmon.toml:2: heartbeat_url: "),
            ),
            (
                "[serve]\nheartbeat_every = \"500ms\"\n",
                Some("hbmon.toml:2: heartbeat_every: must be at least 1s"),
            ),
        ];
        for (text, error) in cases {
            let got = Config::parse(text, std::path::Path::new("hbmon.toml"));
            match (got, error) {
                (Ok(_), None) => {}
                (Err(e), Some(start)) => assert!(e.to_string().starts_with(start), "{text}: {e}"),
                (got, _) => panic!("{text}: {got:?}"),
            }
        }
    }

    #[test]
    fn remotes_are_shown_and_read_back_their_inline_token_hidden_unless_asked() {
        let text = "[[remote]]\nurl = \"https://box2:4266\"\nname = \"db box\"\n\
                    token = \"r3mote-s3cret\"\n\
                    [[remote]]\nurl = \"http://box3:4266\"\ntoken_file = \"box3.token\"\n\
                    [[remote]]\nurl = \"http://box4\"\n";
        let config = Config::parse(text, std::path::Path::new("hbmon.toml")).unwrap();
        let shown = config.to_toml();
        let again = Config::parse(&shown, std::path::Path::new("hbmon.toml")).unwrap();
        assert_eq!(again.remotes, config.remotes, "{shown}");
        assert_eq!(again.remotes.len(), 3);
        let hidden = config.show(crate::config::Secrets::Hidden);
        assert!(!hidden.contains("r3mote-s3cret"), "{hidden}");
        assert!(
            hidden.contains("token = \"…(hidden, 13 chars)\""),
            "{hidden}"
        );
        // A file's path is no secret.
        assert!(hidden.contains("token_file = \"box3.token\""), "{hidden}");
        assert!(hidden.contains("name = \"db box\""), "{hidden}");
    }

    #[test]
    fn the_shown_heartbeat_keys_read_back() {
        let config = Config::parse(
            "[serve]\nheartbeat_url = \"http://127.0.0.1:1/ping/x\"\nheartbeat_every = \"90s\"\n",
            std::path::Path::new("hbmon.toml"),
        )
        .unwrap();
        assert_eq!(config.serve.heartbeat_every(), 90.0);
        let again = Config::parse(&config.to_toml(), std::path::Path::new("hbmon.toml")).unwrap();
        assert_eq!(again.serve.heartbeat_url, config.serve.heartbeat_url);
        assert_eq!(again.serve.heartbeat_every, config.serve.heartbeat_every);
        let hidden = config.show(crate::config::Secrets::Hidden);
        assert!(!hidden.contains("/ping/x"), "{hidden}");
        // With a token after it, the keys are still [serve]'s, not the token's.
        let tokened = Config::parse(
            &format!("{}[[serve.token]]\nname = \"r\"\nsecret = \"s3cretS3cretS3cretS3cret\"\nscopes = [\"read\"]\n",
                "[serve]\nheartbeat_url = \"http://a/\"\n"),
            std::path::Path::new("hbmon.toml"),
        )
        .unwrap();
        let again = Config::parse(&tokened.to_toml(), std::path::Path::new("hbmon.toml")).unwrap();
        assert_eq!(again.serve.heartbeat_url.as_deref(), Some("http://a/"));
        let default = Config::parse(
            "[serve]\nheartbeat_url = \"http://a/\"\n",
            std::path::Path::new("hbmon.toml"),
        )
        .unwrap();
        assert_eq!(default.serve.heartbeat_every(), 60.0);
    }
}
