//! Eight bytes at a time in one `u64` ("SIMD within a register"): the byte tests that the
//! scanner's string steps and the portable chunk classifier (`chunk.rs`) share. A word is
//! read little-endian, so byte `i` of the text is byte `i` of the word, lowest first.

/// `0x01` in each byte: times a byte, that byte in every one.
pub const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = ONES * 0x80;

/// Eight bytes as one word, the first byte lowest.
#[inline]
pub fn load(bytes: [u8; 8]) -> u64 {
    u64::from_le_bytes(bytes)
}

/// The top bit of each byte of `word` that equals `byte`, and no other bit. Exact: no
/// carry crosses from byte to byte (unlike the classic "has a zero byte" subtraction,
/// whose borrow may flag bytes after a true one).
// Only the portable chunk classifier needs every flag exact (on x86_64, SSE2 classifies).
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
#[inline]
pub fn equal(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = ONES * 0x7F;
    let x = word ^ (ONES * u64::from(byte));
    // A byte of `x` is zero exactly when neither its low seven bits (pushed into the top
    // one by adding 0x7F) nor its top bit is set.
    !(((x & LOW7) + LOW7) | x) & HIGHS
}

/// The first byte of `word` that equals `byte` flagged (its top bit), if there is one, and
/// no byte before it; bytes after it may be flagged too, as the borrow of the classic "has
/// a zero byte" subtraction runs upwards. For finding the first such byte only: it takes
/// fewer instructions than `equal` (the string steps of the scanner, on every key, came
/// to 7 % more with `equal`).
#[inline]
pub fn equal_first(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first byte of `word` below `limit` (at most 0x80) flagged, as [`equal_first`] flags
/// the first equal one. A byte of 0x80 or more is never below: its top bit is set.
#[inline]
pub fn below_first(word: u64, limit: u8) -> u64 {
    debug_assert!(limit <= 0x80, "{limit:#x}: only ASCII limits");
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS
}

/// The byte that the lowest flag of `top_bits` (as the tests above set them) is in.
#[inline]
pub fn first(top_bits: u64) -> usize {
    (top_bits.trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `test` says of each byte of `bytes`, as top bits.
    fn flags(bytes: [u8; 8], test: impl Fn(u8) -> bool) -> u64 {
        (0..8).fold(0, |m, i| m | u64::from(test(bytes[i])) << (8 * i + 7))
    }

    /// The flags of `got` up to and including the first of `expected`.
    fn up_to_first(got: u64, expected: u64) -> u64 {
        let through = match expected {
            0 => u64::MAX,
            e => u64::MAX >> (63 - e.trailing_zeros()),
        };
        got & through
    }

    #[test]
    fn each_test_flags_the_bytes_it_names_whatever_their_neighbours() {
        // Every byte value beside a spread of others, in every position: `equal` flags
        // exactly the equal bytes; the `_first` tests the first one and none before it.
        for a in 0..=255_u8 {
            for b in (0..=255_u8).step_by(3).chain([0x00, 0x7F, 0x80, 0xFF]) {
                for at in 0..7 {
                    let mut bytes = [b'x'; 8];
                    bytes[at] = a;
                    bytes[at + 1] = b;
                    let word = load(bytes);
                    for byte in [a, b, b'"', b'\\', 0x00, 0x59] {
                        let expected = flags(bytes, |x| x == byte);
                        let what = format!("{bytes:?} = {byte}");
                        assert_eq!(equal(word, byte), expected, "{what}");
                        let first_only = up_to_first(equal_first(word, byte), expected);
                        assert_eq!(first_only, expected & expected.wrapping_neg(), "{what}");
                    }
                    for limit in [0x00, 0x01, 0x20, 0x7F, 0x80] {
                        let expected = flags(bytes, |x| x < limit);
                        let first_only = up_to_first(below_first(word, limit), expected);
                        let what = format!("{bytes:?} < {limit}");
                        assert_eq!(first_only, expected & expected.wrapping_neg(), "{what}");
                    }
                    let position = bytes.iter().position(|&x| x == a);
                    assert_eq!(first(equal(word, a)), position.unwrap_or(8));
                    assert_eq!(first(equal_first(word, a)), position.unwrap_or(8));
                }
            }
        }
    }
}
