//! Links between nodes: QUIC connections with mutual TLS, and the sync sessions that
//! run over them.
//!
//! - [`quic`]: endpoints built from the certs directory; the peer's identity is read
//!   from its certificate once the handshake is done.
//! - [`frame`]: length-prefixed frames on a stream.
//! - [`session`]: one sync session (reconcile, then transfer), the I/O shell of
//!   [`credithub_protocol::sync::Reconciler`].
//! - [`open`]: the session's opening, on the child's and on the parent's side;
//! - `transfer`: the session's transfer phase (wants, then record frames both ways);
//! - [`stall`]: streams that give up on a peer that stops reading or sending.

pub mod frame;
pub mod open;
pub mod quic;
pub mod session;
pub mod stall;
mod transfer;

use credithub_protocol::link::FrameError;
use credithub_protocol::sync::SyncError;

use crate::certs::{CertError, IdentityError};
use crate::store::StoreError;

/// Why a link or a session failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Reading or writing the stream failed (the connection broke, or was closed).
    #[error("stream: {0}")]
    Io(#[from] std::io::Error),
    /// A frame could not be read.
    #[error("{0}")]
    Frame(#[from] FrameError),
    /// A value could not be encoded.
    #[error("encoding a frame: {0}")]
    Encode(String),
    /// The QUIC connection failed or was refused.
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// The connection could not be started.
    #[error("connecting: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// The peer broke the protocol.
    #[error("peer broke the protocol: {0}")]
    Protocol(String),
    /// The peer refused the session.
    #[error("peer refused: {0}")]
    Refused(String),
    /// The peer's certificate does not say who it is.
    #[error("peer certificate: {0}")]
    Identity(#[from] IdentityError),
    /// The certificates directory is unusable.
    #[error("{0}")]
    Cert(#[from] CertError),
    /// The local store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The reconciliation failed.
    #[error("reconciliation: {0}")]
    Sync(String),
    /// A wait took too long.
    #[error("timed out after {0} s {1}")]
    Timeout(u64, &'static str),
}

impl LinkError {
    /// What went wrong, as a short label for metrics and status
    /// (`stalled`, `oversized-message`, `protocol-violation`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            LinkError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => "stalled",
            LinkError::Io(_) | LinkError::Connection(_) | LinkError::Connect(_) => "connection",
            LinkError::Frame(FrameError::TooLarge { .. }) => "oversized-message",
            LinkError::Frame(FrameError::Malformed(_)) => "malformed-message",
            LinkError::Encode(_) => "encoding",
            LinkError::Protocol(_) => "protocol-violation",
            LinkError::Refused(_) => "refused-by-peer",
            LinkError::Identity(_) | LinkError::Cert(_) => "certificate",
            LinkError::Store(_) => "store",
            LinkError::Sync(_) => "reconciliation",
            LinkError::Timeout(..) => "timeout",
        }
    }
}

impl From<SyncError<StoreError>> for LinkError {
    fn from(e: SyncError<StoreError>) -> Self {
        match e {
            SyncError::View(s) => LinkError::Store(s),
            other => LinkError::Sync(other.to_string()),
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
