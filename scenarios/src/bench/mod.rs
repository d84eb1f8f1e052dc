//! Benchmarks: each prints its figures beside a reference measured in the same run,
//! and the machine it ran on. Timings are printed, never asserted.

pub mod ingest;
pub mod machine;
pub mod reconcile;

use clap::Subcommand;

/// Which benchmark to run.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Ingest: validated records per second with the digest index maintained, beside a
    /// raw RocksDB batched put of the same encoded bytes.
    Ingest(ingest::IngestArgs),
    /// Reconciliation: bytes and round trips for d differences among N records,
    /// beside the negentropy crate on the same sets.
    Reconcile(reconcile::ReconcileArgs),
}

/// Runs a benchmark.
pub fn run(cmd: &BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => ingest::run(args),
        BenchCommand::Reconcile(args) => reconcile::run(args),
    }
}
