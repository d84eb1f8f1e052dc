//! The link to the parent: when to reconcile, and one reconciliation.
//!
//! A round runs periodically (the configured interval, spread by jitter so that the
//! children of a hub do not all arrive at once), soon after a local write or after
//! records arrived from a child (debounced, so a burst of writes makes one round), on
//! demand (`credit-admin reconcile`), and when the parent asks for one. After a
//! failure the wait doubles, from half a second up to the configured maximum, until a
//! round succeeds. The node goes on serving its children and admin clients meanwhile;
//! a draining node starts no new round.

use std::sync::Arc;
use std::time::Duration;

use credithub_protocol::link::{DeclineCode, DiffOutcome, Frame, SessionMode, Side};
use credithub_protocol::session::close_code;
use credithub_protocol::Scope;
use quinn::Connection;
use rand::Rng;
use tracing::Instrument;

use super::{fresh, Node};
use crate::admin::{DiffEntry, DiffReport};
use crate::certs::Role;
use crate::clock::now_millis;
use crate::link::frame::{read_frame, write_frame};
use crate::link::open::open_as_child;
use crate::link::quic::{
    client_quic_config_speaking, connect_with, negotiated_version, peer_serial,
};
use crate::link::session::{self, blocking, SessionStats};
use crate::link::stall::Stalling;
use crate::link::LinkError;

/// The first wait after a failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// A round the parent asked for, and where to send its result.
pub type ParentRequest = tokio::sync::oneshot::Sender<Result<SessionStats, String>>;

/// Runs the scheduler forever.
pub async fn run(node: Arc<Node>) {
    let mut conn: Option<Connection> = None;
    let mut backoff: Option<Duration> = None;
    let mut requests = node.take_parent_requests();
    // The first round runs at once: a restarted node catches up without waiting.
    let mut wait = Duration::ZERO;
    loop {
        let mut asked: Option<ParentRequest> = None;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = node.dirty.notified() => {
                tokio::time::sleep(node.config.sync.debounce).await;
            }
            Some(reply) = async {
                match requests.as_mut() {
                    Some(r) => r.recv().await,
                    None => std::future::pending().await,
                }
            } => asked = Some(reply),
        }
        if node.health.is_draining() {
            if let Some(reply) = asked {
                let _ = reply.send(Err("this node is draining".into()));
            }
            wait = node.config.sync.interval;
            continue;
        }
        let result = round(&node, &mut conn).await;
        if let Some(reply) = asked {
            let _ = reply.send(result.as_ref().map(Clone::clone).map_err(|e| e.to_string()));
        }
        match result {
            Ok(_) => {
                backoff = None;
                wait = jittered(&node);
            }
            Err(_) => {
                let next =
                    backoff.map_or(FIRST_BACKOFF, |b| (b * 2).min(node.config.sync.backoff_max));
                backoff = Some(next);
                wait = next;
            }
        }
    }
}

fn jittered(node: &Node) -> Duration {
    let s = &node.config.sync;
    let f = 1.0 + rand::thread_rng().gen_range(-s.jitter..=s.jitter);
    s.interval.mul_f64(f.max(0.05))
}

/// One reconciliation with the parent on a (re)used connection; the status and the
/// metrics are updated either way.
pub async fn round(
    node: &Arc<Node>,
    conn: &mut Option<Connection>,
) -> Result<SessionStats, LinkError> {
    let _one_at_a_time = node.upstream_round.lock().await;
    let Some(_running) = node.session() else {
        return Err(LinkError::Unavailable("this node is draining".into()));
    };
    let parent_name = {
        let st = node.state();
        st.parent
            .peer
            .clone()
            .unwrap_or_else(|| st.parent.address.clone())
    };
    let span = tracing::info_span!("sync", peer = %parent_name, with = "parent");
    let result = attempt(node, conn, SessionMode::Sync)
        .instrument(span.clone())
        .await
        .map(|(stats, _)| stats);
    let _enter = span.enter();
    node.metrics
        .round(&parent_name, "parent", result.as_ref().map_err(|_| ()));
    let mut st = node.state();
    match &result {
        Ok(stats) => {
            session::log_round(stats, &parent_name, Side::Parent);
            st.parent.connected = true;
            st.parent.caught_up =
                stats.records_sent + stats.records_received == 0 && stats.refused_total() == 0;
            st.parent.last_success_ms = Some(now_millis());
            st.parent.last_error = None;
            st.parent.sessions += 1;
            st.parent.last = Some(stats.clone());
        }
        Err(e) => {
            tracing::warn!(error = %e, reason = e.kind(), "sync round with parent failed");
            node.metrics.session_failure("parent", e.kind());
            st.parent.connected = conn.as_ref().is_some_and(|c| c.close_reason().is_none());
            st.parent.caught_up = false;
            st.parent.last_error = Some(e.to_string());
            st.parent.failures += 1;
        }
    }
    result
}

/// Compares with the parent and lists the differences, moving nothing.
pub async fn diff(node: &Arc<Node>, limit: u32) -> anyhow::Result<DiffReport> {
    let mut conn = None;
    let (stats, outcome) = attempt(node, &mut conn, SessionMode::Diff).await?;
    if let Some(c) = conn {
        c.close(close_code::NORMAL.into(), b"done");
    }
    let outcome = outcome.unwrap_or_default();
    let parent = node.state().parent.peer.clone().unwrap_or_default();
    let store = node.store.clone();
    blocking(move || describe(&store, parent, &outcome, &stats, limit as usize))
}

fn describe(
    store: &crate::store::Store,
    parent: String,
    d: &DiffOutcome,
    stats: &SessionStats,
    limit: usize,
) -> anyhow::Result<DiffReport> {
    let mut listed = Vec::new();
    let mut list = |side: &str, p: &credithub_protocol::PartitionId, what: String| {
        if listed.len() < limit {
            listed.push(DiffEntry {
                side: side.into(),
                partition: p.to_string(),
                what,
            });
        }
    };
    let name =
        |p: &credithub_protocol::PartitionId, id: &credithub_protocol::record::RecordId| match (
            p.scope,
            store.member_key(p, id),
        ) {
            (_, Ok(Some(key))) if store.get_encoded(&key).ok().flatten().is_some() => {
                key.to_string()
            }
            (Scope::Origin(origin), _) => credithub_protocol::RecordKey {
                origin,
                kind: p.kind,
                id: *id,
            }
            .to_string(),
            (Scope::Subjects(_), _) => format!("id {}", hex::encode(id.0)),
        };
    for (p, id) in &d.parent_newer {
        list("parent", p, name(p, id));
    }
    for (p, id) in &d.child_newer {
        list("node", p, name(p, id));
    }
    for (p, id) in &d.conflicts {
        list("conflict", p, name(p, id));
    }
    for (p, path) in &d.parent_only {
        list("parent-only subtree", p, path.to_string());
    }
    let mut node_only_records = 0u64;
    for (p, path) in &d.child_only {
        let mut n = 0u64;
        store.for_each_item(p, *path, |_| {
            n += 1;
            true
        })?;
        node_only_records += n;
        list("node-only subtree", p, format!("{path} ({n} records)"));
    }
    Ok(DiffReport {
        parent,
        parent_newer: d.parent_newer.len() as u64,
        node_newer: d.child_newer.len() as u64,
        conflicts: d.conflicts.len() as u64,
        parent_only_subtrees: d.parent_only.len() as u64,
        node_only_subtrees: d.child_only.len() as u64,
        node_only_records,
        listed,
        messages: stats.sync_messages,
        bytes: stats.bytes_sent + stats.bytes_received,
    })
}

async fn attempt(
    node: &Arc<Node>,
    conn: &mut Option<Connection>,
    mode: SessionMode,
) -> Result<(SessionStats, Option<DiffOutcome>), LinkError> {
    let parent = node.config.parent.as_ref().ok_or_else(|| {
        LinkError::Unavailable("this node has no parent (it is the national hub)".into())
    })?;
    if conn.as_ref().is_none_or(|c| c.close_reason().is_some()) {
        *conn = None;
        let config = client_quic_config_speaking(
            &node.config.certs_dir,
            None,
            node.config.sync.max_link_version,
            &node.config.link,
        )?;
        let (c, who) =
            connect_with(&node.endpoint, config, parent.socket, &parent.server_name).await?;
        if who.role != Role::Node || Some(who.jurisdiction) != node.config.jurisdiction.parent() {
            c.close(close_code::WRONG_PEER.into(), b"not my parent");
            return Err(LinkError::WrongPeer(format!(
                "{} presented {} ({} of {}), not a node of jurisdiction {}",
                parent.address,
                who.name,
                who.role.as_str(),
                who.jurisdiction,
                node.config
                    .jurisdiction
                    .parent()
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            )));
        }
        let version = negotiated_version(&c);
        tracing::info!(parent = %who.name, jurisdiction = %who.jurisdiction, link_version = version, "connected to parent");
        node.metrics.link_version(&who.name, "parent", version);
        node.peers
            .set_parent(peer_serial(&c).unwrap_or_default(), c.clone());
        node.state().parent.peer = Some(format!("{} ({})", who.name, who.jurisdiction));
        tokio::spawn(serve_parent_requests(node.clone(), c.clone()));
        *conn = Some(c);
    }
    let c = conn
        .as_ref()
        .ok_or_else(|| LinkError::Unavailable("no connection to the parent".into()))?;
    let report = blocking(|| node.report())
        .map_err(|e| LinkError::Unavailable(format!("building the report: {e:#}")))?;
    let version = negotiated_version(c);
    let accounts = if version >= crate::link::open::ACCOUNTS_SINCE {
        blocking(|| node.accounts_for_parent())
    } else {
        Default::default()
    };
    let (send, recv) = c.open_bi().await?;
    let stall = node.config.limits.stall_timeout;
    let (mut send, mut recv) = (Stalling::new(send, stall), Stalling::new(recv, stall));
    let scope = open_as_child(
        &mut send,
        &mut recv,
        version,
        node.config.jurisdiction,
        &node.config.sync.subscriptions,
        mode,
        report,
        accounts,
    )
    .await?;
    let label = &parent.address;
    match mode {
        SessionMode::Sync => {
            let stats = session::run(
                &node.store,
                &scope,
                Side::Child,
                version,
                label,
                &mut send,
                &mut recv,
            )
            .await?;
            Ok((stats, None))
        }
        SessionMode::Diff => {
            let (outcome, stats) = session::diff(
                &node.store,
                &scope,
                Side::Child,
                version,
                &mut send,
                &mut recv,
            )
            .await?;
            Ok((stats, outcome))
        }
    }
}

/// Answers the parent's requests on the connection to it: [`Frame::SyncNow`] has the
/// scheduler run a round now, answered with the number of versions it moved;
/// [`Frame::SubjectQuery`] sends what this node holds about a subject from its
/// jurisdiction (a `fresh` query at a hub).
async fn serve_parent_requests(node: Arc<Node>, conn: Connection) {
    let requests = node.parent_requests();
    let version = negotiated_version(&conn);
    while let Ok((mut send, mut recv)) = conn.accept_bi().await {
        let requests = requests.clone();
        let node = node.clone();
        tokio::spawn(async move {
            let answer = match read_frame(&mut recv).await {
                Ok(Some((Frame::SyncNow, _))) => {
                    tracing::info!("the parent asked for a round now");
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    let result = match requests.send(tx).await {
                        Ok(()) => rx
                            .await
                            .unwrap_or_else(|_| Err("the scheduler stopped".into())),
                        Err(_) => Err("the scheduler stopped".into()),
                    };
                    match result {
                        Ok(s) => Frame::Done {
                            records: s.records_sent + s.records_received,
                        },
                        Err(reason) => Frame::decline(version, DeclineCode::Failed, reason),
                    }
                }
                Ok(Some((Frame::SubjectQuery { subject }, _))) => {
                    let asked =
                        fresh::answer_parent_query(&node, version, &subject, &mut send, &mut recv);
                    match asked.await {
                        Ok(()) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, reason = e.kind(), "fresh query from the parent failed");
                            let code = match e {
                                LinkError::BadRequest(_) => DeclineCode::BadRequest,
                                _ => DeclineCode::Failed,
                            };
                            Frame::decline(version, code, e.to_string())
                        }
                    }
                }
                Ok(Some((other, _))) => Frame::decline(
                    version,
                    DeclineCode::BadRequest,
                    format!("unexpected {} request from the parent", other.name()),
                ),
                _ => return,
            };
            if write_frame(&mut send, &answer).await.is_ok() {
                let _ = send.finish();
            }
        });
    }
}
