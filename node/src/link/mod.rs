//! Links between nodes: QUIC connections with mutual TLS, and the sync sessions that
//! run over them.
//!
//! - [`quic`]: endpoints built from the certs directory; the peer's identity is read
//!   from its certificate once the handshake is done.
//! - [`frame`]: length-prefixed frames on a stream.
//! - [`session`]: the I/O shell that drives the protocol's sans-IO
//!   [`Session`](credithub_protocol::session::Session) over a stream;
//! - [`open`]: the session's opening, on the child's and on the parent's side;
//! - [`stall`]: streams that give up on a peer that stops reading or sending.

pub mod frame;
pub mod open;
pub mod quic;
pub mod session;
pub mod stall;

use credithub_protocol::link::{DeclineCode, FrameError};
use credithub_protocol::session::{PeerError, SessionError};

use crate::certs::{CertError, IdentityError};
use crate::store::StoreError;

/// Why a link or a session failed. [`LinkError::Peer`] and [`LinkError::Declined`]
/// come from the peer; the others are this node's side (its connection, store,
/// certificates, or a request it cannot serve).
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Reading or writing the stream failed (the connection broke, or was closed).
    #[error("stream: {0}")]
    Io(#[from] std::io::Error),
    /// A frame of ours could not be encoded or is too large to send.
    #[error("{0}")]
    Frame(FrameError),
    /// The QUIC connection failed or was refused.
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// The connection could not be started.
    #[error("connecting: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// The peer broke the protocol.
    #[error("peer broke the protocol: {0}")]
    Peer(#[from] PeerError),
    /// The peer declined the session or request (a typed reason from link version 2).
    #[error("peer refused{}: {reason}", code.map(|c| format!(" ({c})")).unwrap_or_default())]
    Declined {
        /// The reason's code, from a peer of link version 2 or later.
        code: Option<DeclineCode>,
        /// The peer's text.
        reason: String,
    },
    /// This node refused the peer's session or request.
    #[error("refused the peer ({code}): {reason}")]
    RefusedPeer {
        /// Why.
        code: DeclineCode,
        /// The text sent to the peer.
        reason: String,
    },
    /// The peer is not the node this one expects (its certificate names another).
    #[error("{0}")]
    WrongPeer(String),
    /// The peer's certificate does not say who it is.
    #[error("peer certificate: {0}")]
    Identity(#[from] IdentityError),
    /// The certificates directory is unusable.
    #[error("{0}")]
    Cert(#[from] CertError),
    /// The local store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A wait took too long.
    #[error("timed out after {0} s {1}")]
    Timeout(u64, &'static str),
    /// What was asked needs something this node does not have now (no parent, no
    /// connection, no session with that child yet).
    #[error("{0}")]
    Unavailable(String),
    /// A request this node cannot serve as given (an address that does not resolve,
    /// a malformed subject).
    #[error("{0}")]
    BadRequest(String),
}

impl LinkError {
    /// What went wrong, as a short label for metrics and status
    /// (`stalled`, `oversized-message`, `protocol-violation`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            LinkError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => "stalled",
            LinkError::Io(_) | LinkError::Connection(_) | LinkError::Connect(_) => "connection",
            LinkError::Frame(_) => "encoding",
            LinkError::Peer(p) => p.kind(),
            LinkError::Declined { .. } => "refused-by-peer",
            LinkError::RefusedPeer { code, .. } => match code {
                DeclineCode::Busy => "refused-busy",
                DeclineCode::Draining => "refused-draining",
                DeclineCode::NotPermitted => "refused-not-permitted",
                DeclineCode::BadRequest => "refused-bad-request",
                DeclineCode::Failed => "refused-failed",
            },
            LinkError::WrongPeer(_) => "wrong-peer",
            LinkError::Identity(_) | LinkError::Cert(_) => "certificate",
            LinkError::Store(_) => "store",
            LinkError::Timeout(..) => "timeout",
            LinkError::Unavailable(_) => "unavailable",
            LinkError::BadRequest(_) => "bad-request",
        }
    }

    /// Whether the peer broke the protocol (its connection is then closed with
    /// [`LinkError::close_code`]).
    pub fn peer_fault(&self) -> Option<&PeerError> {
        match self {
            LinkError::Peer(p) => Some(p),
            _ => None,
        }
    }
}

impl From<SessionError<StoreError>> for LinkError {
    fn from(e: SessionError<StoreError>) -> Self {
        match e {
            SessionError::Peer(p) => LinkError::Peer(p),
            SessionError::Declined { code, reason } => LinkError::Declined { code, reason },
            SessionError::Local(s) => LinkError::Store(s),
        }
    }
}

impl From<quinn::WriteError> for LinkError {
    fn from(e: quinn::WriteError) -> Self {
        LinkError::Io(e.into())
    }
}

impl From<quinn::ClosedStream> for LinkError {
    fn from(e: quinn::ClosedStream) -> Self {
        LinkError::Io(e.into())
    }
}
