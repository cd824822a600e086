//! The scanner against the values it must delimit, the faults it must refuse.

use super::*;

/// The one value `text` holds, as the scanner delimits it.
fn delimit(text: &str) -> Result<&str, SyntaxError> {
    let mut scanner = Scanner::new(text);
    let at = scanner.value()?;
    if scanner.at_end() {
        Ok(&text[at])
    } else {
        Err(scanner.error("trailing characters"))
    }
}

#[test]
fn delimits_every_kind_of_value() {
    for good in [
        "0",
        "-0.0e+00",
        "true",
        "null",
        r#""""#,
        r#""plain text longer than one eight-byte word""#,
        r#""\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00""#,
        "\"é 日本 😀 inside\"",
        "[]",
        "{}",
        "[ 1 , [ 2 , {\"a\" : [ ] } ] ]",
        r#"{"a":{"b":{"c":null}},"a":1}"#,
        r#"{"brackets in strings": "}]{[", "escaped quote": "\"}"}"#,
        r#"{"Y_y\u007f": ["Y", "_", "y"], "ok": 1}"#,
    ] {
        assert_eq!(delimit(&format!(" \t\r\n{good}\n")), Ok(good), "{good:?}");
    }
}

#[test]
fn escapes_are_followed_wherever_they_fall_in_a_chunk() {
    // Escaped quotes and backslashes, and brackets inside strings, at every offset from
    // the chunk boundaries.
    for pad in 0..80 {
        let value = format!(
            r#"[{}"\\", "\"]", {{"k": "\\\\", "\"": ["]", "\\\""]}}]"#,
            " ".repeat(pad)
        );
        assert_eq!(delimit(&value), Ok(value.as_str()), "{value}");
        let cut = &value[..value.len() - 1];
        assert_eq!(
            delimit(cut).unwrap_err().what,
            "unexpected end of file",
            "{cut}"
        );
    }
}

#[test]
fn leaves_numbers_and_literals_to_whoever_decodes_them() {
    // Not JSON, but delimited all the same: the entry's reader says it is invalid.
    for taken in [
        "01",
        "1.",
        "tru",
        "[1 2]",
        r#"{"a" 1}"#,
        "[1,]",
        r#""a\x""#,
        "\"tab\there\"",
    ] {
        assert_eq!(delimit(taken), Ok(taken));
    }
}

#[test]
fn refuses_broken_structure_and_says_where() {
    for (bad, what, line, column) in [
        ("", "unexpected end of file", 1, 1),
        (",", "expected a value", 1, 1),
        ("\"abc", "unexpected end of file", 1, 5),
        ("[1, {\"a\": 2]}", "mismatched bracket", 1, 12),
        ("{\"a\": [1}", "mismatched bracket", 1, 9),
        ("[\n  [1,\n  \"é\"]", "unexpected end of file", 3, 7),
        ("{\"a\": \"}\"", "unexpected end of file", 1, 10),
        ("[] []", "trailing characters", 1, 4),
    ] {
        assert_eq!(
            delimit(bad),
            Err(SyntaxError { what, line, column }),
            "{bad:?}"
        );
    }
}

#[test]
fn objects_are_scanned_exactly_and_report_their_keys() {
    let text = r#" {"plain": [1, {"x": 2}], "esc\"aped": "v"} "#;
    let mut scanner = Scanner::new(text);
    let mut seen = Vec::new();
    scanner
        .object(|s, key| {
            let value = s.value()?;
            seen.push((&text[key.text], key.escaped, &text[value]));
            Ok(())
        })
        .unwrap();
    assert!(scanner.at_end());
    assert_eq!(
        seen,
        [
            ("plain", false, r#"[1, {"x": 2}]"#),
            (r#"esc\"aped"#, true, r#""v""#)
        ]
    );
    for (bad, what) in [
        (r#"{"a" 1}"#, "expected ':'"),
        (r#"{"a": 1,}"#, "expected a string key"),
        (r#"{"a": 1 "b": 2}"#, "expected ',' or '}'"),
        (r"{1: 2}", "expected a string key"),
        (r#"{"a": 1"#, "unexpected end of file"),
        (r"[]", "expected an object"),
        (r#"{"a\x": 1}"#, "invalid escape in string"),
        (r#"{"\u12G4": 1}"#, "invalid escape in string"),
        ("{\"tab\there\": 1}", "control character in string"),
    ] {
        let mut scanner = Scanner::new(bad);
        let err = scanner.object(|s, _| s.value().map(drop)).unwrap_err();
        assert_eq!(err.what, what, "{bad}");
    }
}

#[test]
fn nesting_costs_memory_not_stack_so_any_depth_is_delimited() {
    // serde_json refuses more than 128 levels; that is for an entry's reader to say.
    let deep = |n: usize| format!("{}{}", "[{\"a\":".repeat(n), "}]".repeat(n));
    let value = deep(100_000);
    assert_eq!(delimit(&value), Ok(value.as_str()));
    assert_eq!(
        delimit(&value[..value.len() - 1]).unwrap_err().what,
        "unexpected end of file"
    );
}

#[test]
fn a_string_that_runs_on_past_a_line_break_is_refused_where_it_breaks() {
    // One entry per line: an unclosed quote would otherwise swallow the entries after it.
    for (text, column) in [
        ("{\"a\": \"oops},\n\"b\": {}}", 14),
        ("\"oops,\n\"b\"", 7),
        ("[\"\\\"\n\"]", 5),
    ] {
        let err = delimit(text).unwrap_err();
        assert_eq!(
            (err.what, err.line, err.column),
            ("a line break inside a string (it runs on)", 1, column),
            "{text:?}"
        );
    }
    // Between values a line break is only whitespace.
    assert!(delimit("[\n\"a\",\n{\"b\":\n1}\n]").is_ok());
}

#[test]
fn the_word_test_finds_the_first_byte_a_string_scan_must_stop_at() {
    let first = |test: fn(u64) -> u64, word: &[u8; 8]| {
        let found = test(u64::from_le_bytes(*word));
        (found != 0).then(|| found.trailing_zeros() / 8)
    };
    for at in 0..8 {
        for special in [b'"', b'\\', 0x00, 0x1F] {
            let mut word = *b"abcdefgh";
            word[at] = special;
            assert_eq!(
                first(needs_a_look, &word),
                Some(at as u32),
                "{special} at {at}"
            );
        }
    }
    // The first of several, even where a borrow from it could flag a later byte.
    assert_eq!(first(needs_a_look, b"a#\"#\x01\\gh"), Some(2));
    for plain in [
        *b"abcdefgh",
        *b"        ",
        *b"0.5, 1e9",
        [0xFF; 8],
        [0x80; 8],
    ] {
        assert_eq!(first(needs_a_look, &plain), None, "{plain:?}");
    }
}
