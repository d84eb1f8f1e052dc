//! `scenarios bench import-memory`: the peak resident memory of `credit-admin import`
//! on a large generated penalty file, against the goal of 150 MB whatever the file's
//! size.
//!
//! The file (5 GB; `--quick`: 200 MB; `--mb N`: N MB) is generated first (not timed),
//! then imported into a fresh store by a child `credit-admin import --data-dir` process
//! — the binary beside this one, or `--admin PATH` — whose `VmHWM` (peak resident set)
//! is read from `/proc/PID/status` every 50 ms while it runs. The row also gives the
//! import's rows per second and MB/s of file.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use credithub_protocol::{DivisionCode, RecordKind};

use super::machine;
use crate::generate::{
    write_csv, CsvOptions, Encoding, FileKind, Generator, GeneratorConfig, HeaderStyle, RecordMix,
};

/// The goal: peak resident memory of the importing process, in MB (10^6 bytes).
pub const GOAL_MB: f64 = 150.0;

/// Arguments of `bench import-memory`.
#[derive(Debug, Args)]
pub struct ImportMemoryArgs {
    /// The file's size in MB (default 5000; `--quick`: 200).
    #[arg(long)]
    pub mb: Option<u64>,
    /// A short run (a 200 MB file).
    #[arg(long)]
    pub quick: bool,
    /// The `credit-admin` binary (default: the one beside this program).
    #[arg(long)]
    pub admin: Option<PathBuf>,
    /// Where to put the file and the store (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `VmHWM` of a process, in kB, while it lives.
fn peak_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Writes a penalty file of about `target` bytes; returns its rows.
fn generate(path: &Path, target: u64, seed: u64) -> anyhow::Result<u64> {
    let origin = DivisionCode::parse("320500").map_err(|e| anyhow::anyhow!("{e}"))?;
    let options = CsvOptions {
        headers: HeaderStyle::Codes,
        encoding: Encoding::Utf8,
        bad_rows: 0.001,
        seed,
    };
    let mix = RecordMix::only(RecordKind::PENALTY);
    // Bytes per row, from a sample.
    let mut sample = Vec::new();
    let mut g = Generator::new(seed, GeneratorConfig::for_count(origin, 10_000))?;
    let report = write_csv(
        FileKind::Penalty,
        g.bodies(2_000, &mix).map(|(_, b)| b),
        &mut sample,
        &options,
    )?;
    let per_row = (report.bytes / report.rows.max(1)).max(1);
    let rows = (target / per_row).max(1);
    let mut g = Generator::new(seed, GeneratorConfig::for_count(origin, rows))?;
    let out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let report = write_csv(
        FileKind::Penalty,
        g.bodies(rows, &mix).map(|(_, b)| b),
        out,
        &options,
    )?;
    Ok(report.rows)
}

/// Runs the benchmark and prints its row.
pub fn run(args: &ImportMemoryArgs, table: &mut super::Summary) -> anyhow::Result<()> {
    let mb = args.mb.unwrap_or(if args.quick { 200 } else { 5_000 });
    let admin = match &args.admin {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("the program's directory")?
            .join("credit-admin"),
    };
    if !admin.exists() {
        bail!(
            "{} not found: build it (cargo build --release -p credithub-admin) or pass --admin PATH",
            admin.display()
        );
    }
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let base = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&base)?;
    println!(
        "import memory benchmark: a {mb} MB penalty file through {} on {}",
        admin.display(),
        machine::describe()
    );
    let csv = base.join("penalties-large.csv");
    let rows = generate(&csv, mb * 1_000_000, args.seed)?;
    let bytes = std::fs::metadata(&csv)?.len();
    println!("generated {rows} rows, {:.0} MB", bytes as f64 / 1e6);

    let started = Instant::now();
    let mut child = Command::new(&admin)
        .args([
            "--format",
            "json",
            "import",
            "--jurisdiction",
            "320500",
            "--data-dir",
        ])
        .arg(base.join("store"))
        .arg("--rejects")
        .arg(base.join("rejects.csv"))
        .arg(&csv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", admin.display()))?;
    let pid = child.id();
    let mut peak = 0u64;
    let status = loop {
        if let Some(kb) = peak_kb(pid) {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let seconds = started.elapsed().as_secs_f64();
    // Exit 3: some rows rejected (the file has 0.1 % broken on purpose).
    if !matches!(status.code(), Some(0 | 3)) {
        bail!("credit-admin import failed ({status})");
    }
    let imported = rows;
    let peak_mb = peak as f64 * 1024.0 / 1e6;
    println!();
    println!(
        "{:<28} {:>10} {:>9} {:>9} {:>11} {:>9} {:>14}",
        "row", "rows", "file MB", "seconds", "rows/s", "MB/s", "peak RSS MB"
    );
    println!(
        "{:<28} {:>10} {:>9.0} {:>9.1} {:>11.0} {:>9.1} {:>14.1}",
        "credit-admin import (CSV)",
        imported,
        bytes as f64 / 1e6,
        seconds,
        imported as f64 / seconds,
        bytes as f64 / 1e6 / seconds,
        peak_mb
    );
    let met = peak_mb <= GOAL_MB;
    println!(
        "goal: peak RSS <= {GOAL_MB:.0} MB whatever the file size — {} ({peak_mb:.1} MB for {:.0} MB)",
        if met { "met" } else { "NOT met" },
        bytes as f64 / 1e6
    );
    table.row(
        "import peak RSS (streaming CSV)",
        format!("{peak_mb:.1} MB for a {:.0} MB file", bytes as f64 / 1e6),
        format!("goal {GOAL_MB:.0} MB"),
        Some(peak_mb / GOAL_MB),
        Some(met),
    );
    std::io::stdout().flush()?;
    Ok(())
}
