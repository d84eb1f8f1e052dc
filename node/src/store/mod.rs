//! The node's RocksDB store: records, the subject index, the digest (Merkle) index and
//! metadata, each in its own column family (layouts in [`keys`]).
//!
//! Every change of a record — insert, update or tombstone — writes the record, its
//! subject-index entries and its digest-index deltas in **one atomic `WriteBatch`**
//! ([`write`]). The digest index is therefore never rebuilt in bulk and never lags
//! behind the records; [`verify`] recomputes it from the records to prove it.

pub mod audit;
pub mod backup;
pub mod drafts;
pub mod feed;
pub mod index;
pub mod keys;
pub mod merge;
pub mod migrate;
pub mod names;
pub mod read;
pub mod refusals;
pub mod verify;
pub mod write;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use credithub_protocol::DivisionCode;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, Options, WriteBufferManager, DB,
};

pub use audit::{AuditCheck, AuditEntry};
pub use backup::Restored;
pub use index::{IndexError, LEAF_LEVEL, STORED_LEVELS};
pub use migrate::{Migration, StoreMeta, OLDEST_FORMAT};
pub use verify::{VerifyProblem, VerifyReport};
pub use write::{ApplyStats, PreparedLocal, RemoteOutcome, WriteOutcome};

/// The on-disk format this build writes. A store of an older format, from
/// [`OLDEST_FORMAT`] on, is migrated when it opens; a newer one is refused (see
/// [`migrate`]).
pub const STORE_FORMAT: u32 = 7;

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB reported an error. (Its text is part of this message, not a separate
    /// cause, so that an error chain does not print it twice.)
    #[error("store at {path}: {error}")]
    Db {
        /// The store's directory.
        path: PathBuf,
        /// RocksDB's error.
        error: rocksdb::Error,
    },
    /// The directory holds no store and no jurisdiction was given to create one.
    #[error("no store at {0} (give a jurisdiction to create one)")]
    Missing(PathBuf),
    /// The store belongs to another jurisdiction than the one given.
    #[error("store at {path} belongs to jurisdiction {stored}, not {given}")]
    JurisdictionMismatch {
        /// The store's directory.
        path: PathBuf,
        /// The jurisdiction recorded in the store.
        stored: DivisionCode,
        /// The jurisdiction asked for.
        given: DivisionCode,
    },
    /// The store was written in a format older than this build migrates from.
    #[error(
        "store at {path} has format {found}; this build reads formats {OLDEST_FORMAT} to \
         {STORE_FORMAT} and migrates none older"
    )]
    Format {
        /// The store's directory.
        path: PathBuf,
        /// The format found.
        found: u32,
    },
    /// The store was written in a newer format than this build knows (by a newer
    /// credit-node); it is left untouched.
    #[error(
        "store at {path} has format {found}, newer than this build of credit-node \
         ({version}) reads (formats {OLDEST_FORMAT} to {STORE_FORMAT}): upgrade \
         credit-node to a release that reads format {found}, or restore a backup taken \
         before the store was upgraded",
        version = migrate::BINARY_VERSION
    )]
    FormatTooNew {
        /// The store's directory.
        path: PathBuf,
        /// The format found.
        found: u32,
    },
    /// A stored value is damaged.
    #[error("store at {path}: corrupt {what}: {detail}")]
    Corrupt {
        /// The store's directory.
        path: PathBuf,
        /// Which kind of value.
        what: &'static str,
        /// What is wrong, including the key.
        detail: String,
    },
    /// A request the store cannot serve as asked.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A file operation failed (backups and restores).
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The result type of store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Tuning of the store; the defaults suit a node on a small machine (2 cores, a few
/// hundred MB of memory for the store). RocksDB's memory is bounded whatever the
/// data's size: index and filter blocks are cached in the block cache, and the
/// memtables of every family share one budget.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Shared block cache, in bytes (data, index and filter blocks).
    pub block_cache_bytes: usize,
    /// Memtable size of the records family, in bytes (other families get an eighth).
    pub write_buffer_bytes: usize,
    /// All memtables together, in bytes: past this, the largest is flushed early.
    pub memtable_budget_bytes: usize,
    /// Whether each write batch is synced to disk before it is acknowledged.
    pub sync_writes: bool,
    /// The clock of the store's own metadata (when it was created, when a migration
    /// ran), in ms since the epoch. Record versions and arrivals take their time from
    /// the caller of each write instead.
    pub clock: fn() -> u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            block_cache_bytes: 64 << 20,
            write_buffer_bytes: 32 << 20,
            memtable_budget_bytes: 64 << 20,
            sync_writes: false,
            clock: crate::clock::now_millis,
        }
    }
}

impl StoreOptions {
    /// The tuning of a command working on a stopped node's store (`credit-admin import
    /// --data-dir`, `verify`, `stats`): a 16 MiB block cache and 32 MiB of memtables
    /// (16 MiB for the records family), so that the process stays within its memory
    /// goal whatever the size of the files it imports. The daemon keeps the defaults.
    pub fn offline_tool() -> Self {
        StoreOptions {
            block_cache_bytes: 16 << 20,
            write_buffer_bytes: 16 << 20,
            memtable_budget_bytes: 32 << 20,
            ..StoreOptions::default()
        }
    }
}

/// Database-wide RocksDB options of a store.
pub fn db_options() -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.set_max_background_jobs(2);
    o.set_bytes_per_sync(1 << 20);
    o.set_keep_log_file_num(5);
    // A write-ahead log file can only be deleted once every column family with data
    // in it has flushed; families written rarely (meta, audit) would otherwise keep
    // every log since their last write. Past this size the oldest logs' families are
    // flushed, so the logs stay bounded.
    o.set_max_total_wal_size(64 << 20);
    o
}

/// RocksDB options of one of the store's column families (the benchmarks use the
/// records family's options for their raw-RocksDB reference).
pub fn cf_options(name: &str, cache: &Cache, opts: &StoreOptions) -> Options {
    let mut cf = Options::default();
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_bloom_filter(10.0, false);
    // Index and filter blocks live in the block cache, so memory stays bounded
    // whatever the data's size. They are partitioned (a small top level per file,
    // pinned; partitions of 4 KiB cached like data blocks): a whole-file index or
    // filter of several hundred KiB would otherwise be read into the cache and evicted
    // again for one lookup once the data outgrows the cache.
    table.set_cache_index_and_filter_blocks(true);
    table.set_index_type(rocksdb::BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_partition_filters(true);
    table.set_metadata_block_size(4096);
    table.set_pin_top_level_index_and_filter(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    table.set_optimize_filters_for_memory(true);
    cf.set_block_based_table_factory(&table);
    // Small entries (subject index, digest merges) live in small memtables: a skip
    // list of fewer entries is faster to insert into, and merge operands of the same
    // node are combined when the memtable is flushed.
    let buffer = match name {
        keys::CF_RECORDS => opts.write_buffer_bytes,
        _ => (opts.write_buffer_bytes / 8).max(1 << 20),
    };
    cf.set_write_buffer_size(buffer);

    cf.set_compression_type(rocksdb::DBCompressionType::Lz4);
    cf.set_level_compaction_dynamic_level_bytes(true);
    if name == keys::CF_DIGEST {
        cf.set_merge_operator_associative(merge::NAME, merge::cell_add);
    }
    cf
}

/// One RocksDB figure a store reports (in `credit-admin stats` and as a metric).
#[derive(Debug, Clone, Copy)]
pub struct StorageFigure {
    /// The RocksDB property.
    pub property: &'static str,
    /// Its name in stats and the suffix of its metric.
    pub name: &'static str,
    /// What it means.
    pub help: &'static str,
}

/// Name of the figure: bytes compaction still has to rewrite.
pub const PENDING_COMPACTION_BYTES: &str = "pending_compaction_bytes";
/// Name of the figure: compactions running now.
pub const RUNNING_COMPACTIONS: &str = "running_compactions";
/// Name of the figure: memtable flushes running now.
pub const RUNNING_FLUSHES: &str = "running_flushes";

/// The RocksDB figures a store reports.
pub const STORAGE_FIGURES: [StorageFigure; 8] = [
    StorageFigure {
        property: "rocksdb.total-sst-files-size",
        name: "sst_bytes",
        help: "Bytes of SST files",
    },
    StorageFigure {
        property: "rocksdb.estimate-live-data-size",
        name: "live_data_bytes",
        help: "Estimated bytes of live data",
    },
    StorageFigure {
        property: "rocksdb.cur-size-all-mem-tables",
        name: "memtable_bytes",
        help: "Bytes in memtables",
    },
    StorageFigure {
        property: "rocksdb.estimate-num-keys",
        name: "estimated_keys",
        help: "Estimated number of keys",
    },
    StorageFigure {
        property: "rocksdb.estimate-pending-compaction-bytes",
        name: PENDING_COMPACTION_BYTES,
        help: "Bytes compaction still has to rewrite",
    },
    StorageFigure {
        property: "rocksdb.num-running-compactions",
        name: RUNNING_COMPACTIONS,
        help: "Compactions running now",
    },
    StorageFigure {
        property: "rocksdb.num-running-flushes",
        name: RUNNING_FLUSHES,
        help: "Memtable flushes running now",
    },
    StorageFigure {
        property: "rocksdb.compaction-pending",
        name: "compaction_pending",
        help: "1 when a compaction is pending",
    },
];

/// A node's store. Reads may run concurrently; writes are serialised internally.
pub struct Store {
    db: DB,
    path: PathBuf,
    jurisdiction: DivisionCode,
    meta: StoreMeta,
    migrated: Vec<Migration>,
    write_lock: Mutex<()>,
    audit_lock: Mutex<()>,
    sync_writes: bool,
    /// The last sequence number of the change log, announced after each commit.
    changes_tx: tokio::sync::watch::Sender<u64>,
}

impl Store {
    /// Opens the store in `path`. With `jurisdiction`, a missing store is created for
    /// it and an existing one must belong to it; without, the store must exist. A
    /// store of an older format is migrated first ([`migrated`](Self::migrated) lists
    /// the steps); one of a newer format is refused untouched.
    pub fn open(path: &Path, jurisdiction: Option<DivisionCode>) -> Result<Store> {
        Self::open_with(path, jurisdiction, &StoreOptions::default())
    }

    /// [`open`](Self::open) with explicit tuning.
    pub fn open_with(
        path: &Path,
        jurisdiction: Option<DivisionCode>,
        opts: &StoreOptions,
    ) -> Result<Store> {
        let exists = path.join("CURRENT").exists();
        if !exists && jurisdiction.is_none() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        let db_err = |error| StoreError::Db {
            path: path.to_path_buf(),
            error,
        };
        let cache = Cache::new_lru_cache(opts.block_cache_bytes);
        let mut options = db_options();
        let memtables =
            WriteBufferManager::new_write_buffer_manager(opts.memtable_budget_bytes, false);
        options.set_write_buffer_manager(&memtables);
        // An existing store opens with exactly the families it has, so that nothing is
        // written to it before its format is known (a newer format may have others);
        // ours that it lacks are created once the format is known to be readable.
        let families: Vec<String> = if exists {
            options.create_missing_column_families(false);
            DB::list_cf(&options, path).map_err(db_err)?
        } else {
            keys::ALL_CFS.iter().map(|&name| name.to_string()).collect()
        };
        let cfs = families.iter().map(|name| {
            let cf = if keys::ALL_CFS.contains(&name.as_str()) {
                cf_options(name, &cache, opts)
            } else {
                Options::default()
            };
            ColumnFamilyDescriptor::new(name, cf)
        });
        let db = DB::open_cf_descriptors(&options, path, cfs).map_err(db_err)?;
        let mut store = Store {
            db,
            path: path.to_path_buf(),
            jurisdiction: DivisionCode::NATIONAL,
            meta: StoreMeta {
                format: STORE_FORMAT,
                jurisdiction: DivisionCode::NATIONAL,
                created_at_ms: None,
                migrations: Vec::new(),
            },
            migrated: Vec::new(),
            write_lock: Mutex::new(()),
            audit_lock: Mutex::new(()),
            sync_writes: opts.sync_writes,
            changes_tx: tokio::sync::watch::Sender::new(0),
        };
        // The format first, before anything else is read.
        let found = if families.iter().any(|f| f == keys::CF_META) {
            migrate::read_format(&store)?
        } else {
            migrate::Found::Nothing
        };
        if let migrate::Found::Format(found) = found {
            migrate::check_readable(&store, found)?;
        }
        for &name in keys::ALL_CFS.iter() {
            if !families.iter().any(|f| f == name) {
                store
                    .db
                    .create_cf(name, &cf_options(name, &cache, opts))
                    .map_err(db_err)?;
            }
        }
        store.meta = match found {
            migrate::Found::Nothing => store.create_meta(jurisdiction, opts.clock)?,
            migrate::Found::Format(found) => {
                if found < STORE_FORMAT {
                    // Refuse another jurisdiction's store before changing it.
                    store
                        .check_jurisdiction(migrate::legacy_jurisdiction(&store)?, jurisdiction)?;
                    store.migrated =
                        migrate::run(&store, migrate::STEPS, found, STORE_FORMAT, opts.clock)?;
                }
                migrate::read_meta(&store, STORE_FORMAT)?
            }
        };
        store.jurisdiction = store.check_jurisdiction(store.meta.jurisdiction, jurisdiction)?;
        store.changes_written(store.last_change()?);
        Ok(store)
    }

    /// Writes the metadata of a new store (one with no format entry).
    fn create_meta(&self, given: Option<DivisionCode>, clock: fn() -> u64) -> Result<StoreMeta> {
        let meta_cf = self.cf(keys::CF_META);
        let leftover = self
            .db
            .get_cf(meta_cf, migrate::META_JURISDICTION)
            .map_err(|e| self.db_err(e))?;
        if leftover.is_some() {
            return Err(self.corrupt("metadata", "the format entry is missing".into()));
        }
        let jurisdiction = given.ok_or_else(|| StoreError::Missing(self.path.clone()))?;
        let meta = StoreMeta {
            format: STORE_FORMAT,
            jurisdiction,
            created_at_ms: Some(clock()),
            migrations: Vec::new(),
        };
        let mut batch = rocksdb::WriteBatch::default();
        migrate::put_meta(self, &meta, &mut batch)?;
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo).map_err(|e| self.db_err(e))?;
        Ok(meta)
    }

    /// `stored`, if it is the jurisdiction asked for (or none was).
    fn check_jurisdiction(
        &self,
        stored: DivisionCode,
        given: Option<DivisionCode>,
    ) -> Result<DivisionCode> {
        match given {
            Some(g) if g != stored => Err(StoreError::JurisdictionMismatch {
                path: self.path.clone(),
                stored,
                given: g,
            }),
            _ => Ok(stored),
        }
    }

    /// What the store records about itself: format, jurisdiction, creation time and
    /// the migrations it went through.
    pub fn meta(&self) -> &StoreMeta {
        &self.meta
    }

    /// The migration steps this open ran (empty if the store was already of the
    /// current format); [`meta`](Self::meta) has the whole history.
    pub fn migrated(&self) -> &[Migration] {
        &self.migrated
    }

    /// The jurisdiction this store belongs to (the origin of its local records).
    pub fn jurisdiction(&self) -> DivisionCode {
        self.jurisdiction
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying database, for this crate's own tests (other crates' tests have
    /// `raw_put_for_tests` and `raw_get_for_tests` with the `testing` feature).
    #[cfg(test)]
    pub(crate) fn db(&self) -> &DB {
        &self.db
    }

    /// **Testing aid** (feature `testing`): writes `value` under `key` in the column
    /// family `cf` (one of [`keys::ALL_CFS`]) directly, bypassing the indexes — to
    /// damage a store for tests of `verify` and the audit chain.
    ///
    /// # Panics
    ///
    /// If `cf` is not one of the store's families.
    #[cfg(feature = "testing")]
    pub fn raw_put_for_tests(&self, cf: &str, key: &[u8], value: &[u8]) -> Result<()> {
        self.db
            .put_cf(self.cf(cf), key, value)
            .map_err(|e| self.db_err(e))
    }

    /// **Testing aid** (feature `testing`): the raw value under `key` in the column
    /// family `cf` (one of [`keys::ALL_CFS`]).
    ///
    /// # Panics
    ///
    /// If `cf` is not one of the store's families.
    #[cfg(feature = "testing")]
    pub fn raw_get_for_tests(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db.get_cf(self.cf(cf), key).map_err(|e| self.db_err(e))
    }

    fn cf(&self, name: &str) -> &ColumnFamily {
        // The families are created on open; a missing one is a programming error.
        self.db
            .cf_handle(name)
            .unwrap_or_else(|| panic!("column family {name} is opened with the store"))
    }

    fn db_err(&self, source: rocksdb::Error) -> StoreError {
        StoreError::Db {
            path: self.path.clone(),
            error: source,
        }
    }

    fn corrupt(&self, what: &'static str, detail: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            what,
            detail,
        }
    }

    /// The RocksDB figures of [`STORAGE_FIGURES`] that the database reports, by name.
    pub fn storage_figures(&self) -> std::collections::BTreeMap<String, u64> {
        STORAGE_FIGURES
            .iter()
            .filter_map(|f| {
                let v = self.db.property_int_value(f.property).ok()??;
                Some((f.name.to_string(), v))
            })
            .collect()
    }

    /// Flushes memtables to disk (used before backups and in tests).
    pub fn flush(&self) -> Result<()> {
        for name in keys::ALL_CFS {
            self.db
                .flush_cf(self.cf(name))
                .map_err(|e| self.db_err(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
