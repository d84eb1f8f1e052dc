//! Offline import of a 双公示 file into a store: parse and validate rows (see
//! [`crate::import`]) on one thread, write batches on another.
//!
//! Each batch of valid rows is one atomic write, so an interrupted import leaves every
//! record whole; rows already stored are recognised on a rerun (same natural key and
//! content: nothing changes), so rerunning the same file completes it.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::clock::now_millis;
use crate::import::{
    FileKind, ImportError, ImportFile, RejectWriter, RejectedRow, RowOutcome, SourceEncoding,
};
use crate::store::{ApplyStats, PreparedLocal, Store, StoreError};

/// Rows written per atomic batch.
pub const BATCH_ROWS: usize = 4_000;
/// Rejected rows kept in the summary (all of them go to the reject file).
pub const LISTED_REJECTS: usize = 50;

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be read or is not an import file.
    #[error(transparent)]
    File(#[from] ImportError),
    /// The store refused a write; batches before it are stored whole.
    #[error("{0} (rows before this batch were stored; rerun the import to complete it)")]
    Store(#[from] StoreError),
}

/// One rejected row as listed in a summary.
#[derive(Debug, Clone, Serialize)]
pub struct RejectSummary {
    /// The physical line in the file where the row starts.
    pub line: u64,
    /// `FIELD: reason` for each problem.
    pub errors: Vec<String>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// The file imported.
    pub file: PathBuf,
    /// `penalty` or `licence`.
    pub kind: String,
    /// `utf-8` or `gb18030`.
    pub encoding: String,
    /// Data rows read.
    pub rows: u64,
    /// Rows that passed validation.
    pub valid: u64,
    /// Rows refused.
    pub rejected: u64,
    /// Records stored for the first time.
    pub inserted: u64,
    /// Records that got a new version.
    pub updated: u64,
    /// Valid rows already stored with the same content.
    pub unchanged: u64,
    /// Warnings on accepted rows (e.g. pilot USCCs).
    pub warnings: u64,
    /// Where the rejected rows were written, if any.
    pub reject_file: Option<PathBuf>,
    /// The first rejected rows.
    pub first_rejects: Vec<RejectSummary>,
    /// Wall time.
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The default reject file for an input: `NAME.rejects.csv` beside it.
pub fn default_reject_path(input: &Path) -> PathBuf {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    input.with_file_name(format!("{name}.rejects.csv"))
}

/// Imports one file into `store`. `progress(done, total)` is called with bytes of the
/// decoded file processed.
pub fn import_file(
    store: &Store,
    path: &Path,
    reject_path: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<ImportSummary, IngestError> {
    let started = Instant::now();
    let file = ImportFile::open(path)?;
    let total = file.total_bytes();
    let mut summary = ImportSummary {
        file: path.to_path_buf(),
        kind: match file.kind() {
            FileKind::Penalty => "penalty".into(),
            FileKind::Licence => "licence".into(),
        },
        encoding: match file.encoding() {
            SourceEncoding::Utf8 => "utf-8".into(),
            SourceEncoding::Gb18030 => "gb18030".into(),
        },
        rows: 0,
        valid: 0,
        rejected: 0,
        inserted: 0,
        updated: 0,
        unchanged: 0,
        warnings: 0,
        reject_file: None,
        first_rejects: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let mut rejects = RejectWriter::create(reject_path, file.header());

    let stats = std::thread::scope(|scope| -> Result<ApplyStats, IngestError> {
        // Parsing, validation and encoding run here; comparing and writing on the
        // writer thread.
        let (tx, rx) = mpsc::sync_channel::<PreparedLocal>(4);
        let writer = scope.spawn(move || -> Result<ApplyStats, StoreError> {
            let mut stats = ApplyStats::default();
            for batch in rx {
                let outcomes = store.commit_local(batch, now_millis())?;
                stats.add(ApplyStats::of(&outcomes));
            }
            Ok(stats)
        });
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        let mut parse_result: Result<(), IngestError> = Ok(());
        for outcome in file.rows() {
            summary.rows += 1;
            match outcome {
                RowOutcome::Valid(row) => {
                    summary.valid += 1;
                    summary.warnings += row.warnings.len() as u64;
                    if summary.rows.is_multiple_of(4096) {
                        progress(row.bytes_read, total);
                    }
                    batch.push((row.kind, row.body));
                    if batch.len() == BATCH_ROWS {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                        if tx.send(store.prepare_local(full, now_millis())).is_err() {
                            break; // the writer stopped on an error, reported below
                        }
                    }
                }
                RowOutcome::Invalid(row) => {
                    summary.rejected += 1;
                    if let Err(e) = record_reject(&row, &mut rejects, &mut summary) {
                        parse_result = Err(e.into());
                        break;
                    }
                }
            }
        }
        if !batch.is_empty() {
            let _ = tx.send(store.prepare_local(batch, now_millis()));
        }
        drop(tx);
        let stats = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        parse_result?;
        Ok(stats)
    })?;
    if rejects.finish()? > 0 {
        summary.reject_file = Some(reject_path.to_path_buf());
    }
    progress(total, total);
    summary.inserted = stats.inserted;
    summary.updated = stats.updated;
    summary.unchanged = stats.unchanged;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn record_reject(
    row: &RejectedRow,
    rejects: &mut RejectWriter,
    summary: &mut ImportSummary,
) -> Result<(), ImportError> {
    rejects.write(row)?;
    if summary.first_rejects.len() < LISTED_REJECTS {
        summary.first_rejects.push(RejectSummary {
            line: row.line,
            errors: row
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect(),
        });
    }
    Ok(())
}
