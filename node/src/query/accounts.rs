//! The accounts per reporting unit of the records a node originates: for each
//! deciding authority and each data-source unit, by decision month, the records, the
//! share that reached the origin within 7 working days, the delay's median and 90th
//! percentile, the completeness of the optional fields, and the rows refused at import
//! with their reasons (from the store's refusal tallies); the catalogue of matters
//! with what each obliged unit reported; and the monitoring figures ([`super::monitor`]).
//!
//! Only the node's own origins are read: those inside its jurisdiction and outside
//! every child's it has heard from, whose accounts come in the children's reports.

use std::collections::BTreeMap;

use credithub_protocol::accounts::Month;
use credithub_protocol::accounts::{
    NodeAccounts, Obligation, UnitAccount, UnitMonth, UnitRole, MAX_UNITS,
};
use credithub_protocol::record::{Authority, Details};
use credithub_protocol::{
    Date, DivisionCode, NodePath, RecordBody, RecordKind, Scope, SubjectId, WorkCalendar,
};

use super::matters::Matters;
use super::monitor::Monitor;
use super::timeliness::DEADLINE_WORKING_DAYS;
use crate::store::refusals::RefusalTally;
use crate::store::{Result, Store};

/// What the accounts are computed with.
#[derive(Debug, Clone)]
pub struct AccountsOptions<'a> {
    /// The node's name.
    pub name: &'a str,
    /// Working days, for the 7-working-day rule and the deadlines.
    pub calendar: &'a WorkCalendar,
    /// The catalogue of matters.
    pub matters: &'a Matters,
    /// Today (the last month kept is today's).
    pub today: Date,
    /// Months kept, today's included.
    pub months: u32,
    /// Jurisdictions of the children whose accounts come in their reports.
    pub children: Vec<DivisionCode>,
    /// Working days an objection may wait for its origin's decision.
    pub objection_days: u32,
    /// Working days between a list entry's repair decision and its recording.
    pub repair_days: u32,
    /// The time of the computation (ms since the epoch).
    pub now_ms: u64,
}

/// A unit's identity at one origin: its role and its name as the records write it
/// (rows that give its USCC and rows that leave it out are the same unit; the USCC
/// shown is the first one given).
type UnitKey = (UnitRole, DivisionCode, String);

fn unit_key(role: UnitRole, origin: DivisionCode, name: &str) -> UnitKey {
    (role, origin, name.trim().to_string())
}

/// The optional fields a record of its kind could fill, and how many it fills.
///
/// - every kind: the deciding authority's USCC; for organisations, the legal
///   representative;
/// - penalties: the end of publication (`CF_GSJZQ`), the penalty's validity (`CF_YXQ`),
///   and the fine (`CF_NR_FK`) when a category is 罚款;
/// - licences: the certificate name (`XK_XKZS`), licence number (`XK_XKBH`), end of
///   validity (`XK_YXQZI`) and state (`XK_ZT`);
/// - list entries: the end of the listing (有效期至) and the legal basis (认定依据).
pub fn optional_fields(body: &RecordBody) -> (u64, u64) {
    let mut slots = vec![body.authority.uscc.is_some()];
    if matches!(body.subject.id, SubjectId::Uscc(_)) {
        slots.push(body.representative.is_some());
    }
    match &body.details {
        Details::Penalty(p) => {
            slots.push(body.publication_end.is_some());
            slots.push(p.valid_until.is_some());
            if p.categories.iter().any(|c| c.contains("罚款")) {
                slots.push(p.fine_fen.is_some());
            }
        }
        Details::Licence(l) => {
            slots.push(l.certificate_name.is_some());
            slots.push(l.licence_no.is_some());
            slots.push(l.valid_to.is_some());
            slots.push(l.state.is_some());
        }
        Details::ListEntry(l) => {
            slots.push(l.valid_until.is_some());
            slots.push(!l.legal_basis.trim().is_empty());
        }
        Details::Listing(l) => {
            slots.push(l.valid_until.is_some());
            slots.push(!l.legal_basis.trim().is_empty());
        }
        _ => {}
    }
    let filled = slots.iter().filter(|f| **f).count();
    (slots.len() as u64, filled as u64)
}

/// Whether `origin` is one of this node's own: inside its jurisdiction and outside
/// every reporting child's.
pub fn is_own(own: DivisionCode, children: &[DivisionCode], origin: DivisionCode) -> bool {
    own.contains(origin) && !children.iter().any(|c| c.contains(origin))
}

struct Builder<'a> {
    opts: &'a AccountsOptions<'a>,
    from: Month,
    units: BTreeMap<UnitKey, UnitAccount>,
    /// Refused rows by unit, month and kind (the catalogue counts them as reported).
    refused_kinds: BTreeMap<UnitKey, BTreeMap<Month, BTreeMap<u16, u64>>>,
}

impl Builder<'_> {
    fn unit(&mut self, role: UnitRole, origin: DivisionCode, a: &Authority) -> &mut UnitAccount {
        let uscc = a.uscc.map(|u| u.to_string());
        self.unit_named(role, origin, &a.name, uscc)
    }

    fn unit_named(
        &mut self,
        role: UnitRole,
        origin: DivisionCode,
        name: &str,
        uscc: Option<String>,
    ) -> &mut UnitAccount {
        let key = unit_key(role, origin, name);
        let unit = self.units.entry(key).or_insert_with(|| UnitAccount {
            role,
            name: name.trim().to_string(),
            uscc: None,
            origin,
            months: BTreeMap::new(),
        });
        if unit.uscc.is_none() {
            unit.uscc = uscc;
        }
        unit
    }

    fn record(
        &mut self,
        origin: DivisionCode,
        kind: RecordKind,
        body: &RecordBody,
        arrived: Option<Date>,
    ) {
        let month = Month::of(body.decision_date);
        if month < self.from {
            return;
        }
        let (slots, filled) = optional_fields(body);
        let delay = arrived.map(|a| {
            let days = (a.days_since_epoch() - body.decision_date.days_since_epoch()).max(0) as u32;
            let on_time = self
                .opts
                .calendar
                .working_days_between(body.decision_date, a)
                <= DEADLINE_WORKING_DAYS;
            (days, on_time)
        });
        let source = body.source_unit.as_ref().unwrap_or(&body.authority).clone();
        for (role, unit) in [
            (UnitRole::Authority, &body.authority),
            (UnitRole::Source, &source),
        ] {
            let m = self
                .unit(role, origin, unit)
                .months
                .entry(month)
                .or_default();
            m.records += 1;
            *m.by_kind.entry(kind.code()).or_default() += 1;
            m.optional_slots += slots;
            m.optional_filled += filled;
            if let Some((days, on_time)) = delay {
                m.measured += 1;
                m.on_time += u64::from(on_time);
                *m.delays.entry(days).or_default() += 1;
            }
        }
    }

    fn refusal(&mut self, t: &RefusalTally) {
        let m = self
            .unit_named(t.role, t.origin, &t.name, t.uscc.clone())
            .months
            .entry(t.month)
            .or_default();
        let mut add = UnitMonth {
            rejected: t.rows,
            ..UnitMonth::default()
        };
        for (r, n) in &t.reasons {
            add.add_reason(r, *n);
        }
        m.merge(&add);
        let key = unit_key(t.role, t.origin, &t.name);
        let kinds = self
            .refused_kinds
            .entry(key)
            .or_default()
            .entry(t.month)
            .or_default();
        for (k, n) in &t.by_kind {
            *kinds.entry(*k).or_default() += n;
        }
    }

    /// What each matter's unit reported, as data-source unit, of the matter's kinds:
    /// the unit named so, or the one whose records give the matter's USCC.
    fn obligations(&self) -> Vec<Obligation> {
        self.opts
            .matters
            .matters
            .iter()
            .map(|matter| {
                let uscc = matter.uscc.map(|u| u.to_string());
                let kinds: Vec<u16> = matter.kinds.iter().map(|k| k.code()).collect();
                let mut reported: BTreeMap<Month, u64> = BTreeMap::new();
                let count = |by_kind: &BTreeMap<u16, u64>| -> u64 {
                    kinds.iter().filter_map(|k| by_kind.get(k)).sum()
                };
                let obliged = self.units.iter().filter(|(_, u)| {
                    u.role == UnitRole::Source
                        && u.origin == matter.origin
                        && (u.name == matter.unit || (uscc.is_some() && u.uscc == uscc))
                });
                for (key, u) in obliged {
                    for (month, m) in &u.months {
                        *reported.entry(*month).or_default() += count(&m.by_kind);
                    }
                    for (month, by_kind) in self.refused_kinds.get(key).into_iter().flatten() {
                        *reported.entry(*month).or_default() += count(by_kind);
                    }
                }
                reported.retain(|_, n| *n > 0);
                Obligation {
                    name: matter.unit.clone(),
                    uscc,
                    origin: matter.origin,
                    kinds: matter.kinds.clone(),
                    frequency: matter.frequency,
                    since: matter.since,
                    reported,
                }
            })
            .collect()
    }
}

/// Computes the node's accounts, reading its own origin partitions once (memory: one
/// entry per unit and month, plus the monitoring figures).
pub fn compute(store: &Store, opts: &AccountsOptions<'_>) -> Result<NodeAccounts> {
    let own = store.jurisdiction();
    let from = Month::of(opts.today).minus(opts.months.saturating_sub(1));
    let mut b = Builder {
        opts,
        from,
        units: BTreeMap::new(),
        refused_kinds: BTreeMap::new(),
    };
    let mut monitor = Monitor::new(opts, from);
    for (p, _) in store.partitions()? {
        let Scope::Origin(origin) = p.scope else {
            continue;
        };
        let objections = p.kind == RecordKind::OBJECTION;
        if !objections
            && (p.kind == RecordKind::SUBJECT_MAPPING || !is_own(own, &opts.children, origin))
        {
            continue;
        }
        let mut failure = None;
        store.for_each_member(&p, NodePath::ROOT, |key, _| {
            let step = (|| -> Result<()> {
                let Some(r) = store.get(&key)? else {
                    return Ok(());
                };
                let Some(body) = &r.body else {
                    return Ok(());
                };
                if objections {
                    return monitor.objection(store, own, &r, body);
                }
                let arrived = Date::from_millis(store.arrival(&key, r.version)?);
                b.record(origin, key.kind, body, arrived);
                monitor.record(origin, key.kind, &r, body);
                Ok(())
            })();
            if let Err(e) = step {
                failure = Some(e);
            }
            failure.is_none()
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
    }
    for t in store.refusals(from)? {
        if is_own(own, &opts.children, t.origin) {
            b.refusal(&t);
        }
    }
    let obligations = b.obligations();
    let mut units: Vec<UnitAccount> = b.units.into_values().collect();
    if units.len() > MAX_UNITS {
        // The busiest units are kept; the report says how many there were.
        units.sort_by_key(|u| {
            std::cmp::Reverse(
                u.months
                    .values()
                    .map(|m| m.records + m.rejected)
                    .sum::<u64>(),
            )
        });
        tracing::warn!(
            units = units.len(),
            kept = MAX_UNITS,
            "more units than a report carries"
        );
        units.truncate(MAX_UNITS);
    }
    Ok(NodeAccounts {
        name: opts.name.to_string(),
        jurisdiction: own,
        at_ms: opts.now_ms,
        units,
        obligations,
        monitor: monitor.finish(),
    })
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;
