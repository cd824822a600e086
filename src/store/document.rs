//! The heartbeat file as text: its structure checked, the top level parsed, each entry kept
//! as its raw JSON text, so a writer touches only its own entry and never decodes or
//! re-formats the others. Unchanged neighbouring entries are written back as one slice of
//! the text they were read from.
//!
//! What makes a file corrupt (moved aside by the next writer): text that is not UTF-8, no
//! top-level object, a `processes` that is not an object of entries, a bad key, a string
//! that runs on past a line break or the end, unmatched brackets, trailing text, an invalid
//! top-level value. What does not: an entry whose value is not valid JSON inside its quotes
//! or brackets (a bad number or escape, nesting deeper than a reader takes). That is one
//! entry's fault, not the file's: readers show that entry as invalid, other writers keep it
//! as it is, and its own writer replaces it on its next beat.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use super::scan::{Key, Scanner, SyntaxError};

/// A JSON number that is a whole number however it is written (`1`, `1.0`, `1e0`: the
/// same number to every JSON reader), as `u64`.
fn whole_number(raw: &str) -> Option<u64> {
    if let Ok(n) = serde_json::from_str::<u64>(raw) {
        return Some(n);
    }
    let n = serde_json::from_str::<f64>(raw).ok()?;
    (n.fract() == 0.0 && (0.0..=9e15).contains(&n)).then_some(n as u64)
}

/// The protocol version this crate reads and writes.
pub const VERSION: u64 = 1;

/// A parsed heartbeat file whose entries are still JSON text borrowed from the file.
#[derive(Debug, Default)]
pub struct RawDocument<'a> {
    /// The text this document was parsed from.
    source: &'a str,
    /// `processes`, in file order.
    processes: Vec<Member<'a>>,
    /// Each name's place once [`RawDocument::index`] is called: its last entry's position,
    /// and whether earlier entries bear the name too. A writer of one entry finds it in one
    /// pass; a flush of a thousand beats into 10 000 entries would make a thousand.
    index: Option<HashMap<String, (usize, bool)>>,
    /// Top-level keys other than `version`, `last_updated` and `processes`: each key and its
    /// value's raw JSON, kept as written.
    other: Vec<(Cow<'a, str>, &'a str)>,
}

/// One entry of `processes`.
#[derive(Debug)]
struct Member<'a> {
    name: Cow<'a, str>,
    /// The entry's raw JSON (borrowed, or owned once changed).
    value: Cow<'a, str>,
    /// While the entry is as read: its place among the source's entries and where its
    /// `"name": value` lies in the source.
    origin: Option<(usize, Range<usize>)>,
}

/// Why a file's text is not a heartbeat document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    Syntax(String),
    #[error("protocol version {0} is newer than this hbmon (it reads version {VERSION})")]
    Version(u64),
}

impl From<SyntaxError> for ParseError {
    fn from(e: SyntaxError) -> Self {
        ParseError::Syntax(e.to_string())
    }
}

impl<'a> RawDocument<'a> {
    /// Parses `text`, checking its structure (see the module's doc for what that takes);
    /// empty or all-whitespace text is an empty document.
    pub fn parse(text: &'a str) -> Result<Self, ParseError> {
        // A byte order mark is what some editors (and PowerShell) put first; JSON readers
        // skip it, so hbmon does too. The rewrite goes without it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut doc = RawDocument {
            source: text,
            ..RawDocument::default()
        };
        if text.trim().is_empty() {
            return Ok(doc);
        }
        let mut scanner = Scanner::new(text);
        let mut version = None;
        scanner.object(|s, key| {
            let key = decode_key(text, s, &key)?;
            if key == "processes" {
                doc.processes = members(text, s)?;
                return Ok(());
            }
            // The few top-level values are checked in full, unlike the entries: nobody
            // else owns them, so nobody else would.
            let at = s.value()?;
            let raw = &text[at.clone()];
            let invalid = |what| s.error_at(at.start, what);
            if key == "version" {
                version = Some(
                    whole_number(raw)
                        .ok_or_else(|| invalid("\"version\" is not a whole number"))?,
                );
            } else {
                serde_json::from_str::<serde_json::Value>(raw)
                    .map_err(|_| invalid("invalid JSON value"))?;
                if key != "last_updated" {
                    doc.other.push((key, raw));
                }
            }
            Ok(())
        })?;
        if !scanner.at_end() {
            return Err(scanner
                .error("trailing characters after the document")
                .into());
        }
        match version {
            Some(v) if v > VERSION => Err(ParseError::Version(v)),
            _ => Ok(doc),
        }
    }

    /// Every entry's name and raw JSON, in file order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.processes
            .iter()
            .map(|m| (m.name.as_ref(), m.value.as_ref()))
    }

    /// Indexes the entries by name, in one pass, for many lookups and changes to come; the
    /// changes keep the index up to date.
    pub fn index(&mut self) {
        let mut index = HashMap::with_capacity(self.processes.len());
        for (i, member) in self.processes.iter().enumerate() {
            let repeated = index.contains_key(member.name.as_ref());
            index.insert(member.name.to_string(), (i, repeated));
        }
        self.index = Some(index);
    }

    /// Index of the entry named `name` (the last one, as JSON readers take, if repeated).
    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).map(|&(i, _)| i),
            None => self.processes.iter().rposition(|m| m.name == name),
        }
    }

    /// Whether an entry before the last of `name` bears it too (without an index, the one
    /// way to know is to look).
    fn repeated(&self, name: &str) -> bool {
        self.index
            .as_ref()
            .is_none_or(|index| index.get(name).is_some_and(|&(_, repeated)| repeated))
    }

    /// Entries moved: the index, if one is kept, is made again.
    fn moved(&mut self) {
        if self.index.is_some() {
            self.index();
        }
    }

    /// The raw JSON of `name`'s entry.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name)
            .map(|i| self.processes[i].value.as_ref())
    }

    /// Sets `name`'s entry to `json` in place, or appends it. Earlier entries of the same
    /// name (which every JSON reader takes to be shadowed by the last) go: the writer of a
    /// name is the one to tidy it.
    pub fn set(&mut self, name: &str, json: String) {
        let Some(i) = self.position(name) else {
            if let Some(index) = &mut self.index {
                index.insert(name.to_owned(), (self.processes.len(), false));
            }
            self.processes.push(Member {
                name: Cow::Owned(name.to_owned()),
                value: Cow::Owned(json),
                origin: None,
            });
            return;
        };
        let member = &mut self.processes[i];
        member.value = Cow::Owned(json);
        member.origin = None;
        if !self.repeated(name) {
            return;
        }
        let before = self.processes.len();
        let mut index = 0;
        self.processes.retain(|m| {
            let keep = index >= i || m.name != name;
            index += 1;
            keep
        });
        if self.processes.len() != before {
            self.moved();
        }
    }

    /// Removes every entry named `name`; true if there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.processes.len();
        self.retain(|n, _| n != name);
        self.processes.len() != before
    }

    /// Keeps only the entries for which `keep(name, raw JSON)` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        let before = self.processes.len();
        self.processes.retain(|m| keep(&m.name, &m.value));
        if self.processes.len() != before {
            self.moved();
        }
    }

    /// The whole document as one string, `last_updated` set to `now`.
    pub fn to_json(&self, now: f64) -> String {
        self.pieces(now).concat()
    }

    /// The whole document as JSON text in pieces, `last_updated` set to `now`, to be written
    /// one after another (with `writev`) without first being copied into one buffer. Entries
    /// keep the text they had; a run of entries that were neighbours in the source and are
    /// unchanged is one piece, a slice of the source.
    pub fn pieces(&self, now: f64) -> Vec<Cow<'_, str>> {
        let mut out: Vec<Cow<'_, str>> = Vec::with_capacity(16);
        out.push(Cow::Owned(format!(
            "{{\n  \"version\": {VERSION},\n  \"last_updated\": {},\n  \"processes\": {{",
            json_number(now)
        )));
        let mut run: Option<(usize, Range<usize>)> = None;
        let mut first = true;
        for member in &self.processes {
            if let (Some((last, span)), Some((ordinal, next))) = (&mut run, &member.origin)
                && *ordinal == *last + 1
            {
                *last = *ordinal;
                span.end = next.end;
                continue;
            }
            if let Some((_, span)) = run.take() {
                out.push(Cow::Borrowed(&self.source[span]));
            }
            out.push(Cow::Borrowed(if first { "\n    " } else { ",\n    " }));
            first = false;
            if let Some(origin) = &member.origin {
                run = Some(origin.clone());
            } else {
                out.push(Cow::Owned(json_string(&member.name) + ": "));
                out.push(Cow::Borrowed(&member.value));
            }
        }
        if let Some((_, span)) = run {
            out.push(Cow::Borrowed(&self.source[span]));
        }
        out.push(Cow::Borrowed(if first { "}" } else { "\n  }" }));
        for (key, value) in &self.other {
            out.push(Cow::Owned(format!(",\n  {}: ", json_string(key))));
            out.push(Cow::Borrowed(value));
        }
        out.push(Cow::Borrowed("\n}\n"));
        out
    }
}

/// The entries of `processes`, the scanner at its value.
fn members<'a>(text: &'a str, scanner: &mut Scanner<'_>) -> Result<Vec<Member<'a>>, SyntaxError> {
    let mut out = Vec::new();
    scanner.object(|s, key| {
        let name = decode_key(text, s, &key)?;
        let value = s.value()?;
        // From the key's opening quote to the end of its value.
        let span = key.text.start - 1..value.end;
        out.push(Member {
            name,
            value: Cow::Borrowed(&text[value]),
            origin: Some((out.len(), span)),
        });
        Ok(())
    })?;
    Ok(out)
}

/// A key's text, borrowed when it holds no escapes.
fn decode_key<'a>(
    text: &'a str,
    scanner: &Scanner<'_>,
    key: &Key,
) -> Result<Cow<'a, str>, SyntaxError> {
    if !key.escaped {
        return Ok(Cow::Borrowed(&text[key.text.clone()]));
    }
    // Quotes included: the slice is a JSON string literal.
    serde_json::from_str(&text[key.text.start - 1..=key.text.end])
        .map(Cow::Owned)
        .map_err(|_| scanner.error_at(key.text.start, "invalid escape in key"))
}

/// One entry as JSON on one line, the way Python's `json.dumps` writes it: `, ` and `: `
/// between items. One line per entry keeps the file small (a beat rewrites all of it)
/// and readable with `grep NAME`; `jq .` shows it pretty.
pub fn entry_json(entry: &impl serde::Serialize) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(512);
    entry.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out, OneLine,
    ))?;
    // serde_json writes only valid UTF-8.
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// serde_json's compact format with a space after each `,` and `:`.
struct OneLine;

impl serde_json::ser::Formatter for OneLine {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        // The same separator between members as between array items.
        self.begin_array_value(writer, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

fn json_number(x: f64) -> String {
    serde_json::Number::from_f64(x).map_or_else(|| "null".to_owned(), |n| n.to_string())
}

fn json_string(s: &str) -> String {
    // Serialising a &str to JSON cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod damage;

#[cfg(test)]
mod tests {
    use super::*;

    fn names(doc: &RawDocument<'_>) -> Vec<String> {
        doc.entries().map(|(n, _)| n.to_owned()).collect()
    }

    fn reparsed(doc: &RawDocument<'_>) -> serde_json::Value {
        serde_json::from_str(&doc.to_json(9.0)).unwrap()
    }

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
        assert_eq!(value["processes"]["bé"]["last_heartbeat"], 2);
        assert!(
            out.contains(r#""a":{"last_heartbeat":1,"x":[1,2]},"b\u00e9":{"last_heartbeat":2}"#)
        );
    }

    #[test]
    fn a_beat_writes_untouched_entries_as_a_few_slices_of_the_file() {
        // The writer's cost per beat rests on this: other processes' entries are never
        // decoded, copied or re-formatted; the output is the source around one new entry.
        let entries: Vec<String> = (0..1000)
            .map(|i| format!("\"w{i}\": {{\"last_heartbeat\": {i}}}"))
            .collect();
        let text = format!(
            "{{\"processes\": {{\n    {}\n  }}}}",
            entries.join(",\n    ")
        );
        let mut doc = RawDocument::parse(&text).unwrap();
        doc.set("w500", "{\"last_heartbeat\": 1e9}".into());
        let pieces = doc.pieces(9.0);
        // A handful, however many entries: header, two runs, the new entry, separators.
        assert!(pieces.len() <= 10, "{} pieces", pieces.len());
        let before = &text[text.find("\"w0\"").unwrap()..text.find(",\n    \"w500\"").unwrap()];
        assert!(
            pieces
                .iter()
                .any(|p| matches!(p, Cow::Borrowed(s) if *s == before))
        );
        let value = reparsed(&doc);
        assert_eq!(value["processes"]["w500"]["last_heartbeat"], 1e9);
        assert_eq!(value["processes"]["w999"]["last_heartbeat"], 999);
        assert_eq!(value["processes"].as_object().unwrap().len(), 1000);
    }

    #[test]
    fn set_remove_and_retain_keep_file_order() {
        let mut doc = RawDocument::parse(r#"{"processes":{"a":{},"b":{},"c":{},"d":{}}}"#).unwrap();
        doc.set("a", "1".into());
        doc.set("e", "2".into());
        assert_eq!(names(&doc), ["a", "b", "c", "d", "e"]);
        assert_eq!(doc.get("a"), Some("1"));
        assert!(doc.remove("c"));
        assert!(!doc.remove("c"));
        doc.retain(|name, _| name != "e");
        assert_eq!(names(&doc), ["a", "b", "d"]);
        // The gap left by "c" must not be bridged by one slice of the source.
        let value = reparsed(&doc);
        let kept: Vec<&String> = value["processes"].as_object().unwrap().keys().collect();
        assert_eq!(kept, ["a", "b", "d"]);
        assert_eq!(value["processes"]["a"], 1);
    }

    #[test]
    fn the_last_of_repeated_names_is_the_entry() {
        let mut doc = RawDocument::parse(r#"{"processes":{"a":1,"a":2}}"#).unwrap();
        assert_eq!(doc.get("a"), Some("2"));
        doc.set("a", "3".into());
        assert_eq!(reparsed(&doc)["processes"]["a"], 3);
    }

    #[test]
    fn an_indexed_document_changes_as_one_looked_through_would() {
        type Step = fn(&mut RawDocument<'_>);
        let text = r#"{"processes":{"a":1,"b":2,"a":3,"c":4,"d":5}}"#;
        let steps: [(&str, Step); 6] = [
            ("set in place", |d| d.set("b", "20".into())),
            ("set a repeated name", |d| d.set("a", "30".into())),
            ("append", |d| d.set("e", "6".into())),
            ("set the appended", |d| d.set("e", "60".into())),
            ("remove", |d| {
                d.remove("c");
            }),
            ("retain", |d| d.retain(|name, _| name != "b")),
        ];
        let mut looked = RawDocument::parse(text).unwrap();
        let mut indexed = RawDocument::parse(text).unwrap();
        indexed.index();
        for (what, step) in steps {
            step(&mut looked);
            step(&mut indexed);
            assert_eq!(indexed.to_json(1.0), looked.to_json(1.0), "after {what}");
            for name in ["a", "b", "c", "d", "e", "f"] {
                assert_eq!(indexed.get(name), looked.get(name), "{name} after {what}");
            }
        }
    }

    #[test]
    fn keeps_another_writers_layout_for_entries_it_does_not_touch() {
        // As Python's json.dump(indent=2) writes it.
        let text = "{\n  \"version\": 1,\n  \"processes\": {\n    \"py\": {\n      \"last_heartbeat\": 1.0\n    },\n    \"other\": {\n      \"last_heartbeat\": 2.0\n    }\n  }\n}";
        let mut doc = RawDocument::parse(text).unwrap();
        doc.set("mine", "{}".into());
        let out = doc.to_json(3.0);
        assert!(out.contains("    \"py\": {\n      \"last_heartbeat\": 1.0\n    },\n    \"other\": {\n      \"last_heartbeat\": 2.0\n    },\n    \"mine\": {}"), "{out}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap();
    }

    #[test]
    fn empty_text_is_an_empty_document() {
        let doc = RawDocument::parse(" \n").unwrap();
        assert_eq!(doc.entries().count(), 0);
        let out = reparsed(&doc);
        assert_eq!(out["processes"], serde_json::json!({}));
        assert_eq!(out["version"], 1);
    }

    #[test]
    fn what_json_readers_accept_is_accepted_a_bom_and_a_version_written_as_a_float() {
        for text in [
            "\u{feff}{\"version\": 1, \"processes\": {\"a\": {\"last_heartbeat\": 1}}}",
            "{\"version\": 1.0, \"processes\": {\"a\": {\"last_heartbeat\": 1}}}",
            "{\"version\": 1e0, \"processes\": {\"a\": {\"last_heartbeat\": 1}}}",
        ] {
            let doc = RawDocument::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(doc.entries().count(), 1, "{text}");
            assert!(!doc.to_json(1.0).starts_with('\u{feff}'));
        }
        assert_eq!(
            RawDocument::parse("{\"version\": 2.0}").unwrap_err(),
            ParseError::Version(2)
        );
    }

    #[test]
    fn rejects_what_is_not_a_document_and_says_where() {
        for (bad, why) in [
            ("{", "unexpected end of file at line 1 column 2"),
            ("[]", "expected an object at line 1 column 1"),
            (
                "{\"processes\": []}",
                "expected an object at line 1 column 15",
            ),
            (
                "{\"processes\": {\"a\": 1}} x",
                "trailing characters after the document at line 1 column 25",
            ),
            ("nul", "expected an object at line 1 column 1"),
            (
                "{\"version\": 1.5}",
                "\"version\" is not a whole number at line 1 column 13",
            ),
            (
                "{\"processes\": {\"a\\ud800\": 1}}",
                "invalid escape in key at line 1 column 17",
            ),
            (
                "{\"processes\": {}, \"owner\": tru}",
                "invalid JSON value at line 1 column 28",
            ),
        ] {
            assert_eq!(
                RawDocument::parse(bad).unwrap_err(),
                ParseError::Syntax(why.to_owned()),
                "{bad}"
            );
        }
        assert_eq!(
            RawDocument::parse(r#"{"version": 2, "processes": {}}"#).unwrap_err(),
            ParseError::Version(2)
        );
    }

    /// Random damage to realistic files, judged against serde_json reading the whole file:
    /// what it accepts we accept, with the same entries; what it refuses we refuse, or one
    /// of our entries is refused on its own, so readers still see the damage.
    #[test]
    fn damaged_files_are_judged_as_serde_json_judges_them_entry_by_entry() {
        use serde_json::Value;
        let decodes = |raw: &str| serde_json::from_str::<Value>(raw).ok();
        let mut verdicts = [0; 4];
        for text in damage::files(30_000) {
            let text = text.as_str();
            let whole = serde_json::from_str::<Value>(text);
            match (RawDocument::parse(text), whole) {
                (Ok(doc), Ok(whole)) => {
                    verdicts[0] += 1;
                    let Some(Value::Object(expected)) = whole.get("processes") else {
                        continue;
                    };
                    let ours: serde_json::Map<String, Value> = doc
                        .entries()
                        .map(|(name, raw)| (name.to_owned(), decodes(raw).unwrap()))
                        .collect();
                    assert_eq!(&ours, expected, "{text:?}");
                }
                (Ok(doc), Err(_)) => {
                    verdicts[1] += 1;
                    assert!(
                        doc.entries().any(|(_, raw)| decodes(raw).is_none()),
                        "accepted, but no entry shows the damage: {text:?}"
                    );
                }
                (Err(ours), Ok(whole)) => {
                    verdicts[2] += 1;
                    // Valid JSON, but not a heartbeat document.
                    let processes = whole.get("processes");
                    assert!(
                        !whole.is_object()
                            || processes.is_some_and(|p| !p.is_object())
                            || matches!(ours, ParseError::Version(_))
                            || ours.to_string().contains("version"),
                        "refused valid JSON: {ours}: {text:?}"
                    );
                }
                (Err(_), Err(_)) => verdicts[3] += 1,
            }
        }
        // Every verdict but "valid JSON, not a document" must be exercised to mean anything.
        assert!(
            verdicts[0] > 500 && verdicts[1] > 500 && verdicts[3] > 500,
            "{verdicts:?}"
        );
    }
}
