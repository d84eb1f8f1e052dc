//! Tax registration numbers (税务登记号) of organisations, issued before the USCC: the
//! six-digit division code of the tax office's area and the organisation's nine-character
//! organisation code (GB 11714), so both parts are checked.

use std::fmt;

use super::{DivisionCode, IdError, OrgCode};

/// A validated 15-character tax registration number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaxNo([u8; 15]);

impl TaxNo {
    /// Parses a 15-character tax registration number: a division code (positions 1-6)
    /// and an organisation code with its check character (positions 7-15).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let upper = s.trim().to_ascii_uppercase();
        let bytes = upper.as_bytes();
        let n = upper.chars().count();
        if n != 15 || bytes.len() != 15 {
            return Err(IdError::Length {
                expected: "15 (a division code and an organisation code)",
                found: n,
            });
        }
        if let Some(i) = bytes[..6].iter().position(|c| !c.is_ascii_digit()) {
            return Err(IdError::Character {
                position: i + 1,
                found: char::from(bytes[i]),
            });
        }
        DivisionCode::parse(&upper[..6])?;
        OrgCode::parse(&upper[6..]).map_err(|e| match e {
            IdError::Character { position, found } => IdError::Character {
                position: position + 6,
                found,
            },
            IdError::Check {
                position,
                expected,
                found,
            } => IdError::OrgCodeCheck {
                position: position + 6,
                expected,
                found,
            },
            other => other,
        })?;
        let mut out = [0u8; 15];
        out.copy_from_slice(bytes);
        Ok(TaxNo(out))
    }

    /// The division code of the issuing tax office's area.
    pub fn division(&self) -> DivisionCode {
        DivisionCode::parse(&self.as_str()[..6]).unwrap_or(DivisionCode::NATIONAL)
    }

    /// The organisation code inside (positions 7-15).
    pub fn org_code(&self) -> Option<OrgCode> {
        OrgCode::parse(&self.as_str()[6..]).ok()
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for TaxNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TaxNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaxNo({})", self.as_str())
    }
}

super::text_serde!(TaxNo, as_str());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_and_organisation_code_are_checked() {
        let t = TaxNo::parse("110108600037341").unwrap();
        assert_eq!(t.division().as_u32(), 110108);
        assert_eq!(
            t.org_code().map(|o| o.as_str().to_string()).as_deref(),
            Some("600037341")
        );
        assert!(matches!(
            TaxNo::parse("110108600037342"),
            Err(IdError::OrgCodeCheck { position: 15, .. })
        ));
        assert!(matches!(
            TaxNo::parse("11010860003734"),
            Err(IdError::Length { found: 14, .. })
        ));
        assert!(matches!(
            TaxNo::parse("990000600037341"),
            Err(IdError::Division(_))
        ));
    }
}
