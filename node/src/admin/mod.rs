//! The admin protocol: requests an operator's client (role `admin`) sends to a node
//! over the node's QUIC listener, one request and one answer per stream, and the
//! client that sends them.

pub mod client;

use std::collections::BTreeMap;

use credithub_protocol::{DivisionCode, Record, RecordBody, RecordKey, RecordKind};
use serde::{Deserialize, Serialize};

use crate::link::session::SessionStats;

/// Bytes of a file per [`AdminRequest::ImportChunk`] at most.
pub const IMPORT_CHUNK: usize = 4 << 20;

/// A request to a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AdminRequest {
    /// The node's state: counts, roots, links.
    Status,
    /// Reconcile with the parent now and wait for the result.
    Reconcile,
    /// Write record bodies originating at this node (new records, or new versions of
    /// records with the same natural key).
    Put {
        /// Kind and body of each record.
        records: Vec<(RecordKind, RecordBody)>,
    },
    /// Delete records originating at this node (tombstones).
    Delete {
        /// The keys.
        keys: Vec<RecordKey>,
    },
    /// One record's stored bytes.
    Get {
        /// The key.
        key: RecordKey,
    },
    /// The digest of what a node of `jurisdiction` subscribing to `subscriptions`
    /// should hold, computed from this node's records, with a sample of their keys.
    Holdings {
        /// The jurisdiction.
        jurisdiction: DivisionCode,
        /// Its subscriptions.
        subscriptions: Vec<RecordKind>,
        /// Only the records whose origin lies in `jurisdiction` (what flows up).
        origins_only: bool,
        /// Keys to sample at most.
        sample: u32,
    },
    /// Every live record about a subject this node holds, whatever its origin.
    Query {
        /// The subject's identifier (USCC, resident ID, registration number or
        /// organisation code).
        subject: String,
    },
    /// Start an online import of a national-format file.
    ImportBegin {
        /// The file's name (for messages and the kind of file).
        name: String,
    },
    /// The next bytes of the file.
    ImportChunk(Vec<u8>),
    /// The file is complete: import it.
    ImportEnd,
}

/// A node's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AdminResponse {
    /// See [`AdminRequest::Status`].
    Status(Box<NodeStatus>),
    /// See [`AdminRequest::Reconcile`].
    Reconciled(SessionStats),
    /// See [`AdminRequest::Put`] and [`AdminRequest::Delete`].
    Written {
        /// New records.
        inserted: u64,
        /// New versions (and tombstones).
        updated: u64,
        /// Writes that changed nothing (or named no record).
        unchanged: u64,
    },
    /// See [`AdminRequest::Get`]: the encoded version, if held.
    Record(Option<Vec<u8>>),
    /// See [`AdminRequest::Holdings`].
    Holdings(Holdings),
    /// See [`AdminRequest::Query`].
    Records(Vec<Record>),
    /// A chunk was stored.
    ChunkStored,
    /// See [`AdminRequest::ImportEnd`]: the import summary, as JSON.
    Imported(String),
    /// The request failed.
    Error(String),
}

/// What a node holds of a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holdings {
    /// Record versions (live and tombstones).
    pub count: u64,
    /// The fingerprint of their digest cell (equal sets have equal fingerprints).
    pub fingerprint: String,
    /// Some of their keys, spread over the key space.
    pub sample: Vec<RecordKey>,
}

/// A node's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's name (from its certificate).
    pub name: String,
    /// Its jurisdiction.
    pub jurisdiction: String,
    /// Record versions held (live and tombstones).
    pub records: u64,
    /// Of which tombstones.
    pub tombstones: u64,
    /// Fingerprint of everything held.
    pub store_root: String,
    /// The link to the parent, if the node has one.
    pub parent: Option<LinkStatus>,
    /// What each child did when it last synced.
    pub children: Vec<ChildStatus>,
    /// Records refused from peers since start, by reason.
    pub refused: BTreeMap<String, u64>,
    /// Connections refused since start (bad certificate role or jurisdiction).
    pub refused_connections: u64,
}

/// The state of the link to the parent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LinkStatus {
    /// The parent's address.
    pub address: String,
    /// The parent's name and jurisdiction, once connected.
    pub peer: Option<String>,
    /// Whether a connection is up now.
    pub connected: bool,
    /// Whether the last session found nothing to move (both sides held the same).
    pub caught_up: bool,
    /// When the last session succeeded (ms since the epoch).
    pub last_success_ms: Option<u64>,
    /// The last failure, if the last attempt failed.
    pub last_error: Option<String>,
    /// Sessions that succeeded since start.
    pub sessions: u64,
    /// Sessions that failed since start.
    pub failures: u64,
    /// What the last successful session did.
    pub last: Option<SessionStats>,
}

/// What a child did when it last synced with this node.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChildStatus {
    /// The child's name.
    pub name: String,
    /// Its jurisdiction (from its certificate).
    pub jurisdiction: String,
    /// When its last session ended (ms since the epoch).
    pub last_session_ms: u64,
    /// Whether that session succeeded.
    pub ok: bool,
    /// Whether that session found nothing to move.
    pub caught_up: bool,
    /// What it did.
    pub last: Option<SessionStats>,
    /// Its error, if it failed.
    pub error: Option<String>,
}
