//! `bench api`: the HTTPS read API under load, beside the QUIC subject query.
//!
//! One node holds generated records of Suzhou (the national mix: licences, penalties,
//! lists). Then, over the same subjects drawn uniformly, each row for a fixed window:
//! subject queries by 8 admin clients over QUIC (the reference), the same queries by 8
//! clients over HTTPS, each on one keep-alive connection, with HTTP/2 and with
//! HTTP/1.1; and the black list (`/v1/lists/black-list`) over HTTP/2, by numbered
//! pages and walked with the cursor as an export does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use credithub_node::certs::{self, Role};
use credithub_node::Store;
use credithub_protocol::codec::EncodedRecord;
use credithub_protocol::{DivisionCode, RecordKey, Version};

use super::queries::{self, percentile, QueryFigures, SubjectTally};
use super::Summary;
use crate::api_client::{ApiClient, Protocol};
use crate::federation::cluster::{Cluster, NodeSpec};
use crate::generate::{Generator, GeneratorConfig, RecordMix};

/// Arguments of `bench api`.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Records at the node.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Concurrent clients of each row.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// A short run (100 000 records, 3 s per row).
    #[arg(long)]
    pub quick: bool,
    /// Where to put the node (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// The read API's client certificate of the benchmark.
const CLIENT: &str = "bench-api";

/// Runs the benchmark, adding its rows to `summary`.
pub async fn run(args: &ApiArgs, summary: &mut Summary) -> anyhow::Result<()> {
    let n = if args.quick { 100_000 } else { args.records };
    let window = Duration::from_secs(if args.quick { 3 } else { 10 });
    let tmp = tempfile::tempdir()?;
    let root = args.dir.clone().unwrap_or_else(|| tmp.path().join("api"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let api = format!("127.0.0.1:{port}");
    let specs = vec![NodeSpec {
        name: "national".into(),
        jurisdiction: DivisionCode::NATIONAL,
        parent: None,
    }];
    let mut cluster = Cluster::start_with(&root, specs, vec![], Duration::from_secs(3600), |_| {
        format!("[api]\nlisten = \"{api}\"\n")
    })?;
    let certs_dir = cluster.nodes[0].dir.join("certs");
    certs::create_client(
        &certs_dir,
        cluster.ca_key(),
        Role::Client,
        DivisionCode::NATIONAL,
        CLIENT,
        30,
        false,
    )?;

    // The records, written to the stopped node's store as if received from Suzhou.
    cluster.stop_node(0, false);
    let started = Instant::now();
    let tally = fill(&cluster.nodes[0].dir.join("data"), n)?;
    println!(
        "api: {n} records of Suzhou written in {:.0} s; {} subjects",
        started.elapsed().as_secs_f64(),
        tally.subjects()
    );
    cluster.start_node(0)?;
    let address = cluster.nodes[0].address.clone();
    let subjects = tally.uniform(20_000, 11);
    let targets: Vec<String> = subjects
        .iter()
        .map(|(s, _)| format!("/v1/subjects/{}/records?purpose=benchmark", s.unmasked()))
        .collect();
    let pages: Vec<String> = (1..=50)
        .map(|p| format!("/v1/lists/black-list?per_page=20&page={p}"))
        .collect();

    // Warm-up of both listeners, then the rows.
    let clients = args.clients;
    queries::run(
        &address,
        &certs_dir,
        &subjects,
        clients,
        Duration::from_secs(1),
    )
    .await?;
    http(
        &api,
        &certs_dir,
        Protocol::Http2,
        &targets,
        clients,
        Duration::from_secs(1),
    )
    .await?;
    let quic = queries::run(&address, &certs_dir, &subjects, clients, window).await?;
    let h2 = http(&api, &certs_dir, Protocol::Http2, &targets, clients, window).await?;
    let h1 = http(&api, &certs_dir, Protocol::Http1, &targets, clients, window).await?;
    let lists = http(&api, &certs_dir, Protocol::Http2, &pages, clients, window).await?;
    let walk = walk(&api, &certs_dir, clients, window).await?;
    let reference = format!("QUIC {}", quic.brief());
    for (name, f) in [
        ("subject queries, QUIC admin protocol", &quic),
        ("subject queries, HTTPS HTTP/2", &h2),
        ("subject queries, HTTPS HTTP/1.1 keep-alive", &h1),
        ("black-list numbered pages 1-50 of 20, HTTPS HTTP/2", &lists),
        (
            "black-list walked by cursor, pages of 100, HTTPS HTTP/2",
            &walk,
        ),
    ] {
        println!(
            "api: {name}, {clients} clients over {n} records: {}; {} errors",
            f.brief(),
            f.errors
        );
    }
    for (name, f) in [("HTTP/2", &h2), ("HTTP/1.1", &h1)] {
        summary.row(
            &format!("read API {name}, {clients} clients"),
            format!("N={n}: {}", f.brief()),
            reference.clone(),
            Some(f.per_second / quic.per_second.max(f64::MIN_POSITIVE)),
            None,
        );
    }
    summary.row(
        &format!("read API list pages, {clients} clients"),
        lists.brief(),
        "black list, numbered pages 1–50 of 20".into(),
        None,
        None,
    );
    summary.row(
        &format!("read API list export, {clients} clients"),
        walk.brief(),
        "black list by cursor, pages of 100".into(),
        None,
        None,
    );
    cluster.stop_node(0, false);
    Ok(())
}

/// Writes `n` generated records of Suzhou into the national store at `data`, counting their
/// subjects.
fn fill(data: &Path, n: u64) -> anyhow::Result<SubjectTally> {
    let suzhou = DivisionCode::parse("320500")?;
    let store = Store::open(data, Some(DivisionCode::NATIONAL))?;
    let mut g = Generator::new(3, GeneratorConfig::for_count(suzhou, n))?;
    let mix = RecordMix::default();
    let version = Version::next(None, credithub_node::clock::now_millis());
    let mut tally = SubjectTally::default();
    let mut left = n;
    while left > 0 {
        let take = left.min(4_000);
        let batch: Vec<EncodedRecord> = g
            .bodies(take, &mix)
            .map(|(kind, body)| {
                tally.add(body.subject.id, None);
                let key = RecordKey::derive(suzhou, kind, &body);
                EncodedRecord::of_body(key, version, Some(&body))
            })
            .collect();
        store.apply_remote(batch, credithub_node::clock::now_millis())?;
        left -= take;
    }
    store.flush()?;
    Ok(tally)
}

/// Runs `clients` HTTPS clients for `window`, each on one connection of `protocol`
/// asking the targets in turn (client `c` starts at target `c`).
async fn http(
    address: &str,
    certs_dir: &Path,
    protocol: Protocol,
    targets: &[String],
    clients: usize,
    window: Duration,
) -> anyhow::Result<QueryFigures> {
    anyhow::ensure!(!targets.is_empty(), "nothing to ask");
    let targets: Arc<Vec<String>> = Arc::new(targets.to_vec());
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let mut client = ApiClient::connect(address, certs_dir, CLIENT, protocol).await?;
        let targets = targets.clone();
        tasks.spawn(async move {
            let (mut lat, mut errors, mut bytes) = (Vec::new(), 0usize, 0usize);
            let started = Instant::now();
            let mut i = c;
            while started.elapsed() < window {
                let t = Instant::now();
                match client.get(&targets[i % targets.len()]).await {
                    Ok(a) if a.status == 200 => {
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        bytes += a.body.len();
                    }
                    _ => errors += 1,
                }
                i += clients;
            }
            (lat, errors, bytes)
        });
    }
    let (mut lat, mut f, mut bytes) = (Vec::new(), QueryFigures::default(), 0usize);
    while let Some(r) = tasks.join_next().await {
        let (l, e, b) = r?;
        lat.extend(l);
        f.errors += e;
        bytes += b;
    }
    lat.sort_by(f64::total_cmp);
    f.per_second = lat.len() as f64 / window.as_secs_f64();
    f.p50 = percentile(&lat, 0.5);
    f.p99 = percentile(&lat, 0.99);
    f.mean_records = bytes as f64 / lat.len().max(1) as f64;
    Ok(f)
}

/// Runs `clients` HTTP/2 clients for `window`, each reading the whole black list page
/// by page with the cursor (`after=`), from the start again at its end; a figure per
/// page.
async fn walk(
    address: &str,
    certs_dir: &Path,
    clients: usize,
    window: Duration,
) -> anyhow::Result<QueryFigures> {
    const FIRST: &str = "/v1/lists/black-list?per_page=100";
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let mut client = ApiClient::connect(address, certs_dir, CLIENT, Protocol::Http2).await?;
        tasks.spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            let mut after: Option<String> = None;
            let started = Instant::now();
            while started.elapsed() < window {
                let target = match &after {
                    Some(a) => format!("{FIRST}&after={a}"),
                    None => FIRST.to_string(),
                };
                let t = Instant::now();
                let page = client.get(&target).await.ok().filter(|a| a.status == 200);
                let next = page
                    .as_ref()
                    .and_then(|a| serde_json::from_str::<serde_json::Value>(&a.body).ok())
                    .map(|v| v["next_after"].as_str().map(str::to_string));
                match next {
                    Some(next) => {
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        after = next;
                    }
                    None => {
                        errors += 1;
                        after = None;
                    }
                }
            }
            (lat, errors)
        });
    }
    let (mut lat, mut f) = (Vec::new(), QueryFigures::default());
    while let Some(r) = tasks.join_next().await {
        let (l, e) = r?;
        lat.extend(l);
        f.errors += e;
    }
    lat.sort_by(f64::total_cmp);
    f.per_second = lat.len() as f64 / window.as_secs_f64();
    f.p50 = percentile(&lat, 0.5);
    f.p99 = percentile(&lat, 0.99);
    Ok(f)
}
