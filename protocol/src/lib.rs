//! # credithub-protocol
//!
//! The shared language of credithub nodes, with no I/O of its own:
//!
//! - [`ids`]: identifier validation (USCC, resident identity numbers, organisation
//!   codes, registration numbers, GB/T 2260 division codes) and subjects;
//! - [`record`]: the record model (keys, kinds, versions, bodies, tombstones);
//! - [`codec`]: the canonical encoding and content digest of a record version;
//! - [`digest`]: the partitioned, order-independent digest (Merkle) index's cells and
//!   trie paths, shared by the store and the reconciliation;
//! - [`date`]: calendar dates as source files write them;
//! - [`calendar`]: working days in mainland China (public holidays and the weekend
//!   days worked in exchange), for the 7-working-day publication rule;
//! - [`sync`]: the sans-IO reconciliation of two digest indexes;
//! - [`link`]: the frames of a parent–child link, their versions, and what may cross;
//! - [`session`]: one session on a link, sans-IO: the protocol of a sync, a diff and
//!   a fresh query, driven by the node's QUIC shell and by the simulation alike;
//! - [`report`]: what a node tells its parent about itself and its children;
//! - [`accounts`]: accounts per reporting unit, the catalogue of matters and the
//!   monthly report card;
//! - [`review`]: the review of list entries before publication;
//! - [`names`]: subject names as the name index sees them.
//!
//! The deterministic simulation of a whole federation (`sim`, built for tests only)
//! drives the same [`session::Session`] over a seeded faulty network.

pub mod accounts;
pub mod calendar;
pub mod codec;
pub mod date;
pub mod digest;
pub mod ids;
pub mod lifecycle;
pub mod link;
pub mod names;
pub mod record;
pub mod report;
pub mod review;
pub mod session;
#[cfg(test)]
mod sim;
pub mod sync;
#[doc(hidden)]
pub mod testing;

pub use calendar::WorkCalendar;
pub use codec::{EncodedRecord, RecordHeader};
pub use date::Date;
pub use digest::{Cell, Digest, DigestItem, NodePath, PartitionId, Scope};
pub use ids::{DivisionCode, IdError, Subject, SubjectId, SubjectKind, Uscc};
pub use record::{Record, RecordBody, RecordKey, RecordKind, Version};
