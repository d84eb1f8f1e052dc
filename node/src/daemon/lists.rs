//! Red and black lists and dishonest debtors at a running node: proposal, review,
//! confirmation, rejection and removal of entries ([`credithub_protocol::review`]),
//! each step by an admin certificate whose name the trail records.
//!
//! Drafts live at their origin only; only the origin's administrators see them.
//! Confirmation publishes: the entry becomes a record of this origin, the node
//! reconciles at once, and the entry reaches every subscribed node in that round.

use credithub_protocol::record::{Details, Record, RecordStatus, RemovalCause, ReviewAction};
use credithub_protocol::review::{self, ReviewError};
use credithub_protocol::{Date, DivisionCode, RecordBody, RecordKey, RecordKind};

use super::lifecycle::written;
use super::Node;
use crate::admin::{AdminResponse, ListAction, ListEntryView};
use crate::certs::Identity;
use crate::clock::{now_millis, today};
use crate::query::id_for;
use credithub_protocol::lifecycle::Audience;

fn refused(key: &RecordKey, e: ReviewError) -> anyhow::Error {
    anyhow::anyhow!("{key}: {e}")
}

/// Proposes entries: each becomes a draft proposed by `who`.
pub fn propose(
    node: &Node,
    who: &Identity,
    records: Vec<(RecordKind, RecordBody)>,
    note: &str,
) -> anyhow::Result<AdminResponse> {
    let now = now_millis();
    let mut inserted = 0;
    for (i, (kind, mut body)) in records.into_iter().enumerate() {
        review::propose(kind, &mut body, &who.name, note, now)
            .map_err(|e| anyhow::anyhow!("entry {}: {e}", i + 1))?;
        let (key, version) = node.store.put_draft(kind, &body, now)?;
        tracing::info!(admin = %who.name, entry = %key, version = version.0, "list entry proposed");
        inserted += 1;
    }
    Ok(AdminResponse::Written {
        inserted,
        updated: 0,
        unchanged: 0,
    })
}

/// A review step on a draft of this node.
pub fn step(
    node: &Node,
    who: &Identity,
    key: RecordKey,
    action: ListAction,
    note: &str,
) -> anyhow::Result<AdminResponse> {
    let draft = node
        .store
        .draft(&key)?
        .ok_or_else(|| anyhow::anyhow!("{key}: no entry under review at this node"))?;
    let mut body = draft
        .body
        .ok_or_else(|| anyhow::anyhow!("{key}: the draft is empty"))?;
    let now = now_millis();
    review::advance(
        key.kind,
        &mut body,
        action.review_action(),
        &who.name,
        note,
        now,
        today(),
    )
    .map_err(|e| refused(&key, e))?;
    let what = match action {
        ListAction::Confirm => {
            let out = node.store.publish_draft(key.kind, body, now)?;
            node.dirty.notify_one();
            tracing::info!(admin = %who.name, entry = %key, "list entry confirmed and published");
            return written(vec![out], format!("{key} confirmed and published"));
        }
        ListAction::Review => "reviewed",
        ListAction::Reject => "rejected: it will not be published",
    };
    let (_, version) = node.store.put_draft(key.kind, &body, now)?;
    tracing::info!(admin = %who.name, entry = %key, step = action.review_action().as_str(), "list entry review step");
    Ok(AdminResponse::Lifecycle {
        key,
        version: version.0,
        what: format!("{key} {what}"),
    })
}

/// Takes a published entry of this node off its list.
pub fn remove(
    node: &Node,
    who: &Identity,
    key: RecordKey,
    cause: RemovalCause,
    reason: &str,
    on: Option<Date>,
) -> anyhow::Result<AdminResponse> {
    if key.origin != node.config.jurisdiction {
        node.metrics.refused_change();
        anyhow::bail!(
            "only the entry's origin ({}) may remove it; this node is {}",
            key.origin,
            node.config.jurisdiction
        );
    }
    let record = node
        .store
        .get(&key)?
        .ok_or_else(|| anyhow::anyhow!("{key}: no published entry at this node"))?;
    let mut body = record
        .body
        .ok_or_else(|| anyhow::anyhow!("{key} was deleted"))?;
    review::remove(
        key.kind,
        &mut body,
        cause,
        reason,
        &who.name,
        now_millis(),
        on.unwrap_or_else(today),
    )
    .map_err(|e| refused(&key, e))?;
    let out = node
        .store
        .write_local(vec![(key.kind, body)], now_millis())?;
    node.dirty.notify_one();
    tracing::info!(admin = %who.name, entry = %key, cause = cause.as_str(), "list entry removed");
    written(
        out,
        format!("{key} removed ({}): its effects end", cause.as_str()),
    )
}

/// The view of one entry (a draft or a record).
pub fn entry_view(record: &Record, draft: bool) -> Option<ListEntryView> {
    let body = record.body.as_ref()?;
    let (list_name, trail, state) = match &body.details {
        Details::Listing(l) => (
            l.list_name.clone(),
            l.review
                .iter()
                .map(|s| {
                    (
                        s.action.as_str().to_string(),
                        s.by.clone(),
                        s.at_ms,
                        s.note.clone(),
                    )
                })
                .collect(),
            if l.removal.is_some() || body.status == RecordStatus::Removed {
                "removed"
            } else {
                match l.last_action() {
                    Some(ReviewAction::Published) => "published",
                    Some(a) => a.as_str(),
                    None => "unknown",
                }
            },
        ),
        Details::ListEntry(l) => (l.list_name.clone(), Vec::new(), "published"),
        Details::DishonestDebtor(_) => ("失信被执行人名单".to_string(), Vec::new(), "published"),
        _ => return None,
    };
    Some(ListEntryView {
        key: record.key.to_string(),
        kind: record.key.kind.name(),
        list_name,
        subject_name: body.subject.name.clone(),
        subject_id: id_for(&body.subject.id, Audience::Government),
        authority: body.authority.name.clone(),
        state: state.to_string(),
        draft,
        version: record.version.0,
        trail,
    })
}

/// List entries held here, drafts first, filtered.
pub fn entries(
    node: &Node,
    kind: Option<RecordKind>,
    state: Option<&str>,
    origin: Option<DivisionCode>,
    limit: u32,
) -> anyhow::Result<AdminResponse> {
    if let Some(k) = kind {
        if !k.is_list() {
            anyhow::bail!("{k} is not a list kind (red-list, black-list, dishonest-debtor)");
        }
    }
    let limit = limit.clamp(1, 10_000) as usize;
    let keep = |v: &ListEntryView| state.is_none_or(|s| v.state == s);
    let mut out: Vec<ListEntryView> = node
        .store
        .drafts(kind)?
        .iter()
        .filter(|r| origin.is_none_or(|o| o == r.key.origin))
        .filter_map(|r| entry_view(r, true))
        .filter(keep)
        .take(limit)
        .collect();
    let kinds: Vec<RecordKind> = match kind {
        Some(k) => vec![k],
        None => RecordKind::LISTS.to_vec(),
    };
    for k in kinds {
        if out.len() >= limit {
            break;
        }
        let scan = crate::store::read::Scan {
            origin: origin.unwrap_or(DivisionCode::NATIONAL),
            kind: Some(k),
            tombstones: false,
        };
        node.store.scan(scan, |r| {
            if let Some(v) = entry_view(&r, false).filter(keep) {
                out.push(v);
            }
            out.len() < limit
        })?;
    }
    Ok(AdminResponse::ListEntries(out))
}

/// One entry: its draft (if under review here) and its published version.
pub fn show(node: &Node, key: RecordKey) -> anyhow::Result<AdminResponse> {
    let mut out = Vec::new();
    if let Some(d) = node.store.draft(&key)? {
        out.extend(entry_view(&d, true));
    }
    if let Some(r) = node.store.get(&key)? {
        out.extend(entry_view(&r, false));
    }
    if out.is_empty() {
        anyhow::bail!("{key}: no such list entry at this node");
    }
    Ok(AdminResponse::ListEntries(out))
}
