//! The listener: every connection proves who it is with its certificate; children
//! (node certificates of the jurisdictions directly below) open sync sessions, admin
//! clients send admin requests, and anyone else is turned away, logged and counted.

use std::sync::Arc;
use std::time::Instant;

use credithub_protocol::link::{LinkScope, Side};
use quinn::{Connection, Incoming, RecvStream, SendStream};

use super::Node;
use crate::admin::{AdminRequest, AdminResponse, ChildStatus, Holdings};
use crate::certs::{Identity, Role};
use crate::clock::now_millis;
use crate::ingest;
use crate::link::frame::{read_value, write_value};
use crate::link::open::{accept_child, check_child};
use crate::link::quic::{identity_of, HANDSHAKE_TIMEOUT};
use crate::link::session::{self, blocking};
use crate::link::LinkError;
use crate::store::ApplyStats;

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
            // No certificate, or one this federation's CA did not sign: rustls refuses
            // the handshake.
            tracing::warn!(%remote, error = %e, "refused a connection at the TLS handshake");
            node.refused_connection();
            return Err(e.into());
        }
        Ok(Ok(c)) => c,
    };
    let peer = match identity_of(&conn) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(%remote, error = %e, "refused a connection: no usable identity");
            node.refused_connection();
            conn.close(2u32.into(), b"certificate carries no credithub identity");
            return Err(e);
        }
    };
    match peer.role {
        Role::Node => {
            if let Err(reason) = check_child(node.config.jurisdiction, &peer) {
                tracing::warn!(%remote, peer = %peer.name, %reason, "refused a node connection");
                node.refused_connection();
                conn.close(3u32.into(), reason.as_bytes());
                return Ok(());
            }
            tracing::info!(%remote, child = %peer.name, jurisdiction = %peer.jurisdiction, "child connected");
            loop {
                let (send, recv) = conn.accept_bi().await?;
                let node = node.clone();
                let peer = peer.clone();
                tokio::spawn(async move { child_session(&node, &peer, send, recv).await });
            }
        }
        Role::Admin => {
            if !peer.jurisdiction.contains(node.config.jurisdiction) {
                let reason = format!(
                    "admin certificate of jurisdiction {} does not cover this node ({})",
                    peer.jurisdiction, node.config.jurisdiction
                );
                tracing::warn!(%remote, admin = %peer.name, %reason, "refused an admin connection");
                node.refused_connection();
                conn.close(4u32.into(), reason.as_bytes());
                return Ok(());
            }
            admin_connection(node, &peer, conn).await
        }
        Role::Client => {
            tracing::warn!(%remote, client = %peer.name, "refused a client certificate on the sync port");
            node.refused_connection();
            conn.close(
                5u32.into(),
                b"client certificates may not sync or administer",
            );
            Ok(())
        }
    }
}

async fn child_session(
    node: &Arc<Node>,
    peer: &Identity,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let started = Instant::now();
    let result: Result<_, LinkError> = async {
        let scope: LinkScope =
            accept_child(&mut send, &mut recv, node.config.jurisdiction, peer).await?;
        let stats = session::run(
            &node.store,
            &scope,
            Side::Parent,
            &peer.name,
            &mut send,
            &mut recv,
        )
        .await?;
        Ok(stats)
    }
    .await;
    let mut status = ChildStatus {
        name: peer.name.clone(),
        jurisdiction: peer.jurisdiction.to_string(),
        last_session_ms: now_millis(),
        ..ChildStatus::default()
    };
    match result {
        Ok(stats) => {
            stats.log(&peer.name, Side::Child, started.elapsed());
            node.count_refusals(&stats);
            if stats.applied > 0 {
                // New records from below travel on up soon.
                node.dirty.notify_one();
            }
            status.ok = true;
            status.caught_up = stats.records_sent + stats.records_received == 0;
            status.last = Some(stats);
        }
        Err(e) => {
            tracing::warn!(child = %peer.name, error = %e, "sync round with child failed");
            status.error = Some(e.to_string());
        }
    }
    node.state().children.insert(peer.name.clone(), status);
}

async fn admin_connection(
    node: &Arc<Node>,
    peer: &Identity,
    conn: Connection,
) -> Result<(), LinkError> {
    loop {
        let (mut send, mut recv) = conn.accept_bi().await?;
        let node = node.clone();
        let admin = peer.name.clone();
        tokio::spawn(async move {
            let answer = match admin_request(&node, &admin, &mut recv).await {
                Ok(a) => a,
                Err(e) => AdminResponse::Error(e.to_string()),
            };
            if write_value(&mut send, &answer).await.is_ok() {
                let _ = send.finish();
            }
        });
    }
}

async fn admin_request(
    node: &Arc<Node>,
    admin: &str,
    recv: &mut RecvStream,
) -> anyhow::Result<AdminResponse> {
    let request: AdminRequest = read_value(recv)
        .await?
        .ok_or_else(|| anyhow::anyhow!("empty request"))?;
    let store = &node.store;
    Ok(match request {
        AdminRequest::Status => AdminResponse::Status(Box::new(node.status()?)),
        AdminRequest::Reconcile => {
            tracing::info!(admin, "reconcile requested");
            let mut conn = None;
            let stats = super::upstream::round(node, &mut conn).await?;
            if let Some(c) = conn {
                c.close(0u32.into(), b"done");
            }
            AdminResponse::Reconciled(stats)
        }
        AdminRequest::Put { records } => {
            tracing::info!(admin, records = records.len(), "write requested");
            let outcomes = blocking(|| store.write_local(records, now_millis()))?;
            node.dirty.notify_one();
            written(ApplyStats::of(&outcomes))
        }
        AdminRequest::Delete { keys } => {
            tracing::info!(admin, records = keys.len(), "delete requested");
            if let Some(k) = keys.iter().find(|k| k.origin != node.config.jurisdiction) {
                anyhow::bail!(
                    "{k} does not originate at this node ({}); only its origin may delete it",
                    node.config.jurisdiction
                );
            }
            let outcomes = blocking(|| store.delete_local(&keys, now_millis()))?;
            node.dirty.notify_one();
            written(ApplyStats::of(&outcomes))
        }
        AdminRequest::Get { key } => {
            AdminResponse::Record(store.get_encoded(&key)?.map(|r| r.bytes))
        }
        AdminRequest::Holdings {
            jurisdiction,
            subscriptions,
            origins_only,
            sample,
        } => {
            let scope = LinkScope::new(jurisdiction, subscriptions);
            AdminResponse::Holdings(blocking(|| holdings(node, &scope, origins_only, sample))?)
        }
        AdminRequest::Query { subject } => {
            let id = credithub_protocol::SubjectId::parse(&subject)
                .map_err(|e| anyhow::anyhow!("subject {:?}: {e}", mask(&subject)))?;
            tracing::info!(admin, subject = %id, "subject query");
            AdminResponse::Records(blocking(|| store.by_subject(&id))?)
        }
        AdminRequest::ImportBegin { name } => import(node, admin, &name, recv).await?,
        AdminRequest::ImportChunk(_) | AdminRequest::ImportEnd => {
            anyhow::bail!("import chunk without import-begin")
        }
    })
}

/// An identifier as it may appear in messages: all but its first 6 and last 2
/// characters masked when it is long enough to be a personal number.
fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 15 {
        return s.to_string();
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 6 || i + 2 >= chars.len() {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

fn written(s: ApplyStats) -> AdminResponse {
    AdminResponse::Written {
        inserted: s.inserted,
        updated: s.updated,
        unchanged: s.unchanged,
    }
}

/// What a node of `scope`'s jurisdiction and subscriptions holds when caught up,
/// computed from this node's records (every origin partition, one at a time).
fn holdings(
    node: &Node,
    scope: &LinkScope,
    origins_only: bool,
    sample: u32,
) -> anyhow::Result<Holdings> {
    let mut cell = credithub_protocol::Cell::EMPTY;
    let mut keys = Vec::new();
    for (p, _) in node.store.partitions()? {
        if p.origin_code().is_none() {
            continue;
        }
        node.store
            .for_each_member(&p, credithub_protocol::NodePath::ROOT, |key, item| {
                let held = if origins_only {
                    scope.up(&key).is_ok()
                } else {
                    scope.holds(&key)
                };
                if held {
                    cell.insert(item);
                    keys.push(key);
                    if keys.len() > 4 * sample as usize + 64 {
                        // Keep every other key: the sample stays spread and bounded.
                        let mut i = 0;
                        keys.retain(|_| {
                            i += 1;
                            i % 2 == 1
                        });
                    }
                }
                true
            })?;
    }
    let step = (keys.len() / sample.max(1) as usize).max(1);
    Ok(Holdings {
        count: cell.count,
        fingerprint: hex::encode(&cell.fingerprint()[..8]),
        sample: keys
            .into_iter()
            .step_by(step)
            .take(sample as usize)
            .collect(),
    })
}

async fn import(
    node: &Arc<Node>,
    admin: &str,
    name: &str,
    recv: &mut RecvStream,
) -> anyhow::Result<AdminResponse> {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = node.config.data_dir.join("incoming");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}-{safe}", now_millis()));
    let mut file = std::fs::File::create(&path)?;
    loop {
        match read_value::<_, AdminRequest>(recv).await? {
            Some(AdminRequest::ImportChunk(bytes)) => std::io::Write::write_all(&mut file, &bytes)?,
            Some(AdminRequest::ImportEnd) => break,
            _ => {
                let _ = std::fs::remove_file(&path);
                anyhow::bail!("import of {name} interrupted before its end");
            }
        }
    }
    drop(file);
    tracing::info!(admin, file = name, "online import");
    let rejects = path.with_extension("rejects.csv");
    let summary = blocking(|| ingest::import_file(&node.store, &path, &rejects, |_, _| {}));
    let _ = std::fs::remove_file(&path);
    let summary = summary?;
    node.dirty.notify_one();
    Ok(AdminResponse::Imported(serde_json::to_string(&summary)?))
}
