//! Key layouts of the store's column families.
//!
//! | family    | key                                            | value                    |
//! |-----------|------------------------------------------------|--------------------------|
//! | `records` | origin (u32 BE) ‖ kind (u16 BE) ‖ id (16)      | encoded record version   |
//! | `subjects`| subject index key ‖ record key                 | empty                    |
//! | `digest`  | `R` ‖ partition → root cell; `N` ‖ partition ‖ level ‖ prefix (u64 BE) → node cell; `*` → store-wide cell | cell (merge operator) |
//! | `regional`| subjects partition ‖ id (16)                   | origin (u32 BE) ‖ version (u64 BE) ‖ digest (32) |
//! | `arrivals`| record key                                     | arrival of the current version here (ms, u64 BE) |
//! | `audit`   | sequence number (u64 BE)                       | audit entry (postcard), hash-chained |
//! | `drafts`  | record key                                     | a list entry under review: its encoded version (form 2), never in the digest index |
//! | `names`   | name pair (8) ‖ `O` or `P` ‖ suffix; `0xff` ‖ `O` or `P` ‖ suffix | the normalised name; a marker: record count (u32 BE) ‖ the name (see [`names`](super::names)) |
//! | `changes` | sequence number (u64 BE)                       | record key ‖ version (u64 BE): the change log (see [`feed`](super::feed)) |
//! | `windows` | severity (1) ‖ decision date (4) ‖ record key  | empty: records whose publication window ends (see [`feed`](super::feed)) |
//! | `meta`    | `format`, `jurisdiction`, `store`              | format number (text), jurisdiction (text), [`StoreMeta`](super::StoreMeta) (postcard) |
//!
//! `regional` lists the members of the subjects partitions (records about subjects
//! registered in another prefecture than their origin's, see
//! [`Scope::Subjects`](credithub_protocol::Scope::Subjects)); its keys have the same
//! layout as record keys, so the same range arithmetic serves both families.
//!
//! `meta/store` (from format 3 on) is the store's metadata: format, jurisdiction,
//! creation time and the history of its migrations. The text entries `meta/format`
//! and `meta/jurisdiction` repeat the format and jurisdiction for binaries of format
//! 2, which read only those; `meta/format` is also the first entry an open reads
//! (see [`migrate`](super::migrate) for the formats and their migrations).

use credithub_protocol::digest::{Digest, DigestItem, NodePath, PartitionId, PARTITION_LEN};
use credithub_protocol::record::{RecordId, RecordKey, Version, KEY_LEN};
use credithub_protocol::DivisionCode;

/// Column family of record versions.
pub const CF_RECORDS: &str = "records";
/// Column family of the subject index.
pub const CF_SUBJECTS: &str = "subjects";
/// Column family of the digest (Merkle) index.
pub const CF_DIGEST: &str = "digest";
/// Column family of store metadata.
pub const CF_META: &str = "meta";
/// Column family listing the members of subjects partitions.
pub const CF_REGIONAL: &str = "regional";
/// Column family of when each record's current version arrived here.
pub const CF_ARRIVALS: &str = "arrivals";
/// Column family of the audit log.
pub const CF_AUDIT: &str = "audit";
/// Column family of list entries under review at their origin (never shared).
pub const CF_DRAFTS: &str = "drafts";
/// Column family of the name index.
pub const CF_NAMES: &str = "names";
/// Column family of the change log.
pub const CF_CHANGES: &str = "changes";
/// Column family of the publication-windows index.
pub const CF_WINDOWS: &str = "windows";
/// Rows refused at import, per unit and month (format 7; see [`super::refusals`]).
pub const CF_REFUSALS: &str = "refusals";
/// Every column family, in creation order.
pub const ALL_CFS: [&str; 12] = [
    CF_RECORDS,
    CF_SUBJECTS,
    CF_DIGEST,
    CF_META,
    CF_REGIONAL,
    CF_ARRIVALS,
    CF_AUDIT,
    CF_DRAFTS,
    CF_NAMES,
    CF_CHANGES,
    CF_WINDOWS,
    CF_REFUSALS,
];

/// Length of a partition's storage form (the first bytes of a `regional` key).
pub const PARTITION_BYTES: usize = PARTITION_LEN;

/// Length of a `regional` value: origin, version, digest.
pub const REGIONAL_VALUE_LEN: usize = 4 + 8 + 32;

/// The `regional` key of a record in a subjects partition.
pub fn regional_key(p: &PartitionId, id: &RecordId) -> [u8; KEY_LEN] {
    let mut k = [0u8; KEY_LEN];
    k[..PARTITION_LEN].copy_from_slice(&p.to_bytes());
    k[PARTITION_LEN..].copy_from_slice(&id.0);
    k
}

/// The `regional` value of a record version: its origin and its digest item.
pub fn regional_value(origin: DivisionCode, item: &DigestItem) -> [u8; REGIONAL_VALUE_LEN] {
    let mut v = [0u8; REGIONAL_VALUE_LEN];
    v[..4].copy_from_slice(&origin.as_u32().to_be_bytes());
    v[4..12].copy_from_slice(&item.version.0.to_be_bytes());
    v[12..].copy_from_slice(&item.digest.0);
    v
}

/// Reads a `regional` entry back into the record's key and digest item.
pub fn parse_regional(k: &[u8], v: &[u8]) -> Option<(RecordKey, DigestItem)> {
    if k.len() != KEY_LEN || v.len() != REGIONAL_VALUE_LEN {
        return None;
    }
    let p = PartitionId::from_bytes(&k[..PARTITION_LEN])?;
    let origin = DivisionCode::from_u32(u32::from_be_bytes(v[..4].try_into().ok()?)).ok()?;
    let mut id = [0u8; 16];
    id.copy_from_slice(&k[PARTITION_LEN..]);
    let key = RecordKey {
        origin,
        kind: p.kind,
        id: RecordId(id),
    };
    let item = DigestItem {
        id: RecordId(id),
        version: Version(u64::from_be_bytes(v[4..12].try_into().ok()?)),
        digest: Digest(v[12..].try_into().ok()?),
    };
    Some((key, item))
}

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

/// Length of a name-index prefix: the pair and the audience flag.
pub const NAME_PREFIX_LEN: usize = 9;

/// The audience flag of organisations and individual businesses in the name index.
pub const NAME_ORGANISATION: u8 = b'O';
/// The audience flag of natural persons, whose names the public may not search.
pub const NAME_PERSON: u8 = b'P';

/// The first byte of a name-index marker key. Posting keys start with a pair's first
/// character as a 32-bit number, whose first byte is 0 (characters end at U+10FFFF),
/// so markers sort after every posting.
pub const NAME_MARKER: u8 = 0xff;

/// The name-index prefix of a pair for one audience flag.
pub fn name_prefix(pair: [char; 2], flag: u8) -> [u8; NAME_PREFIX_LEN] {
    let mut k = [0u8; NAME_PREFIX_LEN];
    k[..8].copy_from_slice(&credithub_protocol::names::pair_bytes(pair));
    k[8] = flag;
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
    use credithub_protocol::RecordKind;

    #[test]
    fn node_keys_round_trip_and_sort_by_level_then_prefix() {
        let p = PartitionId::origin(DivisionCode::parse("320500").unwrap(), RecordKind::PENALTY);
        let a = NodePath::new(2, 0xff).unwrap();
        let b = NodePath::new(4, 0).unwrap();
        assert_eq!(parse_node_key(&node_key(&p, a)), Some((p, a)));
        assert!(node_key(&p, a) < node_key(&p, b));
        assert_eq!(partition_of_root_key(&root_key(&p)), Some(p));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
    }
}
