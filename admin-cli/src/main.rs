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

mod cert;
mod offline;
mod online;
mod output;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::Format;

/// Administer credithub nodes.
#[derive(Debug, Parser)]
#[command(name = "credit-admin", version, about, propagate_version = true)]
struct Cli {
    /// Output format.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "table",
        env = "CREDIT_FORMAT"
    )]
    format: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check identifiers offline: says for each code whether it is valid or exactly why not.
    Validate(validate::ValidateArgs),
    /// A running node's state: records, roots, the link to its parent, its children.
    Status(online::NodeArgs),
    /// Reconcile a running node with its parent now (asks for --yes).
    Reconcile(ReconcileArgs),
    /// Import licence or penalty files: into a running node (--node) or a stopped
    /// node's store (--data-dir).
    Import(offline::ImportArgs),
    /// Recompute the digest and subject indexes from the records and report mismatches.
    Verify(offline::DataDir),
    /// Every record a node holds about a subject (--node, or --data-dir when stopped).
    Query(offline::QueryArgs),
    /// Record counts and digest roots of a stopped node's store.
    Stats(offline::DataDir),
    /// Create and list the certificates of a certs directory (CA, node, admins and clients).
    Cert(cert::CertArgs),
}

/// Arguments of `reconcile`.
#[derive(Debug, clap::Args)]
struct ReconcileArgs {
    #[command(flatten)]
    node: online::NodeArgs,
    /// Go ahead (reconciling moves records).
    #[arg(long)]
    yes: bool,
}

/// Exit code for "partly done".
const PARTIAL: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Validate(args) => validate::run(args, cli.format).map(|ok| if ok { 0 } else { 1 }),
        Command::Status(args) => online::status(args, cli.format).map(|_| 0),
        Command::Reconcile(args) => {
            online::reconcile(&args.node, args.yes, cli.format)
                .map(|ok| if ok { 0 } else { PARTIAL })
        }
        Command::Import(args) => {
            offline::import(args, cli.format).map(|ok| if ok { 0 } else { PARTIAL })
        }
        Command::Verify(dir) => offline::verify(dir, cli.format).map(|ok| if ok { 0 } else { 1 }),
        Command::Query(args) => offline::query(args, cli.format).map(|_| 0),
        Command::Stats(dir) => offline::stats(dir, cli.format).map(|_| 0),
        Command::Cert(args) => cert::run(args, cli.format).map(|_| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
