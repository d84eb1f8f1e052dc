//! What crosses one parent–child link, and what may: the link's frames and its scope.
//!
//! A child opens a session on a stream to its parent with [`Frame::Open`], naming the
//! record kinds it subscribes to; the parent answers [`Frame::Accepted`] (or
//! [`Frame::Refused`]). The two then reconcile ([`Frame::Sync`] carries the
//! [`crate::sync`] messages), exchange what each wants ([`Frame::Want`]), and stream
//! record versions in bounded batches ([`Frame::Records`]) until each side says
//! [`Frame::Done`].
//!
//! [`LinkScope`] decides, from the child's certified jurisdiction and its
//! subscriptions, which partitions the two sides compare and which records may cross
//! in each direction. Both sides compute it the same way; each checks every record it
//! receives against it, whatever the sender claims.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::accounts::SubtreeAccounts;
use crate::digest::{NodePath, PartitionId, Scope};
use crate::ids::DivisionCode;
use crate::record::{RecordId, RecordKey, RecordKind};
use crate::report::NodeReport;
use crate::sync::Message;

/// The newest link protocol version this build speaks.
///
/// Versions are negotiated once per connection, in the TLS handshake: each node
/// offers the ALPN names ([`alpn`]) of every version from [`MIN_LINK_VERSION`] to the
/// newest it is configured to speak, newest first, and the accepting node picks the
/// newest both speak. Each session's [`Frame::Open`] then names the negotiated
/// version, and neither side sends a frame, a record kind or a field that version
/// does not know. Two adjacent versions always interoperate, so a federation upgrades
/// one node at a time.
///
/// - **1**: the first link protocol; refusals are text only ([`Frame::Refused`]).
/// - **2**: refusals carry a typed reason ([`Frame::Declined`]), so that the refused
///   side decides by the reason (retry soon, back off, give up) and not by its text.
/// - **3**: records of form 2 ([`codec`](crate::codec)): tax numbers and natural
///   persons' identity documents as identifiers, list entries with their review trail
///   and the `Removed` status, code mappings (kind 7). On a link of an older version
///   such records are held back by the sender (counted, and sent once both ends speak
///   version 3) and refused by the receiver.
/// - **4**: accounts per reporting unit ([`Frame::Accounts`]): right after its
///   [`Frame::Open`] a child sends the accounts of its subtree, so that a hub reports
///   on every unit below it without reading their data again. On a version-3 link
///   the child sends none and the parent keeps what it last had.
pub const LINK_VERSION: u16 = 4;

/// The oldest link protocol version this build still speaks.
pub const MIN_LINK_VERSION: u16 = 1;

/// The ALPN protocol name of a link protocol version (`credithub/2`).
pub fn alpn(version: u16) -> Vec<u8> {
    format!("credithub/{version}").into_bytes()
}

/// The link protocol version an ALPN protocol name stands for, if it is one of ours.
pub fn version_of_alpn(name: &[u8]) -> Option<u16> {
    std::str::from_utf8(name)
        .ok()?
        .strip_prefix("credithub/")?
        .parse()
        .ok()
}

/// The ALPN names a node offers when it speaks versions `MIN_LINK_VERSION..=max`:
/// newest first, so that the accepting side, which picks by its own order, chooses
/// the newest version both speak.
pub fn alpn_offer(max: u16) -> Vec<Vec<u8>> {
    (MIN_LINK_VERSION..=max.clamp(MIN_LINK_VERSION, LINK_VERSION))
        .rev()
        .map(alpn)
        .collect()
}

/// The largest frame a node accepts, in bytes.
pub const MAX_FRAME: usize = 8 << 20;

/// Record versions per [`Frame::Records`] at most.
pub const MAX_RECORDS_PER_FRAME: usize = 1024;

/// Entries per [`Frame::Want`] at most.
pub const MAX_WANTS_PER_FRAME: usize = 8192;

/// One record version on the wire: its key and its encoded bytes (format, version,
/// digest, body; see [`crate::codec`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRecord {
    /// The record key.
    pub key: RecordKey,
    /// The encoded version.
    pub bytes: Vec<u8>,
}

/// A frame of a sync session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// Child → parent: open a session.
    Open {
        /// The sender's [`LINK_VERSION`].
        version: u16,
        /// The record kinds the child takes from above, whatever their origin.
        subscriptions: Vec<RecordKind>,
        /// What the session is for.
        mode: SessionMode,
        /// The child's state (and its children's), for the parent's status tree.
        report: Box<NodeReport>,
    },
    /// Parent → child: the session is open.
    Accepted {
        /// The parent's jurisdiction.
        jurisdiction: DivisionCode,
    },
    /// Either side: the session cannot go on, and why (link version 1; from version 2
    /// on, [`Frame::Declined`] is sent instead).
    Refused {
        /// A human-readable reason.
        reason: String,
    },
    /// A reconciliation message.
    Sync(Message),
    /// Records the sender wants from the receiver.
    Want {
        /// Single records, by partition and id.
        items: Vec<(PartitionId, RecordId)>,
        /// Whole subtrees.
        ranges: Vec<(PartitionId, NodePath)>,
    },
    /// The sender wants nothing more.
    WantDone,
    /// Record versions.
    Records(Vec<WireRecord>),
    /// Parent → child, in a diff session: the parent's side of the outcome.
    Diff(Box<DiffOutcome>),
    /// Parent → child, on a stream the parent opens: reconcile with me now; the child
    /// answers [`Frame::Done`] once its round is over (`records` = versions moved).
    SyncNow,
    /// Parent → child, on a stream the parent opens: send me what you hold about this
    /// subject from your jurisdiction, now (a `--fresh` query). The child answers with
    /// [`Frame::Records`] and [`Frame::Done`].
    SubjectQuery {
        /// The subject's identifier.
        subject: String,
    },
    /// The sender has sent everything; `records` is how many versions in all.
    Done {
        /// Record versions sent in this session.
        records: u64,
    },
    /// Either side, from link version 2: the session or request cannot go on, with a
    /// typed reason and a human-readable text.
    Declined {
        /// Why, as the refused side decides by it.
        code: DeclineCode,
        /// A human-readable reason.
        reason: String,
    },
    /// Child → parent, from link version 4, right after [`Frame::Open`]: the accounts
    /// per reporting unit of the child and of every node below it.
    Accounts(Box<SubtreeAccounts>),
}

/// Why a node declined a session or a request (link version 2 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeclineCode {
    /// The node is busy (too many sessions with this peer): try again soon.
    Busy,
    /// The node is draining for maintenance: try again later, perhaps elsewhere.
    Draining,
    /// The peer's certificate may not do this (wrong role, not a direct child).
    NotPermitted,
    /// The request itself is wrong (an unknown version, too many subscriptions, a
    /// malformed subject, a frame out of place).
    BadRequest,
    /// The node failed on its side (its store, its scheduler).
    Failed,
}

impl DeclineCode {
    /// The code's name in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineCode::Busy => "busy",
            DeclineCode::Draining => "draining",
            DeclineCode::NotPermitted => "not-permitted",
            DeclineCode::BadRequest => "bad-request",
            DeclineCode::Failed => "failed",
        }
    }

    /// Whether the same request may succeed if tried again later unchanged.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            DeclineCode::Busy | DeclineCode::Draining | DeclineCode::Failed
        )
    }
}

impl fmt::Display for DeclineCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a session does after reconciling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionMode {
    /// Move the missing and newer record versions both ways.
    Sync,
    /// Move nothing: the parent sends its side of the outcome ([`Frame::Diff`]) so
    /// that the child can list every difference.
    Diff,
}

/// The parent's side of a reconciliation's outcome, in a [`SessionMode::Diff`] session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffOutcome {
    /// Records the parent holds newer or alone.
    pub parent_newer: Vec<(PartitionId, RecordId)>,
    /// Records the child holds newer or alone.
    pub child_newer: Vec<(PartitionId, RecordId)>,
    /// Subtrees only the parent holds anything of.
    pub parent_only: Vec<(PartitionId, NodePath)>,
    /// Subtrees only the child holds anything of.
    pub child_only: Vec<(PartitionId, NodePath)>,
    /// Records held at the same version with different content.
    pub conflicts: Vec<(PartitionId, RecordId)>,
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Larger than [`MAX_FRAME`].
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The announced size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a frame.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// A value could not be encoded as a frame.
    #[error("encoding a frame: {0}")]
    Encode(String),
}

impl Frame {
    /// The frame's bytes, without the length prefix.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        postcard::to_stdvec(self).map_err(|e| FrameError::Encode(e.to_string()))
    }

    /// The frame that refuses a session or request at link version `version`: typed
    /// from version 2 on, text only before.
    pub fn decline(version: u16, code: DeclineCode, reason: impl Into<String>) -> Frame {
        let reason = reason.into();
        if version >= 2 {
            Frame::Declined { code, reason }
        } else {
            Frame::Refused { reason }
        }
    }

    /// The oldest link version that knows this frame.
    pub fn since_version(&self) -> u16 {
        match self {
            Frame::Declined { .. } => 2,
            Frame::Accounts(_) => 4,
            _ => 1,
        }
    }

    /// Reads a frame's bytes (without the length prefix).
    pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
        if bytes.len() > MAX_FRAME {
            return Err(FrameError::TooLarge {
                size: bytes.len(),
                limit: MAX_FRAME,
            });
        }
        postcard::from_bytes(bytes).map_err(|e| FrameError::Malformed(e.to_string()))
    }

    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Frame::Open { .. } => "open",
            Frame::Accepted { .. } => "accepted",
            Frame::Refused { .. } => "refused",
            Frame::Sync(_) => "sync",
            Frame::Want { .. } => "want",
            Frame::WantDone => "want-done",
            Frame::Records(_) => "records",
            Frame::Diff(_) => "diff",
            Frame::SyncNow => "sync-now",
            Frame::SubjectQuery { .. } => "subject-query",
            Frame::Done { .. } => "done",
            Frame::Declined { .. } => "declined",
            Frame::Accounts(_) => "accounts",
        }
    }
}

/// Why a record that arrived over a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Refusal {
    /// A child sent a record whose origin lies outside its jurisdiction.
    OutsideJurisdiction,
    /// A parent sent a record the child neither subscribes to nor is concerned by.
    NotSubscribed,
    /// A parent sent a record of the child's own origin (only the origin writes it).
    OwnOrigin,
    /// The receiver holds a newer version (versions never regress).
    Stale,
    /// The receiver holds the same version with other content.
    Conflict,
    /// The bytes do not decode, their digest does not match their content, or the key
    /// does not match the content.
    Invalid,
}

impl Refusal {
    /// Every reason, in order.
    pub const ALL: [Refusal; 6] = [
        Refusal::OutsideJurisdiction,
        Refusal::NotSubscribed,
        Refusal::OwnOrigin,
        Refusal::Stale,
        Refusal::Conflict,
        Refusal::Invalid,
    ];

    /// The reason's name in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::OutsideJurisdiction => "outside-jurisdiction",
            Refusal::NotSubscribed => "not-subscribed",
            Refusal::OwnOrigin => "own-origin",
            Refusal::Stale => "stale",
            Refusal::Conflict => "conflict",
            Refusal::Invalid => "invalid",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side of a link a node is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The node nearer the national hub.
    Parent,
    /// The node below it.
    Child,
}

/// What flows over the link between a parent and one child.
///
/// - **Up**: every record whose origin lies in the child's jurisdiction.
/// - **Down**: records of the kinds the child subscribes to, and records about subjects
///   registered in the child's jurisdiction, whoever issued them — but never records
///   of the child's own origins, which only the child writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkScope {
    child: DivisionCode,
    subscriptions: BTreeSet<RecordKind>,
}

impl LinkScope {
    /// The scope of a link to a child of jurisdiction `child` (taken from its
    /// certificate) subscribing to `subscriptions`. Objections are always subscribed:
    /// every node must see them, wherever the disputed record is held.
    pub fn new(child: DivisionCode, subscriptions: impl IntoIterator<Item = RecordKind>) -> Self {
        let mut subscriptions: BTreeSet<RecordKind> = subscriptions.into_iter().collect();
        subscriptions.insert(RecordKind::OBJECTION);
        LinkScope {
            child,
            subscriptions,
        }
    }

    /// The child's jurisdiction.
    pub fn child(&self) -> DivisionCode {
        self.child
    }

    /// The kinds the child subscribes to.
    pub fn subscriptions(&self) -> impl Iterator<Item = RecordKind> + '_ {
        self.subscriptions.iter().copied()
    }

    /// Whether the two sides compare this partition: the child's own origins, the
    /// subscribed kinds, and the subjects partitions of the child's jurisdiction.
    pub fn covers(&self, p: &PartitionId) -> bool {
        match p.scope {
            Scope::Origin(origin) => {
                self.child.contains(origin) || self.subscriptions.contains(&p.kind)
            }
            Scope::Subjects(region) => self.child.contains(region),
        }
    }

    /// Whether the child, once caught up, holds this record: what it issued, what it
    /// subscribes to, and what is about its subjects.
    pub fn holds(&self, key: &RecordKey) -> bool {
        self.child.contains(key.origin) || self.down(key).is_ok()
    }

    /// Whether a record may travel up, from the child to the parent.
    pub fn up(&self, key: &RecordKey) -> Result<(), Refusal> {
        if self.child.contains(key.origin) {
            Ok(())
        } else {
            Err(Refusal::OutsideJurisdiction)
        }
    }

    /// Whether a record may travel down, from the parent to the child.
    pub fn down(&self, key: &RecordKey) -> Result<(), Refusal> {
        if self.child.contains(key.origin) {
            return Err(Refusal::OwnOrigin);
        }
        let about_child = key.subject_region().is_some_and(|r| self.child.contains(r));
        if about_child || self.subscriptions.contains(&key.kind) {
            Ok(())
        } else {
            Err(Refusal::NotSubscribed)
        }
    }

    /// Whether a record may travel from `from` to the other side.
    pub fn allows(&self, from: Side, key: &RecordKey) -> Result<(), Refusal> {
        match from {
            Side::Child => self.up(key),
            Side::Parent => self.down(key),
        }
    }

    /// Whether a member of partition `p` reaches the peer through another partition
    /// this link compares: a subjects partition's record whose origin partition is
    /// covered too. Senders skip such members in `p`, so that no record crosses twice.
    pub fn travels_elsewhere(&self, p: &PartitionId, key: &RecordKey) -> bool {
        matches!(p.scope, Scope::Subjects(_)) && self.covers(&key.partition())
    }

    /// Whether anything of this partition may travel from `from` (used to skip whole
    /// subtrees; each record is still checked).
    pub fn may_flow(&self, from: Side, p: &PartitionId) -> bool {
        match (from, p.scope) {
            (Side::Child, Scope::Origin(o)) => self.child.contains(o),
            // A child's subjects partitions may hold records issued inside a province
            // child, in another prefecture than their subject's.
            (Side::Child, Scope::Subjects(_)) => {
                self.child.level() == crate::ids::DivisionLevel::Province
            }
            (Side::Parent, Scope::Origin(o)) => !self.child.contains(o),
            (Side::Parent, Scope::Subjects(_)) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::body_about;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).expect("code")
    }

    #[test]
    fn frames_round_trip_and_oversized_ones_are_refused() {
        let f = Frame::Open {
            version: LINK_VERSION,
            subscriptions: vec![RecordKind::BLACK_LIST],
            mode: SessionMode::Sync,
            report: Box::default(),
        };
        assert_eq!(Frame::decode(&f.encode().expect("encodes")), Ok(f));
        assert!(matches!(
            Frame::decode(&vec![0u8; MAX_FRAME + 1]),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(matches!(
            Frame::decode(&[200, 1, 2]),
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn up_flow_is_the_childs_own_origins() {
        let scope = LinkScope::new(code("320500"), []);
        let ours = RecordKey::derive(
            code("320583"),
            RecordKind::PENALTY,
            &body_about(1, "320583"),
        );
        let theirs = RecordKey::derive(
            code("320100"),
            RecordKind::PENALTY,
            &body_about(1, "320583"),
        );
        assert_eq!(scope.up(&ours), Ok(()));
        assert_eq!(scope.up(&theirs), Err(Refusal::OutsideJurisdiction));
    }

    #[test]
    fn down_flow_is_subscriptions_and_records_about_the_childs_subjects() {
        let scope = LinkScope::new(code("320500"), [RecordKind::BLACK_LIST]);
        // Issued in Nanjing about a Suzhou company: down to Suzhou.
        let about = RecordKey::derive(
            code("320100"),
            RecordKind::PENALTY,
            &body_about(1, "320583"),
        );
        assert_eq!(about.subject_region(), Some(code("320500")));
        assert_eq!(
            about.subjects_partition(),
            Some(PartitionId::subjects(code("320500"), RecordKind::PENALTY))
        );
        assert_eq!(scope.down(&about), Ok(()));
        assert!(scope.covers(&about.subjects_partition().expect("about")));
        // Issued in Nanjing about a Nanjing company: not Suzhou's business.
        let local = RecordKey::derive(
            code("320100"),
            RecordKind::PENALTY,
            &body_about(1, "320100"),
        );
        assert_eq!(local.subjects_partition(), None);
        assert_eq!(scope.down(&local), Err(Refusal::NotSubscribed));
        assert!(!scope.covers(&local.partition()));
        // A subscribed kind comes down whoever it is about.
        let listed = RecordKey::derive(
            DivisionCode::NATIONAL,
            RecordKind::BLACK_LIST,
            &body_about(1, "320100"),
        );
        assert_eq!(scope.down(&listed), Ok(()));
        assert!(scope.covers(&listed.partition()));
        // Never the child's own records.
        let own = RecordKey::derive(
            code("320500"),
            RecordKind::BLACK_LIST,
            &body_about(1, "320100"),
        );
        assert_eq!(scope.down(&own), Err(Refusal::OwnOrigin));
        assert!(scope.holds(&own) && scope.holds(&listed) && !scope.holds(&local));
    }
}
