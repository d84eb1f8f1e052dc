//! `scenarios chaos hub-down`: a provincial hub down for a while.
//!
//! Six nodes — national; Jiangsu and Zhejiang; Suzhou and Nanjing under Jiangsu,
//! Hangzhou under Zhejiang — converge with `--records` penalties per city. Then, per
//! iteration, Jiangsu goes down (SIGKILL or a clean stop, chosen at random) for
//! `--down-secs`, while in waves Suzhou and Nanjing write new records, corrections and
//! deletions (Nanjing also about Suzhou's companies), Hangzhou writes, and the national
//! hub publishes and withdraws black-list entries. Meanwhile:
//!
//! - every write at the cities and at the national hub is accepted;
//! - Suzhou and Nanjing report their parent link down, and still answer queries;
//! - Zhejiang and Hangzhou keep converging with the national hub (the rest of the
//!   federation does not wait for Jiangsu).
//!
//! When Jiangsu returns, everything converges and the national hub holds exactly one
//! version per key written. At the end every store verifies.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use credithub_node::admin::client::AdminClient;
use credithub_protocol::{DivisionCode, RecordBody, RecordKey, RecordKind};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    connect_all, converge, delete, metric, put, restart, secs, spec, stop_and_verify_all, wait_for,
    Report,
};
use crate::federation::cluster::{holdings, status, Cluster};
use crate::federation::{bodies_about, corrected, query, subscriptions};
use crate::generate::{Generator, GeneratorConfig};

/// Options of `scenarios chaos hub-down`.
#[derive(Debug, Clone, Args)]
pub struct HubDownArgs {
    /// Seed of every random choice (data, how the hub goes down).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Outages of the provincial hub.
    #[arg(long, default_value_t = 2)]
    pub iterations: u32,
    /// How long each outage lasts, in seconds.
    #[arg(long, default_value_t = 20)]
    pub down_secs: u64,
    /// Penalties each city holds before the first outage.
    #[arg(long, default_value_t = 2000)]
    pub records: u64,
    /// Directory for certificates, data and logs (emptied first).
    #[arg(long, default_value = "chaos-hub-down")]
    pub dir: PathBuf,
    /// Longest wait for each convergence, in seconds.
    #[arg(long, default_value_t = 180)]
    pub timeout: u64,
}

const NATIONAL: usize = 0;
const JIANGSU: usize = 1;
const ZHEJIANG: usize = 2;
const SUZHOU: usize = 3;
const NANJING: usize = 4;
const HANGZHOU: usize = 5;
const CITIES: [usize; 3] = [SUZHOU, NANJING, HANGZHOU];

/// A city's generator and the bodies it has written (none deleted).
struct City {
    node: usize,
    origin: DivisionCode,
    generator: Generator,
    bodies: Vec<RecordBody>,
}

impl City {
    fn fresh(&mut self, n: usize, keys: &mut HashSet<RecordKey>) -> Vec<RecordBody> {
        let mut out = Vec::new();
        for _ in 0..n {
            let b = self.generator.record(RecordKind::PENALTY);
            if keys.insert(RecordKey::derive(self.origin, RecordKind::PENALTY, &b)) {
                self.bodies.push(b.clone());
                out.push(b);
            }
        }
        out
    }
}

/// Whether `node` holds exactly what the national hub says a node of its jurisdiction
/// should.
async fn matches_national(
    national: &AdminClient,
    node: &AdminClient,
    jurisdiction: DivisionCode,
    subs: &[RecordKind],
) -> bool {
    let want = holdings(national, jurisdiction, subs, false, 0).await;
    let have = holdings(node, jurisdiction, subs, false, 0).await;
    matches!((want, have), (Ok(w), Ok(h)) if w == h)
}

/// Runs the scenario.
pub async fn run(args: &HubDownArgs) -> anyhow::Result<Report> {
    let mut report = Report::new("hub-down", args.seed);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let timeout = Duration::from_secs(args.timeout);
    println!(
        "chaos hub-down: jiangsu down {} times for {} s while suzhou, nanjing, hangzhou and the national hub write; seed {}",
        args.iterations, args.down_secs, args.seed
    );
    let subs = subscriptions();
    let specs = vec![
        spec("national", "000000", None),
        spec("jiangsu", "320000", Some(NATIONAL)),
        spec("zhejiang", "330000", Some(NATIONAL)),
        spec("suzhou", "320500", Some(JIANGSU)),
        spec("nanjing", "320100", Some(JIANGSU)),
        spec("hangzhou", "330100", Some(ZHEJIANG)),
    ];
    let mut cluster = Cluster::start(&args.dir, specs, subs.clone(), Duration::from_secs(1))?;
    let mut clients = connect_all(&cluster).await?;
    let juris: Vec<DivisionCode> = cluster.nodes.iter().map(|n| n.spec.jurisdiction).collect();

    let mut keys: HashSet<RecordKey> = HashSet::new();
    let mut cities = Vec::new();
    for (n, &node) in CITIES.iter().enumerate() {
        let mut city = City {
            node,
            origin: juris[node],
            generator: Generator::new(
                args.seed + n as u64,
                GeneratorConfig::for_count(juris[node], args.records),
            )?,
            bodies: Vec::new(),
        };
        let mut left = args.records as usize;
        while left > 0 {
            let chunk = city.fresh(left.min(2000), &mut keys);
            put(&clients[node], RecordKind::PENALTY, &chunk).await?;
            left = left.saturating_sub(2000);
        }
        cities.push(city);
    }
    let mut national_gen = Generator::new(
        args.seed + 10,
        GeneratorConfig::for_count(DivisionCode::NATIONAL, 1000),
    )?;
    let mut lists: Vec<RecordBody> = Vec::new();
    let mut publish = |n: usize, keys: &mut HashSet<RecordKey>, lists: &mut Vec<RecordBody>| {
        let out: Vec<RecordBody> = (0..n)
            .map(|_| national_gen.record(RecordKind::BLACK_LIST))
            .filter(|b| {
                keys.insert(RecordKey::derive(
                    DivisionCode::NATIONAL,
                    RecordKind::BLACK_LIST,
                    b,
                ))
            })
            .collect();
        lists.extend(out.iter().cloned());
        out
    };
    let first = publish(200, &mut keys, &mut lists);
    put(&clients[NATIONAL], RecordKind::BLACK_LIST, &first).await?;
    let (_, took, ok) = converge(&cluster, &clients, timeout).await?;
    report.check(
        ok,
        format!(
            "the federation converges before any outage ({} keys, {})",
            keys.len(),
            secs(took)
        ),
    );
    if !ok {
        return Ok(report);
    }
    let suzhou_subjects: Vec<_> = cities[0]
        .bodies
        .iter()
        .filter(|b| {
            b.subject
                .id
                .division()
                .is_some_and(|d| juris[SUZHOU].contains(d))
        })
        .map(|b| b.subject.clone())
        .take(200)
        .collect();

    let mut recoveries = Vec::new();
    for it in 1..=args.iterations {
        let kill = rng.gen_bool(0.5);
        println!(
            "\noutage {it}: jiangsu {} for {} s",
            if kill { "killed (SIGKILL)" } else { "stopped" },
            args.down_secs
        );
        cluster.stop_node(JIANGSU, kill);
        let down = Instant::now();
        let waves = 4;
        let (mut accepted, mut refused) = (0u32, 0u32);
        for wave in 0..waves {
            let mut writes: Vec<(usize, Vec<RecordBody>, Vec<RecordKey>, RecordKind)> = Vec::new();
            for city in cities.iter_mut() {
                let n_new = rng.gen_range(50..300);
                let mut bodies = city.fresh(n_new, &mut keys);
                let mut idx: Vec<usize> = (0..city.bodies.len()).collect();
                idx.shuffle(&mut rng);
                let n_fix = rng.gen_range(5..40).min(idx.len());
                let n_del = 5.min(idx.len() - n_fix);
                for &i in idx.iter().take(n_fix) {
                    city.bodies[i] = corrected(city.bodies[i].clone());
                    bodies.push(city.bodies[i].clone());
                }
                let gone: Vec<RecordKey> = idx[n_fix..n_fix + n_del]
                    .iter()
                    .map(|&i| RecordKey::derive(city.origin, RecordKind::PENALTY, &city.bodies[i]))
                    .collect();
                writes.push((city.node, bodies, gone, RecordKind::PENALTY));
            }
            // Nanjing about Suzhou's companies: reaches Suzhou through the hub only.
            let about = bodies_about(
                juris[NANJING],
                &suzhou_subjects,
                30,
                args.seed * 1000 + u64::from(it) * 10 + wave,
            )?;
            keys.extend(
                about
                    .iter()
                    .map(|b| RecordKey::derive(juris[NANJING], RecordKind::PENALTY, b)),
            );
            writes.push((NANJING, about, Vec::new(), RecordKind::PENALTY));
            let listed = publish(30, &mut keys, &mut lists);
            let withdrawn: Vec<RecordKey> = lists
                .iter()
                .skip(rng.gen_range(0..lists.len().saturating_sub(3).max(1)))
                .take(3)
                .map(|b| RecordKey::derive(DivisionCode::NATIONAL, RecordKind::BLACK_LIST, b))
                .collect();
            writes.push((NATIONAL, listed, withdrawn, RecordKind::BLACK_LIST));
            for (node, bodies, gone, kind) in writes {
                for ok in [
                    put(&clients[node], kind, &bodies).await.is_ok(),
                    gone.is_empty() || delete(&clients[node], &gone).await.is_ok(),
                ] {
                    if ok {
                        accepted += 1;
                    } else {
                        refused += 1;
                    }
                }
            }
            let pause = Duration::from_secs(args.down_secs) / waves as u32;
            tokio::time::sleep(pause.saturating_sub(Duration::from_millis(300))).await;
        }
        report.check(
            refused == 0,
            format!("outage {it}: every write at the cities and the national hub is accepted while jiangsu is down ({accepted} requests, {refused} failed)"),
        );
        // The cities notice (QUIC idle timeout, 8 s) and keep answering queries.
        let (noticed, _) = wait_for(Duration::from_secs(30), || async {
            let mut all = true;
            for c in [&clients[SUZHOU], &clients[NANJING]] {
                all &= status(c)
                    .await
                    .ok()
                    .and_then(|s| s.parent)
                    .is_some_and(|p| !p.connected && p.last_error.is_some());
            }
            all
        })
        .await;
        let error = status(&clients[SUZHOU])
            .await?
            .parent
            .and_then(|p| p.last_error)
            .unwrap_or_default();
        report.check(
            noticed,
            format!("outage {it}: suzhou and nanjing report their parent link down (\"{error}\")"),
        );
        let subject = suzhou_subjects[it as usize % suzhou_subjects.len()]
            .id
            .unmasked();
        let answered = query(&clients[SUZHOU], &subject).await;
        report.check(
            answered.as_ref().is_ok_and(|a| !a.records.is_empty()),
            format!(
                "outage {it}: suzhou answers a subject query while its hub is down ({} records)",
                answered.as_ref().map(|a| a.records.len()).unwrap_or(0)
            ),
        );
        let (rest, took) = wait_for(timeout, || async {
            matches_national(
                &clients[NATIONAL],
                &clients[ZHEJIANG],
                juris[ZHEJIANG],
                &subs,
            )
            .await
                && matches_national(
                    &clients[NATIONAL],
                    &clients[HANGZHOU],
                    juris[HANGZHOU],
                    &subs,
                )
                .await
        })
        .await;
        report.check(
            rest,
            format!(
                "outage {it}: zhejiang and hangzhou converge with the national hub meanwhile ({})",
                secs(took)
            ),
        );
        let rounds_failed = metric(
            &cluster.nodes[SUZHOU].metrics,
            "credithub_sync_rounds_total",
            &["with=\"parent\"", "result=\"error\""],
        )
        .await
        .unwrap_or(0.0);
        if let Some(left) = Duration::from_secs(args.down_secs).checked_sub(down.elapsed()) {
            tokio::time::sleep(left).await;
        }
        let outage = down.elapsed();
        let back = Instant::now();
        restart(&mut cluster, &mut clients, JIANGSU).await?;
        let (_, _, ok) = converge(&cluster, &clients, timeout).await?;
        let took = back.elapsed();
        recoveries.push(took);
        let held = status(&clients[NATIONAL]).await?.report.records;
        report.check(
            ok && held == keys.len() as u64,
            format!(
                "outage {it}: after {} down, everything converges {} after jiangsu returns; the national hub holds {held} versions, {} keys written (suzhou's failed rounds meanwhile: {rounds_failed})",
                secs(outage),
                secs(took),
                keys.len()
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
    let list: Vec<String> = recoveries.iter().map(|d| secs(*d)).collect();
    report.figure(
        "convergence after the hub returns",
        if list.is_empty() {
            "none".into()
        } else {
            list.join(", ")
        },
    );
    report.figure("keys written", keys.len().to_string());
    Ok(report)
}
