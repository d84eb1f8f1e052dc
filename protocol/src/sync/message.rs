//! The messages of a reconciliation, as they cross the wire (postcard-encoded).

use serde::{Deserialize, Serialize};

use crate::digest::{Cell, DigestItem, Fragment, NodePath, PartitionId, FIELD_PRIME};
use crate::record::{RecordId, Version};

/// The reconciliation protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;

/// A cell as compared on the wire: its count and field sums (25-35 bytes). Equal
/// summaries mean equal sets up to a 2^-183 chance; roots also carry the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireCell {
    /// The number of items.
    pub count: i64,
    /// `s1`, `s2`, `s4` as little-endian bytes (fixed width: they are uniform).
    pub sums: [[u8; 8]; 3],
}

impl WireCell {
    /// The summary of a cell.
    pub fn of(cell: &Cell) -> WireCell {
        WireCell {
            count: cell.signed_count(),
            sums: [
                cell.s1.to_le_bytes(),
                cell.s2.to_le_bytes(),
                cell.s4.to_le_bytes(),
            ],
        }
    }

    /// The cell this summary stands for (without its hash), if its sums are field elements.
    pub fn to_cell(&self) -> Option<Cell> {
        let [s1, s2, s4] = self.sums.map(u64::from_le_bytes);
        (s1 < FIELD_PRIME && s2 < FIELD_PRIME && s4 < FIELD_PRIME).then_some(Cell {
            count: self.count as u64,
            s1,
            s2,
            s4,
            hash: [0; 32],
        })
    }
}

/// The summary of a set of partitions: their summed cell and the XOR of their hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootSummary {
    /// The summed cell.
    pub cell: WireCell,
    /// The XOR of the partitions' leaf-hash XORs.
    pub hash: [u8; 32],
}

impl RootSummary {
    /// The summary of a cell, hash included.
    pub fn of(cell: &Cell) -> RootSummary {
        RootSummary {
            cell: WireCell::of(cell),
            hash: cell.hash,
        }
    }
}

/// One partition's root in a [`Part::Roots`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionRoot {
    /// The partition.
    pub partition: PartitionId,
    /// Its root cell.
    pub cell: WireCell,
}

/// An item as listed on the wire: id, version and the first 8 bytes of the digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireItem {
    /// The record id.
    pub id: RecordId,
    /// The version held.
    pub version: Version,
    /// The first 8 bytes of that version's digest.
    pub digest: [u8; 8],
}

impl WireItem {
    /// The wire form of an item.
    pub fn of(item: &DigestItem) -> WireItem {
        let mut digest = [0u8; 8];
        digest.copy_from_slice(&item.digest.0[..8]);
        WireItem {
            id: item.id,
            version: item.version,
            digest,
        }
    }
}

/// One unit of work in a round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Part {
    /// The root cells of the sender's non-empty partitions in scope.
    Roots(Vec<PartitionRoot>),
    /// The sender's cells of the 16 children of a node whose cells differ.
    Children {
        /// The partition.
        partition: PartitionId,
        /// The parent node.
        path: NodePath,
        /// The children's cells, in order.
        cells: Vec<WireCell>,
    },
    /// Every item the sender holds below a small node whose cells differ.
    Items {
        /// The partition.
        partition: PartitionId,
        /// The node.
        path: NodePath,
        /// The items, in id order.
        items: Vec<WireItem>,
    },
    /// For a large partition whose roots differ: salted 32-bit fingerprints of the
    /// sender's cells at level 2 (256), 3 (4 096) or 4 (65 536), from which the peer estimates
    /// the number of differences and sizes a sketch.
    Estimate {
        /// The partition.
        partition: PartitionId,
        /// 2, 3 or 4.
        level: u8,
        /// The fingerprints, in prefix order.
        fingerprints: Vec<[u8; 4]>,
    },
    /// A sketch of the sender's level-4 cells below the listed subtrees (those
    /// whose fingerprints differed) at `level`.
    Sketch {
        /// The partition.
        partition: PartitionId,
        /// The level of the listed subtrees (2, 3 or 4).
        level: u8,
        /// The prefixes sketched.
        subtrees: Vec<u16>,
        /// The symbols.
        symbols: Vec<super::sketch::Symbol>,
    },
    /// The cells of a node differ in a single record, whose id has this fragment; the
    /// sender's items with that fragment (none if it lacks the record).
    Fragment {
        /// The partition.
        partition: PartitionId,
        /// The decoded fragment.
        fragment: Fragment,
        /// The sender's items with it.
        items: Vec<WireItem>,
    },
}

/// A reconciliation message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// The initiator's opening: its protocol version and the summary of everything in scope.
    Hello {
        /// The protocol version.
        version: u16,
        /// A random salt chosen by the initiator for this session's fingerprints and
        /// sketches, so that an unlucky collision does not repeat.
        salt: u64,
        /// The summary of the initiator's partitions in scope.
        summary: RootSummary,
    },
    /// One round of work; an empty round ends the reconciliation.
    Round(Vec<Part>),
}

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// More bytes than the limit.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// The message size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not a message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The message could not be encoded.
    #[error("encoding a message: {0}")]
    Encode(String),
}

impl Message {
    /// The wire form.
    pub fn encode(&self) -> Result<Vec<u8>, MessageError> {
        postcard::to_stdvec(self).map_err(|e| MessageError::Encode(e.to_string()))
    }

    /// Reads the wire form, refusing more than `limit` bytes.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<Message, MessageError> {
        if bytes.len() > limit {
            return Err(MessageError::TooLarge {
                size: bytes.len(),
                limit,
            });
        }
        postcard::from_bytes(bytes).map_err(|e| MessageError::Malformed(e.to_string()))
    }
}
