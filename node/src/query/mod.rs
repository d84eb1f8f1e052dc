//! What the data is for: subject queries across every origin a node holds, joint
//! reward and punishment checks, credit reports, and reporting-timeliness figures —
//! each seen through an [`Audience`] (public, government, auditor) that decides which
//! records show and whether personal numbers are masked.
//!
//! - [`aliases`]: one subject under all its codes (USCC, organisation code, older
//!   numbers, code mappings);
//! - [`names`]: search of subjects by a fragment of their name;
//! - [`lists`]: the red and black lists and dishonest debtors, paged;
//! - [`measures`]: the catalogue of joint measures (configuration) and the check;
//! - [`report`]: the credit report as text;
//! - [`timeliness`]: statistics and reporting delays per origin.

pub mod accounts;
pub mod aliases;
pub mod feed;
pub mod lists;
pub mod matters;
pub mod measures;
pub mod monitor;
pub mod names;
pub mod report;
pub mod timeliness;

use std::collections::BTreeMap;

use credithub_protocol::ids::{SubjectId, SubjectKind};
use credithub_protocol::lifecycle::{pending_objection, Audience, PublicationRules};
use credithub_protocol::record::{Details, RecordStatus};
use credithub_protocol::{Date, DivisionCode, Record, RecordKind};
use serde::{Deserialize, Serialize};

use crate::store::{Result, Store};

/// One record as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    /// `ORIGIN:KIND:ID`.
    pub key: String,
    /// The record kind.
    pub kind: String,
    /// The origin jurisdiction.
    pub origin: DivisionCode,
    /// Its name.
    pub origin_name: String,
    /// The version.
    pub version: u64,
    /// `active`, `under-objection`, `withdrawn`, `repaired` or `removed`.
    pub status: String,
    /// The grounds of a pending objection.
    pub objection: Option<String>,
    /// Whether the public sees it today.
    pub published: bool,
    /// The last day of publication, if it has one.
    pub publication_end: Option<Date>,
    /// The subject's name (a natural person's given name masked unless the reader
    /// may see personal data).
    pub subject_name: String,
    /// The subject's identifier (a personal number masked likewise).
    pub subject_id: String,
    /// The deciding authority.
    pub authority: String,
    /// The decision number.
    pub decision_no: String,
    /// The decision date.
    pub decision_date: Date,
    /// `NotApplicable`, `Light`, `General` or `Serious`.
    pub severity: String,
    /// What was decided, in brief.
    pub summary: String,
    /// The legal basis, where the record states one.
    pub legal_basis: String,
    /// When the current version arrived at this node (ms since the epoch).
    pub arrived_ms: u64,
}

/// How fresh one origin's data is at the answering node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginFreshness {
    /// The origin.
    pub origin: DivisionCode,
    /// Its name.
    pub name: String,
    /// Records of it in the answer.
    pub records: u32,
    /// When this node last reconciled with the link its data comes through (ms since
    /// the epoch; `None` if never since start). Local data is current.
    pub synced_ms: Option<u64>,
    /// `local`, `child NAME` or `parent`.
    pub via: String,
}

/// The answer to a subject query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectAnswer {
    /// The answering node.
    pub node: String,
    /// The subject as the reader may see it.
    pub subject: String,
    /// The subject's name, from the most recent record.
    pub subject_name: String,
    /// Who the answer was made for.
    pub audience: Option<Audience>,
    /// The records visible to the reader, newest decisions first.
    pub records: Vec<RecordView>,
    /// Per origin in the answer, how fresh its data is.
    pub origins: Vec<OriginFreshness>,
    /// True when some child asked directly (`fresh`) did not answer in time.
    pub partial: bool,
    /// The children that did not answer.
    pub unanswered: Vec<String>,
    /// When the answer was made (ms since the epoch).
    pub at_ms: u64,
    /// The subject's other codes the answer went through.
    #[serde(default)]
    pub aliases: Vec<aliases::Alias>,
    /// Contradicting code mappings (nothing was merged across them).
    #[serde(default)]
    pub alias_conflicts: Vec<aliases::AliasConflict>,
}

/// The name as a reader may see it: a natural person's given name masked.
fn name_for(kind: SubjectKind, name: &str, audience: Audience) -> String {
    if kind != SubjectKind::NaturalPerson || audience.sees_personal_numbers() {
        return name.to_string();
    }
    let mut chars = name.chars();
    format!("{}**", chars.next().unwrap_or('*'))
}

/// The identifier as a reader may see it.
pub fn id_for(id: &SubjectId, audience: Audience) -> String {
    if audience.sees_personal_numbers() {
        id.unmasked()
    } else {
        id.to_string()
    }
}

fn status_name(s: RecordStatus) -> &'static str {
    match s {
        RecordStatus::Active => "active",
        RecordStatus::UnderObjection => "under-objection",
        RecordStatus::Withdrawn => "withdrawn",
        RecordStatus::Repaired => "repaired",
        RecordStatus::Removed => "removed",
    }
}

/// A record's view for `audience`, `objections` being the objections held about its
/// subject and `arrived_ms` when its version arrived here ([`Store::arrival`]).
/// `None` for tombstones and objections themselves.
pub fn view(
    r: &Record,
    arrived_ms: u64,
    objections: &[Record],
    audience: Audience,
    rules: &PublicationRules,
    today: Date,
) -> Option<RecordView> {
    let b = r.body.as_ref()?;
    if r.key.kind == RecordKind::OBJECTION || aliases::is_mapping(r.key.kind) {
        return None;
    }
    let pending =
        pending_objection(r, objections).and_then(|o| match o.body.as_ref().map(|b| &b.details) {
            Some(Details::Objection(d)) => Some(d.reason.clone()),
            _ => None,
        });
    let status = if pending.is_some() && b.status == RecordStatus::Active {
        "under-objection"
    } else {
        status_name(b.status)
    };
    let (summary, basis) = match &b.details {
        Details::Penalty(p) => (p.content.clone(), p.legal_basis.clone()),
        Details::Licence(l) => (l.content.clone(), String::new()),
        Details::ListEntry(l) => (
            format!("{}: {}", l.list_name, l.reason),
            l.legal_basis.clone(),
        ),
        Details::DishonestDebtor(d) => (
            format!("{} {}: {}", d.court, d.case_no, d.obligation),
            d.enforcement_basis.clone(),
        ),
        Details::Listing(l) => (
            match &l.court {
                Some(c) => format!("{} {}: {}", c.court, c.case_no, c.obligation),
                None => format!("{}: {}", l.list_name, l.reason),
            },
            l.legal_basis.clone(),
        ),
        Details::Other | Details::Objection(_) | Details::Mapping(_) => {
            (String::new(), String::new())
        }
    };
    Some(RecordView {
        key: r.key.to_string(),
        kind: r.key.kind.name(),
        origin: r.key.origin,
        origin_name: r.key.origin.name().unwrap_or("").to_string(),
        version: r.version.0,
        status: status.to_string(),
        objection: pending,
        published: rules.is_published(r, today),
        publication_end: rules.publication_end(b),
        subject_name: name_for(b.subject.kind, &b.subject.name, audience),
        subject_id: id_for(&b.subject.id, audience),
        authority: b.authority.name.clone(),
        decision_no: b.decision_no.clone(),
        decision_date: b.decision_date,
        severity: format!("{:?}", b.severity),
        summary,
        legal_basis: basis,
        arrived_ms,
    })
}

/// What a node holds about one subject, as one reader may see it.
#[derive(Debug, Clone, Default)]
pub struct About {
    /// The records the reader may see.
    pub records: Vec<Record>,
    /// Their views, newest decision first.
    pub views: Vec<RecordView>,
    /// The subject's other codes the answer went through.
    pub aliases: Vec<aliases::Alias>,
    /// Contradicting code mappings.
    pub conflicts: Vec<aliases::AliasConflict>,
}

/// Every record about `subject`, under all its codes ([`aliases::resolve`]), held
/// here that `audience` may see, with the objections held about it (for marking),
/// newest decision first.
pub fn records_about(
    store: &Store,
    subject: &SubjectId,
    audience: Audience,
    rules: &PublicationRules,
    today: Date,
) -> Result<About> {
    let resolution = aliases::resolve(store, subject)?;
    let held = resolution.records;
    let objections: Vec<Record> = held
        .iter()
        .filter(|(r, _)| r.key.kind == RecordKind::OBJECTION)
        .map(|(r, _)| r.clone())
        .collect();
    let mut visible = Vec::new();
    let mut views = Vec::new();
    for (r, arrived_ms) in held {
        if !rules.visible(&r, audience, today) {
            continue;
        }
        if let Some(v) = view(&r, arrived_ms, &objections, audience, rules, today) {
            views.push(v);
            visible.push(r);
        }
    }
    views.sort_by(|a, b| {
        b.decision_date
            .cmp(&a.decision_date)
            .then(a.key.cmp(&b.key))
    });
    Ok(About {
        records: visible,
        views,
        aliases: resolution.aliases,
        conflicts: resolution.conflicts,
    })
}

/// Counts the views per origin, for the freshness table.
pub fn origin_counts(views: &[RecordView]) -> BTreeMap<DivisionCode, u32> {
    let mut m = BTreeMap::new();
    for v in views {
        *m.entry(v.origin).or_default() += 1;
    }
    m
}
