//! `export`: a node's penalties and licences written as national 双公示 files (CSV in
//! UTF-8 or GB18030, or `.xlsx`), from a running node (`--node`, in pages over the
//! admin protocol) or a stopped node's store (`--data-dir`). The file is written
//! under a temporary name and renamed when complete: an interrupted export leaves no
//! half-written file behind.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use credithub_node::admin::client::AdminClient;
use credithub_node::admin::{AdminRequest, AdminResponse};
use credithub_node::clock::today;
use credithub_node::export::file::FileSink;
use credithub_node::export::{self, FileKind, HeaderStyle, Numbers, Page, Plan, Selection};
use credithub_node::Store;
use credithub_protocol::lifecycle::{Audience, PublicationRules};
use credithub_protocol::{Date, DivisionCode, RecordKey};
use serde::Serialize;

use crate::online::{call, unexpected, Target};
use crate::output::{print_json, progress_bar, Format};

/// Rows asked per page of an online export.
const PAGE_ROWS: u32 = 1_000;

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// The national CSV exchange files.
    NationalCsv,
    /// An Excel workbook (`.xlsx`).
    Xlsx,
}

/// The kinds an export can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KindArg {
    /// Administrative penalties (行政处罚).
    Penalty,
    /// Administrative licences (行政许可).
    #[value(alias = "license")]
    Licence,
}

/// Who the file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AudienceArg {
    /// A portal: published records only.
    Public,
    /// Government systems: every shared record.
    Government,
}

/// The header style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HeadersArg {
    /// Column codes (`CF_XDR_MC`).
    Codes,
    /// Chinese column names (行政相对人名称).
    Chinese,
}

/// The CSV encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EncodingArg {
    /// UTF-8.
    Utf8,
    /// GB18030, as many government systems read.
    Gb18030,
}

/// How `export` reports what it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SummaryArg {
    /// A line per file.
    Table,
    /// One JSON document.
    Json,
}

/// Arguments of `export` (the file format is the global `--format national-csv|xlsx`).
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// How to report what was written (the global --format names the file format).
    #[arg(long, value_enum, default_value = "table")]
    summary: SummaryArg,
    /// The file to write. Without --kind, one file per kind is written, the kind's
    /// name before the extension (`out-penalty.csv`, `out-licence.csv`).
    #[arg(long)]
    out: PathBuf,
    /// Only this kind (default: penalties and licences).
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Only records whose origin lies inside this division (default: every origin held).
    #[arg(long)]
    origin: Option<String>,
    /// Only the records written (or changed) on or after this day, YYYY-MM-DD.
    #[arg(long)]
    since: Option<String>,
    /// Who the file is for: the records that audience may see today.
    #[arg(long, value_enum, default_value = "government")]
    audience: AudienceArg,
    /// Write natural persons' names and document numbers in full (an auditor
    /// certificate, and --purpose; entered in the audit log). Without it they are
    /// masked as in published output, and such rows cannot be imported again.
    #[arg(long)]
    full_numbers: bool,
    /// Why the full numbers are needed (with --full-numbers).
    #[arg(long)]
    purpose: Option<String>,
    /// Header style.
    #[arg(long, value_enum, default_value = "codes")]
    headers: HeadersArg,
    /// CSV encoding.
    #[arg(long, value_enum, default_value = "utf8")]
    encoding: EncodingArg,
    #[command(flatten)]
    target: Target,
}

/// What one file of an export holds.
#[derive(Debug, Serialize)]
struct Written {
    kind: String,
    path: String,
    sheet: Option<String>,
    rows: u64,
    extra_columns: Vec<String>,
}

/// Where the rows come from: a running node or a stopped node's store.
trait RowSource {
    /// The first pass.
    async fn plan(&self, selection: &Selection, purpose: Option<&str>) -> anyhow::Result<Plan>;
    /// A page after `after`.
    async fn page(
        &self,
        selection: &Selection,
        purpose: Option<&str>,
        extra: &[String],
        after: Option<RecordKey>,
    ) -> anyhow::Result<Page>;
}

/// A running node, over one admin connection.
struct Online<'a>(&'a AdminClient);

impl RowSource for Online<'_> {
    async fn plan(&self, selection: &Selection, purpose: Option<&str>) -> anyhow::Result<Plan> {
        let request = AdminRequest::ExportPlan {
            selection: selection.clone(),
            purpose: purpose.map(str::to_string),
        };
        match call(self.0, &request).await? {
            AdminResponse::ExportPlanned(p) => Ok(p),
            other => Err(unexpected(other)),
        }
    }

    async fn page(
        &self,
        selection: &Selection,
        purpose: Option<&str>,
        extra: &[String],
        after: Option<RecordKey>,
    ) -> anyhow::Result<Page> {
        let request = AdminRequest::ExportPage {
            selection: selection.clone(),
            purpose: purpose.map(str::to_string),
            extra: extra.to_vec(),
            after,
            limit: PAGE_ROWS,
        };
        match call(self.0, &request).await? {
            AdminResponse::ExportRows(p) => Ok(p),
            other => Err(unexpected(other)),
        }
    }
}

/// A stopped node's store, read with the default publication rules; pages with full
/// numbers are entered in its audit log as an offline reader's.
struct Offline {
    store: Store,
    rules: PublicationRules,
    who: String,
}

impl RowSource for Offline {
    async fn plan(&self, selection: &Selection, _purpose: Option<&str>) -> anyhow::Result<Plan> {
        Ok(export::plan(&self.store, selection, &self.rules, today())?)
    }

    async fn page(
        &self,
        selection: &Selection,
        purpose: Option<&str>,
        extra: &[String],
        after: Option<RecordKey>,
    ) -> anyhow::Result<Page> {
        let page = export::page(
            &self.store,
            selection,
            extra,
            after,
            export::MAX_PAGE_ROWS,
            &self.rules,
            today(),
        )?;
        export::audit_page(
            &self.store,
            &self.who,
            purpose.unwrap_or_default(),
            selection,
            after,
            &page,
        )?;
        Ok(page)
    }
}

/// The path a kind's file gets when one export writes several.
fn path_for(out: &Path, kind: FileKind) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "csv".into());
    out.with_file_name(format!("{stem}-{kind}.{ext}"))
}

/// The temporary name a file is written under until it is complete.
fn partial(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

fn sheet_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Penalty => "行政处罚信息",
        FileKind::Licence => "行政许可信息",
    }
}

/// Runs `export`.
pub(crate) fn run(args: &ExportArgs, file_format: Option<ExportFormat>) -> anyhow::Result<bool> {
    let Some(file_format) = file_format else {
        bail!("export writes --format national-csv or --format xlsx");
    };
    let format = match args.summary {
        SummaryArg::Table => Format::Table,
        SummaryArg::Json => Format::Json,
    };
    let within = match &args.origin {
        None => DivisionCode::NATIONAL,
        Some(text) => {
            DivisionCode::parse(text).map_err(|e| anyhow::anyhow!("--origin {text}: {e}"))?
        }
    };
    let since = match &args.since {
        None => None,
        Some(text) => Some(Date::parse(text).map_err(|e| anyhow::anyhow!("--since {text}: {e}"))?),
    };
    let purpose = args
        .purpose
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if args.full_numbers && purpose.is_none() {
        bail!("--full-numbers needs a stated --purpose; it is written to the audit log");
    }
    let kinds: Vec<FileKind> = match args.kind {
        Some(KindArg::Penalty) => vec![FileKind::Penalty],
        Some(KindArg::Licence) => vec![FileKind::Licence],
        None => vec![FileKind::Penalty, FileKind::Licence],
    };
    let selection = |kind: FileKind| Selection {
        kind,
        within,
        since,
        audience: match args.audience {
            AudienceArg::Public => Audience::Public,
            AudienceArg::Government => Audience::Government,
        },
        numbers: if args.full_numbers {
            Numbers::Full
        } else {
            Numbers::Masked
        },
    };
    let style = match args.headers {
        HeadersArg::Codes => HeaderStyle::Codes,
        HeadersArg::Chinese => HeaderStyle::Chinese,
    };
    let written = match &args.target.data_dir {
        Some(dir) => {
            let store = Store::open(dir, None)
                .with_context(|| format!("opening the store in {}", dir.display()))?;
            let who = format!(
                "offline:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            );
            let source = Offline {
                store,
                rules: PublicationRules::default(),
                who,
            };
            tokio::runtime::Builder::new_current_thread()
                .build()?
                .block_on(write_all(
                    args,
                    file_format,
                    &source,
                    &kinds,
                    &selection,
                    style,
                    purpose,
                ))?
        }
        None => args.target.node.with(async |client| {
            write_all(
                args,
                file_format,
                &Online(client),
                &kinds,
                &selection,
                style,
                purpose,
            )
            .await
        })?,
    };
    report(&written, format)?;
    Ok(true)
}

/// Writes the file (or files) from `source`.
async fn write_all(
    args: &ExportArgs,
    format: ExportFormat,
    source: &impl RowSource,
    kinds: &[FileKind],
    selection: &impl Fn(FileKind) -> Selection,
    style: HeaderStyle,
    purpose: Option<&str>,
) -> anyhow::Result<Vec<Written>> {
    let mut plans = Vec::with_capacity(kinds.len());
    for &k in kinds {
        plans.push(source.plan(&selection(k), purpose).await?);
    }
    let mut written = Vec::new();
    for (&kind, plan) in kinds.iter().zip(&plans) {
        let sel = selection(kind);
        let header = export::header(kind, style, &plan.extra_columns);
        let path = if kinds.len() == 1 {
            args.out.clone()
        } else {
            path_for(&args.out, kind)
        };
        let temp = partial(&path);
        let mut sink = match format {
            ExportFormat::NationalCsv => {
                FileSink::csv(&temp, &header, args.encoding == EncodingArg::Gb18030)?
            }
            ExportFormat::Xlsx => {
                let kinds = export::cell_kinds(kind, plan.extra_columns.len());
                FileSink::xlsx(&temp, &header, kinds, sheet_name(kind))?
            }
        };
        let bar = progress_bar(plan.records, &format!("exporting {kind} records"));
        let mut rows = 0u64;
        let mut after = None;
        loop {
            let page = source
                .page(&sel, purpose, &plan.extra_columns, after)
                .await?;
            for row in &page.rows {
                sink.write(row)?;
            }
            rows += page.rows.len() as u64;
            bar.set_position(rows);
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        bar.finish_and_clear();
        sink.finish()?;
        std::fs::rename(&temp, &path)
            .with_context(|| format!("renaming {} to {}", temp.display(), path.display()))?;
        written.push(Written {
            kind: kind.to_string(),
            path: path.display().to_string(),
            sheet: (format == ExportFormat::Xlsx).then(|| sheet_name(kind).to_string()),
            rows,
            extra_columns: plan.extra_columns.clone(),
        });
    }
    Ok(written)
}

/// Prints what was written.
fn report(written: &[Written], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(&written)?,
        Format::Table => {
            for w in written {
                let sheet = w
                    .sheet
                    .as_deref()
                    .map(|s| format!(" (sheet {s})"))
                    .unwrap_or_default();
                let extra = if w.extra_columns.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; columns kept from the sources: {}",
                        w.extra_columns.join(", ")
                    )
                };
                say!("{} {} rows → {}{sheet}{extra}", w.rows, w.kind, w.path);
            }
        }
    }
    Ok(())
}
