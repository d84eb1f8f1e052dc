//! The change log behind the change feed, and the index of publication windows that
//! lets the node note a window's end when no write happens.
//!
//! # Change log (`changes` family)
//! Every version a commit stores gets the next sequence number, in the same batch:
//! `sequence (u64 BE)` → `record key (22) ‖ version (u64 BE)`. Commits are serialised
//! by the write lock, so sequence numbers become visible in order. A reader of the
//! feed reads the record as it stands now; an entry whose version is no longer the
//! record's current one is superseded by a later entry and can be skipped.
//!
//! # Publication windows (`windows` family)
//! A record whose severity has a publication period is filed under
//! `severity (1) ‖ decision date (days since the epoch, u32 BE with the sign bit
//! flipped) ‖ record key` → empty, in the same batch as the record. The period itself
//! is configuration ([`PublicationRules`]), so the index stores what the end is
//! computed from, not the end. [`Store::note_closed_windows`] finds the records whose
//! window ended since it last ran and appends a change-log entry for each: that is how
//! a feed learns that a record left the public's view with no write at all.

use credithub_protocol::lifecycle::PublicationRules;
use credithub_protocol::record::{RecordBody, RecordKey, RecordKind, Severity, Version, KEY_LEN};
use credithub_protocol::Date;
use rocksdb::{IteratorMode, ReadOptions, WriteBatch};

use super::keys;
use super::{Result, Store};

/// Length of a change-log value: record key and version.
pub const CHANGE_VALUE_LEN: usize = KEY_LEN + 8;

/// Length of a windows-index key.
pub const WINDOW_KEY_LEN: usize = 1 + 4 + KEY_LEN;

/// `meta` key of the last day whose window ends have been noted (days since the epoch,
/// i32 BE).
pub(crate) const META_WINDOWS_THROUGH: &[u8] = b"windows-through";

/// One change-log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Its sequence number (the feed's cursor).
    pub seq: u64,
    /// The record.
    pub key: RecordKey,
    /// The version the entry was written for.
    pub version: Version,
}

/// The change-log value of a record version.
pub(crate) fn change_value(key: &RecordKey, version: Version) -> [u8; CHANGE_VALUE_LEN] {
    let mut v = [0u8; CHANGE_VALUE_LEN];
    v[..KEY_LEN].copy_from_slice(&key.to_bytes());
    v[KEY_LEN..].copy_from_slice(&version.0.to_be_bytes());
    v
}

/// What a windows-index entry is made of: severity and decision date.
pub(crate) type WindowKey = [u8; 5];

fn severity_byte(s: Severity) -> Option<u8> {
    match s {
        Severity::NotApplicable => None,
        Severity::Light => Some(1),
        Severity::General => Some(2),
        Severity::Serious => Some(3),
    }
}

fn day_bytes(d: Date) -> [u8; 4] {
    ((d.days_since_epoch() as u32) ^ 0x8000_0000).to_be_bytes()
}

fn day_of(b: [u8; 4]) -> Option<Date> {
    Date::from_days_since_epoch((u32::from_be_bytes(b) ^ 0x8000_0000) as i32)
}

/// The windows-index prefix of a record version: none for tombstones, objections and
/// code mappings, and for severities without a publication period.
pub(crate) fn window_of(kind: RecordKind, body: Option<&RecordBody>) -> Option<WindowKey> {
    let body = body?;
    if kind == RecordKind::OBJECTION || kind == RecordKind::SUBJECT_MAPPING {
        return None;
    }
    let mut k = [0u8; 5];
    k[0] = severity_byte(body.severity)?;
    k[1..].copy_from_slice(&day_bytes(body.decision_date));
    Some(k)
}

/// The windows-index key of a record under `window`.
pub(crate) fn window_entry(window: &WindowKey, key: &RecordKey) -> [u8; WINDOW_KEY_LEN] {
    let mut k = [0u8; WINDOW_KEY_LEN];
    k[..5].copy_from_slice(window);
    k[5..].copy_from_slice(&key.to_bytes());
    k
}

/// The record key and decision date of a windows-index key.
pub(crate) fn parse_window_entry(k: &[u8]) -> Option<(u8, Date, RecordKey)> {
    if k.len() != WINDOW_KEY_LEN {
        return None;
    }
    let day = day_of(k[1..5].try_into().ok()?)?;
    Some((k[0], day, RecordKey::from_bytes(&k[5..]).ok()?))
}

impl Store {
    /// The sequence number of the last change-log entry (0 if none).
    pub fn last_change(&self) -> Result<u64> {
        let cf = self.cf(keys::CF_CHANGES);
        let mut it = self.db.raw_iterator_cf(cf);
        it.seek_to_last();
        it.status().map_err(|e| self.db_err(e))?;
        Ok(match it.key() {
            Some(k) => u64::from_be_bytes(
                k.try_into()
                    .map_err(|_| self.corrupt("change log key", hex::encode(k)))?,
            ),
            None => 0,
        })
    }

    /// A receiver that sees the last sequence number change after each commit (for
    /// long polls).
    pub fn watch_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes_tx.subscribe()
    }

    /// Adds change-log entries for `versions` to `batch`, numbered from the next
    /// sequence number; returns the last one. Callers hold the write lock and call
    /// [`changes_written`](Self::changes_written) once the batch is written.
    pub(crate) fn log_changes(
        &self,
        batch: &mut WriteBatch,
        versions: impl IntoIterator<Item = (RecordKey, Version)>,
    ) -> u64 {
        let cf = self.cf(keys::CF_CHANGES);
        let mut seq = *self.changes_tx.borrow();
        for (key, version) in versions {
            seq += 1;
            batch.put_cf(cf, seq.to_be_bytes(), change_value(&key, version));
        }
        seq
    }

    /// Announces that the change log now ends at `last`.
    pub(crate) fn changes_written(&self, last: u64) {
        self.changes_tx.send_if_modified(|held| {
            let moved = *held != last;
            *held = last;
            moved
        });
    }

    /// Up to `limit` change-log entries after `since`, in order.
    pub fn changes_after(&self, since: u64, limit: usize) -> Result<Vec<Change>> {
        let cf = self.cf(keys::CF_CHANGES);
        let start = since.saturating_add(1).to_be_bytes();
        let mut out = Vec::new();
        for entry in self
            .db
            .iterator_cf(cf, IteratorMode::From(&start, rocksdb::Direction::Forward))
        {
            if out.len() == limit {
                break;
            }
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            let damaged = || self.corrupt("change log entry", hex::encode(&k));
            let seq = u64::from_be_bytes(k.as_ref().try_into().map_err(|_| damaged())?);
            if v.len() != CHANGE_VALUE_LEN {
                return Err(damaged());
            }
            let key = RecordKey::from_bytes(&v[..KEY_LEN]).map_err(|_| damaged())?;
            let version = Version(u64::from_be_bytes(
                v[KEY_LEN..].try_into().map_err(|_| damaged())?,
            ));
            out.push(Change { seq, key, version });
        }
        Ok(out)
    }

    /// The last day whose window ends have been noted: the stored mark, else the day
    /// the store began logging changes (its creation, or its migration to a format
    /// with a change log).
    fn windows_through(&self) -> Result<Date> {
        let held = self
            .db
            .get_cf(self.cf(keys::CF_META), META_WINDOWS_THROUGH)
            .map_err(|e| self.db_err(e))?;
        if let Some(v) = held {
            let days: [u8; 4] = v
                .as_slice()
                .try_into()
                .map_err(|_| self.corrupt("metadata", "windows-through is malformed".into()))?;
            return Date::from_days_since_epoch(i32::from_be_bytes(days))
                .ok_or_else(|| self.corrupt("metadata", "windows-through is out of range".into()));
        }
        let began = self
            .meta
            .migrations
            .iter()
            .find(|m| m.to == super::migrate::FIRST_FORMAT_WITH_CHANGES)
            .map(|m| m.at_ms)
            .or(self.meta.created_at_ms)
            .unwrap_or_else(crate::clock::now_millis);
        Date::from_millis(began)
            .and_then(|d| d.add_days(-1))
            .ok_or_else(|| self.corrupt("metadata", "the store's start is out of range".into()))
    }

    /// Notes every publication window that ended after the last day noted and before
    /// `today` (under `rules`): appends a change-log entry for each such record still
    /// held, so that feeds see it leave the public's view, and records `today - 1` as
    /// noted, in one batch. Returns the number of entries appended. Cheap when nothing
    /// ended: one range scan per severity over the decision dates concerned.
    pub fn note_closed_windows(&self, rules: &PublicationRules, today: Date) -> Result<u64> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let Some(last_ended) = today.add_days(-1) else {
            return Ok(0);
        };
        let through = self.windows_through()?;
        if through >= last_ended {
            return Ok(0);
        }
        // Windows whose last day lies in (through, last_ended].
        let windows = self.cf(keys::CF_WINDOWS);
        let mut ended: Vec<RecordKey> = Vec::new();
        for severity in [Severity::Light, Severity::General, Severity::Serious] {
            let Some(sev) = severity_byte(severity) else {
                continue;
            };
            let Some(months) = rules.max_months(severity) else {
                continue;
            };
            if months == 0 {
                // Never published: no window to end.
                continue;
            }
            // The end is the decision date plus `months`, less a day (months clamp to
            // the month's length): decisions between a few days before `through -
            // months` and `last_ended - months` cover every end in the range; each
            // candidate is checked exactly.
            let (Some(from), Some(to)) = (
                through.sub_months(months).and_then(|d| d.add_days(-4)),
                last_ended.sub_months(months).and_then(|d| d.add_days(4)),
            ) else {
                continue;
            };
            let mut start = vec![sev];
            start.extend_from_slice(&day_bytes(from));
            let mut end = vec![sev];
            end.extend_from_slice(&day_bytes(to));
            let mut ro = ReadOptions::default();
            ro.set_iterate_upper_bound(keys::prefix_end(&end).unwrap_or_else(|| vec![0xff; 6]));
            for entry in self.db.iterator_cf_opt(
                windows,
                ro,
                IteratorMode::From(&start, rocksdb::Direction::Forward),
            ) {
                let (k, _) = entry.map_err(|e| self.db_err(e))?;
                let (_, decided, key) = parse_window_entry(&k)
                    .ok_or_else(|| self.corrupt("windows index entry", hex::encode(&k)))?;
                let Some(last_day) = rules.window_end(severity, decided) else {
                    continue;
                };
                if through < last_day && last_day <= last_ended {
                    ended.push(key);
                }
            }
        }
        ended.sort_unstable();
        let mut versions = Vec::with_capacity(ended.len());
        for key in &ended {
            if let Some(record) = self.get_encoded(key)? {
                versions.push((*key, record.header().version));
            }
        }
        let mut batch = WriteBatch::default();
        let appended = versions.len() as u64;
        let last = self.log_changes(&mut batch, versions);
        batch.put_cf(
            self.cf(keys::CF_META),
            META_WINDOWS_THROUGH,
            last_ended.days_since_epoch().to_be_bytes(),
        );
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(self.sync_writes);
        self.db.write_opt(batch, &wo).map_err(|e| self.db_err(e))?;
        self.changes_written(last);
        Ok(appended)
    }
}
