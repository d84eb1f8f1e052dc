//! The life of a record, at a running node: objections (filed at any node), and the
//! origin's decisions, withdrawals and credit repair. Every change is a new version
//! written by the record's origin, which then travels like any other; a node that is
//! not the origin refuses, logs and counts the attempt.

use credithub_protocol::lifecycle::LifecycleError;
use credithub_protocol::record::{Authority, Details, ObjectionDetails, RecordStatus, Severity};
use credithub_protocol::{RecordBody, RecordKey, RecordKind};

use super::Node;
use crate::admin::{AdminResponse, Decision};
use crate::certs::Identity;
use crate::clock::{now_millis, today};
use crate::store::WriteOutcome;

fn held(
    node: &Node,
    target: &RecordKey,
) -> anyhow::Result<(credithub_protocol::Record, RecordBody)> {
    let r = node
        .store
        .get(target)?
        .ok_or_else(|| anyhow::anyhow!("record {target} is not held at this node"))?;
    let body = r
        .body
        .clone()
        .ok_or_else(|| anyhow::anyhow!("record {target} was deleted"))?;
    Ok((r, body))
}

/// The answer to a write of one record: its key and new version, or why nothing was
/// written.
pub(super) fn written(out: Vec<WriteOutcome>, what: String) -> anyhow::Result<AdminResponse> {
    match out.first() {
        Some(WriteOutcome::Inserted(key, v)) | Some(WriteOutcome::Updated(key, v)) => {
            Ok(AdminResponse::Lifecycle {
                key: *key,
                version: v.0,
                what,
            })
        }
        Some(WriteOutcome::Unchanged(key)) => anyhow::bail!("{key}: nothing to change"),
        Some(WriteOutcome::NotFound(key)) => anyhow::bail!("{key} is not held here"),
        None => anyhow::bail!("nothing was written"),
    }
}

/// Only a record's origin may change it: refuses (logged and counted) otherwise.
fn origin_only(node: &Node, who: &Identity, target: &RecordKey, what: &str) -> anyhow::Result<()> {
    if target.origin != node.config.jurisdiction {
        tracing::warn!(
            admin = %who.name,
            record = %target,
            action = what,
            "refused: only the record's origin may change it"
        );
        node.metrics.refused_change();
        anyhow::bail!(
            "only the record's origin ({}) may {what} it; this node is {}",
            target.origin,
            node.config.jurisdiction
        );
    }
    Ok(())
}

/// Files an objection against a record held here: an objection record of this
/// node's origin, about the same subject, that reaches every node.
pub fn object(
    node: &Node,
    who: &Identity,
    target: RecordKey,
    reason: &str,
) -> anyhow::Result<AdminResponse> {
    let reason = reason.trim();
    if reason.is_empty() {
        anyhow::bail!("an objection needs its grounds (--reason)");
    }
    let (record, body) = held(node, &target)?;
    let now = now_millis();
    let objection = RecordBody {
        subject: body.subject.clone(),
        other_ids: Vec::new(),
        representative: None,
        authority: Authority {
            name: format!(
                "credithub {} ({})",
                node.identity.name, node.config.jurisdiction
            ),
            uscc: None,
        },
        source_unit: None,
        decision_no: format!("异议 {target} {now}"),
        decision_date: today(),
        published_on: None,
        publication_end: None,
        severity: Severity::NotApplicable,
        status: RecordStatus::Active,
        details: Details::Objection(ObjectionDetails {
            target,
            target_version: record.version,
            reason: reason.to_string(),
        }),
        extra: [("FILED_BY".to_string(), who.name.clone())]
            .into_iter()
            .collect(),
    };
    tracing::info!(admin = %who.name, record = %target, "objection filed");
    let out = node
        .store
        .write_local(vec![(RecordKind::OBJECTION, objection)], now)?;
    node.dirty.notify_one();
    written(out, format!("objection to {target} filed; the record shows as under objection wherever the objection arrives, until its origin decides"))
}

/// The origin's decision on a record's objections.
pub fn decide(
    node: &Node,
    who: &Identity,
    target: RecordKey,
    decision: Decision,
) -> anyhow::Result<AdminResponse> {
    origin_only(node, who, &target, "decide on")?;
    let (_, mut body) = held(node, &target)?;
    let now = now_millis();
    let what = match decision {
        Decision::Delete => {
            let out = node.store.delete_local(&[target], now)?;
            node.dirty.notify_one();
            tracing::info!(admin = %who.name, record = %target, "objection upheld: record deleted");
            return written(out, format!("{target} deleted"));
        }
        Decision::Confirm => "confirmed".to_string(),
        Decision::Correct(text) => {
            match &mut body.details {
                Details::Penalty(p) => p.content = text.clone(),
                Details::Licence(l) => l.content = text.clone(),
                Details::ListEntry(l) => l.reason = text.clone(),
                Details::DishonestDebtor(d) => d.obligation = text.clone(),
                Details::Listing(l) => match &mut l.court {
                    Some(c) => c.obligation = text.clone(),
                    None => l.reason = text.clone(),
                },
                Details::Other | Details::Objection(_) | Details::Mapping(_) => {
                    body.extra.insert("CORRECTION".into(), text.clone());
                }
            }
            format!("corrected: {text}")
        }
    };
    body.status = RecordStatus::Active;
    body.extra.insert(
        crate::query::monitor::DECISION_FIELD.into(),
        format!("{what} ({now})"),
    );
    tracing::info!(admin = %who.name, record = %target, decision = %what, "objection decided");
    let out = node.store.write_local(vec![(target.kind, body)], now)?;
    node.dirty.notify_one();
    written(out, format!("{target} {what}"))
}

/// Withdraws a record whose decision was revoked.
pub fn withdraw(node: &Node, who: &Identity, target: RecordKey) -> anyhow::Result<AdminResponse> {
    origin_only(node, who, &target, "withdraw")?;
    let (_, mut body) = held(node, &target)?;
    body.status = RecordStatus::Withdrawn;
    tracing::info!(admin = %who.name, record = %target, "record withdrawn");
    let out = node
        .store
        .write_local(vec![(target.kind, body)], now_millis())?;
    node.dirty.notify_one();
    written(
        out,
        format!("{target} withdrawn: no longer published, shared or used"),
    )
}

/// Grants credit repair, once the minimum publication period has passed.
pub fn repair(node: &Node, who: &Identity, target: RecordKey) -> anyhow::Result<AdminResponse> {
    origin_only(node, who, &target, "repair")?;
    let (_, mut body) = held(node, &target)?;
    node.config
        .publication
        .check_repair(&body, today())
        .map_err(|e: LifecycleError| anyhow::anyhow!("{target}: {e}"))?;
    body.status = RecordStatus::Repaired;
    tracing::info!(admin = %who.name, record = %target, "credit repair granted");
    let out = node
        .store
        .write_local(vec![(target.kind, body)], now_millis())?;
    node.dirty.notify_one();
    written(
        out,
        format!("{target} repaired: no longer published or used for measures; kept for auditors"),
    )
}
