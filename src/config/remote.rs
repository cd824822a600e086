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
