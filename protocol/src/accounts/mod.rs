//! Accounts per reporting unit (报送单位台账): what each deciding authority and each
//! data-source unit reported, month by month — records, the share on time under the
//! 7-working-day rule, the delay's median and 90th percentile, the completeness of the
//! optional fields, and the rows refused at import with their reasons — and the
//! obligations of the catalogue of matters (目录清单) that name the units reporting
//! nothing in a period (零报送).
//!
//! Each node computes the accounts of the records it originates ([`NodeAccounts`]);
//! a hub passes up its own and its children's last reports, unchanged
//! ([`SubtreeAccounts`], [`crate::link::Frame::Accounts`], link version 4), so that the
//! national hub sees every unit of the federation without reading anyone's data
//! again. [`card`] turns a subtree's accounts into the monthly notice (通报) and the
//! indicators of city monitoring (城市信用状况监测).

pub mod card;
mod catalogue;
mod month;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::DivisionCode;

pub use catalogue::{Frequency, Obligation};
pub use month::{Month, MonthError};

/// Units listed in one node's accounts at most (a city has a few hundred).
pub const MAX_UNITS: usize = 8_192;
/// Nodes in one subtree's accounts at most.
pub const MAX_NODES: usize = 4_096;
/// Distinct refusal reasons kept per unit and month; further ones count as
/// [`OTHER_REASONS`].
pub const MAX_REASONS: usize = 16;
/// The reason under which refusals beyond [`MAX_REASONS`] are counted.
pub const OTHER_REASONS: &str = "(other reasons)";
/// Obligations in one node's catalogue at most.
pub const MAX_OBLIGATIONS: usize = 8_192;

/// The part a unit plays in the records it is counted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum UnitRole {
    /// The authority that decided (处罚机关, 许可机关, 认定单位).
    Authority,
    /// The unit that supplied the data (数据来源单位); the deciding authority when the
    /// record names no other.
    Source,
}

impl UnitRole {
    /// The role's name in output (`authority`, `source`).
    pub fn as_str(self) -> &'static str {
        match self {
            UnitRole::Authority => "authority",
            UnitRole::Source => "source",
        }
    }
}

/// What one unit reported in one month (by decision month; refusals by the decision
/// month the row names, else the month of the import).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitMonth {
    /// Live records (tombstones and drafts are not counted).
    pub records: u64,
    /// Of which by record kind (its code).
    pub by_kind: BTreeMap<u16, u64>,
    /// Records whose arrival at their origin is known.
    pub measured: u64,
    /// Of those, the ones that arrived within 7 working days of their decision.
    pub on_time: u64,
    /// Delay from decision to arrival at the origin, in calendar days → records.
    pub delays: BTreeMap<u32, u64>,
    /// Optional fields the records could have filled, summed over the records.
    pub optional_slots: u64,
    /// Optional fields they filled.
    pub optional_filled: u64,
    /// Rows of import files refused.
    pub rejected: u64,
    /// Refused rows by reason (`field: reason`), at most [`MAX_REASONS`] and
    /// [`OTHER_REASONS`].
    pub reasons: BTreeMap<String, u64>,
}

impl UnitMonth {
    /// Adds another month's figures (of the same unit, or for a total).
    pub fn merge(&mut self, other: &UnitMonth) {
        self.records += other.records;
        for (k, n) in &other.by_kind {
            *self.by_kind.entry(*k).or_default() += n;
        }
        self.measured += other.measured;
        self.on_time += other.on_time;
        for (d, n) in &other.delays {
            *self.delays.entry(*d).or_default() += n;
        }
        self.optional_slots += other.optional_slots;
        self.optional_filled += other.optional_filled;
        self.rejected += other.rejected;
        for (r, n) in &other.reasons {
            self.add_reason(r, *n);
        }
    }

    /// Counts `n` refusals for `reason`, keeping at most [`MAX_REASONS`] reasons.
    pub fn add_reason(&mut self, reason: &str, n: u64) {
        if let Some(c) = self.reasons.get_mut(reason) {
            *c += n;
        } else if self.reasons.len() < MAX_REASONS || reason == OTHER_REASONS {
            self.reasons.insert(reason.to_string(), n);
        } else {
            *self.reasons.entry(OTHER_REASONS.to_string()).or_default() += n;
        }
    }

    /// The share of measured records on time (`None` when none was measured).
    pub fn on_time_share(&self) -> Option<f64> {
        (self.measured > 0).then(|| self.on_time as f64 / self.measured as f64)
    }

    /// The share of optional fields filled (`None` when there were none).
    pub fn completeness(&self) -> Option<f64> {
        (self.optional_slots > 0).then(|| self.optional_filled as f64 / self.optional_slots as f64)
    }

    /// The delay at quantile `p` (0.5: the median), in calendar days: the measured
    /// delay at rank `round((n − 1)·p)` in increasing order.
    pub fn delay_quantile(&self, p: f64) -> Option<u32> {
        let n: u64 = self.delays.values().sum();
        if n == 0 {
            return None;
        }
        let rank = ((n - 1) as f64 * p.clamp(0.0, 1.0)).round() as u64;
        let mut seen = 0;
        for (d, c) in &self.delays {
            seen += c;
            if seen > rank {
                return Some(*d);
            }
        }
        self.delays.keys().next_back().copied()
    }
}

/// One unit's accounts at one origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitAccount {
    /// Its role in the records counted.
    pub role: UnitRole,
    /// Its name as the records give it.
    pub name: String,
    /// Its USCC as the records give it (the unit is known by it when given).
    pub uscc: Option<String>,
    /// The origin of the records counted (the node's jurisdiction, or a county it
    /// imports for).
    pub origin: DivisionCode,
    /// Its figures by month.
    pub months: BTreeMap<Month, UnitMonth>,
}

impl UnitAccount {
    /// The unit's figures over `months` (inclusive), summed.
    pub fn over(&self, from: Month, to: Month) -> UnitMonth {
        let mut sum = UnitMonth::default();
        for (_, m) in self.months.range(from..=to) {
            sum.merge(m);
        }
        sum
    }
}

/// The figures of city monitoring that are not per unit, for one month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorMonth {
    /// Red-list entries published, by listing month.
    pub red_listed: u64,
    /// Black-list and dishonest-debtor entries published, by listing month.
    pub black_listed: u64,
    /// Objections to records of this origin filed in the month.
    pub objections: u64,
    /// Of those, decided within the objection deadline (working days).
    pub objections_in_time: u64,
    /// Of those, not decided yet and past the deadline.
    pub objections_overdue: u64,
    /// Records repaired (信用修复) in the month, by the time the repair was recorded.
    pub repairs: u64,
    /// Of the repairs of list entries (which name the day of the repair decision), the
    /// ones recorded within the repair deadline (working days).
    pub repairs_timed: u64,
    /// … of which in time.
    pub repairs_in_time: u64,
}

impl MonitorMonth {
    /// Adds another month's figures.
    pub fn merge(&mut self, o: &MonitorMonth) {
        self.red_listed += o.red_listed;
        self.black_listed += o.black_listed;
        self.objections += o.objections;
        self.objections_in_time += o.objections_in_time;
        self.objections_overdue += o.objections_overdue;
        self.repairs += o.repairs;
        self.repairs_timed += o.repairs_timed;
        self.repairs_in_time += o.repairs_in_time;
    }
}

/// What one node accounts for: the units of the records it originates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAccounts {
    /// The node's name (from its certificate).
    pub name: String,
    /// Its jurisdiction.
    pub jurisdiction: DivisionCode,
    /// When the accounts were computed (ms since the epoch, the node's clock).
    pub at_ms: u64,
    /// Every unit with records or refusals in the months kept.
    pub units: Vec<UnitAccount>,
    /// The node's catalogue of matters, with what each obliged unit reported.
    pub obligations: Vec<Obligation>,
    /// Monitoring figures by origin and month.
    pub monitor: BTreeMap<DivisionCode, BTreeMap<Month, MonitorMonth>>,
}

/// The accounts of a node and of every node below it, as last reported: what a child
/// sends its parent at the start of a session on link version 4.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtreeAccounts {
    /// One entry per node, the sender's first.
    pub nodes: Vec<NodeAccounts>,
}

/// Why received accounts are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountsError {
    /// More of something than the limits allow.
    #[error("accounts of {what}: {count}, at most {limit}")]
    TooMany {
        /// What is counted.
        what: &'static str,
        /// How many there are.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A node outside the sender's jurisdiction.
    #[error("accounts of node {node} ({jurisdiction}) outside the sender's jurisdiction {sender}")]
    Outside {
        /// The node named.
        node: String,
        /// Its jurisdiction.
        jurisdiction: DivisionCode,
        /// The sender's jurisdiction.
        sender: DivisionCode,
    },
}

impl SubtreeAccounts {
    /// Checks accounts received from a child of jurisdiction `sender`: the limits, and
    /// that every node and unit lies inside the sender's jurisdiction.
    pub fn check(&self, sender: DivisionCode) -> Result<(), AccountsError> {
        let too_many = |what, count, limit| {
            (count > limit)
                .then_some(AccountsError::TooMany { what, count, limit })
                .map_or(Ok(()), Err)
        };
        too_many("nodes", self.nodes.len(), MAX_NODES)?;
        for n in &self.nodes {
            too_many("units", n.units.len(), MAX_UNITS)?;
            too_many("obligations", n.obligations.len(), MAX_OBLIGATIONS)?;
            let outside = !sender.contains(n.jurisdiction)
                || n.units.iter().any(|u| !sender.contains(u.origin))
                || n.obligations.iter().any(|o| !sender.contains(o.origin))
                || n.monitor.keys().any(|o| !sender.contains(*o));
            if outside {
                return Err(AccountsError::Outside {
                    node: n.name.clone(),
                    jurisdiction: n.jurisdiction,
                    sender,
                });
            }
        }
        Ok(())
    }

    /// The oldest month any figure of these accounts is about.
    pub fn oldest_month(&self) -> Option<Month> {
        self.nodes
            .iter()
            .flat_map(|n| {
                let units = n.units.iter().filter_map(|u| u.months.keys().next());
                let obligations = n
                    .obligations
                    .iter()
                    .filter_map(|o| o.reported.keys().next());
                let monitor = n.monitor.values().filter_map(|m| m.keys().next());
                units.chain(obligations).chain(monitor).copied()
            })
            .min()
    }

    /// Drops the oldest months until the encoding takes at most `max_bytes` (a frame
    /// must fit [`crate::link::MAX_FRAME`]); returns the months dropped from, if any.
    pub fn fit(&mut self, max_bytes: usize) -> Option<Month> {
        let mut dropped = None;
        while postcard::to_stdvec(self).map_or(usize::MAX, |b| b.len()) > max_bytes {
            let Some(oldest) = self.oldest_month() else {
                // Nothing dated is left: only names and catalogues; drop them too.
                for n in &mut self.nodes {
                    n.units.clear();
                    n.obligations.clear();
                }
                self.nodes.truncate(1);
                break;
            };
            self.keep_from(oldest.next());
            dropped = Some(oldest);
        }
        dropped
    }

    /// Keeps only the months from `from` on (what a node passes up is bounded by the
    /// months it keeps).
    pub fn keep_from(&mut self, from: Month) {
        for n in &mut self.nodes {
            for u in &mut n.units {
                u.months = u.months.split_off(&from);
            }
            n.units.retain(|u| !u.months.is_empty());
            for o in &mut n.obligations {
                o.reported = o.reported.split_off(&from);
            }
            for m in n.monitor.values_mut() {
                *m = m.split_off(&from);
            }
        }
    }
}

#[cfg(test)]
mod tests;
