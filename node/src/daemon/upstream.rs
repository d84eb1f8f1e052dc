//! The link to the parent: when to reconcile, and one reconciliation.
//!
//! A round runs periodically (the configured interval, spread by jitter so that the
//! children of a hub do not all arrive at once), soon after a local write or after
//! records arrived from a child (debounced, so a burst of writes makes one round), and
//! on demand (`credit-admin reconcile`). After a failure the wait doubles, from half a
//! second up to the configured maximum, until a round succeeds. The node goes on
//! serving its children and admin clients meanwhile.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn::Connection;
use rand::Rng;

use super::Node;
use crate::clock::now_millis;
use crate::link::open::open_as_child;
use crate::link::quic::connect;
use crate::link::session::{self, SessionStats};
use crate::link::LinkError;
use credithub_protocol::link::Side;

/// The first wait after a failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Runs the scheduler forever.
pub async fn run(node: Arc<Node>) {
    let mut conn: Option<Connection> = None;
    let mut backoff: Option<Duration> = None;
    // The first round runs at once: a restarted node catches up without waiting.
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = node.dirty.notified() => {
                tokio::time::sleep(node.config.sync.debounce).await;
            }
        }
        match round(&node, &mut conn).await {
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

/// One reconciliation with the parent on a (re)used connection; the status is updated
/// either way.
pub async fn round(node: &Node, conn: &mut Option<Connection>) -> Result<SessionStats, LinkError> {
    let _one_at_a_time = node.upstream_round.lock().await;
    let started = Instant::now();
    let result = attempt(node, conn).await;
    let mut st = node.state();
    match &result {
        Ok(stats) => {
            let moved = stats.records_sent + stats.records_received;
            let peer = st
                .parent
                .peer
                .clone()
                .unwrap_or_else(|| st.parent.address.clone());
            stats.log(&peer, Side::Parent, started.elapsed());
            st.parent.connected = true;
            st.parent.caught_up = moved == 0 && stats.refused_total() == 0;
            st.parent.last_success_ms = Some(now_millis());
            st.parent.last_error = None;
            st.parent.sessions += 1;
            st.parent.last = Some(stats.clone());
        }
        Err(e) => {
            tracing::warn!(error = %e, "sync round with parent failed");
            st.parent.connected = conn.as_ref().is_some_and(|c| c.close_reason().is_none());
            st.parent.caught_up = false;
            st.parent.last_error = Some(e.to_string());
            st.parent.failures += 1;
        }
    }
    drop(st);
    if let Ok(stats) = &result {
        node.count_refusals(stats);
    }
    result
}

async fn attempt(node: &Node, conn: &mut Option<Connection>) -> Result<SessionStats, LinkError> {
    let parent = node
        .config
        .parent
        .as_ref()
        .ok_or_else(|| LinkError::Protocol("no parent configured".into()))?;
    if conn.as_ref().is_none_or(|c| c.close_reason().is_some()) {
        *conn = None;
        let (c, who) = connect(&node.endpoint, parent.socket, &parent.server_name).await?;
        if who.role != crate::certs::Role::Node
            || Some(who.jurisdiction) != node.config.jurisdiction.parent()
        {
            c.close(1u32.into(), b"not my parent");
            return Err(LinkError::Protocol(format!(
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
        tracing::info!(parent = %who.name, jurisdiction = %who.jurisdiction, "connected to parent");
        node.state().parent.peer = Some(format!("{} ({})", who.name, who.jurisdiction));
        *conn = Some(c);
    }
    let c = conn
        .as_ref()
        .ok_or_else(|| LinkError::Protocol("no connection".into()))?;
    let (mut send, mut recv) = c.open_bi().await?;
    let scope = open_as_child(
        &mut send,
        &mut recv,
        node.config.jurisdiction,
        &node.config.sync.subscriptions,
    )
    .await?;
    let stats = session::run(
        &node.store,
        &scope,
        Side::Child,
        &parent.address,
        &mut send,
        &mut recv,
    )
    .await?;
    Ok(stats)
}
