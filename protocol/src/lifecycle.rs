//! The life of a record, as policy: publication periods by severity, when credit
//! repair may be granted, who may see what, and whether an objection is pending.
//!
//! The periods are configuration (`PublicationRules` deserialises from a node's
//! `[publication]` table); the defaults are the 2025 national rules (in force
//! 2026-04-01): light penalties in principle not published, general ones 3 months to 1
//! year, serious ones and list entries 1 to 3 years, counted from the decision date.
//! Publication ends by itself at the maximum: visibility is decided when a record is
//! read, from its decision date and today's date, so nobody has to act.

use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::record::{Details, Record, RecordBody, RecordStatus, Severity};

/// A publication period, in months from the decision date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// Repair may be granted from this many months on.
    pub min_months: u32,
    /// Publication ends after this many months (0: never published).
    pub max_months: u32,
}

/// Publication periods by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublicationRules {
    /// Light penalties (warnings, reprimands).
    pub light: Period,
    /// General penalties.
    pub general: Period,
    /// Serious penalties and black-list entries.
    pub serious: Period,
}

impl Default for PublicationRules {
    fn default() -> Self {
        PublicationRules {
            light: Period {
                min_months: 0,
                max_months: 0,
            },
            general: Period {
                min_months: 3,
                max_months: 12,
            },
            serious: Period {
                min_months: 12,
                max_months: 36,
            },
        }
    }
}

/// Who is reading, which decides what they see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Audience {
    /// The public (a portal): published records only, personal numbers masked.
    Public,
    /// Government systems: every shared record (not repaired, not withdrawn),
    /// personal numbers masked.
    Government,
    /// Auditors: everything held, repaired and withdrawn records included, personal
    /// numbers in full.
    Auditor,
}

impl Audience {
    /// Whether personal identification numbers are shown in full.
    pub fn sees_personal_numbers(self) -> bool {
        self == Audience::Auditor
    }
}

/// Why a lifecycle step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// Repair asked before the minimum period.
    #[error("credit repair is possible from {from} (the minimum publication period of a {severity:?} record); today is {today}")]
    TooEarly {
        /// The first date repair is possible.
        from: Date,
        /// The record's severity.
        severity: Severity,
        /// Today.
        today: Date,
    },
    /// The record is not a negative record, or not in a state that allows the step.
    #[error("{0}")]
    NotApplicable(String),
}

impl PublicationRules {
    fn period(&self, severity: Severity) -> Option<Period> {
        match severity {
            Severity::NotApplicable => None,
            Severity::Light => Some(self.light),
            Severity::General => Some(self.general),
            Severity::Serious => Some(self.serious),
        }
    }

    /// The last day a record is published (`None`: no end, e.g. licences and red
    /// lists; a day before the decision: never published).
    pub fn publication_end(&self, body: &RecordBody) -> Option<Date> {
        self.window_end(body.severity, body.decision_date)
    }

    /// The last day of publication of a record of `severity` decided on `decided`
    /// ([`publication_end`](Self::publication_end) from its two inputs).
    pub fn window_end(&self, severity: Severity, decided: Date) -> Option<Date> {
        let p = self.period(severity)?;
        if p.max_months == 0 {
            return decided.add_days(-1);
        }
        decided
            .add_months(p.max_months)
            .and_then(|d| d.add_days(-1))
    }

    /// The longest publication of `severity`, in months (`None`: no end).
    pub fn max_months(&self, severity: Severity) -> Option<u32> {
        self.period(severity).map(|p| p.max_months)
    }

    /// Whether the public sees a record today.
    pub fn is_published(&self, record: &Record, today: Date) -> bool {
        let Some(body) = &record.body else {
            return false;
        };
        if record.key.kind == crate::record::RecordKind::OBJECTION {
            return false;
        }
        shared(body) && self.publication_end(body).is_none_or(|end| today <= end)
    }

    /// Whether `audience` sees a record today.
    pub fn visible(&self, record: &Record, audience: Audience, today: Date) -> bool {
        match audience {
            Audience::Public => self.is_published(record, today),
            Audience::Government => record.body.as_ref().is_some_and(shared),
            Audience::Auditor => record.body.is_some(),
        }
    }

    /// Whether a record counts for joint reward and punishment measures today: shared,
    /// and its listing (or penalty) still valid.
    pub fn counts_for_measures(&self, record: &Record, today: Date) -> bool {
        let Some(body) = &record.body else {
            return false;
        };
        let valid_until = match &body.details {
            Details::ListEntry(l) => l.valid_until,
            Details::Listing(l) => l.valid_until,
            Details::Penalty(p) => p.valid_until,
            _ => None,
        };
        shared(body) && valid_until.is_none_or(|until| today <= until)
    }

    /// Whether credit repair may be granted for a record today.
    pub fn check_repair(&self, body: &RecordBody, today: Date) -> Result<(), LifecycleError> {
        if matches!(
            body.status,
            RecordStatus::Repaired | RecordStatus::Withdrawn | RecordStatus::Removed
        ) {
            return Err(LifecycleError::NotApplicable(format!(
                "the record is already {:?}",
                body.status
            )));
        }
        let period = self.period(body.severity).ok_or_else(|| {
            LifecycleError::NotApplicable("only negative records can be repaired".into())
        })?;
        let from = body
            .decision_date
            .add_months(period.min_months)
            .unwrap_or(body.decision_date);
        if today < from {
            return Err(LifecycleError::TooEarly {
                from,
                severity: body.severity,
                today,
            });
        }
        Ok(())
    }
}

/// Shared with government systems (and published, within the period): in force or
/// under objection; not repaired, withdrawn or removed, and for a reviewed list entry,
/// published.
fn shared(body: &RecordBody) -> bool {
    matches!(
        body.status,
        RecordStatus::Active | RecordStatus::UnderObjection
    ) && crate::review::in_force(body)
}

/// The first objection among `objections` that disputes `record` as it stands: one
/// filed against this record's current version (or an older one, not yet decided).
/// A decision by the origin is a newer version, which ends every earlier objection.
pub fn pending_objection<'a>(record: &Record, objections: &'a [Record]) -> Option<&'a Record> {
    objections
        .iter()
        .find(|o| match o.body.as_ref().map(|b| &b.details) {
            Some(Details::Objection(d)) => {
                d.target == record.key && record.version <= d.target_version
            }
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ObjectionDetails, RecordKey, RecordKind, Version};
    use crate::testing::{body_about, sample_record};
    use crate::DivisionCode;

    fn day(y: u16, m: u8, d: u8) -> Date {
        Date::new(y, m, d).expect("date")
    }

    #[test]
    fn publication_ends_by_itself_at_the_maximum() {
        let rules = PublicationRules::default();
        let mut r = sample_record(1); // General, decided 2024-03-05
        let body = r.body.as_ref().expect("body");
        assert_eq!(rules.publication_end(body), Some(day(2025, 3, 4)));
        assert!(rules.is_published(&r, day(2025, 3, 4)));
        assert!(!rules.is_published(&r, day(2025, 3, 5)));
        assert!(rules.visible(&r, Audience::Government, day(2030, 1, 1)));
        if let Some(b) = r.body.as_mut() {
            b.severity = Severity::Light;
        }
        assert!(
            !rules.is_published(&r, day(2024, 3, 5)),
            "light penalties are not published"
        );
    }

    #[test]
    fn repair_waits_for_the_minimum_and_hides_the_record_but_not_from_auditors() {
        let rules = PublicationRules::default();
        let mut r = sample_record(1);
        let body = r.body.clone().expect("body");
        assert!(matches!(
            rules.check_repair(&body, day(2024, 5, 1)),
            Err(LifecycleError::TooEarly { .. })
        ));
        assert_eq!(rules.check_repair(&body, day(2024, 6, 5)), Ok(()));
        if let Some(b) = r.body.as_mut() {
            b.status = RecordStatus::Repaired;
        }
        let today = day(2024, 7, 1);
        assert!(!rules.visible(&r, Audience::Public, today));
        assert!(!rules.visible(&r, Audience::Government, today));
        assert!(!rules.counts_for_measures(&r, today));
        assert!(rules.visible(&r, Audience::Auditor, today));
    }

    #[test]
    fn an_objection_is_pending_until_the_origin_issues_a_newer_version() {
        let r = sample_record(1);
        let mut body = body_about(9, "320583");
        body.details = Details::Objection(ObjectionDetails {
            target: r.key,
            target_version: r.version,
            reason: "已履行".into(),
        });
        let o = Record {
            key: RecordKey::derive(DivisionCode::NATIONAL, RecordKind::OBJECTION, &body),
            version: Version(r.version.0 + 5),
            body: Some(body),
        };
        let objections = [o];
        assert!(pending_objection(&r, &objections).is_some());
        let decided = Record {
            version: Version(r.version.0 + 10),
            ..r
        };
        assert!(pending_objection(&decided, &objections).is_none());
        assert!(!PublicationRules::default().is_published(&objections[0], day(2024, 3, 6)));
    }

    #[test]
    fn months_and_working_days() {
        assert_eq!(day(2024, 1, 31).add_months(1), Some(day(2024, 2, 29)));
        assert_eq!(day(2024, 11, 30).add_months(3), Some(day(2025, 2, 28)));
        // Friday 2026-11-27 to Friday 2026-12-04: 5 working days (no holiday between).
        let cal = crate::WorkCalendar::shipped();
        assert_eq!(
            cal.working_days_between(day(2026, 11, 27), day(2026, 12, 4)),
            5
        );
        assert_eq!(
            cal.working_days_between(day(2026, 11, 27), day(2026, 11, 27)),
            0
        );
        // Across the National Day week 2026 and its working Saturday 10 October.
        assert_eq!(
            cal.working_days_between(day(2026, 9, 30), day(2026, 10, 12)),
            4
        );
    }
}
