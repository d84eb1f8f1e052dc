//! List entries under review at their origin ([`credithub_protocol::review`]).
//!
//! A draft is a record version kept in the `drafts` family under its record key: it
//! is in no index (digest, subject), so it never travels, no query finds it and no
//! measure counts it. Each step of the review writes the next version of the draft;
//! confirmation writes the entry as a record and removes the draft in the same atomic
//! batch ([`Store::publish_draft`]). A rejected draft stays, for the record of it,
//! until a new proposal of the same entry replaces it.

use credithub_protocol::codec::{self, EncodedRecord};
use credithub_protocol::record::{Record, RecordBody, RecordKey, RecordKind, Version};
use rocksdb::IteratorMode;

use super::keys;
use super::{Result, Store, WriteOutcome};

impl Store {
    /// The draft of `key`, if one is under review (or was rejected).
    pub fn draft(&self, key: &RecordKey) -> Result<Option<Record>> {
        let cf = self.cf(keys::CF_DRAFTS);
        let Some(bytes) = self
            .db
            .get_pinned_cf(cf, key.to_bytes())
            .map_err(|e| self.db_err(e))?
        else {
            return Ok(None);
        };
        codec::decode(*key, &bytes)
            .map(Some)
            .map_err(|e| self.corrupt("draft", format!("{key}: {e}")))
    }

    /// Every draft, of `kind` only when given, in key order.
    pub fn drafts(&self, kind: Option<RecordKind>) -> Result<Vec<Record>> {
        let cf = self.cf(keys::CF_DRAFTS);
        let mut out = Vec::new();
        for entry in self.db.iterator_cf(cf, IteratorMode::Start) {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            let key =
                RecordKey::from_bytes(&k).map_err(|e| self.corrupt("draft key", e.to_string()))?;
            if kind.is_some_and(|kind| kind != key.kind) {
                continue;
            }
            let record =
                codec::decode(key, &v).map_err(|e| self.corrupt("draft", format!("{key}: {e}")))?;
            out.push(record);
        }
        Ok(out)
    }

    /// Writes the next version of a draft of this origin (a proposal, a review, a
    /// rejection): its key derives from the body, its version follows both the draft
    /// and the record held under that key. Returns the key and version written.
    pub fn put_draft(
        &self,
        kind: RecordKind,
        body: &RecordBody,
        now_millis: u64,
    ) -> Result<(RecordKey, Version)> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let key = RecordKey::derive(self.jurisdiction, kind, body);
        let previous = [
            self.draft(&key)?.map(|d| d.version),
            self.get_encoded(&key)?.map(|r| r.header().version),
        ]
        .into_iter()
        .flatten()
        .max();
        let version = Version::next(previous, now_millis);
        let record = EncodedRecord::of_body(key, version, Some(body));
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(self.sync_writes);
        self.db
            .put_cf_opt(self.cf(keys::CF_DRAFTS), key.to_bytes(), &record.bytes, &wo)
            .map_err(|e| self.db_err(e))?;
        Ok((key, version))
    }

    /// Publishes a confirmed draft: writes `body` (the draft's body with its
    /// confirmation) as the record's next version and removes the draft, in one atomic
    /// write.
    pub fn publish_draft(
        &self,
        kind: RecordKind,
        body: RecordBody,
        now_millis: u64,
    ) -> Result<WriteOutcome> {
        let key = RecordKey::derive(self.jurisdiction, kind, &body);
        // The record's version must also follow the draft's.
        let after_draft = self
            .draft(&key)?
            .map_or(now_millis, |d| now_millis.max(d.version.millis() + 1));
        let prepared = self.prepare_local(vec![(kind, body)], after_draft);
        let outcomes = self.commit_local_clearing(prepared, after_draft, &[key])?;
        outcomes
            .into_iter()
            .next()
            .ok_or_else(|| self.corrupt("draft", format!("{key}: publishing wrote nothing")))
    }
}
