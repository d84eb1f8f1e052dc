//! The subject pool: distinct organisations, individual businesses and natural
//! persons with valid identifiers, registered mostly inside the jurisdiction.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use credithub_protocol::ids::uscc::ALPHABET;
use credithub_protocol::ids::{
    DivisionCode, OrgCode, RegNo, ResidentId, Subject, SubjectId, SubjectKind, Uscc,
};
use credithub_protocol::record::Representative;
use credithub_protocol::Date;
use rand::distributions::Distribution;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::places::{describe, Places};
use super::words::{
    COMPANY_FORMS, GIVEN, INDUSTRIES, INSTITUTIONS, SHOPS, SOCIAL_ORGS, SURNAMES, TOWNS, TRADE,
};

/// One subject of the pool with what records say about it besides its name and id.
pub(crate) struct Member {
    /// The subject.
    pub subject: Subject,
    /// Older identifiers (registration number, organisation code) of older organisations.
    pub other_ids: Vec<SubjectId>,
    /// Legal representative or operator; `None` for natural persons.
    pub representative: Option<Representative>,
    /// The division the identifier carries.
    pub division: DivisionCode,
}

/// Subjects by class: organisations, individual businesses, natural persons.
pub(crate) struct Pool {
    /// Members of each class (organisations, individual businesses, natural persons), in
    /// random order; the front is picked most often.
    pub classes: [Vec<Member>; 3],
}

/// Where a subject is registered: code, full name and stem.
struct Home {
    code: DivisionCode,
    full: String,
    stem: String,
}

fn home(places: &Places, rng: &mut ChaCha8Rng) -> Home {
    let r: f64 = rng.gen();
    let (code, full, stem) = if r < 0.01 && !places.retired.is_empty() {
        let &(code, name) = places.retired.choose(rng).unwrap_or(&places.retired[0]);
        let (full, stem) = describe(code, name);
        (code, full, stem)
    } else if r < 0.04 && !places.elsewhere.is_empty() {
        let &(code, name) = places.elsewhere.choose(rng).unwrap_or(&places.elsewhere[0]);
        let (full, stem) = describe(code, name);
        (code, full, stem)
    } else {
        let p = &places.home[places.weights.sample(rng)];
        (p.code, p.full.clone(), p.stem.clone())
    };
    Home { code, full, stem }
}

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list.choose(rng).copied().unwrap_or_default()
}

fn symbols(rng: &mut ChaCha8Rng, n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]));
    }
}

/// A person's name: a surname skewed towards the common ones and one or two given characters.
pub(crate) fn person_name(rng: &mut ChaCha8Rng) -> String {
    let u: f64 = rng.gen();
    let surname = SURNAMES[((u * u) * SURNAMES.len() as f64) as usize % SURNAMES.len()];
    let mut name = String::with_capacity(12);
    name.push_str(surname);
    name.push_str(pick(rng, GIVEN));
    if rng.gen_bool(0.7) {
        name.push_str(pick(rng, GIVEN));
    }
    name
}

/// A valid resident id issued at `code` for someone born between the given years.
pub(crate) fn resident_id(
    rng: &mut ChaCha8Rng,
    code: DivisionCode,
    years: (u16, u16),
) -> ResidentId {
    let first = Date::new(years.0, 1, 1).map_or(0, Date::days_since_epoch);
    let last = Date::new(years.1, 12, 31).map_or(0, Date::days_since_epoch);
    loop {
        let birth = Date::from_days_since_epoch(rng.gen_range(first..=last));
        let Some(b) = birth else { continue };
        let seq: u16 = rng.gen_range(0..1000);
        let first17 = format!(
            "{code}{:04}{:02}{:02}{seq:03}",
            b.year(),
            b.month(),
            b.day()
        );
        if let Ok(id) = ResidentId::with_check(&first17) {
            return id;
        }
    }
}

fn representative(rng: &mut ChaCha8Rng, places: &Places, code: DivisionCode) -> Representative {
    let county = places.county_in(code, rng);
    let id = resident_id(rng, county, (1955, 2000));
    Representative {
        name: person_name(rng),
        id_type: Some("身份证".into()),
        id_number: Some(id.unmasked().to_string()),
    }
}

struct Builder<'a> {
    rng: &'a mut ChaCha8Rng,
    places: &'a Places,
    ids: HashSet<SubjectId>,
    names: HashSet<u64>,
}

impl Builder<'_> {
    /// Claims a name if no other subject has it.
    fn claim_name(&mut self, name: &str) -> bool {
        let mut h = DefaultHasher::new();
        name.hash(&mut h);
        self.names.insert(h.finish())
    }

    /// Builds a USCC from authority, category, division and an 8-character body; `None`
    /// when another subject has it.
    fn uscc(&mut self, head: &str, code: DivisionCode, body: &str) -> Option<Uscc> {
        let u = Uscc::with_checks(&format!("{head}{code}{body}")).ok()?;
        self.ids.insert(SubjectId::Uscc(u)).then_some(u)
    }

    /// A unique name from `make(attempt)`, which should vary more as attempts grow.
    fn unique_name(&mut self, mut make: impl FnMut(&mut ChaCha8Rng, usize) -> String) -> String {
        let mut attempt = 0;
        loop {
            let name = make(self.rng, attempt);
            if self.claim_name(&name) {
                return name;
            }
            attempt += 1;
        }
    }

    fn trade(rng: &mut ChaCha8Rng, attempt: usize) -> String {
        let n = 2 + attempt / 8;
        (0..n).map(|_| pick(rng, TRADE)).collect()
    }

    fn organisation(&mut self) -> Member {
        let h = home(self.places, self.rng);
        let roll: f64 = self.rng.gen();
        let (name, head, old) = if roll < 0.93 {
            let form = if self.rng.gen_range(0..100) < COMPANY_FORMS[0].1 {
                COMPANY_FORMS[0].0
            } else {
                COMPANY_FORMS[1].0
            };
            let name = self.unique_name(|rng, a| {
                let (trade, industry) = (Self::trade(rng, a), pick(rng, INDUSTRIES));
                format!("{}{trade}{industry}{form}", h.stem)
            });
            (name, "91", self.rng.gen_bool(0.25))
        } else if roll < 0.97 {
            let name = self.unique_name(|rng, a| {
                format!(
                    "{}{}{}",
                    h.full,
                    Self::trade(rng, a),
                    pick(rng, INSTITUTIONS)
                )
            });
            (name, "12", true)
        } else {
            let name = self.unique_name(|rng, a| {
                let (kind, trade) = (pick(rng, SOCIAL_ORGS), Self::trade(rng, a));
                if matches!(kind, "行业协会" | "商会" | "学会") {
                    // 苏州市精密机械行业协会; a trade name only when that is taken.
                    let trade = if a < 4 { "" } else { trade.as_str() };
                    format!("{}{trade}{}{kind}", h.full, pick(rng, INDUSTRIES))
                } else {
                    format!("{}{trade}{kind}", h.full)
                }
            });
            (name, ["51", "52", "53"][self.rng.gen_range(0..3)], false)
        };
        let (uscc, other_ids) = loop {
            let mut body = String::with_capacity(8);
            if old {
                body.push(char::from(b'1' + self.rng.gen_range(0..7u8)));
                for _ in 0..7 {
                    body.push(char::from(b'0' + self.rng.gen_range(0..10u8)));
                }
            } else {
                body.push_str(if head.starts_with('5') { "MJ" } else { "MA" });
                symbols(self.rng, 6, &mut body);
            }
            if let Some(u) = self.uscc(head, h.code, &body) {
                let mut other = Vec::new();
                if old && head == "91" {
                    other.extend(OrgCode::parse(u.org_code()).ok().map(SubjectId::OrgCode));
                    let serial: u32 = self.rng.gen_range(0..100_000_000);
                    let reg = RegNo::with_check(&format!("{}{serial:08}", h.code));
                    other.extend(reg.ok().map(SubjectId::RegNo));
                }
                break (u, other);
            }
        };
        Member {
            subject: Subject {
                kind: SubjectKind::LegalPerson,
                name,
                id: SubjectId::Uscc(uscc),
            },
            other_ids,
            representative: Some(representative(self.rng, self.places, h.code)),
            division: h.code,
        }
    }

    fn individual(&mut self) -> Member {
        let h = home(self.places, self.rng);
        let operator = representative(self.rng, self.places, h.code);
        let surname = operator.name.chars().next().unwrap_or('王');
        let name = self.unique_name(|rng, a| {
            let town = pick(rng, TOWNS);
            let shop = pick(rng, SHOPS);
            if a < 2 && rng.gen_bool(0.5) {
                format!("{}{town}{surname}记{shop}", h.full)
            } else {
                format!("{}{town}{}{shop}", h.full, Self::trade(rng, a))
            }
        });
        let old = self.rng.gen_bool(0.3);
        let uscc = loop {
            let mut body = String::with_capacity(8);
            if old {
                body.push('L');
                for _ in 0..7 {
                    body.push(char::from(b'0' + self.rng.gen_range(0..10u8)));
                }
            } else {
                body.push_str("MA");
                symbols(self.rng, 6, &mut body);
            }
            if let Some(u) = self.uscc("92", h.code, &body) {
                break u;
            }
        };
        Member {
            subject: Subject {
                kind: SubjectKind::IndividualBusiness,
                name,
                id: SubjectId::Uscc(uscc),
            },
            other_ids: Vec::new(),
            representative: Some(operator),
            division: h.code,
        }
    }

    fn person(&mut self) -> Member {
        let h = home(self.places, self.rng);
        let id = loop {
            let county = self.places.county_in(h.code, self.rng);
            let id = SubjectId::ResidentId(resident_id(self.rng, county, (1950, 2004)));
            if self.ids.insert(id) {
                break id;
            }
        };
        let name = person_name(self.rng);
        Member {
            subject: Subject {
                kind: SubjectKind::NaturalPerson,
                name,
                id,
            },
            other_ids: Vec::new(),
            representative: None,
            division: h.code,
        }
    }
}

impl Pool {
    /// Builds `size` distinct subjects: 65% organisations, 25% individual businesses,
    /// 10% natural persons (at least one of each).
    pub(super) fn new(size: usize, places: &Places, rng: &mut ChaCha8Rng) -> Pool {
        let orgs = (size * 65 / 100).max(1);
        let individuals = (size * 25 / 100).max(1);
        let persons = size.saturating_sub(orgs + individuals).max(1);
        let mut b = Builder {
            rng,
            places,
            ids: HashSet::new(),
            names: HashSet::new(),
        };
        let classes = [
            (0..orgs).map(|_| b.organisation()).collect(),
            (0..individuals).map(|_| b.individual()).collect(),
            (0..persons).map(|_| b.person()).collect(),
        ];
        Pool { classes }
    }

    /// Picks the index of a member of a class, the front of the list far more often than
    /// the back: rank `len · u^skew` for uniform `u`, so with skew 2 the top 1% of a class
    /// get 10% of the picks.
    pub(super) fn pick(&self, class: usize, skew: f64, rng: &mut ChaCha8Rng) -> usize {
        let len = self.classes[class].len();
        let u: f64 = rng.gen();
        // u·u is exact IEEE arithmetic, so the default skew gives the same picks on every
        // platform; other skews go through `powf`, whose last bit may vary by libm.
        let x = if skew == 2.0 { u * u } else { u.powf(skew) };
        ((x * len as f64) as usize).min(len - 1)
    }
}
