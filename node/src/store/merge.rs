//! The merge operator of the digest column family.
//!
//! Every digest-index write is a *merge* of a cell delta into a trie node: RocksDB
//! adds the deltas lazily (at read and compaction time), so maintaining the index
//! needs no read before the write, and the deltas of one record live in the same
//! atomic write batch as the record itself.

use credithub_protocol::digest::{Cell, CELL_LEN};
use rocksdb::MergeOperands;

/// The name under which the operator is registered (RocksDB checks it on reopen).
pub const NAME: &str = "credithub.cell-add.v1";

/// Adds the existing cell (if any) and every operand. Returns `None`, which RocksDB
/// reports as a corruption error, if a value is not a cell.
pub fn cell_add(_key: &[u8], existing: Option<&[u8]>, operands: &MergeOperands) -> Option<Vec<u8>> {
    let mut acc = match existing {
        Some(bytes) => Cell::from_bytes(bytes)?,
        None => Cell::EMPTY,
    };
    for op in operands {
        if op.len() != CELL_LEN {
            return None;
        }
        acc.add(&Cell::from_bytes(op)?);
    }
    Some(acc.to_bytes().to_vec())
}
