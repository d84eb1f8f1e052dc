//! Why a session stopped: the peer broke the protocol, the peer declined, or this
//! node failed. Metrics, logs and QUIC close codes are taken from these types, never
//! from their text.

use crate::link::{DeclineCode, FrameError};
use crate::sync::MessageError;

/// How a peer broke the session protocol. Every variant is the peer's fault: a
/// correct peer never causes one, whatever the network does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// A frame arrived where the protocol does not allow it.
    #[error("unexpected {got} frame {during}")]
    UnexpectedFrame {
        /// The frame's name.
        got: &'static str,
        /// Where the session was (`during the reconciliation`, `after done`, …).
        during: &'static str,
    },
    /// The peer closed its side of the stream before it was done.
    #[error("the peer closed the stream {during}")]
    EndedEarly {
        /// Where the session was.
        during: &'static str,
    },
    /// The peer's closing count differs from the records that arrived.
    #[error("the peer says it sent {said} records, {arrived} arrived")]
    CountMismatch {
        /// The count in the peer's [`Frame::Done`](crate::link::Frame::Done).
        said: u64,
        /// Records that arrived.
        arrived: u64,
    },
    /// The peer asked for more records than a session queues.
    #[error("the peer asked for more than {limit} records and subtrees at once")]
    TooManyWants {
        /// The bound.
        limit: usize,
    },
    /// The peer's reconciliation messages broke that protocol.
    #[error("reconciliation: {0}")]
    Reconciliation(String),
    /// The peer speaks another reconciliation protocol version.
    #[error("the peer speaks reconciliation protocol {0}, which this node does not")]
    ReconciliationVersion(u16),
    /// A frame or message that does not decode, or is too large.
    #[error("{0}")]
    Frame(#[from] FrameError),
    /// A reconciliation message that does not decode.
    #[error("{0}")]
    Message(#[from] MessageError),
    /// The session was opened at another version than the connection negotiated.
    #[error("the session opened at link version {opened}, the connection negotiated {negotiated}")]
    VersionMismatch {
        /// The version the peer's opening names.
        opened: u16,
        /// The version the connection negotiated.
        negotiated: u16,
    },
    /// A frame newer than the negotiated link version.
    #[error("a {frame} frame, which link version {version} does not have")]
    FrameTooNew {
        /// The frame's name.
        frame: &'static str,
        /// The negotiated version.
        version: u16,
    },
}

impl PeerError {
    /// A short label for metrics and status (`protocol-violation`, `count-mismatch`,
    /// `malformed-message`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            PeerError::UnexpectedFrame { .. } | PeerError::FrameTooNew { .. } => {
                "protocol-violation"
            }
            PeerError::EndedEarly { .. } => "ended-early",
            PeerError::CountMismatch { .. } => "count-mismatch",
            PeerError::TooManyWants { .. } => "too-many-wants",
            PeerError::Reconciliation(_) | PeerError::ReconciliationVersion(_) => {
                "reconciliation-violation"
            }
            PeerError::Frame(FrameError::TooLarge { .. })
            | PeerError::Message(MessageError::TooLarge { .. }) => "oversized-message",
            PeerError::Frame(_) | PeerError::Message(_) => "malformed-message",
            PeerError::VersionMismatch { .. } => "version-mismatch",
        }
    }

    /// The QUIC application close code a node closes the connection with when its
    /// peer broke the protocol this way (see [`close_code`]).
    pub fn close_code(&self) -> u32 {
        match self {
            PeerError::Frame(FrameError::TooLarge { .. })
            | PeerError::Message(MessageError::TooLarge { .. }) => close_code::OVERSIZED,
            PeerError::Frame(_) | PeerError::Message(_) => close_code::MALFORMED,
            PeerError::VersionMismatch { .. } | PeerError::ReconciliationVersion(_) => {
                close_code::VERSION
            }
            _ => close_code::PROTOCOL,
        }
    }
}

/// QUIC application close codes of credithub connections.
pub mod close_code {
    /// A normal close (the work is done, or the node shuts down).
    pub const NORMAL: u32 = 0;
    /// The peer is not the node expected (a child's parent presented another
    /// jurisdiction).
    pub const WRONG_PEER: u32 = 1;
    /// The peer's certificate carries no credithub identity.
    pub const NO_IDENTITY: u32 = 2;
    /// A node certificate that is not a direct child of this node.
    pub const NOT_A_CHILD: u32 = 3;
    /// An admin certificate whose jurisdiction does not cover this node.
    pub const ADMIN_OUTSIDE_JURISDICTION: u32 = 4;
    /// A reader certificate whose jurisdiction does not cover this node.
    pub const READER_OUTSIDE_JURISDICTION: u32 = 5;
    /// The peer's certificate was revoked.
    pub const REVOKED: u32 = 6;
    /// The certificate holds too many connections already.
    pub const TOO_MANY_CONNECTIONS: u32 = 7;
    /// The peer broke the session protocol.
    pub const PROTOCOL: u32 = 0x10;
    /// The peer sent a frame or message that does not decode.
    pub const MALFORMED: u32 = 0x11;
    /// The peer sent a frame larger than the limit.
    pub const OVERSIZED: u32 = 0x12;
    /// The peer's versions do not match what was negotiated.
    pub const VERSION: u32 = 0x13;
}

/// Why a session stopped.
#[derive(Debug, thiserror::Error)]
pub enum SessionError<E: std::error::Error + 'static> {
    /// The peer broke the protocol.
    #[error("peer broke the protocol: {0}")]
    Peer(#[from] PeerError),
    /// The peer declined the session, with a typed reason from link version 2 on.
    #[error("peer declined{}: {reason}", code.map(|c| format!(" ({c})")).unwrap_or_default())]
    Declined {
        /// The reason's code (`None` from a version-1 peer).
        code: Option<DeclineCode>,
        /// The peer's text.
        reason: String,
    },
    /// This node's store failed.
    #[error("store: {0}")]
    Local(#[source] E),
}

impl<E: std::error::Error + 'static> SessionError<E> {
    /// A short label for metrics and status.
    pub fn kind(&self) -> &'static str {
        match self {
            SessionError::Peer(p) => p.kind(),
            SessionError::Declined { .. } => "refused-by-peer",
            SessionError::Local(_) => "store",
        }
    }
}
