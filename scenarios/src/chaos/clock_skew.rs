//! `scenarios chaos clock-skew`: nodes whose clocks disagree by minutes.
//!
//! Four nodes — national, Jiangsu, Suzhou, Nanjing — each run with a test-only clock
//! offset (`CREDIT_CLOCK_OFFSET_MS`, see `credithub_node::clock`): two of them
//! `--skew-mins` ahead and behind, the others at random in between. Records are
//! tracked at three origins: Suzhou's penalties, Nanjing's penalties about Suzhou's
//! companies (which reach Suzhou through the hub) and the national hub's black-list
//! entries. Each iteration revises every tracked record at its origin; from the second
//! on, an origin's clock first **steps back** by `--step-back-mins` (it is restarted
//! with a smaller offset): Suzhou, then the national hub, then Nanjing, in turn.
//!
//! Versions are assigned by the origin only, and `Version::next` never goes below the
//! version a record has, so
//!
//! - every revision's version is greater than the one before, also after the step
//!   back (where the clock part stays and the counter goes up by one);
//! - while a revision spreads, no node ever holds an older version of a record than it
//!   held before (sampled every 100 ms);
//! - once converged every node that should hold a record holds exactly the origin's
//!   latest version, byte for byte, and no node refused anything as stale or
//!   conflicting.
//!
//! Finally a record is deleted at its stepped-back origin: the tombstone wins
//! everywhere too.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use credithub_node::admin::client::AdminClient;
use credithub_node::clock::OFFSET_VARIABLE;
use credithub_protocol::link::LinkScope;
use credithub_protocol::record::Details;
use credithub_protocol::testing::body_about;
use credithub_protocol::{DivisionCode, RecordBody, RecordKey, RecordKind, Version};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    connect_all, converge, delete, put, restart, secs, spec, stop_and_verify_all, version_at,
    Report,
};
use crate::federation::cluster::{status, Cluster};
use crate::federation::subscriptions;
use crate::generate::{Generator, GeneratorConfig};

/// Options of `scenarios chaos clock-skew`.
#[derive(Debug, Clone, Args)]
pub struct ClockSkewArgs {
    /// Seed of the clock offsets and the data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Revisions of every tracked record (the second and later ones after a clock
    /// steps back).
    #[arg(long, default_value_t = 4)]
    pub iterations: u32,
    /// How far the clocks disagree: offsets between -skew and +skew minutes.
    #[arg(long, default_value_t = 5)]
    pub skew_mins: i64,
    /// How far an origin's clock steps back between two writes, in minutes.
    #[arg(long, default_value_t = 30)]
    pub step_back_mins: i64,
    /// Directory for certificates, data and logs (emptied first).
    #[arg(long, default_value = "chaos-clock-skew")]
    pub dir: PathBuf,
    /// Longest wait for each convergence, in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

const NATIONAL: usize = 0;
const JIANGSU: usize = 1;
const SUZHOU: usize = 2;
const NANJING: usize = 3;

const MINUTE_MS: i64 = 60_000;

/// A record tracked through its revisions.
struct Tracked {
    origin: usize,
    kind: RecordKind,
    body: RecordBody,
    key: RecordKey,
    version: Option<Version>,
}

/// The body's revision `round`: new content, same natural key.
fn revise(mut body: RecordBody, round: u32) -> RecordBody {
    if let Details::Penalty(p) = &mut body.details {
        p.content = format!("罚款人民币五万元（第{round}次修订）");
    }
    body.extra.insert("REVISION".into(), round.to_string());
    body
}

fn real_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn show(v: Version) -> String {
    format!("{}+{}", v.millis(), v.0 & 0xFFFF)
}

fn minutes(ms: i64) -> String {
    format!("{:+.1} min", ms as f64 / MINUTE_MS as f64)
}

/// Restarts node `i` with clock offset `offset_ms`.
async fn set_offset(
    cluster: &mut Cluster,
    clients: &mut [AdminClient],
    i: usize,
    offset_ms: i64,
) -> anyhow::Result<()> {
    cluster.stop_node(i, false);
    let env = &mut cluster.nodes[i].env;
    env.retain(|(k, _)| k != OFFSET_VARIABLE);
    env.push((OFFSET_VARIABLE.into(), offset_ms.to_string()));
    restart(cluster, clients, i).await
}

/// Runs the scenario.
pub async fn run(args: &ClockSkewArgs) -> anyhow::Result<Report> {
    let mut report = Report::new("clock-skew", args.seed);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let timeout = Duration::from_secs(args.timeout);
    println!(
        "chaos clock-skew: clocks up to {} min apart, origins stepping back {} min; {} revisions, seed {}",
        args.skew_mins, args.step_back_mins, args.iterations, args.seed
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
    let names: Vec<String> = cluster.nodes.iter().map(|n| n.spec.name.clone()).collect();

    // Two clocks at the extremes, the others in between; in an order of the seed.
    let skew = args.skew_mins * MINUTE_MS;
    let mut offsets = [
        skew,
        -skew,
        rng.gen_range(-skew..=skew),
        rng.gen_range(-skew..=skew),
    ];
    offsets.shuffle(&mut rng);
    for (i, &off) in offsets.iter().enumerate() {
        set_offset(&mut cluster, &mut clients, i, off).await?;
    }
    for (i, &off) in offsets.iter().enumerate() {
        let before = real_now_ms();
        let at = status(&clients[i]).await?.report.at_ms as i64;
        let after = real_now_ms();
        let measured = at - (before + after) / 2;
        report.check(
            (measured - off).abs() < 5_000,
            format!(
                "{}'s clock runs {} off (set {})",
                names[i],
                minutes(measured),
                minutes(off)
            ),
        );
    }

    // The tracked records.
    let mut national_gen = Generator::new(
        args.seed,
        GeneratorConfig::for_count(DivisionCode::NATIONAL, 1000),
    )?;
    let mut tracked: Vec<Tracked> = Vec::new();
    let mut track = |origin: usize, kind: RecordKind, body: RecordBody| {
        let key = RecordKey::derive(juris[origin], kind, &body);
        tracked.push(Tracked {
            origin,
            kind,
            body,
            key,
            version: None,
        });
    };
    for n in 0..20 {
        track(SUZHOU, RecordKind::PENALTY, body_about(n, "320583"));
    }
    for n in 0..10 {
        track(NANJING, RecordKind::PENALTY, body_about(1000 + n, "320506"));
    }
    for _ in 0..10 {
        track(
            NATIONAL,
            RecordKind::BLACK_LIST,
            national_gen.record(RecordKind::BLACK_LIST),
        );
    }
    let holders: Vec<Vec<usize>> = tracked
        .iter()
        .map(|t| {
            (0..cluster.nodes.len())
                .filter(|&i| i == NATIONAL || LinkScope::new(juris[i], subs.clone()).holds(&t.key))
                .collect()
        })
        .collect();
    report.check(
        holders[20].contains(&SUZHOU) && holders[0].len() == 3 && holders[30].len() == 4,
        "nanjing's records about suzhou's companies reach suzhou; suzhou's reach jiangsu and the national hub; lists reach everyone",
    );

    let step_order = [SUZHOU, NATIONAL, NANJING];
    let mut seen: HashMap<(usize, usize), Version> = HashMap::new();
    let mut regressions = 0u64;
    for round in 1..=args.iterations {
        let stepped = if round >= 2 {
            let o = step_order[(round as usize - 2) % step_order.len()];
            offsets[o] -= args.step_back_mins * MINUTE_MS;
            set_offset(&mut cluster, &mut clients, o, offsets[o]).await?;
            println!(
                "\nrevision {round}: {}'s clock steps back {} min (offset now {})",
                names[o],
                args.step_back_mins,
                minutes(offsets[o])
            );
            Some(o)
        } else {
            println!("\nrevision {round}");
            None
        };
        // Write the revision at each origin.
        for origin in [SUZHOU, NANJING, NATIONAL] {
            let mut by_kind: HashMap<RecordKind, Vec<RecordBody>> = HashMap::new();
            for t in tracked.iter_mut().filter(|t| t.origin == origin) {
                t.body = revise(t.body.clone(), round);
                by_kind.entry(t.kind).or_default().push(t.body.clone());
            }
            for (kind, bodies) in by_kind {
                let w = put(&clients[origin], kind, &bodies).await?;
                report.check(
                    w.inserted + w.updated == bodies.len() as u64 && w.unchanged == 0,
                    format!(
                        "revision {round}: {} stores all {} revised records (inserted {}, updated {}, unchanged {})",
                        names[origin],
                        bodies.len(),
                        w.inserted,
                        w.updated,
                        w.unchanged
                    ),
                );
            }
        }
        // Each new version is above the last, also where the clock stepped back.
        let mut increasing = true;
        let mut example = String::new();
        let mut counter_steps = 0;
        for t in tracked.iter_mut() {
            let Some((v, _)) = version_at(&clients[t.origin], t.key).await? else {
                increasing = false;
                continue;
            };
            if let Some(prev) = t.version {
                increasing &= v > prev;
                if stepped == Some(t.origin) {
                    if v.0 == prev.0 + 1 {
                        counter_steps += 1;
                    }
                    if example.is_empty() {
                        example = format!(
                            "{} {}: {} → {}",
                            names[t.origin],
                            t.key,
                            show(prev),
                            show(v)
                        );
                    }
                }
            }
            t.version = Some(v);
        }
        report.check(
            increasing,
            format!("revision {round}: every record's new version at its origin is greater than its last"),
        );
        if let Some(o) = stepped {
            let n = tracked.iter().filter(|t| t.origin == o).count();
            report.check(
                counter_steps == n,
                format!(
                    "revision {round}: with {}'s clock behind its last versions, each new version keeps the clock part and adds one to the counter ({counter_steps}/{n}; e.g. {example})",
                    names[o]
                ),
            );
        }
        // Spread: no node ever goes back to an older version.
        let started = Instant::now();
        let spread = loop {
            let mut everywhere = true;
            for (ti, t) in tracked.iter().enumerate() {
                for &n in &holders[ti] {
                    let held = version_at(&clients[n], t.key).await?.map(|(v, _)| v);
                    if let Some(v) = held {
                        if let Some(&before) = seen.get(&(n, ti)) {
                            if v < before {
                                regressions += 1;
                                println!(
                                    "  REGRESSION at {}: {} went from {} to {}",
                                    names[n],
                                    t.key,
                                    show(before),
                                    show(v)
                                );
                            }
                        }
                        seen.insert((n, ti), v);
                    }
                    everywhere &= held == t.version;
                }
            }
            if everywhere || started.elapsed() > timeout {
                break everywhere;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        report.check(
            spread,
            format!(
                "revision {round}: every node that should hold a tracked record holds its origin's latest version ({})",
                secs(started.elapsed())
            ),
        );
        let (_, _, ok) = converge(&cluster, &clients, timeout).await?;
        report.check(
            ok,
            format!("revision {round}: the federation converges (digests, byte samples)"),
        );
        if !(spread && ok) {
            break;
        }
    }
    report.check(
        regressions == 0,
        format!("no node ever held an older version of a tracked record than before ({regressions} regressions)"),
    );

    // A deletion at a stepped-back origin wins too.
    let t = &tracked[0];
    let before = t.version;
    delete(&clients[t.origin], &[t.key]).await?;
    let tomb = version_at(&clients[t.origin], t.key).await?;
    report.check(
        tomb.as_ref().is_some_and(|(v, b)| {
            Some(*v) > before
                && credithub_protocol::codec::decode(t.key, b).is_ok_and(|r| r.body.is_none())
        }),
        format!(
            "a deletion at {} (clock {}) gets a tombstone version above the last ({} → {})",
            names[t.origin],
            minutes(offsets[t.origin]),
            before.map(show).unwrap_or_default(),
            tomb.as_ref().map(|(v, _)| show(*v)).unwrap_or_default()
        ),
    );
    let (_, _, ok) = converge(&cluster, &clients, timeout).await?;
    let mut everywhere = ok;
    for &n in &holders[0] {
        everywhere &= version_at(&clients[n], t.key).await? == tomb;
    }
    report.check(
        everywhere,
        "the tombstone replaces the record at every node that held it",
    );

    let mut refused = std::collections::BTreeMap::<String, u64>::new();
    for c in &clients {
        for (k, v) in status(c).await?.refused {
            *refused.entry(k).or_default() += v;
        }
    }
    report.check(
        refused.get("stale").copied().unwrap_or(0) == 0
            && refused.get("conflict").copied().unwrap_or(0) == 0,
        format!("no node refused a record as stale or conflicting ({refused:?})"),
    );
    for (i, off) in offsets.iter().enumerate() {
        report.figure(
            &format!("{} clock offset at the end", names[i]),
            minutes(*off),
        );
    }
    for c in clients {
        c.close().await;
    }
    stop_and_verify_all(&mut cluster, &mut report);
    Ok(report)
}
