//! The node's counters and their Prometheus text exposition.
//!
//! Counters are kept here as the node works (sync rounds by peer and result, bytes by
//! peer and direction, refused records by reason, refused connections and failed
//! sessions by reason); gauges are
//! read when scraped (records by origin and kind from the digest roots, parent lag,
//! RocksDB sizes and compaction state), so a scrape costs a handful of reads.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use credithub_protocol::Scope;

use super::Node;
use crate::clock::now_millis;
use crate::link::session::SessionStats;
use crate::store::STORAGE_FIGURES;

/// Counters of a running node.
#[derive(Default)]
pub struct Metrics {
    rounds: Mutex<BTreeMap<(String, &'static str, &'static str), u64>>,
    bytes: Mutex<BTreeMap<(String, &'static str), u64>>,
    records_moved: Mutex<BTreeMap<(String, &'static str), u64>>,
    refused: Mutex<BTreeMap<String, u64>>,
    refused_connections: Mutex<BTreeMap<String, u64>>,
    session_failures: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    refused_requests: Mutex<BTreeMap<&'static str, u64>>,
    refused_changes: AtomicU64,
    link_versions: Mutex<BTreeMap<(String, &'static str), u16>>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K, by: u64) {
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    *m.entry(key).or_default() += by;
}

impl Metrics {
    /// Counts one sync round with `peer` (`with` is "parent" or "child").
    pub fn round(&self, peer: &str, with: &'static str, result: Result<&SessionStats, ()>) {
        let outcome = if result.is_ok() { "ok" } else { "error" };
        bump(&self.rounds, (peer.to_string(), with, outcome), 1);
        if let Ok(s) = result {
            bump(&self.bytes, (peer.to_string(), "sent"), s.bytes_sent);
            bump(
                &self.bytes,
                (peer.to_string(), "received"),
                s.bytes_received,
            );
            bump(
                &self.records_moved,
                (peer.to_string(), "sent"),
                s.records_sent,
            );
            bump(
                &self.records_moved,
                (peer.to_string(), "received"),
                s.records_received,
            );
            if s.held_back > 0 {
                // Records the link's version does not carry yet (a rolling upgrade).
                bump(
                    &self.records_moved,
                    (peer.to_string(), "held-back"),
                    s.held_back,
                );
            }
            self.refused_records(s);
        }
    }

    /// Counts the records a session refused, by reason (sync rounds count theirs
    /// through [`Metrics::round`]; fresh queries call this).
    pub fn refused_records(&self, s: &SessionStats) {
        for (reason, n) in &s.refused {
            bump(&self.refused, reason.clone(), *n);
        }
    }

    /// Counts a refused connection (`reason`: `no-certificate`, `certificate-revoked`,
    /// `not-a-child`, `too-many-connections`, …).
    pub fn refused_connection(&self, reason: &str) {
        bump(&self.refused_connections, reason.to_string(), 1);
    }

    /// Counts a refused admin or read request (`malformed-request`,
    /// `role-not-permitted`).
    pub fn refused_request(&self, reason: &'static str) {
        bump(&self.refused_requests, reason, 1);
    }

    /// Refused requests so far, by reason.
    pub fn refused_requests(&self) -> BTreeMap<String, u64> {
        self.refused_requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect()
    }

    /// Counts a session that failed, with `with` ("parent" or "child") and why
    /// ([`crate::link::LinkError::kind`]).
    pub fn session_failure(&self, with: &'static str, kind: &'static str) {
        bump(&self.session_failures, (with, kind), 1);
    }

    /// Notes the link version the connection with `peer` negotiated (`with` is
    /// "parent" or "child"): during a rolling upgrade, what each link speaks.
    pub fn link_version(&self, peer: &str, with: &'static str, version: u16) {
        let mut m = self.link_versions.lock().unwrap_or_else(|p| p.into_inner());
        m.insert((peer.to_string(), with), version);
    }

    /// Link versions by peer, as [`Metrics::link_version`] noted them.
    pub fn link_versions(&self) -> BTreeMap<(String, &'static str), u16> {
        self.link_versions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Counts an attempt to change a record of another origin.
    pub fn refused_change(&self) {
        self.refused_changes.fetch_add(1, Ordering::Relaxed);
    }

    /// Refused records so far, by reason.
    pub fn refused(&self) -> BTreeMap<String, u64> {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Refused connections so far, by reason.
    pub fn refused_connections(&self) -> BTreeMap<String, u64> {
        self.refused_connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Failed sessions so far, by why they failed (both sides together).
    pub fn session_failures(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for ((_, kind), n) in self
            .session_failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            *out.entry(kind.to_string()).or_default() += n;
        }
        out
    }
}

/// Escapes a label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The Prometheus text of a node's metrics.
pub fn render(node: &Node) -> String {
    let mut out = String::new();
    let m = &node.metrics;
    let j = node.config.jurisdiction;

    family(
        &mut out,
        "credithub_records",
        "gauge",
        "Record versions held, by origin and kind (from the digest roots)",
    );
    if let Ok(partitions) = node.store.partitions() {
        for (p, cell) in partitions {
            if let Scope::Origin(origin) = p.scope {
                let _ = writeln!(
                    out,
                    "credithub_records{{origin=\"{origin}\",kind=\"{}\"}} {}",
                    label(&p.kind.name()),
                    cell.signed_count()
                );
            }
        }
    }

    family(
        &mut out,
        "credithub_sync_rounds_total",
        "counter",
        "Sync rounds, by peer, side of the peer and result",
    );
    for ((peer, with, result), n) in m.rounds.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let _ = writeln!(
            out,
            "credithub_sync_rounds_total{{peer=\"{}\",with=\"{with}\",result=\"{result}\"}} {n}",
            label(peer)
        );
    }
    family(
        &mut out,
        "credithub_sync_bytes_total",
        "counter",
        "Bytes of sync sessions, by peer and direction",
    );
    for ((peer, dir), n) in m.bytes.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let _ = writeln!(
            out,
            "credithub_sync_bytes_total{{peer=\"{}\",direction=\"{dir}\"}} {n}",
            label(peer)
        );
    }
    family(
        &mut out,
        "credithub_sync_records_total",
        "counter",
        "Record versions moved by sync sessions, by peer and direction (sent, received; held-back: not sent because the link's version does not carry their form)",
    );
    for ((peer, dir), n) in m
        .records_moved
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        let _ = writeln!(
            out,
            "credithub_sync_records_total{{peer=\"{}\",direction=\"{dir}\"}} {n}",
            label(peer)
        );
    }
    family(
        &mut out,
        "credithub_refused_records_total",
        "counter",
        "Records refused from peers, by reason",
    );
    for (reason, n) in m.refused().iter() {
        let _ = writeln!(
            out,
            "credithub_refused_records_total{{reason=\"{}\"}} {n}",
            label(reason)
        );
    }
    family(
        &mut out,
        "credithub_refused_connections_total",
        "counter",
        "Connections refused (failed handshakes, certificate role or jurisdiction, limits), by reason",
    );
    for (reason, n) in m.refused_connections().iter() {
        let _ = writeln!(
            out,
            "credithub_refused_connections_total{{reason=\"{}\"}} {n}",
            label(reason)
        );
    }
    family(
        &mut out,
        "credithub_refused_requests_total",
        "counter",
        "Admin and read requests refused (malformed, or not allowed to the certificate's role), by reason",
    );
    for (reason, n) in m.refused_requests().iter() {
        let _ = writeln!(
            out,
            "credithub_refused_requests_total{{reason=\"{reason}\"}} {n}"
        );
    }
    family(
        &mut out,
        "credithub_session_failures_total",
        "counter",
        "Sync sessions that failed, by side and reason (stalled, oversized-message, protocol-violation, connection, …)",
    );
    let failures: Vec<_> = m
        .session_failures
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(k, n)| (*k, *n))
        .collect();
    for ((with, kind), n) in failures {
        let _ = writeln!(
            out,
            "credithub_session_failures_total{{with=\"{with}\",reason=\"{kind}\"}} {n}"
        );
    }

    family(
        &mut out,
        "credithub_link_version",
        "gauge",
        "The link protocol version each peer's connection negotiated",
    );
    for ((peer, with), v) in m.link_versions() {
        let _ = writeln!(
            out,
            "credithub_link_version{{peer=\"{}\",with=\"{with}\"}} {v}",
            label(&peer)
        );
    }

    let now = now_millis();
    let (parent, children) = node.lags();
    family(
        &mut out,
        "credithub_parent_lag_seconds",
        "gauge",
        "Seconds since the last successful round with the parent (since start if none)",
    );
    if let Some(lag) = parent {
        let _ = writeln!(
            out,
            "credithub_parent_lag_seconds {:.3}",
            lag as f64 / 1000.0
        );
    }
    family(
        &mut out,
        "credithub_child_lag_seconds",
        "gauge",
        "Seconds since each child's last session",
    );
    for (name, last) in children {
        let _ = writeln!(
            out,
            "credithub_child_lag_seconds{{child=\"{}\"}} {:.3}",
            label(&name),
            now.saturating_sub(last) as f64 / 1000.0
        );
    }

    let figures = node.store.storage_figures();
    for figure in STORAGE_FIGURES {
        let name = format!("credithub_rocksdb_{}", figure.name);
        family(&mut out, &name, "gauge", figure.help);
        if let Some(v) = figures.get(figure.name) {
            let _ = writeln!(out, "{name} {v}");
        }
    }
    family(
        &mut out,
        "credithub_ready",
        "gauge",
        "1 when the node is ready (store open, listener bound, not draining)",
    );
    let _ = writeln!(out, "credithub_ready {}", u8::from(node.health.is_ready()));
    let _ = writeln!(out, "# jurisdiction {j}");
    out
}
