//! The node's side of reconciliation: its store read as a [`DigestView`], and the
//! carrying out of an [`Outcome`] between two stores.
//!
//! The network shell (QUIC links, scheduling) drives the same pieces; here they are
//! usable directly, e.g. between two stores in one process.

mod source;
mod view;

use credithub_protocol::codec::EncodedRecord;
use credithub_protocol::digest::{NodePath, PartitionId};
use credithub_protocol::sync::Outcome;
use credithub_protocol::RecordKey;

use crate::store::{RemoteOutcome, Result, Store};

/// Copies the record versions an outcome calls for from `from` into `to`: what
/// `from`'s side decided to send (`send`) or `to`'s side decided to fetch.
/// Returns each record's outcome at the receiver.
pub fn transfer(
    from: &Store,
    to: &Store,
    keys: impl IntoIterator<Item = RecordKey>,
) -> Result<Vec<RemoteOutcome>> {
    let mut batch: Vec<EncodedRecord> = Vec::new();
    let mut outcomes = Vec::new();
    for key in keys {
        if let Some(record) = from.get_encoded(&key)? {
            batch.push(record);
        }
        if batch.len() == 1024 {
            let full = std::mem::take(&mut batch);
            outcomes.extend(to.apply_remote(full, crate::clock::now_millis())?);
        }
    }
    outcomes.extend(to.apply_remote(batch, crate::clock::now_millis())?);
    Ok(outcomes)
}

/// The record keys, as `holder` knows them, of an outcome's `send` (or `fetch`) set
/// (a subjects partition names its members by id alone; their origins are in the
/// holder's `regional` family).
pub fn keys_of(
    holder: &Store,
    set: &std::collections::BTreeSet<(
        credithub_protocol::PartitionId,
        credithub_protocol::record::RecordId,
    )>,
) -> Result<Vec<RecordKey>> {
    let mut out = Vec::with_capacity(set.len());
    for (p, id) in set {
        if let Some(key) = holder.member_key(p, id)? {
            out.push(key);
        }
    }
    Ok(out)
}

/// Copies every record below a subtree from `from` into `to`, in key order and in
/// bounded batches (a subtree may hold millions of records).
pub fn transfer_range(from: &Store, to: &Store, p: &PartitionId, path: NodePath) -> Result<u64> {
    let mut batch: Vec<RecordKey> = Vec::with_capacity(RANGE_BATCH);
    let mut moved = 0u64;
    let mut failure = None;
    from.for_each_member(p, path, |key, _| {
        batch.push(key);
        if batch.len() == RANGE_BATCH {
            moved += batch.len() as u64;
            if let Err(e) = transfer(from, to, std::mem::take(&mut batch)) {
                failure = Some(e);
                return false;
            }
        }
        true
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    moved += batch.len() as u64;
    transfer(from, to, batch)?;
    Ok(moved)
}

/// Records per batch when a whole subtree moves.
const RANGE_BATCH: usize = 2_048;

/// Applies both sides' outcomes of one reconciliation between two local stores.
pub fn settle(a: &Store, b: &Store, at_a: &Outcome, at_b: &Outcome) -> Result<()> {
    let a_to_b: Vec<RecordKey> = keys_of(a, &at_a.send)?
        .into_iter()
        .chain(keys_of(a, &at_b.fetch)?)
        .collect();
    let b_to_a: Vec<RecordKey> = keys_of(b, &at_b.send)?
        .into_iter()
        .chain(keys_of(b, &at_a.fetch)?)
        .collect();
    transfer(a, b, a_to_b)?;
    transfer(b, a, b_to_a)?;
    for (p, path) in at_a.send_ranges.iter().chain(&at_b.fetch_ranges) {
        transfer_range(a, b, p, *path)?;
    }
    for (p, path) in at_b.send_ranges.iter().chain(&at_a.fetch_ranges) {
        transfer_range(b, a, p, *path)?;
    }
    Ok(())
}
