//! The listener: every connection proves who it is with its certificate; children
//! (node certificates of the jurisdictions directly below) open sync sessions, admin
//! clients send admin requests, and anyone else is turned away, logged and counted.
//! One certificate holds a bounded number of connections, a child a bounded number of
//! sessions, and a session whose peer stops reading or sending is cut off.

use std::sync::Arc;

use credithub_protocol::link::{DeclineCode, Frame, SessionMode, Side};
use credithub_protocol::report::ChildReport;
use credithub_protocol::session::close_code;
use quinn::{Connection, Incoming, RecvStream, SendStream};
use tracing::Instrument;

use super::peers::SESSIONS_PER_CHILD;
use super::Node;
use crate::admin::AdminResponse;
use crate::certs::{Identity, Role};
use crate::clock::now_millis;
use crate::link::frame::{write_frame, write_value};
use crate::link::open::{accept_child, check_child, Opened};
use crate::link::quic::{
    handshake_failure, identity_of, negotiated_version, peer_serial, HANDSHAKE_TIMEOUT,
};
use crate::link::session;
use crate::link::stall::Stalling;
use crate::link::LinkError;

/// Connections served at once at most; more wait for the handshake to be accepted.
const MAX_CONNECTIONS: usize = 512;

/// Accepts connections until the endpoint closes.
pub async fn serve(node: Arc<Node>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    while let Some(incoming) = node.endpoint.accept().await {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let node = node.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            if let Err(e) = connection(&node, incoming).await {
                tracing::debug!(%remote, error = %e, "connection ended");
            }
            drop(permit);
        });
    }
}

async fn connection(node: &Arc<Node>, incoming: Incoming) -> Result<(), LinkError> {
    let remote = incoming.remote_address();
    let conn = match tokio::time::timeout(HANDSHAKE_TIMEOUT, incoming).await {
        Err(_) => {
            return Err(LinkError::Timeout(
                HANDSHAKE_TIMEOUT.as_secs(),
                "for a handshake",
            ))
        }
        Ok(Err(e)) => {
            // No certificate, one this federation's CA did not sign, an expired or a
            // revoked one: rustls refuses the handshake.
            let reason = handshake_failure(&e);
            tracing::warn!(%remote, %reason, error = %e, "refused a connection at the TLS handshake");
            node.metrics.refused_connection(reason);
            return Err(e.into());
        }
        Ok(Ok(c)) => c,
    };
    let peer = match identity_of(&conn) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(%remote, error = %e, "refused a connection: no usable identity");
            node.metrics.refused_connection("no-identity");
            conn.close(
                close_code::NO_IDENTITY.into(),
                b"certificate carries no credithub identity",
            );
            return Err(e);
        }
    };
    let refuse = |code: u32, label: &str, reason: &str| {
        tracing::warn!(%remote, peer = %peer.name, role = peer.role.as_str(), %reason, "refused a connection");
        node.metrics.refused_connection(label);
        conn.close(code.into(), reason.as_bytes());
    };
    let serial = peer_serial(&conn).unwrap_or_default();
    let _place = match node.admit(&peer, serial, &conn) {
        Ok(t) => t,
        Err(held) => {
            refuse(
                close_code::TOO_MANY_CONNECTIONS,
                "too-many-connections",
                &format!(
                    "this certificate already holds {held} connections (limits.connections_per_peer)"
                ),
            );
            return Ok(());
        }
    };
    match peer.role {
        Role::Node => {
            if let Err((_, reason)) = check_child(node.config.jurisdiction, &peer) {
                refuse(close_code::NOT_A_CHILD, "not-a-child", &reason);
                return Ok(());
            }
            tracing::info!(%remote, child = %peer.name, jurisdiction = %peer.jurisdiction, "child connected");
            loop {
                let (send, recv) = conn.accept_bi().await?;
                let node = node.clone();
                let peer = peer.clone();
                let conn = conn.clone();
                tokio::spawn(async move { child_session(&node, &peer, conn, send, recv).await });
            }
        }
        Role::Admin => {
            if !peer.jurisdiction.contains(node.config.jurisdiction) {
                refuse(
                    close_code::ADMIN_OUTSIDE_JURISDICTION,
                    "outside-jurisdiction",
                    &format!(
                        "admin certificate of jurisdiction {} does not cover this node ({})",
                        peer.jurisdiction, node.config.jurisdiction
                    ),
                );
                return Ok(());
            }
            admin_connection(node, &peer, conn).await
        }
        Role::Client | Role::Public | Role::Auditor => {
            if !peer.jurisdiction.contains(node.config.jurisdiction) {
                refuse(
                    close_code::READER_OUTSIDE_JURISDICTION,
                    "outside-jurisdiction",
                    &format!(
                        "{} certificate of jurisdiction {} does not cover this node ({})",
                        peer.role.as_str(),
                        peer.jurisdiction,
                        node.config.jurisdiction
                    ),
                );
                return Ok(());
            }
            // Readers speak the same request protocol; `admin::request` lets them
            // read only.
            admin_connection(node, &peer, conn).await
        }
    }
}

async fn child_session(
    node: &Arc<Node>,
    peer: &Identity,
    conn: Connection,
    send: SendStream,
    recv: RecvStream,
) {
    let stall = node.config.limits.stall_timeout;
    let (mut send, mut recv) = (Stalling::new(send, stall), Stalling::new(recv, stall));
    let version = negotiated_version(&conn);
    node.metrics.link_version(&peer.name, "child", version);
    let Some(_place) = node.child_session_place(&peer.name) else {
        tracing::warn!(child = %peer.name, "refused a session: the child already runs {SESSIONS_PER_CHILD}");
        node.metrics.session_failure("child", "too-many-sessions");
        let reason =
            format!("{SESSIONS_PER_CHILD} sync sessions with this child are running already");
        let _ = write_frame(
            &mut send,
            &Frame::decline(version, DeclineCode::Busy, reason),
        )
        .await;
        let _ = send.get_mut().finish();
        return;
    };
    let Some(_running) = node.session() else {
        let reason = "this node is draining for maintenance";
        let _ = write_frame(
            &mut send,
            &Frame::decline(version, DeclineCode::Draining, reason),
        )
        .await;
        let _ = send.get_mut().finish();
        return;
    };
    let span = tracing::info_span!("sync", peer = %peer.name, with = "child");
    let mut opened: Option<Opened> = None;
    let result: Result<_, LinkError> = async {
        let o = accept_child(
            &mut send,
            &mut recv,
            version,
            node.config.jurisdiction,
            peer,
        )
        .await?;
        let scope = o.scope.clone();
        let mode = o.mode;
        opened = Some(o);
        match mode {
            SessionMode::Sync => {
                session::run(
                    &node.store,
                    &scope,
                    Side::Parent,
                    version,
                    &peer.name,
                    &mut send,
                    &mut recv,
                )
                .await
            }
            SessionMode::Diff => session::diff(
                &node.store,
                &scope,
                Side::Parent,
                version,
                &mut send,
                &mut recv,
            )
            .await
            .map(|(_, stats)| stats),
        }
    }
    .instrument(span.clone())
    .await;
    let _enter = span.enter();
    node.metrics
        .round(&peer.name, "child", result.as_ref().map_err(|_| ()));
    let mut report = ChildReport {
        name: peer.name.clone(),
        jurisdiction: peer.jurisdiction,
        last_session_ms: now_millis(),
        ..ChildReport::default()
    };
    match &result {
        Ok(stats) => {
            session::log_round(stats, &peer.name, Side::Child);
            if stats.applied > 0 {
                // New records from below travel on up soon.
                node.dirty.notify_one();
            }
            report.ok = true;
            report.caught_up = stats.records_sent + stats.records_received == 0;
        }
        Err(e) => {
            tracing::warn!(error = %e, reason = e.kind(), "sync round with child failed");
            node.metrics.session_failure("child", e.kind());
            report.error = Some(e.to_string());
            if let Some(fault) = e.peer_fault() {
                // A child that breaks the protocol loses its connection; it
                // reconnects for its next round.
                conn.close(fault.close_code().into(), fault.kind().as_bytes());
            }
        }
    }
    if let Some(o) = opened {
        node.child_session_ended(o.scope, report, Some(o.report), Some(conn), o.accounts);
    }
}

async fn admin_connection(
    node: &Arc<Node>,
    peer: &Identity,
    conn: Connection,
) -> Result<(), LinkError> {
    loop {
        let (mut send, mut recv) = conn.accept_bi().await?;
        let node = node.clone();
        let who = peer.clone();
        tokio::spawn(async move {
            let answer = match super::admin::request(&node, &who, &mut recv).await {
                Ok(a) => a,
                Err(e) => AdminResponse::Error(format!("{e:#}")),
            };
            if write_value(&mut send, &answer).await.is_ok() {
                let _ = send.finish();
            }
        });
    }
}
