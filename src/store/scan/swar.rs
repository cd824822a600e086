//! Eight bytes at a time in one `u64` ("SIMD within a register"): the byte tests that the
//! scanner's string steps and the portable chunk classifier (`chunk.rs`) share. A word is
//! read little-endian, so byte `i` of the text is byte `i` of the word, lowest first.

/// `0x01` in each byte: times a byte, that byte in every one.
pub const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const LOW7: u64 = ONES * 0x7F;
const HIGHS: u64 = ONES * 0x80;

/// Eight bytes as one word, the first byte lowest.
#[inline]
pub fn load(bytes: [u8; 8]) -> u64 {
    u64::from_le_bytes(bytes)
}

/// The top bit of each byte of `word` that equals `byte`, and no other bit. Exact: no
/// carry crosses from byte to byte (unlike the classic "has a zero byte" subtraction,
/// whose borrow may flag bytes after a true one).
#[inline]
pub fn equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    // A byte of `x` is zero exactly when neither its low seven bits (pushed into the top
    // one by adding 0x7F) nor its top bit is set.
    !(((x & LOW7) + LOW7) | x) & HIGHS
}

/// The top bit of each byte of `word` below `limit` (at most 0x80), and no other bit;
/// exact, as [`equal`].
#[inline]
pub fn below(word: u64, limit: u8) -> u64 {
    debug_assert!(limit <= 0x80, "{limit:#x}: only ASCII limits");
    // The low seven bits plus 0x80 - limit reach the top bit exactly when they are at least
    // `limit`; a byte of 0x80 or more has its top bit already.
    !(((word & LOW7) + ONES * u64::from(0x80 - limit)) | word) & HIGHS
}

/// The byte that the lowest flag of `top_bits` (as [`equal`] and [`below`] set them) is in.
#[inline]
pub fn first(top_bits: u64) -> usize {
    (top_bits.trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_test_flags_exactly_the_bytes_it_names_whatever_their_neighbours() {
        // Every byte value beside every other, in every position: no flag may leak into or
        // out of a neighbouring byte.
        let limits = [0x00, 0x01, 0x20, 0x7F, 0x80];
        for a in 0..=255_u8 {
            for b in (0..=255_u8).step_by(3).chain([0x00, 0x7F, 0x80, 0xFF]) {
                for at in 0..7 {
                    let mut bytes = [b'x'; 8];
                    bytes[at] = a;
                    bytes[at + 1] = b;
                    let word = load(bytes);
                    let flags = |test: &dyn Fn(u8) -> bool| {
                        (0..8).fold(0_u64, |m, i| m | u64::from(test(bytes[i])) << (8 * i + 7))
                    };
                    for byte in [a, b'"', b'\\', 0x00, 0x59] {
                        assert_eq!(
                            equal(word, byte),
                            flags(&|x| x == byte),
                            "{bytes:?} = {byte}"
                        );
                    }
                    for limit in limits {
                        assert_eq!(
                            below(word, limit),
                            flags(&|x| x < limit),
                            "{bytes:?} < {limit}"
                        );
                    }
                    let equal_a = equal(word, a);
                    assert_eq!(
                        first(equal_a),
                        bytes.iter().position(|&x| x == a).unwrap_or(8)
                    );
                }
            }
        }
    }
}
