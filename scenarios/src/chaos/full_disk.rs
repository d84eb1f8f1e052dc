//! `scenarios chaos full-disk`: a node whose disk fills up.
//!
//! Suzhou's data directory is a filesystem of its own (`mount -t tmpfs -o
//! size=<--size-mb>m`, so this needs root and permission to mount; otherwise the
//! scenario says so and is skipped). With national and Jiangsu above it, each
//! iteration
//!
//! 1. writes a filler file into the data directory that leaves a few MB free, then
//!    writes new records at Suzhou until a write is refused: the refusal must say the
//!    disk is full, and every write acknowledged before must be held (a refused batch
//!    is not half applied);
//! 2. tries an online import, which must be refused with a clear error too;
//! 3. has the national hub publish black-list entries, which Suzhou must fetch and
//!    cannot store: its parent link must report the failure;
//! 4. gives the space back — deleting the filler (odd iterations) or remounting the
//!    filesystem bigger (even ones) — and checks that Suzhou accepts writes again
//!    without a restart, and that everything converges.
//!
//! At the end every store, Suzhou's included, verifies offline.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Args;
use credithub_protocol::{DivisionCode, RecordBody, RecordKey, RecordKind};

use super::{
    connect_all, converge, put, restart, secs, spec, stop_and_verify_all, wait_for, Report,
};
use crate::federation::cluster::{holdings, status, Cluster};
use crate::federation::subscriptions;
use crate::generate::{write_csv, CsvOptions, FileKind, Generator, GeneratorConfig};

/// Options of `scenarios chaos full-disk`.
#[derive(Debug, Clone, Args)]
pub struct FullDiskArgs {
    /// Seed of the data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Times the disk fills up and space returns.
    #[arg(long, default_value_t = 2)]
    pub iterations: u32,
    /// Size of Suzhou's filesystem, in MiB.
    #[arg(long, default_value_t = 64)]
    pub size_mb: u64,
    /// Free space the filler file leaves, in MiB.
    #[arg(long, default_value_t = 6)]
    pub leave_mb: u64,
    /// Directory for certificates, data and logs (emptied first).
    #[arg(long, default_value = "chaos-full-disk")]
    pub dir: PathBuf,
    /// Longest wait for each convergence and for recovery, in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

const NATIONAL: usize = 0;
const JIANGSU: usize = 1;
const SUZHOU: usize = 2;

/// Records per write request while filling the disk.
const PER_PUT: usize = 1000;

/// A tmpfs mounted by the scenario; unmounted on drop.
#[derive(Default)]
struct MountGuard {
    path: Option<PathBuf>,
}

impl MountGuard {
    fn mount(&mut self, path: &Path, size_mb: u64) -> Result<(), String> {
        mount(&["-t", "tmpfs", "-o", &format!("size={size_mb}m")], path)?;
        self.path = Some(path.to_path_buf());
        Ok(())
    }

    fn remount(&self, size_mb: u64) -> Result<(), String> {
        match &self.path {
            Some(p) => mount(&["-o", &format!("remount,size={size_mb}m")], p),
            None => Err("nothing mounted".into()),
        }
    }
}

impl Drop for MountGuard {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            unmount(&p);
        }
    }
}

fn mount(options: &[&str], path: &Path) -> Result<(), String> {
    let out = Command::new("mount")
        .args(options)
        .arg("tmpfs")
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mount {} failed: {}",
            options.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn unmount(path: &Path) {
    let ok = Command::new("umount")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let _ = Command::new("umount").arg("-l").arg(path).status();
    }
}

/// Whether this process runs with effective user id 0.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Why the scenario cannot run here, if it cannot: not root, or mounting a tmpfs is
/// not permitted (a container without CAP_SYS_ADMIN, …).
pub fn cannot_run() -> Option<String> {
    if !is_root() {
        return Some(
            "needs root to mount a small tmpfs as the node's data directory (run as root, e.g. sudo)"
                .into(),
        );
    }
    let probe = std::env::temp_dir().join(format!("credithub-mount-probe-{}", std::process::id()));
    if std::fs::create_dir_all(&probe).is_err() {
        return Some(format!("cannot create {}", probe.display()));
    }
    let result = mount(&["-t", "tmpfs", "-o", "size=1m"], &probe);
    if result.is_ok() {
        unmount(&probe);
    }
    let _ = std::fs::remove_dir(&probe);
    result
        .err()
        .map(|e| format!("mounting a tmpfs is not permitted here ({e})"))
}

/// Unmounts what an earlier, interrupted run left mounted under `dir`.
fn unmount_stale(dir: &Path) {
    let Ok(base) = dir.canonicalize() else { return };
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return;
    };
    for line in mounts.lines() {
        if let Some(point) = line.split_whitespace().nth(1) {
            if Path::new(point).starts_with(&base) {
                unmount(Path::new(point));
            }
        }
    }
}

/// Bytes available on the filesystem of `path` (from `df`).
fn available(path: &Path) -> anyhow::Result<u64> {
    let out = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(path)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("df gave no figure for {}: {text}", path.display()))
}

/// Writes a file of zeros of up to `bytes` (less if the disk fills first).
fn fill(path: &Path, bytes: u64) -> std::io::Result<u64> {
    let mut f = std::fs::File::create(path)?;
    let chunk = vec![0u8; 1 << 20];
    let mut written = 0;
    while written < bytes {
        let n = (bytes - written).min(chunk.len() as u64) as usize;
        if f.write_all(&chunk[..n]).is_err() {
            break;
        }
        written += n as u64;
    }
    let _ = f.sync_all();
    Ok(written)
}

/// The free space RocksDB waits for before it clears a full-disk error by itself, as
/// its LOG reports it ("free space [...] is less than required disk buffer [N bytes]").
fn rocksdb_reserve(data: &Path) -> Option<u64> {
    let log = std::fs::read_to_string(data.join("LOG")).ok()?;
    let at = log.rfind("required disk buffer [")?;
    let rest = &log[at + "required disk buffer [".len()..];
    rest.split(' ').next()?.parse().ok()
}

fn mentions_space(e: &str) -> bool {
    let e = e.to_lowercase();
    e.contains("no space")
        || e.contains("space left")
        || e.contains("disk full")
        || e.contains("nospace")
}

/// Runs the scenario (skipped, with the reason, where it cannot run).
pub async fn run(args: &FullDiskArgs) -> anyhow::Result<Report> {
    let mut report = Report::new("full-disk", args.seed);
    println!(
        "chaos full-disk: suzhou's data directory on a {} MiB tmpfs; {} iterations, seed {}",
        args.size_mb, args.iterations, args.seed
    );
    if let Some(why) = cannot_run() {
        report.skip(why);
        return Ok(report);
    }
    let timeout = Duration::from_secs(args.timeout);
    unmount_stale(&args.dir);
    // Declared before the cluster, so that it is dropped after the nodes stop.
    let mut guard = MountGuard::default();
    let specs = vec![
        spec("national", "000000", None),
        spec("jiangsu", "320000", Some(NATIONAL)),
        spec("suzhou", "320500", Some(JIANGSU)),
    ];
    let mut cluster = Cluster::start(&args.dir, specs, subscriptions(), Duration::from_secs(1))?;
    let mut clients = connect_all(&cluster).await?;
    cluster.stop_node(SUZHOU, false);
    let data = cluster.nodes[SUZHOU].dir.join("data");
    std::fs::remove_dir_all(&data)?;
    std::fs::create_dir_all(&data)?;
    if let Err(e) = guard.mount(&data, args.size_mb) {
        report.skip(e);
        return Ok(report);
    }
    restart(&mut cluster, &mut clients, SUZHOU).await?;
    println!(
        "suzhou's data directory {} is a {} MiB tmpfs ({} MiB free after the store opened)",
        data.display(),
        args.size_mb,
        available(&data)? >> 20
    );

    let suzhou = cluster.nodes[SUZHOU].spec.jurisdiction;
    let mut generator = Generator::new(args.seed, GeneratorConfig::for_count(suzhou, 100_000))?;
    let mut national_gen = Generator::new(
        args.seed + 1,
        GeneratorConfig::for_count(DivisionCode::NATIONAL, 1000),
    )?;
    let mut keys: HashSet<RecordKey> = HashSet::new();
    let mut acked: HashSet<RecordKey> = HashSet::new();
    let mut next = |n: usize| -> Vec<RecordBody> {
        (0..n)
            .map(|_| generator.record(RecordKind::PENALTY))
            .collect()
    };
    let first = next(1000);
    put(&clients[SUZHOU], RecordKind::PENALTY, &first).await?;
    for b in &first {
        let k = RecordKey::derive(suzhou, RecordKind::PENALTY, b);
        keys.insert(k);
        acked.insert(k);
    }
    let (_, _, ok) = converge(&cluster, &clients, timeout).await?;
    report.check(ok, "the federation converges before the disk fills");
    if !ok {
        return Ok(report);
    }

    let mut size_mb = args.size_mb;
    let mut recoveries: Vec<String> = Vec::new();
    let filler = data.join("filler.bin");
    for it in 1..=args.iterations {
        println!("\niteration {it}");
        // 1. Fill the disk, then write until a write is refused.
        let free = available(&data)?;
        let leave = args.leave_mb << 20;
        let filled = fill(&filler, free.saturating_sub(leave))?;
        println!(
            "  filler of {} MiB written; {} MiB free",
            filled >> 20,
            available(&data)? >> 20
        );
        let mut refusal = None;
        let mut puts = 0;
        let fill_started = Instant::now();
        while puts < 300 {
            let batch = next(PER_PUT);
            let batch_keys: Vec<RecordKey> = batch
                .iter()
                .map(|b| RecordKey::derive(suzhou, RecordKind::PENALTY, b))
                .collect();
            keys.extend(batch_keys.iter().copied());
            puts += 1;
            match put(&clients[SUZHOU], RecordKind::PENALTY, &batch).await {
                Ok(_) => acked.extend(batch_keys),
                Err(e) => {
                    refusal = Some(format!("{e:#}"));
                    break;
                }
            }
        }
        let refusal = refusal.unwrap_or_default();
        report.check(
            mentions_space(&refusal),
            format!(
                "iteration {it}: once the disk is full a write is refused with a clear error, after {puts} requests of {PER_PUT} records ({}): \"{refusal}\"",
                secs(fill_started.elapsed())
            ),
        );
        let alive = status(&clients[SUZHOU]).await;
        report.check(
            alive.is_ok(),
            format!("iteration {it}: suzhou keeps running and answering with a full disk"),
        );
        let held = holdings(&clients[SUZHOU], suzhou, &[], true, 0)
            .await?
            .count;
        let acked_here = acked.len() as u64;
        report.check(
            held == acked_here,
            format!("iteration {it}: suzhou holds exactly the {acked_here} records whose writes were acknowledged ({held})"),
        );

        // 2. An online import is refused too.
        let csv = cluster.root.join(format!("import-{it}.csv"));
        write_csv(
            FileKind::Penalty,
            next(200),
            std::io::BufWriter::new(std::fs::File::create(&csv)?),
            &CsvOptions {
                seed: args.seed,
                ..CsvOptions::default()
            },
        )?;
        let imported = clients[SUZHOU].import(&csv, None).await;
        let msg = match &imported {
            Ok(summary) => format!("accepted: {summary}"),
            Err(e) => e.to_string(),
        };
        report.check(
            imported.is_err() && mentions_space(&msg),
            format!("iteration {it}: an online import is refused with a clear error: \"{msg}\""),
        );

        // 3. Records from the parent cannot be stored either: the link says so.
        let listed: Vec<RecordBody> = (0..50)
            .map(|_| national_gen.record(RecordKind::BLACK_LIST))
            .collect();
        keys.extend(
            listed
                .iter()
                .map(|b| RecordKey::derive(DivisionCode::NATIONAL, RecordKind::BLACK_LIST, b)),
        );
        put(&clients[NATIONAL], RecordKind::BLACK_LIST, &listed).await?;
        let (reported, _) = wait_for(Duration::from_secs(30), || async {
            status(&clients[SUZHOU])
                .await
                .ok()
                .and_then(|s| s.parent)
                .and_then(|p| p.last_error)
                .is_some_and(|e| mentions_space(&e))
        })
        .await;
        let error = status(&clients[SUZHOU])
            .await?
            .parent
            .and_then(|p| p.last_error)
            .unwrap_or_default();
        report.check(
            reported,
            format!("iteration {it}: records arriving from the parent cannot be stored, and suzhou's parent link says why: \"{error}\""),
        );

        // 4. Space returns: the filler goes (odd iterations), or the filesystem grows
        // (even ones).
        if it % 2 == 1 {
            std::fs::remove_file(&filler)?;
            println!("  filler deleted: {} MiB free", available(&data)? >> 20);
        } else {
            size_mb *= 3;
            if let Err(e) = guard.remount(size_mb) {
                report.check(false, format!("iteration {it}: remount bigger: {e}"));
                break;
            }
            println!(
                "  remounted with {size_mb} MiB: {} MiB free",
                available(&data)? >> 20
            );
        }
        let free = available(&data)?;
        // RocksDB clears a full-disk error by itself only once this much is free (it
        // says so in its LOG).
        let mut reserve = rocksdb_reserve(&data);
        let back = Instant::now();
        let retry = next(100);
        let retry_keys: Vec<RecordKey> = retry
            .iter()
            .map(|b| RecordKey::derive(suzhou, RecordKind::PENALTY, b))
            .collect();
        keys.extend(retry_keys.iter().copied());
        let mut last_error = String::new();
        let recovered = loop {
            match put(&clients[SUZHOU], RecordKind::PENALTY, &retry).await {
                Ok(_) => break true,
                Err(e) => last_error = format!("{e:#}"),
            }
            // RocksDB logs its reserve when its space check runs, which may be after
            // the space came back (a busy machine): read it again while waiting.
            if reserve.is_none() {
                reserve = rocksdb_reserve(&data);
            }
            let wait = if reserve.is_some_and(|r| free < r) {
                Duration::from_secs(12)
            } else {
                timeout
            };
            if back.elapsed() > wait {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let short = reserve.is_some_and(|r| free < r);
        let took = back.elapsed();
        let reserve_mb = reserve
            .map(|r| format!("{} MiB", r >> 20))
            .unwrap_or("unknown".into());
        if recovered {
            recoveries.push(format!(
                "{} without a restart ({} MiB free)",
                secs(took),
                free >> 20
            ));
            report.check(
                true,
                format!(
                    "iteration {it}: suzhou accepts writes again {} after space returned ({} MiB free, RocksDB's reserve {reserve_mb}), without a restart",
                    secs(took),
                    free >> 20
                ),
            );
        } else if short {
            // Below RocksDB's reserve the store stays read-only until it is reopened.
            println!(
                "  with {} MiB free, below RocksDB's reserve of {reserve_mb}, writes are still refused after {} (\"{last_error}\"): restarting suzhou",
                free >> 20,
                secs(took)
            );
            cluster.stop_node(SUZHOU, false);
            restart(&mut cluster, &mut clients, SUZHOU).await?;
            let again = put(&clients[SUZHOU], RecordKind::PENALTY, &retry).await;
            recoveries.push(format!(
                "after a restart ({} MiB free < reserve {reserve_mb})",
                free >> 20
            ));
            report.check(
                again.is_ok(),
                format!(
                    "iteration {it}: with {} MiB free (below RocksDB's reserve of {reserve_mb}) writes stay refused until a restart; after restarting, suzhou accepts writes at once{}",
                    free >> 20,
                    again.err().map(|e| format!(" (failed: {e:#})")).unwrap_or_default()
                ),
            );
        } else {
            report.check(
                false,
                format!(
                    "iteration {it}: suzhou accepts writes again after space returned ({} MiB free, RocksDB's reserve {reserve_mb}), without a restart (still refused after {}: {last_error})",
                    free >> 20,
                    secs(took)
                ),
            );
            // Go on from a restart, so that the rest is still checked.
            cluster.stop_node(SUZHOU, false);
            restart(&mut cluster, &mut clients, SUZHOU).await?;
            put(&clients[SUZHOU], RecordKind::PENALTY, &retry).await?;
        }
        acked.extend(retry_keys);
        // Writes refused while the disk was full were never acknowledged: nobody
        // holds them.
        let missing = keys
            .iter()
            .filter(|k| k.origin == suzhou && !acked.contains(k))
            .count();
        keys.retain(|k| k.origin != suzhou || acked.contains(k));
        let (_, took, ok) = converge(&cluster, &clients, timeout).await?;
        let held = status(&clients[NATIONAL]).await?.report.records;
        report.check(
            ok && held == keys.len() as u64,
            format!(
                "iteration {it}: everything converges ({}) and the national hub holds {held} versions of the {} keys acknowledged ({} refused writes not retried)",
                secs(took),
                keys.len(),
                missing
            ),
        );
        if !ok {
            break;
        }
    }
    for c in clients {
        c.close().await;
    }
    stop_and_verify_all(&mut cluster, &mut report);
    drop(cluster);
    drop(guard);
    report.figure(
        "filesystem",
        format!("{} MiB tmpfs, {} MiB at the end", args.size_mb, size_mb),
    );
    report.figure("recoveries", recoveries.join("; "));
    Ok(report)
}
