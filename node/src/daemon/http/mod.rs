//! The node's HTTP endpoints, served by hyper through axum: the read API over mutual
//! TLS ([`routes`], [`lists`]) and the loopback `/metrics` and `/health` endpoint
//! ([`metrics`]). HTTP/1.1 with keep-alive and HTTP/2 on both; limits and timeouts are
//! tower layers ([`server`]); every error answer of the read API is JSON ([`error`]).
//!
//! - [`server`]: listeners, TLS, connections, layers;
//! - [`caller`]: the caller's certificate identity and the query parameters;
//! - [`error`]: the JSON error answer;
//! - [`routes`]: subject queries, checks, reports and search;
//! - [`lists`]: the red and black lists and dishonest debtors, paged;
//! - [`metrics`]: `/metrics` and `/health`.

pub mod caller;
pub mod changes;
pub mod error;
pub mod lists;
pub mod metrics;
pub mod routes;
pub mod server;

use std::sync::atomic::{AtomicU8, Ordering};

/// Where a node is in its life.
#[derive(Debug, Default)]
pub struct Health(AtomicU8);

const STARTING: u8 = 0;
const READY: u8 = 1;
const DRAINING: u8 = 2;

impl Health {
    /// Marks the node ready.
    pub fn set_ready(&self) {
        let _ = self
            .0
            .compare_exchange(STARTING, READY, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Marks the node draining (for good: it is about to stop).
    pub fn set_draining(&self) {
        self.0.store(DRAINING, Ordering::SeqCst);
    }

    /// Whether the node is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst) == READY
    }

    /// Whether the node is draining.
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst) == DRAINING
    }

    /// `starting`, `ready` or `draining`.
    pub fn as_str(&self) -> &'static str {
        match self.0.load(Ordering::SeqCst) {
            READY => "ready",
            DRAINING => "draining",
            _ => "starting",
        }
    }
}
