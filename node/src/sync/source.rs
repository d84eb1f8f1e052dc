//! The store as the [`RecordSource`] a session reads and writes.

use credithub_protocol::codec::EncodedRecord;
use credithub_protocol::digest::{NodePath, PartitionId};
use credithub_protocol::record::{RecordId, RecordKey};
use credithub_protocol::session::{Receipt, RecordSource};

use crate::store::{RemoteOutcome, Store, StoreError};

impl RecordSource for Store {
    fn member_key(&self, p: &PartitionId, id: &RecordId) -> Result<Option<RecordKey>, StoreError> {
        Store::member_key(self, p, id)
    }

    fn member_page(
        &self,
        p: &PartitionId,
        path: NodePath,
        after: Option<&RecordId>,
        limit: usize,
    ) -> Result<Vec<RecordKey>, StoreError> {
        Store::member_page(self, p, path, after, limit)
    }

    fn get_encoded(&self, key: &RecordKey) -> Result<Option<EncodedRecord>, StoreError> {
        Store::get_encoded(self, key)
    }

    fn apply(&self, records: Vec<EncodedRecord>) -> Result<Vec<Receipt>, StoreError> {
        Ok(self
            .apply_remote(records, crate::clock::now_millis())?
            .into_iter()
            .map(|o| match o {
                RemoteOutcome::Applied => Receipt::Applied,
                RemoteOutcome::Unchanged => Receipt::Unchanged,
                RemoteOutcome::Stale { held } => Receipt::Stale { held },
                RemoteOutcome::Conflict => Receipt::Conflict,
                RemoteOutcome::Invalid(why) => Receipt::Invalid(why),
            })
            .collect())
    }
}
