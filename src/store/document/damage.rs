//! The damaged-file corpus: realistic heartbeat files with random bytes changed, inserted
//! or removed, reproducible without a dependency. The document's own tests judge it against
//! serde_json; the integration tests judge the Python writer's scanner against this one.

/// Files the damage starts from: escapes, nesting, non-ASCII, a pretty and a compact layout.
pub const SEEDS: [&str; 2] = [
    "{\"version\": 1, \"last_updated\": 1703123456.789, \"processes\": {\n    \"bidder\": {\"last_heartbeat\": 1703123456.789, \"pid\": 48213, \"status\": \"alive\", \"additional_data\": {\"status\": \"bid\\\"ding\", \"n\": [1, -2.5e3, true, false, null], \"s\": \"\\u00e9\\n\"}},\n    \"cron\": {\"last_heartbeat\": 1.5, \"data\": [[], {}]}\n  },\n  \"owner\": {\"team\": [\"ops\"]}\n}\n",
    "{\n  \"processes\": {\n    \"a\": {\n      \"x\": 0.5,\n      \"y\": \"日本\"\n    },\n    \"b\\u00e9\": {\n      \"z\": null\n    }\n  }\n}\n",
];

/// The bytes damage puts in: JSON's structure, escapes, number and literal parts, controls.
const JUNK: &[u8] = b" \t\n\r\"\\/{}[],:-+.eE0129abfnrtu\x01\x7f";

/// `rounds` damaged files, one to three changes each; those that are no longer UTF-8 are
/// left out (a reader refuses them before any scan).
pub fn files(rounds: usize) -> impl Iterator<Item = String> {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = move |n: usize| {
        // xorshift64: reproducible, no dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % n as u64).unwrap_or_default()
    };
    (0..rounds).filter_map(move |round| {
        let mut bytes = SEEDS[round % SEEDS.len()].as_bytes().to_vec();
        for _ in 0..=next(3) {
            let at = next(bytes.len());
            match next(3) {
                0 => bytes[at] = JUNK[next(JUNK.len())],
                1 => bytes.insert(at, JUNK[next(JUNK.len())]),
                _ => drop(bytes.remove(at)),
            }
        }
        String::from_utf8(bytes).ok()
    })
}
