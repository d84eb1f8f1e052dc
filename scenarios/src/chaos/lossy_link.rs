//! `scenarios chaos lossy-link`: a bad link between a city and its province.
//!
//! Three nodes — national, Jiangsu, Suzhou — with Suzhou's parent link through the
//! [`Relay`]: `--loss` of the datagrams dropped each way (20 %), up to `--jitter-ms`
//! of random delay (100 ms, so datagrams also overtake each other), `--reorder` held
//! back and `--duplicate` sent twice. Over that link
//!
//! 1. Suzhou's `--records` penalties move up while the national hub's black-list
//!    entries move down (a bulk transfer both ways);
//! 2. `--iterations` rounds of new records, corrections and deletions at Suzhou and
//!    new list entries at the national hub;
//! 3. the link is partitioned both ways for `--partition-secs` (longer than the QUIC
//!    idle timeout by default, so the connection dies) while both sides write, then
//!    healed;
//! 4. the same with only the way up cut, then only the way down.
//!
//! Each phase must converge within `--bound-secs` and `--bound-rounds` sync rounds of
//! Suzhou with its parent (successful or failed); the measured time, rounds and what
//! the relay did are printed.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use credithub_node::admin::client::AdminClient;
use credithub_protocol::{DivisionCode, RecordBody, RecordKey, RecordKind};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::relay::{Counters, Direction, Impairment, Relay};
use super::{
    connect_all, converge, delete, put, restart, secs, spec, stop_and_verify_all, wait_for, Report,
};
use crate::federation::cluster::{status, Cluster};
use crate::federation::{corrected, subscriptions};
use crate::generate::{Generator, GeneratorConfig};

/// Options of `scenarios chaos lossy-link`.
#[derive(Debug, Clone, Args)]
pub struct LossyLinkArgs {
    /// Seed of the data and of the relay's decisions.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Rounds of writes over the lossy link after the bulk transfer.
    #[arg(long, default_value_t = 3)]
    pub iterations: u32,
    /// Penalties Suzhou writes first (the bulk transfer up).
    #[arg(long, default_value_t = 3000)]
    pub records: u64,
    /// Share of datagrams dropped, each way.
    #[arg(long, default_value_t = 0.2)]
    pub loss: f64,
    /// Largest random delay of a datagram, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub jitter_ms: u64,
    /// Share of datagrams held back for later ones to overtake.
    #[arg(long, default_value_t = 0.05)]
    pub reorder: f64,
    /// Share of datagrams sent twice.
    #[arg(long, default_value_t = 0.01)]
    pub duplicate: f64,
    /// How long each partition lasts, in seconds (0: no partitions).
    #[arg(long, default_value_t = 12)]
    pub partition_secs: u64,
    /// Each phase must converge within this many seconds (the bulk transfer of 3 000
    /// records, about 2.6 MB, took 110 s at 20 % loss with CUBIC, which keeps its
    /// window small on a link that loses that much; with the default `[link]` tuning
    /// it takes seconds, `scenarios bench lossy-link`).
    #[arg(long, default_value_t = 300)]
    pub bound_secs: u64,
    /// … and within this many sync rounds of Suzhou with its parent.
    #[arg(long, default_value_t = 60)]
    pub bound_rounds: u64,
    /// Directory for certificates, data and logs (emptied first).
    #[arg(long, default_value = "chaos-lossy-link")]
    pub dir: PathBuf,
}

const NATIONAL: usize = 0;
const JIANGSU: usize = 1;
const SUZHOU: usize = 2;

/// Suzhou's rounds with its parent so far: (succeeded, failed).
async fn rounds(suzhou: &AdminClient) -> anyhow::Result<(u64, u64)> {
    let p = status(suzhou).await?.parent.unwrap_or_default();
    Ok((p.sessions, p.failures))
}

fn relay_delta(after: &Counters, before: &Counters) -> String {
    let d = |a: u64, b: u64| a.saturating_sub(b);
    format!(
        "relay up {} → {} datagrams ({} lost, {} cut), down {} → {} ({} lost, {} cut); {} reordered, {} duplicated",
        d(after.up.received, before.up.received),
        d(after.up.sent, before.up.sent),
        d(after.up.lost, before.up.lost),
        d(after.up.partitioned, before.up.partitioned),
        d(after.down.received, before.down.received),
        d(after.down.sent, before.down.sent),
        d(after.down.lost, before.down.lost),
        d(after.down.partitioned, before.down.partitioned),
        d(after.total().reordered, before.total().reordered),
        d(after.total().duplicated, before.total().duplicated),
    )
}

/// The data both ends write.
struct Writer {
    suzhou: DivisionCode,
    suzhou_gen: Generator,
    national_gen: Generator,
    bodies: Vec<RecordBody>,
    keys: HashSet<RecordKey>,
}

impl Writer {
    /// Writes `new` records, `fixes` corrections and `dels` deletions at Suzhou and
    /// `lists` black-list entries at the national hub.
    async fn write(
        &mut self,
        clients: &[AdminClient],
        rng: &mut ChaCha8Rng,
        new: usize,
        fixes: usize,
        dels: usize,
        lists: usize,
    ) -> anyhow::Result<()> {
        let mut batch = Vec::new();
        for _ in 0..new {
            let b = self.suzhou_gen.record(RecordKind::PENALTY);
            if self
                .keys
                .insert(RecordKey::derive(self.suzhou, RecordKind::PENALTY, &b))
            {
                self.bodies.push(b.clone());
                batch.push(b);
            }
        }
        let mut idx: Vec<usize> = (0..self.bodies.len()).collect();
        idx.shuffle(rng);
        for &i in idx.iter().take(fixes) {
            self.bodies[i] = corrected(self.bodies[i].clone());
            batch.push(self.bodies[i].clone());
        }
        for chunk in batch.chunks(2000) {
            put(&clients[SUZHOU], RecordKind::PENALTY, chunk).await?;
        }
        let gone: Vec<RecordKey> = idx
            .iter()
            .skip(fixes)
            .take(dels)
            .map(|&i| RecordKey::derive(self.suzhou, RecordKind::PENALTY, &self.bodies[i]))
            .collect();
        if !gone.is_empty() {
            delete(&clients[SUZHOU], &gone).await?;
        }
        let listed: Vec<RecordBody> = (0..lists)
            .map(|_| self.national_gen.record(RecordKind::BLACK_LIST))
            .collect();
        self.keys.extend(
            listed
                .iter()
                .map(|b| RecordKey::derive(DivisionCode::NATIONAL, RecordKind::BLACK_LIST, b)),
        );
        if !listed.is_empty() {
            put(&clients[NATIONAL], RecordKind::BLACK_LIST, &listed).await?;
        }
        Ok(())
    }
}

/// The start of a phase: when, Suzhou's rounds so far, the relay's counters.
async fn snapshot(
    clients: &[AdminClient],
    relay: &Relay,
) -> anyhow::Result<(Instant, (u64, u64), Counters)> {
    Ok((
        Instant::now(),
        rounds(&clients[SUZHOU]).await?,
        relay.counters(),
    ))
}

/// Measures one phase from `start` (rounds and relay counters taken before its writes)
/// to convergence, and checks the bounds.
#[allow(clippy::too_many_arguments)]
async fn finish_phase(
    name: &str,
    cluster: &Cluster,
    clients: &[AdminClient],
    relay: &Relay,
    args: &LossyLinkArgs,
    report: &mut Report,
    start: (Instant, (u64, u64), Counters),
    keys: usize,
) -> anyhow::Result<bool> {
    let (began, (ok0, failed0), relay0) = start;
    let (_, _, ok) = converge(cluster, clients, Duration::from_secs(args.bound_secs)).await?;
    let took = began.elapsed();
    let (ok1, failed1) = rounds(&clients[SUZHOU]).await?;
    let (done, failed) = (ok1 - ok0, failed1 - failed0);
    let held = status(&clients[NATIONAL]).await?.report.records;
    let within = ok && held == keys as u64 && done + failed <= args.bound_rounds;
    report.check(
        within,
        format!(
            "{name}: converges in {} and {} rounds ({failed} failed), bounds {} s and {} rounds; the national hub holds {held} versions of {keys} keys",
            secs(took),
            done + failed,
            args.bound_secs,
            args.bound_rounds
        ),
    );
    report.figure(
        name,
        format!(
            "{}, {} rounds ({failed} failed); {}",
            secs(took),
            done + failed,
            relay_delta(&relay.counters(), &relay0)
        ),
    );
    Ok(within)
}

/// Runs the scenario.
pub async fn run(args: &LossyLinkArgs) -> anyhow::Result<Report> {
    let mut report = Report::new("lossy-link", args.seed);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let impairment = Impairment {
        loss: args.loss,
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(args.jitter_ms),
        reorder: args.reorder,
        duplicate: args.duplicate,
    };
    println!(
        "chaos lossy-link: suzhou → jiangsu through a relay ({impairment}); {} records, seed {}",
        args.records, args.seed
    );
    let specs = vec![
        spec("national", "000000", None),
        spec("jiangsu", "320000", Some(NATIONAL)),
        spec("suzhou", "320500", Some(JIANGSU)),
    ];
    let mut cluster = Cluster::start(&args.dir, specs, subscriptions(), Duration::from_secs(1))?;
    let mut clients = connect_all(&cluster).await?;
    // Put the relay between Suzhou and Jiangsu: Suzhou restarts with its parent
    // address pointing at the relay.
    let upstream = cluster.nodes[JIANGSU].address.parse()?;
    let relay = Relay::start(upstream, impairment, args.seed).await?;
    cluster.stop_node(SUZHOU, false);
    cluster.nodes[SUZHOU]
        .env
        .push(("CREDIT_PARENT__ADDRESS".into(), relay.address().to_string()));
    restart(&mut cluster, &mut clients, SUZHOU).await?;
    let parent = status(&clients[SUZHOU]).await?.parent.unwrap_or_default();
    report.check(
        parent.address == relay.address().to_string(),
        format!(
            "suzhou's parent address is the relay's ({} → jiangsu at {upstream})",
            parent.address
        ),
    );

    let suzhou = cluster.nodes[SUZHOU].spec.jurisdiction;
    let mut w = Writer {
        suzhou,
        suzhou_gen: Generator::new(args.seed, GeneratorConfig::for_count(suzhou, args.records))?,
        national_gen: Generator::new(
            args.seed + 1,
            GeneratorConfig::for_count(DivisionCode::NATIONAL, 1000),
        )?,
        bodies: Vec::new(),
        keys: HashSet::new(),
    };

    // 1. Bulk both ways over the lossy link.
    let start = snapshot(&clients, &relay).await?;
    w.write(&clients, &mut rng, args.records as usize, 0, 0, 300)
        .await?;
    let mut ok = finish_phase(
        "bulk transfer",
        &cluster,
        &clients,
        &relay,
        args,
        &mut report,
        start,
        w.keys.len(),
    )
    .await?;

    // 2. Rounds of small changes.
    for it in 1..=args.iterations {
        if !ok {
            break;
        }
        let start = snapshot(&clients, &relay).await?;
        let new = rng.gen_range(50..200);
        w.write(&clients, &mut rng, new, 40, 10, 20).await?;
        ok = finish_phase(
            &format!("changes {it}"),
            &cluster,
            &clients,
            &relay,
            args,
            &mut report,
            start,
            w.keys.len(),
        )
        .await?;
    }

    // 3-4. Partitions, both ways, then up only, then down only.
    if args.partition_secs > 0 {
        for (name, direction) in [
            ("partition both ways", Direction::Both),
            ("partition of the way up", Direction::Up),
            ("partition of the way down", Direction::Down),
        ] {
            if !ok {
                break;
            }
            let start = snapshot(&clients, &relay).await?;
            relay.partition(direction);
            let cut = Instant::now();
            w.write(&clients, &mut rng, 100, 20, 5, 20).await?;
            let partition = Duration::from_secs(args.partition_secs);
            let (noticed, _) = wait_for(partition, || async {
                status(&clients[SUZHOU])
                    .await
                    .ok()
                    .and_then(|s| s.parent)
                    .is_some_and(|p| p.last_error.is_some() || !p.connected)
            })
            .await;
            let after = cut.elapsed();
            let error = status(&clients[SUZHOU])
                .await?
                .parent
                .and_then(|p| p.last_error)
                .unwrap_or_default();
            if noticed {
                println!(
                    "  {name}: suzhou reports its parent link failing after {} (\"{error}\")",
                    secs(after)
                );
            } else {
                println!(
                    "  {name}: the link survived the {} s partition",
                    args.partition_secs
                );
            }
            if let Some(left) = partition.checked_sub(cut.elapsed()) {
                tokio::time::sleep(left).await;
            }
            w.write(&clients, &mut rng, 20, 5, 0, 5).await?;
            relay.heal();
            ok = finish_phase(
                name,
                &cluster,
                &clients,
                &relay,
                args,
                &mut report,
                start,
                w.keys.len(),
            )
            .await?;
        }
    }
    let total = relay.counters();
    report.figure("relay in all", total.to_string().replace('\n', "; "));
    report.check(
        total.up.lost > 0 && total.down.lost > 0 || args.loss == 0.0,
        "the relay dropped datagrams both ways",
    );
    report.check(
        total.total().reordered > 0 || args.reorder == 0.0,
        "the relay reordered datagrams",
    );
    for c in clients {
        c.close().await;
    }
    stop_and_verify_all(&mut cluster, &mut report);
    drop(relay);
    Ok(report)
}
