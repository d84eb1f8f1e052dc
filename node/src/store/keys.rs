//! Key layouts of the store's column families.
//!
//! | family    | key                                            | value                    |
//! |-----------|------------------------------------------------|--------------------------|
//! | `records` | origin (u32 BE) ‖ kind (u16 BE) ‖ id (16)      | encoded record version   |
//! | `subjects`| subject index key ‖ record key                 | empty                    |
//! | `digest`  | `R` ‖ partition → root cell; `N` ‖ partition ‖ level ‖ prefix (u64 BE) → node cell; `*` → store-wide cell | cell (merge operator) |
//! | `meta`    | name                                           | value                    |

use credithub_protocol::digest::{NodePath, PartitionId, PARTITION_LEN};
use credithub_protocol::record::KEY_LEN;

/// Column family of record versions.
pub const CF_RECORDS: &str = "records";
/// Column family of the subject index.
pub const CF_SUBJECTS: &str = "subjects";
/// Column family of the digest (Merkle) index.
pub const CF_DIGEST: &str = "digest";
/// Column family of store metadata.
pub const CF_META: &str = "meta";
/// Every column family, in creation order.
pub const ALL_CFS: [&str; 4] = [CF_RECORDS, CF_SUBJECTS, CF_DIGEST, CF_META];

/// The digest key of the store-wide cell (the sum of every partition's root).
pub const STORE_ROOT_KEY: &[u8] = b"*";
const ROOT_TAG: u8 = b'R';
const NODE_TAG: u8 = b'N';

/// Length of a node key: tag, partition, level, prefix.
pub const NODE_KEY_LEN: usize = 1 + PARTITION_LEN + 1 + 8;

/// The digest key of a partition's root cell.
pub fn root_key(p: &PartitionId) -> [u8; 1 + PARTITION_LEN] {
    let mut k = [0u8; 1 + PARTITION_LEN];
    k[0] = ROOT_TAG;
    k[1..].copy_from_slice(&p.to_bytes());
    k
}

/// The prefix shared by every partition root key.
pub fn root_prefix() -> [u8; 1] {
    [ROOT_TAG]
}

/// Reads a partition from a root key.
pub fn partition_of_root_key(k: &[u8]) -> Option<PartitionId> {
    (k.len() == 1 + PARTITION_LEN && k[0] == ROOT_TAG)
        .then(|| PartitionId::from_bytes(&k[1..]))
        .flatten()
}

/// The digest key of a stored trie node (levels above 0; the root has [`root_key`]).
pub fn node_key(p: &PartitionId, path: NodePath) -> [u8; NODE_KEY_LEN] {
    let mut k = [0u8; NODE_KEY_LEN];
    k[0] = NODE_TAG;
    k[1..1 + PARTITION_LEN].copy_from_slice(&p.to_bytes());
    k[1 + PARTITION_LEN] = path.level();
    k[2 + PARTITION_LEN..].copy_from_slice(&path.prefix().to_be_bytes());
    k
}

/// Reads the partition and path of a node key.
pub fn parse_node_key(k: &[u8]) -> Option<(PartitionId, NodePath)> {
    if k.len() != NODE_KEY_LEN || k[0] != NODE_TAG {
        return None;
    }
    let p = PartitionId::from_bytes(&k[1..1 + PARTITION_LEN])?;
    let level = k[1 + PARTITION_LEN];
    let prefix = u64::from_be_bytes(k[2 + PARTITION_LEN..].try_into().ok()?);
    Some((p, NodePath::new(level, prefix)?))
}

/// The first node key of a partition (for scans over all its nodes).
pub fn node_prefix(p: &PartitionId) -> [u8; 1 + PARTITION_LEN] {
    let mut k = [0u8; 1 + PARTITION_LEN];
    k[0] = NODE_TAG;
    k[1..].copy_from_slice(&p.to_bytes());
    k
}

/// The records-family key range `[start, end)` of the records below `path` in `p`.
pub fn record_range(p: &PartitionId, path: NodePath) -> (Vec<u8>, Vec<u8>) {
    let mut start = Vec::with_capacity(KEY_LEN);
    start.extend_from_slice(&p.to_bytes());
    start.extend_from_slice(&path.first_id().0);
    let end = match path.end_id() {
        Some(id) => {
            let mut e = p.to_bytes().to_vec();
            e.extend_from_slice(&id.0);
            e
        }
        None => prefix_end(&p.to_bytes()).unwrap_or_else(|| vec![0xff; KEY_LEN + 1]),
    };
    (start, end)
}

/// The subject-index key of one record about one subject.
pub fn subject_entry(subject_key: &[u8], record_key: &[u8; KEY_LEN]) -> Vec<u8> {
    let mut k = Vec::with_capacity(subject_key.len() + KEY_LEN);
    k.extend_from_slice(subject_key);
    k.extend_from_slice(record_key);
    k
}

/// The smallest key greater than every key starting with `prefix`, if there is one.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use credithub_protocol::{DivisionCode, RecordKind};

    #[test]
    fn node_keys_round_trip_and_sort_by_level_then_prefix() {
        let p = PartitionId {
            origin: DivisionCode::parse("320500").unwrap(),
            kind: RecordKind::PENALTY,
        };
        let a = NodePath::new(2, 0xff).unwrap();
        let b = NodePath::new(4, 0).unwrap();
        assert_eq!(parse_node_key(&node_key(&p, a)), Some((p, a)));
        assert!(node_key(&p, a) < node_key(&p, b));
        assert_eq!(partition_of_root_key(&root_key(&p)), Some(p));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
    }
}
