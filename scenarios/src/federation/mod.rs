//! `scenarios three-tier`: a real federation on loopback — national; Jiangsu and
//! Zhejiang; Suzhou, Nanjing, Hangzhou and Ningbo — as separate `credit-node`
//! processes with freshly generated certificates. Cities import generated files, the
//! national hub publishes black lists and dishonest debtors, cities issue records
//! about other cities' companies; then updates and deletions at several levels. After
//! each phase the scenario waits for convergence and checks every node.

pub mod check;
pub mod cluster;
pub mod upgrade;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use credithub_node::admin::client::AdminClient;
use credithub_node::admin::AdminRequest;
use credithub_protocol::record::Details;
use credithub_protocol::{DivisionCode, RecordBody, RecordKey, RecordKind, Subject};

use crate::generate::{write_csv, CsvOptions, FileKind, Generator, GeneratorConfig};
use cluster::{call, Cluster, NodeSpec};

/// Options of `scenarios three-tier`.
#[derive(Debug, Clone, Args)]
pub struct ThreeTierArgs {
    /// Directory for certificates, data and logs (emptied first).
    #[arg(long, default_value = "three-tier")]
    pub dir: PathBuf,
    /// Penalty records each city imports.
    #[arg(long, default_value_t = 5000)]
    pub records: u64,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Periodic sync interval of every node, in seconds.
    #[arg(long, default_value_t = 1.0)]
    pub interval: f64,
    /// Longest wait for convergence after each phase, in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

/// The federation's nodes, national first, parents before children.
pub fn three_tier_specs() -> Vec<NodeSpec> {
    let spec = |name: &str, code: &str, parent: Option<usize>| NodeSpec {
        name: name.into(),
        jurisdiction: DivisionCode::parse(code).unwrap_or(DivisionCode::NATIONAL),
        parent,
    };
    vec![
        spec("national", "000000", None),
        spec("jiangsu", "320000", Some(0)),
        spec("zhejiang", "330000", Some(0)),
        spec("suzhou", "320500", Some(1)),
        spec("nanjing", "320100", Some(1)),
        spec("hangzhou", "330100", Some(2)),
        spec("ningbo", "330200", Some(2)),
    ]
}

/// The kinds every node of the scenario subscribes to.
pub fn subscriptions() -> Vec<RecordKind> {
    vec![RecordKind::BLACK_LIST, RecordKind::DISHONEST_DEBTOR]
}

/// Penalties issued at `origin` about the given subjects (registered elsewhere).
pub fn bodies_about(
    origin: DivisionCode,
    subjects: &[Subject],
    n: u64,
    seed: u64,
) -> anyhow::Result<Vec<RecordBody>> {
    if subjects.is_empty() {
        bail!("no subjects to issue records about");
    }
    let mut local = Generator::new(seed, GeneratorConfig::for_count(origin, n))?;
    Ok((0..n as usize)
        .map(|i| {
            let mut body = local.record(RecordKind::PENALTY);
            body.subject = subjects[i % subjects.len()].clone();
            body.other_ids.clear();
            body
        })
        .collect())
}

/// A correction of a body: same natural key, new content.
pub fn corrected(mut body: RecordBody) -> RecordBody {
    if let Details::Penalty(p) = &mut body.details {
        p.content.push_str("（已更正）");
    }
    body.extra.insert("CORRECTED".into(), "1".into());
    body
}

async fn put(
    client: &credithub_node::admin::client::AdminClient,
    kind: RecordKind,
    bodies: &[RecordBody],
) -> anyhow::Result<()> {
    for chunk in bodies.chunks(2000) {
        call(
            client,
            &AdminRequest::Put {
                records: chunk.iter().map(|b| (kind, b.clone())).collect(),
            },
        )
        .await?;
    }
    Ok(())
}

/// Every record about `subject` a node holds.
pub async fn query(
    client: &credithub_node::admin::client::AdminClient,
    subject: &str,
) -> anyhow::Result<credithub_node::query::SubjectAnswer> {
    let req = AdminRequest::Query {
        subject: subject.to_string(),
        purpose: Some("scenario check".into()),
        audience: None,
        fresh: false,
    };
    match call(client, &req).await? {
        credithub_node::admin::AdminResponse::Answer(a) => Ok(*a),
        other => bail!("unexpected answer {other:?}"),
    }
}

fn show_query(node: &str, about: &RecordBody, answer: &credithub_node::query::SubjectAnswer) {
    let origins: Vec<String> = answer
        .origins
        .iter()
        .map(|o| {
            let fresh = o
                .synced_ms
                .map(|ms| {
                    format!(
                        "synced {:.1} s ago",
                        answer.at_ms.saturating_sub(ms) as f64 / 1000.0
                    )
                })
                .unwrap_or_else(|| "not synced yet".into());
            format!(
                "{} from {} {} (via {}, {fresh})",
                o.records, o.origin, o.name, o.via
            )
        })
        .collect();
    println!(
        "\nquery at {node}: {} record(s) about {} {}:\n  {}",
        answer.records.len(),
        about.subject.name,
        answer.subject,
        origins.join("\n  ")
    );
    let home = about.subject.id.division().map(|d| d.prefecture());
    for r in answer
        .records
        .iter()
        .filter(|r| Some(r.origin.prefecture()) != home)
        .take(8)
    {
        println!(
            "  issued elsewhere: {} {} {} {} {}",
            r.kind, r.origin, r.origin_name, r.decision_no, r.decision_date
        );
    }
}

/// Runs the scenario; returns whether every check passed.
pub async fn run(args: &ThreeTierArgs) -> anyhow::Result<bool> {
    let started = Instant::now();
    println!(
        "three-tier federation: 7 nodes on loopback, {} penalties per city, seed {}",
        args.records, args.seed
    );
    let mut cluster = Cluster::start(
        &args.dir,
        three_tier_specs(),
        subscriptions(),
        Duration::from_secs_f64(args.interval),
    )?;
    let mut clients = Vec::new();
    for i in 0..cluster.nodes.len() {
        clients.push(cluster.admin(i).await?);
    }
    println!(
        "started in {:.1} s: certificates in {}/*/certs, logs in {}/*/node.log",
        started.elapsed().as_secs_f64(),
        args.dir.display(),
        args.dir.display()
    );

    // Phase 1: imports at the cities, lists at the national hub, cross-city records.
    let phase = Instant::now();
    let code = |i: usize| cluster.nodes[i].spec.jurisdiction;
    // The subjects of each city's data, busiest first (for records about them issued
    // elsewhere).
    let mut city_subjects: Vec<Vec<Subject>> = vec![Vec::new(); cluster.nodes.len()];
    for (i, client) in clients.iter().enumerate().skip(3) {
        let file = args
            .dir
            .join(format!("{}-penalties.csv", cluster.nodes[i].spec.name));
        let mut generator = Generator::new(
            args.seed + i as u64,
            GeneratorConfig::for_count(code(i), args.records),
        )?;
        let bodies: Vec<RecordBody> = (0..args.records)
            .map(|_| generator.record(RecordKind::PENALTY))
            .collect();
        let mut seen = std::collections::HashMap::new();
        for b in &bodies {
            *seen.entry(b.subject.id).or_insert(0u32) += 1;
        }
        let mut ranked: Vec<(u32, Subject)> = bodies
            .iter()
            .filter(|b| b.subject.id.division().is_some_and(|d| code(i).contains(d)))
            .filter_map(|b| seen.remove(&b.subject.id).map(|n| (n, b.subject.clone())))
            .collect();
        ranked.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1.id.unmasked().cmp(&b.1.id.unmasked()))
        });
        city_subjects[i] = ranked.into_iter().take(200).map(|(_, s)| s).collect();
        let out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        write_csv(
            FileKind::Penalty,
            bodies,
            out,
            &CsvOptions {
                seed: args.seed,
                ..CsvOptions::default()
            },
        )?;
        client
            .import(&file, None)
            .await
            .with_context(|| format!("importing {}", file.display()))?;
    }
    let mut national = Generator::new(
        args.seed,
        GeneratorConfig::for_count(DivisionCode::NATIONAL, args.records),
    )?;
    let black: Vec<RecordBody> = (0..args.records / 10)
        .map(|_| national.record(RecordKind::BLACK_LIST))
        .collect();
    let debtors: Vec<RecordBody> = (0..args.records / 20)
        .map(|_| national.record(RecordKind::DISHONEST_DEBTOR))
        .collect();
    put(&clients[0], RecordKind::BLACK_LIST, &black).await?;
    put(&clients[0], RecordKind::DISHONEST_DEBTOR, &debtors).await?;
    // Nanjing about Suzhou companies (same province), Hangzhou about Nanjing ones
    // (another province): they reach the subjects' cities through the subjects flow.
    let nanjing_on_suzhou = bodies_about(code(4), &city_subjects[3], args.records / 20, args.seed)?;
    let hangzhou_on_nanjing =
        bodies_about(code(5), &city_subjects[4], args.records / 20, args.seed + 1)?;
    put(&clients[4], RecordKind::PENALTY, &nanjing_on_suzhou).await?;
    put(&clients[5], RecordKind::PENALTY, &hangzhou_on_nanjing).await?;
    println!("\nphase 1: imports at 4 cities, {} list entries at the national hub, {} cross-city records ({:.1} s)", black.len() + debtors.len(), nanjing_on_suzhou.len() + hangzhou_on_nanjing.len(), phase.elapsed().as_secs_f64());
    let (checks, took, ok1) =
        check::converge(&cluster, &clients, Duration::from_secs(args.timeout)).await?;
    check::print(&checks);
    println!(
        "{} in {:.1} s",
        if ok1 { "converged" } else { "NOT converged" },
        took.as_secs_f64()
    );

    // Phase 2: corrections at Nanjing, deletions at Suzhou and at the national hub.
    let phase = Instant::now();
    let fixes: Vec<RecordBody> = nanjing_on_suzhou
        .iter()
        .take(50)
        .cloned()
        .map(corrected)
        .collect();
    put(&clients[4], RecordKind::PENALTY, &fixes).await?;
    let suzhou_keys = cluster::holdings(&clients[3], code(3), &[], true, 40)
        .await?
        .sample;
    let gone: Vec<RecordKey> = black
        .iter()
        .take(20)
        .map(|b| RecordKey::derive(DivisionCode::NATIONAL, RecordKind::BLACK_LIST, b))
        .collect();
    call(
        &clients[3],
        &AdminRequest::Delete {
            keys: suzhou_keys.clone(),
        },
    )
    .await?;
    call(&clients[0], &AdminRequest::Delete { keys: gone.clone() }).await?;
    println!("\nphase 2: {} corrections at nanjing, {} deletions at suzhou, {} at the national hub ({:.1} s)", fixes.len(), suzhou_keys.len(), gone.len(), phase.elapsed().as_secs_f64());
    let (checks, took, ok2) =
        check::converge(&cluster, &clients, Duration::from_secs(args.timeout)).await?;
    check::print(&checks);
    println!(
        "{} in {:.1} s",
        if ok2 { "converged" } else { "NOT converged" },
        took.as_secs_f64()
    );

    // A cross-province query: a Nanjing company's records, issued in Hangzhou
    // (Zhejiang), as the national hub and Nanjing itself now hold them.
    let subject = hangzhou_on_nanjing[0].subject.id.unmasked();
    for i in [0, 4] {
        let found = query(&clients[i], &subject).await?;
        show_query(&cluster.nodes[i].spec.name, &hangzhou_on_nanjing[0], &found);
    }

    let refused = finish(&mut cluster, clients, started).await?;
    Ok(ok1 && ok2 && refused == 0)
}

/// The end of a scenario: prints the records refused over links (from every node's
/// status) and the time taken, closes the clients and stops the nodes, children
/// first; returns the refusals.
pub async fn finish(
    cluster: &mut Cluster,
    clients: Vec<AdminClient>,
    started: Instant,
) -> anyhow::Result<u64> {
    let mut refused = 0;
    for c in &clients {
        refused += cluster::status(c).await?.refused.values().sum::<u64>();
    }
    println!(
        "\nrecords refused over links: {refused}; total time {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for c in clients {
        c.close().await;
    }
    for i in (0..cluster.nodes.len()).rev() {
        cluster.stop_node(i, false);
    }
    Ok(refused)
}
