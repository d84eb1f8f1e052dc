//! Benchmarks on real `credit-node` processes over mutual-TLS QUIC on loopback: an
//! end-to-end reconciliation, a bulk first sync beside a raw QUIC stream and local
//! ingest, subject queries under concurrent clients, the cost of an idle round,
//! propagation from a city to the national hub, and each node's peak memory.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use credithub_node::admin::client::AdminClient;
use credithub_node::admin::{AdminRequest, AdminResponse, PeerRound, ReconcileTarget, StatsReport};
use credithub_node::link::quic::LinkTuning;
use credithub_node::link::session::SessionStats;
use credithub_node::Store;
use credithub_protocol::codec::EncodedRecord;
use credithub_protocol::link::LINK_VERSION;
use credithub_protocol::{DivisionCode, RecordBody, RecordKey, RecordKind, SubjectId, Version};

use super::queries::{self, SubjectTally};
use super::{machine, Summary};
use crate::federation::cluster::{call, status, Cluster, NodeSpec};
use crate::generate::{Generator, GeneratorConfig, RecordMix};

/// Arguments of `bench federation`.
#[derive(Debug, Args)]
pub struct FederationArgs {
    /// Records each hub holds for the reconciliation and bulk-sync rows.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Differing records for the end-to-end reconciliation (half on each side).
    #[arg(long, default_value_t = 1_000)]
    pub differences: u64,
    /// Records at the national hub for the query row.
    #[arg(long, default_value_t = 10_000_000)]
    pub query_records: u64,
    /// Writes for the propagation row.
    #[arg(long, default_value_t = 1_000)]
    pub writes: u64,
    /// A short run (100 000 records, 300 000 for queries, 200 writes).
    #[arg(long)]
    pub quick: bool,
    /// Where to put the federation (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
}

const NATIONAL: usize = 0;
const JIANGSU: usize = 1;
const SUZHOU: usize = 2;

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap_or(DivisionCode::NATIONAL)
}

/// One generated record: its encoded form, its subject, and for one record in
/// [`NAME_SAMPLE`] its subject's name (for the name-search rows).
type Generated = (EncodedRecord, SubjectId, Option<String>);

/// One record in this many carries its subject's name out of [`generate`].
const NAME_SAMPLE: u64 = 500;

/// Generates `n` encoded records issued at `origin` about subjects of `about`
/// (chunk by chunk, to `f`, each with its subject), with realistic bodies of about
/// 500 bytes.
fn generate(
    origin: DivisionCode,
    about: DivisionCode,
    n: u64,
    seed: u64,
    mut f: impl FnMut(Vec<Generated>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut g = Generator::new(seed, GeneratorConfig::for_count(about, n))?;
    let mix = RecordMix::only(RecordKind::PENALTY);
    // Decision numbers carry the seed, so that sets made with different seeds share
    // no record.
    let tag = format!("-{seed}");
    let version = Version::next(None, credithub_node::clock::now_millis());
    let mut left = n;
    while left > 0 {
        let take = left.min(20_000);
        let first = n - left;
        let chunk: Vec<Generated> = g
            .bodies(take, &mix)
            .enumerate()
            .map(|(i, (kind, mut body))| {
                body.decision_no.push_str(&tag);
                let key = RecordKey::derive(origin, kind, &body);
                let record = EncodedRecord::of_body(key, version, Some(&body));
                let name = (first + i as u64)
                    .is_multiple_of(NAME_SAMPLE)
                    .then_some(body.subject.name);
                (record, body.subject.id, name)
            })
            .collect();
        f(chunk)?;
        left -= take;
    }
    Ok(())
}

/// Applies chunks to stores (as records received from a peer), counting their
/// subjects in `tally`; returns records/s.
fn fill(
    stores: &[&Store],
    origin: DivisionCode,
    about: DivisionCode,
    (n, seed): (u64, u64),
    tally: &mut SubjectTally,
) -> anyhow::Result<(f64, u64)> {
    let mut seconds = 0.0;
    let mut bytes = 0u64;
    generate(origin, about, n, seed, |chunk| {
        let chunk: Vec<EncodedRecord> = chunk
            .into_iter()
            .map(|(r, subject, name)| {
                tally.add(subject, name);
                r
            })
            .collect();
        bytes += chunk.iter().map(|r| r.bytes.len() as u64 + 22).sum::<u64>();
        for (i, s) in stores.iter().enumerate() {
            for batch in chunk.chunks(4_000) {
                let started = Instant::now();
                s.apply_remote(batch.to_vec(), credithub_node::clock::now_millis())?;
                if i == 0 {
                    seconds += started.elapsed().as_secs_f64();
                }
            }
        }
        Ok(())
    })?;
    Ok((n as f64 / seconds.max(1e-9), bytes))
}

fn proc_field(pid: u32, file: &str, key: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Peak resident memory of a process, in MiB.
fn peak_mib(pid: Option<u32>) -> f64 {
    pid.and_then(|p| proc_field(p, "status", "VmHWM:"))
        .unwrap_or(0.0)
        / 1024.0
}

/// CPU seconds a process has used.
fn cpu_seconds(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start after ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

async fn wait_first_round(client: &AdminClient) -> anyhow::Result<SessionStats> {
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let st = status(client).await?;
        if let Some(last) = st.parent.and_then(|p| p.last) {
            return Ok(last);
        }
        if Instant::now() > deadline {
            bail!("no round within an hour");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn reconcile_now(client: &AdminClient) -> anyhow::Result<SessionStats> {
    match call(
        client,
        &AdminRequest::Reconcile {
            target: ReconcileTarget::Parent,
        },
    )
    .await?
    {
        AdminResponse::Reconciled(mut r) => match r.pop() {
            Some(PeerRound { result: Ok(s), .. }) => Ok(s),
            Some(PeerRound { result: Err(e), .. }) => bail!("round failed: {e}"),
            None => bail!("no round"),
        },
        other => bail!("unexpected answer {other:?}"),
    }
}

/// A node's stats.
async fn stats(client: &AdminClient) -> anyhow::Result<StatsReport> {
    match call(client, &AdminRequest::Stats).await? {
        AdminResponse::Stats(s) => Ok(s),
        other => bail!("unexpected answer to a stats request: {other:?}"),
    }
}

/// Waits until the node reports no flush or compaction running or pending; returns
/// how long that took, or `None` when it was still busy after `limit`.
async fn wait_compactions_settled(
    client: &AdminClient,
    limit: Duration,
) -> anyhow::Result<Option<Duration>> {
    let started = Instant::now();
    while stats(client).await?.busy_in_background() {
        if started.elapsed() > limit {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(Some(started.elapsed()))
}

/// A raw QUIC stream over loopback with the same certificates, both ends tuned as
/// `tuning` says: MB/s for `bytes`.
pub(crate) async fn raw_quic(certs: &Path, bytes: u64, tuning: &LinkTuning) -> anyhow::Result<f64> {
    use credithub_node::link::quic::{connect, node_endpoint};
    let loopback = ([127, 0, 0, 1], 0).into();
    let (server, _) = node_endpoint(certs, loopback, LINK_VERSION, tuning)?;
    let addr = server.local_addr()?;
    let (client, _) = node_endpoint(certs, loopback, LINK_VERSION, tuning)?;
    let receiver = tokio::spawn(async move {
        let conn = server.accept().await.context("no connection")?.await?;
        // Nodes allow no unidirectional streams: the push uses a bidirectional one.
        let (_send, mut recv) = conn.accept_bi().await?;
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        while let Some(n) = recv.read(&mut buf).await? {
            total += n as u64;
        }
        anyhow::Ok(total)
    });
    let (conn, _) = connect(&client, addr, "localhost").await?;
    let started = Instant::now();
    let (mut send, _recv) = conn.open_bi().await?;
    let chunk = vec![7u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        send.write_all(&chunk[..n]).await?;
        left -= n as u64;
    }
    send.finish()?;
    let got = receiver.await??;
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(got == bytes, "raw stream moved {got} of {bytes} bytes");
    Ok(bytes as f64 / secs / 1e6)
}

/// Runs the benchmark, printing each figure and adding the summary rows.
pub async fn run(args: &FederationArgs, summary: &mut Summary) -> anyhow::Result<()> {
    let (n, qn, writes) = if args.quick {
        (100_000, 300_000, 200)
    } else {
        (
            args.records,
            args.query_records.max(args.records),
            args.writes,
        )
    };
    let d = args.differences;
    let tmp = tempfile::tempdir()?;
    let root = args.dir.clone().unwrap_or_else(|| tmp.path().join("fed"));
    println!(
        "federation benchmark: N = {n}, d = {d}, queries over {qn} records, {writes} writes; on {}",
        machine::describe()
    );
    let specs = vec![
        NodeSpec {
            name: "national".into(),
            jurisdiction: DivisionCode::NATIONAL,
            parent: None,
        },
        NodeSpec {
            name: "jiangsu".into(),
            jurisdiction: code("320000"),
            parent: Some(NATIONAL),
        },
        NodeSpec {
            name: "suzhou".into(),
            jurisdiction: code("320500"),
            parent: Some(JIANGSU),
        },
    ];
    let mut cluster = Cluster::start_with(
        &root,
        specs,
        vec![RecordKind::BLACK_LIST],
        Duration::from_secs(3600),
        |_| String::new(),
    )?;
    for i in 0..3 {
        cluster.stop_node(i, false);
    }
    // The hubs hold N records of Jiangsu's origin about Suzhou companies, plus d/2
    // each that the other lacks; the national hub also holds the query population.
    // `tally` counts the national hub's records per subject, for the query rows.
    let mut tally = SubjectTally::default();
    let (ingest_rate, bytes) = {
        let (dn, dj) = (
            cluster.nodes[NATIONAL].dir.join("data"),
            cluster.nodes[JIANGSU].dir.join("data"),
        );
        for dir in [&dn, &dj, &cluster.nodes[SUZHOU].dir.join("data")] {
            let _ = std::fs::remove_dir_all(dir);
        }
        let national = Store::open(&dn, Some(DivisionCode::NATIONAL))?;
        let jiangsu = Store::open(&dj, Some(code("320000")))?;
        let fill_started = Instant::now();
        let (rate, bytes) = fill(
            &[&jiangsu, &national],
            code("320000"),
            code("320500"),
            (n, 1),
            &mut tally,
        )?;
        // Newer at the hub: Zhejiang's records about Suzhou companies (they flow down);
        // newer at Jiangsu: its own (they flow up).
        fill(
            &[&national],
            code("330000"),
            code("320500"),
            (d / 2, 2),
            &mut tally,
        )?;
        fill(
            &[&jiangsu],
            code("320000"),
            code("320500"),
            (d - d / 2, 3),
            &mut SubjectTally::default(),
        )?;
        national.flush()?;
        jiangsu.flush()?;
        println!(
            "stores filled in {:.0} s (local ingest of received records: {rate:.0} records/s)",
            fill_started.elapsed().as_secs_f64()
        );
        (rate, bytes)
    };

    // End-to-end reconciliation: Jiangsu's first round after its start.
    cluster.start_node(NATIONAL)?;
    let national = cluster.admin(NATIONAL).await?;
    cluster.start_node(JIANGSU)?;
    let jiangsu = cluster.admin(JIANGSU).await?;
    let rec = wait_first_round(&jiangsu).await?;
    println!(
        "e2e reconcile: {} ms, {} records moved, {} bytes of reconciliation, {} messages",
        rec.elapsed_ms,
        rec.records_sent + rec.records_received,
        rec.sync_bytes,
        rec.sync_messages
    );
    summary.row(
        "e2e reconcile, 2 nodes, QUIC+mTLS",
        format!("N={n}, d={d}: {} ms", rec.elapsed_ms),
        "goal 1000 ms".into(),
        Some(rec.elapsed_ms as f64 / 1000.0),
        Some(rec.elapsed_ms < 1000),
    );

    // Idle rounds: nothing to do.
    let rounds = if args.quick { 10 } else { 30 };
    let (cpu_n, cpu_j) = (
        cpu_seconds(cluster.pid(NATIONAL)),
        cpu_seconds(cluster.pid(JIANGSU)),
    );
    let mut idle_bytes = 0;
    let started = Instant::now();
    for _ in 0..rounds {
        let s = reconcile_now(&jiangsu).await?;
        idle_bytes += s.bytes_sent + s.bytes_received;
    }
    let idle_ms = started.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
    let cpu_ms = (cpu_seconds(cluster.pid(NATIONAL)) - cpu_n + cpu_seconds(cluster.pid(JIANGSU))
        - cpu_j)
        * 1000.0
        / rounds as f64;
    println!("idle round: {} bytes both ways, {cpu_ms:.1} ms CPU (both nodes), {idle_ms:.1} ms wall per round asked through the admin API", idle_bytes / rounds);
    summary.row(
        "idle round (nothing to do)",
        format!("{} B, {cpu_ms:.1} ms CPU", idle_bytes / rounds),
        "-".into(),
        None,
        None,
    );

    // Bulk first sync: an empty Suzhou takes what Jiangsu holds about its companies.
    cluster.start_node(SUZHOU)?;
    let suzhou = cluster.admin(SUZHOU).await?;
    let bulk = wait_first_round(&suzhou).await?;
    let secs = bulk.elapsed_ms as f64 / 1000.0;
    let bulk_rate = bulk.records_received as f64 / secs.max(1e-9);
    let bulk_mbs = bulk.bytes_received as f64 / secs.max(1e-9) / 1e6;
    let certs = cluster.nodes[JIANGSU].dir.join("certs");
    let raw_bytes = bulk.bytes_received.max(bytes);
    let raw_mbs = raw_quic(&certs, raw_bytes, &LinkTuning::default()).await?;
    let raw_before = raw_quic(&certs, raw_bytes, &LinkTuning::rfc9002()).await?;
    println!(
        "bulk first sync: {} records in {secs:.1} s: {bulk_rate:.0} records/s, {bulk_mbs:.1} MB/s; raw QUIC stream {raw_mbs:.1} MB/s ({} by default; {raw_before:.1} MB/s with CUBIC and RFC 9002's loss detection); local ingest {ingest_rate:.0} records/s",
        bulk.records_received,
        LinkTuning::default().congestion,
    );
    summary.row(
        "bulk first sync province→empty city",
        format!("{bulk_rate:.0} rec/s, {bulk_mbs:.1} MB/s"),
        format!("ingest {ingest_rate:.0} rec/s; raw QUIC {raw_mbs:.0} MB/s"),
        Some(bulk_rate / ingest_rate),
        Some(bulk_rate / ingest_rate >= 0.7),
    );

    // Propagation: steady writes at Suzhou until stored at the national hub.
    let mut g = Generator::new(9, GeneratorConfig::for_count(code("320500"), writes))?;
    let subject = g.record(RecordKind::PENALTY).subject;
    let period = Duration::from_millis(20);
    let started = Instant::now();
    for i in 0..writes {
        let mut body: RecordBody = g.record(RecordKind::PENALTY);
        body.subject = subject.clone();
        body.other_ids.clear();
        body.status = credithub_protocol::record::RecordStatus::Active;
        body.decision_no.push_str(&format!("-p{i}"));
        call(
            &suzhou,
            &AdminRequest::Put {
                records: vec![(RecordKind::PENALTY, body)],
            },
        )
        .await?;
        let next = period * (i as u32 + 1);
        if let Some(wait) = next.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    let id = subject.id.unmasked();
    let deadline = Instant::now() + Duration::from_secs(600);
    let delays = loop {
        let req = AdminRequest::Query {
            subject: id.clone(),
            purpose: Some("benchmark".into()),
            audience: None,
            fresh: false,
        };
        if let AdminResponse::Answer(a) = call(&national, &req).await? {
            let mine: Vec<_> = a
                .records
                .iter()
                .filter(|r| r.origin == code("320500"))
                .collect();
            if mine.len() as u64 >= writes {
                let mut delays: Vec<f64> = mine
                    .iter()
                    .map(|r| r.arrived_ms.saturating_sub(r.version >> 16) as f64)
                    .collect();
                delays.sort_by(f64::total_cmp);
                break delays;
            }
        }
        if Instant::now() > deadline {
            bail!("writes did not reach the national hub within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (p50, p99) = (
        queries::percentile(&delays, 0.5),
        queries::percentile(&delays, 0.99),
    );
    println!(
        "propagation city → province → national: p50 {p50:.0} ms, p99 {p99:.0} ms over {} writes",
        delays.len()
    );
    summary.row(
        "propagation city→national (2 hops)",
        format!("p50 {p50:.0} ms, p99 {p99:.0} ms"),
        "goal p99 2000 ms".into(),
        Some(p99 / 2000.0),
        Some(p99 < 2000.0),
    );

    // The query population: Hangzhou's records up to `qn` in all, added to the
    // national hub's store while it is stopped (none of them is in Jiangsu's scope:
    // records about subjects registered outside Zhejiang are left out).
    if qn > n {
        national.close().await;
        cluster.stop_node(NATIONAL, false);
        let store = Store::open(&cluster.nodes[NATIONAL].dir.join("data"), None)?;
        let started = Instant::now();
        let mut added = 0u64;
        generate(code("330100"), code("330100"), qn - n, 4, |chunk| {
            let chunk: Vec<EncodedRecord> = chunk
                .into_iter()
                .filter(|(r, ..)| {
                    r.key
                        .subject_region()
                        .is_some_and(|d| code("330000").contains(d))
                })
                .map(|(r, subject, name)| {
                    tally.add(subject, name);
                    r
                })
                .collect();
            added += chunk.len() as u64;
            for batch in chunk.chunks(4_000) {
                store.apply_remote(batch.to_vec(), credithub_node::clock::now_millis())?;
            }
            Ok(())
        })?;
        store.flush()?;
        drop(store);
        println!(
            "query population: {added} more records at the national hub in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        cluster.start_node(NATIONAL)?;
    }
    let national = cluster.admin(NATIONAL).await?;

    // Subject queries at the national hub, 8 concurrent clients: subjects drawn
    // uniformly from everyone it holds records about, then the busiest subjects.
    let (ones, median, p99_count, max_count) = tally.shape();
    println!(
        "query population: {} subjects; records per subject: {:.0} % have one, median {median}, 99th percentile {p99_count}, most {max_count}",
        tally.subjects(),
        ones * 100.0
    );
    let window = Duration::from_secs(if args.quick { 3 } else { 10 });
    let node = &cluster.nodes[NATIONAL];
    let certs = node.dir.join("certs");
    // One draw of distinct subjects: the steady-state rows query the first third, the
    // row right after the load the rest, so that neither finds the other's blocks
    // cached.
    let drawn = tally.uniform(60_000, 5);
    let (uniform, cold_subjects) = drawn.split_at((drawn.len() / 3).min(20_000));
    let busiest = tally.busiest(20);
    // First right after the load, as an operator meets it after a bulk load: cold
    // caches, and RocksDB perhaps still compacting what was just written.
    let compacting = stats(&national).await?.busy_in_background();
    let cold_state = if compacting {
        "compacting, cold cache"
    } else {
        "cold cache, no compaction pending"
    };
    let cold = queries::run(&node.address, &certs, cold_subjects, 8, window).await?;
    println!(
        "subject queries right after the load ({cold_state}), 8 clients: {}; {} errors",
        cold.brief(),
        cold.errors
    );
    // Then in steady state: once compactions have finished, and after a warm-up.
    match wait_compactions_settled(&national, Duration::from_secs(600)).await? {
        Some(after) => println!(
            "compactions settled {:.0} s after the cold row",
            after.as_secs_f64()
        ),
        None => println!("compactions had not settled 600 s after the cold row; measuring anyway"),
    }
    queries::run(&node.address, &certs, uniform, 8, Duration::from_secs(2)).await?;
    // Latency against concurrency: the clients run on the same two cores as the node,
    // so past a few of them an answer mostly waits for a core.
    let mut fewer = Vec::new();
    for clients in [1, 4] {
        let f = queries::run(&node.address, &certs, uniform, clients, window).await?;
        println!(
            "subject queries over {qn} records, {clients} client(s), uniform subjects: {}; {} errors",
            f.brief(),
            f.errors
        );
        fewer.push((clients, f));
    }
    let u = queries::run(&node.address, &certs, uniform, 8, window).await?;
    let b = queries::run(&node.address, &certs, &busiest, 8, window).await?;
    let busiest_counts = format!(
        "{}–{}",
        busiest.last().map_or(0, |s| s.1),
        busiest.first().map_or(0, |s| s.1)
    );
    for (name, f) in [("uniform subjects", &u), ("busiest 20 subjects", &b)] {
        println!(
            "subject queries over {qn} records, 8 clients, {name}: {}; {:.1} records per answer (most {}); {} errors",
            f.brief(),
            f.mean_records,
            f.max_records,
            f.errors
        );
    }
    summary.row(
        "subject queries, 8 clients, uniform",
        format!("N={qn}: {}", u.brief()),
        format!("goal p99 2 ms; {:.1} records/answer", u.mean_records),
        Some(u.p99 / 2.0),
        Some(u.p99 < 2.0 && u.errors == 0),
    );
    for (clients, f) in &fewer {
        summary.row(
            &format!("subject queries, {clients} client(s), uniform"),
            f.brief(),
            "same subjects, same node".into(),
            None,
            None,
        );
    }
    summary.row(
        "subject queries, right after the load",
        cold.brief(),
        cold_state.into(),
        None,
        None,
    );
    summary.row(
        "subject queries, busiest 20 subjects",
        b.brief(),
        format!("{busiest_counts} records per answer"),
        None,
        None,
    );

    // Name searches at the national hub, 8 clients: fragments of two to four
    // characters from the names of a sample of its subjects.
    let fragments = tally.fragments(5_000, 7);
    queries::run_names(&node.address, &certs, &fragments, 8, Duration::from_secs(2)).await?;
    let s = queries::run_names(&node.address, &certs, &fragments, 8, window).await?;
    println!(
        "name searches over {qn} records, 8 clients, {} fragments: {}; {:.1} subjects per first page (most {}); {} errors",
        fragments.len(),
        s.brief(),
        s.mean_records,
        s.max_records,
        s.errors
    );
    summary.row(
        "name searches, 8 clients",
        format!("N={qn}: {}", s.brief()),
        format!("goal p99 20 ms; {:.1} subjects/page", s.mean_records),
        Some(s.p99 / 20.0),
        Some(s.p99 < 20.0 && s.errors == 0),
    );

    let mem: Vec<(String, f64)> = (0..3)
        .map(|i| (cluster.nodes[i].spec.name.clone(), peak_mib(cluster.pid(i))))
        .collect();
    let worst = mem.iter().map(|m| m.1).fold(0.0, f64::max);
    let text: Vec<String> = mem.iter().map(|(n, m)| format!("{n} {m:.0}")).collect();
    println!("peak resident memory (MiB): {}", text.join(", "));
    summary.row(
        "peak memory per node (all rows)",
        format!("{} MiB", text.join(", ")),
        "goal 300 MiB".into(),
        Some(worst / 300.0),
        Some(worst < 300.0),
    );
    for c in [national, jiangsu, suzhou] {
        c.close().await;
    }
    for i in (0..3).rev() {
        cluster.stop_node(i, false);
    }
    Ok(())
}
