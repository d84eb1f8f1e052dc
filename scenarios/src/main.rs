//! `scenarios`: synthetic data and scenario tooling for credithub.

use clap::{Parser, Subcommand};
use credithub_scenarios::{bench, generate};

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
    /// Run a benchmark (use a release build: `make bench`).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Generate(args) => {
            let summary = generate::run(&args)?;
            println!("{summary}");
        }
        Command::Bench(cmd) => bench::run(&cmd)?,
    }
    Ok(())
}
