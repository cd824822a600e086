//! The heartbeat file as text: the top level parsed, each entry kept as its raw JSON, so a
//! writer touches only its own entry and never re-parses or re-formats the others.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The protocol version this crate reads and writes.
pub const VERSION: u64 = 1;

/// A parsed heartbeat file whose entries are still JSON text borrowed from the file.
#[derive(Debug, Default)]
pub struct RawDocument<'a> {
    /// `processes`, in file order. Values are raw JSON text (borrowed, or owned once changed).
    pub processes: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Top-level keys other than `version`, `last_updated` and `processes`, kept as written.
    pub other: Vec<(Cow<'a, str>, &'a RawValue)>,
    /// The file's `version`, if it had one.
    pub version: Option<u64>,
}

/// Why a file's text is not a heartbeat document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    Syntax(String),
    #[error("protocol version {0} is newer than this hbmon (it reads version {VERSION})")]
    Version(u64),
}

impl<'a> RawDocument<'a> {
    /// Parses `text`; empty or all-whitespace text is an empty document.
    pub fn parse(text: &'a str) -> Result<Self, ParseError> {
        if text.trim().is_empty() {
            return Ok(RawDocument::default());
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let doc = de
            .deserialize_map(DocumentVisitor)
            .and_then(|doc| de.end().map(|()| doc))
            .map_err(|e| ParseError::Syntax(e.to_string()))?;
        match doc.version {
            Some(v) if v > VERSION => Err(ParseError::Version(v)),
            _ => Ok(doc),
        }
    }

    /// Index of the entry named `name` (the last one, as JSON readers take, if repeated).
    pub fn position(&self, name: &str) -> Option<usize> {
        self.processes.iter().rposition(|(n, _)| n == name)
    }

    /// The raw JSON of `name`'s entry.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.processes[i].1.as_ref())
    }

    /// Sets `name`'s entry to `json` in place, or appends it.
    pub fn set(&mut self, name: &str, json: String) {
        match self.position(name) {
            Some(i) => self.processes[i].1 = Cow::Owned(json),
            None => self
                .processes
                .push((Cow::Owned(name.to_owned()), Cow::Owned(json))),
        }
    }

    /// Removes every entry named `name`; true if there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.processes.len();
        self.processes.retain(|(n, _)| n != name);
        self.processes.len() != before
    }

    /// The whole document as pretty JSON, `last_updated` set to `now`. Entries keep the
    /// text they had; a rewritten entry is indented to sit at its place.
    pub fn to_json(&self, now: f64) -> String {
        let size: usize = self
            .processes
            .iter()
            .map(|(n, v)| n.len() + v.len() + 12)
            .sum();
        let mut out = String::with_capacity(size + 128);
        out.push_str("{\n  \"version\": ");
        out.push_str(&VERSION.to_string());
        out.push_str(",\n  \"last_updated\": ");
        out.push_str(&json_number(now));
        out.push_str(",\n  \"processes\": {");
        for (i, (name, value)) in self.processes.iter().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            push_json_string(&mut out, name);
            out.push_str(": ");
            out.push_str(value);
        }
        out.push_str(if self.processes.is_empty() {
            "}"
        } else {
            "\n  }"
        });
        for (key, value) in &self.other {
            out.push_str(",\n  ");
            push_json_string(&mut out, key);
            out.push_str(": ");
            out.push_str(value.get());
        }
        out.push_str("\n}\n");
        out
    }
}

/// Pretty JSON of one entry, indented to sit inside `processes`.
pub fn entry_json(entry: &impl serde::Serialize) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(entry)?.replace('\n', "\n    "))
}

fn json_number(x: f64) -> String {
    serde_json::Number::from_f64(x).map_or_else(|| "null".to_owned(), |n| n.to_string())
}

fn push_json_string(out: &mut String, s: &str) {
    // Serialising a &str to JSON cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// A map key, borrowed from the input when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = RawDocument<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with \"processes\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut doc = RawDocument::default();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match key.as_ref() {
                "processes" => doc.processes = map.next_value::<Processes<'de>>()?.0,
                "version" => doc.version = Some(map.next_value()?),
                "last_updated" => {
                    map.next_value::<de::IgnoredAny>()?;
                }
                _ => doc.other.push((key, map.next_value()?)),
            }
        }
        Ok(doc)
    }
}

struct Processes<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de> de::Deserialize<'de> for Processes<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ProcessesVisitor;
        impl<'de> Visitor<'de> for ProcessesVisitor {
            type Value = Processes<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"processes\" as an object of entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(Key(name)) = map.next_key::<Key<'de>>()? {
                    let raw: &'de RawValue = map.next_value()?;
                    out.push((name, Cow::Borrowed(raw.get())));
                }
                Ok(Processes(out))
            }
        }
        d.deserialize_map(ProcessesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_unknown_keys_and_untouched_entries_byte_for_byte() {
        let text = r#"{"version":1,"last_updated":1.5,"processes":{"a":{"last_heartbeat":1,"x":[1,2]},"b\u00e9":{"last_heartbeat":2}},"owner":{"team":"ops"}}"#;
        let doc = RawDocument::parse(text).unwrap();
        assert_eq!(doc.get("a"), Some(r#"{"last_heartbeat":1,"x":[1,2]}"#));
        assert_eq!(doc.get("bé"), Some(r#"{"last_heartbeat":2}"#));
        let out = doc.to_json(9.0);
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["owner"]["team"], "ops");
        assert_eq!(value["last_updated"], 9.0);
        assert_eq!(value["processes"]["a"]["x"][1], 2);
        assert!(out.contains(r#"{"last_heartbeat":1,"x":[1,2]}"#));
    }

    #[test]
    fn parsing_borrows_every_entry_instead_of_copying_it() {
        // The writer's cost per beat rests on this: other processes' entries are never
        // re-parsed, re-allocated or re-formatted, only copied into the output once.
        let text = r#"{"processes":{"a":{"last_heartbeat":1},"b":{"last_heartbeat":2}}}"#;
        let mut doc = RawDocument::parse(text).unwrap();
        doc.set("a", "{}".into());
        assert!(matches!(doc.processes[0].1, Cow::Owned(_)));
        assert!(matches!(
            doc.processes[1],
            (Cow::Borrowed(_), Cow::Borrowed(_))
        ));
    }

    #[test]
    fn set_replaces_in_place_and_appends_new_names() {
        let mut doc = RawDocument::parse(r#"{"processes":{"a":{},"b":{}}}"#).unwrap();
        doc.set("a", "1".into());
        doc.set("c", "2".into());
        let names: Vec<&str> = doc.processes.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(doc.get("a"), Some("1"));
        assert!(doc.remove("b"));
        assert!(!doc.remove("b"));
    }

    #[test]
    fn empty_text_is_an_empty_document() {
        let doc = RawDocument::parse(" \n").unwrap();
        assert!(doc.processes.is_empty());
        let out: serde_json::Value = serde_json::from_str(&doc.to_json(1.0)).unwrap();
        assert_eq!(out["processes"], serde_json::json!({}));
        assert_eq!(out["version"], 1);
    }

    #[test]
    fn rejects_what_is_not_a_document() {
        for bad in [
            "{",
            "[]",
            "{\"processes\": []}",
            "{\"processes\": {\"a\": 1}} x",
            "nul",
        ] {
            assert!(
                matches!(RawDocument::parse(bad), Err(ParseError::Syntax(_))),
                "{bad}"
            );
        }
        assert_eq!(
            RawDocument::parse(r#"{"version": 2, "processes": {}}"#).unwrap_err(),
            ParseError::Version(2)
        );
    }
}
