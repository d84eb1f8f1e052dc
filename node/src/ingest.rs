//! Offline import of a 双公示 file into a store: parse and validate rows (see
//! [`crate::import`]) on one thread, write batches on another. A CSV file is streamed
//! and at most a few batches are in flight (the channel holds four), so memory stays
//! bounded whatever the file's size.
//!
//! Each batch of valid rows is one atomic write, so an interrupted import leaves every
//! record whole; rows already stored are recognised on a rerun (same natural key and
//! content: nothing changes), so rerunning the same file completes it.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use credithub_protocol::accounts::Month;
use serde::Serialize;

use crate::clock::now_millis;
use crate::import::{
    ImportError, ImportFile, ImportOptions, RefusalCounter, RejectWriter, RejectedRow, RowOutcome,
    SourceEncoding,
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
    /// A valid list row could not be proposed (a fault of this build: the parser gives
    /// every list row what a proposal needs).
    #[error("{file}: line {line}: the entry cannot be proposed: {reason}", file = file.display())]
    Proposal {
        /// The file.
        file: PathBuf,
        /// The row's line.
        line: u64,
        /// Why.
        reason: String,
    },
    /// A list file needs the administrator who proposes its entries.
    #[error("{file}: list entries are proposed by an administrator and confirmed by another: name the proposer (the admin certificate's name, --proposer NAME)", file = file.display())]
    NoProposer {
        /// The file.
        file: PathBuf,
    },
}

/// One rejected row as listed in a summary.
#[derive(Debug, Clone, Serialize)]
pub struct RejectSummary {
    /// The physical line in the file where the row starts; in a workbook, the row's
    /// number in its sheet.
    pub line: u64,
    /// The row's sheet, in a workbook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// `FIELD: reason` for each problem.
    pub errors: Vec<String>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// The file imported.
    pub file: PathBuf,
    /// `penalty`, `licence`, `list`, `dishonest-debtor` or `code-mapping`.
    pub kind: String,
    /// The header layout: `codes`, `chinese`, `pre-2019` or `2016` (see
    /// [`Layout`](crate::import::Layout)).
    pub layout: String,
    /// `utf-8` or `gb18030` (`utf-8` for a workbook).
    pub encoding: String,
    /// The sheets imported, for a workbook.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sheets: Vec<String>,
    /// Data rows read.
    pub rows: u64,
    /// Rows that passed validation.
    pub valid: u64,
    /// Rows refused.
    pub rejected: u64,
    /// Records stored for the first time (for list files: entries proposed for review).
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

impl ImportSummary {
    /// An empty summary of `file`.
    fn of(file: &ImportFile) -> ImportSummary {
        ImportSummary {
            file: file.path().to_path_buf(),
            kind: file.kind().name().into(),
            layout: file.layout().name().into(),
            encoding: match file.encoding() {
                SourceEncoding::Utf8 => "utf-8".into(),
                SourceEncoding::Gb18030 => "gb18030".into(),
            },
            sheets: file.sheets(),
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
        }
    }
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
    progress: impl FnMut(u64, u64),
) -> Result<ImportSummary, IngestError> {
    import_file_as(store, path, reject_path, None, progress)
}

/// [`import_file`] on behalf of `proposer` (an admin certificate's name), who
/// proposes the entries of a list or court file for review: each valid row becomes a
/// draft at this node ([`Store::put_draft`]), published only once another
/// administrator confirmed it. Without a proposer such files are refused.
pub fn import_file_as(
    store: &Store,
    path: &Path,
    reject_path: &Path,
    proposer: Option<&str>,
    progress: impl FnMut(u64, u64),
) -> Result<ImportSummary, IngestError> {
    let options = ImportOptions::default();
    import_with(store, path, &options, reject_path, proposer, progress)
}

/// [`import_file_as`] with options: the sheet of a workbook to import.
pub fn import_with(
    store: &Store,
    path: &Path,
    options: &ImportOptions,
    reject_path: &Path,
    proposer: Option<&str>,
    mut progress: impl FnMut(u64, u64),
) -> Result<ImportSummary, IngestError> {
    let started = Instant::now();
    let file = ImportFile::open_with(path, options)?;
    if file.kind().is_list() {
        let Some(by) = proposer else {
            return Err(IngestError::NoProposer {
                file: path.to_path_buf(),
            });
        };
        return propose_file(store, &file, reject_path, by, started, progress);
    }
    let total = file.total_bytes();
    let mut summary = ImportSummary::of(&file);
    let mut rejects = reject_writer(reject_path, &file);
    let mut refused = refusal_counter(store);

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
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(e) => {
                    parse_result = Err(e.into());
                    break;
                }
            };
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
                    refused.add(&row);
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
    store.add_refusals(&refused.into_tallies())?;
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

/// The counter of an import's refused rows, for the store's refusal tallies (rows
/// without a readable decision date count in the month of the import).
fn refusal_counter(store: &Store) -> RefusalCounter {
    let today = credithub_protocol::Date::from_millis(now_millis()).map_or(
        Month {
            year: 1970,
            month: 1,
        },
        Month::of,
    );
    RefusalCounter::new(store.jurisdiction(), today)
}

/// The reject file of `file`: with a `_sheet` column for a workbook.
fn reject_writer(path: &Path, file: &ImportFile) -> RejectWriter {
    let writer = RejectWriter::create(path, file.header());
    if file.sheets().is_empty() {
        writer
    } else {
        writer.with_sheets()
    }
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
            sheet: row.sheet.clone(),
            errors: row
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect(),
        });
    }
    Ok(())
}

/// The list path of [`import_file_as`]: every valid row proposed by `by`; a row
/// whose entry a draft or the published version already states changes nothing.
fn propose_file(
    store: &Store,
    file: &ImportFile,
    reject_path: &Path,
    by: &str,
    started: Instant,
    mut progress: impl FnMut(u64, u64),
) -> Result<ImportSummary, IngestError> {
    use credithub_protocol::record::RecordKey;
    use credithub_protocol::review;
    let total = file.total_bytes();
    let mut summary = ImportSummary::of(file);
    let mut rejects = reject_writer(reject_path, file);
    let mut refused = refusal_counter(store);
    let note = format!(
        "imported from {}",
        file.path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    for outcome in file.rows() {
        summary.rows += 1;
        match outcome? {
            RowOutcome::Valid(row) => {
                summary.valid += 1;
                summary.warnings += row.warnings.len() as u64;
                let key = RecordKey::derive(store.jurisdiction(), row.kind, &row.body);
                let held = [store.draft(&key)?, store.get(&key)?];
                if held
                    .iter()
                    .flatten()
                    .filter_map(|r| r.body.as_ref())
                    .any(|b| review::same_entry(b, &row.body))
                {
                    summary.unchanged += 1;
                    continue;
                }
                let existed = held.iter().any(Option::is_some);
                let mut body = row.body;
                let now = now_millis();
                // The parser gives list rows a list kind and a listing, which is all a
                // proposal needs: a refusal here is a fault of this build.
                review::propose(row.kind, &mut body, by, &note, now).map_err(|e| {
                    IngestError::Proposal {
                        file: file.path().to_path_buf(),
                        line: row.line,
                        reason: e.to_string(),
                    }
                })?;
                store.put_draft(row.kind, &body, now)?;
                if existed {
                    summary.updated += 1;
                } else {
                    summary.inserted += 1;
                }
                if summary.rows.is_multiple_of(1024) {
                    progress(row.bytes_read, total);
                }
            }
            RowOutcome::Invalid(row) => {
                summary.rejected += 1;
                refused.add(&row);
                record_reject(&row, &mut rejects, &mut summary)?;
            }
        }
    }
    store.add_refusals(&refused.into_tallies())?;
    if rejects.finish()? > 0 {
        summary.reject_file = Some(reject_path.to_path_buf());
    }
    progress(total, total);
    summary.elapsed = started.elapsed();
    Ok(summary)
}
