//! Subjects: whom a record is about, and the identifier that names them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{
    DivisionCode, DocumentKind, IdError, OrgCode, PersonDocument, RegNo, ResidentId, TaxNo, Uscc,
};

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
    /// A pre-USCC tax registration number (record form 2 on).
    TaxNo(TaxNo),
    /// A natural person's identity document other than the resident identity card:
    /// passport, the Hong Kong, Macao and Taiwan residents' permits, the foreign
    /// permanent resident card (personal data; record form 2 on).
    Document(PersonDocument),
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
                    .or_else(|_| TaxNo::parse(t).map(SubjectId::TaxNo))
                    .map_err(|_| e)
            }),
            9 | 10 => OrgCode::parse(t).map(SubjectId::OrgCode),
            _ => Err(IdError::Unrecognised(format!("{n} characters"))),
        }
    }

    /// Parses an identifier written with its kind, as [`Debug`](fmt::Debug) and the
    /// admin tools print it (`tax-no:110108600037341`, `passport:E12345678`), or by
    /// shape as in [`parse`](Self::parse) when it has no such prefix. This is how a
    /// document number, which has no recognisable shape, is named in a query.
    pub fn parse_tagged(s: &str) -> Result<Self, IdError> {
        let t = s.trim();
        let Some((kind, number)) = t.split_once(':') else {
            return Self::parse(t);
        };
        match kind.trim() {
            "uscc" => Uscc::parse(number).map(SubjectId::Uscc),
            "resident-id" => ResidentId::parse(number).map(SubjectId::ResidentId),
            "reg-no" => RegNo::parse(number).map(SubjectId::RegNo),
            "org-code" => OrgCode::parse(number).map(SubjectId::OrgCode),
            "tax-no" => TaxNo::parse(number).map(SubjectId::TaxNo),
            other => match DocumentKind::parse(other) {
                Some(kind) => PersonDocument::parse(kind, number).map(SubjectId::Document),
                None => Err(IdError::Unrecognised(format!(
                    "unknown identifier kind {other:?} (uscc, resident-id, reg-no, org-code, \
                     tax-no, passport, hk-macao-permit, taiwan-permit, \
                     foreign-permanent-resident)"
                ))),
            },
        }
    }

    /// Parses a natural person's identifier given the document type a source file
    /// names (`*_XDR_ZJLX`): the resident identity card when `doc_type` is empty or
    /// names it, else the document it names. `Ok(None)` when the type is not one this
    /// system knows.
    pub fn parse_person(doc_type: Option<&str>, number: &str) -> Result<Option<Self>, IdError> {
        let t = doc_type.map(str::trim).unwrap_or("");
        if t.is_empty() || is_identity_card_type(t) {
            return ResidentId::parse(number).map(|r| Some(SubjectId::ResidentId(r)));
        }
        match DocumentKind::parse(t) {
            Some(kind) => PersonDocument::parse(kind, number).map(|d| Some(SubjectId::Document(d))),
            None => Ok(None),
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
                    15 => RegNo::parse(t)
                        .map(SubjectId::RegNo)
                        .or_else(|e| TaxNo::parse(t).map(SubjectId::TaxNo).map_err(|_| e)),
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
    ///
    /// Identity documents, whose numbers vary in length, end with a zero byte, so that
    /// no number's key is a prefix of another's.
    pub fn index_key(&self) -> Vec<u8> {
        let (tag, text) = self.index_parts();
        let mut key = Vec::with_capacity(text.len() + 2);
        key.push(tag);
        key.extend_from_slice(text.as_bytes());
        if let SubjectId::Document(_) = self {
            key.push(0);
        }
        key
    }

    /// The tag and full text of [`index_key`](Self::index_key), without allocating.
    pub fn index_parts(&self) -> (u8, &str) {
        match self {
            SubjectId::Uscc(u) => (b'U', u.as_str()),
            SubjectId::ResidentId(r) => (b'P', r.unmasked()),
            SubjectId::RegNo(r) => (b'R', r.as_str()),
            SubjectId::OrgCode(o) => (b'O', o.as_str()),
            SubjectId::TaxNo(t) => (b'S', t.as_str()),
            SubjectId::Document(d) => (d.kind().tag(), d.unmasked()),
        }
    }

    /// The organisation code this identifier carries inside it (a USCC's positions
    /// 9-17, a tax number's 7-15), or is: the alias under which the subject's records
    /// filed before the USCC are found.
    pub fn embedded_org_code(&self) -> Option<OrgCode> {
        match self {
            SubjectId::Uscc(u) => OrgCode::parse(u.org_code()).ok(),
            SubjectId::TaxNo(t) => t.org_code(),
            SubjectId::OrgCode(o) => Some(*o),
            _ => None,
        }
    }

    /// The form of record this identifier needs: 2 for the kinds added with record
    /// form 2 (tax numbers, identity documents), else 1.
    pub fn record_form(&self) -> u8 {
        match self {
            SubjectId::TaxNo(_) | SubjectId::Document(_) => 2,
            _ => 1,
        }
    }

    /// The division where the subject was registered, when the identifier carries one
    /// (organisation codes do not).
    pub fn division(&self) -> Option<DivisionCode> {
        match self {
            SubjectId::Uscc(u) => Some(u.division()),
            SubjectId::ResidentId(r) => Some(r.division()),
            SubjectId::RegNo(r) => Some(r.division()),
            SubjectId::TaxNo(t) => Some(t.division()),
            SubjectId::OrgCode(_) | SubjectId::Document(_) => None,
        }
    }

    /// Whether the identifier is personal data (a natural person's number).
    pub fn is_personal(&self) -> bool {
        matches!(self, SubjectId::ResidentId(_) | SubjectId::Document(_))
    }

    /// The kind of identifier, for messages: `uscc`, `resident-id`, `reg-no`,
    /// `org-code`, `tax-no`, or the document's kind (`passport`, …).
    pub fn kind_name(&self) -> &'static str {
        match self {
            SubjectId::Uscc(_) => "uscc",
            SubjectId::ResidentId(_) => "resident-id",
            SubjectId::RegNo(_) => "reg-no",
            SubjectId::OrgCode(_) => "org-code",
            SubjectId::TaxNo(_) => "tax-no",
            SubjectId::Document(d) => d.kind().as_str(),
        }
    }

    /// The identifier in full as [`parse_tagged`](Self::parse_tagged) reads it back:
    /// identity documents and tax numbers with their kind (`passport:E12345678`), the
    /// others bare. Personal identifiers come out unmasked.
    pub fn tagged(&self) -> String {
        match self {
            SubjectId::Document(_) | SubjectId::TaxNo(_) => {
                format!("{}:{}", self.kind_name(), self.unmasked())
            }
            other => other.unmasked(),
        }
    }

    /// The identifier in full. Personal identifiers come out unmasked: use only where
    /// the caller may see them.
    pub fn unmasked(&self) -> String {
        match self {
            SubjectId::ResidentId(r) => r.unmasked().to_string(),
            SubjectId::Document(d) => d.unmasked().to_string(),
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
            SubjectId::TaxNo(t) => t.fmt(f),
            SubjectId::Document(d) => d.fmt(f),
        }
    }
}

/// Whether a document type names the resident identity card.
pub fn is_identity_card_type(t: &str) -> bool {
    matches!(
        t.trim(),
        "" | "身份证"
            | "居民身份证"
            | "身份证号"
            | "身份证号码"
            | "居民身份证号码"
            | "二代身份证"
            | "111"
            | "resident-id"
    )
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
