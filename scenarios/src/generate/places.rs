//! Places and the authorities that sit in them.
//!
//! The generator's jurisdiction is expanded into its current GB/T 2260 codes ("home"
//! places). Each home place gets one authority per agency of the catalogue, a court and
//! a public credit information centre, all with valid computed USCCs.

use std::collections::{HashMap, HashSet};

use credithub_protocol::ids::{DivisionCode, DivisionLevel, Uscc};
use credithub_protocol::record::Authority;
use rand::distributions::WeightedIndex;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::AGENCIES;
use super::words::{place_stem, province_abbr, RETIRED};
use super::GenerateError;

/// A division as names and document numbers need it.
pub(crate) struct Place {
    /// The division code.
    pub code: DivisionCode,
    /// The name authorities carry: 苏州市, 昆山市, 苏州市吴中区.
    pub full: String,
    /// The place part of company names: 苏州, 昆山.
    pub stem: String,
    /// The short form in document numbers, unique among home places: 苏, 昆, 苏吴.
    pub abbr: String,
    /// The court code in case numbers: 苏0583, 苏05.
    pub court_code: String,
}

/// The name of the division above a county: its prefecture, or its province where
/// the prefecture is not listed (districts of Beijing, Shanghai, …).
fn parent_name(code: DivisionCode) -> &'static str {
    code.prefecture()
        .name()
        .or_else(|| code.province_name())
        .unwrap_or("")
}

/// Names for any division code, listed or retired: `(full, stem)`.
pub(crate) fn describe(code: DivisionCode, name: &str) -> (String, String) {
    let is_district = code.level() == DivisionLevel::County && name.ends_with('区');
    if is_district {
        let parent = parent_name(code);
        (format!("{parent}{name}"), place_stem(parent).to_string())
    } else {
        (name.to_string(), place_stem(name).to_string())
    }
}

fn first_char(s: &str) -> &str {
    s.char_indices().nth(1).map_or(s, |(i, _)| &s[..i])
}

/// The court code in case numbers for a division.
fn court_code(code: DivisionCode) -> String {
    let p = province_abbr(code.as_u32());
    match code.level() {
        DivisionLevel::County => format!("{p}{:04}", code.as_u32() % 10_000),
        DivisionLevel::Prefecture => format!("{p}{:02}", code.as_u32() / 100 % 100),
        _ => p.to_string(),
    }
}

/// Whether a province-level code has mainland identifiers (not Taiwan, Hong Kong, Macau).
fn mainland(code: DivisionCode) -> bool {
    code.province_digits() < 70
}

/// The places of a jurisdiction, and where subjects from elsewhere come from.
pub(crate) struct Places {
    /// Current codes inside the jurisdiction, provinces first, then prefectures, then counties.
    pub home: Vec<Place>,
    /// Index of a home place by code.
    pub index: HashMap<DivisionCode, usize>,
    /// Sampling weights of home places for subject registration.
    pub weights: WeightedIndex<u32>,
    /// Home places that are not provinces (courts and authorities of daily business).
    pub local: Vec<usize>,
    /// Retired codes inside the jurisdiction, with their former names.
    pub retired: Vec<(DivisionCode, &'static str)>,
    /// Current prefecture and county codes in other provinces.
    pub elsewhere: Vec<(DivisionCode, &'static str)>,
    /// Every current county-level code, ascending.
    counties: Vec<DivisionCode>,
}

impl Places {
    /// Expands a jurisdiction.
    pub(super) fn new(origin: DivisionCode) -> Result<Self, GenerateError> {
        let mut codes: Vec<(DivisionCode, &'static str)> = DivisionCode::all_current()
            .filter(|&(c, _)| c != DivisionCode::NATIONAL && mainland(c) && origin.contains(c))
            .collect();
        if codes.is_empty() {
            return Err(GenerateError::EmptyJurisdiction(origin));
        }
        codes.sort_by_key(|&(c, _)| (c.level() as u8, c));
        let mut used = HashSet::new();
        let mut home = Vec::with_capacity(codes.len());
        for &(code, name) in &codes {
            let (full, stem) = describe(code, name);
            let preferred = match code.level() {
                DivisionLevel::Province => province_abbr(code.as_u32()).to_string(),
                DivisionLevel::County if full != name => {
                    let parent = place_stem(parent_name(code));
                    format!("{}{}", first_char(parent), first_char(place_stem(name)))
                }
                _ => first_char(&stem).to_string(),
            };
            let candidates = [
                preferred,
                stem.clone(),
                full.clone(),
                format!("{full}{code}"),
            ];
            let abbr = candidates
                .into_iter()
                .find(|c| !c.is_empty() && !used.contains(c))
                .unwrap_or_else(|| format!("{full}{code}"));
            used.insert(abbr.clone());
            home.push(Place {
                code,
                full,
                stem,
                abbr,
                court_code: court_code(code),
            });
        }
        let weights = home.iter().map(|p| match p.code.level() {
            DivisionLevel::County => 4,
            DivisionLevel::Prefecture => 6,
            _ => 3,
        });
        let weights =
            WeightedIndex::new(weights).map_err(|_| GenerateError::EmptyJurisdiction(origin))?;
        let index = home.iter().enumerate().map(|(i, p)| (p.code, i)).collect();
        let mut local: Vec<usize> = (0..home.len())
            .filter(|&i| home[i].code.level() != DivisionLevel::Province)
            .collect();
        if local.is_empty() {
            local = (0..home.len()).collect();
        }
        let retired = RETIRED
            .iter()
            .filter_map(|&(c, n)| Some((DivisionCode::from_u32(c).ok()?, n)))
            .filter(|&(c, _)| origin.contains(c))
            .collect();
        let elsewhere = if origin == DivisionCode::NATIONAL {
            Vec::new()
        } else {
            DivisionCode::all_current()
                .filter(|&(c, _)| {
                    mainland(c)
                        && c.province() != origin.province()
                        && matches!(c.level(), DivisionLevel::Prefecture | DivisionLevel::County)
                })
                .collect()
        };
        let counties = DivisionCode::all_current()
            .map(|(c, _)| c)
            .filter(|c| c.level() == DivisionLevel::County)
            .collect();
        Ok(Places {
            home,
            index,
            weights,
            local,
            retired,
            elsewhere,
            counties,
        })
    }

    /// A county-level code inside `code` (itself when it is county-level or has no
    /// listed counties): resident ids carry county codes.
    pub(super) fn county_in(&self, code: DivisionCode, rng: &mut ChaCha8Rng) -> DivisionCode {
        let span = match code.level() {
            DivisionLevel::Prefecture => 99,
            DivisionLevel::Province => 9_999,
            _ => return code,
        };
        let v = code.as_u32();
        let lo = self.counties.partition_point(|c| c.as_u32() <= v);
        let hi = self.counties.partition_point(|c| c.as_u32() <= v + span);
        if lo < hi {
            self.counties[rng.gen_range(lo..hi)]
        } else {
            code
        }
    }
}

/// The authorities of the home places.
pub(crate) struct Authorities {
    /// One per home place and agency: `place * AGENCIES.len() + agency`.
    agencies: Vec<Authority>,
    /// One court per home place.
    pub courts: Vec<Authority>,
    /// One public credit information centre per home place (a data source unit).
    pub centres: Vec<Authority>,
}

impl Authorities {
    /// Creates the authorities of every home place, with distinct valid USCCs.
    pub(super) fn new(places: &Places, rng: &mut ChaCha8Rng) -> Self {
        let mut seen = HashSet::new();
        let mut uscc = |category: char, code: DivisionCode, rng: &mut ChaCha8Rng| loop {
            let body: u32 = rng.gen_range(0..10_000_000);
            let first16 = format!("1{category}{code}0{body:07}");
            if let Ok(u) = Uscc::with_checks(&first16) {
                if seen.insert(u) {
                    return u;
                }
            }
        };
        let mut agencies = Vec::with_capacity(places.home.len() * AGENCIES.len());
        let mut courts = Vec::with_capacity(places.home.len());
        let mut centres = Vec::with_capacity(places.home.len());
        for place in &places.home {
            for agency in AGENCIES {
                let name = format!("{}{}", place.full, agency.name);
                agencies.push(Authority {
                    name,
                    uscc: Some(uscc('1', place.code, rng)),
                });
            }
            let court = match place.code.level() {
                DivisionLevel::County => "人民法院",
                DivisionLevel::Prefecture => "中级人民法院",
                _ => "高级人民法院",
            };
            let name = format!("{}{court}", place.full);
            courts.push(Authority {
                name,
                uscc: Some(uscc('1', place.code, rng)),
            });
            let name = format!("{}公共信用信息中心", place.full);
            centres.push(Authority {
                name,
                uscc: Some(uscc('2', place.code, rng)),
            });
        }
        Authorities {
            agencies,
            courts,
            centres,
        }
    }

    /// The authority of an agency at a home place.
    pub(super) fn get(&self, place: usize, agency: usize) -> &Authority {
        &self.agencies[place * AGENCIES.len() + agency]
    }

    /// The index of an authority, for per-authority counters.
    pub(super) fn index(place: usize, agency: usize) -> usize {
        place * AGENCIES.len() + agency
    }
}
