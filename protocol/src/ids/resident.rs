//! Resident identity numbers (GB 11643-1999): a six-digit address code, an eight-digit
//! birth date, a three-digit sequence (odd for men) and an ISO 7064 MOD 11-2 check
//! character. Legacy 15-digit numbers (two-digit year, no check) are converted to the
//! 18-digit form, so that both forms of one person's number find the same records.
//!
//! A resident identity number is personal data: its [`Display`](std::fmt::Display)
//! implementation masks it; only [`ResidentId::unmasked`] gives the full number.

use std::fmt;

use super::{DivisionCode, IdError};
use crate::date::Date;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// A validated 18-digit resident identity number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResidentId([u8; 18]);

/// The MOD 11-2 check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, w)| u32::from(c - b'0') * w)
        .sum();
    char::from(CHECK[(sum % 11) as usize])
}

impl ResidentId {
    /// Parses an 18-digit number (check and birth date validated) or a legacy 15-digit
    /// number (birth date validated, converted to 18 digits).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let upper = s.trim().to_ascii_uppercase();
        let b = upper.as_bytes();
        let n = upper.chars().count();
        match (n, b.len()) {
            (18, 18) => {
                if let Some(i) = b[..17].iter().position(|c| !c.is_ascii_digit()) {
                    return Err(IdError::Character {
                        position: i + 1,
                        found: char::from(b[i]),
                    });
                }
                if !(b[17].is_ascii_digit() || b[17] == b'X') {
                    return Err(IdError::Character {
                        position: 18,
                        found: char::from(b[17]),
                    });
                }
                Self::check_address(&upper[..6])?;
                Self::check_birth(&upper[6..14])?;
                let expected = check_char(&b[..17]);
                if char::from(b[17]) != expected {
                    return Err(IdError::Check {
                        position: 18,
                        expected,
                        found: char::from(b[17]),
                    });
                }
                let mut out = [0u8; 18];
                out.copy_from_slice(b);
                Ok(ResidentId(out))
            }
            (15, 15) => {
                if let Some(i) = b.iter().position(|c| !c.is_ascii_digit()) {
                    return Err(IdError::Character {
                        position: i + 1,
                        found: char::from(b[i]),
                    });
                }
                Self::check_address(&upper[..6])?;
                let mut long = format!("{}19{}", &upper[..6], &upper[6..]);
                Self::check_birth(&long[6..14])?;
                long.push(check_char(long.as_bytes()));
                Self::parse(&long)
            }
            _ => Err(IdError::Length {
                expected: "18 (or legacy 15)",
                found: n,
            }),
        }
    }

    fn check_address(code: &str) -> Result<(), IdError> {
        DivisionCode::parse(code).map(|_| ())
    }

    fn check_birth(yyyymmdd: &str) -> Result<(), IdError> {
        Date::parse(yyyymmdd)
            .map(|_| ())
            .map_err(|_| IdError::BirthDate(yyyymmdd.to_string()))
    }

    /// Builds a valid number from its first 17 digits, computing the check character.
    pub fn with_check(first17: &str) -> Result<Self, IdError> {
        if first17.len() != 17 || !first17.bytes().all(|c| c.is_ascii_digit()) {
            return Err(IdError::Length {
                expected: "17 digits",
                found: first17.chars().count(),
            });
        }
        let mut s = first17.to_string();
        s.push(check_char(first17.as_bytes()));
        Self::parse(&s)
    }

    /// The address code (positions 1-6): where the number was issued.
    pub fn division(&self) -> DivisionCode {
        DivisionCode::parse(&self.unmasked()[..6]).unwrap_or(DivisionCode::NATIONAL)
    }

    /// The birth date (positions 7-14).
    pub fn birth_date(&self) -> Date {
        Date::parse(&self.unmasked()[6..14])
            .expect("the birth date was validated when the number was parsed")
    }

    /// Whether the sequence number (positions 15-17) is odd, which the standard assigns to men.
    pub fn is_male(&self) -> bool {
        (self.0[16] - b'0') % 2 == 1
    }

    /// The full number. Use only where the caller's role is allowed to see it.
    pub fn unmasked(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The number with its birth date and sequence hidden: `110105********002X`
    /// keeps the address code and the last four characters.
    pub fn masked(&self) -> String {
        let s = self.unmasked();
        format!("{}********{}", &s[..6], &s[14..])
    }
}

/// Displays the masked form: personal identifiers never reach output by accident.
impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

super::text_serde!(ResidentId, unmasked());

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn brief_examples() {
        for id in [
            "11010519491231002X",
            "360426199101010071",
            "44011320141005001X",
        ] {
            ResidentId::parse(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        }
        assert_eq!(
            ResidentId::parse("36042619910102009X"),
            Err(IdError::Check {
                position: 18,
                expected: '3',
                found: 'X'
            })
        );
        assert_eq!(
            ResidentId::parse("360426199113010079"),
            Err(IdError::BirthDate("19911301".into()))
        );
    }

    #[test]
    fn lower_case_x_and_legacy_numbers() {
        assert_eq!(
            ResidentId::parse("11010519491231002x").unwrap().unmasked(),
            "11010519491231002X"
        );
        // A 15-digit legacy number becomes its 18-digit form.
        let legacy = ResidentId::parse("110105491231002").unwrap();
        assert_eq!(legacy.unmasked(), "11010519491231002X");
        assert!(matches!(
            ResidentId::parse("110105491331002"),
            Err(IdError::BirthDate(_))
        ));
    }

    #[test]
    fn masked_everywhere_by_default() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.to_string(), "110105********002X");
        assert!(!format!("{id:?}").contains("19491231"));
        assert_eq!(id.birth_date(), Date::new(1949, 12, 31).unwrap());
        assert!(!id.is_male());
    }

    proptest! {
        #[test]
        fn generated_numbers_validate_and_substitutions_are_caught(
            days in -20_000i32..20_000, seq in 0u32..1000, pos in 0usize..18, digit in 0u8..10
        ) {
            let birth = Date::from_days_since_epoch(days).unwrap();
            let first17 = format!("320583{:04}{:02}{:02}{:03}", birth.year(), birth.month(), birth.day(), seq);
            let id = ResidentId::with_check(&first17).unwrap();
            prop_assert_eq!(id.birth_date(), birth);
            let mut b = id.unmasked().as_bytes().to_vec();
            prop_assume!(b[pos] != b'0' + digit);
            b[pos] = b'0' + digit;
            prop_assert!(ResidentId::parse(std::str::from_utf8(&b).unwrap()).is_err());
        }
    }
}
