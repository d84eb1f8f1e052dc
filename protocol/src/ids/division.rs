//! GB/T 2260 administrative division codes and jurisdictions.
//!
//! A division code has six digits: two for the province, two for the prefecture and two
//! for the county. A node's jurisdiction is naturally a code prefix (Jiangsu `320000`
//! covers every code starting with `32`). Codes retire when divisions change, but
//! identifiers issued under a retired code stay valid for life, so a code that is not in
//! the current list is accepted as [`DivisionStatus::Unlisted`] as long as its province
//! exists.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::IdError;

/// The embedded 2024 list of division codes (`CODE NAME` per line).
const GB2260: &str = include_str!("../../data/gb2260-2024.txt");

/// A six-digit GB/T 2260 division code, stored as its numeric value (`320500`).
///
/// The national level is represented by `000000`, which is not a GB/T 2260 code but
/// names the national hub's jurisdiction (everything).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DivisionCode(u32);

/// The administrative level a division code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DivisionLevel {
    /// `000000`: the whole country (the national hub).
    National,
    /// `PP0000`: a province, autonomous region or municipality.
    Province,
    /// `PPCC00`: a prefecture-level division (a city).
    Prefecture,
    /// `PPCCXX`: a county-level division.
    County,
}

/// Whether a structurally valid code appears in the embedded current list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DivisionStatus {
    /// Listed in the 2024 code list.
    Current,
    /// Not in the current list but under an existing province: a retired or otherwise
    /// unlisted code, which still appears inside older identifiers.
    Unlisted,
}

/// The national jurisdiction (the code that contains every other).
impl Default for DivisionCode {
    fn default() -> Self {
        DivisionCode::NATIONAL
    }
}

impl DivisionCode {
    /// The national jurisdiction, `000000`.
    pub const NATIONAL: DivisionCode = DivisionCode(0);

    /// Parses a six-digit code and checks its structure: digits only, a province that
    /// exists, and no county part without a prefecture part (`320005` is malformed).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if s.len() != 6 {
            return Err(IdError::Length {
                expected: "6",
                found: s.chars().count(),
            });
        }
        let mut v = 0u32;
        for (i, c) in s.chars().enumerate() {
            let d = c.to_digit(10).ok_or(IdError::Character {
                position: i + 1,
                found: c,
            })?;
            v = v * 10 + d;
        }
        Self::from_u32(v)
    }

    /// Builds a code from its numeric value, checking the same structure as [`parse`](Self::parse).
    pub fn from_u32(v: u32) -> Result<Self, IdError> {
        if v == 0 {
            return Ok(Self::NATIONAL);
        }
        if v > 999_999 {
            return Err(IdError::Division("more than six digits".into()));
        }
        let code = DivisionCode(v);
        if code.province_name().is_none() {
            return Err(IdError::Division(format!(
                "province {:02} does not exist",
                code.province_digits()
            )));
        }
        if (v / 100).is_multiple_of(100) && !v.is_multiple_of(100) {
            return Err(IdError::Division(
                "a county part without a prefecture part".into(),
            ));
        }
        Ok(code)
    }

    /// The numeric value (`320500`).
    pub fn as_u32(self) -> u32 {
        self.0
    }

    /// The two province digits (`32` for `320500`).
    pub fn province_digits(self) -> u32 {
        self.0 / 10_000
    }

    /// The level this code names.
    pub fn level(self) -> DivisionLevel {
        if self.0 == 0 {
            DivisionLevel::National
        } else if self.0.is_multiple_of(10_000) {
            DivisionLevel::Province
        } else if self.0.is_multiple_of(100) {
            DivisionLevel::Prefecture
        } else {
            DivisionLevel::County
        }
    }

    /// The province containing this code (`320000` for `320583`); national stays national.
    pub fn province(self) -> DivisionCode {
        DivisionCode(self.0 / 10_000 * 10_000)
    }

    /// The prefecture containing this code (`320500` for `320583`).
    pub fn prefecture(self) -> DivisionCode {
        DivisionCode(self.0 / 100 * 100)
    }

    /// The jurisdiction directly above this one (county → prefecture → province → national).
    pub fn parent(self) -> Option<DivisionCode> {
        match self.level() {
            DivisionLevel::National => None,
            DivisionLevel::Province => Some(Self::NATIONAL),
            DivisionLevel::Prefecture => Some(self.province()),
            DivisionLevel::County => Some(self.prefecture()),
        }
    }

    /// Whether `other` lies inside this jurisdiction (a code contains itself; national
    /// contains everything; a province contains its prefectures and counties).
    pub fn contains(self, other: DivisionCode) -> bool {
        match self.level() {
            DivisionLevel::National => true,
            DivisionLevel::Province => self.province_digits() == other.province_digits(),
            DivisionLevel::Prefecture => other.0 / 100 == self.0 / 100,
            DivisionLevel::County => other == self,
        }
    }

    /// Whether the code is in the embedded current list.
    pub fn status(self) -> DivisionStatus {
        if self.0 == 0 || table().contains_key(&self.0) {
            DivisionStatus::Current
        } else {
            DivisionStatus::Unlisted
        }
    }

    /// The division's current name, if the code is listed.
    pub fn name(self) -> Option<&'static str> {
        if self.0 == 0 {
            return Some("全国");
        }
        table().get(&self.0).copied()
    }

    /// The name of the province containing this code, if that province exists.
    pub fn province_name(self) -> Option<&'static str> {
        table().get(&(self.province_digits() * 10_000)).copied()
    }

    /// Every code in the embedded current list, in ascending order.
    pub fn all_current() -> impl Iterator<Item = (DivisionCode, &'static str)> {
        list().iter().map(|&(c, n)| (DivisionCode(c), n))
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl fmt::Debug for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DivisionCode({:06})", self.0)
    }
}

impl std::str::FromStr for DivisionCode {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

/// Serialised as its six digits in human-readable formats (JSON: `"320500"`) and as
/// its number in binary ones (postcard); deserialising checks the structure like
/// [`DivisionCode::parse`].
impl Serialize for DivisionCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_u32(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for DivisionCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            DivisionCode::parse(&text).map_err(serde::de::Error::custom)
        } else {
            let v = u32::deserialize(d)?;
            DivisionCode::from_u32(v).map_err(serde::de::Error::custom)
        }
    }
}

fn list() -> &'static [(u32, &'static str)] {
    static LIST: OnceLock<Vec<(u32, &'static str)>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut v: Vec<(u32, &'static str)> = GB2260
            .lines()
            .filter_map(|line| {
                let (code, name) = line.split_once(char::is_whitespace)?;
                Some((code.parse().ok()?, name.trim()))
            })
            .collect();
        v.sort_unstable();
        v
    })
}

fn table() -> &'static HashMap<u32, &'static str> {
    static TABLE: OnceLock<HashMap<u32, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| list().iter().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_containment() {
        let js = DivisionCode::parse("320000").unwrap();
        let sz = DivisionCode::parse("320500").unwrap();
        let ks = DivisionCode::parse("320583").unwrap();
        let hz = DivisionCode::parse("330100").unwrap();
        assert_eq!(js.level(), DivisionLevel::Province);
        assert_eq!(sz.level(), DivisionLevel::Prefecture);
        assert_eq!(ks.level(), DivisionLevel::County);
        assert!(js.contains(sz) && js.contains(ks) && sz.contains(ks));
        assert!(!sz.contains(js) && !js.contains(hz) && !ks.contains(sz));
        assert!(DivisionCode::NATIONAL.contains(hz));
        assert_eq!(ks.parent(), Some(sz));
        assert_eq!(sz.parent(), Some(js));
        assert_eq!(js.parent(), Some(DivisionCode::NATIONAL));
        assert_eq!(sz.name(), Some("苏州市"));
    }

    #[test]
    fn retired_codes_are_tolerated() {
        // Wujiang city 320584 became Wujiang district 320509.
        let old = DivisionCode::parse("320584").unwrap();
        assert_eq!(old.status(), DivisionStatus::Unlisted);
        assert_eq!(
            DivisionCode::parse("320509").unwrap().status(),
            DivisionStatus::Current
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        assert!(matches!(
            DivisionCode::parse("32050"),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(
            DivisionCode::parse("32O500"),
            Err(IdError::Character { position: 3, .. })
        ));
        assert!(matches!(
            DivisionCode::parse("990000"),
            Err(IdError::Division(_))
        ));
        assert!(matches!(
            DivisionCode::parse("320005"),
            Err(IdError::Division(_))
        ));
    }

    #[test]
    fn list_is_loaded() {
        assert!(DivisionCode::all_current().count() > 3000);
    }
}
