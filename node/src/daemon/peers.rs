//! Who is connected: every connection accepted, with its certificate's identity and
//! serial number, so that one certificate's connections are limited and a revoked
//! certificate's connections are closed; the sync sessions each child runs at once;
//! and the watch on the revocation list (`ca.crl`).

use credithub_protocol::session::close_code;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use quinn::Connection;

use super::Node;
use crate::certs::{self, Identity};
use crate::link::quic::{client_quic_config_speaking, server_quic_config_speaking};

/// How often the revocation list's file is checked for a new version.
pub const REVOCATION_POLL: Duration = Duration::from_secs(2);

/// Sync sessions one child may run at once (a scheduled round and one asked by an
/// operator, say); more are refused.
pub const SESSIONS_PER_CHILD: usize = 2;

/// The connections and child sessions of a node.
#[derive(Default)]
pub struct Peers {
    next: AtomicU64,
    state: Mutex<PeersState>,
    /// Bumped every time the TLS configuration is reloaded (the read API rebuilds its
    /// acceptor when it changes).
    generation: AtomicU64,
}

#[derive(Default)]
struct PeersState {
    live: HashMap<u64, Live>,
    parent: Option<(String, Connection)>,
    child_sessions: HashMap<String, usize>,
}

struct Live {
    holder: String,
    serial: String,
    conn: Connection,
}

/// Holds a place among a node's connections until dropped.
pub struct ConnectionTicket {
    node: Arc<Node>,
    id: u64,
}

impl Drop for ConnectionTicket {
    fn drop(&mut self) {
        self.node.peers.lock().live.remove(&self.id);
    }
}

/// Holds one of a child's session places until dropped.
pub struct SessionTicket {
    node: Arc<Node>,
    child: String,
}

impl Drop for SessionTicket {
    fn drop(&mut self) {
        let mut st = self.node.peers.lock();
        if let Some(n) = st.child_sessions.get_mut(&self.child) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                st.child_sessions.remove(&self.child);
            }
        }
    }
}

/// `node suzhou (320500)`: whose connections count together.
fn holder(peer: &Identity) -> String {
    format!(
        "{} {} ({})",
        peer.role.as_str(),
        peer.name,
        peer.jurisdiction
    )
}

impl Peers {
    fn lock(&self) -> MutexGuard<'_, PeersState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many times the TLS configuration was reloaded.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Records the connection to the parent, so that it is closed if the parent's
    /// certificate is revoked.
    pub fn set_parent(&self, serial: String, conn: Connection) {
        self.lock().parent = Some((serial, conn));
    }

    /// Closes the connections (children, clients and the parent) whose certificate's
    /// serial number is in `revoked`; returns who they were.
    pub fn close_revoked(&self, revoked: &HashSet<String>) -> Vec<String> {
        let mut st = self.lock();
        let mut closed = Vec::new();
        for live in st.live.values() {
            if revoked.contains(&live.serial) && live.conn.close_reason().is_none() {
                live.conn
                    .close(close_code::REVOKED.into(), b"certificate revoked");
                closed.push(live.holder.clone());
            }
        }
        if let Some((serial, conn)) = &st.parent {
            if revoked.contains(serial) && conn.close_reason().is_none() {
                conn.close(close_code::REVOKED.into(), b"certificate revoked");
                closed.push("the parent".into());
                st.parent = None;
            }
        }
        closed
    }
}

impl Node {
    /// Admits a connection from `peer` unless its certificate already holds
    /// `limits.connections_per_peer` connections; the error says how many it holds.
    pub fn admit(
        self: &Arc<Node>,
        peer: &Identity,
        serial: String,
        conn: &Connection,
    ) -> Result<ConnectionTicket, usize> {
        let holder = holder(peer);
        let mut st = self.peers.lock();
        let held = st.live.values().filter(|l| l.holder == holder).count();
        if held >= self.config.limits.connections_per_peer {
            return Err(held);
        }
        let id = self.peers.next.fetch_add(1, Ordering::Relaxed);
        st.live.insert(
            id,
            Live {
                holder,
                serial,
                conn: conn.clone(),
            },
        );
        Ok(ConnectionTicket {
            node: self.clone(),
            id,
        })
    }

    /// A place for a sync session of `child`, unless it already runs
    /// [`SESSIONS_PER_CHILD`].
    pub fn child_session_place(self: &Arc<Node>, child: &str) -> Option<SessionTicket> {
        let mut st = self.peers.lock();
        let n = st.child_sessions.entry(child.to_string()).or_default();
        if *n >= SESSIONS_PER_CHILD {
            return None;
        }
        *n += 1;
        Some(SessionTicket {
            node: self.clone(),
            child: child.to_string(),
        })
    }

    /// Reloads the TLS configuration from the certs directory (a new revocation list,
    /// say) and closes the connections of certificates it revokes. On an error the
    /// previous configuration stays in force.
    pub fn reload_tls(&self) -> Result<Vec<String>, crate::link::LinkError> {
        let dir = &self.config.certs_dir;
        let speaks = self.config.sync.max_link_version;
        let tuning = &self.config.link;
        let server = server_quic_config_speaking(dir, speaks, tuning)?;
        // The link to the parent builds its client configuration at each connection.
        client_quic_config_speaking(dir, None, speaks, tuning)?;
        let revoked: HashSet<String> = certs::revoked(dir)?.into_iter().map(|r| r.serial).collect();
        self.endpoint.set_server_config(Some(server));
        self.peers.generation.fetch_add(1, Ordering::SeqCst);
        Ok(self.peers.close_revoked(&revoked))
    }
}

/// The revocation list's modification time and size, to notice a new one.
fn stamp(file: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(file).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reloads the TLS configuration whenever `ca.crl` changes (checked every
/// [`REVOCATION_POLL`]) and on SIGHUP.
pub async fn watch_revocations(node: Arc<Node>) {
    let file = node.config.certs_dir.join(certs::CA_CRL);
    let mut seen = stamp(&file);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let asked = match hup.as_mut() {
            Some(h) => tokio::select! {
                _ = tokio::time::sleep(REVOCATION_POLL) => false,
                _ = h.recv() => true,
            },
            None => {
                tokio::time::sleep(REVOCATION_POLL).await;
                false
            }
        };
        #[cfg(not(unix))]
        let asked = {
            tokio::time::sleep(REVOCATION_POLL).await;
            false
        };
        let now = stamp(&file);
        if now == seen && !asked {
            continue;
        }
        seen = now;
        match node.reload_tls() {
            Ok(closed) => {
                tracing::info!(
                    file = %file.display(),
                    closed = closed.len(),
                    "certificates reloaded (revocation list)"
                );
                for who in closed {
                    tracing::warn!(peer = %who, "closed the connection of a revoked certificate");
                    node.metrics.refused_connection("certificate-revoked");
                }
            }
            Err(e) => tracing::error!(
                error = %e,
                "reloading the certificates failed; the previous ones stay in force"
            ),
        }
    }
}
