//! Reads: subject queries (with each origin's freshness, and `fresh` answers from the
//! children), joint-measure checks, credit reports and timeliness figures — each for
//! the audience the reader's certificate allows, with the audit log written for
//! every query about a natural person.

use std::sync::Arc;

use anyhow::{bail, Context};
use credithub_protocol::ids::SubjectId;
use credithub_protocol::lifecycle::Audience;

use super::Node;
use crate::certs::{Identity, Role};
use crate::clock::{now_millis, today};
use crate::link::session::blocking;
use crate::query::measures::{self, CheckAnswer};
use crate::query::report::CreditReport;
use crate::query::{self, OriginFreshness, SubjectAnswer};

pub use super::fresh::FRESH_TIMEOUT;

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
    let id = SubjectId::parse_tagged(subject).map_err(|e| {
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
        super::fresh::fresh_from_children(node, &id.tagged(), FRESH_TIMEOUT)
            .await
            .iter()
            .map(ToString::to_string)
            .collect()
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
    let about = query::records_about(&node.store, id, audience, &node.config.publication, today())?;
    let views = about.views;
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
        aliases: about.aliases,
        alias_conflicts: about.conflicts,
    })
}

/// Subjects by a fragment of their name, as the certificate's audience (or a lesser
/// one asked) may see them.
pub fn search(
    node: &Node,
    who: &Identity,
    name: &str,
    audience: Option<Audience>,
    page: u32,
    per_page: u32,
) -> anyhow::Result<crate::query::names::NameAnswer> {
    let audience = audience_for(who, audience)?;
    let mut answer = crate::query::names::search(
        &node.store,
        name,
        audience,
        &node.config.publication,
        today(),
        page,
        per_page,
    )??;
    answer.node = format!("{} ({})", node.identity.name, node.config.jurisdiction);
    answer.at_ms = now_millis();
    Ok(answer)
}

/// Longest wait of a long poll on the change feed.
pub const MAX_FEED_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// One page of the change feed for `who`; with nothing after `since`, waits up to
/// `wait` (at most [`MAX_FEED_WAIT`]) for a change before answering (a long poll).
pub async fn changes(
    node: Arc<Node>,
    who: &Identity,
    audience: Option<Audience>,
    request: crate::query::feed::FeedRequest,
    wait: std::time::Duration,
) -> anyhow::Result<crate::query::feed::FeedPage> {
    let audience = audience_for(who, audience)?;
    let deadline = tokio::time::Instant::now() + wait.min(MAX_FEED_WAIT);
    let mut watch = node.store.watch_changes();
    loop {
        // Seen before reading, so that a change committed during the read wakes the
        // wait below.
        watch.borrow_and_update();
        let mut page = blocking(|| {
            crate::query::feed::read(
                &node.store,
                &request,
                audience,
                &node.config.publication,
                today(),
            )
        })?;
        let idle = page.events.is_empty() && !page.more;
        if !idle
            || tokio::time::timeout_at(deadline, watch.changed())
                .await
                .is_err()
        {
            page.node = format!("{} ({})", node.identity.name, node.config.jurisdiction);
            page.at_ms = now_millis();
            return Ok(page);
        }
    }
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
    let query::About { records, views, .. } =
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

/// A page of a published list, as the certificate's audience (or a lesser one asked)
/// may see it.
pub fn list(
    node: &Node,
    who: &Identity,
    q: &crate::query::lists::ListQuery,
    audience: Option<Audience>,
) -> anyhow::Result<crate::query::lists::ListAnswer> {
    let audience = audience_for(who, audience)?;
    let mut answer =
        crate::query::lists::page(&node.store, q, audience, &node.config.publication, today())??;
    answer.node = format!("{} ({})", node.identity.name, node.config.jurisdiction);
    answer.at_ms = now_millis();
    Ok(answer)
}
