//! Statistics at a hub: counts by origin, kind and period, and reporting timeliness —
//! for each origin, how long records took from their decision date to their arrival
//! here, and the share that missed the 7-working-day rule.

use std::collections::BTreeMap;

use credithub_protocol::{Date, DivisionCode, RecordKind, Scope};
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
    /// Records that arrived more than 7 working days after their decision.
    pub late: u64,
    /// `late` as a share of `measured`.
    pub late_share: f64,
}

/// Statistics over everything a node holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeliness {
    /// Per origin.
    pub origins: Vec<OriginFigures>,
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Computes the figures, one origin partition at a time (memory: one delay per record
/// of the largest origin).
pub fn compute(store: &Store) -> Result<Timeliness> {
    let mut per: BTreeMap<DivisionCode, (OriginFigures, Vec<u32>)> = BTreeMap::new();
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
                                    if b.decision_date.working_days_until(arrived)
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
    Ok(Timeliness { origins })
}
