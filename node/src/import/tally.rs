//! Counting an import's refused rows per unit and month, for the store's refusal
//! tallies ([`crate::store::refusals`]).

use std::collections::BTreeMap;

use credithub_protocol::accounts::{Month, UnitRole};
use credithub_protocol::DivisionCode;

use super::{NamedUnit, RejectedRow};
use crate::store::refusals::RefusalTally;

/// The name of a unit a refused row does not name.
pub(super) const UNNAMED: &str = "(unnamed)";

/// The refused rows of one import, by unit, role and month.
#[derive(Debug)]
pub struct RefusalCounter {
    origin: DivisionCode,
    today: Month,
    tallies: BTreeMap<Vec<u8>, RefusalTally>,
}

impl RefusalCounter {
    /// A counter for an import at `origin` in the month `today` (the month of rows
    /// whose decision date cannot be read).
    pub fn new(origin: DivisionCode, today: Month) -> RefusalCounter {
        RefusalCounter {
            origin,
            today,
            tallies: BTreeMap::new(),
        }
    }

    /// Counts one refused row: under its deciding authority, and under its data-source
    /// unit (the authority when the row names no other), like the records.
    pub fn add(&mut self, row: &RejectedRow) {
        let u = &row.units;
        let month = u.decided.map_or(self.today, Month::of);
        let unnamed = NamedUnit {
            name: UNNAMED.to_string(),
            uscc: None,
        };
        let authority = u.authority.clone().unwrap_or(unnamed);
        let source = u.source.clone().unwrap_or_else(|| authority.clone());
        for (role, unit) in [(UnitRole::Authority, authority), (UnitRole::Source, source)] {
            let mut t = RefusalTally {
                month,
                role,
                origin: self.origin,
                name: unit.name,
                uscc: unit.uscc,
                rows: 1,
                by_kind: BTreeMap::new(),
                reasons: BTreeMap::new(),
            };
            if let Some(k) = u.kind {
                t.by_kind.insert(k.code(), 1);
            }
            // One count per reason of the row (a row with two faults shows under both).
            let mut reasons: Vec<String> = row
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect();
            reasons.sort();
            reasons.dedup();
            for r in reasons {
                *t.reasons.entry(r).or_default() += 1;
            }
            match self.tallies.get_mut(&t.key()) {
                Some(held) => held.merge(&t),
                None => {
                    self.tallies.insert(t.key(), t);
                }
            }
        }
    }

    /// The tallies counted.
    pub fn into_tallies(self) -> Vec<RefusalTally> {
        self.tallies.into_values().collect()
    }
}
