//! Statistics at a hub: counts by origin, kind and period, and reporting timeliness —
//! for each origin, how long records took from their decision date to their arrival
//! here, and the share that missed the 7-working-day rule, counted with the node's
//! working-day calendar (public holidays and the weekend days worked in exchange).

use std::collections::{BTreeMap, BTreeSet};

use credithub_protocol::{Date, DivisionCode, RecordKind, Scope, WorkCalendar};
use serde::{Deserialize, Serialize};

use crate::store::{Result, Store};

/// The publication deadline, in working days after the decision.
pub const DEADLINE_WORKING_DAYS: u32 = 7;

/// Figures of one origin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OriginFigures {
    /// The origin.
    pub origin: DivisionCode,
    /// Its name.
    pub name: String,
    /// Live records by kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Live records by decision month (`2026-03`).
    pub by_month: BTreeMap<String, u64>,
    /// Records whose delay was measured.
    pub measured: u64,
    /// Delay from decision to arrival here, in calendar days: median.
    pub delay_p50_days: u32,
    /// … 90th percentile.
    pub delay_p90_days: u32,
    /// … maximum.
    pub delay_max_days: u32,
    /// Records that arrived more than 7 working days after their decision (after the
    /// 7th working day following the decision date).
    pub late: u64,
    /// `late` as a share of `measured`.
    pub late_share: f64,
}

/// Statistics over everything a node holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeliness {
    /// Per origin.
    pub origins: Vec<OriginFigures>,
    /// Years of measured decisions whose public holidays the node's calendar has no
    /// shipped data for: counted Monday to Friday plus the configured `[calendar]`
    /// dates.
    #[serde(default)]
    pub uncovered_years: Vec<u16>,
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Computes the figures, one origin partition at a time (memory: one delay per record
/// of the largest origin), counting working days with `calendar`.
pub fn compute(store: &Store, calendar: &WorkCalendar) -> Result<Timeliness> {
    let mut per: BTreeMap<DivisionCode, (OriginFigures, Vec<u32>)> = BTreeMap::new();
    let mut uncovered = BTreeSet::new();
    for (p, _) in store.partitions()? {
        let Scope::Origin(origin) = p.scope else {
            continue;
        };
        if p.kind == RecordKind::OBJECTION {
            continue;
        }
        let (fig, delays) = per.entry(origin).or_insert_with(|| {
            (
                OriginFigures {
                    origin,
                    name: origin.name().unwrap_or("").to_string(),
                    ..OriginFigures::default()
                },
                Vec::new(),
            )
        });
        let mut failure = None;
        store.for_each_member(&p, credithub_protocol::NodePath::ROOT, |key, _| {
            match store.get(&key) {
                Ok(Some(r)) => {
                    if let Some(b) = &r.body {
                        *fig.by_kind.entry(key.kind.name()).or_default() += 1;
                        let month = format!(
                            "{:04}-{:02}",
                            b.decision_date.year(),
                            b.decision_date.month()
                        );
                        *fig.by_month.entry(month).or_default() += 1;
                        match store.arrival(&key, r.version) {
                            Ok(ms) => {
                                if let Some(arrived) = Date::from_millis(ms) {
                                    let days = (arrived.days_since_epoch()
                                        - b.decision_date.days_since_epoch())
                                    .max(0) as u32;
                                    delays.push(days);
                                    let decided = b.decision_date;
                                    if !calendar.covers(decided.year()) {
                                        uncovered.insert(decided.year());
                                    }
                                    if calendar.working_days_between(decided, arrived)
                                        > DEADLINE_WORKING_DAYS
                                    {
                                        fig.late += 1;
                                    }
                                }
                            }
                            Err(e) => failure = Some(e),
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => failure = Some(e),
            }
            failure.is_none()
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
    }
    let origins = per
        .into_values()
        .map(|(mut fig, mut delays)| {
            delays.sort_unstable();
            fig.measured = delays.len() as u64;
            fig.delay_p50_days = percentile(&delays, 0.5);
            fig.delay_p90_days = percentile(&delays, 0.9);
            fig.delay_max_days = delays.last().copied().unwrap_or(0);
            fig.late_share = if fig.measured == 0 {
                0.0
            } else {
                fig.late as f64 / fig.measured as f64
            };
            fig
        })
        .collect();
    Ok(Timeliness {
        origins,
        uncovered_years: uncovered.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use credithub_protocol::testing::sample_body;

    use super::*;

    fn day(y: u16, m: u8, d: u8) -> Date {
        Date::new(y, m, d).expect("date")
    }

    /// Noon in China on `date`, in milliseconds since the epoch.
    fn noon(date: Date) -> u64 {
        let days = u64::try_from(date.days_since_epoch()).expect("after 1970");
        days * 86_400_000 + 4 * 3_600_000
    }

    /// A store at Suzhou holding penalties decided and arrived on the given days.
    fn store_with(dir: &tempfile::TempDir, records: &[(Date, Date)]) -> Store {
        let store = Store::open(
            dir.path(),
            Some(DivisionCode::from_u32(320500).expect("code")),
        )
        .expect("store");
        for (n, &(decided, arrived)) in records.iter().enumerate() {
            let mut b = sample_body(n as u32, "91110000600037341L");
            b.decision_date = decided;
            store
                .write_local(vec![(RecordKind::PENALTY, b)], noon(arrived))
                .expect("write");
        }
        store
    }

    fn late(t: &Timeliness) -> (u64, u64) {
        let o = &t.origins[0];
        (o.late, o.measured)
    }

    #[test]
    fn holidays_and_working_weekends_decide_what_is_late() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = store_with(
            &dir,
            &[
                // Decided the day before Spring Festival 2025, arrived on the working
                // Saturday after it: 9 days Monday to Friday, 4 working days.
                (day(2025, 1, 27), day(2025, 2, 8)),
                // … and on the 8th working day: late.
                (day(2025, 1, 27), day(2025, 2, 13)),
                // Decided before the National Day week 2025, arrived on its 7th working
                // day (Sunday 28 September and Saturday 11 October were worked).
                (day(2025, 9, 26), day(2025, 10, 13)),
            ],
        );
        let real = compute(&store, WorkCalendar::shipped()).expect("figures");
        assert_eq!(late(&real), (1, 3));
        assert!(real.uncovered_years.is_empty());
        // Counted Monday to Friday, all three would have been late.
        let plain = compute(&store, &WorkCalendar::weekdays_only()).expect("figures");
        assert_eq!(late(&plain), (3, 3));
    }

    #[test]
    fn a_configured_holiday_and_an_uncovered_year() {
        let dir = tempfile::tempdir().expect("tmp");
        // Monday 1 February 2027 to Thursday 11 February: 8 days Monday to Friday.
        let store = store_with(&dir, &[(day(2027, 2, 1), day(2027, 2, 11))]);
        let t = compute(&store, WorkCalendar::shipped()).expect("figures");
        assert_eq!(late(&t), (1, 1));
        assert_eq!(t.uncovered_years, [2027]);
        let cal = WorkCalendar::shipped()
            .with(&[day(2027, 2, 5)], &[])
            .expect("calendar");
        assert_eq!(late(&compute(&store, &cal).expect("figures")), (0, 1));
    }
}
