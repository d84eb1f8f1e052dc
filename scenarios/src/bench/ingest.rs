//! `scenarios bench ingest`: how fast a node stores validated records with the digest
//! index maintained, beside raw RocksDB.
//!
//! Rows, all measured in one run on freshly generated data (generation is not timed):
//! - **store ingest**: `Store::write_local` in batches — record key derivation,
//!   canonical encoding, BLAKE3 digests, the subject index and the digest-index merges,
//!   one atomic `WriteBatch` per batch, WAL on;
//! - **raw RocksDB put**: the same encoded record bytes under the same keys, put in
//!   batches of the same size into one column family with the same options, WAL on —
//!   the ceiling for any index design;
//! - **file import**: the whole `credit-admin import` path on a generated national-format
//!   penalty file (parsing, validation of every identifier and field, store ingest);
//!   its MB/s counts the file's bytes.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use credithub_node::store::{cf_options, db_options, StoreOptions};
use credithub_node::Store;
use credithub_protocol::codec::EncodedRecord;
use credithub_protocol::record::{RecordBody, RecordKey, RecordKind, Version};
use credithub_protocol::DivisionCode;
use rocksdb::{Cache, ColumnFamilyDescriptor, WriteBatch, WriteOptions, DB};

use super::machine;
use crate::generate::{
    write_csv, CsvOptions, Encoding, FileKind, Generator, GeneratorConfig, HeaderStyle, RecordMix,
};

/// Arguments of `bench ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Records to ingest in each row.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// A short run (200 000 records) for everyday use.
    #[arg(long)]
    pub quick: bool,
    /// Records per atomic batch.
    #[arg(long, default_value_t = 2_000)]
    pub batch: usize,
    /// Where to put the databases (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// One measured row.
struct Row {
    name: &'static str,
    records: u64,
    bytes: u64,
    seconds: f64,
}

impl Row {
    fn rate(&self) -> f64 {
        self.records as f64 / self.seconds
    }
}

const CHUNK: u64 = 100_000;

/// Runs the benchmark and prints its table.
pub fn run(args: &IngestArgs, table: &mut super::Summary) -> anyhow::Result<()> {
    let n = if args.quick { 200_000 } else { args.records };
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let base = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let origin = DivisionCode::parse("320500").map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "ingest benchmark: {n} records, batches of {}, on {}",
        args.batch,
        machine::describe()
    );

    // Store ingest.
    let store = Store::open(&base.join("store"), Some(origin))?;
    let mut generator = Generator::new(args.seed, GeneratorConfig::for_count(origin, n))?;
    let mix = RecordMix::default();
    let mut ours = Row {
        name: "store ingest (validated, indexed)",
        records: 0,
        bytes: 0,
        seconds: 0.0,
    };
    let mut remaining = n;
    while remaining > 0 {
        let take = remaining.min(CHUNK);
        let bodies: Vec<(RecordKind, RecordBody)> = generator.bodies(take, &mix).collect();
        let mut batches: Vec<Vec<(RecordKind, RecordBody)>> = Vec::new();
        let mut it = bodies.into_iter().peekable();
        while it.peek().is_some() {
            batches.push(it.by_ref().take(args.batch).collect());
        }
        // The importer's pipeline: one thread encodes (prepare), the other compares
        // with what is held and writes (commit).
        let started = Instant::now();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let (tx, rx) = std::sync::mpsc::sync_channel(4);
            let store = &store;
            scope.spawn(move || {
                for batch in batches {
                    let now = credithub_node::clock::now_millis();
                    if tx.send((store.prepare_local(batch, now), now)).is_err() {
                        break;
                    }
                }
            });
            for (prepared, now) in rx {
                store.commit_local(prepared, now)?;
            }
            Ok(())
        })?;
        ours.seconds += started.elapsed().as_secs_f64();
        ours.records += take;
        remaining -= take;
    }
    let live = {
        let (live, tombstones) = store.count(origin, None)?;
        live + tombstones
    };
    drop(store);

    // Raw RocksDB put of the same encoded bytes, regenerated from the same seed.
    let cache = Cache::new_lru_cache(StoreOptions::default().block_cache_bytes);
    let cf_opts = cf_options("records", &cache, &StoreOptions::default());
    let raw = DB::open_cf_descriptors(
        &db_options(),
        base.join("raw"),
        [ColumnFamilyDescriptor::new("records", cf_opts)],
    )?;
    let cf = raw.cf_handle("records").context("raw column family")?;
    let mut generator = Generator::new(args.seed, GeneratorConfig::for_count(origin, n))?;
    let mut reference = Row {
        name: "raw RocksDB batched put (same bytes)",
        records: 0,
        bytes: 0,
        seconds: 0.0,
    };
    let version = Version::next(None, credithub_node::clock::now_millis());
    let mut remaining = n;
    while remaining > 0 {
        let take = remaining.min(CHUNK);
        let encoded: Vec<EncodedRecord> = generator
            .bodies(take, &mix)
            .map(|(kind, body)| {
                let key = RecordKey::derive(origin, kind, &body);
                EncodedRecord::of_body(key, version, Some(&body))
            })
            .collect();
        let started = Instant::now();
        for chunk in encoded.chunks(args.batch) {
            let mut batch = WriteBatch::default();
            for r in chunk {
                batch.put_cf(cf, r.key.to_bytes(), &r.bytes);
                reference.bytes += r.bytes.len() as u64 + 22;
            }
            raw.write_opt(batch, &WriteOptions::default())?;
        }
        reference.seconds += started.elapsed().as_secs_f64();
        reference.records += take;
        remaining -= take;
    }
    ours.bytes = reference.bytes;
    drop(raw);

    // The whole import path on a national-format file (writing the file is not timed).
    let csv_path = base.join("penalties.csv");
    let mut generator = Generator::new(args.seed, GeneratorConfig::for_count(origin, n))?;
    let file = std::io::BufWriter::new(std::fs::File::create(&csv_path)?);
    let options = CsvOptions {
        headers: HeaderStyle::Codes,
        encoding: Encoding::Utf8,
        bad_rows: 0.0,
        seed: args.seed,
    };
    write_csv(
        FileKind::Penalty,
        generator
            .bodies(n, &RecordMix::only(RecordKind::PENALTY))
            .map(|(_, body)| body),
        file,
        &options,
    )?;
    let file_bytes = std::fs::metadata(&csv_path)?.len();
    let importer_store = Store::open(&base.join("import"), Some(origin))?;
    let started = Instant::now();
    let summary = credithub_node::ingest::import_file(
        &importer_store,
        &csv_path,
        &base.join("rejects.csv"),
        |_, _| {},
    )?;
    let import = Row {
        name: "file import (CSV parse + validate + ingest)",
        records: summary.inserted,
        bytes: file_bytes,
        seconds: started.elapsed().as_secs_f64(),
    };
    drop(importer_store);

    println!();
    println!(
        "{:<40} {:>10} {:>9} {:>12} {:>9} {:>8}",
        "row", "records", "seconds", "records/s", "MB/s", "vs raw"
    );
    for row in [&ours, &import, &reference] {
        println!(
            "{:<40} {:>10} {:>9.2} {:>12.0} {:>9.1} {:>8.2}",
            row.name,
            row.records,
            row.seconds,
            row.rate(),
            row.bytes as f64 / row.seconds / 1e6,
            row.rate() / reference.rate()
        );
    }
    println!();
    println!("records in the store's digest root: {live}; peak resident memory of this process: {:.0} MiB", machine::peak_rss_mib());
    let ratio = ours.rate() / reference.rate();
    table.row(
        "ingest (validated, indexed, atomic)",
        format!("{:.0} records/s", ours.rate()),
        format!("raw RocksDB put {:.0} records/s", reference.rate()),
        Some(ratio),
        Some(ratio >= 0.7),
    );
    println!(
        "goal: store ingest >= 0.70 of raw — {} ({ratio:.2})",
        if ratio >= 0.7 { "met" } else { "NOT met" }
    );
    Ok(())
}
