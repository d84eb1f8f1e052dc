//! Rows refused at import, counted per unit and month (`refusals` family, store format
//! 7): only the import sees them, and the accounts per reporting unit
//! ([`crate::query::accounts`]) report them with the unit's records.
//!
//! A key is the month (year, month), the unit's role, the origin and a hash of the
//! unit's name as the rows write it (its USCC, when rows give one, is kept in the
//! value); its value is a
//! [`RefusalTally`] (postcard). Adding to a tally reads and rewrites it under the
//! store's write lock, so concurrent imports add up.

use std::collections::BTreeMap;

use credithub_protocol::accounts::{Month, UnitMonth, UnitRole};
use credithub_protocol::DivisionCode;
use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};

use super::{keys, Result, Store};

/// Refused rows of one unit, role, origin and month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalTally {
    /// The month the rows concern (their decision month, else the import's).
    pub month: Month,
    /// The unit's role in the rows.
    pub role: UnitRole,
    /// The origin the rows were imported at.
    pub origin: DivisionCode,
    /// The unit's name as the rows give it (`(unnamed)` when they give none).
    pub name: String,
    /// Its USCC as the rows give it (unvalidated text).
    pub uscc: Option<String>,
    /// Rows refused.
    pub rows: u64,
    /// Of which by record kind (its code).
    pub by_kind: BTreeMap<u16, u64>,
    /// By reason (see [`UnitMonth::add_reason`]).
    pub reasons: BTreeMap<String, u64>,
}

impl RefusalTally {
    /// The tally's key in the `refusals` family.
    pub fn key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(24);
        k.extend_from_slice(&self.month.year.to_be_bytes());
        k.push(self.month.month);
        k.push(match self.role {
            UnitRole::Authority => 0,
            UnitRole::Source => 1,
        });
        k.extend_from_slice(&self.origin.as_u32().to_be_bytes());
        k.extend_from_slice(&blake3::hash(self.name.trim().as_bytes()).as_bytes()[..16]);
        k
    }

    /// Adds another tally of the same key.
    pub fn merge(&mut self, other: &RefusalTally) {
        if self.uscc.is_none() {
            self.uscc.clone_from(&other.uscc);
        }
        self.rows += other.rows;
        for (k, n) in &other.by_kind {
            *self.by_kind.entry(*k).or_default() += n;
        }
        let mut m = UnitMonth {
            reasons: std::mem::take(&mut self.reasons),
            ..UnitMonth::default()
        };
        for (r, n) in &other.reasons {
            m.add_reason(r, *n);
        }
        self.reasons = m.reasons;
    }
}

impl Store {
    /// Adds refused rows to their units' tallies, in one atomic write.
    pub fn add_refusals(&self, tallies: &[RefusalTally]) -> Result<()> {
        if tallies.is_empty() {
            return Ok(());
        }
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let cf = self.cf(keys::CF_REFUSALS);
        let mut merged: BTreeMap<Vec<u8>, RefusalTally> = BTreeMap::new();
        for t in tallies {
            let key = t.key();
            if let Some(m) = merged.get_mut(&key) {
                m.merge(t);
                continue;
            }
            let mut held = match self.db.get_cf(cf, &key).map_err(|e| self.db_err(e))? {
                Some(bytes) => self.decode_tally(&key, &bytes)?,
                None => RefusalTally {
                    rows: 0,
                    by_kind: BTreeMap::new(),
                    reasons: BTreeMap::new(),
                    ..t.clone()
                },
            };
            held.merge(t);
            merged.insert(key, held);
        }
        let mut batch = WriteBatch::default();
        for (key, t) in &merged {
            let bytes = postcard::to_stdvec(t)
                .map_err(|e| self.corrupt("refusal tally", format!("encoding: {e}")))?;
            batch.put_cf(cf, key, bytes);
        }
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(self.sync_writes);
        self.db.write_opt(batch, &wo).map_err(|e| self.db_err(e))
    }

    /// Every tally of the months from `from` on.
    pub fn refusals(&self, from: Month) -> Result<Vec<RefusalTally>> {
        let cf = self.cf(keys::CF_REFUSALS);
        let mut start = from.year.to_be_bytes().to_vec();
        start.push(from.month);
        let mut out = Vec::new();
        let iter = self.db.iterator_cf(
            cf,
            rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward),
        );
        for entry in iter {
            let (key, value) = entry.map_err(|e| self.db_err(e))?;
            out.push(self.decode_tally(&key, &value)?);
        }
        Ok(out)
    }

    /// Checks every tally: it decodes and is filed under its own key. Returns the
    /// number of tallies and the problems found.
    pub fn verify_refusals(&self) -> Result<(u64, Vec<String>)> {
        let cf = self.cf(keys::CF_REFUSALS);
        let (mut n, mut problems) = (0, Vec::new());
        for entry in self.db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
            let (key, value) = entry.map_err(|e| self.db_err(e))?;
            n += 1;
            match postcard::from_bytes::<RefusalTally>(&value) {
                Ok(t) if t.key() == key.as_ref() => {}
                Ok(t) => problems.push(format!(
                    "refusal tally of {} ({}, {}) filed under another key {}",
                    t.name,
                    t.origin,
                    t.month,
                    hex::encode(&key)
                )),
                Err(e) => problems.push(format!(
                    "refusal tally {} does not decode: {e}",
                    hex::encode(&key)
                )),
            }
        }
        Ok((n, problems))
    }

    fn decode_tally(&self, key: &[u8], bytes: &[u8]) -> Result<RefusalTally> {
        postcard::from_bytes(bytes)
            .map_err(|e| self.corrupt("refusal tally", format!("{}: {e}", hex::encode(key))))
    }
}
