//! A JSON scanner that finds where values lie without reading them. Objects it walks member
//! by member (the top level, `processes`) are checked exactly, keys included; inside a value
//! it only follows strings to their end and brackets to their match, and takes everything
//! else as written. A writer needs the file's structure to change its own entry; the values
//! of entries it does not own are for their readers to judge, one entry at a time.

mod chunk;
mod swar;

use std::ops::Range;

use chunk::CHUNK;

/// Where and why text is not valid JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at line {line} column {column}")]
pub struct SyntaxError {
    pub what: &'static str,
    pub line: usize,
    pub column: usize,
}

/// A cursor over JSON text. Input is a `&str`, so UTF-8 is already checked and the scanner
/// only has to look at ASCII bytes.
pub struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
    /// Why the scan failed, once it has; the position is `pos`.
    failure: &'static str,
    /// The closing bracket each open level of the value being stepped over waits for. Kept
    /// between values for its allocation; as deep as the text goes (the walk is a loop,
    /// not a recursion, so depth costs memory, never stack).
    closers: Vec<u8>,
}

/// A failed scan. The hot paths return this empty marker, not a [`SyntaxError`], so their
/// results fit in registers; the public functions turn it into one.
struct Failed;

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Self {
        Scanner {
            text: text.as_bytes(),
            pos: 0,
            failure: "",
            closers: Vec::new(),
        }
    }

    /// A [`SyntaxError`] at the current position.
    #[cold]
    pub fn error(&self, what: &'static str) -> SyntaxError {
        self.error_at(self.pos, what)
    }

    /// A [`SyntaxError`] at byte `pos` of the text.
    #[cold]
    pub fn error_at(&self, pos: usize, what: &'static str) -> SyntaxError {
        let before = &self.text[..pos.min(self.text.len())];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        SyntaxError {
            what,
            line: before.split(|&b| b == b'\n').count(),
            // Columns count characters, not bytes; continuation bytes are 0b10xx_xxxx.
            column: before[line_start..]
                .iter()
                .filter(|&&b| b & 0xC0 != 0x80)
                .count()
                + 1,
        }
    }

    /// Records why the scan fails here: `what` was expected, or the text ended.
    #[cold]
    fn fail(&mut self, what: &'static str) -> Failed {
        self.failure = if self.pos >= self.text.len() {
            "unexpected end of file"
        } else {
            what
        };
        Failed
    }

    /// The recorded failure as a [`SyntaxError`].
    #[cold]
    fn failed(&self, _: Failed) -> SyntaxError {
        self.error(self.failure)
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        if self.text.get(self.pos).is_some_and(|&b| b > b' ') {
            return;
        }
        // Pretty-printed files are mostly indentation: step over eight spaces at a time.
        while self.word_at(self.pos) == Some(swar::ONES * u64::from(b' ')) {
            self.pos += 8;
        }
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.text.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Skips whitespace; true if the text ends there.
    pub fn at_end(&mut self) -> bool {
        self.skip_whitespace();
        self.pos >= self.text.len()
    }

    /// Skips whitespace and returns the next byte without consuming it.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.text.get(self.pos).copied()
    }

    /// Scans an object, calling `member` with each key (the range of its text between the
    /// quotes, and whether it holds escapes) while the scanner stands at the key's value,
    /// which `member` must consume (with [`Scanner::value`] or [`Scanner::object`]).
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Key) -> Result<(), SyntaxError>,
    ) -> Result<(), SyntaxError> {
        if self.peek() != Some(b'{') {
            let failed = self.fail("expected an object");
            return Err(self.failed(failed));
        }
        self.pos += 1;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let key = self.key().map_err(|f| self.failed(f))?;
            member(self, key)?;
            match self.end_of_member(b'}') {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(f) => return Err(self.failed(f)),
            }
        }
    }

    /// Finds where the value at the cursor ends and returns where it lies. Strings are
    /// followed to their closing quotes (a line break inside one is refused: it is a string
    /// running on into what follows), arrays and objects to their matching brackets;
    /// escapes, numbers, `true`, `false` and `null` are not looked at: whoever decodes the
    /// value checks them.
    pub fn value(&mut self) -> Result<Range<usize>, SyntaxError> {
        self.skip_whitespace();
        let start = self.pos;
        let scanned = match self.text.get(self.pos) {
            Some(b'{' | b'[') => self.container(),
            Some(b'"') => self.string_end(),
            _ => self.scalar(),
        };
        match scanned {
            Ok(()) => Ok(start..self.pos),
            Err(f) => Err(self.failed(f)),
        }
    }

    /// Steps over an object or array, the cursor at its opening bracket, 64 bytes at a
    /// time: which bytes are quotes, backslashes, brackets and line feeds is found for a
    /// whole chunk at once, which of them lie inside strings follows from the quotes by a prefix XOR,
    /// and only the brackets outside strings are looked at one by one. (This is how
    /// simdjson finds structure, without its validation.)
    fn container(&mut self) -> Result<(), Failed> {
        self.closers.clear();
        // Carried from chunk to chunk: inside a string, and the next byte escaped.
        let mut in_string = false;
        let mut escaped = false;
        let mut padded = [b' '; CHUNK];
        loop {
            let chunk = self.chunk_at(self.pos, &mut padded);
            let classes = chunk::classify(chunk);
            let (mut brackets, runaway) = if classes.backslashes == 0 && !escaped {
                let inside = prefix_xor(classes.quotes) ^ if in_string { u64::MAX } else { 0 };
                in_string = inside >> 63 == 1;
                (classes.brackets & !inside, classes.newlines & inside)
            } else {
                // Escapes are rare (an escaped quote, a `\n` in a job's output): follow them
                // byte by byte.
                outside_strings(chunk, &mut in_string, &mut escaped)
            };
            // Only brackets before a runaway string count: past it, nothing is what it seems.
            if runaway != 0 {
                brackets &= (1 << runaway.trailing_zeros()) - 1;
            }
            while brackets != 0 {
                let at = brackets.trailing_zeros() as usize;
                brackets &= brackets - 1;
                let byte = chunk[at];
                match byte {
                    b'{' => self.closers.push(b'}'),
                    b'[' => self.closers.push(b']'),
                    b'}' | b']' => {
                        // The level the first bracket opened closes last: never empty here.
                        if self.closers.pop() != Some(byte) {
                            self.pos += at;
                            return Err(self.fail("mismatched bracket"));
                        }
                        if self.closers.is_empty() {
                            self.pos += at + 1;
                            return Ok(());
                        }
                    }
                    _ => {}
                }
            }
            if runaway != 0 {
                self.pos += runaway.trailing_zeros() as usize;
                return Err(self.fail("a line break inside a string (it runs on)"));
            }
            self.pos += chunk.len();
            if self.pos >= self.text.len() {
                self.pos = self.text.len();
                return Err(self.fail("unexpected end of file"));
            }
        }
    }

    /// The [`CHUNK`] bytes at `i`; near the end of the text, copied into `padded` and
    /// padded with spaces.
    fn chunk_at<'c>(&self, i: usize, padded: &'c mut [u8; CHUNK]) -> &'c [u8; CHUNK]
    where
        'a: 'c,
    {
        let rest = self.text.get(i..).unwrap_or_default();
        if let Some(chunk) = rest.first_chunk::<CHUNK>() {
            return chunk;
        }
        padded.fill(b' ');
        padded[..rest.len()].copy_from_slice(rest);
        padded
    }

    /// Steps over a number or literal: the bytes up to the next delimiter, at least one.
    fn scalar(&mut self) -> Result<(), Failed> {
        let start = self.pos;
        while let Some(&b) = self.text.get(self.pos) {
            if matches!(
                b,
                b',' | b':' | b'{' | b'}' | b'[' | b']' | b'"' | b' ' | b'\n' | b'\r' | b'\t'
            ) {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.fail("expected a value"));
        }
        Ok(())
    }

    /// Scans `"key" :`, leaving the scanner before the value.
    #[inline]
    fn key(&mut self) -> Result<Key, Failed> {
        if self.peek() != Some(b'"') {
            return Err(self.fail("expected a string key"));
        }
        let start = self.pos + 1;
        let escaped = self.string()?;
        let text = start..self.pos - 1;
        if self.peek() != Some(b':') {
            return Err(self.fail("expected ':'"));
        }
        self.pos += 1;
        Ok(Key { text, escaped })
    }

    /// After a member of an object or array: true at its `close`, false after a `,`.
    #[inline]
    fn end_of_member(&mut self, close: u8) -> Result<bool, Failed> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(false)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Ok(true)
            }
            _ if close == b'}' => Err(self.fail("expected ',' or '}'")),
            _ => Err(self.fail("expected ',' or ']'")),
        }
    }

    /// Scans a key's string exactly, the scanner at its opening quote; true if it holds
    /// escapes.
    fn string(&mut self) -> Result<bool, Failed> {
        let mut i = self.pos + 1;
        let mut escaped = false;
        loop {
            i = self.plain_text_end(i);
            match self.text.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    i += match self.text.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                        Some(b'u')
                            if self
                                .text
                                .get(i + 2..i + 6)
                                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) =>
                        {
                            6
                        }
                        _ => {
                            self.pos = i;
                            return Err(self.fail("invalid escape in string"));
                        }
                    };
                }
                Some(0x00..=0x1F) => {
                    self.pos = i;
                    return Err(self.fail("control character in string"));
                }
                Some(_) => i += 1,
                None => {
                    self.pos = i;
                    return Err(self.fail("unexpected end of file"));
                }
            }
        }
    }

    /// Steps over a string value to its closing quote, the scanner at its opening quote;
    /// escapes are stepped over, not checked (the value's reader does).
    fn string_end(&mut self) -> Result<(), Failed> {
        let mut i = self.pos + 1;
        loop {
            i = self.plain_text_end(i);
            match self.text.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(());
                }
                Some(b'\\') => i += 2,
                Some(b'\n') => {
                    self.pos = i;
                    return Err(self.fail("a line break inside a string (it runs on)"));
                }
                Some(_) => i += 1,
                None => {
                    self.pos = self.text.len();
                    return Err(self.fail("unexpected end of file"));
                }
            }
        }
    }

    /// Where the plain text of a string that goes on at `i` ends: at the first quote,
    /// backslash or control character, found eight bytes at a time.
    #[inline]
    fn plain_text_end(&self, mut i: usize) -> usize {
        while let Some(word) = self.word_at(i) {
            let found = needs_a_look(word);
            if found != 0 {
                return i + swar::first(found);
            }
            i += 8;
        }
        i
    }

    /// The eight bytes at `i` as one word (first byte lowest), if there are eight.
    #[inline]
    fn word_at(&self, i: usize) -> Option<u64> {
        Some(swar::load(*self.text.get(i..)?.first_chunk::<8>()?))
    }
}

/// Bit `i` set when an odd number of bits `0..=i` of `bits` are: for quote bits, the bytes
/// inside a string (an opening quote counts as inside, a closing one as outside).
fn prefix_xor(mut bits: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        bits ^= bits << shift;
    }
    bits
}

/// The brackets outside strings in `chunk` and the line feeds inside them, found byte by
/// byte so that escapes are followed; updates whether the next chunk starts inside a string
/// or escaped.
fn outside_strings(chunk: &[u8; CHUNK], in_string: &mut bool, escaped: &mut bool) -> (u64, u64) {
    let (mut brackets, mut runaway) = (0, 0);
    for (i, &byte) in chunk.iter().enumerate() {
        if *in_string && byte == b'\n' {
            runaway |= 1_u64 << i;
        }
        if *escaped {
            *escaped = false;
        } else if *in_string {
            match byte {
                b'\\' => *escaped = true,
                b'"' => *in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => *in_string = true,
                b'{' | b'}' | b'[' | b']' => brackets |= 1_u64 << i,
                _ => {}
            }
        }
    }
    (brackets, runaway)
}

/// A string key as scanned: where its text lies (between the quotes), and whether it holds
/// escapes (then that text is not the key itself and must be decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub text: Range<usize>,
    pub escaped: bool,
}

/// Flags the first byte of `word` that is `"`, `\` or below 0x20, the bytes a string scan
/// must stop at (bytes of 0x80 and above, UTF-8 sequences, never are), and none before it.
fn needs_a_look(word: u64) -> u64 {
    swar::equal_first(word, b'"') | swar::equal_first(word, b'\\') | swar::below_first(word, 0x20)
}

#[cfg(test)]
mod tests;
