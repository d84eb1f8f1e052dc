//! The digest index's mathematics: partitions, trie paths and cells.
//!
//! Every record version contributes one [`DigestItem`] (its id, version and content
//! digest) to the partition of its origin and kind. Inside a partition, items are
//! placed in a 16-ary trie by the nibbles of their id (ids are uniform hashes). Each
//! trie node holds a [`Cell`]: the number of items below it and the XOR of their leaf
//! hashes and keys. Cells are *linear*: a node's cell is the sum of its children's, an
//! insert or removal changes every ancestor by the same delta, and the order of writes
//! does not matter. That is what lets the store keep the index current inside each
//! record's atomic write (a merge per stored level, no read), and what lets two nodes
//! compare any subtree in one message.
//!
//! A cell's field sums make a difference of two cells that involves a single record
//! id *decodable* ([`Cell::decode`]): one record more or fewer, or one record at two
//! versions, names itself without descending further. Reconciliation relies on it.
//!
//! The XOR of leaf hashes is a set fingerprint, not a cryptographic commitment: it
//! detects any accidental difference, but a writer able to choose many record
//! contents could craft collisions. Records themselves are authenticated by their
//! digests and their writers' certificates.
//!
//! The code is split by concern, in private submodules whose public items are all
//! re-exported here: `partition` (which records a partition gathers, and its storage
//! form), `trie` (the paths of a partition's trie), `field` (the field GF(2^61 − 1)
//! and id fragments) and `cell` (the cells and their decoding).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::record::{RecordId, Version};

mod cell;
mod field;
mod partition;
mod trie;

pub use cell::{leaf_hash, Cell, Decoded, CELL_LEN};
pub(crate) use field::{fadd, finv, fmul, fneg};
pub use field::{Fragment, FIELD_PRIME};
pub use partition::{PartitionId, Scope, PARTITION_LEN};
pub use trie::{NodePath, FANOUT, FANOUT_BITS, MAX_LEVEL};

/// The content digest of one record version (BLAKE3, see [`crate::codec`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", hex::encode(&self.0[..8]))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// What one record version contributes to the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DigestItem {
    /// The record's id within its partition.
    pub id: RecordId,
    /// The version.
    pub version: Version,
    /// The content digest of that version.
    pub digest: Digest,
}

/// A test item: a uniform id drawn from `seed`, at `version`, with a digest drawn from
/// the version.
#[cfg(test)]
fn test_item(seed: u64, version: u64) -> DigestItem {
    let h = blake3::hash(&seed.to_le_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&h.as_bytes()[..16]);
    DigestItem {
        id: RecordId(id),
        version: Version(version),
        digest: Digest(*blake3::hash(&version.to_le_bytes()).as_bytes()),
    }
}
