//! The running node (`credit-node`): its store, its QUIC endpoint, the link to its
//! parent, the sessions its children open, and the admin requests of operators.
//!
//! - [`config`]: the checked configuration;
//! - [`upstream`]: the scheduler of reconciliations with the parent (periodic with
//!   jitter, soon after local writes, on demand, with exponential backoff);
//! - [`server`]: the listener: children's sync sessions and admin requests;
//! - [`peers`]: connections by certificate (limits, revocation) and child sessions;
//! - [`accounts`]: the accounts per reporting unit of the node and its subtree;
//! - [`admin`]: the answers to admin requests;
//! - [`metrics`]: counters and their exposition;
//! - [`http`]: the read API, `/metrics` and `/health` on hyper;
//! - [`reads`]: what the read API and readers' requests answer;
//! - [`notify`]: systemd readiness notification.

pub mod accounts;
pub mod admin;
pub mod config;
pub mod export;
pub mod fresh;
pub mod http;
pub mod lifecycle;
pub mod lists;
pub mod metrics;
pub mod notify;
pub mod peers;
pub mod reads;
pub mod server;
pub mod upstream;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use anyhow::Context;
use credithub_protocol::link::LinkScope;
use credithub_protocol::report::{ChildReport, LinkReport, NodeReport};
use credithub_protocol::session::close_code;
use credithub_protocol::{Cell, PartitionId};
use quinn::{Connection, Endpoint};
use tokio::sync::Notify;

use crate::admin::{LinkStatus, NodeStatus};
use crate::certs::{tls, Identity, Role, NODE_CERT};
use crate::clock::now_millis;
use crate::link::quic::node_endpoint;
use crate::store::Store;
use config::NodeConfig;
use http::Health;
use metrics::Metrics;

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
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Starting, ready or draining.
    pub health: Arc<Health>,
    /// Connections by certificate, and child sessions.
    pub peers: peers::Peers,
    /// Sync sessions running now (both sides).
    sessions: AtomicUsize,
    /// Rounds the parent asked for, to the scheduler.
    requests_tx: tokio::sync::mpsc::Sender<upstream::ParentRequest>,
    requests_rx: Mutex<Option<tokio::sync::mpsc::Receiver<upstream::ParentRequest>>>,
    started_ms: u64,
    state: Mutex<State>,
    /// The node's own accounts as last computed: when, and leaving out which
    /// children's origins.
    accounts_cache: Mutex<Option<accounts::Cached>>,
}

#[derive(Default)]
struct State {
    parent: LinkStatus,
    children: BTreeMap<String, ChildEntry>,
}

/// What the node knows of one child.
struct ChildEntry {
    report: ChildReport,
    scope: LinkScope,
    conn: Option<Connection>,
    /// The accounts of its subtree, as it last sent them (link version 4 on).
    accounts: Option<credithub_protocol::accounts::SubtreeAccounts>,
}

/// Counts a running session for as long as it lives.
pub struct SessionGuard<'a>(&'a Node);

impl Drop for SessionGuard<'_> {
    fn drop(&mut self) {
        self.0.sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The sum of the cells of the partitions a scope covers, and its fingerprint.
fn scope_sum(partitions: &[(PartitionId, Cell)], scope: &LinkScope) -> (i64, String) {
    let mut sum = Cell::EMPTY;
    for (_, c) in partitions.iter().filter(|(p, _)| scope.covers(p)) {
        sum.add(c);
    }
    (sum.signed_count(), hex::encode(&sum.fingerprint()[..8]))
}

impl Node {
    /// Opens the store and binds the listener; fails with a message naming the
    /// certificate, directory or address at fault.
    pub fn start(config: NodeConfig, health: Arc<Health>) -> anyhow::Result<Arc<Node>> {
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
        let (endpoint, buffers) = node_endpoint(
            &config.certs_dir,
            config.listen,
            config.sync.max_link_version,
            &config.link,
        )
        .with_context(|| {
            format!(
                "listening on {} (configuration key `listen`)",
                config.listen
            )
        })?;
        let t = &config.link;
        tracing::info!(
            congestion = %t.congestion,
            packet_threshold = t.packet_threshold,
            time_threshold = t.time_threshold,
            stream_window = t.stream_window,
            connection_window = t.connection_window,
            socket_buffer_asked = buffers.asked,
            socket_receive_buffer = buffers.receive,
            socket_send_buffer = buffers.send,
            "QUIC link tuning"
        );
        if buffers.short() {
            tracing::warn!(
                asked = buffers.asked,
                receive = buffers.receive,
                send = buffers.send,
                "the kernel granted smaller UDP socket buffers than link.socket_buffer_bytes \
                 asks (raise net.core.rmem_max and net.core.wmem_max): bursts may be dropped \
                 at this host"
            );
        }
        let parent = LinkStatus {
            address: config
                .parent
                .as_ref()
                .map(|p| p.address.clone())
                .unwrap_or_default(),
            ..LinkStatus::default()
        };
        let (requests_tx, requests_rx) = tokio::sync::mpsc::channel(4);
        Ok(Arc::new(Node {
            requests_tx,
            requests_rx: Mutex::new(Some(requests_rx)),
            config,
            identity,
            store: Arc::new(store),
            endpoint,
            dirty: Notify::new(),
            upstream_round: tokio::sync::Mutex::new(()),
            metrics: Metrics::default(),
            health,
            peers: peers::Peers::default(),
            sessions: AtomicUsize::new(0),
            started_ms: now_millis(),
            state: Mutex::new(State {
                parent,
                ..State::default()
            }),
            accounts_cache: Mutex::new(None),
        }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks a session as running until the guard drops; `None` while draining.
    pub fn session(&self) -> Option<SessionGuard<'_>> {
        if self.health.is_draining() {
            return None;
        }
        self.sessions.fetch_add(1, Ordering::SeqCst);
        Some(SessionGuard(self))
    }

    /// Where the parent's round requests go.
    pub fn parent_requests(&self) -> tokio::sync::mpsc::Sender<upstream::ParentRequest> {
        self.requests_tx.clone()
    }

    /// The scheduler's end of the parent's round requests (taken once).
    fn take_parent_requests(&self) -> Option<tokio::sync::mpsc::Receiver<upstream::ParentRequest>> {
        self.requests_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Sessions running now.
    pub fn running_sessions(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }

    /// Records what a child's session did (and what it reported).
    fn child_session_ended(
        &self,
        scope: LinkScope,
        mut report: ChildReport,
        child: Option<NodeReport>,
        conn: Option<Connection>,
        accounts: Option<credithub_protocol::accounts::SubtreeAccounts>,
    ) {
        let mut st = self.state();
        let previous = st.children.remove(&report.name);
        report.report = child
            .map(Box::new)
            .or_else(|| previous.as_ref().and_then(|p| p.report.report.clone()));
        let accounts = accounts.or_else(|| previous.as_ref().and_then(|p| p.accounts.clone()));
        let conn = conn.or_else(|| previous.and_then(|p| p.conn));
        st.children.insert(
            report.name.clone(),
            ChildEntry {
                report,
                scope,
                conn,
                accounts,
            },
        );
    }

    /// The connections of the children named (all when `None`).
    pub fn child_connections(&self, name: Option<&str>) -> Vec<(String, Option<Connection>)> {
        self.state()
            .children
            .iter()
            .filter(|(n, _)| name.is_none_or(|want| want == n.as_str()))
            .map(|(n, e)| {
                (
                    n.clone(),
                    e.conn.clone().filter(|c| c.close_reason().is_none()),
                )
            })
            .collect()
    }

    /// The scope of the link to a child, from its last session.
    pub fn child_scope(&self, name: &str) -> Option<LinkScope> {
        self.state().children.get(name).map(|c| c.scope.clone())
    }

    /// How fresh an origin's data is here: local data is current; data from below is
    /// as of the last session of the child it comes through; data from above, as of
    /// the last successful round with the parent.
    pub fn origin_freshness(
        &self,
        origin: credithub_protocol::DivisionCode,
    ) -> (Option<u64>, String) {
        let own = self.config.jurisdiction;
        if origin == own {
            return (Some(now_millis()), "local".into());
        }
        let st = self.state();
        if own.contains(origin) {
            return match st
                .children
                .values()
                .find(|c| c.report.jurisdiction.contains(origin))
            {
                Some(c) => {
                    // Deeper origins are as fresh as the grandchild's last session
                    // with the child, too.
                    let deeper = c.report.report.as_ref().and_then(|r| {
                        r.children
                            .iter()
                            .find(|g| g.jurisdiction.contains(origin))
                            .map(|g| g.last_session_ms)
                    });
                    let at = match deeper {
                        Some(g) => c.report.last_session_ms.min(g),
                        None => c.report.last_session_ms,
                    };
                    (Some(at), format!("child {}", c.report.name))
                }
                None => (None, "no child has reported it".into()),
            };
        }
        (st.parent.last_success_ms, "parent".into())
    }

    /// Milliseconds since the last successful round with the parent (or since start),
    /// and each child's last session time.
    pub fn lags(&self) -> (Option<u64>, Vec<(String, u64)>) {
        let st = self.state();
        let parent = self.config.parent.as_ref().map(|_| {
            now_millis().saturating_sub(st.parent.last_success_ms.unwrap_or(self.started_ms))
        });
        let children = st
            .children
            .values()
            .map(|c| (c.report.name.clone(), c.report.last_session_ms))
            .collect();
        (parent, children)
    }

    /// This node's report: its figures, its parent link, and its children as it knows
    /// them (with how far behind each is).
    pub fn report(&self) -> anyhow::Result<NodeReport> {
        // From the digest roots (every origin partition's count), not a scan: a report
        // is made for every round, and counting tombstones would read every record.
        let root = self.store.store_root()?;
        let partitions = self.store.partitions()?;
        let versions: i64 = partitions
            .iter()
            .filter(|(p, _)| p.origin_code().is_some())
            .map(|(_, c)| c.signed_count())
            .sum();
        let own = LinkScope::new(
            self.config.jurisdiction,
            self.config.sync.subscriptions.iter().copied(),
        );
        let (scope_count, scope_root) = scope_sum(&partitions, &own);
        let st = self.state();
        let children = st
            .children
            .values()
            .map(|c| {
                let mut r = c.report.clone();
                if let Some(child) = &r.report {
                    let (count, fingerprint) = scope_sum(&partitions, &c.scope);
                    r.behind_records = Some(count.saturating_sub(child.scope_count));
                    r.roots_match = Some(fingerprint == child.scope_root);
                }
                r
            })
            .collect();
        Ok(NodeReport {
            name: self.identity.name.clone(),
            jurisdiction: self.config.jurisdiction,
            records: versions.max(0) as u64,
            tombstones: 0,
            store_root: hex::encode(&root.fingerprint()[..8]),
            scope_count,
            scope_root,
            interval_ms: self.config.sync.interval.as_millis() as u64,
            at_ms: now_millis(),
            parent: self.config.parent.as_ref().map(|_| LinkReport {
                connected: st.parent.connected,
                caught_up: st.parent.caught_up,
                last_success_ms: st.parent.last_success_ms,
                last_error: st.parent.last_error.clone(),
            }),
            children,
        })
    }

    /// The node's status, for admins.
    pub fn status(&self) -> anyhow::Result<NodeStatus> {
        let report = self.report()?;
        let parent = self
            .config
            .parent
            .as_ref()
            .map(|_| self.state().parent.clone());
        Ok(NodeStatus {
            report,
            parent,
            refused: self.metrics.refused(),
            refused_connections: self.metrics.refused_connections().values().sum(),
            refused_connections_by: self.metrics.refused_connections(),
            session_failures: self.metrics.session_failures(),
            refused_requests: self.metrics.refused_requests(),
            health: self.health.as_str().to_string(),
            sessions: self.running_sessions(),
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
        let year = crate::clock::today().year();
        if !self.config.calendar.covers(year) && self.config.calendar.listed_days(year) == 0 {
            tracing::warn!(
                year,
                "no public holiday data for this year: the 7-working-day rule counts Monday \
                 to Friday; list its holidays and working weekend days in [calendar] \
                 extra_holidays and extra_working_days"
            );
        }
        let server = tokio::spawn(server::serve(self.clone()));
        let revocations = tokio::spawn(peers::watch_revocations(self.clone()));
        let windows = tokio::spawn(note_closed_windows(self.clone()));
        let upstream = self
            .config
            .parent
            .is_some()
            .then(|| tokio::spawn(upstream::run(self.clone())));
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.health.set_draining();
        notify::send("STOPPING=1");
        if let Some(u) = upstream {
            u.abort();
        }
        server.abort();
        revocations.abort();
        windows.abort();
        self.endpoint
            .close(close_code::NORMAL.into(), b"node shutting down");
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), self.endpoint.wait_idle())
            .await;
        self.store.flush()?;
        tracing::info!("store flushed; stopped");
        Ok(())
    }
}

/// How often the node looks for publication windows that ended (the feed shows such
/// a record leaving the public's view within this time of the day's start).
const WINDOWS_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Notes the publication windows that end, now and then every [`WINDOWS_EVERY`]
/// ([`Store::note_closed_windows`](crate::store::Store::note_closed_windows)).
async fn note_closed_windows(node: Arc<Node>) {
    let mut tick = tokio::time::interval(WINDOWS_EVERY);
    loop {
        tick.tick().await;
        let n = node.clone();
        let noted = tokio::task::spawn_blocking(move || {
            n.store
                .note_closed_windows(&n.config.publication, crate::clock::today())
        })
        .await;
        match noted {
            Ok(Ok(0)) => {}
            Ok(Ok(count)) => {
                tracing::info!(
                    records = count,
                    "publication windows ended: noted in the change feed"
                )
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "noting ended publication windows failed"),
            Err(e) => tracing::warn!(error = %e, "noting ended publication windows stopped"),
        }
    }
}

/// Starts a node from its configuration: the metrics and health endpoint first (so
/// `/health?ready=1` answers 503 while the store opens), then the store and the
/// listener, then readiness (and systemd's READY=1), then runs until a signal.
pub async fn run(config: NodeConfig) -> anyhow::Result<()> {
    let health = Arc::new(Health::default());
    let cell: Arc<OnceLock<Arc<Node>>> = Arc::new(OnceLock::new());
    let http = match config.metrics_listen {
        None => None,
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr} (configuration key `metrics.listen`)"))?;
            tracing::info!(%addr, "metrics and health endpoint listening");
            Some(tokio::spawn(http::server::serve_metrics(
                listener,
                cell.clone(),
                health.clone(),
            )))
        }
    };
    let node = {
        let health = health.clone();
        tokio::task::spawn_blocking(move || Node::start(config, health)).await??
    };
    let _ = cell.set(node.clone());
    let api = match node.config.api_listen {
        None => None,
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr} (configuration key `api.listen`)"))?;
            tracing::info!(%addr, "read API listening (HTTPS: HTTP/2 and HTTP/1.1, client certificates required)");
            Some(tokio::spawn(http::server::serve_api(
                node.clone(),
                listener,
            )))
        }
    };
    health.set_ready();
    notify::send("READY=1");
    let result = node.run().await;
    for task in [http, api].into_iter().flatten() {
        task.abort();
    }
    result
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
