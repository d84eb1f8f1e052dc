//! Commands that open a node's store directly (`--data-dir`, the node stopped), or
//! hand over to a running node (`--node`): import, verify, query, stats, and restore
//! (offline only).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use credithub_node::import::ImportOptions;
use credithub_node::ingest::{self, ImportSummary};
use credithub_node::{Store, StoreOptions};
use credithub_protocol::{DivisionCode, Scope};
use serde::Serialize;

use crate::online::{self, Target};
use crate::output::{print_json, progress_bar, short_hash, table, Format};

/// Arguments of `import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    target: Target,
    /// The jurisdiction of a new store (required the first time; must match later).
    #[arg(long)]
    jurisdiction: Option<DivisionCode>,
    /// Where to write rejected rows (default: FILE.rejects.csv beside the file).
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Offline import of red/black-list and court (失信被执行人) files: the admin
    /// certificate name on whose behalf their entries are proposed (another
    /// administrator must review and confirm them; online, the certificate used).
    #[arg(long)]
    proposer: Option<String>,
    /// The sheet of an .xlsx/.xls workbook to import (default: every sheet whose
    /// header names known columns; sheets imported together must share one header).
    #[arg(long, value_name = "NAME")]
    sheet: Option<String>,
    /// Files in the national formats (CSV in UTF-8 or GB18030/GBK, or .xlsx/.xls
    /// workbooks): penalties and licences
    /// (CF_/XK_ codes or Chinese headers, today's or the older pre-2019 and 2016
    /// layouts), red and black lists, dishonest judgment
    /// debtors, and old-to-new code mappings (新旧代码映射).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Rejected rows listed per file in table output (JSON lists up to 50; the reject
/// file has them all).
const LISTED_IN_TABLE: usize = 10;

/// Runs `import`; returns whether every row of every file was accepted.
pub(crate) fn import(args: &ImportArgs, format: Format) -> anyhow::Result<bool> {
    let Some(data_dir) = &args.target.data_dir else {
        return online::import(
            &args.target.node,
            &args.files,
            args.sheet.as_deref(),
            format,
        );
    };
    let store = open_dir(data_dir, args.jurisdiction)?;
    let mut summaries: Vec<ImportSummary> = Vec::new();
    for file in &args.files {
        let reject_path = match (&args.rejects, args.files.len()) {
            (Some(p), 1) => p.clone(),
            (Some(p), _) => p.join(format!(
                "{}.rejects.csv",
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )),
            (None, _) => ingest::default_reject_path(file),
        };
        let bar = progress_bar(0, &file.display().to_string());
        let options = ImportOptions {
            sheet: args.sheet.clone(),
        };
        let summary = ingest::import_with(
            &store,
            file,
            &options,
            &reject_path,
            args.proposer.as_deref(),
            |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            },
        )
        .with_context(|| format!("importing {}", file.display()))?;
        bar.finish_and_clear();
        summaries.push(summary);
    }
    match format {
        Format::Json => print_json(&summaries)?,
        Format::Table => {
            let mut t = table(&[
                "FILE",
                "KIND",
                "LAYOUT",
                "ENCODING",
                "ROWS",
                "VALID",
                "REJECTED",
                "NEW",
                "UPDATED",
                "UNCHANGED",
                "SECONDS",
            ]);
            for s in &summaries {
                t.add_row(vec![
                    s.file.display().to_string(),
                    s.kind.clone(),
                    s.layout.clone(),
                    s.encoding.clone(),
                    s.rows.to_string(),
                    s.valid.to_string(),
                    s.rejected.to_string(),
                    s.inserted.to_string(),
                    s.updated.to_string(),
                    s.unchanged.to_string(),
                    format!("{:.2}", s.elapsed.as_secs_f64()),
                ]);
            }
            say!("{t}");
            for s in summaries.iter().filter(|s| s.rejected > 0) {
                say!(
                    "\nRejected rows of {} (all {} written to {}):",
                    s.file.display(),
                    s.rejected,
                    s.reject_file
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                );
                for r in s.first_rejects.iter().take(LISTED_IN_TABLE) {
                    let at = match &r.sheet {
                        Some(sheet) => format!("sheet {sheet} row {}", r.line),
                        None => format!("line {}", r.line),
                    };
                    say!("  {at}: {}", r.errors.join("; "));
                }
                let listed = s.first_rejects.len().min(LISTED_IN_TABLE) as u64;
                if s.rejected > listed {
                    say!("  … and {} more", s.rejected - listed);
                }
            }
        }
    }
    Ok(summaries.iter().all(|s| s.rejected == 0))
}

/// Runs `verify` on a stopped node's store (`--data-dir`) or a running node
/// (`--node`, writes wait meanwhile); returns whether it was clean.
pub(crate) fn verify(target: &Target, format: Format) -> anyhow::Result<bool> {
    let report = match &target.data_dir {
        Some(dir) => {
            let store = open_dir(dir, None)?;
            let bar = progress_bar(0, "verify");
            let report = store.verify(|n| bar.set_position(n))?;
            bar.finish_and_clear();
            report
        }
        None => online::verify(&target.node)?,
    };
    match format {
        Format::Json => print_json(&report)?,
        Format::Table => {
            say!(
                "checked {} records ({} tombstones) in {} partitions, {} digest cells, {} subject-index entries",
                report.records, report.tombstones, report.partitions, report.cells, report.subject_entries
            );
            if report.is_clean() {
                say!("OK: the digest and subject indexes match the records");
            } else {
                say!("MISMATCH: {} problem(s)", report.problem_count);
                for p in &report.problems {
                    say!("  {p}");
                }
            }
        }
    }
    Ok(report.is_clean())
}

/// Opens a stopped node's store with the offline tuning (small caches: see
/// [`StoreOptions::offline_tool`]).
fn open_dir(dir: &std::path::Path, jurisdiction: Option<DivisionCode>) -> anyhow::Result<Store> {
    Store::open_with(dir, jurisdiction, &StoreOptions::offline_tool())
        .with_context(|| format!("opening the store in {}", dir.display()))
}

/// Arguments of `restore`.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The stopped node's data directory (its current store is moved aside, not
    /// deleted).
    #[arg(long, env = "CREDIT_DATA_DIR")]
    data_dir: PathBuf,
    /// The checkpoint directory, as written by `backup` (under the data directory's
    /// `backups/`, or a copy of it).
    #[arg(long)]
    from: PathBuf,
    /// Go ahead.
    #[arg(long)]
    yes: bool,
}

/// Runs `restore`.
pub(crate) fn restore(args: &RestoreArgs, format: Format) -> anyhow::Result<bool> {
    if !args.yes {
        anyhow::bail!(
            "restore replaces the store in {} (the node must be stopped; the current store is moved aside): add --yes to go ahead",
            args.data_dir.display()
        );
    }
    // The checkpoint may sit inside the data directory, which moves: copy it first.
    let restored = Store::restore(
        &args.from,
        &args.data_dir,
        credithub_node::clock::now_millis(),
    )
    .with_context(|| {
        format!(
            "restoring {} into {}",
            args.from.display(),
            args.data_dir.display()
        )
    })?;
    match format {
        Format::Json => print_json(&restored)?,
        Format::Table => {
            say!(
                "restored {} live records and {} tombstones into {}",
                restored.live,
                restored.tombstones,
                restored.data_dir.display()
            );
            if let Some(old) = &restored.replaced {
                say!("the store it replaced was moved to {}", old.display());
            }
            say!("start the node: it reconciles with its parent and children, and what they hold newer comes back (except this node's own records written after the checkpoint)");
        }
    }
    Ok(true)
}

#[derive(Debug, Serialize)]
struct PartitionView {
    origin: String,
    kind: String,
    records: i64,
    root: String,
}

#[derive(Debug, Serialize)]
struct StatsView {
    jurisdiction: String,
    records: i64,
    live: u64,
    tombstones: u64,
    store_root: String,
    partitions: Vec<PartitionView>,
    storage: std::collections::BTreeMap<String, u64>,
}

/// Runs `stats` on a stopped node's store (`--data-dir`) or a running node.
pub(crate) fn stats(target: &Target, format: Format) -> anyhow::Result<bool> {
    let (jurisdiction, live, tombstones, root, partitions, storage) = match &target.data_dir {
        Some(dir) => {
            let store = open_dir(dir, None)?;
            let (live, tombstones) = store.count(DivisionCode::NATIONAL, None)?;
            let partitions: Vec<_> = store
                .partitions()?
                .into_iter()
                .map(|(p, cell)| (p, cell.signed_count(), short_hash(&cell.fingerprint())))
                .collect();
            let root = short_hash(&store.store_root()?.fingerprint());
            (
                store.jurisdiction(),
                live,
                tombstones,
                root,
                partitions,
                Default::default(),
            )
        }
        None => {
            let r = online::stats(&target.node)?;
            (
                r.jurisdiction,
                r.live,
                r.tombstones,
                r.store_root,
                r.partitions,
                r.storage,
            )
        }
    };
    let view = StatsView {
        jurisdiction: format!("{jurisdiction} {}", jurisdiction.name().unwrap_or("")),
        records: (live + tombstones) as i64,
        live,
        tombstones,
        store_root: root,
        partitions: partitions
            .into_iter()
            .map(|(p, records, root)| PartitionView {
                origin: match p.scope {
                    Scope::Origin(c) => format!("{c} {}", c.name().unwrap_or("")),
                    Scope::Subjects(c) => format!("about {c} {}", c.name().unwrap_or("")),
                },
                kind: p.kind.name(),
                records,
                root,
            })
            .collect(),
        storage,
    };
    match format {
        Format::Json => print_json(&view)?,
        Format::Table => {
            say!(
                "jurisdiction {}: {} record versions ({} live, {} tombstones), store root {}",
                view.jurisdiction,
                view.records,
                view.live,
                view.tombstones,
                view.store_root
            );
            let mut t = table(&["ORIGIN", "KIND", "RECORDS", "ROOT"]);
            for p in &view.partitions {
                t.add_row(vec![
                    p.origin.clone(),
                    p.kind.clone(),
                    p.records.to_string(),
                    p.root.clone(),
                ]);
            }
            say!("{t}");
            if !view.storage.is_empty() {
                let figures: Vec<String> = view
                    .storage
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                say!("storage: {}", figures.join(", "));
            }
        }
    }
    Ok(true)
}
