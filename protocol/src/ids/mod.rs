//! Identifier validation: USCC (GB 32100-2015), resident identity numbers
//! (GB 11643-1999), organisation codes (GB 11714), business registration numbers, tax
//! registration numbers, natural persons' other identity documents (passports, permits,
//! permanent resident cards) and GB/T 2260 division codes.
//!
//! Every parser checks exactly the algorithm its standard defines and reports the
//! first thing that is wrong, with its position where there is one.

/// Serialises an identifier as its full text and validates it again when reading, so
/// that nothing unchecked enters from a file or the network.
macro_rules! text_serde {
    ($ty:ident, $text:ident()) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.$text())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $ty::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use text_serde;

pub mod division;
pub mod document;
pub mod orgcode;
pub mod regno;
pub mod resident;
pub mod subject;
pub mod taxno;
pub mod uscc;

pub use division::{DivisionCode, DivisionLevel, DivisionStatus};
pub use document::{DocumentKind, PersonDocument};
pub use orgcode::OrgCode;
pub use regno::RegNo;
pub use resident::ResidentId;
pub use subject::{Subject, SubjectId, SubjectKind};
pub use taxno::TaxNo;
pub use uscc::Uscc;

/// Why an identifier was refused. Positions count from 1, as the standards do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The identifier has the wrong number of characters.
    #[error("expected {expected} characters, found {found}")]
    Length {
        /// The accepted length(s), e.g. `"18"` or `"15 or 18"`.
        expected: &'static str,
        /// The number of characters given.
        found: usize,
    },
    /// A character outside the identifier's alphabet.
    #[error("character {found:?} at position {position} is not allowed here")]
    Character {
        /// 1-based position of the character.
        position: usize,
        /// The character found.
        found: char,
    },
    /// The USCC registration authority (position 1) is not a known authority.
    #[error("registration authority {0:?} at position 1 is not one of 1-9, A, N, Y")]
    Authority(char),
    /// The division code part is malformed.
    #[error("division code: {0}")]
    Division(String),
    /// The embedded organisation code's check character is wrong.
    #[error("organisation code check character at position {position} is {found:?}, expected {expected:?}")]
    OrgCodeCheck {
        /// 1-based position of the check character in the identifier given.
        position: usize,
        /// The correct check character.
        expected: char,
        /// The character found.
        found: char,
    },
    /// The check character is wrong.
    #[error("check character at position {position} is {found:?}, expected {expected:?}")]
    Check {
        /// 1-based position of the check character.
        position: usize,
        /// The correct check character.
        expected: char,
        /// The character found.
        found: char,
    },
    /// The birth date inside a resident identity number is not a calendar date.
    #[error("birth date {0} (positions 7-14) is not a valid date")]
    BirthDate(String),
    /// The text does not look like any identifier kind this system knows.
    #[error("not a recognisable identifier ({0})")]
    Unrecognised(String),
}
