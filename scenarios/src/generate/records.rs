//! Record bodies of each kind: who decided what about whom, when, with which numbers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use credithub_protocol::record::{Authority, Details, LicenceDetails, RecordStatus, Severity};
use credithub_protocol::{Date, RecordBody};
use rand::distributions::Distribution;
use rand::seq::SliceRandom;
use rand::Rng;

use super::catalog::{AGENCIES, LICENCES, MARKET};
use super::places::Authorities;
use super::subjects::Member;
use super::words::province_abbr;
use super::Generator;

/// Document kinds for serial counters.
pub(super) const DOC_PENALTY: u8 = 0;
const DOC_LICENCE: u8 = 1;
pub(super) const DOC_RED: u8 = 2;
pub(super) const DOC_BLACK: u8 = 3;
pub(super) const DOC_CASE: u8 = 4;
const DOC_OTHER: u8 = 5;
/// Licence-number serials use `DOC_LICENCE_NO + licence type`.
const DOC_LICENCE_NO: u8 = 16;

/// Formats fen as yuan: `5000`, `1234.56`.
pub(crate) fn yuan(fen: i64, out: &mut String) {
    let _ = write!(out, "{}", fen / 100);
    if fen % 100 != 0 {
        let _ = write!(out, ".{:02}", (fen % 100).abs());
    }
}

/// Pieces of a record common to every kind.
pub(super) struct Frame {
    /// Class and index of the subject in the pool.
    pub member_ix: (usize, usize),
    /// The home place of the deciding authority.
    pub place: usize,
    /// The decision date.
    pub date: Date,
}

impl Generator {
    /// A pool member of a class drawn from `shares`, and the home place of its authority.
    pub(super) fn frame(&mut self, shares: &[u32; 3]) -> Frame {
        let total: u32 = shares.iter().sum();
        let mut r = self.rng.gen_range(0..total.max(1));
        let mut class = 0;
        for (c, &share) in shares.iter().enumerate() {
            if r < share {
                class = c;
                break;
            }
            r -= share;
        }
        let i = self.pool.pick(class, self.config.skew, &mut self.rng);
        let division = self.pool.classes[class][i].division;
        let places = &self.places;
        let own = places.index.get(&division).copied();
        let prefecture = places
            .index
            .get(&division.prefecture())
            .copied()
            .filter(|&p| Some(p) != own);
        let place = match (own, prefecture) {
            (Some(o), Some(p)) => {
                if self.rng.gen_bool(0.7) {
                    o
                } else {
                    p
                }
            }
            (Some(o), None) => o,
            (None, Some(p)) => p,
            (None, None) => places.local[self.rng.gen_range(0..places.local.len())],
        };
        let date = self.decision_date();
        Frame {
            member_ix: (class, i),
            place,
            date,
        }
    }

    pub(super) fn member(&self, f: &Frame) -> &Member {
        &self.pool.classes[f.member_ix.0][f.member_ix.1]
    }

    /// A decision date in the configured range, more recent dates more likely, rarely on
    /// a weekend.
    pub(super) fn decision_date(&mut self) -> Date {
        let (a, b) = (
            self.config.first_date.days_since_epoch(),
            self.config.last_date.days_since_epoch(),
        );
        let u: f64 = self.rng.gen();
        let x = if self.rng.gen_bool(0.5) { u } else { u.sqrt() };
        let mut day = a + ((b - a) as f64 * x) as i32;
        let weekday = (day + 3).rem_euclid(7);
        if weekday >= 5 && self.rng.gen_bool(0.9) {
            day += if weekday == 5 { -1 } else { 1 };
        }
        Date::from_days_since_epoch(day.clamp(a, b)).unwrap_or(self.config.first_date)
    }

    /// The next serial number of a document kind, per owner and year, with small gaps.
    pub(super) fn serial(&mut self, doc: u8, owner: usize, year: u16) -> u32 {
        let gap = self.rng.gen_range(1..=3);
        let s = self.serials.entry((doc, owner as u32, year)).or_insert(0);
        *s += gap;
        *s
    }

    pub(super) fn document_no(
        &mut self,
        doc: u8,
        place: usize,
        agency: usize,
        year: u16,
        word: &str,
    ) -> String {
        let serial = self.serial(doc, Authorities::index(place, agency), year);
        format!(
            "{}{}{word}〔{year}〕{serial}号",
            self.places.home[place].abbr, AGENCIES[agency].abbr
        )
    }

    pub(super) fn published(&mut self, date: Date) -> Option<Date> {
        date.add_days(self.rng.gen_range(1..=7))
    }

    pub(super) fn source_unit(&mut self, place: usize) -> Option<Authority> {
        self.rng
            .gen_bool(0.15)
            .then(|| self.authorities.centres[place].clone())
    }

    /// Status of a negative record: mostly active, some repaired once their minimum
    /// publication period is over, a few disputed or withdrawn.
    pub(super) fn negative_status(&mut self, severity: Severity, date: Date) -> RecordStatus {
        let r: f64 = self.rng.gen();
        let minimum = match severity {
            Severity::Light | Severity::NotApplicable => 0,
            Severity::General => 90,
            Severity::Serious => 365,
        };
        let repairable = severity != Severity::Light
            && date
                .add_days(minimum)
                .is_some_and(|d| d < self.config.last_date);
        if r < 0.01 {
            RecordStatus::UnderObjection
        } else if r < 0.015 {
            RecordStatus::Withdrawn
        } else if repairable && r < 0.075 {
            RecordStatus::Repaired
        } else {
            RecordStatus::Active
        }
    }

    pub(super) fn body(&self, f: &Frame, authority: Authority, decision_no: String) -> RecordBody {
        let m = self.member(f);
        RecordBody {
            subject: m.subject.clone(),
            other_ids: m.other_ids.clone(),
            representative: m.representative.clone(),
            authority,
            source_unit: None,
            decision_no,
            decision_date: f.date,
            published_on: None,
            publication_end: None,
            severity: Severity::NotApplicable,
            status: RecordStatus::Active,
            details: Details::Other,
            extra: BTreeMap::new(),
        }
    }

    /// An administrative licence.
    pub(super) fn licence(&mut self) -> RecordBody {
        let t = self.tables.licences.sample(&mut self.rng);
        let lt = &LICENCES[t];
        let f = self.frame(&lt.subjects);
        let year = f.date.year();
        let decision_no = self.document_no(DOC_LICENCE, f.place, lt.agency, year, "许");
        let serial = self.serial(
            DOC_LICENCE_NO + t as u8,
            Authorities::index(f.place, lt.agency),
            0,
        );
        let code = self.places.home[f.place].code;
        let mut licence_no = String::with_capacity(32);
        let mut rest = lt.number;
        while let Some(open) = rest.find('{') {
            licence_no.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
            match &rest[open + 1..close] {
                "P" => licence_no.push_str(province_abbr(code.as_u32())),
                "D" => {
                    let _ = write!(licence_no, "{code}");
                }
                "Y" => {
                    let _ = write!(licence_no, "{year}");
                }
                "U" => licence_no.push_str(&self.member(&f).subject.id.unmasked()),
                "A" => licence_no.push_str(&self.places.home[f.place].abbr),
                n => {
                    let width: usize = n.trim_start_matches('N').parse().unwrap_or(6);
                    let _ = write!(licence_no, "{serial:0width$}");
                }
            }
            rest = rest.get(close + 1..).unwrap_or("");
        }
        licence_no.push_str(rest);
        let valid_to = lt.years.and_then(|y| {
            let d = Date::new(year + y, f.date.month(), f.date.day())
                .or_else(|| Date::new(year + y, 2, 28))?;
            d.add_days(-1)
        });
        let withdrawn = self.rng.gen_bool(0.01);
        let content = lt
            .contents
            .choose(&mut self.rng)
            .copied()
            .unwrap_or(lt.certificate);
        let mut body = self.body(
            &f,
            self.authorities.get(f.place, lt.agency).clone(),
            decision_no,
        );
        body.published_on = self.published(f.date);
        body.status = if withdrawn {
            RecordStatus::Withdrawn
        } else {
            RecordStatus::Active
        };
        body.source_unit = self.source_unit(f.place);
        body.details = Details::Licence(LicenceDetails {
            document_name: lt.document.into(),
            category: lt.category,
            certificate_name: Some(lt.certificate.into()),
            licence_no: Some(licence_no),
            content: content.into(),
            valid_from: f.date,
            valid_to,
            state: Some(if withdrawn { "撤销" } else { "有效" }.into()),
        });
        body
    }

    /// A record of a kind without typed details: a market-regulation decision with its
    /// kind in `extra`.
    pub(super) fn other(&mut self, kind: credithub_protocol::RecordKind) -> RecordBody {
        let f = self.frame(&[70, 20, 10]);
        let decision_no = self.document_no(DOC_OTHER, f.place, MARKET, f.date.year(), "信");
        let mut body = self.body(
            &f,
            self.authorities.get(f.place, MARKET).clone(),
            decision_no,
        );
        body.published_on = self.published(f.date);
        body.extra.insert("kind".into(), kind.name());
        body
    }
}
