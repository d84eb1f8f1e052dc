//! Reads: a record by key, every record about a subject, scans by origin and kind.

use credithub_protocol::codec::{self, EncodedRecord};
use credithub_protocol::record::{Record, RecordBody, RecordKey, RecordKind, Version, KEY_LEN};
use credithub_protocol::{DivisionCode, SubjectId};
use rocksdb::{Direction, IteratorMode, ReadOptions};

use super::keys;
use super::{Result, Store};

/// Which records a scan visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Records whose origin lies inside this jurisdiction (national: all).
    pub origin: DivisionCode,
    /// Only this kind, if given.
    pub kind: Option<RecordKind>,
    /// Whether tombstones are included.
    pub tombstones: bool,
}

impl Store {
    /// The current version of a record in encoded form (tombstones included).
    pub fn get_encoded(&self, key: &RecordKey) -> Result<Option<EncodedRecord>> {
        let cf = self.cf(keys::CF_RECORDS);
        let value = self
            .db
            .get_cf(cf, key.to_bytes())
            .map_err(|e| self.db_err(e))?;
        Ok(value.map(|bytes| EncodedRecord { key: *key, bytes }))
    }

    /// The current version of a record, decoded and its digest checked (tombstones included).
    pub fn get(&self, key: &RecordKey) -> Result<Option<Record>> {
        match self.get_encoded(key)? {
            None => Ok(None),
            Some(enc) => codec::decode(*key, &enc.bytes)
                .map(Some)
                .map_err(|e| self.corrupt("record", format!("{key}: {e}"))),
        }
    }

    /// Every live record about a subject (under its main or any further identifier),
    /// whatever its origin, in key order.
    pub fn by_subject(&self, subject: &SubjectId) -> Result<Vec<Record>> {
        let keys = self.subject_keys(subject)?;
        let mut out = Vec::with_capacity(keys.len());
        self.fetch_decoded(&keys, |record| out.push(record))?;
        Ok(out)
    }

    /// [`by_subject`](Self::by_subject) with each record's arrival here (see
    /// [`arrival`](Self::arrival)), looked up in one batched read.
    pub fn by_subject_arrived(&self, subject: &SubjectId) -> Result<Vec<(Record, u64)>> {
        let records = self.by_subject(subject)?;
        let keys: Vec<(RecordKey, Version)> = records.iter().map(|r| (r.key, r.version)).collect();
        let arrivals = self.arrivals(&keys)?;
        Ok(records.into_iter().zip(arrivals).collect())
    }

    /// The current versions, encoded, of the live records about a subject that
    /// originate inside `within`, in key order.
    pub fn by_subject_encoded(
        &self,
        subject: &SubjectId,
        within: DivisionCode,
    ) -> Result<Vec<EncodedRecord>> {
        let keys: Vec<RecordKey> = self
            .subject_keys(subject)?
            .into_iter()
            .filter(|k| within.contains(k.origin))
            .collect();
        let cf = self.cf(keys::CF_RECORDS);
        let raw: Vec<[u8; KEY_LEN]> = keys.iter().map(|k| k.to_bytes()).collect();
        let values = self
            .db
            .batched_multi_get_cf(cf, raw.iter(), is_sorted(&raw));
        let mut out = Vec::with_capacity(keys.len());
        for (key, value) in keys.iter().zip(values) {
            let Some(bytes) = value.map_err(|e| self.db_err(e))? else {
                return Err(
                    self.corrupt("subject index entry", format!("{key} points to no record"))
                );
            };
            let record = EncodedRecord {
                key: *key,
                bytes: bytes.to_vec(),
            };
            if !record.is_tombstone() {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// The keys of every record the subject index lists for a subject, in key order
    /// (an index scan: no record is read).
    pub fn subject_keys(&self, subject: &SubjectId) -> Result<Vec<RecordKey>> {
        self.subject_keys_raw(&subject.index_key())
    }

    /// [`subject_keys`](Self::subject_keys) by the subject's index key
    /// ([`SubjectId::index_key`]).
    pub fn subject_keys_raw(&self, prefix: &[u8]) -> Result<Vec<RecordKey>> {
        self.subject_keys_limited(prefix, usize::MAX)
    }

    /// The first `limit` keys of [`subject_keys_raw`](Self::subject_keys_raw).
    pub fn subject_keys_limited(&self, prefix: &[u8], limit: usize) -> Result<Vec<RecordKey>> {
        let cf = self.cf(keys::CF_SUBJECTS);
        let mut ro = ReadOptions::default();
        if let Some(end) = keys::prefix_end(prefix) {
            ro.set_iterate_upper_bound(end);
        }
        let mut record_keys = Vec::new();
        let mut it = self.db.raw_iterator_cf_opt(cf, ro);
        it.seek(prefix);
        while let Some(k) = it.key() {
            if record_keys.len() == limit {
                break;
            }
            if k.len() != prefix.len() + KEY_LEN {
                // A longer identifier sharing the prefix cannot exist (lengths are fixed
                // per identifier kind), so this is damage.
                return Err(self.corrupt("subject index entry", hex::encode(k)));
            }
            let key = RecordKey::from_bytes(&k[prefix.len()..])
                .map_err(|e| self.corrupt("subject index entry", e.to_string()))?;
            record_keys.push(key);
            it.next();
        }
        it.status().map_err(|e| self.db_err(e))?;
        Ok(record_keys)
    }

    /// The live records of `keys` (sorted), read in one batched read, in key order.
    pub fn live_records(&self, keys: &[RecordKey]) -> Result<Vec<Record>> {
        let mut out = Vec::with_capacity(keys.len());
        self.fetch_decoded(keys, |r| out.push(r))?;
        Ok(out)
    }

    /// Reads the records of `keys` (sorted) in one batched read and hands each live
    /// one, decoded, to `f`. Records were checked (digest, canonical form) when they
    /// were stored and RocksDB checksums its blocks, so reads decode the body without
    /// hashing it again; `verify` still recomputes every digest.
    fn fetch_decoded(&self, keys: &[RecordKey], mut f: impl FnMut(Record)) -> Result<()> {
        let cf = self.cf(keys::CF_RECORDS);
        let raw: Vec<[u8; KEY_LEN]> = keys.iter().map(|k| k.to_bytes()).collect();
        let values = self
            .db
            .batched_multi_get_cf(cf, raw.iter(), is_sorted(&raw));
        for (key, value) in keys.iter().zip(values) {
            let Some(bytes) = value.map_err(|e| self.db_err(e))? else {
                return Err(
                    self.corrupt("subject index entry", format!("{key} points to no record"))
                );
            };
            let record = self.decode_stored(*key, &bytes)?;
            if record.body.is_some() {
                f(record);
            }
        }
        Ok(())
    }

    /// Decodes a stored record version without re-checking its digest (see
    /// [`fetch_decoded`](Self::fetch_decoded)).
    fn decode_stored(&self, key: RecordKey, bytes: &[u8]) -> Result<Record> {
        let header =
            codec::read_header(bytes).map_err(|e| self.corrupt("record", format!("{key}: {e}")))?;
        let body: Option<RecordBody> = postcard::from_bytes(&bytes[codec::HEADER_LEN..])
            .map_err(|e| self.corrupt("record", format!("{key}: {e}")))?;
        Ok(Record {
            key,
            version: header.version,
            body,
        })
    }

    /// Visits the records selected by `scan`, in key order, until `f` returns false.
    pub fn scan(&self, scan: Scan, mut f: impl FnMut(Record) -> bool) -> Result<()> {
        let (start, end) = origin_range(scan.origin);
        let cf = self.cf(keys::CF_RECORDS);
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(end.to_be_bytes().to_vec());
        for entry in self.db.iterator_cf_opt(
            cf,
            ro,
            IteratorMode::From(&start.to_be_bytes(), Direction::Forward),
        ) {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            let key =
                RecordKey::from_bytes(&k).map_err(|e| self.corrupt("record key", e.to_string()))?;
            if scan.kind.is_some_and(|kind| kind != key.kind) {
                continue;
            }
            let record = codec::decode(key, &v)
                .map_err(|e| self.corrupt("record", format!("{key}: {e}")))?;
            if (record.body.is_some() || scan.tombstones) && !f(record) {
                break;
            }
        }
        Ok(())
    }

    /// Counts live records and tombstones selected by `scan` (without decoding bodies).
    pub fn count(&self, origin: DivisionCode, kind: Option<RecordKind>) -> Result<(u64, u64)> {
        let (start, end) = origin_range(origin);
        let cf = self.cf(keys::CF_RECORDS);
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(end.to_be_bytes().to_vec());
        let (mut live, mut dead) = (0, 0);
        for entry in self.db.iterator_cf_opt(
            cf,
            ro,
            IteratorMode::From(&start.to_be_bytes(), Direction::Forward),
        ) {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            let key =
                RecordKey::from_bytes(&k).map_err(|e| self.corrupt("record key", e.to_string()))?;
            if kind.is_some_and(|kind| kind != key.kind) {
                continue;
            }
            if v.get(codec::HEADER_LEN..) == Some(&[0u8][..]) {
                dead += 1;
            } else {
                live += 1;
            }
        }
        Ok((live, dead))
    }
}

/// Whether keys are in ascending order (RocksDB's batched multi-get is told so).
fn is_sorted<T: Ord>(keys: &[T]) -> bool {
    keys.windows(2).all(|w| w[0] <= w[1])
}

/// The range `[start, end)` of origin codes inside a jurisdiction.
fn origin_range(j: DivisionCode) -> (u32, u32) {
    use credithub_protocol::ids::DivisionLevel;
    let v = j.as_u32();
    match j.level() {
        DivisionLevel::National => (0, u32::MAX),
        DivisionLevel::Province => (v, v + 10_000),
        DivisionLevel::Prefecture => (v, v + 100),
        DivisionLevel::County => (v, v + 1),
    }
}

impl Store {
    /// When the current version of a record arrived here (ms since the epoch): the
    /// time it was received from a peer, or, for a local record, its version's time.
    pub fn arrival(&self, key: &RecordKey, version: Version) -> Result<u64> {
        let cf = self.cf(keys::CF_ARRIVALS);
        match self
            .db
            .get_pinned_cf(cf, key.to_bytes())
            .map_err(|e| self.db_err(e))?
        {
            Some(v) if v.len() == 8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&v);
                Ok(u64::from_be_bytes(b))
            }
            _ => Ok(version.millis()),
        }
    }

    /// [`arrival`](Self::arrival) of many records in one batched read (fastest when
    /// the keys are sorted), in the order given.
    pub fn arrivals(&self, records: &[(RecordKey, Version)]) -> Result<Vec<u64>> {
        let cf = self.cf(keys::CF_ARRIVALS);
        let raw: Vec<[u8; KEY_LEN]> = records.iter().map(|(k, _)| k.to_bytes()).collect();
        let values = self
            .db
            .batched_multi_get_cf(cf, raw.iter(), is_sorted(&raw));
        records
            .iter()
            .zip(values)
            .map(|((_, version), value)| {
                Ok(match value.map_err(|e| self.db_err(e))? {
                    Some(v) if v.len() == 8 => {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&v);
                        u64::from_be_bytes(b)
                    }
                    _ => version.millis(),
                })
            })
            .collect()
    }
}

impl Store {
    /// Visits the live records of one `kind` whose origin lies inside `within`, in key
    /// order, starting after `after` when given, until `f` returns false.
    ///
    /// Keys start with origin then kind, so the records of a kind lie in one run per
    /// origin: the scan seeks to each origin's run and skips the other kinds' records
    /// with one seek instead of reading them. A page of a list reads its own records
    /// and a seek per origin passed, however large the store.
    pub fn scan_kind(
        &self,
        within: DivisionCode,
        kind: RecordKind,
        after: Option<RecordKey>,
        mut f: impl FnMut(Record) -> bool,
    ) -> Result<()> {
        let (start, end) = origin_range(within);
        let cf = self.cf(keys::CF_RECORDS);
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(end.to_be_bytes().to_vec());
        let mut it = self.db.raw_iterator_cf_opt(cf, ro);
        match after {
            Some(a) if within.contains(a.origin) && a.kind == kind => {
                it.seek(a.to_bytes());
                if it.key() == Some(&a.to_bytes()[..]) {
                    it.next();
                }
            }
            _ => it.seek(run_start(start, kind)),
        }
        while let Some(k) = it.key() {
            let key =
                RecordKey::from_bytes(k).map_err(|e| self.corrupt("record key", e.to_string()))?;
            let origin = key.origin.as_u32();
            if key.kind.code() < kind.code() {
                it.seek(run_start(origin, kind));
                continue;
            }
            if key.kind != kind {
                match origin.checked_add(1) {
                    Some(next) if next < end => it.seek(run_start(next, kind)),
                    _ => break,
                }
                continue;
            }
            let value = it.value().unwrap_or_default();
            let record = self.decode_stored(key, value)?;
            if record.body.is_some() && !f(record) {
                break;
            }
            it.next();
        }
        it.status().map_err(|e| self.db_err(e))?;
        Ok(())
    }
}

/// The first key of an origin's run of one kind.
fn run_start(origin: u32, kind: RecordKind) -> [u8; 6] {
    let mut b = [0u8; 6];
    b[..4].copy_from_slice(&origin.to_be_bytes());
    b[4..].copy_from_slice(&kind.code().to_be_bytes());
    b
}
