//! Identity documents of natural persons other than the resident identity card:
//! passports, the permits of Hong Kong, Macao and Taiwan residents, and the foreign
//! permanent resident identity card.
//!
//! Each is validated as far as its issuer publishes a rule:
//!
//! - **Passport** (护照): 5 to 17 letters and digits. Passports carry no public check
//!   character in their number (the machine-readable zone's checks cover a printed
//!   line, not the number alone), so only the shape is checked.
//! - **Mainland travel permit for Hong Kong and Macao residents** (港澳居民来往内地通行证):
//!   `H` (Hong Kong) or `M` (Macao) and 8 digits, the holder's permanent number. Cards
//!   issued since 2013 print two more digits, the count of renewals; they are dropped,
//!   so that every card of one holder names the same subject.
//! - **Mainland travel permit for Taiwan residents** (台湾居民来往大陆通行证): 8 digits,
//!   the permanent number of the card issued since 2015. Older booklets print a
//!   renewal letter in parentheses after it (`12345678(B)`), which is dropped.
//! - **Foreign permanent resident identity card** (外国人永久居留身份证): the 15-character
//!   form of 2004-2023 (three letters of nationality and 12 digits; no public check),
//!   or the 18-digit form issued since 1 December 2023: `9`, the province that
//!   accepted the application, the numeric nationality code, the birth date
//!   (positions 7-14, validated) and a sequence, with the MOD 11-2 check character of
//!   the resident identity number (validated).
//!
//! These numbers are personal data: [`Display`](fmt::Display) masks them; only
//! [`PersonDocument::unmasked`] gives the number.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::resident::check_char as mod11_2;
use super::IdError;
use crate::date::Date;

/// The kind of a natural person's identity document, the resident identity card
/// aside (that one is a [`ResidentId`](super::ResidentId)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DocumentKind {
    /// A passport (护照), Chinese or foreign.
    Passport,
    /// 港澳居民来往内地通行证.
    HkMacaoPermit,
    /// 台湾居民来往大陆通行证.
    TaiwanPermit,
    /// 外国人永久居留身份证.
    ForeignPermanentResident,
}

impl DocumentKind {
    /// Every kind, in code order.
    pub const ALL: [DocumentKind; 4] = [
        DocumentKind::Passport,
        DocumentKind::HkMacaoPermit,
        DocumentKind::TaiwanPermit,
        DocumentKind::ForeignPermanentResident,
    ];

    /// Recognises a document type as source files name it: the Chinese names and
    /// their usual short forms, the GA/T 517 codes (414, 516, 511, 553) and the
    /// English names of [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<DocumentKind> {
        Some(match s.trim() {
            "护照" | "中国护照" | "外国护照" | "普通护照" | "因公护照" | "外交护照"
            | "公务护照" | "414" | "passport" => DocumentKind::Passport,
            "港澳居民来往内地通行证"
            | "港澳通行证"
            | "回乡证"
            | "港澳居民往来内地通行证"
            | "516"
            | "hk-macao-permit" => DocumentKind::HkMacaoPermit,
            "台湾居民来往大陆通行证" | "台胞证" | "台湾通行证" | "511" | "taiwan-permit" => {
                DocumentKind::TaiwanPermit
            }
            "外国人永久居留身份证"
            | "外国人永久居留证"
            | "永居证"
            | "553"
            | "foreign-permanent-resident" => DocumentKind::ForeignPermanentResident,
            _ => return None,
        })
    }

    /// The stable English name.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Passport => "passport",
            DocumentKind::HkMacaoPermit => "hk-macao-permit",
            DocumentKind::TaiwanPermit => "taiwan-permit",
            DocumentKind::ForeignPermanentResident => "foreign-permanent-resident",
        }
    }

    /// The Chinese name, as the national templates write it.
    pub fn chinese_name(self) -> &'static str {
        match self {
            DocumentKind::Passport => "护照",
            DocumentKind::HkMacaoPermit => "港澳居民来往内地通行证",
            DocumentKind::TaiwanPermit => "台湾居民来往大陆通行证",
            DocumentKind::ForeignPermanentResident => "外国人永久居留身份证",
        }
    }

    /// The one-letter tag of the subject index (`A`, `H`, `W`, `F`).
    pub fn tag(self) -> u8 {
        match self {
            DocumentKind::Passport => b'A',
            DocumentKind::HkMacaoPermit => b'H',
            DocumentKind::TaiwanPermit => b'W',
            DocumentKind::ForeignPermanentResident => b'F',
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest document number kept (a passport's 17 characters; 18 for the foreign
/// permanent resident card).
const MAX_LEN: usize = 18;

/// A validated identity document number of a natural person, in canonical form
/// (upper case, no spaces or hyphens, renewal counts dropped).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonDocument {
    kind: DocumentKind,
    len: u8,
    number: [u8; MAX_LEN],
}

impl PersonDocument {
    /// Parses a number of a document of `kind` into its canonical form.
    pub fn parse(kind: DocumentKind, s: &str) -> Result<PersonDocument, IdError> {
        let cleaned: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
            .collect::<String>()
            .to_ascii_uppercase();
        if let Some((position, found)) = cleaned
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '(' | ')' | '（' | '）')))
        {
            return Err(IdError::Character {
                position: position + 1,
                found,
            });
        }
        let canonical = match kind {
            DocumentKind::Passport => passport(&cleaned)?,
            DocumentKind::HkMacaoPermit => hk_macao(&cleaned)?,
            DocumentKind::TaiwanPermit => taiwan(&cleaned)?,
            DocumentKind::ForeignPermanentResident => permanent_resident(&cleaned)?,
        };
        let mut number = [0u8; MAX_LEN];
        number[..canonical.len()].copy_from_slice(canonical.as_bytes());
        Ok(PersonDocument {
            kind,
            len: canonical.len() as u8,
            number,
        })
    }

    /// The document's kind.
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// The full number. Use only where the caller's role is allowed to see it.
    pub fn unmasked(&self) -> &str {
        std::str::from_utf8(&self.number[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The birth date, for the 18-digit foreign permanent resident card.
    pub fn birth_date(&self) -> Option<Date> {
        (self.kind == DocumentKind::ForeignPermanentResident && self.len == 18)
            .then(|| Date::parse(&self.unmasked()[6..14]).ok())
            .flatten()
    }
}

fn only_digits(s: &str, offset: usize) -> Result<(), IdError> {
    match s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, found)) => Err(IdError::Character {
            position: offset + i + 1,
            found,
        }),
        None => Ok(()),
    }
}

fn passport(s: &str) -> Result<String, IdError> {
    let n = s.chars().count();
    if !(5..=17).contains(&n) {
        return Err(IdError::Length {
            expected: "5 to 17 (a passport number)",
            found: n,
        });
    }
    if let Some((i, found)) = s
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
    {
        return Err(IdError::Character {
            position: i + 1,
            found,
        });
    }
    Ok(s.to_string())
}

fn hk_macao(s: &str) -> Result<String, IdError> {
    let n = s.chars().count();
    let first = s.chars().next().unwrap_or(' ');
    if !matches!(first, 'H' | 'M') {
        return Err(IdError::Character {
            position: 1,
            found: first,
        });
    }
    only_digits(&s[1..], 1)?;
    match n {
        // The holder's permanent number, or with two digits of renewal count.
        9 | 11 => Ok(s[..9].to_string()),
        _ => Err(IdError::Length {
            expected: "9 (H or M and 8 digits) or 11 (with the renewal count)",
            found: n,
        }),
    }
}

fn taiwan(s: &str) -> Result<String, IdError> {
    // An older booklet's renewal letter: 12345678(B).
    let base = match s.find(['(', '（']) {
        Some(i) => {
            let tail: Vec<char> = s[i..].chars().collect();
            let well_formed =
                tail.len() == 3 && tail[1].is_ascii_uppercase() && matches!(tail[2], ')' | '）');
            if !well_formed {
                return Err(IdError::Character {
                    position: s[..i].chars().count() + 1,
                    found: tail[0],
                });
            }
            &s[..i]
        }
        None => s,
    };
    only_digits(base, 0)?;
    let n = base.chars().count();
    if n != 8 {
        return Err(IdError::Length {
            expected: "8 digits (and an optional renewal letter in parentheses)",
            found: n,
        });
    }
    Ok(base.to_string())
}

fn permanent_resident(s: &str) -> Result<String, IdError> {
    let b = s.as_bytes();
    match s.chars().count() {
        15 => {
            if let Some(i) = b[..3].iter().position(|c| !c.is_ascii_uppercase()) {
                return Err(IdError::Character {
                    position: i + 1,
                    found: char::from(b[i]),
                });
            }
            only_digits(&s[3..], 3)?;
            Ok(s.to_string())
        }
        18 => {
            if b[0] != b'9' {
                return Err(IdError::Character {
                    position: 1,
                    found: char::from(b[0]),
                });
            }
            only_digits(&s[..17], 0)?;
            if !(b[17].is_ascii_digit() || b[17] == b'X') {
                return Err(IdError::Character {
                    position: 18,
                    found: char::from(b[17]),
                });
            }
            if Date::parse(&s[6..14]).is_err() {
                return Err(IdError::BirthDate(s[6..14].to_string()));
            }
            let expected = mod11_2(&b[..17]);
            if char::from(b[17]) != expected {
                return Err(IdError::Check {
                    position: 18,
                    expected,
                    found: char::from(b[17]),
                });
            }
            Ok(s.to_string())
        }
        n => Err(IdError::Length {
            expected: "15 (three letters and 12 digits) or 18 (the 2023 card)",
            found: n,
        }),
    }
}

/// Masks all but the first two and the last two characters (`E1*****78`).
impl fmt::Display for PersonDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.unmasked();
        let len = n.len();
        let shown = if len > 6 { 2 } else { 1 };
        f.write_str(&n[..shown])?;
        for _ in shown..len - shown {
            f.write_str("*")?;
        }
        f.write_str(&n[len - shown..])
    }
}

impl fmt::Debug for PersonDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonDocument({}, {self})", self.kind)
    }
}

/// The wire form: kind and number, validated again when read.
#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    kind: DocumentKind,
    #[serde(borrow)]
    number: std::borrow::Cow<'a, str>,
}

impl Serialize for PersonDocument {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            kind: self.kind,
            number: self.unmasked().into(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for PersonDocument {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        let doc = PersonDocument::parse(w.kind, &w.number).map_err(serde::de::Error::custom)?;
        // Canonical only: a number that parsing would change was not written by us.
        if doc.unmasked() != w.number {
            return Err(serde::de::Error::custom(format!(
                "{} number is not in canonical form",
                w.kind
            )));
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: DocumentKind, s: &str) -> Result<String, IdError> {
        PersonDocument::parse(kind, s).map(|d| d.unmasked().to_string())
    }

    #[test]
    fn passports_are_shape_checked() {
        assert_eq!(
            parse(DocumentKind::Passport, "e12345678").unwrap(),
            "E12345678"
        );
        assert_eq!(
            parse(DocumentKind::Passport, "EA 1234567").unwrap(),
            "EA1234567"
        );
        assert!(matches!(
            parse(DocumentKind::Passport, "E12"),
            Err(IdError::Length { found: 3, .. })
        ));
        assert!(matches!(
            parse(DocumentKind::Passport, "E1234#678"),
            Err(IdError::Character { position: 6, .. })
        ));
    }

    #[test]
    fn hk_macao_permits_drop_the_renewal_count() {
        assert_eq!(
            parse(DocumentKind::HkMacaoPermit, "H12345678").unwrap(),
            "H12345678"
        );
        assert_eq!(
            parse(DocumentKind::HkMacaoPermit, "H1234567801").unwrap(),
            "H12345678"
        );
        assert_eq!(
            parse(DocumentKind::HkMacaoPermit, "m87654321").unwrap(),
            "M87654321"
        );
        assert!(matches!(
            parse(DocumentKind::HkMacaoPermit, "K12345678"),
            Err(IdError::Character {
                position: 1,
                found: 'K'
            })
        ));
        assert!(matches!(
            parse(DocumentKind::HkMacaoPermit, "H1234567"),
            Err(IdError::Length { .. })
        ));
    }

    #[test]
    fn taiwan_permits_drop_the_renewal_letter() {
        assert_eq!(
            parse(DocumentKind::TaiwanPermit, "12345678").unwrap(),
            "12345678"
        );
        assert_eq!(
            parse(DocumentKind::TaiwanPermit, "12345678(B)").unwrap(),
            "12345678"
        );
        assert_eq!(
            parse(DocumentKind::TaiwanPermit, "12345678（B）").unwrap(),
            "12345678"
        );
        assert!(matches!(
            parse(DocumentKind::TaiwanPermit, "1234567"),
            Err(IdError::Length { .. })
        ));
        assert!(parse(DocumentKind::TaiwanPermit, "12345678(BB)").is_err());
    }

    #[test]
    fn permanent_resident_cards_of_both_forms() {
        assert_eq!(
            parse(DocumentKind::ForeignPermanentResident, "usa110081018001").unwrap(),
            "USA110081018001"
        );
        // The 2023 form: 9, province 11, nationality 840, born 1980-10-18, sequence
        // 001, and the MOD 11-2 check of the first 17 digits.
        let first17 = "91184019801018001";
        let full = format!("{first17}{}", mod11_2(first17.as_bytes()));
        let doc = PersonDocument::parse(DocumentKind::ForeignPermanentResident, &full).unwrap();
        assert_eq!(doc.birth_date(), Date::parse("19801018").ok());
        let wrong = format!("{first17}{}", if full.ends_with('0') { '1' } else { '0' });
        assert!(matches!(
            parse(DocumentKind::ForeignPermanentResident, &wrong),
            Err(IdError::Check { position: 18, .. })
        ));
        assert!(matches!(
            parse(DocumentKind::ForeignPermanentResident, "91184019801318001X"),
            Err(IdError::BirthDate(_))
        ));
        assert!(matches!(
            parse(DocumentKind::ForeignPermanentResident, "1SA110081018001"),
            Err(IdError::Character { position: 1, .. })
        ));
    }

    #[test]
    fn numbers_are_masked_and_round_trip_canonically() {
        let doc = PersonDocument::parse(DocumentKind::Passport, "E12345678").unwrap();
        assert_eq!(doc.to_string(), "E1*****78");
        assert!(!format!("{doc:?}").contains("345"));
        let bytes = postcard::to_stdvec(&doc).unwrap();
        assert_eq!(postcard::from_bytes::<PersonDocument>(&bytes).unwrap(), doc);
        let raw = postcard::to_stdvec(&Wire {
            kind: DocumentKind::HkMacaoPermit,
            number: "H1234567801".into(),
        })
        .unwrap();
        assert!(postcard::from_bytes::<PersonDocument>(&raw).is_err());
    }

    #[test]
    fn kinds_are_recognised_by_name_and_code() {
        for kind in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(kind.chinese_name()), Some(kind));
            assert_eq!(DocumentKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(DocumentKind::parse("414"), Some(DocumentKind::Passport));
        assert_eq!(DocumentKind::parse("身份证"), None);
    }
}
