//! What a session asks of the node it runs on: its digest index (for the
//! reconciliation), its records (to send them) and a way to store what arrives.

use crate::codec::EncodedRecord;
use crate::digest::{NodePath, PartitionId};
use crate::record::{RecordId, RecordKey, Version};
use crate::sync::DigestView;

/// What became of one received record version that the store was asked to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Stored: it was new, or newer than the version held.
    Applied,
    /// The same version with the same digest was already held.
    Unchanged,
    /// Refused: a newer version is held (versions never regress).
    Stale {
        /// The version held.
        held: Version,
    },
    /// Refused: the same version is held with other content.
    Conflict,
    /// Refused: the bytes do not decode, their digest does not match their content, or
    /// the key does not match the record's natural key.
    Invalid(String),
}

/// A node's records as a session reads and writes them: the store of a real node, the
/// in-memory node of the simulation.
///
/// Reads see the node live (a local write between two frames is seen by the next);
/// [`RecordSource::apply`] stores a whole frame's accepted records at once.
pub trait RecordSource: DigestView {
    /// The key of the record a partition's member id names, if held. In an origin
    /// partition the key follows from the partition; in a subjects partition it is
    /// looked up.
    fn member_key(&self, p: &PartitionId, id: &RecordId) -> Result<Option<RecordKey>, Self::Error>;

    /// Up to `limit` keys of the members below `path`, in id order, after `after`.
    fn member_page(
        &self,
        p: &PartitionId,
        path: NodePath,
        after: Option<&RecordId>,
        limit: usize,
    ) -> Result<Vec<RecordKey>, Self::Error>;

    /// The encoded version held of a record, if any.
    fn get_encoded(&self, key: &RecordKey) -> Result<Option<EncodedRecord>, Self::Error>;

    /// Stores received versions (already checked against the link's scope) in one
    /// atomic write, checking each one's content (digest, natural key) and version
    /// order; one receipt per record, in order.
    fn apply(&self, records: Vec<EncodedRecord>) -> Result<Vec<Receipt>, Self::Error>;
}
