//! A reader that keeps its last read decoded: each entry's raw text beside what it decoded
//! to, so that a re-read of the file decodes only the entries whose text changed. A beat
//! rewrites one entry of thousands; the others come back byte for byte (writers splice,
//! never re-format them), and decoding them again was most of a re-read's cost.

use std::collections::HashMap;
use std::path::Path;

use super::StoreError;
use super::snapshot::{self, Decoding, Snapshot};

/// The entries of the last good read, by name: their raw JSON and its decoding. Holds only
/// the names of that read, so what a storm of names added goes with the next read.
#[derive(Debug, Default)]
pub struct Decoded {
    entries: HashMap<String, (Box<str>, Decoding)>,
    decodes: u64,
}

impl Decoded {
    /// Reads `path` as [`super::read`] does, decoding only entries whose text is not
    /// byte-identical to the same name's at the last good read. A read that fails keeps
    /// the last good one's decodings.
    pub fn read(&mut self, path: &Path) -> Result<Snapshot, StoreError> {
        let mut next: HashMap<String, (Box<str>, Decoding)> = HashMap::new();
        let (old, decodes) = (&self.entries, &mut self.decodes);
        let snapshot = snapshot::read_using(path, |name, raw| {
            let decoding = match old.get(name) {
                // Byte-identical text decodes to the same entry: no need to ask serde.
                Some((text, decoding)) if **text == *raw => decoding.clone(),
                _ => {
                    *decodes += 1;
                    snapshot::decode(raw)
                }
            };
            next.insert(name.to_owned(), (raw.into(), decoding.clone()));
            decoding
        })?;
        self.entries = next;
        Ok(snapshot)
    }

    /// How many entries were decoded since this reader began (a test's window on it).
    pub fn decodes(&self) -> u64 {
        self.decodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, entries: &[(&str, &str)]) {
        let body: Vec<String> = entries
            .iter()
            .map(|(name, raw)| format!("{name:?}: {raw}"))
            .collect();
        std::fs::write(path, format!("{{\"processes\": {{{}}}}}", body.join(", "))).unwrap();
    }

    /// A file's entries, the decodes its read should cost, and its `a`'s heartbeat.
    type Read<'a> = (&'a [(&'a str, &'a str)], u64, f64);

    #[test]
    fn an_entry_whose_text_did_not_change_is_not_decoded_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json");
        let (a, b) = (r#"{"last_heartbeat": 1}"#, r#"{"last_heartbeat": 2}"#);
        let mut reader = Decoded::default();
        // (entries, decodes expected by this read, a's heartbeat)
        let reads: [Read; 5] = [
            (&[("a", a), ("b", b)], 2, 1.0),
            (&[("a", a), ("b", b)], 0, 1.0),
            (&[("a", a), ("b", r#"{"last_heartbeat": 3}"#)], 1, 1.0),
            // Text that differs only in spacing is another text: decoded again.
            (&[("a", r#"{"last_heartbeat":  1}"#), ("b", b)], 2, 1.0),
            (&[("a", r#"{"last_heartbeat": 5}"#)], 1, 5.0),
        ];
        for (entries, expected, beat) in reads {
            write(&path, entries);
            let before = reader.decodes();
            let snapshot = reader.read(&path).unwrap();
            assert_eq!(reader.decodes() - before, expected, "{entries:?}");
            assert_eq!(snapshot.entries.len(), entries.len());
            assert_eq!(snapshot.get("a").unwrap().last_heartbeat, beat);
        }
        // Only the names of the last read are kept.
        assert_eq!(reader.entries.len(), 1);
    }

    #[test]
    fn an_invalid_entry_stays_invalid_without_being_decoded_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json");
        let mut reader = Decoded::default();
        for expected in [1, 0] {
            write(&path, &[("bad", r#"{"pid": 3}"#)]);
            let before = reader.decodes();
            let snapshot = reader.read(&path).unwrap();
            assert_eq!(reader.decodes() - before, expected);
            assert_eq!(snapshot.invalid.len(), 1, "{snapshot:?}");
        }
    }

    #[test]
    fn a_corrupt_read_keeps_the_last_good_decodings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json");
        let mut reader = Decoded::default();
        write(&path, &[("a", r#"{"last_heartbeat": 1}"#)]);
        reader.read(&path).unwrap();
        std::fs::write(&path, "{\"processes\": {").unwrap();
        assert!(reader.read(&path).is_err());
        write(&path, &[("a", r#"{"last_heartbeat": 1}"#)]);
        let before = reader.decodes();
        reader.read(&path).unwrap();
        assert_eq!(reader.decodes(), before);
    }
}
