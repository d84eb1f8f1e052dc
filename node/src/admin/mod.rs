//! The admin protocol: requests an operator's client (role `admin`) sends to a node
//! over the node's QUIC listener, one request and one answer per stream, and the
//! client that sends them.

pub mod client;

use std::collections::BTreeMap;

use credithub_protocol::lifecycle::Audience;
use credithub_protocol::report::NodeReport;

use crate::query::measures::CheckAnswer;
use crate::query::names::NameAnswer;
use crate::query::report::CreditReport;
use crate::query::timeliness::Timeliness;
use crate::query::SubjectAnswer;
use crate::store::{AuditCheck, AuditEntry};
use credithub_protocol::record::{RemovalCause, ReviewAction};
use credithub_protocol::{Date, DivisionCode, PartitionId, RecordBody, RecordKey, RecordKind};
use serde::{Deserialize, Serialize};

use crate::export::{Page, Plan, Selection};
use crate::link::session::SessionStats;

/// Bytes of a file per [`AdminRequest::ImportChunk`] at most.
pub const IMPORT_CHUNK: usize = 4 << 20;

/// A request to a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AdminRequest {
    /// The node's state: counts, roots, links.
    Status,
    /// Reconcile now and wait for the result: with the parent, or have one child or
    /// all children reconcile with this node.
    Reconcile {
        /// With whom.
        target: ReconcileTarget,
    },
    /// Compare with the parent and list the differences, moving nothing.
    Diff {
        /// Differences listed at most (all are counted).
        limit: u32,
    },
    /// Recompute the digest and subject indexes from the records and compare (writes
    /// wait meanwhile).
    Verify,
    /// Counts and roots per partition, and storage figures.
    Stats,
    /// Write a RocksDB checkpoint to `backups/<name>` under the data directory.
    Backup {
        /// The checkpoint's name (`a-z0-9-_.`).
        name: String,
    },
    /// Stop taking sync sessions, report not-ready, and wait for running sessions to
    /// end (before a maintenance stop).
    Drain,
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
    /// Every record about a subject this node holds that the reader may see,
    /// whatever its origin, with each origin's freshness.
    Query {
        /// The subject's identifier (USCC, resident ID, registration number or
        /// organisation code).
        subject: String,
        /// Why (required for natural persons; written to the audit log).
        purpose: Option<String>,
        /// Read as this audience, if the certificate's role allows it.
        audience: Option<Audience>,
        /// At a hub: also ask the children directly (in parallel, with a timeout) and
        /// merge what they hold newer.
        fresh: bool,
    },
    /// Subjects whose name holds a fragment (two characters at least), ranked and
    /// paged; natural persons only for readers who may see them.
    Search {
        /// The fragment.
        name: String,
        /// Read as this audience, if the certificate's role allows it.
        audience: Option<Audience>,
        /// The page (from 1).
        page: u32,
        /// Subjects per page (at most 100).
        per_page: u32,
    },
    /// Which joint measures apply to a subject today for an action (all when `None`).
    Check {
        /// The subject's identifier.
        subject: String,
        /// The action (`government-procurement`, …).
        action: Option<String>,
        /// Why (required for natural persons).
        purpose: Option<String>,
    },
    /// A subject's credit report (records, freshness, measures in force).
    Report {
        /// The subject's identifier.
        subject: String,
        /// Why (required for natural persons).
        purpose: Option<String>,
    },
    /// Counts by origin, kind and month, and reporting timeliness per origin.
    Timeliness,
    /// File an objection against a record (at any node).
    Object {
        /// The disputed record.
        target: RecordKey,
        /// The subject's grounds.
        reason: String,
    },
    /// The origin's decision on the objections to one of its records.
    Decide {
        /// The record.
        target: RecordKey,
        /// The decision.
        decision: Decision,
    },
    /// Withdraw a record whose decision was revoked (origin only).
    Withdraw {
        /// The record.
        target: RecordKey,
    },
    /// Grant credit repair (origin only, after the minimum period).
    Repair {
        /// The record.
        target: RecordKey,
    },
    /// Check the audit log's hash chain end to end.
    AuditVerify,
    /// Audit entries from a sequence number on.
    AuditList {
        /// The first sequence number.
        from: u64,
        /// Entries at most.
        limit: u32,
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
    /// Propose list entries (red list, black list, dishonest debtors): each becomes a
    /// draft at this node, proposed by the calling certificate, until another
    /// administrator reviews and confirms it.
    ListPropose {
        /// Kind and body of each entry (its details a [`Details::Listing`]).
        ///
        /// [`Details::Listing`]: credithub_protocol::record::Details::Listing
        records: Vec<(RecordKind, RecordBody)>,
        /// Why, as recorded in each entry's trail.
        note: String,
    },
    /// A review step on a draft of this node: review, confirm (which publishes) or
    /// reject.
    ListStep {
        /// The entry.
        key: RecordKey,
        /// The step.
        action: ListAction,
        /// Why, as recorded in the entry's trail (required to reject).
        note: String,
    },
    /// Take a published entry of this node off its list.
    ListRemove {
        /// The entry.
        key: RecordKey,
        /// Why.
        cause: RemovalCause,
        /// The reason as written (移出事由).
        reason: String,
        /// The day it leaves (today when `None`).
        on: Option<Date>,
    },
    /// List entries held here, drafts included: of one kind, one state, one origin.
    ListEntries {
        /// Of this kind only.
        kind: Option<RecordKind>,
        /// In this state only (`proposed`, `reviewed`, `rejected`, `published`,
        /// `removed`).
        state: Option<String>,
        /// Of this origin only.
        origin: Option<DivisionCode>,
        /// Entries at most.
        limit: u32,
    },
    /// One list entry with its whole trail (its draft, if one is under review, and
    /// the published version).
    ListShow {
        /// The entry.
        key: RecordKey,
    },
    /// [`ImportBegin`](Self::ImportBegin) of a workbook's one sheet. (A variant of its
    /// own, last, so that nodes of earlier releases still read every other request.)
    ImportBeginSheet {
        /// The file's name (for messages).
        name: String,
        /// The sheet to import.
        sheet: String,
    },
    /// The first pass of an export: count the selected records and name the source
    /// columns they kept beyond today's layout.
    ExportPlan {
        /// What to export.
        selection: Selection,
        /// Why (required, and written to the audit log, for full personal numbers).
        purpose: Option<String>,
    },
    /// A page of an export's rows, in key order.
    ExportPage {
        /// What to export.
        selection: Selection,
        /// Why (required, and written to the audit log, for full personal numbers).
        purpose: Option<String>,
        /// The extra columns (the plan's), written after today's layout.
        extra: Vec<String>,
        /// Continue after this record (the previous page's cursor).
        after: Option<RecordKey>,
        /// Rows at most (up to [`MAX_PAGE_ROWS`](crate::export::MAX_PAGE_ROWS)).
        limit: u32,
    },
    /// The accounts per reporting unit of this node and every node below it (last,
    /// like every later request, so that earlier releases read the others).
    Accounts {
        /// Compute this node's own accounts now, rather than take those kept for
        /// `accounts.refresh_secs`.
        fresh: bool,
    },
}

/// A review step asked by [`AdminRequest::ListStep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListAction {
    /// 审核: reviewed by an administrator other than the proposer.
    Review,
    /// 确认: confirmed by an administrator other than the proposer; publishes.
    Confirm,
    /// Refused: never published.
    Reject,
}

impl ListAction {
    /// The trail's step for this action.
    pub fn review_action(self) -> ReviewAction {
        match self {
            ListAction::Review => ReviewAction::Reviewed,
            ListAction::Confirm => ReviewAction::Confirmed,
            ListAction::Reject => ReviewAction::Rejected,
        }
    }
}

/// One list entry as an administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntryView {
    /// `ORIGIN:KIND:ID`.
    pub key: String,
    /// `red-list`, `black-list` or `dishonest-debtor`.
    pub kind: String,
    /// The list's name.
    pub list_name: String,
    /// The subject's name.
    pub subject_name: String,
    /// The subject's identifier (personal numbers masked).
    pub subject_id: String,
    /// The recognising unit (or court).
    pub authority: String,
    /// `proposed`, `reviewed`, `rejected`, `published` or `removed`.
    pub state: String,
    /// Whether this is a draft (not published, at its origin only).
    pub draft: bool,
    /// The version.
    pub version: u64,
    /// The trail: who did what, when (ms since the epoch), why.
    pub trail: Vec<(String, String, u64, String)>,
}

/// A node's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AdminResponse {
    /// See [`AdminRequest::Status`].
    Status(Box<NodeStatus>),
    /// See [`AdminRequest::Reconcile`]: one round per peer.
    Reconciled(Vec<PeerRound>),
    /// See [`AdminRequest::Diff`].
    Diff(DiffReport),
    /// See [`AdminRequest::Verify`]: the [`VerifyReport`](crate::store::VerifyReport) as JSON (its problems are an
    /// internally tagged enum, which postcard cannot carry).
    Verified(String),
    /// See [`AdminRequest::Stats`].
    Stats(StatsReport),
    /// See [`AdminRequest::Backup`].
    BackedUp {
        /// Where the checkpoint is, on the node's machine.
        path: String,
        /// Its size in bytes (files hard-linked from the store count in full).
        bytes: u64,
        /// Record versions in it.
        records: u64,
    },
    /// See [`AdminRequest::Drain`].
    Drained {
        /// Sessions that were running when draining began.
        sessions: usize,
        /// How long the wait took, in milliseconds.
        waited_ms: u64,
    },
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
    Answer(Box<SubjectAnswer>),
    /// See [`AdminRequest::Search`].
    Found(Box<NameAnswer>),
    /// See [`AdminRequest::Check`].
    Checked(CheckAnswer),
    /// See [`AdminRequest::Report`]: the report and its text.
    Report(Box<CreditReport>, String),
    /// See [`AdminRequest::Timeliness`].
    Timeliness(Timeliness),
    /// See the lifecycle requests: the new version written.
    Lifecycle {
        /// The record written (the objection, or the new version of the target).
        key: RecordKey,
        /// Its version.
        version: u64,
        /// What happened, in words.
        what: String,
    },
    /// See [`AdminRequest::AuditVerify`].
    AuditChecked(AuditCheck),
    /// See [`AdminRequest::AuditList`].
    AuditEntries(Vec<AuditEntry>),
    /// A chunk was stored.
    ChunkStored,
    /// See [`AdminRequest::ImportEnd`]: the import summary, as JSON.
    Imported(String),
    /// See [`AdminRequest::ListEntries`] and [`AdminRequest::ListShow`].
    ListEntries(Vec<ListEntryView>),
    /// The request failed.
    Error(String),
    /// See [`AdminRequest::ExportPlan`].
    ExportPlanned(Plan),
    /// See [`AdminRequest::ExportPage`].
    ExportRows(Page),
    /// See [`AdminRequest::Accounts`].
    Accounts(Box<credithub_protocol::accounts::SubtreeAccounts>),
}

/// The origin's decision on an objection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// The record stands as it is.
    Confirm,
    /// The record is corrected: its content (or list reason) becomes this text.
    Correct(String),
    /// The record is deleted (a tombstone).
    Delete,
}

/// With whom [`AdminRequest::Reconcile`] reconciles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReconcileTarget {
    /// This node with its parent.
    Parent,
    /// One child (by name) with this node.
    Child(String),
    /// Every connected child with this node.
    Children,
}

/// One reconciliation round with one peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerRound {
    /// The peer's name (or address).
    pub peer: String,
    /// What the round did (for a child: versions moved), or why it failed.
    pub result: Result<SessionStats, String>,
}

/// The differences between a node and its parent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DiffReport {
    /// The parent's name.
    pub parent: String,
    /// Record versions the parent holds newer or alone.
    pub parent_newer: u64,
    /// Record versions this node holds newer or alone.
    pub node_newer: u64,
    /// Records at equal versions with different content.
    pub conflicts: u64,
    /// Subtrees only the parent holds anything of, with how many records this node
    /// would receive (as counted by the parent's side when known, else 0).
    pub parent_only_subtrees: u64,
    /// Subtrees only this node holds anything of, with its record count there.
    pub node_only_subtrees: u64,
    /// Records below the subtrees only this node holds.
    pub node_only_records: u64,
    /// The first differences: (where, key or id, which side is newer).
    pub listed: Vec<DiffEntry>,
    /// Reconciliation messages and bytes it took.
    pub messages: u32,
    /// Bytes both ways.
    pub bytes: u64,
}

/// One listed difference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiffEntry {
    /// `parent`, `node`, `conflict`, `parent-only subtree` or `node-only subtree`.
    pub side: String,
    /// The partition.
    pub partition: String,
    /// The record key (`ORIGIN:KIND:ID`), or the id or subtree where the key is not
    /// known here.
    pub what: String,
}

/// Figures of a node's store.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatsReport {
    /// The jurisdiction.
    pub jurisdiction: DivisionCode,
    /// Live records.
    pub live: u64,
    /// Tombstones.
    pub tombstones: u64,
    /// Fingerprint of everything held.
    pub store_root: String,
    /// Each partition: its name, record versions and root fingerprint.
    pub partitions: Vec<(PartitionId, i64, String)>,
    /// RocksDB figures (bytes of SST files, of memtables, …).
    pub storage: BTreeMap<String, u64>,
}

impl StatsReport {
    /// Whether RocksDB is flushing or compacting, or has compaction work pending.
    pub fn busy_in_background(&self) -> bool {
        use crate::store::{PENDING_COMPACTION_BYTES, RUNNING_COMPACTIONS, RUNNING_FLUSHES};
        [
            PENDING_COMPACTION_BYTES,
            RUNNING_COMPACTIONS,
            RUNNING_FLUSHES,
        ]
        .iter()
        .any(|name| self.storage.get(*name).is_some_and(|&v| v > 0))
    }
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

/// A node's state, for admins.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Its figures and its children as it knows them (what it reports to its parent).
    pub report: NodeReport,
    /// The link to the parent in detail, if the node has one.
    pub parent: Option<LinkStatus>,
    /// Records refused from peers since start, by reason.
    pub refused: BTreeMap<String, u64>,
    /// Connections refused since start (certificate role or jurisdiction, handshakes,
    /// limits).
    pub refused_connections: u64,
    /// The same, by reason.
    #[serde(default)]
    pub refused_connections_by: BTreeMap<String, u64>,
    /// Sync sessions failed since start, by reason (`stalled`, `oversized-message`,
    /// `protocol-violation`, …).
    #[serde(default)]
    pub session_failures: BTreeMap<String, u64>,
    /// Admin and read requests refused since start, by reason.
    #[serde(default)]
    pub refused_requests: BTreeMap<String, u64>,
    /// `starting`, `ready` or `draining`.
    pub health: String,
    /// Sync sessions running now.
    pub sessions: usize,
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
