//! The running node (`credit-node`): its store, its QUIC endpoint, the link to its
//! parent, the sessions its children open, and the admin requests of operators.
//!
//! - [`config`]: the checked configuration;
//! - [`upstream`]: the scheduler of reconciliations with the parent (periodic with
//!   jitter, soon after local writes, on demand, with exponential backoff);
//! - [`server`]: the listener: children's sync sessions and admin requests.

pub mod config;
pub mod server;
pub mod upstream;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context;
use quinn::Endpoint;
use tokio::sync::Notify;

use crate::admin::{ChildStatus, LinkStatus, NodeStatus};
use crate::certs::{tls, Identity, Role, NODE_CERT};
use crate::link::quic::node_endpoint;
use crate::link::session::SessionStats;
use crate::store::Store;
use config::NodeConfig;

/// A running node's shared state.
pub struct Node {
    /// The configuration.
    pub config: NodeConfig,
    /// Who this node is, from `node.crt`.
    pub identity: Identity,
    /// The store.
    pub store: Arc<Store>,
    /// The QUIC endpoint (listening, and connecting to the parent).
    pub endpoint: Endpoint,
    /// Wakes the upstream scheduler after local writes or records from a child.
    pub dirty: Notify,
    /// Serialises reconciliations with the parent (scheduled and on demand).
    pub upstream_round: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    parent: LinkStatus,
    children: BTreeMap<String, ChildStatus>,
    refused: BTreeMap<String, u64>,
    refused_connections: u64,
}

impl Node {
    /// Opens the store and binds the listener; fails with a message naming the
    /// certificate, directory or address at fault.
    pub fn start(config: NodeConfig) -> anyhow::Result<Arc<Node>> {
        let cert_file = config.certs_dir.join(NODE_CERT);
        let cert = std::fs::read(&cert_file)
            .with_context(|| format!("reading the node certificate {}", cert_file.display()))?;
        let der = rustls_pki_types::pem::PemObject::from_pem_slice(&cert)
            .map_err(|e| anyhow::anyhow!("{}: not a PEM certificate ({e})", cert_file.display()))?;
        let identity = tls::peer_identity(&[der])
            .with_context(|| format!("{}: no credithub identity", cert_file.display()))?;
        if identity.role != Role::Node {
            anyhow::bail!(
                "{} is a {} certificate; a node needs one made by `credit-admin cert create-node`",
                cert_file.display(),
                identity.role.as_str()
            );
        }
        if identity.jurisdiction != config.jurisdiction {
            anyhow::bail!(
                "configuration key `jurisdiction` is {} but {} certifies jurisdiction {}",
                config.jurisdiction,
                cert_file.display(),
                identity.jurisdiction
            );
        }
        let store = Store::open(&config.data_dir, Some(config.jurisdiction))
            .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
        let endpoint = node_endpoint(&config.certs_dir, config.listen)
            .with_context(|| format!("listening on {}", config.listen))?;
        let parent = LinkStatus {
            address: config
                .parent
                .as_ref()
                .map(|p| p.address.clone())
                .unwrap_or_default(),
            ..LinkStatus::default()
        };
        Ok(Arc::new(Node {
            config,
            identity,
            store: Arc::new(store),
            endpoint,
            dirty: Notify::new(),
            upstream_round: tokio::sync::Mutex::new(()),
            state: Mutex::new(State {
                parent,
                ..State::default()
            }),
        }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a session's refusals into the node's totals.
    fn count_refusals(&self, stats: &SessionStats) {
        let mut st = self.state();
        for (reason, n) in &stats.refused {
            *st.refused.entry(reason.clone()).or_default() += n;
        }
    }

    /// Records a refused connection.
    fn refused_connection(&self) {
        self.state().refused_connections += 1;
    }

    /// The node's status.
    pub fn status(&self) -> anyhow::Result<NodeStatus> {
        let (live, tombstones) = self
            .store
            .count(credithub_protocol::DivisionCode::NATIONAL, None)?;
        let root = self.store.store_root()?;
        let st = self.state();
        Ok(NodeStatus {
            name: self.identity.name.clone(),
            jurisdiction: self.config.jurisdiction.to_string(),
            records: live + tombstones,
            tombstones,
            store_root: hex::encode(&root.fingerprint()[..8]),
            parent: self.config.parent.as_ref().map(|_| st.parent.clone()),
            children: st.children.values().cloned().collect(),
            refused: st.refused.clone(),
            refused_connections: st.refused_connections,
        })
    }

    /// Runs until SIGTERM or Ctrl-C: serves children and admin clients, and keeps the
    /// parent link in sync. Shuts down cleanly: no new sessions, the store flushed.
    pub async fn run(self: Arc<Node>) -> anyhow::Result<()> {
        tracing::info!(
            name = %self.identity.name,
            jurisdiction = %self.config.jurisdiction,
            listen = %self.config.listen,
            parent = self.config.parent.as_ref().map(|p| p.address.as_str()).unwrap_or("none"),
            "node started"
        );
        let server = tokio::spawn(server::serve(self.clone()));
        let upstream = self
            .config
            .parent
            .is_some()
            .then(|| tokio::spawn(upstream::run(self.clone())));
        shutdown_signal().await;
        tracing::info!("shutting down");
        if let Some(u) = upstream {
            u.abort();
        }
        server.abort();
        self.endpoint.close(0u32.into(), b"node shutting down");
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), self.endpoint.wait_idle())
            .await;
        self.store.flush()?;
        tracing::info!("store flushed; stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
