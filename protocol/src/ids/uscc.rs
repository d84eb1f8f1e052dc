//! Unified Social Credit Codes (GB 32100-2015).
//!
//! Eighteen characters: registration authority (1), organisation category (2),
//! division code of the registering authority (3-8), the GB 11714 organisation code
//! (9-17, whose own check character is position 17) and the check character (18).
//!
//! # Pilot-code policy
//! Some codes issued in Fujian during the 2014-2015 pilot (for example
//! `91350100M0001TGQXM`) are legally issued but fail the position-18 check. Losing
//! such records would be worse than accepting them, so [`Uscc::parse`] accepts a code
//! whose **only** fault is the position-18 check when it was issued by market
//! regulation (position 1 `9`) in Fujian (division `35xxxx`) and its embedded
//! organisation code passes its own check. Such a code is flagged:
//! [`Uscc::is_pilot_exception`] is true, and [`Uscc::parse_strict`] refuses it.
//! Every other check failure is refused.

use std::fmt;

use super::{orgcode, DivisionCode, IdError};

/// The USCC alphabet: digits and capitals without I, O, Z, S, V. A symbol's value is its index.
pub const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights 3^(i-1) mod 31 for positions 1-17.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Registration authorities allowed in position 1.
const AUTHORITIES: &[u8] = b"123456789ANY";

/// A Unified Social Credit Code that passed validation (possibly under the pilot policy).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc([u8; 18]);

fn symbol_value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|v| v as u32)
}

/// The check character for the first 17 characters (which must be in the alphabet).
pub fn check_char(first17: &[u8]) -> Option<char> {
    let mut sum = 0;
    for (&c, w) in first17.iter().zip(WEIGHTS) {
        sum += symbol_value(c)? * w;
    }
    let v = (31 - sum % 31) % 31;
    Some(char::from(ALPHABET[v as usize]))
}

/// The name of a registration authority (position 1).
pub fn authority_name(c: char) -> Option<&'static str> {
    Some(match c {
        '1' => "organisation staffing",
        '2' => "foreign affairs",
        '3' => "justice",
        '4' => "culture",
        '5' => "civil affairs",
        '6' => "tourism",
        '7' => "religion",
        '8' => "trade unions",
        '9' => "market regulation",
        'A' => "central military staffing office",
        'N' => "agriculture",
        'Y' => "other",
        _ => return None,
    })
}

impl Uscc {
    /// Parses and validates a code, accepting pilot codes under the documented policy.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Self::parse_inner(s, true)
    }

    /// Parses and validates a code exactly by the standard (pilot codes are refused).
    pub fn parse_strict(s: &str) -> Result<Self, IdError> {
        Self::parse_inner(s, false)
    }

    fn parse_inner(s: &str, allow_pilot: bool) -> Result<Self, IdError> {
        let upper = s.trim().to_ascii_uppercase();
        let bytes = upper.as_bytes();
        let n = upper.chars().count();
        if n != 18 || bytes.len() != 18 {
            return Err(IdError::Length {
                expected: "18",
                found: n,
            });
        }
        if let Some(i) = bytes.iter().position(|&c| symbol_value(c).is_none()) {
            return Err(IdError::Character {
                position: i + 1,
                found: char::from(bytes[i]),
            });
        }
        if !AUTHORITIES.contains(&bytes[0]) {
            return Err(IdError::Authority(char::from(bytes[0])));
        }
        let division = &upper[2..8];
        if let Some(i) = division.bytes().position(|c| !c.is_ascii_digit()) {
            return Err(IdError::Character {
                position: i + 3,
                found: char::from(bytes[i + 2]),
            });
        }
        // 100000 names the central level inside USCCs of central bodies.
        if division != "100000" {
            DivisionCode::parse(division)?;
        }
        let org_expected = orgcode::check_char(&bytes[8..16]).map_err(|i| IdError::Character {
            position: i + 9,
            found: char::from(bytes[i + 8]),
        })?;
        if char::from(bytes[16]) != org_expected {
            return Err(IdError::OrgCodeCheck {
                position: 17,
                expected: org_expected,
                found: char::from(bytes[16]),
            });
        }
        let expected = check_char(&bytes[..17]).unwrap_or('?');
        let found = char::from(bytes[17]);
        let mut out = [0u8; 18];
        out.copy_from_slice(bytes);
        let code = Uscc(out);
        if found != expected && !(allow_pilot && code.pilot_eligible()) {
            return Err(IdError::Check {
                position: 18,
                expected,
                found,
            });
        }
        Ok(code)
    }

    /// Builds a valid code from its first 16 characters, computing both check characters
    /// (used by generators and tests).
    pub fn with_checks(first16: &str) -> Result<Self, IdError> {
        let b = first16.as_bytes();
        if b.len() != 16 {
            return Err(IdError::Length {
                expected: "16",
                found: first16.chars().count(),
            });
        }
        let org = orgcode::check_char(&b[8..16]).map_err(|i| IdError::Character {
            position: i + 9,
            found: char::from(b[i + 8]),
        })?;
        let mut s = first16.to_string();
        s.push(org);
        let check = check_char(s.as_bytes()).ok_or(IdError::Unrecognised(first16.into()))?;
        s.push(check);
        Self::parse_strict(&s)
    }

    fn pilot_eligible(&self) -> bool {
        self.0[0] == b'9' && &self.0[2..4] == b"35"
    }

    /// True when the code fails the position-18 check and was accepted only under the
    /// pilot-code policy (see the module documentation).
    pub fn is_pilot_exception(&self) -> bool {
        check_char(&self.0[..17]) != Some(char::from(self.0[17]))
    }

    /// The registration authority character (position 1).
    pub fn authority(&self) -> char {
        char::from(self.0[0])
    }

    /// The organisation category character (position 2).
    pub fn category(&self) -> char {
        char::from(self.0[1])
    }

    /// The division code of the registering authority (positions 3-8); the national
    /// jurisdiction for central bodies (`100000`).
    pub fn division(&self) -> DivisionCode {
        DivisionCode::parse(&self.as_str()[2..8]).unwrap_or(DivisionCode::NATIONAL)
    }

    /// The embedded organisation code (positions 9-17).
    pub fn org_code(&self) -> &str {
        &self.as_str()[8..17]
    }

    /// Whether position 1-2 say "individual business" (market regulation, category 2).
    pub fn is_individual_business(&self) -> bool {
        self.0[0] == b'9' && self.0[1] == b'2'
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uscc({})", self.as_str())
    }
}

super::text_serde!(Uscc, as_str());

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: [&str; 6] = [
        "91110000600037341L",
        "121200004013590816",
        "91620105L015101280",
        "91340600MA2PBM9HXD",
        "92340602MA2PBMEM24",
        "91310110666007217T",
    ];

    #[test]
    fn brief_examples_are_valid() {
        for code in VALID {
            let u = Uscc::parse_strict(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert!(!u.is_pilot_exception());
        }
        assert!(Uscc::parse("92340602MA2PBMEM24")
            .unwrap()
            .is_individual_business());
        assert_eq!(
            Uscc::parse("91110000600037341L")
                .unwrap()
                .division()
                .as_u32(),
            110000
        );
    }

    #[test]
    fn brief_invalid_examples_say_why() {
        assert_eq!(
            Uscc::parse("91110000600037341N"),
            Err(IdError::Check {
                position: 18,
                expected: 'L',
                found: 'N'
            })
        );
        assert_eq!(
            Uscc::parse("9111000060003IOZSV"),
            Err(IdError::Character {
                position: 14,
                found: 'I'
            })
        );
    }

    #[test]
    fn pilot_codes_are_accepted_and_flagged() {
        let pilot = Uscc::parse("91350100M0001TGQXM").unwrap();
        assert!(pilot.is_pilot_exception());
        assert!(matches!(
            Uscc::parse_strict("91350100M0001TGQXM"),
            Err(IdError::Check { position: 18, .. })
        ));
        // The same fault outside the pilot is refused.
        let mut other = "91320100M0001TGQX".to_string();
        let wrong = if check_char(other.as_bytes()) == Some('M') {
            'N'
        } else {
            'M'
        };
        other.push(wrong);
        assert!(matches!(Uscc::parse(&other), Err(IdError::Check { .. })));
    }

    #[test]
    fn letters_in_position_one_are_authorities() {
        let a = Uscc::with_checks("N2320500MA1XXXXX").unwrap();
        assert_eq!(a.authority(), 'N');
        assert!(matches!(
            Uscc::parse(&format!("B{}", &a.as_str()[1..])),
            Err(IdError::Authority('B'))
        ));
    }

    #[test]
    fn embedded_org_code_is_checked() {
        // Change the organisation code's check character, then fix position 18 so only
        // the embedded check fails.
        let mut s = "91110000600037342".to_string();
        s.push(check_char(s.as_bytes()).unwrap());
        assert_eq!(
            Uscc::parse(&s),
            Err(IdError::OrgCodeCheck {
                position: 17,
                expected: '1',
                found: '2'
            })
        );
    }

    #[test]
    fn retired_divisions_are_tolerated() {
        // Wujiang city (320584) was retired in 2012; its codes stay valid.
        let u = Uscc::with_checks("91320584MA1ABCDE").unwrap();
        assert_eq!(u.division().as_u32(), 320584);
    }

    fn arb_body() -> impl Strategy<Value = String> {
        let sym = proptest::sample::select(ALPHABET.to_vec());
        let digit = proptest::sample::select(b"0123456789".to_vec());
        (
            proptest::sample::select(AUTHORITIES.to_vec()),
            sym.clone(),
            proptest::sample::select(vec!["320500", "110105", "330100", "350100", "440300"]),
            proptest::collection::vec(prop_oneof![sym, digit], 8),
        )
            .prop_map(|(a, c, d, body)| {
                format!(
                    "{}{}{}{}",
                    a as char,
                    c as char,
                    d,
                    String::from_utf8(body).unwrap()
                )
            })
    }

    proptest! {
        #[test]
        fn generated_codes_validate_and_every_single_substitution_is_caught(
            body in arb_body(), pos in 0usize..18, sym in 0usize..31
        ) {
            let code = Uscc::with_checks(&body).unwrap();
            prop_assert_eq!(Uscc::parse_strict(code.as_str()).unwrap(), code);
            let mut bytes = code.as_str().as_bytes().to_vec();
            let replacement = ALPHABET[sym];
            prop_assume!(bytes[pos] != replacement);
            bytes[pos] = replacement;
            let mutated = String::from_utf8(bytes).unwrap();
            // MOD 31 with weights coprime to 31 catches every single substitution.
            prop_assert!(Uscc::parse_strict(&mutated).is_err());
        }
    }
}
