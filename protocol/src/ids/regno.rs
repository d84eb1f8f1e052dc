//! Business registration numbers (工商注册号): the 15-digit numbers that registration
//! authorities issued before the USCC, checked with ISO 7064 MOD 11,10.

use std::fmt;

use super::{DivisionCode, IdError};

/// A validated 15-digit business registration number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegNo([u8; 15]);

/// ISO 7064 MOD 11,10 check digit over the first 14 digits.
fn check_digit(digits: &[u8]) -> u8 {
    let mut p: u32 = 10;
    for &d in digits {
        let mut s = (p + u32::from(d - b'0')) % 10;
        if s == 0 {
            s = 10;
        }
        p = (s * 2) % 11;
    }
    // The check digit c makes (p + c) mod 10 == 1.
    ((11 - p) % 10) as u8 + b'0'
}

impl RegNo {
    /// Parses a 15-digit registration number and checks its check digit and the division
    /// code of the registering authority in its first six digits.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        let bytes = s.as_bytes();
        if bytes.len() != 15 || s.chars().count() != 15 {
            return Err(IdError::Length {
                expected: "15",
                found: s.chars().count(),
            });
        }
        if let Some(i) = bytes.iter().position(|c| !c.is_ascii_digit()) {
            return Err(IdError::Character {
                position: i + 1,
                found: char::from(bytes[i]),
            });
        }
        DivisionCode::parse(&s[..6])?;
        let expected = check_digit(&bytes[..14]);
        if bytes[14] != expected {
            return Err(IdError::Check {
                position: 15,
                expected: char::from(expected),
                found: char::from(bytes[14]),
            });
        }
        let mut out = [0u8; 15];
        out.copy_from_slice(bytes);
        Ok(RegNo(out))
    }

    /// Builds a valid registration number from its first 14 digits (used by generators).
    pub fn with_check(first14: &str) -> Result<Self, IdError> {
        if first14.len() != 14 || !first14.bytes().all(|c| c.is_ascii_digit()) {
            return Err(IdError::Length {
                expected: "14 digits",
                found: first14.chars().count(),
            });
        }
        let mut s = first14.to_string();
        s.push(char::from(check_digit(first14.as_bytes())));
        Self::parse(&s)
    }

    /// The division code of the registering authority.
    pub fn division(&self) -> DivisionCode {
        DivisionCode::parse(&self.as_str()[..6]).unwrap_or(DivisionCode::NATIONAL)
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for RegNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RegNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegNo({})", self.as_str())
    }
}

super::text_serde!(RegNo, as_str());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod_11_10_round_trip() {
        let r = RegNo::with_check("32050000012345").unwrap();
        assert_eq!(RegNo::parse(r.as_str()).unwrap(), r);
        assert_eq!(r.division().as_u32(), 320500);
        // Every other final digit is refused.
        let good = r.as_str().as_bytes()[14];
        for d in b'0'..=b'9' {
            if d != good {
                let mut s = r.as_str()[..14].to_string();
                s.push(char::from(d));
                assert!(matches!(
                    RegNo::parse(&s),
                    Err(IdError::Check { position: 15, .. })
                ));
            }
        }
    }

    #[test]
    fn malformed_numbers_are_named() {
        assert!(matches!(
            RegNo::parse("3205000001234"),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(
            RegNo::parse("32050000012345A"),
            Err(IdError::Character { position: 15, .. })
        ));
    }
}
