//! Reads: subject queries (with each origin's freshness, and `fresh` answers from the
//! children), joint-measure checks, credit reports and timeliness figures — each for
//! the audience the reader's certificate allows, with the audit log written for
//! every query about a natural person.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use credithub_protocol::codec::EncodedRecord;
use credithub_protocol::ids::SubjectId;
use credithub_protocol::lifecycle::Audience;
use credithub_protocol::link::{Frame, WireRecord, MAX_RECORDS_PER_FRAME};
use credithub_protocol::Date;

use super::Node;
use crate::certs::{Identity, Role};
use crate::clock::now_millis;
use crate::link::frame::{read_frame, write_frame};
use crate::link::session::blocking;
use crate::link::LinkError;
use crate::query::measures::{self, CheckAnswer};
use crate::query::report::CreditReport;
use crate::query::{self, OriginFreshness, SubjectAnswer};

/// How long a `fresh` query waits for each child.
pub const FRESH_TIMEOUT: Duration = Duration::from_secs(5);

/// The audience a reader gets: the certificate's role decides, a request may only
/// narrow it.
pub fn audience_for(who: &Identity, asked: Option<Audience>) -> anyhow::Result<Audience> {
    let allowed: &[Audience] = match who.role {
        Role::Auditor => &[Audience::Auditor, Audience::Government, Audience::Public],
        Role::Admin | Role::Client => &[Audience::Government, Audience::Public],
        Role::Public => &[Audience::Public],
        Role::Node => bail!("node certificates do not query"),
    };
    match asked {
        None => Ok(allowed[0]),
        Some(a) if allowed.contains(&a) => Ok(a),
        Some(a) => bail!(
            "a {} certificate may not read as {a:?} (allowed: {allowed:?})",
            who.role.as_str()
        ),
    }
}

/// Parses the subject, and insists on a purpose when it is a natural person.
fn subject_and_purpose(
    subject: &str,
    purpose: Option<&str>,
) -> anyhow::Result<(SubjectId, String)> {
    let id = SubjectId::parse(subject).map_err(|e| {
        anyhow::anyhow!(
            "subject: {e} (identifier given: {} characters)",
            subject.chars().count()
        )
    })?;
    let purpose = purpose.map(str::trim).unwrap_or("").to_string();
    if id.is_personal() && purpose.is_empty() {
        bail!("a query about a natural person needs a stated purpose (--purpose); it is written to the audit log");
    }
    Ok((id, purpose))
}

fn audit(
    node: &Node,
    who: &Identity,
    purpose: &str,
    action: &str,
    id: &SubjectId,
    n: usize,
) -> anyhow::Result<()> {
    if id.is_personal() {
        let who = format!("{}:{}@{}", who.role.as_str(), who.name, who.jurisdiction);
        node.store
            .audit(
                now_millis(),
                &who,
                purpose,
                action,
                &id.unmasked(),
                n as u32,
            )
            .context("writing the audit log")?;
    }
    Ok(())
}

fn today() -> Date {
    Date::from_millis(now_millis())
        .unwrap_or(Date::new(2026, 1, 1).unwrap_or_else(|| unreachable!()))
}

/// Answers a subject query.
pub async fn query(
    node: &Arc<Node>,
    who: &Identity,
    subject: &str,
    purpose: Option<&str>,
    asked: Option<Audience>,
    fresh: bool,
) -> anyhow::Result<SubjectAnswer> {
    let audience = audience_for(who, asked)?;
    let (id, purpose) = subject_and_purpose(subject, purpose)?;
    let unanswered = if fresh {
        fresh_from_children(node, &id.unmasked(), FRESH_TIMEOUT).await
    } else {
        Vec::new()
    };
    let answer = blocking(|| answer(node, &id, audience, unanswered))?;
    audit(
        node,
        who,
        &purpose,
        if fresh { "query --fresh" } else { "query" },
        &id,
        answer.records.len(),
    )?;
    Ok(answer)
}

fn answer(
    node: &Node,
    id: &SubjectId,
    audience: Audience,
    unanswered: Vec<String>,
) -> anyhow::Result<SubjectAnswer> {
    let (_, views) =
        query::records_about(&node.store, id, audience, &node.config.publication, today())?;
    let origins = query::origin_counts(&views)
        .into_iter()
        .map(|(origin, records)| {
            let (synced_ms, via) = node.origin_freshness(origin);
            OriginFreshness {
                origin,
                name: origin.name().unwrap_or("").to_string(),
                records,
                synced_ms,
                via,
            }
        })
        .collect();
    Ok(SubjectAnswer {
        node: format!("{} ({})", node.identity.name, node.config.jurisdiction),
        subject: query::id_for(id, audience),
        subject_name: views
            .first()
            .map(|v| v.subject_name.clone())
            .unwrap_or_default(),
        audience: Some(audience),
        records: views,
        origins,
        partial: !unanswered.is_empty(),
        unanswered,
        at_ms: now_millis(),
    })
}

/// Which measures apply to a subject today.
pub fn check(
    node: &Node,
    who: &Identity,
    subject: &str,
    action: Option<&str>,
    purpose: Option<&str>,
) -> anyhow::Result<CheckAnswer> {
    let audience = audience_for(who, None)?;
    let (id, purpose) = subject_and_purpose(subject, purpose)?;
    let c = check_for(node, &id, audience, action)?;
    audit(node, who, &purpose, "check", &id, c.applies.len())?;
    Ok(c)
}

fn check_for(
    node: &Node,
    id: &SubjectId,
    audience: Audience,
    action: Option<&str>,
) -> anyhow::Result<CheckAnswer> {
    if let Some(a) = action {
        let known = node.config.measures.actions();
        if !known.iter().any(|k| k == a) {
            bail!(
                "action {a:?} is in no memorandum of the measures catalogue (known: {})",
                known.join(", ")
            );
        }
    }
    let day = today();
    let (records, views) =
        query::records_about(&node.store, id, audience, &node.config.publication, day)?;
    // records_about sorts the views; pair each record with its view by key.
    let by_key: std::collections::HashMap<&str, &query::RecordView> =
        views.iter().map(|v| (v.key.as_str(), v)).collect();
    let pairs: Vec<_> = records
        .into_iter()
        .filter_map(|r| {
            let view = by_key.get(r.key.to_string().as_str()).map(|&v| v.clone());
            view.map(|v| (r, v))
        })
        .collect();
    Ok(CheckAnswer {
        subject: query::id_for(id, audience),
        action: action.map(str::to_string),
        date: Some(day),
        applies: measures::check(
            &node.config.measures,
            &node.config.publication,
            &pairs,
            action,
            day,
        ),
        records_considered: pairs.len() as u32,
    })
}

/// A subject's credit report.
pub fn report(
    node: &Node,
    who: &Identity,
    subject: &str,
    purpose: Option<&str>,
) -> anyhow::Result<CreditReport> {
    let audience = audience_for(who, None)?;
    let (id, purpose) = subject_and_purpose(subject, purpose)?;
    let report = CreditReport {
        answer: answer(node, &id, audience, Vec::new())?,
        measures: check_for(node, &id, audience, None)?,
    };
    audit(
        node,
        who,
        &purpose,
        "report",
        &id,
        report.answer.records.len(),
    )?;
    Ok(report)
}

/// Asks every connected child, in parallel, for what it holds about `subject` from
/// its jurisdiction, and stores what they send (checked like any record from a
/// child). Returns the children that did not answer in time.
pub async fn fresh_from_children(
    node: &Arc<Node>,
    subject: &str,
    timeout: Duration,
) -> Vec<String> {
    let mut set = tokio::task::JoinSet::new();
    for (name, conn) in node.child_connections(None) {
        let node = node.clone();
        let subject = subject.to_string();
        set.spawn(async move {
            let Some(conn) = conn else {
                return (name, false);
            };
            let asked =
                tokio::time::timeout(timeout, ask_child(&node, &name, &conn, &subject)).await;
            let ok = matches!(asked, Ok(Ok(())));
            if let Ok(Err(e)) = &asked {
                tracing::warn!(child = %name, error = %e, "fresh query: the child failed");
            }
            (name, ok)
        });
    }
    let mut missing = Vec::new();
    while let Some(done) = set.join_next().await {
        if let Ok((name, false)) = done {
            missing.push(name);
        }
    }
    missing.sort();
    missing
}

async fn ask_child(
    node: &Arc<Node>,
    child: &str,
    conn: &quinn::Connection,
    subject: &str,
) -> Result<(), LinkError> {
    let scope = node
        .child_scope(child)
        .ok_or_else(|| LinkError::Protocol(format!("no session with {child} yet")))?;
    let (mut send, mut recv) = conn.open_bi().await?;
    write_frame(
        &mut send,
        &Frame::SubjectQuery {
            subject: subject.to_string(),
        },
    )
    .await?;
    send.finish()?;
    loop {
        match read_frame(&mut recv).await? {
            Some((Frame::Records(batch), _)) => {
                let accepted: Vec<EncodedRecord> = batch
                    .into_iter()
                    .filter(|r| scope.up(&r.key).is_ok())
                    .map(|r| EncodedRecord {
                        key: r.key,
                        bytes: r.bytes,
                    })
                    .collect();
                let store = node.store.clone();
                blocking(move || store.apply_remote(accepted))?;
            }
            Some((Frame::Done { .. }, _)) | None => return Ok(()),
            Some((Frame::Refused { reason }, _)) => return Err(LinkError::Refused(reason)),
            Some((other, _)) => {
                return Err(LinkError::Protocol(format!(
                    "unexpected {} answer",
                    other.name()
                )))
            }
        }
    }
}

/// The child's side of a `fresh` query: first asks its own children (a shorter wait),
/// then sends what it holds about the subject from its jurisdiction.
pub async fn answer_parent_query(node: &Arc<Node>, subject: &str) -> Result<Vec<Frame>, LinkError> {
    let id = SubjectId::parse(subject).map_err(|e| LinkError::Protocol(format!("subject: {e}")))?;
    fresh_from_children(node, subject, FRESH_TIMEOUT / 2).await;
    let own = node.config.jurisdiction;
    let store = node.store.clone();
    let records: Vec<WireRecord> = blocking(move || -> Result<_, LinkError> {
        Ok(store
            .by_subject_encoded(&id, own)?
            .into_iter()
            .map(|e| WireRecord {
                key: e.key,
                bytes: e.bytes,
            })
            .collect())
    })?;
    let n = records.len() as u64;
    let mut frames: Vec<Frame> = records
        .chunks(MAX_RECORDS_PER_FRAME)
        .map(|c| Frame::Records(c.to_vec()))
        .collect();
    frames.push(Frame::Done { records: n });
    Ok(frames)
}
