//! Benchmarks: each prints its figures beside a reference measured in the same run,
//! and the machine it ran on. Timings are printed, never asserted. `bench all` runs
//! every one and ends with a single table of every row beside its reference.

pub mod api;
pub mod federation;
pub mod import_memory;
pub mod ingest;
pub mod lossy_link;
pub mod machine;
pub mod queries;
pub mod reconcile;

use clap::{Args, Subcommand};

/// Which benchmark to run.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Every benchmark, then one table of all rows (what `make bench` runs).
    All(AllArgs),
    /// Ingest: validated records per second with the digest index maintained, beside a
    /// raw RocksDB batched put of the same encoded bytes.
    Ingest(ingest::IngestArgs),
    /// Import memory: the peak resident memory of `credit-admin import` on a large
    /// generated CSV file (5 GB; `--quick`: 200 MB), against the goal of 150 MB.
    ImportMemory(import_memory::ImportMemoryArgs),
    /// Reconciliation: bytes and round trips for d differences among N records,
    /// beside the negentropy crate on the same sets.
    Reconcile(reconcile::ReconcileArgs),
    /// Real nodes over QUIC: end-to-end reconciliation, bulk first sync, queries,
    /// idle cost, propagation and memory.
    Federation(federation::FederationArgs),
    /// The HTTPS read API: 8 keep-alive clients over HTTP/2 and HTTP/1.1, beside the
    /// same subject queries over QUIC.
    Api(api::ApiArgs),
    /// A bulk transfer through a relay that drops 20 % of the datagrams each way and
    /// delays them by up to 100 ms, and through the same relay clean: the node's link
    /// tuning beside the tuning it had before (CUBIC, RFC 9002's loss detection).
    LossyLink(lossy_link::LossyLinkArgs),
}

/// Arguments of `bench all`.
#[derive(Debug, Args)]
pub struct AllArgs {
    /// A short run for everyday use (a few minutes).
    #[arg(long)]
    pub quick: bool,
}

/// One row of the final table.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    /// What was measured.
    pub name: String,
    /// The figure.
    pub figure: String,
    /// The reference (measured in the same run) or the goal.
    pub reference: String,
    /// Figure / reference, where it means something.
    pub ratio: Option<f64>,
    /// Whether the goal is met, where there is one.
    pub met: Option<bool>,
}

/// The rows collected while benchmarks run.
#[derive(Debug, Default)]
pub struct Summary {
    rows: Vec<SummaryRow>,
}

impl Summary {
    /// Adds a row.
    pub fn row(
        &mut self,
        name: &str,
        figure: String,
        reference: String,
        ratio: Option<f64>,
        met: Option<bool>,
    ) {
        self.rows.push(SummaryRow {
            name: name.to_string(),
            figure,
            reference,
            ratio,
            met,
        });
    }

    /// Prints the table.
    pub fn print(&self) {
        println!();
        println!("summary, on {}", machine::describe());
        println!(
            "{:<38} | {:<44} | {:<40} | {:>7} | goal",
            "row", "figure", "reference", "ratio"
        );
        for r in &self.rows {
            println!(
                "{:<38} | {:<44} | {:<40} | {:>7} | {}",
                r.name,
                r.figure,
                r.reference,
                r.ratio
                    .map(|x| format!("{x:.3}"))
                    .unwrap_or_else(|| "-".into()),
                match r.met {
                    Some(true) => "met",
                    Some(false) => "NOT met",
                    None => "-",
                }
            );
        }
    }
}

/// Runs a benchmark.
pub fn run(cmd: &BenchCommand) -> anyhow::Result<()> {
    let mut summary = Summary::default();
    match cmd {
        BenchCommand::Ingest(args) => ingest::run(args, &mut summary)?,
        BenchCommand::Reconcile(args) => reconcile::run(args, &mut summary)?,
        BenchCommand::ImportMemory(args) => import_memory::run(args, &mut summary)?,
        BenchCommand::Federation(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(federation::run(args, &mut summary))?;
        }
        BenchCommand::Api(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(api::run(args, &mut summary))?;
        }
        BenchCommand::LossyLink(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(lossy_link::run(args, &mut summary))?;
        }
        BenchCommand::All(a) => {
            let ingest = ingest::IngestArgs {
                records: 1_000_000,
                quick: a.quick,
                batch: 2_000,
                dir: None,
                seed: 1,
            };
            ingest::run(&ingest, &mut summary)?;
            let memory = import_memory::ImportMemoryArgs {
                mb: None,
                quick: a.quick,
                admin: None,
                dir: None,
                seed: 1,
            };
            import_memory::run(&memory, &mut summary)?;
            let reconcile = reconcile::ReconcileArgs {
                records: 1_000_000,
                quick: a.quick,
                differences: vec![0, 1, 100, 10_000],
            };
            reconcile::run(&reconcile, &mut summary)?;
            let fed = federation::FederationArgs {
                records: 1_000_000,
                differences: 1_000,
                query_records: 10_000_000,
                writes: 1_000,
                quick: a.quick,
                dir: None,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(federation::run(&fed, &mut summary))?;
            let api = api::ApiArgs {
                records: 1_000_000,
                clients: 8,
                quick: a.quick,
                dir: None,
            };
            rt.block_on(api::run(&api, &mut summary))?;
            let lossy = lossy_link::LossyLinkArgs {
                records: 3_000,
                clean_records: 100_000,
                loss: 0.2,
                jitter_ms: 100,
                seed: 1,
                quick: a.quick,
                dir: None,
            };
            rt.block_on(lossy_link::run(&lossy, &mut summary))?;
        }
    }
    summary.print();
    Ok(())
}
