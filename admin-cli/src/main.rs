//! `credit-admin`: the operator's command line for credithub nodes.
//!
//! Exit codes: 0 success; 1 failure (an error, an invalid code, a verify mismatch);
//! 2 wrong usage; 3 partly done (an import that rejected some rows).

/// Prints a line to stdout; a closed pipe (`credit-admin … | head`) ends the program
/// quietly, any other write error with exit code 1.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            std::process::exit(if e.kind() == std::io::ErrorKind::BrokenPipe { 0 } else { 1 });
        }
    }};
}

mod card;
mod cert;
mod export;
mod lists;
mod offline;
mod online;
mod output;
mod reads;
mod records;
mod sheets;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use credithub_node::admin::ReconcileTarget;

use crate::output::Format;

/// Administer credithub nodes.
#[derive(Debug, Parser)]
#[command(name = "credit-admin", version, about, propagate_version = true)]
struct Cli {
    /// Output format: table or json; for `export`, the file to write (national-csv
    /// or xlsx).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "table",
        env = "CREDIT_FORMAT"
    )]
    format: FormatArg,
    #[command(subcommand)]
    command: Command,
}

/// The values of the global `--format`: how a command prints, or the file `export`
/// writes (one option, as operators write `export --format xlsx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FormatArg {
    /// Aligned columns.
    Table,
    /// One JSON document.
    Json,
    /// `export` only: the national CSV files.
    NationalCsv,
    /// `export` only: Excel workbooks.
    Xlsx,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check identifiers offline: says for each code whether it is valid or exactly why not.
    Validate(validate::ValidateArgs),
    /// A running node's state; with --tree, the whole federation below it.
    Status(StatusArgs),
    /// The sync state of a running node: its parent link and its children's sessions.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Reconcile now: a node with its parent, or a hub's children with it (asks for --yes).
    Reconcile(ReconcileArgs),
    /// List the differences between a running node and its parent, moving nothing.
    Diff(DiffArgs),
    /// Import licence or penalty files: into a running node (--node) or a stopped
    /// node's store (--data-dir).
    Import(offline::ImportArgs),
    /// Recompute the digest and subject indexes from the records and report
    /// mismatches (--node, or --data-dir when stopped).
    Verify(online::Target),
    /// Every record a node holds about a subject that you may see, with each
    /// origin's freshness (--node, or --data-dir when stopped).
    Query(reads::QueryArgs),
    /// Subjects by their name or a fragment of it (two characters at least), ranked
    /// and paged.
    Search(reads::SearchArgs),
    /// Which joint reward and punishment measures apply to a subject today.
    Check(reads::CheckArgs),
    /// A subject's credit report (text, or --format json).
    Report(reads::ReportArgs),
    /// Records by origin and kind, and reporting timeliness per origin.
    Timeliness(online::NodeArgs),
    /// Accounts per reporting unit (authority and data-source unit) of a node and
    /// every node below it, for one month, and the units that owed a report and made
    /// none.
    Accounts(card::AccountsArgs),
    /// The monthly notice per province, city and unit, and the cities ranked by the
    /// indicators of city monitoring: a table, CSV files and an XLSX workbook.
    ReportCard(card::CardArgs),
    /// The life of a record: objections, decisions, withdrawal, credit repair.
    #[command(subcommand)]
    Record(records::RecordCommand),
    /// The audit log of queries about natural persons.
    #[command(subcommand)]
    Audit(records::AuditCommand),
    /// Red and black lists and dishonest debtors: propose, review, confirm, reject,
    /// remove, show, ls.
    #[command(subcommand)]
    List(lists::ListCommand),
    /// Write penalties and licences as national files (CSV or xlsx), for systems that
    /// only read files (--node, or --data-dir when stopped).
    Export(export::ExportArgs),
    /// Record counts and digest roots per partition (--node, or --data-dir when stopped).
    Stats(online::Target),
    /// Write a checkpoint of a running node's store under its data directory.
    Backup(BackupArgs),
    /// Restore a checkpoint into a stopped node's data directory.
    Restore(offline::RestoreArgs),
    /// Have a running node stop taking sync sessions before maintenance.
    Drain(YesArgs),
    /// Create and list the certificates of a certs directory (CA, node, admins and clients).
    Cert(cert::CertArgs),
}

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
struct StatusArgs {
    #[command(flatten)]
    node: online::NodeArgs,
    /// Show the federation below the node, as each hub last heard from its children.
    #[arg(long)]
    tree: bool,
    /// With --tree: show unreachable children's last-known state (marked stale).
    #[arg(long, requires = "tree")]
    stale: bool,
}

#[derive(Debug, Subcommand)]
enum SyncCommand {
    /// The parent link (connected, caught up, last round) and the children's sessions.
    Status(online::NodeArgs),
}

/// Arguments of `reconcile`.
#[derive(Debug, clap::Args)]
struct ReconcileArgs {
    #[command(flatten)]
    node: online::NodeArgs,
    /// Have this child (by name) reconcile with the node, instead of the node with its parent.
    #[arg(long, conflicts_with = "children")]
    child: Option<String>,
    /// Have every connected child reconcile with the node.
    #[arg(long)]
    children: bool,
    /// Go ahead (reconciling moves records).
    #[arg(long)]
    yes: bool,
}

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
struct DiffArgs {
    #[command(flatten)]
    node: online::NodeArgs,
    /// Differences listed at most (all are counted).
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

/// Arguments of `backup`.
#[derive(Debug, clap::Args)]
struct BackupArgs {
    #[command(flatten)]
    node: online::NodeArgs,
    /// The checkpoint's name: it is written to `backups/NAME` under the node's data directory.
    #[arg(long = "to")]
    name: String,
    /// Go ahead.
    #[arg(long)]
    yes: bool,
}

/// A mutation's confirmation.
#[derive(Debug, clap::Args)]
struct YesArgs {
    #[command(flatten)]
    node: online::NodeArgs,
    /// Go ahead.
    #[arg(long)]
    yes: bool,
}

/// Exit code for "partly done".
const PARTIAL: u8 = 3;

/// Exit code for wrong usage.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (format, file_format) = match cli.format {
        FormatArg::Table => (Format::Table, None),
        FormatArg::Json => (Format::Json, None),
        FormatArg::NationalCsv => (Format::Table, Some(export::ExportFormat::NationalCsv)),
        FormatArg::Xlsx => (Format::Table, Some(export::ExportFormat::Xlsx)),
    };
    if file_format.is_some() && !matches!(cli.command, Command::Export(_)) {
        eprintln!("error: --format national-csv and xlsx are the file formats of `export`; other commands print as table or json");
        return ExitCode::from(USAGE);
    }
    let ok = |ok: bool| if ok { 0 } else { 1 };
    let partial = |ok: bool| if ok { 0 } else { PARTIAL };
    let result = match &cli.command {
        Command::Validate(args) => validate::run(args, format).map(ok),
        Command::Status(a) => online::status(&a.node, a.tree, a.stale, format).map(ok),
        Command::Sync(SyncCommand::Status(node)) => online::sync_status(node, format).map(ok),
        Command::Reconcile(a) => {
            let target = match (&a.child, a.children) {
                (Some(name), _) => ReconcileTarget::Child(name.clone()),
                (None, true) => ReconcileTarget::Children,
                (None, false) => ReconcileTarget::Parent,
            };
            online::reconcile(&a.node, target, a.yes, format).map(partial)
        }
        Command::Diff(a) => online::diff(&a.node, a.limit, format).map(|_| 0),
        Command::Import(args) => offline::import(args, format).map(partial),
        Command::Verify(t) => offline::verify(t, format).map(ok),
        Command::Query(args) => reads::run_query(args, format).map(|_| 0),
        Command::Search(args) => reads::run_search(args, format).map(ok),
        Command::Check(args) => reads::run_check(args, format).map(|_| 0),
        Command::Report(args) => reads::run_report(args, format).map(|_| 0),
        Command::Timeliness(node) => reads::run_timeliness(node, format).map(|_| 0),
        Command::Accounts(args) => card::run_accounts(args, format).map(|_| 0),
        Command::ReportCard(args) => card::run_card(args, format).map(|_| 0),
        Command::Record(cmd) => records::run(cmd, format).map(ok),
        Command::Audit(cmd) => records::audit(cmd, format).map(ok),
        Command::List(cmd) => lists::run(cmd, format).map(ok),
        Command::Export(args) => export::run(args, file_format).map(ok),
        Command::Stats(t) => offline::stats(t, format).map(|_| 0),
        Command::Backup(a) => online::backup(&a.node, &a.name, a.yes, format).map(ok),
        Command::Restore(a) => offline::restore(a, format).map(ok),
        Command::Drain(a) => online::drain(&a.node, a.yes, format).map(ok),
        Command::Cert(args) => cert::run(args, format).map(|_| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
