//! Subjects: whom a record is about, and the identifier that names them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{DivisionCode, IdError, OrgCode, RegNo, ResidentId, Uscc};

/// The kind of party a record is about (`*_XDR_LB` in the national format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubjectKind {
    /// A legal person or other organisation (法人及非法人组织).
    LegalPerson,
    /// An individual business (个体工商户).
    IndividualBusiness,
    /// A natural person (自然人).
    NaturalPerson,
}

impl SubjectKind {
    /// Parses the values found in source files: the Chinese names, the English names
    /// used here, and the numeric codes 1-3 of the national format.
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        Some(match t {
            "法人及非法人组织"
            | "法人和非法人组织"
            | "法人"
            | "非法人组织"
            | "1"
            | "legal-person" => SubjectKind::LegalPerson,
            "个体工商户" | "3" | "individual-business" => SubjectKind::IndividualBusiness,
            "自然人" | "2" | "natural-person" => SubjectKind::NaturalPerson,
            _ => return None,
        })
    }

    /// The stable English name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::LegalPerson => "legal-person",
            SubjectKind::IndividualBusiness => "individual-business",
            SubjectKind::NaturalPerson => "natural-person",
        }
    }
}

/// The identifier that names a subject. Records are indexed by it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SubjectId {
    /// A Unified Social Credit Code.
    Uscc(Uscc),
    /// A resident identity number (personal data).
    ResidentId(ResidentId),
    /// A pre-USCC business registration number.
    RegNo(RegNo),
    /// A pre-USCC organisation code.
    OrgCode(OrgCode),
}

impl SubjectId {
    /// Recognises an identifier by its shape: 18 characters are a resident identity
    /// number when they are digits (with a final `X`) carrying a birth date, else a
    /// USCC; 15 digits are a registration number (or a legacy identity number when
    /// that fails); 9 characters (10 with a hyphen) are an organisation code.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let t = s.trim();
        let n = t.chars().count();
        let digits17 = t.len() == 18 && t.as_bytes()[..17].iter().all(u8::is_ascii_digit);
        match n {
            18 if digits17 => match ResidentId::parse(t) {
                Ok(id) => Ok(SubjectId::ResidentId(id)),
                // All-digit USCCs exist (authority 1, category 2, ...): try that too,
                // and report the identity-number error if both fail.
                Err(e) => Uscc::parse(t).map(SubjectId::Uscc).map_err(|_| e),
            },
            18 => Uscc::parse(t).map(SubjectId::Uscc),
            15 => RegNo::parse(t).map(SubjectId::RegNo).or_else(|e| {
                ResidentId::parse(t)
                    .map(SubjectId::ResidentId)
                    .map_err(|_| e)
            }),
            9 | 10 => OrgCode::parse(t).map(SubjectId::OrgCode),
            _ => Err(IdError::Unrecognised(format!("{n} characters"))),
        }
    }

    /// Parses the identifier of a subject of a known kind: a natural person's is a
    /// resident identity number (15 or 18 digits); an organisation's or individual
    /// business's is recognised by shape as in [`parse`](Self::parse) but never as a
    /// resident identity number. This settles the 15-digit ambiguity between legacy
    /// identity numbers and registration numbers.
    pub fn parse_for(kind: SubjectKind, s: &str) -> Result<Self, IdError> {
        match kind {
            SubjectKind::NaturalPerson => ResidentId::parse(s).map(SubjectId::ResidentId),
            SubjectKind::LegalPerson | SubjectKind::IndividualBusiness => {
                let t = s.trim();
                match t.chars().count() {
                    18 => Uscc::parse(t).map(SubjectId::Uscc),
                    15 => RegNo::parse(t).map(SubjectId::RegNo),
                    9 | 10 => OrgCode::parse(t).map(SubjectId::OrgCode),
                    n => Err(IdError::Length {
                        expected: "18 (USCC), 15 (registration number) or 9 (organisation code)",
                        found: n,
                    }),
                }
            }
        }
    }

    /// The bytes under which the subject index files records: a one-letter kind tag
    /// and the identifier (`U91110000600037341L`).
    pub fn index_key(&self) -> Vec<u8> {
        let (tag, text) = self.index_parts();
        let mut key = Vec::with_capacity(text.len() + 1);
        key.push(tag);
        key.extend_from_slice(text.as_bytes());
        key
    }

    /// The tag and full text of [`index_key`](Self::index_key), without allocating.
    pub fn index_parts(&self) -> (u8, &str) {
        match self {
            SubjectId::Uscc(u) => (b'U', u.as_str()),
            SubjectId::ResidentId(r) => (b'P', r.unmasked()),
            SubjectId::RegNo(r) => (b'R', r.as_str()),
            SubjectId::OrgCode(o) => (b'O', o.as_str()),
        }
    }

    /// The division where the subject was registered, when the identifier carries one
    /// (organisation codes do not).
    pub fn division(&self) -> Option<DivisionCode> {
        match self {
            SubjectId::Uscc(u) => Some(u.division()),
            SubjectId::ResidentId(r) => Some(r.division()),
            SubjectId::RegNo(r) => Some(r.division()),
            SubjectId::OrgCode(_) => None,
        }
    }

    /// Whether the identifier is personal data (a natural person's number).
    pub fn is_personal(&self) -> bool {
        matches!(self, SubjectId::ResidentId(_))
    }

    /// The kind of identifier, for messages: `uscc`, `resident-id`, `reg-no`, `org-code`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            SubjectId::Uscc(_) => "uscc",
            SubjectId::ResidentId(_) => "resident-id",
            SubjectId::RegNo(_) => "reg-no",
            SubjectId::OrgCode(_) => "org-code",
        }
    }

    /// The identifier in full. Personal identifiers come out unmasked: use only where
    /// the caller may see them.
    pub fn unmasked(&self) -> String {
        match self {
            SubjectId::ResidentId(r) => r.unmasked().to_string(),
            other => other.to_string(),
        }
    }
}

/// Displays the identifier, masking personal identifiers.
impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectId::Uscc(u) => u.fmt(f),
            SubjectId::ResidentId(r) => r.fmt(f),
            SubjectId::RegNo(r) => r.fmt(f),
            SubjectId::OrgCode(o) => o.fmt(f),
        }
    }
}

impl fmt::Debug for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind_name(), self)
    }
}

/// The party a record is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Subject {
    /// What kind of party it is.
    pub kind: SubjectKind,
    /// The party's name as the source gives it.
    pub name: String,
    /// The identifier that names it.
    pub id: SubjectId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_recognised() {
        assert!(matches!(
            SubjectId::parse("91110000600037341L"),
            Ok(SubjectId::Uscc(_))
        ));
        assert!(matches!(
            SubjectId::parse("121200004013590816"),
            Ok(SubjectId::Uscc(_))
        ));
        assert!(matches!(
            SubjectId::parse("11010519491231002X"),
            Ok(SubjectId::ResidentId(_))
        ));
        assert!(matches!(
            SubjectId::parse("360426199101010071"),
            Ok(SubjectId::ResidentId(_))
        ));
        assert!(matches!(
            SubjectId::parse_for(SubjectKind::NaturalPerson, "110105491231002"),
            Ok(SubjectId::ResidentId(_))
        ));
        assert!(matches!(
            SubjectId::parse_for(SubjectKind::LegalPerson, "11010519491231002X"),
            Err(IdError::Character { .. }
                | IdError::Check { .. }
                | IdError::OrgCodeCheck { .. }
                | IdError::Authority(_)
                | IdError::Division(_))
        ));
        assert!(matches!(
            SubjectId::parse("60003734-1"),
            Ok(SubjectId::OrgCode(_))
        ));
        assert!(matches!(
            SubjectId::parse("36042619910102009X"),
            Err(IdError::Check { .. })
        ));
        assert!(matches!(
            SubjectId::parse("12345"),
            Err(IdError::Unrecognised(_))
        ));
    }

    #[test]
    fn personal_ids_are_masked_but_indexed_in_full() {
        let id = SubjectId::parse("11010519491231002X").unwrap();
        assert_eq!(id.to_string(), "110105********002X");
        assert_eq!(id.index_key(), b"P11010519491231002X".to_vec());
        assert_eq!(id.division().map(|d| d.as_u32()), Some(110105));
    }
}
