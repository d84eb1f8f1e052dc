//! `scenarios chaos kill`: SIGKILL at random points.
//!
//! A federation of four nodes — national; Jiangsu; Suzhou, which holds `--records`
//! penalties (20 000 by default); Nanjing — converges first. Then each iteration
//!
//! 1. **bulk**: Jiangsu is stopped, its store deleted, and started empty, so Suzhou's
//!    records move up to it in one bulk transfer; once Jiangsu holds a random fraction
//!    (5-95 %) of what it should, the sender (Suzhou) or the receiver (Jiangsu), chosen
//!    at random, is killed with SIGKILL. Its store, as the kill left it, is opened and
//!    verified offline; it restarts after a random pause; everything must converge,
//!    and the transfer must resume where it stopped (the records Jiangsu receives from
//!    Suzhou after the restart, from its metrics, may exceed those it was missing by
//!    at most one frame);
//! 2. **reconciliation**: new records, corrections and deletions are written at
//!    Suzhou, Nanjing and the national hub while any one of the four nodes, chosen at
//!    random, is killed after a random delay (0-1.2 s), in the middle of the writes and
//!    of the rounds they start. Its store is verified offline, it restarts, writes that
//!    failed while it was down are sent again (the same bodies: idempotent), and
//!    everything must converge.
//!
//! After every convergence the national hub must hold exactly as many record versions
//! as distinct keys were written, so nothing is lost or duplicated; `converge` checks
//! that every node holds what it should, digest for digest. At the end every node is
//! stopped cleanly and every store verifies.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use credithub_node::admin::client::AdminClient;
use credithub_node::Store;
use credithub_protocol::link::MAX_RECORDS_PER_FRAME;
use credithub_protocol::{DivisionCode, RecordBody, RecordKey, RecordKind};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    connect_all, converge, delete, metric, put, restart, secs, spec, stop_and_verify_all, wait_for,
    Report,
};
use crate::federation::cluster::{holdings, status, Cluster};
use crate::federation::{bodies_about, corrected, subscriptions};
use crate::generate::{Generator, GeneratorConfig};

/// Options of `scenarios chaos kill`.
#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    /// Seed of every random choice (data, victims, kill points, pauses).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Iterations (each kills one node during a bulk sync and one during
    /// reconciliation).
    #[arg(long, default_value_t = 20)]
    pub iterations: u32,
    /// Penalties Suzhou holds (what the bulk sync moves).
    #[arg(long, default_value_t = 20_000)]
    pub records: u64,
    /// Directory for certificates, data and logs (emptied first).
    #[arg(long, default_value = "chaos-kill")]
    pub dir: PathBuf,
    /// Longest wait for each convergence, in seconds.
    #[arg(long, default_value_t = 180)]
    pub timeout: u64,
}

const NATIONAL: usize = 0;
const JIANGSU: usize = 1;
const SUZHOU: usize = 2;
const NANJING: usize = 3;

/// One write of the reconciliation phase.
#[derive(Clone)]
enum Op {
    Put(usize, RecordKind, Vec<RecordBody>),
    Delete(usize, Vec<RecordKey>),
}

impl Op {
    fn node(&self) -> usize {
        match self {
            Op::Put(n, ..) | Op::Delete(n, _) => *n,
        }
    }

    async fn send(&self, clients: &[AdminClient]) -> anyhow::Result<()> {
        match self {
            Op::Put(n, kind, bodies) => put(&clients[*n], *kind, bodies).await.map(|_| ()),
            Op::Delete(n, keys) => delete(&clients[*n], keys).await.map(|_| ()),
        }
    }
}

/// Opens a killed node's store as the kill left it: verifies it and counts the record
/// versions of `origin`'s jurisdiction it holds.
fn inspect(node_dir: &Path, origin: DivisionCode) -> anyhow::Result<(bool, String, u64)> {
    let store = Store::open(&node_dir.join("data"), None)?;
    let v = store.verify(|_| {})?;
    let (live, dead) = store.count(origin, None)?;
    let what = format!(
        "{} record versions, {} problems{}",
        v.records,
        v.problem_count,
        v.problems
            .first()
            .map(|p| format!(", first: {p}"))
            .unwrap_or_default()
    );
    Ok((v.is_clean(), what, live + dead))
}

/// Runs the scenario.
pub async fn run(args: &KillArgs) -> anyhow::Result<Report> {
    let mut report = Report::new("kill", args.seed);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let timeout = Duration::from_secs(args.timeout);
    println!(
        "chaos kill: national, jiangsu, suzhou ({} penalties), nanjing; {} iterations, seed {}",
        args.records, args.iterations, args.seed
    );
    let subs = subscriptions();
    let specs = vec![
        spec("national", "000000", None),
        spec("jiangsu", "320000", Some(NATIONAL)),
        spec("suzhou", "320500", Some(JIANGSU)),
        spec("nanjing", "320100", Some(JIANGSU)),
    ];
    let mut cluster = Cluster::start(&args.dir, specs, subs.clone(), Duration::from_secs(1))?;
    let mut clients = connect_all(&cluster).await?;
    let juris: Vec<DivisionCode> = cluster.nodes.iter().map(|n| n.spec.jurisdiction).collect();
    let code = |i: usize| juris[i];
    let (suzhou, nanjing) = (code(SUZHOU), code(NANJING));

    // Every key written anywhere: what the national hub must hold in the end.
    let mut keys: HashSet<RecordKey> = HashSet::new();
    let mut suzhou_gen =
        Generator::new(args.seed, GeneratorConfig::for_count(suzhou, args.records))?;
    let mut suzhou_bodies: Vec<RecordBody> = Vec::new();
    let mut live: Vec<usize> = Vec::new(); // indexes of Suzhou's records not deleted
    let started = Instant::now();
    while (suzhou_bodies.len() as u64) < args.records {
        let n = (args.records as usize - suzhou_bodies.len()).min(2000);
        let chunk: Vec<RecordBody> = (0..n)
            .map(|_| suzhou_gen.record(RecordKind::PENALTY))
            .collect();
        put(&clients[SUZHOU], RecordKind::PENALTY, &chunk).await?;
        suzhou_bodies.extend(chunk);
    }
    // The generator may repeat a natural key: keep one body per key.
    let mut seen = HashSet::new();
    suzhou_bodies.retain(|b| seen.insert(RecordKey::derive(suzhou, RecordKind::PENALTY, b)));
    keys.extend(seen);
    live.extend(0..suzhou_bodies.len());
    let local_subjects: Vec<_> = suzhou_bodies
        .iter()
        .filter(|b| b.subject.id.division().is_some_and(|d| suzhou.contains(d)))
        .map(|b| b.subject.clone())
        .take(300)
        .collect();
    let mut national_gen = Generator::new(
        args.seed + 1,
        GeneratorConfig::for_count(DivisionCode::NATIONAL, 1000),
    )?;
    let lists: Vec<RecordBody> = (0..100)
        .map(|_| national_gen.record(RecordKind::BLACK_LIST))
        .collect();
    put(&clients[NATIONAL], RecordKind::BLACK_LIST, &lists).await?;
    keys.extend(
        lists
            .iter()
            .map(|b| RecordKey::derive(DivisionCode::NATIONAL, RecordKind::BLACK_LIST, b)),
    );
    let about = bodies_about(nanjing, &local_subjects, 200, args.seed)?;
    put(&clients[NANJING], RecordKind::PENALTY, &about).await?;
    keys.extend(
        about
            .iter()
            .map(|b| RecordKey::derive(nanjing, RecordKind::PENALTY, b)),
    );
    let (_, took, ok) = converge(&cluster, &clients, timeout).await?;
    report.check(
        ok,
        format!(
            "initial federation converges ({} keys written, {} after the writes began)",
            keys.len(),
            secs(took)
        ),
    );
    if !ok {
        return Ok(report);
    }
    report.check(
        status(&clients[NATIONAL]).await?.report.records == keys.len() as u64,
        format!("the national hub holds {} record versions", keys.len()),
    );
    println!("set up in {}", secs(started.elapsed()));

    let mut bulk_took = Vec::new();
    let mut rec_took = Vec::new();
    let mut resent_max: i64 = 0;
    let mut victims = [0u32; 4];
    let mut round = 0u32;
    let mut mid_transfer = 0u32;
    let mut interrupted = 0u32;
    for it in 1..=args.iterations {
        // ---- 1. kill during a bulk sync into an empty province ----
        let expected_j = holdings(&clients[NATIONAL], code(JIANGSU), &subs, false, 0)
            .await?
            .count;
        let expected_sz = holdings(&clients[NATIONAL], suzhou, &subs, true, 0)
            .await?
            .count;
        // Suzhou waits, stopped, while Jiangsu starts empty and takes what it gets from
        // the national hub and Nanjing; then Suzhou starts and sends everything.
        cluster.stop_node(SUZHOU, false);
        cluster.stop_node(JIANGSU, false);
        let data = cluster.nodes[JIANGSU].dir.join("data");
        std::fs::remove_dir_all(&data).with_context(|| format!("emptying {}", data.display()))?;
        restart(&mut cluster, &mut clients, JIANGSU).await?;
        let rest = expected_j - expected_sz;
        let (settled, _) = wait_for(timeout, || async {
            status(&clients[JIANGSU])
                .await
                .is_ok_and(|s| s.report.records >= rest)
        })
        .await;
        if !report.check(
            settled,
            format!("iteration {it}: the empty jiangsu takes the {rest} records of the national hub and nanjing"),
        ) {
            break;
        }
        let base = status(&clients[JIANGSU]).await?.report.records;
        let victim = if rng.gen_bool(0.5) { JIANGSU } else { SUZHOU };
        let fraction: f64 = rng.gen_range(0.05..0.95);
        let threshold = base + (expected_sz as f64 * fraction) as u64;
        cluster.start_node(SUZHOU)?;
        let wait = Instant::now();
        let mut held = base;
        while held < threshold && wait.elapsed() < timeout {
            held = status(&clients[JIANGSU]).await?.report.records;
        }
        if !report.check(
            held >= threshold,
            format!("iteration {it}: the bulk sync into the empty jiangsu progresses ({held}/{threshold})"),
        ) {
            break;
        }
        cluster.stop_node(victim, true);
        victims[victim] += 1;
        let victim_name = cluster.nodes[victim].spec.name.clone();
        // What Jiangsu holds of Suzhou's records when the transfer stopped.
        let held_sz = if victim == JIANGSU {
            let (clean, what, n) = inspect(&cluster.nodes[JIANGSU].dir, suzhou)?;
            report.check(
                clean,
                format!("iteration {it}: jiangsu's store, killed mid-transfer, verifies ({what})"),
            );
            n
        } else {
            let (clean, what, _) = inspect(&cluster.nodes[SUZHOU].dir, suzhou)?;
            report.check(
                clean,
                format!("iteration {it}: suzhou's store, killed mid-transfer, verifies ({what})"),
            );
            // Let Jiangsu apply what it received before the kill.
            let mut last = u64::MAX;
            loop {
                let now = holdings(&clients[JIANGSU], suzhou, &[], true, 0)
                    .await?
                    .count;
                if now == last {
                    break now;
                }
                last = now;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        };
        if victim == JIANGSU {
            clients[SUZHOU] = cluster.admin(SUZHOU).await?;
        }
        if held_sz < expected_sz {
            mid_transfer += 1;
        }
        let received = |clients_metrics: String| async move {
            metric(
                &clients_metrics,
                "credithub_sync_records_total",
                &["peer=\"suzhou\"", "direction=\"received\""],
            )
            .await
        };
        let jiangsu_metrics = cluster.nodes[JIANGSU].metrics.clone();
        let baseline = if victim == SUZHOU {
            received(jiangsu_metrics.clone()).await?
        } else {
            0.0
        };
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..500))).await;
        let back = Instant::now();
        restart(&mut cluster, &mut clients, victim).await?;
        let (_, _, ok) = converge(&cluster, &clients, timeout).await?;
        let took = back.elapsed();
        let moved = (received(jiangsu_metrics).await? - baseline) as i64;
        let missing = expected_sz as i64 - held_sz as i64;
        let resent = moved - missing;
        resent_max = resent_max.max(resent);
        bulk_took.push(took);
        // The transfer resumes where it stopped: what Jiangsu already held is not sent
        // again (a frame's worth of slack).
        let resumed = resent <= MAX_RECORDS_PER_FRAME as i64;
        report.check(
            ok && resumed,
            format!(
                "iteration {it}: killed {victim_name} with {held_sz} of suzhou's {expected_sz} records at jiangsu (aimed at {:.0} %); after restart everything converges in {}; the transfer resumes: {missing} missing, {moved} moved ({resent} re-sent)",
                fraction * 100.0,
                secs(took)
            ),
        );
        if !(ok && resumed) {
            break;
        }

        // ---- 2. kill during writes and reconciliation ----
        round += 1;
        let mut ops = Vec::new();
        let n_new = rng.gen_range(100..800);
        let fresh: Vec<RecordBody> = (0..n_new)
            .map(|_| suzhou_gen.record(RecordKind::PENALTY))
            .collect();
        let first_new = suzhou_bodies.len();
        for b in fresh {
            let k = RecordKey::derive(suzhou, RecordKind::PENALTY, &b);
            if keys.insert(k) {
                live.push(suzhou_bodies.len());
                suzhou_bodies.push(b);
            }
        }
        for chunk in suzhou_bodies[first_new..].chunks(100) {
            ops.push(Op::Put(SUZHOU, RecordKind::PENALTY, chunk.to_vec()));
        }
        live.shuffle(&mut rng);
        let n_fix = rng.gen_range(20..200).min(live.len());
        let fixes: Vec<RecordBody> = live[..n_fix]
            .iter()
            .map(|&i| {
                suzhou_bodies[i] = corrected(suzhou_bodies[i].clone());
                suzhou_bodies[i].clone()
            })
            .collect();
        ops.push(Op::Put(SUZHOU, RecordKind::PENALTY, fixes));
        let n_del = rng.gen_range(5..50).min(live.len() - n_fix);
        let gone: Vec<RecordKey> = live
            .drain(n_fix..n_fix + n_del)
            .map(|i| RecordKey::derive(suzhou, RecordKind::PENALTY, &suzhou_bodies[i]))
            .collect();
        ops.push(Op::Delete(SUZHOU, gone));
        let cross = bodies_about(nanjing, &local_subjects, 40, args.seed + 100 + round as u64)?;
        keys.extend(
            cross
                .iter()
                .map(|b| RecordKey::derive(nanjing, RecordKind::PENALTY, b)),
        );
        ops.push(Op::Put(NANJING, RecordKind::PENALTY, cross));
        let listed: Vec<RecordBody> = (0..20)
            .map(|_| national_gen.record(RecordKind::BLACK_LIST))
            .collect();
        keys.extend(
            listed
                .iter()
                .map(|b| RecordKey::derive(DivisionCode::NATIONAL, RecordKind::BLACK_LIST, b)),
        );
        ops.push(Op::Put(NATIONAL, RecordKind::BLACK_LIST, listed));
        ops.shuffle(&mut rng);

        let victim = rng.gen_range(0..4);
        let delay = Duration::from_millis(rng.gen_range(0..1200));
        victims[victim] += 1;
        let victim_name = cluster.nodes[victim].spec.name.clone();
        let writes = async {
            let mut failed = Vec::new();
            for op in &ops {
                let sent = tokio::time::timeout(Duration::from_secs(3), op.send(&clients)).await;
                if !matches!(sent, Ok(Ok(()))) {
                    failed.push(op.clone());
                }
                // Spread the writes, so that the kill often lands among them.
                tokio::time::sleep(Duration::from_millis(80)).await;
            }
            failed
        };
        let kill = async {
            tokio::time::sleep(delay).await;
            cluster.stop_node(victim, true);
        };
        let (failed, ()) = tokio::join!(writes, kill);
        let (clean, what, _) = inspect(&cluster.nodes[victim].dir, DivisionCode::NATIONAL)?;
        report.check(
            clean,
            format!("iteration {it}: {victim_name}'s store, killed {} ms into the writes, verifies ({what})", delay.as_millis()),
        );
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..500))).await;
        let back = Instant::now();
        restart(&mut cluster, &mut clients, victim).await?;
        let resent_ops = failed.len();
        if resent_ops > 0 {
            interrupted += 1;
        }
        for op in failed {
            op.send(&clients).await.with_context(|| {
                format!("writing again at {}", cluster.nodes[op.node()].spec.name)
            })?;
        }
        let (_, _, ok) = converge(&cluster, &clients, timeout).await?;
        let took = back.elapsed();
        rec_took.push(took);
        let held = status(&clients[NATIONAL]).await?.report.records;
        report.check(
            ok && held == keys.len() as u64,
            format!(
                "iteration {it}: killed {victim_name} {} ms into {} writes ({resent_ops} sent again after its restart); converges in {}; the national hub holds {held} versions, {} keys written",
                delay.as_millis(),
                ops.len(),
                secs(took),
                keys.len()
            ),
        );
        if !(ok && held == keys.len() as u64) {
            break;
        }
    }

    // Records refused over links: a conflict or an invalid record would mean damage.
    let mut refused = std::collections::BTreeMap::<String, u64>::new();
    for c in &clients {
        for (k, v) in status(c).await?.refused {
            *refused.entry(k).or_default() += v;
        }
    }
    let damage = refused.get("conflict").copied().unwrap_or(0)
        + refused.get("invalid").copied().unwrap_or(0);
    report.check(
        damage == 0,
        format!("no record was refused as conflicting or invalid (refused: {refused:?})"),
    );
    for c in clients {
        c.close().await;
    }
    stop_and_verify_all(&mut cluster, &mut report);

    let stats = |v: &mut Vec<Duration>| {
        v.sort();
        match (v.first(), v.get(v.len() / 2), v.last()) {
            (Some(a), Some(m), Some(b)) => {
                format!("min {}, median {}, max {}", secs(*a), secs(*m), secs(*b))
            }
            _ => "none".into(),
        }
    };
    // Whether a kill lands before the transfer ends depends on timing: with enough
    // iterations some must, or the scenario tested nothing.
    if bulk_took.len() >= 5 {
        report.check(
            mid_transfer > 0,
            format!(
                "at least one bulk-sync kill landed mid-transfer ({mid_transfer} of {} did)",
                bulk_took.len()
            ),
        );
    }
    report.figure(
        "bulk-sync kills that landed mid-transfer",
        format!("{mid_transfer} of {}", bulk_took.len()),
    );
    report.figure(
        "reconciliation kills that cut off a write request (sent again after the restart)",
        format!("{interrupted} of {}", rec_took.len()),
    );
    report.figure(
        "kills",
        format!(
            "{} (national {}, jiangsu {}, suzhou {}, nanjing {})",
            victims.iter().sum::<u32>(),
            victims[0],
            victims[1],
            victims[2],
            victims[3]
        ),
    );
    report.figure("convergence after a bulk-sync kill", stats(&mut bulk_took));
    report.figure(
        "convergence after a reconciliation kill",
        stats(&mut rec_took),
    );
    report.figure(
        "records re-sent after a resumed bulk transfer (max)",
        resent_max.to_string(),
    );
    report.figure("keys written", keys.len().to_string());
    Ok(report)
}
