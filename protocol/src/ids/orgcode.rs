//! Organisation codes (GB 11714): eight body characters and one check character.

use std::fmt;

use super::IdError;

/// Weights of the GB 11714 check over the eight body characters.
const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// A validated nine-character organisation code, without the hyphen (`60003734X`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgCode([u8; 9]);

/// The GB 11714 value of a body character: `0-9` are 0-9, `A-Z` are 10-35.
fn value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// Computes the check character for eight body characters, or the position (0-based)
/// of the first character outside the alphabet.
pub(crate) fn check_char(body: &[u8]) -> Result<char, usize> {
    let mut sum = 0;
    for (i, (&c, w)) in body.iter().zip(WEIGHTS).enumerate() {
        sum += value(c).ok_or(i)? * w;
    }
    Ok(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        c => char::from_digit(c, 10).unwrap_or('0'),
    })
}

impl OrgCode {
    /// Parses `XXXXXXXX-X` or `XXXXXXXXX` (upper or lower case) and checks the check character.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let cleaned: String = s.trim().chars().filter(|&c| c != '-').collect();
        let upper = cleaned.to_ascii_uppercase();
        let bytes = upper.as_bytes();
        if upper.chars().count() != 9 || bytes.len() != 9 {
            return Err(IdError::Length {
                expected: "9 (or 10 with a hyphen)",
                found: cleaned.chars().count(),
            });
        }
        let expected = check_char(&bytes[..8]).map_err(|i| IdError::Character {
            position: i + 1,
            found: char::from(bytes[i]),
        })?;
        let found = char::from(bytes[8]);
        if found != expected {
            return Err(IdError::Check {
                position: 9,
                expected,
                found,
            });
        }
        let mut out = [0u8; 9];
        out.copy_from_slice(bytes);
        Ok(OrgCode(out))
    }

    /// The code as text, without the hyphen.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for OrgCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for OrgCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgCode({})", self.as_str())
    }
}

super::text_serde!(OrgCode, as_str());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_embedded_in_valid_usccs_pass() {
        for code in [
            "60003734-1",
            "401359081",
            "L01510128",
            "MA2PBM9HX",
            "66600721-7",
        ] {
            OrgCode::parse(code).unwrap();
        }
    }

    #[test]
    fn wrong_check_is_named() {
        assert_eq!(
            OrgCode::parse("600037342"),
            Err(IdError::Check {
                position: 9,
                expected: '1',
                found: '2'
            })
        );
        assert!(matches!(
            OrgCode::parse("6000373"),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(
            OrgCode::parse("60003#341"),
            Err(IdError::Character { position: 6, .. })
        ));
    }
}
