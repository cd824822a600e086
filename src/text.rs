//! Text from writers and requests as a terminal or a log shows it: every character that
//! could rewrite the screen, forge a line or reorder what is read is escaped, never printed.
//!
//! Names, data, errors and reasons come from whoever can write the heartbeat file or reach
//! `hbmon serve`: an `ESC ] 0 ; … BEL` retitles the terminal, `ESC [ 2 J` clears it, a
//! newline forges a log line, U+202E shows the rest of a line backwards. Every text output
//! (the status table, `hbmon history`, the terminal UI, serve's log, alert texts, plain-text
//! HTTP replies) passes such text through [`escape`] or [`one_line`]; the file keeps what
//! the writer wrote, and JSON output escapes by itself.
//!
//! The escaped form is the one Rust's `{:?}` gives, and so the one hbmon's own messages
//! already use for quoted names: `\n`, `\r`, `\t`, `\0`, and `\u{1b}` (the code point in
//! lower-case hex) for everything else escaped. A backslash stays as it is: the form is
//! for reading; the exact text is in the file and in every `--json`.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is escaped: the C0 controls and DEL (U+0000–U+001F, U+007F), the C1
/// controls (U+0080–U+009F), the bidirectional controls (U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069) and the line and paragraph separators (U+2028, U+2029).
pub fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// `text` with every character [`needs_escape`] picks escaped; borrowed when there is none
/// (nearly always).
pub fn escape(text: &str) -> Cow<'_, str> {
    if is_clean(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`escape`], but each run of line breaks and tabs (`\n`, `\r`, `\t`) is one space, and
/// none is kept at either end: for a cell that shows a job's output tail, or a command
/// line with a script in it, on one line of its own. Everything else is escaped.
pub fn one_line(text: &str) -> Cow<'_, str> {
    let breaks = |c: char| matches!(c, '\n' | '\r' | '\t');
    let trimmed = text.trim_matches(breaks);
    if is_clean(trimmed) {
        return Cow::Borrowed(trimmed);
    }
    let mut out = String::with_capacity(trimmed.len() + 8);
    let mut in_break = false;
    for c in trimmed.chars() {
        if breaks(c) {
            if !in_break {
                out.push(' ');
            }
            in_break = true;
        } else {
            in_break = false;
            push(&mut out, c);
        }
    }
    Cow::Owned(out)
}

/// Whether nothing in `text` [`needs_escape`]: printable ASCII is checked a byte at a time
/// (names nearly always are), anything else a character at a time.
fn is_clean(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7f).contains(&b)) || !text.chars().any(needs_escape)
}

fn push(out: &mut String, c: char) {
    if !needs_escape(c) {
        out.push(c);
        return;
    }
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_escaped_and_how() {
        let cases: &[(&str, &str)] = &[
            ("web-1", "web-1"),
            ("", ""),
            ("café ✓ 日本 🦀", "café ✓ 日本 🦀"),
            // A backslash is not escaped: the form is for reading.
            (r"C:\temp \u{1b}", r"C:\temp \u{1b}"),
            ("a\nb", r"a\nb"),
            ("a\r\nb\tc", r"a\r\nb\tc"),
            ("nul\0", r"nul\0"),
            ("\u{1}\u{8}\u{b}\u{c}\u{1f}", r"\u{1}\u{8}\u{b}\u{c}\u{1f}"),
            (
                "\u{1b}]0;pwned\u{7}\u{1b}[2J",
                r"\u{1b}]0;pwned\u{7}\u{1b}[2J",
            ),
            ("del\u{7f}", r"del\u{7f}"),
            ("\u{80}\u{85}\u{9b}\u{9f}", r"\u{80}\u{85}\u{9b}\u{9f}"),
            // Just outside the C1 block: printable.
            ("\u{a0}\u{a9}", "\u{a0}\u{a9}"),
            ("\u{61c}\u{200e}\u{200f}", r"\u{61c}\u{200e}\u{200f}"),
            (
                "\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}",
                r"\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}",
            ),
            (
                "\u{2066}\u{2067}\u{2068}\u{2069}",
                r"\u{2066}\u{2067}\u{2068}\u{2069}",
            ),
            ("a\u{2028}b\u{2029}c", r"a\u{2028}b\u{2029}c"),
            ("evil\u{202e}txt.exe", r"evil\u{202e}txt.exe"),
            // Neighbours of the escaped ranges stay: zero-width joiner (emoji), U+2030 ‰,
            // U+206A.
            (
                "\u{200d}\u{2027}\u{2030}\u{2065}\u{206a}",
                "\u{200d}\u{2027}\u{2030}\u{2065}\u{206a}",
            ),
        ];
        for &(raw, shown) in cases {
            assert_eq!(escape(raw), shown, "{raw:?}");
        }
    }

    #[test]
    fn the_form_is_the_one_debug_quoting_gives() {
        let every: String = (0..=0x2100_u32)
            .filter_map(char::from_u32)
            .filter(|&c| needs_escape(c))
            .collect();
        let debug = format!("{every:?}");
        assert_eq!(format!("\"{}\"", escape(&every)), debug);
    }

    #[test]
    fn nothing_to_escape_borrows() {
        assert!(matches!(escape("plain text"), Cow::Borrowed(_)));
        assert!(matches!(
            one_line("\nplain text\n"),
            Cow::Borrowed("plain text")
        ));
    }

    #[test]
    fn one_line_collapses_line_breaks_and_escapes_the_rest() {
        let cases: &[(&str, &str)] = &[
            ("copying\nfailed: disk full\n", "copying failed: disk full"),
            ("\r\n\ta\r\n\r\nb\t", "a b"),
            ("a \n b", "a   b"),
            ("one\u{1b}[31mred", r"one\u{1b}[31mred"),
            ("a\u{2028}b", r"a\u{2028}b"),
            ("x\n\u{7}\ny", r"x \u{7} y"),
            ("\n\n", ""),
        ];
        for &(raw, shown) in cases {
            assert_eq!(one_line(raw), shown, "{raw:?}");
        }
    }
}
