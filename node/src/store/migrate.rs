//! Store formats, and the in-place migration of a store of an older format.
//!
//! # Format history
//!
//! | format | written by            | layout                                                   |
//! |--------|-----------------------|----------------------------------------------------------|
//! | 1      | be2d4bf until d3c6b43 | the first store; this build does not migrate it          |
//! | 2      | d3c6b43 until 029dbc3 | the families of [`keys`] (`arrivals` and `audit` came within format 2 and are created empty when missing); `meta` holds `format` and `jurisdiction` as text |
//! | 3      | d825d9f               | as 2, and `meta/store` holds one typed [`StoreMeta`] (postcard): format, jurisdiction, creation time and the history of migrations |
//! | 4      | 04bc0b7 until 051999a | as 3; records of form 2 may be stored; the subject index also files each record under the organisation code inside every USCC and tax number it names (aliases); the `names` family files each record under the character pairs of its subject's name; the `drafts` family holds list entries under review |
//! | 5      | 292d130               | as 4; the `names` family files each (subject, name) once, with a marker counting the records that carry it (see [`super::names`]) |
//! | 6      | 3820c18 until b6795b6 | as 5; the `changes` family logs every stored version under a sequence number and the `windows` family files records by severity and decision date (see [`super::feed`]) |
//! | 7      | this build            | as 6; the `refusals` family counts the rows refused at import per unit and month (see [`super::refusals`]); a store of format 6 has none to count, so the step writes nothing but the format |
//!
//! From format 3 on, the plain-text `meta/format` and `meta/jurisdiction` entries are
//! still written, though this build reads only `format` (to learn the format before
//! anything else): they are what a binary of format 2 reads, and with both present it
//! refuses a newer store with its own message ("has format 3; this build reads format
//! 2") instead of misreading it or calling it corrupt.
//!
//! # Migration
//!
//! [`Store::open`](super::Store::open) reads `meta/format` before anything else:
//!
//! * the current format ([`STORE_FORMAT`]): the store opens;
//! * an older one from [`OLDEST_FORMAT`] on: the migration steps (the list `STEPS`
//!   in this module) run in order, each from format N to N + 1, and the store opens at the current format. Each step is
//!   **one atomic, synced `WriteBatch`** holding its rewritten entries, the new format
//!   number and the metadata's history with the step appended, so a crash leaves the
//!   store at a whole format and the next open resumes from there. Each step is logged
//!   (info) with the number of entries it rewrote, and reported by
//!   [`Store::migrated`](super::Store::migrated);
//! * a newer one, or one older than [`OLDEST_FORMAT`]: the store is refused
//!   ([`StoreError::FormatTooNew`], [`StoreError::Format`]) and nothing of it is
//!   written: an existing store opens with exactly the column families it has, and
//!   ours that it lacks are created only once its format is known to be readable.
//!
//! A store of another jurisdiction than the one asked for is refused before it is
//! migrated. A migration cannot be undone: a backup taken before it is the way back
//! to an older binary.

use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};

use credithub_protocol::codec;
use credithub_protocol::ids::SubjectId;
use credithub_protocol::record::{Record, RecordKey};
use credithub_protocol::DivisionCode;

use super::feed;
use super::keys;
use super::names::{NameDeltas, NameFiling};
use super::{Result, Store, StoreError, STORE_FORMAT};

/// The version of this build, recorded in the history of the migrations it runs.
pub const BINARY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The oldest format this build migrates from.
pub const OLDEST_FORMAT: u32 = 2;

/// `meta` key of the format number as decimal text (every format).
pub(crate) const META_FORMAT: &[u8] = b"format";
/// `meta` key of the jurisdiction as six-digit text (every format; read up to format 2).
pub(crate) const META_JURISDICTION: &[u8] = b"jurisdiction";
/// `meta` key of the [`StoreMeta`] value (from format 3 on).
pub(crate) const META_STORE: &[u8] = b"store";

/// What a store records about itself (`meta/store`, from format 3 on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreMeta {
    /// The store's format (the same as the `meta/format` text).
    pub format: u32,
    /// The jurisdiction the store belongs to.
    pub jurisdiction: DivisionCode,
    /// When the store was created (ms since the epoch); `None` for a store created
    /// before format 3, which did not record it.
    pub created_at_ms: Option<u64>,
    /// Every migration the store went through, oldest first.
    pub migrations: Vec<Migration>,
}

/// One migration step a store went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    /// The format before the step.
    pub from: u32,
    /// The format after it (`from + 1`).
    pub to: u32,
    /// When it ran (ms since the epoch).
    pub at_ms: u64,
    /// The version of credit-node that ran it.
    pub binary_version: String,
    /// How many entries it rewrote.
    pub rewritten: u64,
}

/// One step of the list: turns a store of format `from` into format `from + 1`.
pub(crate) struct Step {
    /// The format the step starts from.
    pub(crate) from: u32,
    /// Adds the step's rewritten entries to the batch and returns how many there are,
    /// with the store's metadata as it stands before the step (the caller adds the
    /// new format, the history entry and the format text to the same batch).
    pub(crate) run: fn(&Store, &mut WriteBatch) -> Result<(u64, StoreMeta)>,
}

/// The migration steps, in order: step *i* starts from format `OLDEST_FORMAT + i`.
pub(crate) const STEPS: &[Step] = &[
    Step {
        from: 2,
        run: meta_as_one_value,
    },
    Step {
        from: 3,
        run: index_aliases,
    },
    Step {
        from: 4,
        run: names_by_subject,
    },
    Step {
        from: 5,
        run: log_and_windows,
    },
    Step {
        from: 6,
        run: refusals_family,
    },
];

/// The first format with a change log (the feed notes windows that end from the day
/// a store reached it).
pub const FIRST_FORMAT_WITH_CHANGES: u32 = 6;

// The list must lead from the oldest format to the current one, one format at a time.
const _: () = {
    assert!(STEPS.len() as u32 == STORE_FORMAT - OLDEST_FORMAT);
    let mut i = 0;
    while i < STEPS.len() {
        assert!(STEPS[i].from == OLDEST_FORMAT + i as u32);
        i += 1;
    }
};

/// 2 → 3: the `format` and `jurisdiction` text entries become one [`StoreMeta`]
/// (both text entries stay, for older binaries; see the module documentation).
fn meta_as_one_value(store: &Store, _batch: &mut WriteBatch) -> Result<(u64, StoreMeta)> {
    let jurisdiction = legacy_jurisdiction(store)?;
    let meta = StoreMeta {
        format: 2,
        jurisdiction,
        created_at_ms: None,
        migrations: Vec::new(),
    };
    // Both text entries are rewritten into the typed value (which the caller writes).
    Ok((2, meta))
}

/// Entries (or records, for 4 → 5) per intermediate batch of a large step.
const STEP_CHUNK: usize = 100_000;

/// Writes a chunk of a large step when it is full (or, with `force`, whatever it holds).
fn flush_chunk(store: &Store, chunk: &mut WriteBatch, force: bool) -> Result<()> {
    if chunk.len() >= STEP_CHUNK || (force && !chunk.is_empty()) {
        store
            .db
            .write(std::mem::take(chunk))
            .map_err(|e| store.db_err(e))?;
    }
    Ok(())
}

/// Visits every record version of the store, decoded, in key order; a record that
/// does not decode stops the step as corruption.
fn each_record(store: &Store, mut f: impl FnMut(Record) -> Result<()>) -> Result<()> {
    let records = store.cf(keys::CF_RECORDS);
    for entry in store.db.iterator_cf(records, rocksdb::IteratorMode::Start) {
        let (k, v) = entry.map_err(|e| store.db_err(e))?;
        let key =
            RecordKey::from_bytes(&k).map_err(|e| store.corrupt("record key", e.to_string()))?;
        f(codec::decode(key, &v).map_err(|e| store.corrupt("record", format!("{key}: {e}")))?)?;
    }
    Ok(())
}

/// 3 → 4: every live record is filed in the subject index under the organisation code
/// inside each USCC and tax number it names, too (the `names` and `drafts` families
/// are created by the open, empty; the name index is built by 4 → 5).
///
/// Adding an index entry that exists changes nothing, so this step writes its entries
/// in batches of [`STEP_CHUNK`] as it scans (a store of many millions of records would
/// not fit one batch in memory) and only the format change goes into the step's final
/// batch: a crash part-way leaves a store of format 3 with some new entries, and the
/// next open runs the step again from the start.
fn index_aliases(store: &Store, _batch: &mut WriteBatch) -> Result<(u64, StoreMeta)> {
    let meta = read_meta(store, 3)?;
    let subjects = store.cf(keys::CF_SUBJECTS);
    let mut chunk = WriteBatch::default();
    let mut written = 0u64;
    each_record(store, |record| {
        let Some(body) = &record.body else {
            return Ok(());
        };
        let primary = body.subject.id.index_key();
        let others: Vec<Vec<u8>> = body.other_ids.iter().map(SubjectId::index_key).collect();
        let key_bytes = record.key.to_bytes();
        for subject in super::write::subject_keys(Some(body)) {
            // Entries of format 3 are there already: only aliases are new.
            if subject == primary || others.contains(&subject) {
                continue;
            }
            chunk.put_cf(subjects, keys::subject_entry(&subject, &key_bytes), []);
            written += 1;
        }
        flush_chunk(store, &mut chunk, false)
    })?;
    flush_chunk(store, &mut chunk, true)?;
    Ok((written, meta))
}

/// 4 → 5: the name index is rebuilt to file subjects instead of records: the `names`
/// family is emptied, then every live record is counted under its (subject, name) as
/// a write would ([`Store::write_name_deltas`]), [`STEP_CHUNK`] records at a time.
///
/// Counting is not idempotent, so the step starts by emptying the family: a crash
/// part-way leaves a store of format 4 whose name index the next open empties and
/// builds again from the start.
fn names_by_subject(store: &Store, _batch: &mut WriteBatch) -> Result<(u64, StoreMeta)> {
    let meta = read_meta(store, 4)?;
    let names = store.cf(keys::CF_NAMES);
    // Posting keys start with 0x00, markers with 0xff and then a flag below 0xff.
    store
        .db
        .delete_range_cf(names, [0u8].as_slice(), [0xffu8, 0xff].as_slice())
        .map_err(|e| store.db_err(e))?;
    let mut deltas = NameDeltas::default();
    let mut in_chunk = 0usize;
    let mut chunk = WriteBatch::default();
    let write = |deltas: NameDeltas, chunk: &mut WriteBatch| -> Result<()> {
        store.write_name_deltas(deltas, chunk)?;
        flush_chunk(store, chunk, true)
    };
    each_record(store, |record| {
        deltas.change(
            None,
            NameFiling::of(record.key.kind, record.body.as_ref()).as_ref(),
        );
        in_chunk += 1;
        if in_chunk == STEP_CHUNK {
            write(std::mem::take(&mut deltas), &mut chunk)?;
            in_chunk = 0;
        }
        Ok(())
    })?;
    write(deltas, &mut chunk)?;
    let written = store
        .db
        .iterator_cf(names, rocksdb::IteratorMode::Start)
        .count() as u64;
    Ok((written, meta))
}

/// 5 → 6: the change log starts with one entry per live record, in key order, and
/// every live record is filed in the publication-windows index. Both families are
/// emptied first, so a crash part-way leaves a store of format 5 that the next open
/// migrates again from the start.
fn log_and_windows(store: &Store, _batch: &mut WriteBatch) -> Result<(u64, StoreMeta)> {
    let meta = read_meta(store, 5)?;
    let changes = store.cf(keys::CF_CHANGES);
    let windows = store.cf(keys::CF_WINDOWS);
    for cf in [changes, windows] {
        store
            .db
            .delete_range_cf(cf, [0u8].as_slice(), [0xffu8; 32].as_slice())
            .map_err(|e| store.db_err(e))?;
    }
    let mut chunk = WriteBatch::default();
    let mut seq = 0u64;
    let mut written = 0u64;
    each_record(store, |record| {
        if record.body.is_none() {
            return Ok(());
        }
        let key = record.key;
        seq += 1;
        chunk.put_cf(
            changes,
            seq.to_be_bytes(),
            feed::change_value(&key, record.version),
        );
        written += 1;
        if let Some(w) = feed::window_of(key.kind, record.body.as_ref()) {
            chunk.put_cf(windows, feed::window_entry(&w, &key), []);
            written += 1;
        }
        flush_chunk(store, &mut chunk, false)
    })?;
    flush_chunk(store, &mut chunk, true)?;
    Ok((written, meta))
}

/// 6 → 7: the `refusals` family (created empty when the store opens) starts counting
/// refused rows from the next import; the refusals of earlier imports were never
/// kept, so nothing is rewritten.
fn refusals_family(store: &Store, _batch: &mut WriteBatch) -> Result<(u64, StoreMeta)> {
    Ok((0, read_meta(store, 6)?))
}

/// What the store's `meta/format` entry says.
pub(crate) enum Found {
    /// No format entry: a store that was never initialised.
    Nothing,
    /// This format.
    Format(u32),
}

/// Reads the `meta/format` text (the first thing an open reads).
pub(crate) fn read_format(store: &Store) -> Result<Found> {
    let meta = store.cf(keys::CF_META);
    let Some(text) = store
        .db
        .get_cf(meta, META_FORMAT)
        .map_err(|e| store.db_err(e))?
    else {
        return Ok(Found::Nothing);
    };
    let text = String::from_utf8_lossy(&text);
    text.trim()
        .parse::<u32>()
        .map(Found::Format)
        .map_err(|_| store.corrupt("metadata", format!("format {text:?} is not a number")))
}

/// Refuses a format this build neither reads nor migrates.
pub(crate) fn check_readable(store: &Store, found: u32) -> Result<()> {
    if found > STORE_FORMAT {
        Err(StoreError::FormatTooNew {
            path: store.path.clone(),
            found,
        })
    } else if found < OLDEST_FORMAT {
        Err(StoreError::Format {
            path: store.path.clone(),
            found,
        })
    } else {
        Ok(())
    }
}

/// The jurisdiction of the `meta/jurisdiction` text entry.
pub(crate) fn legacy_jurisdiction(store: &Store) -> Result<DivisionCode> {
    let meta = store.cf(keys::CF_META);
    let text = store
        .db
        .get_cf(meta, META_JURISDICTION)
        .map_err(|e| store.db_err(e))?
        .ok_or_else(|| store.corrupt("metadata", "the jurisdiction entry is missing".into()))?;
    let text = String::from_utf8_lossy(&text).into_owned();
    DivisionCode::parse(&text)
        .map_err(|e| store.corrupt("metadata", format!("jurisdiction {text:?}: {e}")))
}

/// Reads the [`StoreMeta`] of a store of the current format, checked against the
/// `format` text it was found with.
pub(crate) fn read_meta(store: &Store, format: u32) -> Result<StoreMeta> {
    let cf = store.cf(keys::CF_META);
    let bytes = store
        .db
        .get_cf(cf, META_STORE)
        .map_err(|e| store.db_err(e))?
        .ok_or_else(|| store.corrupt("metadata", "the store entry is missing".into()))?;
    let meta: StoreMeta = postcard::from_bytes(&bytes)
        .map_err(|e| store.corrupt("metadata", format!("store entry: {e}")))?;
    if meta.format != format {
        return Err(store.corrupt(
            "metadata",
            format!(
                "the store entry says format {} but the format entry says {format}",
                meta.format
            ),
        ));
    }
    Ok(meta)
}

/// Adds the metadata entries of `meta` to `batch`: the typed value and both text
/// entries.
pub(crate) fn put_meta(store: &Store, meta: &StoreMeta, batch: &mut WriteBatch) -> Result<()> {
    let cf = store.cf(keys::CF_META);
    let bytes = postcard::to_stdvec(meta)
        .map_err(|e| store.corrupt("metadata", format!("encoding the store entry: {e}")))?;
    batch.put_cf(cf, META_STORE, bytes);
    batch.put_cf(cf, META_FORMAT, meta.format.to_string());
    batch.put_cf(cf, META_JURISDICTION, meta.jurisdiction.to_string());
    Ok(())
}

/// Runs the steps of `steps` from format `found` up to format `target`, one atomic
/// synced batch per step, and returns the steps done. `now` gives each step's time.
pub(crate) fn run(
    store: &Store,
    steps: &[Step],
    mut found: u32,
    target: u32,
    now: fn() -> u64,
) -> Result<Vec<Migration>> {
    let mut done = Vec::new();
    while found < target {
        let step = steps.iter().find(|s| s.from == found).ok_or_else(|| {
            store.corrupt("metadata", format!("no migration from format {found}"))
        })?;
        let mut batch = WriteBatch::default();
        let (rewritten, mut meta) = (step.run)(store, &mut batch)?;
        let migration = Migration {
            from: found,
            to: found + 1,
            at_ms: now(),
            binary_version: BINARY_VERSION.to_string(),
            rewritten,
        };
        meta.format = migration.to;
        meta.migrations.push(migration.clone());
        put_meta(store, &meta, &mut batch)?;
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(true);
        store
            .db
            .write_opt(batch, &wo)
            .map_err(|e| store.db_err(e))?;
        tracing::info!(
            path = %store.path.display(),
            from = migration.from,
            to = migration.to,
            rewritten,
            "store migrated to format {}",
            migration.to
        );
        found = migration.to;
        done.push(migration);
    }
    Ok(done)
}

#[cfg(test)]
#[path = "migrate_tests.rs"]
mod tests;
