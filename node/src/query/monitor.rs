//! The figures of city monitoring (城市信用状况监测) that are not per unit, by origin and
//! month: list entries published, objections filed and whether their origin decided
//! them within the deadline, and credit repairs with whether they were recorded within
//! theirs.
//!
//! - A red-list entry counts as red, a black-list or dishonest-debtor entry as black,
//!   in its listing (decision) month, once published.
//! - An objection counts in the month it was filed (its first version), at the node
//!   that owns the disputed record. It is decided when the record was deleted or
//!   carries the origin's decision (`OBJECTION_DECISION`) made after the objection; in
//!   time when that was within `objection_days` working days of the filing. One not
//!   decided past the deadline is overdue.
//! - A repair counts in the month it was recorded (the version that made the record
//!   `Repaired`, or the list entry's removal for repair). A list entry's removal names
//!   the day of the repair decision: those are timed, in time when recorded within
//!   `repair_days` working days of it.

use std::collections::BTreeMap;

use credithub_protocol::accounts::{MonitorMonth, Month};
use credithub_protocol::record::{Details, RecordStatus, RemovalCause};
use credithub_protocol::{Date, DivisionCode, Record, RecordBody, RecordKind};

use super::accounts::{is_own, AccountsOptions};
use crate::store::{Result, Store};

/// The `extra` field in which an origin records its decision on an objection:
/// `what (ms)`.
pub const DECISION_FIELD: &str = "OBJECTION_DECISION";

/// Monitoring figures being counted.
pub(super) struct Monitor<'a> {
    opts: &'a AccountsOptions<'a>,
    from: Month,
    figures: BTreeMap<DivisionCode, BTreeMap<Month, MonitorMonth>>,
}

/// The time written at the end of an objection decision (`confirmed (1767225600000)`).
fn decision_ms(text: &str) -> Option<u64> {
    let inner = text.trim().strip_suffix(')')?;
    let open = inner.rfind('(')?;
    inner[open + 1..].parse().ok()
}

impl<'a> Monitor<'a> {
    pub(super) fn new(opts: &'a AccountsOptions<'a>, from: Month) -> Monitor<'a> {
        Monitor {
            opts,
            from,
            figures: BTreeMap::new(),
        }
    }

    fn month(&mut self, origin: DivisionCode, month: Month) -> Option<&mut MonitorMonth> {
        (month >= self.from).then(|| {
            self.figures
                .entry(origin)
                .or_default()
                .entry(month)
                .or_default()
        })
    }

    /// Counts a live record of one of the node's own origins.
    pub(super) fn record(
        &mut self,
        origin: DivisionCode,
        kind: RecordKind,
        r: &Record,
        body: &RecordBody,
    ) {
        let published = match &body.details {
            Details::Listing(l) => l.is_published(),
            Details::ListEntry(_) | Details::DishonestDebtor(_) => true,
            _ => false,
        };
        if published {
            let listed = Month::of(body.decision_date);
            if let Some(m) = self.month(origin, listed) {
                if kind == RecordKind::RED_LIST {
                    m.red_listed += 1;
                } else if kind == RecordKind::BLACK_LIST || kind == RecordKind::DISHONEST_DEBTOR {
                    m.black_listed += 1;
                }
            }
        }
        let removal = match &body.details {
            Details::Listing(l) => l
                .removal
                .as_ref()
                .filter(|x| x.cause == RemovalCause::Repair),
            _ => None,
        };
        if body.status != RecordStatus::Repaired && removal.is_none() {
            return;
        }
        let Some(recorded) = Date::from_millis(r.version.millis()) else {
            return;
        };
        let days = self.opts.repair_days;
        let in_time =
            removal.map(|x| self.opts.calendar.working_days_between(x.on, recorded) <= days);
        if let Some(m) = self.month(origin, Month::of(recorded)) {
            m.repairs += 1;
            if let Some(ok) = in_time {
                m.repairs_timed += 1;
                m.repairs_in_time += u64::from(ok);
            }
        }
    }

    /// Counts an objection (of any origin) to a record of one of this node's own
    /// origins.
    pub(super) fn objection(
        &mut self,
        store: &Store,
        own: DivisionCode,
        r: &Record,
        body: &RecordBody,
    ) -> Result<()> {
        let Details::Objection(o) = &body.details else {
            return Ok(());
        };
        let origin = o.target.origin;
        if !is_own(own, &self.opts.children, origin) {
            return Ok(());
        }
        let filed_ms = r.version.millis();
        let Some(filed) = Date::from_millis(filed_ms) else {
            return Ok(());
        };
        if Month::of(filed) < self.from {
            return Ok(());
        }
        let decided_ms = match store.get(&o.target)? {
            // Deleted on the objection (or otherwise) after it was filed.
            Some(t) if t.body.is_none() => Some(t.version.millis()).filter(|ms| *ms >= filed_ms),
            Some(t) => t
                .body
                .as_ref()
                .and_then(|b| b.extra.get(DECISION_FIELD))
                .and_then(|d| decision_ms(d))
                .filter(|ms| *ms >= filed_ms),
            None => None,
        };
        let calendar = self.opts.calendar;
        let days = self.opts.objection_days;
        let today = self.opts.today;
        let Some(m) = self.month(origin, Month::of(filed)) else {
            return Ok(());
        };
        m.objections += 1;
        match decided_ms.and_then(Date::from_millis) {
            Some(decided) => {
                m.objections_in_time +=
                    u64::from(calendar.working_days_between(filed, decided) <= days);
            }
            None => {
                m.objections_overdue +=
                    u64::from(calendar.working_days_between(filed, today) > days);
            }
        }
        Ok(())
    }

    pub(super) fn finish(self) -> BTreeMap<DivisionCode, BTreeMap<Month, MonitorMonth>> {
        self.figures
    }
}

#[cfg(test)]
mod tests {
    use super::decision_ms;

    #[test]
    fn the_time_of_a_decision_is_read_from_its_end() {
        assert_eq!(
            decision_ms("confirmed (1767225600000)"),
            Some(1_767_225_600_000)
        );
        assert_eq!(decision_ms("corrected: 罚款 (2) 元 (17)"), Some(17));
        assert_eq!(decision_ms("confirmed"), None);
    }
}
