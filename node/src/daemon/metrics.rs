//! The node's counters, and their exposition through `prometheus-client`
//! ([`exposition`]).
//!
//! Counters are kept here as the node works (sync rounds by peer and result, bytes by
//! peer and direction, refused records by reason, refused connections and failed
//! sessions by reason, read API requests by route and status, with their durations);
//! gauges are read when scraped (records by origin and kind from the digest roots,
//! parent lag, RocksDB sizes and compaction state), so a scrape costs a handful of
//! reads.

pub mod exposition;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use crate::link::session::SessionStats;

/// A read API request's labels: the route's pattern and the answer's status.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ApiRequest {
    /// The route as declared (`/v1/subjects/{id}/records`; `other` for no route).
    pub route: String,
    /// The HTTP status of the answer.
    pub status: u16,
}

/// A read API route, the label of request durations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ApiRoute {
    /// The route as declared.
    pub route: String,
}

/// Durations of read API requests, in seconds: 1 ms to about 8 s.
fn duration_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 14,
    ))
}

/// Counters of a running node.
pub struct Metrics {
    api_requests: Family<ApiRequest, Counter>,
    api_durations: Family<ApiRoute, Histogram, fn() -> Histogram>,
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

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            api_requests: Family::default(),
            api_durations: Family::new_with_constructor(duration_histogram),
            rounds: Mutex::default(),
            bytes: Mutex::default(),
            records_moved: Mutex::default(),
            refused: Mutex::default(),
            refused_connections: Mutex::default(),
            session_failures: Mutex::default(),
            refused_requests: Mutex::default(),
            refused_changes: AtomicU64::default(),
            link_versions: Mutex::default(),
        }
    }
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K, by: u64) {
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    *m.entry(key).or_default() += by;
}

impl Metrics {
    /// Counts one read API request on `route` answered with `status` after `took`.
    pub fn api_request(&self, route: &str, status: u16, took: Duration) {
        let route = route.to_string();
        self.api_requests
            .get_or_create(&ApiRequest {
                route: route.clone(),
                status,
            })
            .inc();
        self.api_durations
            .get_or_create(&ApiRoute { route })
            .observe(took.as_secs_f64());
    }

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
