//! What one session did, and the events worth a log line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::PartitionId;
use crate::link::Refusal;
use crate::record::{RecordId, RecordKey};

/// What one session did, from one side's point of view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStats {
    /// How long the session took, in milliseconds (the I/O shell measures it).
    #[serde(default)]
    pub elapsed_ms: u64,
    /// Reconciliation messages exchanged (both ways).
    pub sync_messages: u32,
    /// Bytes written to the stream (the I/O shell counts them).
    pub bytes_sent: u64,
    /// Bytes read from the stream (the I/O shell counts them).
    pub bytes_received: u64,
    /// Reconciliation bytes only (both ways), a part of the above.
    pub sync_bytes: u64,
    /// Record versions sent.
    pub records_sent: u64,
    /// Record versions received.
    pub records_received: u64,
    /// Received versions stored.
    pub applied: u64,
    /// Received versions already held.
    pub unchanged: u64,
    /// Received versions refused, by reason.
    pub refused: BTreeMap<String, u64>,
    /// Records held at the same version with different content on the two sides.
    pub conflicts: u64,
    /// Record versions not sent because the link's version does not carry their form
    /// (they go once both ends are upgraded).
    pub held_back: u64,
}

impl SessionStats {
    /// Versions refused in all.
    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

/// Something that happened in a session that an operator may want to see. A session
/// reports the first [`super::SessionConfig::logged_events`] of them; the rest are
/// only counted in [`SessionStats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A received record version was refused.
    Refused {
        /// The record.
        key: RecordKey,
        /// Why.
        reason: Refusal,
        /// The store's words, for an invalid record.
        detail: Option<String>,
    },
    /// The two sides hold a record at the same version with different content.
    Conflict {
        /// The partition.
        partition: PartitionId,
        /// The member id.
        id: RecordId,
    },
}
