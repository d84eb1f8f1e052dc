//! The audit log: an append-only, hash-chained list of who asked what about natural
//! persons, and why.
//!
//! Entry *n* stores the BLAKE3 hash of entry *n−1*; its own hash covers all its fields
//! and that link. Changing, removing or reordering any entry breaks the chain from
//! there on, which [`Store::verify_audit`] finds. (Someone who can rewrite the whole
//! store can rewrite the whole chain; shipping the latest hash elsewhere — the
//! national hub, a printout — pins it.)

use rocksdb::{Direction, IteratorMode};
use serde::{Deserialize, Serialize};

use super::keys;
use super::{Result, Store};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When (ms since the epoch).
    pub at_ms: u64,
    /// Who: role, name and jurisdiction from the certificate.
    pub who: String,
    /// The stated purpose.
    pub purpose: String,
    /// What was done (`query`, `check`, `report`, …).
    pub action: String,
    /// About whom: the identifier in full (the log is for auditors).
    pub subject: String,
    /// Records returned.
    pub records: u32,
    /// The previous entry's hash (zeros for the first).
    pub prev: [u8; 32],
    /// This entry's hash.
    pub hash: [u8; 32],
}

impl AuditEntry {
    fn compute_hash(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new_derive_key("credithub audit entry v1");
        h.update(&self.seq.to_be_bytes());
        h.update(&self.at_ms.to_be_bytes());
        for field in [&self.who, &self.purpose, &self.action, &self.subject] {
            h.update(&(field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        h.update(&self.records.to_be_bytes());
        h.update(&self.prev);
        *h.finalize().as_bytes()
    }
}

/// What [`Store::verify_audit`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCheck {
    /// Entries checked.
    pub entries: u64,
    /// The hash of the last entry (hex), to compare with a copy kept elsewhere.
    pub head: String,
    /// The first entry that does not chain, and why.
    pub broken: Option<(u64, String)>,
}

impl Store {
    /// Appends an entry (its sequence number, link and hash are filled in here).
    pub fn audit(
        &self,
        at_ms: u64,
        who: &str,
        purpose: &str,
        action: &str,
        subject: &str,
        records: u32,
    ) -> Result<AuditEntry> {
        let _one_at_a_time = self.audit_lock.lock().unwrap_or_else(|p| p.into_inner());
        let cf = self.cf(keys::CF_AUDIT);
        let last = match self.db.iterator_cf(cf, IteratorMode::End).next() {
            None => None,
            Some(entry) => {
                let (_, v) = entry.map_err(|e| self.db_err(e))?;
                Some(
                    postcard::from_bytes::<AuditEntry>(&v)
                        .map_err(|e| self.corrupt("audit entry", e.to_string()))?,
                )
            }
        };
        let mut entry = AuditEntry {
            seq: last.as_ref().map_or(1, |l| l.seq + 1),
            at_ms,
            who: who.to_string(),
            purpose: purpose.to_string(),
            action: action.to_string(),
            subject: subject.to_string(),
            records,
            prev: last.map_or([0; 32], |l| l.hash),
            hash: [0; 32],
        };
        entry.hash = entry.compute_hash();
        let bytes =
            postcard::to_stdvec(&entry).map_err(|e| self.corrupt("audit entry", e.to_string()))?;
        self.db
            .put_cf(cf, entry.seq.to_be_bytes(), bytes)
            .map_err(|e| self.db_err(e))?;
        Ok(entry)
    }

    /// Up to `limit` entries from sequence number `from` on.
    pub fn audit_entries(&self, from: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        let cf = self.cf(keys::CF_AUDIT);
        let start = from.to_be_bytes();
        let mut out = Vec::new();
        for entry in self
            .db
            .iterator_cf(cf, IteratorMode::From(&start, Direction::Forward))
            .take(limit)
        {
            let (_, v) = entry.map_err(|e| self.db_err(e))?;
            out.push(
                postcard::from_bytes(&v).map_err(|e| self.corrupt("audit entry", e.to_string()))?,
            );
        }
        Ok(out)
    }

    /// Checks the whole chain: sequence numbers without gaps, each entry's link to
    /// its predecessor, each entry's hash over its content.
    pub fn verify_audit(&self) -> Result<AuditCheck> {
        let cf = self.cf(keys::CF_AUDIT);
        let mut check = AuditCheck::default();
        let mut prev = [0u8; 32];
        for entry in self.db.iterator_cf(cf, IteratorMode::Start) {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            check.entries += 1;
            let n = check.entries;
            let broken = match postcard::from_bytes::<AuditEntry>(&v) {
                Err(e) => Some(format!("does not decode: {e}")),
                Ok(e) if k.as_ref() != e.seq.to_be_bytes() || e.seq != n => {
                    Some(format!("sequence number {} where {n} was expected", e.seq))
                }
                Ok(e) if e.prev != prev => Some("does not link to the entry before it".into()),
                Ok(e) if e.hash != e.compute_hash() => {
                    Some("its content does not match its hash (altered)".into())
                }
                Ok(e) => {
                    prev = e.hash;
                    None
                }
            };
            if let Some(reason) = broken {
                check.broken = Some((n, reason));
                break;
            }
        }
        check.head = hex::encode(prev);
        Ok(check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credithub_protocol::DivisionCode;

    #[test]
    fn the_chain_verifies_and_a_tampered_entry_breaks_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path(), Some(DivisionCode::NATIONAL)).expect("open");
        for i in 0..5u32 {
            store
                .audit(
                    1_000 + u64::from(i),
                    "client:portal@320000",
                    "贷款审查",
                    "query",
                    "11010519491231002X",
                    i,
                )
                .expect("append");
        }
        let ok = store.verify_audit().expect("verify");
        assert_eq!((ok.entries, ok.broken.clone()), (5, None));
        // Tamper: change the purpose of entry 3, keeping its stored hash.
        let cf = store.cf(keys::CF_AUDIT);
        let mut e = store.audit_entries(3, 1).expect("read").remove(0);
        e.purpose = "其他".into();
        let bytes = postcard::to_stdvec(&e).expect("encode");
        store
            .db
            .put_cf(cf, 3u64.to_be_bytes(), bytes)
            .expect("tamper");
        let bad = store.verify_audit().expect("verify");
        assert_eq!(bad.broken.as_ref().map(|b| b.0), Some(3), "{bad:?}");
        // Removing an entry breaks it too.
        store.db.delete_cf(cf, 3u64.to_be_bytes()).expect("delete");
        let bad = store.verify_audit().expect("verify");
        assert_eq!(bad.broken.as_ref().map(|b| b.0), Some(3), "{bad:?}");
    }
}
