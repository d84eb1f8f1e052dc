//! `scenarios`: synthetic data and scenario tooling for credithub.

use clap::{Parser, Subcommand};
use credithub_scenarios::{bench, chaos, federation, generate};

/// Synthetic data and scenario tooling for credithub.
#[derive(Debug, Parser)]
#[command(name = "scenarios", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a national-format CSV file (penalties or licences) of synthetic records.
    Generate(generate::GenerateArgs),
    /// Run a federation of seven nodes on loopback, with data, updates and deletions,
    /// and check that every node converges to exactly what it should hold.
    ThreeTier(federation::ThreeTierArgs),
    /// Run the federation with nodes of two link versions, upgrade the old ones one at
    /// a time, and check that every step converges at the versions each link shares.
    RollingUpgrade(federation::upgrade::UpgradeArgs),
    /// Run a benchmark (use a release build: `make bench`).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Run a fault scenario against a federation on loopback (kill, hub-down,
    /// lossy-link, full-disk, clock-skew); exits non-zero when a check fails.
    #[command(subcommand)]
    Chaos(chaos::ChaosCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Generate(args) => {
            let summary = generate::run(&args)?;
            println!("{summary}");
        }
        Command::Bench(cmd) => bench::run(&cmd)?,
        Command::ThreeTier(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            if !runtime.block_on(federation::run(&args))? {
                anyhow::bail!("the federation did not converge to what every node should hold");
            }
        }
        Command::RollingUpgrade(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            if !runtime.block_on(federation::upgrade::run(&args))? {
                anyhow::bail!("a step of the rolling upgrade did not converge as it should");
            }
        }
        Command::Chaos(cmd) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let report = runtime.block_on(chaos::run(&cmd))?;
            report.print_summary();
            if !report.passed() {
                eprintln!(
                    "chaos {}: {} check(s) failed (replay with --seed {})",
                    report.scenario,
                    report.failures().len(),
                    report.seed
                );
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
