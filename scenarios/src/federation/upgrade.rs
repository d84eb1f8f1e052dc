//! `scenarios rolling-upgrade`: the three-tier federation upgraded one node at a time.
//!
//! The national hub, Zhejiang, Hangzhou and Ningbo start as nodes not yet upgraded
//! (they offer link versions up to the previous release's, `sync.max_link_version =
//! LINK_VERSION - 1`); Jiangsu, Suzhou and Nanjing offer every version this build
//! speaks. Each link negotiates the newest version both ends offer, so the federation
//! runs mixed: the newest version inside Jiangsu, the previous one everywhere else. Then
//! the old nodes are restarted one at a time at the new version, parents first, with
//! new records written between steps. After every step every node must hold exactly
//! what it should, nothing may be refused, and each link must speak the version its
//! two ends have in common.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use credithub_node::admin::client::AdminClient;
use credithub_protocol::link::{LINK_VERSION, MIN_LINK_VERSION};
use credithub_protocol::record::{RecordBody, RecordKind};
use credithub_protocol::DivisionCode;

use super::cluster::Cluster;
use super::{check, put, subscriptions, three_tier_specs};
use crate::generate::{Generator, GeneratorConfig};

/// Arguments of `scenarios rolling-upgrade`.
#[derive(Debug, Clone, Args)]
pub struct UpgradeArgs {
    /// Directory for certificates, data and logs (emptied first).
    #[arg(long, default_value = "rolling-upgrade")]
    pub dir: std::path::PathBuf,
    /// Penalty records each city writes at each step.
    #[arg(long, default_value_t = 200)]
    pub records: u64,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Periodic sync interval of every node, in seconds.
    #[arg(long, default_value_t = 0.5)]
    pub interval: f64,
    /// Longest wait for convergence after each step, in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// A `credit-node` binary of the previous release: the nodes not yet upgraded run
    /// it (instead of this build held at the previous link version).
    #[arg(long)]
    pub previous_bin: Option<std::path::PathBuf>,
}

/// The nodes (by index in [`three_tier_specs`]) that start on the previous version:
/// national, Zhejiang, Hangzhou, Ningbo; upgraded in this order.
const NOT_YET_UPGRADED: [usize; 4] = [0, 2, 5, 6];

/// The previous release's newest link version.
const OLD: u16 = LINK_VERSION - 1;
const _: () = assert!(OLD >= MIN_LINK_VERSION);

fn env_for(version: u16) -> Vec<(String, String)> {
    vec![(
        "CREDIT_SYNC__MAX_LINK_VERSION".to_string(),
        version.to_string(),
    )]
}

/// Runs the scenario; returns whether every check passed.
pub async fn run(args: &UpgradeArgs) -> anyhow::Result<bool> {
    let started = Instant::now();
    let specs = three_tier_specs();
    let mut speaks: Vec<u16> = (0..specs.len())
        .map(|i| {
            if NOT_YET_UPGRADED.contains(&i) {
                OLD
            } else {
                LINK_VERSION
            }
        })
        .collect();
    println!(
        "rolling upgrade: 7 nodes on loopback; link versions {OLD} (previous release) and {LINK_VERSION} (this build)"
    );
    let initial = speaks.clone();
    let old_binary = args.previous_bin.is_some();
    let mut cluster = Cluster::prepare(
        &args.dir,
        specs,
        subscriptions(),
        Duration::from_secs_f64(args.interval),
        |_| String::new(),
        // A previous release knows no `max_link_version`: it speaks its one version.
        |i| {
            if old_binary && initial[i] == OLD {
                Vec::new()
            } else {
                env_for(initial[i])
            }
        },
    )?;
    if let Some(bin) = &args.previous_bin {
        println!("nodes not yet upgraded run {}", bin.display());
        for &i in &NOT_YET_UPGRADED {
            cluster.nodes[i].binary = Some(bin.clone());
        }
    }
    cluster.start_all()?;
    let mut clients = Vec::new();
    for i in 0..cluster.nodes.len() {
        clients.push(cluster.admin(i).await?);
    }
    let mut ok = true;
    let mut step = 0u64;
    ok &= write_and_check(&cluster, &clients, &speaks, args, step, "mixed federation").await?;
    for &i in &NOT_YET_UPGRADED {
        step += 1;
        let name = cluster.nodes[i].spec.name.clone();
        cluster.stop_node(i, false);
        speaks[i] = LINK_VERSION;
        cluster.nodes[i].env = env_for(LINK_VERSION);
        cluster.nodes[i].binary = None;
        cluster.start_node(i)?;
        clients[i] = cluster.admin(i).await?;
        ok &= write_and_check(
            &cluster,
            &clients,
            &speaks,
            args,
            step,
            &format!("{name} upgraded"),
        )
        .await?;
    }
    let refused = super::finish(&mut cluster, clients, started).await?;
    Ok(ok && refused == 0)
}

/// Writes new records at every city (and list entries at the national hub), waits for
/// convergence, and checks each link's negotiated version.
async fn write_and_check(
    cluster: &Cluster,
    clients: &[AdminClient],
    speaks: &[u16],
    args: &UpgradeArgs,
    step: u64,
    what: &str,
) -> anyhow::Result<bool> {
    let phase = Instant::now();
    for (i, client) in clients.iter().enumerate().skip(3) {
        let code = cluster.nodes[i].spec.jurisdiction;
        let bodies = generate(
            code,
            RecordKind::PENALTY,
            args.records,
            args.seed * 100 + step * 10 + i as u64,
        )?;
        put(client, RecordKind::PENALTY, &bodies)
            .await
            .with_context(|| format!("writing at {}", cluster.nodes[i].spec.name))?;
    }
    let lists = generate(
        DivisionCode::NATIONAL,
        RecordKind::BLACK_LIST,
        (args.records / 10).max(1),
        args.seed * 100 + step,
    )?;
    put(&clients[0], RecordKind::BLACK_LIST, &lists).await?;
    let (checks, took, converged) =
        check::converge(cluster, clients, Duration::from_secs(args.timeout)).await?;
    println!(
        "\nstep {step}: {what}: {} in {:.1} s (written in {:.1} s)",
        if converged {
            "converged"
        } else {
            "NOT converged"
        },
        took.as_secs_f64(),
        phase.elapsed().as_secs_f64() - took.as_secs_f64()
    );
    if !converged {
        check::print(&checks);
    }
    let mut versions_ok = true;
    for (i, n) in cluster.nodes.iter().enumerate() {
        let Some(p) = n.spec.parent else { continue };
        let parent = &cluster.nodes[p];
        let expected = speaks[i].min(speaks[p]);
        // A previous release's binary reports no link version: read the end that runs
        // this build.
        let seen = if parent.binary.is_none() {
            let label = format!("peer=\"{}\"", n.spec.name);
            let m = &parent.metrics;
            Some(
                crate::chaos::metric(m, "credithub_link_version", &[&label, "with=\"child\""])
                    .await?,
            )
        } else if n.binary.is_none() {
            let m = &n.metrics;
            Some(crate::chaos::metric(m, "credithub_link_version", &["with=\"parent\""]).await?)
        } else {
            None
        };
        let shown = match seen {
            Some(v) => {
                let v = v as u16;
                versions_ok &= v == expected;
                if v == expected {
                    format!("link version {v}")
                } else {
                    format!("link version {v}  <- expected {expected}")
                }
            }
            None => "both ends run the previous release".to_string(),
        };
        println!(
            "  {:>8} ({} speaks ≤ {}) → {:<8} ({} speaks ≤ {}): {shown}",
            n.spec.name,
            n.spec.jurisdiction,
            speaks[i],
            parent.spec.name,
            parent.spec.jurisdiction,
            speaks[p]
        );
    }
    Ok(converged && versions_ok)
}

fn generate(
    origin: DivisionCode,
    kind: RecordKind,
    count: u64,
    seed: u64,
) -> anyhow::Result<Vec<RecordBody>> {
    let mut g = Generator::new(seed, GeneratorConfig::for_count(origin, count))?;
    Ok((0..count).map(|_| g.record(kind)).collect())
}
