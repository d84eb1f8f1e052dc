//! Subject names as the name index sees them: normalised text and its character
//! pairs (bigrams).
//!
//! A name is normalised by dropping white space and the punctuation that varies
//! between sources (brackets, dots, hyphens), turning full-width letters and digits
//! into ASCII and upper-casing ASCII letters, so that `苏州（示例）科技有限公司` and
//! `苏州(示例)科技有限公司` are one name. The index files each subject under every pair
//! of adjacent characters of its normalised name, except pairs so common in
//! organisation names that a search by them alone would match most of the index
//! ([`STOP_PAIRS`]: 有限, 公司, …). A search for a fragment looks up the pairs of the
//! fragment and keeps the names that contain it whole.

/// Pairs not indexed: they stand in most organisation names.
pub const STOP_PAIRS: [&str; 8] = [
    "有限", "限公", "公司", "责任", "任公", "股份", "份有", "分公",
];

/// The normalised form of a name (see the module docs).
pub fn normalise(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            let c = match c {
                // Full-width ASCII (！ to ～) to ASCII.
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                c => c,
            };
            if c.is_whitespace()
                || matches!(
                    c,
                    '(' | ')'
                        | '（'
                        | '）'
                        | '['
                        | ']'
                        | '【'
                        | '】'
                        | '·'
                        | '•'
                        | '.'
                        | '-'
                        | '_'
                        | '"'
                        | '\''
                        | '“'
                        | '”'
                        | '‘'
                        | '’'
                        | '、'
                        | ','
                        | '，'
                )
            {
                None
            } else {
                Some(c.to_ascii_uppercase())
            }
        })
        .collect()
}

/// The pairs of adjacent characters of a normalised name that the index files it
/// under, each once, stop pairs left out. A one-character name gives the pair of that
/// character and `'\0'`.
pub fn pairs(normalised: &str) -> Vec<[char; 2]> {
    let chars: Vec<char> = normalised.chars().collect();
    let mut out: Vec<[char; 2]> = match chars.as_slice() {
        [] => Vec::new(),
        [one] => vec![[*one, '\0']],
        _ => chars.windows(2).map(|w| [w[0], w[1]]).collect(),
    };
    out.retain(|p| !is_stop(*p));
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether a pair is one of [`STOP_PAIRS`].
pub fn is_stop(pair: [char; 2]) -> bool {
    STOP_PAIRS.iter().any(|s| {
        let mut c = s.chars();
        c.next() == Some(pair[0]) && c.next() == Some(pair[1])
    })
}

/// The pair's bytes in the index: both characters as 32-bit big-endian numbers.
pub fn pair_bytes(pair: [char; 2]) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&(pair[0] as u32).to_be_bytes());
    b[4..].copy_from_slice(&(pair[1] as u32).to_be_bytes());
    b
}

/// Eight bytes that tell one normalised name from another in index keys (the first
/// bytes of its BLAKE3 hash): the key stays short whatever the name's length.
pub fn name_hash(normalised: &str) -> [u8; 8] {
    let h = blake3::hash(normalised.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&h.as_bytes()[..8]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_of_a_name_normalise_alike() {
        assert_eq!(
            normalise("苏州（示例）科技 有限公司"),
            "苏州示例科技有限公司"
        );
        assert_eq!(normalise("苏州(示例)科技有限公司"), "苏州示例科技有限公司");
        assert_eq!(normalise("ＡＢＣ 贸易"), "ABC贸易");
        assert_eq!(normalise("john·smith"), "JOHNSMITH");
    }

    #[test]
    fn pairs_leave_out_the_common_ones() {
        let p = pairs(&normalise("苏州示例科技有限公司"));
        let text: Vec<String> = p.iter().map(|[a, b]| format!("{a}{b}")).collect();
        assert!(text.contains(&"示例".to_string()));
        assert!(!text.contains(&"有限".to_string()));
        assert!(!text.contains(&"公司".to_string()));
        assert_eq!(pairs("王"), vec![['王', '\0']]);
        assert!(pairs("有限公司").is_empty());
    }
}
