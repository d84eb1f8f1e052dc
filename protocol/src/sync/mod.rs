//! Reconciliation of two nodes' digest indexes, as a sans-IO state machine.
//!
//! [`Reconciler`] holds no socket, no disk and no clock: it reads a [`DigestView`]
//! and turns the peer's [`Message`]s into replies, ending with an [`Outcome`] (what to
//! send, what to fetch). A node drives it over QUIC; tests and simulations drive two
//! of them over in-memory [`MemIndex`]es, deterministically.

pub mod machine;
pub mod message;
pub mod sketch;
pub mod view;

pub use machine::{Limits, Outcome, Reconciler, SyncError};
pub use message::{
    Message, MessageError, Part, PartitionRoot, WireCell, WireItem, PROTOCOL_VERSION,
};
pub use view::{DigestView, MemIndex};

#[cfg(test)]
mod tests;
