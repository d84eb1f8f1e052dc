//! The write path: every change of a record writes the record, its subject- and
//! name-index entries and its digest-index deltas in one atomic `WriteBatch`.
//!
//! Digest deltas are aggregated per batch (one merge per touched trie node, not one
//! per record) and applied with the digest family's merge operator, so no index node
//! is read before it is written.

use std::collections::HashMap;

use credithub_protocol::codec::{self, EncodedRecord, HEADER_LEN};
use credithub_protocol::digest::{Cell, DigestItem, NodePath, PartitionId};
use credithub_protocol::ids::SubjectId;
use credithub_protocol::record::{RecordBody, RecordId, RecordKey, RecordKind, Version, KEY_LEN};
use rocksdb::WriteBatch;

use super::feed::{window_entry, window_of, WindowKey};
use super::index::STORED_LEVELS;
use super::keys;
use super::names::{NameDeltas, NameFiling};
use super::{Result, Store};

/// What happened to one local write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new record was stored with this version.
    Inserted(RecordKey, Version),
    /// A new version of an existing record was stored (or a tombstone, for deletes).
    Updated(RecordKey, Version),
    /// The record already had exactly this content (or was already deleted): nothing written.
    Unchanged(RecordKey),
    /// A delete named a record this store does not hold.
    NotFound(RecordKey),
}

/// What happened to one record version received from a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteOutcome {
    /// Stored: it was new, or newer than the version held.
    Applied,
    /// The same version with the same digest was already held.
    Unchanged,
    /// Refused: the store holds a newer version (versions never regress).
    Stale {
        /// The version held.
        held: Version,
    },
    /// Refused: the store holds the same version with different content.
    Conflict,
    /// Refused: the bytes do not decode or their digest does not match their content.
    Invalid(String),
}

/// Records encoded by [`Store::prepare_local`], ready for [`Store::commit_local`].
pub struct PreparedLocal {
    records: Vec<(EncodedRecord, IndexEntries, Cell)>,
}

impl PreparedLocal {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Counts of what one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Records stored for the first time.
    pub inserted: u64,
    /// New versions of records already held (including tombstones).
    pub updated: u64,
    /// Writes that changed nothing.
    pub unchanged: u64,
}

/// The state of a record before a change.
#[derive(Clone)]
struct Held {
    item: DigestItem,
    tombstone: bool,
    entries: IndexEntries,
    body_bytes: Vec<u8>,
}

/// The subject- and name-index entries of one record version (without the record
/// key, which every entry ends with).
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct IndexEntries {
    /// Subject-index keys ([`subject_keys`]).
    pub(crate) subjects: Vec<Vec<u8>>,
    /// Where the record's subject is filed in the name index.
    pub(crate) name: Option<NameFiling>,
    /// Where the record is filed in the publication-windows index.
    pub(crate) window: Option<WindowKey>,
}

impl IndexEntries {
    /// The entries of a version of a record of `kind` (none for a tombstone).
    pub(crate) fn of(kind: RecordKind, body: Option<&RecordBody>) -> IndexEntries {
        IndexEntries {
            subjects: subject_keys(body),
            name: NameFiling::of(kind, body),
            window: window_of(kind, body),
        }
    }
}

/// One change to commit: the new version and what it replaces.
struct Change {
    record: EncodedRecord,
    /// The digest cell of `record`'s item.
    cell: Cell,
    entries: IndexEntries,
    old: Option<Held>,
}

impl Change {
    fn new(record: EncodedRecord, entries: IndexEntries, old: Option<Held>) -> Change {
        let cell = Cell::of(&record.item());
        Change {
            record,
            cell,
            entries,
            old,
        }
    }
}

/// Subject-index keys of a body: its subject, every further identifier, and the
/// organisation code inside each USCC and tax number among them (the alias under which
/// the subject's records filed before the USCC are found, and which finds these).
pub(crate) fn subject_keys(body: Option<&RecordBody>) -> Vec<Vec<u8>> {
    let Some(body) = body else { return Vec::new() };
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(2 + 2 * body.other_ids.len());
    let mut add = |k: Vec<u8>| {
        if !out.contains(&k) {
            out.push(k);
        }
    };
    for id in std::iter::once(&body.subject.id).chain(&body.other_ids) {
        add(id.index_key());
        if !matches!(id, SubjectId::OrgCode(_)) {
            if let Some(org) = id.embedded_org_code() {
                add(SubjectId::OrgCode(org).index_key());
            }
        }
    }
    out
}

/// Accumulates the digest deltas of one batch: one entry per stored node an item
/// touches, summed per node when written (sorting is cheaper than hashing here).
#[derive(Default)]
struct DigestDelta {
    entries: Vec<([u8; keys::NODE_KEY_LEN], usize, Cell)>,
    store: Cell,
}

impl DigestDelta {
    fn apply(&mut self, partition: PartitionId, id: &RecordId, cell: &Cell, insert: bool) {
        let cell = if insert {
            *cell
        } else {
            let mut neg = Cell::EMPTY;
            neg.sub(cell);
            neg
        };
        self.store.add(&cell);
        let root = keys::root_key(&partition);
        let mut key = [0u8; keys::NODE_KEY_LEN];
        key[..root.len()].copy_from_slice(&root);
        self.entries.push((key, root.len(), cell));
        for &level in STORED_LEVELS.iter().filter(|&&l| l > 0) {
            let key = keys::node_key(&partition, NodePath::of(id, level));
            self.entries.push((key, key.len(), cell));
        }
    }

    fn write_into(mut self, store: &Store, batch: &mut WriteBatch) {
        let cf = store.cf(keys::CF_DIGEST);
        batch.merge_cf(cf, keys::STORE_ROOT_KEY, self.store.to_bytes());
        self.entries
            .sort_unstable_by(|a, b| a.0[..a.1].cmp(&b.0[..b.1]));
        let mut iter = self.entries.into_iter().peekable();
        while let Some((key, len, mut sum)) = iter.next() {
            while let Some((_, _, cell)) = iter.next_if(|next| next.0[..next.1] == key[..len]) {
                sum.add(&cell);
            }
            batch.merge_cf(cf, &key[..len], sum.to_bytes());
        }
    }
}

/// A hasher for maps keyed by record keys, whose ids are already uniform hashes.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
}

type KeyMap<V> = HashMap<RecordKey, V, std::hash::BuildHasherDefault<KeyHasher>>;

impl Store {
    /// Reads the current state of the given keys (in one multi-get).
    fn held(&self, keys: &[RecordKey]) -> Result<Vec<Option<Held>>> {
        let cf = self.cf(keys::CF_RECORDS);
        // A partition whose root counts no item holds no record: its keys need no
        // lookup (the first load of a partition, by import or by bulk sync, is the
        // largest ingest there is). Callers hold the write lock, so this stays true.
        let mut empty: Vec<(PartitionId, bool)> = Vec::new();
        for key in keys {
            let p = key.partition();
            if !empty.iter().any(|(q, _)| *q == p) {
                empty.push((p, self.partition_root(&p)?.count == 0));
            }
        }
        let needs_lookup = |k: &RecordKey| !empty.iter().any(|(q, e)| *e && *q == k.partition());
        // Look the keys up in sorted order (RocksDB's batched multi-get is fastest so),
        // then put the answers back in the caller's order.
        let mut order: Vec<usize> = (0..keys.len())
            .filter(|&i| needs_lookup(&keys[i]))
            .collect();
        order.sort_unstable_by_key(|&i| keys[i]);
        let raw: Vec<[u8; KEY_LEN]> = order.iter().map(|&i| keys[i].to_bytes()).collect();
        let values = self.db.batched_multi_get_cf(cf, raw.iter(), true);
        let mut out: Vec<Option<Held>> = vec![None; keys.len()];
        for (&i, value) in order.iter().zip(values) {
            if let Some(bytes) = value.map_err(|e| self.db_err(e))? {
                out[i] = Some(self.held_from_bytes(&keys[i], &bytes)?);
            }
        }
        Ok(out)
    }

    fn held_from_bytes(&self, key: &RecordKey, bytes: &[u8]) -> Result<Held> {
        let record = codec::decode(*key, bytes)
            .map_err(|e| self.corrupt("record", format!("{key}: {e}")))?;
        let header =
            codec::read_header(bytes).map_err(|e| self.corrupt("record", format!("{key}: {e}")))?;
        Ok(Held {
            item: DigestItem {
                id: key.id,
                version: header.version,
                digest: header.digest,
            },
            tombstone: record.body.is_none(),
            entries: IndexEntries::of(key.kind, record.body.as_ref()),
            body_bytes: bytes[HEADER_LEN..].to_vec(),
        })
    }

    /// Writes a batch of changes atomically: records, subject index and digest deltas.
    /// `arrived_ms` is the time of arrival of versions received from a peer (`None`
    /// for local writes, whose arrival is their version's time).
    /// Drafts named in `cleared_drafts` (list entries whose review ends with this
    /// write) are removed in the same batch.
    fn commit(
        &self,
        mut changes: Vec<Change>,
        arrived_ms: Option<u64>,
        cleared_drafts: &[RecordKey],
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        // Entries go into the batch in key order, column family by column family:
        // RocksDB's memtable then inserts each next to the previous one instead of
        // searching its skip list from the top (a large share of ingest time).
        changes.sort_unstable_by_key(|c| c.record.key);
        let mut subject_puts: Vec<Vec<u8>> = Vec::with_capacity(changes.len());
        let mut subject_deletes: Vec<Vec<u8>> = Vec::new();
        let mut name_deltas = NameDeltas::default();
        let mut window_puts: Vec<[u8; super::feed::WINDOW_KEY_LEN]> = Vec::new();
        let mut window_deletes: Vec<[u8; super::feed::WINDOW_KEY_LEN]> = Vec::new();
        let mut delta = DigestDelta::default();
        let mut batch = WriteBatch::default();
        let records = self.cf(keys::CF_RECORDS);
        let regional = self.cf(keys::CF_REGIONAL);
        let mut regional_puts: Vec<([u8; KEY_LEN], [u8; keys::REGIONAL_VALUE_LEN])> = Vec::new();
        for change in &changes {
            let key = change.record.key;
            let key_bytes = key.to_bytes();
            let partition = key.partition();
            let none = IndexEntries::default();
            let old_entries = change.old.as_ref().map_or(&none, |o| &o.entries);
            if let Some(old) = &change.old {
                delta.apply(partition, &key.id, &Cell::of(&old.item), false);
            }
            let new_entries = &change.entries;
            for s in old_entries
                .subjects
                .iter()
                .filter(|s| !new_entries.subjects.contains(s))
            {
                subject_deletes.push(keys::subject_entry(s, &key_bytes));
            }
            for s in new_entries
                .subjects
                .iter()
                .filter(|s| !old_entries.subjects.contains(s))
            {
                subject_puts.push(keys::subject_entry(s, &key_bytes));
            }
            name_deltas.change(old_entries.name.as_ref(), new_entries.name.as_ref());
            if old_entries.window != new_entries.window {
                if let Some(w) = &old_entries.window {
                    window_deletes.push(window_entry(w, &key));
                }
                if let Some(w) = &new_entries.window {
                    window_puts.push(window_entry(w, &key));
                }
            }
            delta.apply(partition, &key.id, &change.cell, true);
            batch.put_cf(records, key_bytes, &change.record.bytes);
            if let Some(about) = key.subjects_partition() {
                if let Some(old) = &change.old {
                    delta.apply(about, &key.id, &Cell::of(&old.item), false);
                }
                delta.apply(about, &key.id, &change.cell, true);
                regional_puts.push((
                    keys::regional_key(&about, &key.id),
                    keys::regional_value(key.origin, &change.record.item()),
                ));
            }
        }
        regional_puts.sort_unstable_by_key(|e| e.0);
        for (k, v) in regional_puts {
            batch.put_cf(regional, k, v);
        }
        // When each version received from a peer arrived here (for reporting
        // timeliness; a local version arrives when it is written, its version time).
        if let Some(arrived_ms) = arrived_ms {
            let arrivals = self.cf(keys::CF_ARRIVALS);
            let now = arrived_ms.to_be_bytes();
            for change in &changes {
                batch.put_cf(arrivals, change.record.key.to_bytes(), now);
            }
        }
        let subjects = self.cf(keys::CF_SUBJECTS);
        subject_deletes.sort_unstable();
        for k in subject_deletes {
            batch.delete_cf(subjects, k);
        }
        subject_puts.sort_unstable();
        for k in subject_puts {
            batch.put_cf(subjects, k, []);
        }
        self.write_name_deltas(name_deltas, &mut batch)?;
        let windows = self.cf(keys::CF_WINDOWS);
        window_deletes.sort_unstable();
        for k in window_deletes {
            batch.delete_cf(windows, k);
        }
        window_puts.sort_unstable();
        for k in window_puts {
            batch.put_cf(windows, k, []);
        }
        let last_change = self.log_changes(
            &mut batch,
            changes
                .iter()
                .map(|c| (c.record.key, c.record.header().version)),
        );
        delta.write_into(self, &mut batch);
        let drafts = self.cf(keys::CF_DRAFTS);
        for key in cleared_drafts {
            batch.delete_cf(drafts, key.to_bytes());
        }
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(self.sync_writes);
        self.db.write_opt(batch, &wo).map_err(|e| self.db_err(e))?;
        self.changes_written(last_change);
        Ok(())
    }

    /// Stores records that originate here: each body gets its key from this store's
    /// jurisdiction, its kind and its natural key. A body identical to the version held
    /// changes nothing; otherwise the record gets the next version after the one held
    /// (from `now_millis`, the caller's clock). Later entries for the same key win.
    /// The whole call is one atomic write.
    pub fn write_local(
        &self,
        items: Vec<(RecordKind, RecordBody)>,
        now_millis: u64,
    ) -> Result<Vec<WriteOutcome>> {
        self.commit_local(self.prepare_local(items, now_millis), now_millis)
    }

    /// The first half of [`write_local`](Self::write_local), which needs no lock and
    /// no disk: derive keys, encode bodies and compute digests, assuming each record is
    /// new (the common case; [`commit_local`](Self::commit_local) encodes a record that
    /// turns out to exist again with its next version). An importer runs it on its
    /// parsing thread, so that encoding and writing overlap.
    pub fn prepare_local(
        &self,
        items: Vec<(RecordKind, RecordBody)>,
        now_millis: u64,
    ) -> PreparedLocal {
        let fresh = Version::next(None, now_millis);
        let records = items
            .into_iter()
            .map(|(kind, body)| {
                let key = RecordKey::derive(self.jurisdiction, kind, &body);
                let entries = IndexEntries::of(kind, Some(&body));
                let record = EncodedRecord::of_body(key, fresh, Some(&body));
                let cell = Cell::of(&record.item());
                (record, entries, cell)
            })
            .collect();
        PreparedLocal { records }
    }

    /// The second half of [`write_local`](Self::write_local): compare with the versions
    /// held and write, atomically.
    pub fn commit_local(
        &self,
        prepared: PreparedLocal,
        now_millis: u64,
    ) -> Result<Vec<WriteOutcome>> {
        self.commit_local_clearing(prepared, now_millis, &[])
    }

    /// [`commit_local`](Self::commit_local), removing the drafts `cleared_drafts` in
    /// the same atomic write (a list entry published at the end of its review).
    pub(crate) fn commit_local_clearing(
        &self,
        prepared: PreparedLocal,
        now_millis: u64,
        cleared_drafts: &[RecordKey],
    ) -> Result<Vec<WriteOutcome>> {
        let prepared = prepared.records;
        if prepared.is_empty() {
            return Ok(Vec::new());
        }
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let keys: Vec<RecordKey> = prepared.iter().map(|p| p.0.key).collect();
        let mut held = self.held(&keys)?;
        let mut in_batch: KeyMap<usize> = KeyMap::default();
        let mut changes: Vec<Change> = Vec::with_capacity(prepared.len());
        let mut outcomes = Vec::with_capacity(prepared.len());
        for ((mut record, entries, mut cell), fetched) in prepared.into_iter().zip(held.iter_mut())
        {
            let key = record.key;
            // A key written earlier in this batch: the new change replaces that one.
            let previous = in_batch.get(&key).map(|&c| Held {
                item: changes[c].record.item(),
                tombstone: false,
                entries: changes[c].entries.clone(),
                body_bytes: changes[c].record.body().to_vec(),
            });
            let old = previous.or_else(|| fetched.take());
            if let Some(o) = &old {
                if !o.tombstone && o.body_bytes == record.body() {
                    outcomes.push(WriteOutcome::Unchanged(key));
                    continue;
                }
                let version = Version::next(Some(o.item.version), now_millis);
                record = EncodedRecord::from_parts(key, version, record.form(), record.body());
                cell = Cell::of(&record.item());
            }
            let version = record.header().version;
            outcomes.push(match &old {
                Some(_) => WriteOutcome::Updated(key, version),
                None => WriteOutcome::Inserted(key, version),
            });
            let change = Change {
                record,
                cell,
                entries,
                old,
            };
            match in_batch.get(&key) {
                Some(&c) => {
                    // Fold into the earlier change: it replaces what that one replaced.
                    let first_old = changes[c].old.take();
                    changes[c] = Change {
                        old: first_old,
                        ..change
                    };
                }
                None => {
                    in_batch.insert(key, changes.len());
                    changes.push(change);
                }
            }
        }
        self.commit(changes, None, cleared_drafts)?;
        Ok(outcomes)
    }

    /// Deletes records that originate here by writing tombstone versions.
    pub fn delete_local(
        &self,
        keys_to_delete: &[RecordKey],
        now_millis: u64,
    ) -> Result<Vec<WriteOutcome>> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let held = self.held(keys_to_delete)?;
        let mut changes: Vec<Change> = Vec::new();
        let mut outcomes = Vec::with_capacity(keys_to_delete.len());
        let mut seen = std::collections::HashSet::new();
        for (key, old) in keys_to_delete.iter().zip(held) {
            match old {
                None => outcomes.push(WriteOutcome::NotFound(*key)),
                Some(o) if o.tombstone || !seen.insert(*key) => {
                    outcomes.push(WriteOutcome::Unchanged(*key))
                }
                Some(o) => {
                    let version = Version::next(Some(o.item.version), now_millis);
                    let record = EncodedRecord::of_body(*key, version, None);
                    outcomes.push(WriteOutcome::Updated(*key, version));
                    changes.push(Change::new(record, IndexEntries::default(), Some(o)));
                }
            }
        }
        self.commit(changes, None, &[])?;
        Ok(outcomes)
    }

    /// Stores record versions received from a peer, in order: each is checked (it must
    /// decode and its digest must match its content) and stored only if it is newer
    /// than the version held. `now_millis` (the caller's clock) is recorded as the
    /// arrival of each version stored. Authorisation (may this peer send this
    /// origin's records?) is the caller's job.
    pub fn apply_remote(
        &self,
        records: Vec<EncodedRecord>,
        now_millis: u64,
    ) -> Result<Vec<RemoteOutcome>> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let keys: Vec<RecordKey> = records.iter().map(|r| r.key).collect();
        let mut held = self.held(&keys)?;
        let mut in_batch: KeyMap<usize> = KeyMap::default();
        let mut changes: Vec<Change> = Vec::new();
        let mut outcomes = Vec::with_capacity(records.len());
        for (record, fetched) in records.into_iter().zip(held.iter_mut()) {
            let decoded = match codec::decode(record.key, &record.bytes) {
                Ok(r) => r,
                Err(e) => {
                    outcomes.push(RemoteOutcome::Invalid(e.to_string()));
                    continue;
                }
            };
            if let Some(body) = &decoded.body {
                let derived = RecordKey::derive(record.key.origin, record.key.kind, body);
                if derived != record.key {
                    outcomes.push(RemoteOutcome::Invalid(format!(
                        "key {} does not match the record's natural key (expected {derived})",
                        record.key
                    )));
                    continue;
                }
            }
            let incoming = record.item();
            let old = match in_batch.get(&record.key) {
                Some(&i) => Some(Held {
                    item: changes[i].record.item(),
                    tombstone: changes[i].record.is_tombstone(),
                    entries: changes[i].entries.clone(),
                    body_bytes: changes[i].record.body().to_vec(),
                }),
                None => fetched.clone(),
            };
            if let Some(o) = &old {
                if o.item.version > incoming.version {
                    outcomes.push(RemoteOutcome::Stale {
                        held: o.item.version,
                    });
                    continue;
                }
                if o.item.version == incoming.version {
                    outcomes.push(if o.item.digest == incoming.digest {
                        RemoteOutcome::Unchanged
                    } else {
                        RemoteOutcome::Conflict
                    });
                    continue;
                }
            }
            outcomes.push(RemoteOutcome::Applied);
            let entries = IndexEntries::of(record.key.kind, decoded.body.as_ref());
            match in_batch.get(&record.key) {
                Some(&i) => {
                    let first_old = changes[i].old.take();
                    changes[i] = Change::new(record, entries, first_old);
                }
                None => {
                    in_batch.insert(record.key, changes.len());
                    changes.push(Change::new(record, entries, fetched.take()));
                }
            }
        }
        self.commit(changes, Some(now_millis), &[])?;
        Ok(outcomes)
    }
}

/// Tallies write outcomes.
impl ApplyStats {
    /// Counts a list of local write outcomes.
    pub fn of(outcomes: &[WriteOutcome]) -> ApplyStats {
        let mut s = ApplyStats::default();
        for o in outcomes {
            match o {
                WriteOutcome::Inserted(..) => s.inserted += 1,
                WriteOutcome::Updated(..) => s.updated += 1,
                WriteOutcome::Unchanged(_) | WriteOutcome::NotFound(_) => s.unchanged += 1,
            }
        }
        s
    }

    /// Adds another tally.
    pub fn add(&mut self, other: ApplyStats) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}
