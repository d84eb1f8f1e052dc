//! `verify`: recompute the digest index, the subject index and the name index from the
//! records and report every difference.
//!
//! Records are visited in key order, which groups them by partition, so the expected
//! cells of only one partition (at most 1 + 256 + 65 536 of them) are held at a time:
//! memory stays bounded whatever the store's size.

use std::collections::{HashMap, HashSet};
use std::fmt;

use credithub_protocol::codec;
use credithub_protocol::digest::{Cell, Digest, DigestItem, NodePath, PartitionId};
use credithub_protocol::record::{RecordKey, KEY_LEN};
use rocksdb::{Direction, IteratorMode, ReadOptions};
use serde::{Deserialize, Serialize};

use super::feed;
use super::index::STORED_LEVELS;
use super::keys;
use super::names::{self, NameFiling};
use super::{Result, Store};

/// A name-index problem: the subject-index key the entry names, if it parses, and what
/// is wrong.
type NameProblem = (Option<Vec<u8>>, String);

/// Problems listed in a report at most; the count covers all of them.
const MAX_LISTED: usize = 1000;

/// One difference between what the records say and what the indexes hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum VerifyProblem {
    /// A record does not decode, or its digest does not match its content.
    CorruptRecord {
        /// The record key (hex if it does not parse).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A digest-index cell differs from the one recomputed from the records.
    CellMismatch {
        /// `ORIGIN/KIND`.
        partition: String,
        /// The trie node (`/` is the root).
        node: String,
        /// Items below the node according to the records.
        expected_count: i64,
        /// Items below the node according to the stored cell.
        stored_count: i64,
    },
    /// The store-wide cell differs from the sum of the records.
    StoreRootMismatch {
        /// Records according to the records.
        expected_count: i64,
        /// Records according to the stored cell.
        stored_count: i64,
    },
    /// A live record is missing from the subject index.
    MissingSubjectEntry {
        /// The record key.
        key: String,
        /// The subject (personal identifiers masked).
        subject: String,
    },
    /// A subject-index entry points to no live record about that subject.
    DanglingSubjectEntry {
        /// The record key the entry names.
        key: String,
    },
    /// A record's entry in the `regional` family (its subjects partition) is missing,
    /// stale, or names no such record version.
    RegionalEntry {
        /// The record key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A live record is missing from the publication-windows index, or an entry there
    /// names no live record filed so.
    WindowEntry {
        /// The record key (hex if it does not parse).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A live record's subject and name have no marker in the name index.
    MissingNameEntry {
        /// The record key.
        key: String,
    },
    /// A name-index entry disagrees with the records: a marker whose count differs from
    /// the live records carrying its subject and name or that lacks a posting, or a
    /// posting without its marker or under a pair its name does not hold.
    DanglingNameEntry {
        /// The subject the entry names (personal identifiers masked; hex if the entry
        /// does not parse).
        key: String,
        /// What is wrong.
        #[serde(default)]
        reason: String,
    },
    /// A refusal tally does not decode, or is filed under another unit's key.
    RefusalEntry {
        /// What is wrong, with the key.
        reason: String,
    },
}

impl fmt::Display for VerifyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyProblem::CorruptRecord { key, reason } => write!(f, "record {key}: {reason}"),
            VerifyProblem::CellMismatch { partition, node, expected_count, stored_count } => write!(
                f,
                "digest cell {partition} {node}: stored cell (count {stored_count}) differs from the records (count {expected_count})"
            ),
            VerifyProblem::StoreRootMismatch { expected_count, stored_count } => write!(
                f,
                "store-wide cell (count {stored_count}) differs from the records (count {expected_count})"
            ),
            VerifyProblem::MissingSubjectEntry { key, subject } => {
                write!(f, "record {key} is missing from the subject index under {subject}")
            }
            VerifyProblem::DanglingSubjectEntry { key } => {
                write!(f, "subject index entry names {key}, which is not a live record about that subject")
            }
            VerifyProblem::RegionalEntry { key, reason } => {
                write!(f, "regional entry of {key}: {reason}")
            }
            VerifyProblem::MissingNameEntry { key } => {
                write!(f, "record {key} is missing from the name index")
            }
            VerifyProblem::WindowEntry { key, reason } => {
                write!(f, "windows index entry of {key}: {reason}")
            }
            VerifyProblem::DanglingNameEntry { key, reason } => {
                write!(f, "name index entry of {key}: {reason}")
            }
            VerifyProblem::RefusalEntry { reason } => f.write_str(reason),
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Record versions checked (live and tombstones).
    pub records: u64,
    /// Of which tombstones.
    pub tombstones: u64,
    /// Partitions checked.
    pub partitions: u64,
    /// Digest cells compared.
    pub cells: u64,
    /// Subject-index entries checked.
    pub subject_entries: u64,
    /// Name-index entries checked.
    #[serde(default)]
    pub name_entries: u64,
    /// Publication-windows entries checked.
    #[serde(default)]
    pub window_entries: u64,
    /// Refusal tallies checked.
    #[serde(default)]
    pub refusal_entries: u64,
    /// Number of problems found.
    pub problem_count: u64,
    /// The problems (at most the first 1000).
    pub problems: Vec<VerifyProblem>,
}

impl VerifyReport {
    /// Whether everything matched.
    pub fn is_clean(&self) -> bool {
        self.problem_count == 0
    }

    fn push(&mut self, p: VerifyProblem) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(p);
        }
    }
}

/// Expected cells of one partition.
struct Expected {
    partition: PartitionId,
    root: Cell,
    nodes: HashMap<NodePath, Cell>,
}

impl Expected {
    fn new(partition: PartitionId) -> Self {
        Expected {
            partition,
            root: Cell::EMPTY,
            nodes: HashMap::new(),
        }
    }

    fn insert(&mut self, item: &DigestItem) {
        self.root.insert(item);
        for &level in STORED_LEVELS.iter().filter(|&&l| l > 0) {
            self.nodes
                .entry(NodePath::of(&item.id, level))
                .or_default()
                .insert(item);
        }
    }
}

impl Store {
    /// [`verify`](Self::verify) on a store that is being written: writes wait until
    /// it is done, so that records and indexes are compared at one point in time.
    pub fn verify_online(&self, progress: impl FnMut(u64)) -> Result<VerifyReport> {
        let _writes_wait = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.verify(progress)
    }

    /// Recomputes the digest and subject indexes from the records and compares them
    /// with what is stored. `progress` is called with the number of records checked.
    pub fn verify(&self, mut progress: impl FnMut(u64)) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let mut store_cell = Cell::EMPTY;
        let mut seen_partitions = HashSet::new();
        let mut current: Option<Expected> = None;
        let records = self.cf(keys::CF_RECORDS);
        let subjects = self.cf(keys::CF_SUBJECTS);
        let names = self.cf(keys::CF_NAMES);
        let windows = self.cf(keys::CF_WINDOWS);
        let regional = self.cf(keys::CF_REGIONAL);
        for entry in self.db.iterator_cf(records, IteratorMode::Start) {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            report.records += 1;
            if report.records % 65_536 == 0 {
                progress(report.records);
            }
            let key = match RecordKey::from_bytes(&k) {
                Ok(key) => key,
                Err(e) => {
                    report.push(VerifyProblem::CorruptRecord {
                        key: hex::encode(&k),
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            let partition = key.partition();
            if current.as_ref().map(|c| c.partition) != Some(partition) {
                if let Some(done) = current.take() {
                    self.compare_partition(done, &mut report)?;
                }
                seen_partitions.insert(partition);
                current = Some(Expected::new(partition));
            }
            let record = match codec::decode(key, &v) {
                Ok(r) => r,
                Err(e) => {
                    report.push(VerifyProblem::CorruptRecord {
                        key: key.to_string(),
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            let item = DigestItem {
                id: key.id,
                version: record.version,
                // `decode` has checked the stated digest against the content.
                digest: codec::read_header(&v)
                    .map(|h| h.digest)
                    .unwrap_or(Digest([0; 32])),
            };
            store_cell.insert(&item);
            if let Some(c) = current.as_mut() {
                c.insert(&item);
            }
            if let Some(about) = key.subjects_partition() {
                store_cell.insert(&item);
                let entry = keys::regional_key(&about, &key.id);
                let want = keys::regional_value(key.origin, &item);
                let held = self
                    .db
                    .get_pinned_cf(regional, entry)
                    .map_err(|e| self.db_err(e))?;
                if held.as_deref() != Some(&want[..]) {
                    report.push(VerifyProblem::RegionalEntry {
                        key: key.to_string(),
                        reason: format!(
                            "{} in subjects partition {about}",
                            if held.is_some() { "stale" } else { "missing" }
                        ),
                    });
                }
            }
            let Some(body) = &record.body else {
                report.tombstones += 1;
                continue;
            };
            if let Some(w) = feed::window_of(key.kind, Some(body)) {
                if self
                    .db
                    .get_pinned_cf(windows, feed::window_entry(&w, &key))
                    .map_err(|e| self.db_err(e))?
                    .is_none()
                {
                    report.push(VerifyProblem::WindowEntry {
                        key: key.to_string(),
                        reason: "missing".into(),
                    });
                }
            }
            if let Some(filing) = NameFiling::of(key.kind, Some(body)) {
                // The marker's count is checked against the records by
                // `verify_name_entries`.
                if self
                    .db
                    .get_pinned_cf(names, filing.marker_key())
                    .map_err(|e| self.db_err(e))?
                    .is_none()
                {
                    report.push(VerifyProblem::MissingNameEntry {
                        key: key.to_string(),
                    });
                }
            }
            for subject in super::write::subject_keys(Some(body)) {
                let entry = keys::subject_entry(&subject, &key.to_bytes());
                if self
                    .db
                    .get_pinned_cf(subjects, &entry)
                    .map_err(|e| self.db_err(e))?
                    .is_none()
                {
                    report.push(VerifyProblem::MissingSubjectEntry {
                        key: key.to_string(),
                        subject: subject_for_message(&subject),
                    });
                }
            }
        }
        if let Some(done) = current.take() {
            self.compare_partition(done, &mut report)?;
        }
        self.verify_subjects_partitions(&mut report, &mut seen_partitions)?;
        // Partitions whose records are all gone must have empty cells.
        for (p, _) in self.partitions()? {
            if !seen_partitions.contains(&p) {
                self.compare_partition(Expected::new(p), &mut report)?;
            }
        }
        report.partitions = seen_partitions.len() as u64;
        let stored = self.store_root()?;
        if stored != store_cell {
            report.push(VerifyProblem::StoreRootMismatch {
                expected_count: store_cell.signed_count(),
                stored_count: stored.signed_count(),
            });
        }
        self.verify_subject_entries(&mut report)?;
        self.verify_name_entries(&mut report)?;
        self.verify_window_entries(&mut report)?;
        let (tallies, problems) = self.verify_refusals()?;
        report.refusal_entries = tallies;
        for reason in problems {
            report.push(VerifyProblem::RefusalEntry { reason });
        }
        progress(report.records);
        Ok(report)
    }

    fn compare_partition(&self, expected: Expected, report: &mut VerifyReport) -> Result<()> {
        let p = expected.partition;
        let mismatch = |node: NodePath, e: &Cell, s: &Cell| VerifyProblem::CellMismatch {
            partition: p.to_string(),
            node: node.to_string(),
            expected_count: e.signed_count(),
            stored_count: s.signed_count(),
        };
        let stored_root = self.partition_root(&p)?;
        report.cells += 1;
        if stored_root != expected.root {
            report.push(mismatch(NodePath::ROOT, &expected.root, &stored_root));
        }
        let mut expected_nodes = expected.nodes;
        let prefix = keys::node_prefix(&p);
        let cf = self.cf(keys::CF_DIGEST);
        let mut ro = ReadOptions::default();
        if let Some(end) = keys::prefix_end(&prefix) {
            ro.set_iterate_upper_bound(end);
        }
        for entry in
            self.db
                .iterator_cf_opt(cf, ro, IteratorMode::From(&prefix, Direction::Forward))
        {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            report.cells += 1;
            let Some((_, path)) = keys::parse_node_key(&k) else {
                report.push(VerifyProblem::CorruptRecord {
                    key: hex::encode(&k),
                    reason: "malformed digest key".into(),
                });
                continue;
            };
            let stored = Cell::from_bytes(&v).unwrap_or(Cell {
                count: u64::MAX,
                ..Cell::EMPTY
            });
            let want = expected_nodes.remove(&path).unwrap_or_default();
            if stored != want {
                report.push(mismatch(path, &want, &stored));
            }
        }
        for (path, want) in expected_nodes {
            if !want.is_empty() {
                report.push(mismatch(path, &want, &Cell::EMPTY));
            }
        }
        Ok(())
    }

    /// Recomputes the subjects partitions' cells from the `regional` family (grouped by
    /// partition, like the records) and checks that each entry names a held version.
    fn verify_subjects_partitions(
        &self,
        report: &mut VerifyReport,
        seen: &mut HashSet<PartitionId>,
    ) -> Result<()> {
        let regional = self.cf(keys::CF_REGIONAL);
        let mut current: Option<Expected> = None;
        for entry in self.db.iterator_cf(regional, IteratorMode::Start) {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            let Some((key, item)) = keys::parse_regional(&k, &v) else {
                report.push(VerifyProblem::RegionalEntry {
                    key: hex::encode(&k),
                    reason: "malformed".into(),
                });
                continue;
            };
            let Some(partition) = PartitionId::from_bytes(&k[..keys::PARTITION_BYTES]) else {
                continue;
            };
            if current.as_ref().map(|c| c.partition) != Some(partition) {
                if let Some(done) = current.take() {
                    self.compare_partition(done, report)?;
                }
                seen.insert(partition);
                current = Some(Expected::new(partition));
            }
            if let Some(c) = current.as_mut() {
                c.insert(&item);
            }
            let held = self
                .get_encoded(&key)?
                .map(|r| r.item())
                .filter(|held| *held == item);
            if held.is_none() || key.subjects_partition() != Some(partition) {
                report.push(VerifyProblem::RegionalEntry {
                    key: key.to_string(),
                    reason: format!("names no held version in {partition}"),
                });
            }
        }
        if let Some(done) = current.take() {
            self.compare_partition(done, report)?;
        }
        Ok(())
    }

    /// Checks that every publication-windows entry names a live record filed so.
    fn verify_window_entries(&self, report: &mut VerifyReport) -> Result<()> {
        let windows = self.cf(keys::CF_WINDOWS);
        for entry in self.db.iterator_cf(windows, IteratorMode::Start) {
            let (k, _) = entry.map_err(|e| self.db_err(e))?;
            report.window_entries += 1;
            let Some((_, _, key)) = feed::parse_window_entry(&k) else {
                report.push(VerifyProblem::WindowEntry {
                    key: hex::encode(&k),
                    reason: "malformed".into(),
                });
                continue;
            };
            let filed = match self.get(&key)? {
                Some(r) => feed::window_of(key.kind, r.body.as_ref())
                    .is_some_and(|w| feed::window_entry(&w, &key)[..] == k[..]),
                None => false,
            };
            if !filed {
                report.push(VerifyProblem::WindowEntry {
                    key: key.to_string(),
                    reason: "names no live record with that severity and decision date".into(),
                });
            }
        }
        Ok(())
    }

    /// Checks every marker against the records of its subject (their count, and a
    /// posting under each pair of the name) and every posting against its marker.
    fn verify_name_entries(&self, report: &mut VerifyReport) -> Result<()> {
        let names = self.cf(keys::CF_NAMES);
        for entry in self.db.iterator_cf(names, IteratorMode::Start) {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            report.name_entries += 1;
            let problem = if k.first() == Some(&keys::NAME_MARKER) {
                self.check_name_marker(&k, &v)?
            } else {
                self.check_name_posting(&k, &v)?
            };
            if let Some((subject, reason)) = problem {
                report.push(VerifyProblem::DanglingNameEntry {
                    key: subject.map_or_else(|| hex::encode(&k), |s| subject_for_message(&s)),
                    reason,
                });
            }
        }
        Ok(())
    }

    /// What is wrong with a marker, if anything: (its subject, the reason).
    fn check_name_marker(&self, k: &[u8], v: &[u8]) -> Result<Option<NameProblem>> {
        let Some((flag, subject, hash)) = names::parse_marker_key(k) else {
            return Ok(Some((None, "malformed marker key".into())));
        };
        let Some((count, name)) = names::parse_marker_value(v) else {
            return Ok(Some((
                Some(subject.to_vec()),
                "malformed marker value".into(),
            )));
        };
        let filing = NameFiling {
            flag,
            subject: subject.to_vec(),
            name: name.to_string(),
        };
        let subject = Some(subject.to_vec());
        if credithub_protocol::names::name_hash(name) != hash {
            return Ok(Some((
                subject,
                "marker's name does not match its key".into(),
            )));
        }
        let mut carrying = 0u32;
        for record in self.live_records(&self.subject_keys_raw(&filing.subject)?)? {
            if NameFiling::of(record.key.kind, record.body.as_ref()).as_ref() == Some(&filing) {
                carrying += 1;
            }
        }
        if carrying != count {
            return Ok(Some((
                subject,
                format!("marker counts {count} records, {carrying} carry the name"),
            )));
        }
        let names_cf = self.cf(keys::CF_NAMES);
        for prefix in filing.prefixes() {
            if self
                .db
                .get_pinned_cf(names_cf, filing.posting_key(&prefix))
                .map_err(|e| self.db_err(e))?
                .is_none()
            {
                return Ok(Some((subject, "a pair of the name has no posting".into())));
            }
        }
        Ok(None)
    }

    /// What is wrong with a posting, if anything: (its subject, the reason).
    fn check_name_posting(&self, k: &[u8], v: &[u8]) -> Result<Option<NameProblem>> {
        let Some((prefix, suffix)) = k.split_at_checked(keys::NAME_PREFIX_LEN) else {
            return Ok(Some((None, "malformed posting key".into())));
        };
        let mut marker = vec![keys::NAME_MARKER, prefix[keys::NAME_PREFIX_LEN - 1]];
        marker.extend_from_slice(suffix);
        let Some((_, subject, _)) = names::parse_marker_key(&marker) else {
            return Ok(Some((None, "malformed posting key".into())));
        };
        let subject = Some(subject.to_vec());
        let held = self
            .db
            .get_pinned_cf(self.cf(keys::CF_NAMES), &marker)
            .map_err(|e| self.db_err(e))?;
        let Some((_, name)) = held.as_deref().and_then(names::parse_marker_value) else {
            return Ok(Some((subject, "posting without a marker".into())));
        };
        if name.as_bytes() != v {
            return Ok(Some((
                subject,
                "posting's name differs from its marker's".into(),
            )));
        }
        let holds_pair = credithub_protocol::names::pairs(name)
            .into_iter()
            .any(|p| keys::name_prefix(p, prefix[keys::NAME_PREFIX_LEN - 1])[..] == *prefix);
        if !holds_pair {
            return Ok(Some((
                subject,
                "posting under a pair the name does not hold".into(),
            )));
        }
        Ok(None)
    }

    fn verify_subject_entries(&self, report: &mut VerifyReport) -> Result<()> {
        let subjects = self.cf(keys::CF_SUBJECTS);
        for entry in self.db.iterator_cf(subjects, IteratorMode::Start) {
            let (k, _) = entry.map_err(|e| self.db_err(e))?;
            report.subject_entries += 1;
            let split = k.len().saturating_sub(KEY_LEN);
            let (subject, record_key) = k.split_at(split);
            let ok = match RecordKey::from_bytes(record_key) {
                Err(_) => false,
                Ok(key) => match self.get_encoded(&key)? {
                    None => false,
                    Some(enc) => match codec::decode(key, &enc.bytes) {
                        Ok(r) => r.body.is_some_and(|b| {
                            super::write::subject_keys(Some(&b))
                                .iter()
                                .any(|k| k.as_slice() == subject)
                        }),
                        Err(_) => false,
                    },
                },
            };
            if !ok {
                let key = RecordKey::from_bytes(record_key)
                    .map(|k| k.to_string())
                    .unwrap_or_else(|_| hex::encode(record_key));
                report.push(VerifyProblem::DanglingSubjectEntry { key });
            }
        }
        Ok(())
    }
}

/// A subject-index key as a message may show it: the identifier's kind tag and the
/// identifier, a natural person's number masked.
fn subject_for_message(key: &[u8]) -> String {
    let Some((&tag, rest)) = key.split_first() else {
        return String::new();
    };
    let text = String::from_utf8_lossy(rest.strip_suffix(&[0]).unwrap_or(rest)).into_owned();
    match tag {
        b'U' | b'R' | b'O' | b'S' => text,
        // Resident identity numbers and documents: the ends only.
        _ => {
            let chars: Vec<char> = text.chars().collect();
            let shown = chars.len().min(2);
            let tail: String = chars[chars.len() - shown..].iter().collect();
            format!(
                "{}{}{tail}",
                char::from(tag),
                "*".repeat(chars.len() - shown)
            )
        }
    }
}
