//! Reading the heartbeat file as a reader sees it: every entry decoded (or why it is not an
//! entry), without a lock, since writers replace the file atomically.

use std::path::Path;
use std::sync::Arc;

use super::{Entry, ParseError, RawDocument, StoreError};
use crate::fsafe;

/// Every entry of a heartbeat file, as a reader sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Entries in file order. Shared: a reader that keeps the last read ([`Decoded`]) hands
    /// the same entry to every report while its text does not change, and the reports' rows
    /// point at it instead of holding copies.
    pub entries: Vec<(String, Arc<Entry>)>,
    /// Entries that are not valid protocol entries: name and why. Shown, never dropped.
    pub invalid: Vec<(String, String)>,
}

/// What decoding one entry's raw JSON gave: the entry, or why it is not one.
pub(super) type Decoding = Result<Arc<Entry>, String>;

/// Decodes one entry's raw JSON.
pub(super) fn decode(raw: &str) -> Decoding {
    serde_json::from_str::<Entry>(raw)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

impl Snapshot {
    /// Parses a whole file's text. A name given more than once is its last entry, as for
    /// any JSON reader; the earlier ones are listed invalid, so that they are seen.
    pub fn parse(text: &str) -> Result<Snapshot, ParseError> {
        Snapshot::parse_using(text, |_, raw| decode(raw))
    }

    /// [`Snapshot::parse`], each entry that counts (the last of its name) decoded by
    /// `decode(name, raw JSON)`.
    fn parse_using(
        text: &str,
        mut decode: impl FnMut(&str, &str) -> Decoding,
    ) -> Result<Snapshot, ParseError> {
        let doc = RawDocument::parse(text)?;
        let mut last = std::collections::HashMap::new();
        for (i, (name, _)) in doc.entries().enumerate() {
            last.insert(name, i);
        }
        let mut snapshot = Snapshot::default();
        for (i, (name, raw)) in doc.entries().enumerate() {
            if last[name] != i {
                snapshot.invalid.push((
                    name.to_owned(),
                    "shadowed by a later entry of the same name".to_owned(),
                ));
                continue;
            }
            match decode(name, raw) {
                Ok(entry) => snapshot.entries.push((name.to_owned(), entry)),
                Err(e) => snapshot.invalid.push((name.to_owned(), e)),
            }
        }
        Ok(snapshot)
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find_map(|(n, e)| (n == name).then_some(&**e))
    }
}

/// Reads `path` without a lock (writers replace it atomically). A missing file is empty.
/// Never through a symlink, never a FIFO or device, never more than the size cap.
pub fn read(path: &Path) -> Result<Snapshot, StoreError> {
    read_using(path, |_, raw| decode(raw))
}

/// [`read`], each entry decoded by `decode` (see [`Snapshot::parse_using`]).
pub(super) fn read_using(
    path: &Path,
    decode: impl FnMut(&str, &str) -> Decoding,
) -> Result<Snapshot, StoreError> {
    let Some(text) = fsafe::read_regular(path)? else {
        return Ok(Snapshot::default());
    };
    let text = std::str::from_utf8(&text).map_err(|e| StoreError::Corrupt {
        path: path.to_owned(),
        reason: ParseError::Syntax(e.to_string()),
    })?;
    Snapshot::parse_using(text, decode).map_err(|reason| StoreError::Corrupt {
        path: path.to_owned(),
        reason,
    })
}
