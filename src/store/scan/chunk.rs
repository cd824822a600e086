//! Which bytes of a 64-byte chunk are quotes, backslashes and brackets, found for the whole
//! chunk at once: with SSE2 on x86_64, with eight-byte words elsewhere.

/// One bit per byte of a chunk (bit `i` for byte `i`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Classes {
    pub quotes: u64,
    pub backslashes: u64,
    /// `{`, `}`, `[` and `]`, and also `Y`, `_`, `y` and DEL: masking a byte with 0xD9 sends
    /// all four brackets to 0x59, and those four with them. A caller looks at the byte.
    pub brackets: u64,
    /// Line feeds: never inside a JSON string, so one there means a string that runs on.
    pub newlines: u64,
}

/// The bytes [`classify`] takes at once.
pub const CHUNK: usize = 64;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
pub fn classify(chunk: &[u8; CHUNK]) -> Classes {
    // SAFETY: `sse2` needs the SSE2 instructions, and this is compiled only where the
    // whole build already uses them (`target_feature = "sse2"`, on for every x86_64 target
    // unless turned off). It reads nothing but `chunk`.
    unsafe { sse2(chunk) }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
pub fn classify(chunk: &[u8; CHUNK]) -> Classes {
    words(chunk)
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[inline]
fn sse2(chunk: &[u8; CHUNK]) -> Classes {
    use std::arch::x86_64::{
        _mm_and_si128, _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8,
    };
    let words = words_of(chunk);
    // Bit patterns, not numbers: the casts only reinterpret them as the intrinsics' types.
    let splat = |byte: u8| _mm_set1_epi8(byte.cast_signed());
    let (quote, backslash, mask, bracket) = (splat(b'"'), splat(b'\\'), splat(0xD9), splat(0x59));
    let newline = splat(b'\n');
    let mut classes = Classes::default();
    for (i, pair) in words.chunks_exact(2).enumerate() {
        let v = _mm_set_epi64x(pair[1].cast_signed(), pair[0].cast_signed());
        // `movemask` gathers the top bit of each byte's comparison: sixteen bits.
        let bits = |eq| u64::from(_mm_movemask_epi8(eq).cast_unsigned()) << (16 * i);
        classes.quotes |= bits(_mm_cmpeq_epi8(v, quote));
        classes.backslashes |= bits(_mm_cmpeq_epi8(v, backslash));
        classes.brackets |= bits(_mm_cmpeq_epi8(_mm_and_si128(v, mask), bracket));
        classes.newlines |= bits(_mm_cmpeq_epi8(v, newline));
    }
    classes
}

/// The portable way: each eight bytes as a `u64`, every byte compared at once with bit
/// tricks (`swar.rs`).
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn words(chunk: &[u8; CHUNK]) -> Classes {
    use super::swar::{ONES, equal};
    // Moves the top bit of byte `i` to bit `i`: each lands alone at bit 56 + i.
    let gather = |top_bits: u64| (top_bits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let mut classes = Classes::default();
    for (i, word) in words_of(chunk).into_iter().enumerate() {
        classes.quotes |= gather(equal(word, b'"')) << (8 * i);
        classes.backslashes |= gather(equal(word, b'\\')) << (8 * i);
        classes.brackets |= gather(equal(word & (ONES * 0xD9), 0x59)) << (8 * i);
        classes.newlines |= gather(equal(word, b'\n')) << (8 * i);
    }
    classes
}

/// The chunk as eight words, first byte lowest.
fn words_of(chunk: &[u8; CHUNK]) -> [u64; CHUNK / 8] {
    let mut words = [0; CHUNK / 8];
    for (word, bytes) in words.iter_mut().zip(chunk.as_chunks::<8>().0) {
        *word = super::swar::load(*bytes);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What each bit must say, byte by byte.
    fn expected(chunk: &[u8; CHUNK]) -> Classes {
        let bits = |test: fn(u8) -> bool| {
            (0..CHUNK).fold(0_u64, |m, i| m | u64::from(test(chunk[i])) << i)
        };
        Classes {
            quotes: bits(|b| b == b'"'),
            backslashes: bits(|b| b == b'\\'),
            brackets: bits(|b| b & 0xD9 == 0x59),
            newlines: bits(|b| b == b'\n'),
        }
    }

    #[test]
    fn both_ways_agree_with_a_byte_by_byte_look() {
        let pad = |text: &[u8]| {
            let mut chunk = [b'.'; CHUNK];
            chunk[..text.len()].copy_from_slice(text);
            chunk
        };
        let mut chunks = vec![
            pad(br#"{"a": [1, "}\"]}"#),
            pad(b"Y_y\x7f{}[]\"\\\x00\xff\x80\xd9\x59\x20"),
            [b' '; CHUNK],
            [0xFF; CHUNK],
        ];
        // Every byte value, everywhere and in each position.
        for byte in 0..=255_u8 {
            chunks.push([byte; CHUNK]);
            let mut chunk = [b'0'; CHUNK];
            for i in (usize::from(byte) % 7..CHUNK).step_by(7) {
                chunk[i] = byte;
            }
            chunks.push(chunk);
        }
        for chunk in &chunks {
            assert_eq!(classify(chunk), expected(chunk), "{chunk:?}");
            assert_eq!(words(chunk), expected(chunk), "{chunk:?}");
        }
    }
}
