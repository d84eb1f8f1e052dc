//! Red- and black-list entries and dishonest judgment debtors.

use credithub_protocol::ids::DivisionLevel;
use credithub_protocol::record::{
    DebtorDetails, Details, ListEntryDetails, RecordStatus, Severity,
};
use credithub_protocol::{Date, RecordBody};
use rand::distributions::Distribution;
use rand::seq::SliceRandom;
use rand::Rng;

use super::catalog::{ListType, BASES, BLACK_LISTS, CONDUCT, OBLIGATIONS, PERFORMANCE, RED_LISTS};
use super::records::{yuan, DOC_BLACK, DOC_CASE, DOC_RED};
use super::Generator;

impl Generator {
    /// A red-list (`red`) or black-list entry.
    pub(super) fn list_entry(&mut self, red: bool) -> RecordBody {
        let (lists, dist): (&[ListType], _) = if red {
            (RED_LISTS, &self.tables.red)
        } else {
            (BLACK_LISTS, &self.tables.black)
        };
        let l = &lists[dist.sample(&mut self.rng)];
        let f = self.frame(&l.subjects);
        let year = f.date.year();
        let (doc, word) = if red {
            (DOC_RED, "守信")
        } else {
            (DOC_BLACK, "失信")
        };
        let decision_no = self.document_no(doc, f.place, l.agency, year, word);
        let valid_until = if l.years == 1 {
            Date::new(year + 1, 12, 31)
        } else {
            Date::new(year + l.years, f.date.month(), f.date.day())
                .or_else(|| Date::new(year + l.years, 2, 28))
        };
        let mut body = self.body(
            &f,
            self.authorities.get(f.place, l.agency).clone(),
            decision_no,
        );
        body.published_on = self.published(f.date);
        body.publication_end = valid_until;
        if red {
            body.status = if self.rng.gen_bool(0.005) {
                RecordStatus::Withdrawn
            } else {
                RecordStatus::Active
            };
        } else {
            body.severity = Severity::Serious;
            body.status = self.negative_status(Severity::Serious, f.date);
        }
        body.details = Details::ListEntry(ListEntryDetails {
            list_name: l.name.into(),
            reason: l
                .reasons
                .choose(&mut self.rng)
                .copied()
                .unwrap_or(l.name)
                .into(),
            legal_basis: l.basis.into(),
            valid_until,
        });
        body
    }

    /// A dishonest judgment debtor.
    pub(super) fn debtor(&mut self) -> RecordBody {
        let mut f = self.frame(&[55, 5, 40]);
        if self.places.home[f.place].code.level() == DivisionLevel::Province {
            f.place = self.places.local[self.rng.gen_range(0..self.places.local.len())];
        }
        let filed_on = f
            .date
            .add_days(-self.rng.gen_range(20..180))
            .unwrap_or(f.date);
        let filed_year = filed_on.year();
        let serial = self.serial(DOC_CASE, f.place, filed_year);
        let court_code = &self.places.home[f.place].court_code;
        let case_no = format!("({filed_year}){court_code}执{serial}号");
        let &(case_type, document) = BASES.choose(&mut self.rng).unwrap_or(&BASES[0]);
        let basis_year = filed_year - self.rng.gen_range(0..2);
        let basis_serial = self.rng.gen_range(1..20_000);
        let enforcement_basis =
            format!("({basis_year}){court_code}{case_type}{basis_serial}号{document}");
        let mut amount = String::new();
        yuan(self.rng.gen_range(5_000..2_000_000) * 100, &mut amount);
        let obligation = OBLIGATIONS
            .choose(&mut self.rng)
            .unwrap_or(&OBLIGATIONS[0])
            .replace("{}", &amount);
        let performance = if self.rng.gen_range(0..100) < PERFORMANCE[0].1 {
            PERFORMANCE[0].0
        } else {
            PERFORMANCE[1].0
        };
        let conduct = CONDUCT.choose(&mut self.rng).copied().unwrap_or(CONDUCT[0]);
        let mut body = self.body(
            &f,
            self.authorities.courts[f.place].clone(),
            case_no.clone(),
        );
        body.published_on = Some(f.date);
        body.severity = Severity::Serious;
        body.status = self.negative_status(Severity::Serious, f.date);
        body.details = Details::DishonestDebtor(DebtorDetails {
            case_no,
            court: self.authorities.courts[f.place].name.clone(),
            enforcement_basis,
            obligation,
            performance: performance.into(),
            dishonest_conduct: conduct.into(),
            filed_on,
        });
        body
    }
}
