//! `scenarios chaos <name>`: faults, bad links and hostile conditions against a real
//! federation of `credit-node` processes on loopback, each scenario with assertions.
//!
//! - [`kill`]: SIGKILL at random points of a bulk sync and of reconciliations;
//! - [`hub_down`]: a provincial hub down while its cities and the national hub write;
//! - [`lossy_link`]: a child–parent link through the [`relay`] with loss, jitter,
//!   reordering and duplicates, then partitions both ways and one way;
//! - [`full_disk`]: a node whose data directory fills up (needs root for `mount`);
//! - [`clock_skew`]: nodes whose clocks disagree by minutes, and an origin whose clock
//!   steps back.
//!
//! Every random choice comes from the scenario's `--seed`, so a failing run can be
//! replayed with the same command. Each scenario prints what happened and returns a
//! [`Report`]; the command exits non-zero when one of its checks failed.

pub mod clock_skew;
pub mod full_disk;
pub mod hub_down;
pub mod kill;
pub mod lossy_link;
pub mod relay;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Subcommand;
use credithub_node::admin::client::AdminClient;
use credithub_node::admin::{AdminRequest, AdminResponse};
use credithub_node::store::VerifyReport;
use credithub_node::Store;
use credithub_protocol::{DivisionCode, RecordBody, RecordKey, RecordKind};

use crate::federation::check::{self, NodeCheck};
use crate::federation::cluster::{call, Cluster, NodeSpec};

/// The fault scenarios.
#[derive(Debug, Clone, Subcommand)]
pub enum ChaosCommand {
    /// SIGKILL nodes at random points of a bulk sync (a city of 20 000 records into an
    /// empty province) and of reconciliations; everything converges, nothing is lost
    /// or duplicated, every store verifies.
    Kill(kill::KillArgs),
    /// A provincial hub down while its cities and the national hub keep writing;
    /// everything converges after it returns.
    HubDown(hub_down::HubDownArgs),
    /// A link with loss, reordering, duplicates and jitter (through a UDP relay), then
    /// partitioned both ways and one way: convergence within a stated bound.
    LossyLink(lossy_link::LossyLinkArgs),
    /// A node whose data directory is a small filesystem of its own fills up: writes
    /// are refused with a clear error, nothing is corrupted, it recovers (needs root).
    FullDisk(full_disk::FullDiskArgs),
    /// Nodes whose clocks disagree by minutes, and an origin whose clock steps back:
    /// no record version is lost or wrongly ordered.
    ClockSkew(clock_skew::ClockSkewArgs),
}

/// Runs one scenario.
pub async fn run(command: &ChaosCommand) -> anyhow::Result<Report> {
    match command {
        ChaosCommand::Kill(a) => kill::run(a).await,
        ChaosCommand::HubDown(a) => hub_down::run(a).await,
        ChaosCommand::LossyLink(a) => lossy_link::run(a).await,
        ChaosCommand::FullDisk(a) => full_disk::run(a).await,
        ChaosCommand::ClockSkew(a) => clock_skew::run(a).await,
    }
}

/// What a scenario checked and measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Its seed.
    pub seed: u64,
    /// Every check: what was checked, and whether it held.
    pub checks: Vec<(String, bool)>,
    /// Measured figures, by name.
    pub figures: Vec<(String, String)>,
    /// Why the scenario did not run, if it did not.
    pub skipped: Option<String>,
}

impl Report {
    /// A report for `scenario` run with `seed`.
    pub fn new(scenario: &str, seed: u64) -> Report {
        Report {
            scenario: scenario.to_string(),
            seed,
            ..Report::default()
        }
    }

    /// Records a check and prints it; returns `ok`.
    pub fn check(&mut self, ok: bool, what: impl Into<String>) -> bool {
        let what = what.into();
        if ok {
            println!("  ok      {what}");
        } else {
            println!("  FAILED  {what}");
        }
        self.checks.push((what, ok));
        ok
    }

    /// Records a measured figure and prints it.
    pub fn figure(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        println!("  figure  {name}: {value}");
        self.figures.push((name.to_string(), value));
    }

    /// A figure's value, by name (the last one recorded).
    pub fn figure_value(&self, name: &str) -> Option<&str> {
        self.figures
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Marks the scenario skipped, and why.
    pub fn skip(&mut self, why: impl Into<String>) {
        let why = why.into();
        println!("SKIPPED {}: {why}", self.scenario);
        self.skipped = Some(why);
    }

    /// The checks that failed.
    pub fn failures(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(w, _)| w.as_str())
            .collect()
    }

    /// Whether every check held (a skipped scenario passes nothing and fails nothing).
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// Prints the summary.
    pub fn print_summary(&self) {
        println!();
        if let Some(why) = &self.skipped {
            println!("chaos {}: SKIPPED ({why})", self.scenario);
            return;
        }
        let failed = self.failures();
        println!(
            "chaos {} --seed {}: {} of {} checks passed",
            self.scenario,
            self.seed,
            self.checks.len() - failed.len(),
            self.checks.len()
        );
        for f in &failed {
            println!("  FAILED: {f}");
        }
        if !self.figures.is_empty() {
            println!("figures:");
            for (n, v) in &self.figures {
                println!("  {n}: {v}");
            }
        }
    }
}

/// A node of a scenario's federation.
pub(crate) fn spec(name: &str, code: &str, parent: Option<usize>) -> NodeSpec {
    NodeSpec {
        name: name.into(),
        jurisdiction: division(code),
        parent,
    }
}

/// A division code the scenarios name (valid by construction).
pub(crate) fn division(code: &str) -> DivisionCode {
    DivisionCode::parse(code).unwrap_or(DivisionCode::NATIONAL)
}

/// Admin connections to every node, in order.
pub(crate) async fn connect_all(cluster: &Cluster) -> anyhow::Result<Vec<AdminClient>> {
    let mut clients = Vec::new();
    for i in 0..cluster.nodes.len() {
        clients.push(cluster.admin(i).await?);
    }
    Ok(clients)
}

/// Starts node `i` again and replaces its admin connection.
pub(crate) async fn restart(
    cluster: &mut Cluster,
    clients: &mut [AdminClient],
    i: usize,
) -> anyhow::Result<()> {
    cluster.start_node(i)?;
    clients[i] = cluster.admin(i).await?;
    Ok(())
}

/// Opens a stopped node's store and recomputes its indexes from its records.
pub(crate) fn verify_offline(node_dir: &Path) -> anyhow::Result<VerifyReport> {
    let store = Store::open(&node_dir.join("data"), None)?;
    Ok(store.verify(|_| {})?)
}

/// Counts of one write request.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Written {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// Writes records originating at the node (one request).
pub(crate) async fn put(
    client: &AdminClient,
    kind: RecordKind,
    bodies: &[RecordBody],
) -> anyhow::Result<Written> {
    let req = AdminRequest::Put {
        records: bodies.iter().map(|b| (kind, b.clone())).collect(),
    };
    written(call(client, &req).await?)
}

/// Deletes records originating at the node (one request).
pub(crate) async fn delete(client: &AdminClient, keys: &[RecordKey]) -> anyhow::Result<Written> {
    written(
        call(
            client,
            &AdminRequest::Delete {
                keys: keys.to_vec(),
            },
        )
        .await?,
    )
}

fn written(answer: AdminResponse) -> anyhow::Result<Written> {
    match answer {
        AdminResponse::Written {
            inserted,
            updated,
            unchanged,
        } => Ok(Written {
            inserted,
            updated,
            unchanged,
        }),
        other => bail!("unexpected answer {other:?}"),
    }
}

/// Waits until every node holds exactly what it should; prints the table when it
/// does not.
pub(crate) async fn converge(
    cluster: &Cluster,
    clients: &[AdminClient],
    timeout: Duration,
) -> anyhow::Result<(Vec<NodeCheck>, Duration, bool)> {
    let (checks, took, ok) = check::converge(cluster, clients, timeout).await?;
    if !ok {
        check::print(&checks);
    }
    Ok((checks, took, ok))
}

/// The version of a record as stored at a node (none when not held).
pub(crate) async fn version_at(
    client: &AdminClient,
    key: RecordKey,
) -> anyhow::Result<Option<(credithub_protocol::Version, Vec<u8>)>> {
    let bytes = crate::federation::cluster::get(client, key).await?;
    match bytes {
        None => Ok(None),
        Some(b) => {
            let header = credithub_protocol::codec::read_header(&b)?;
            Ok(Some((header.version, b)))
        }
    }
}

/// One metric's value summed over the series whose labels contain every `labels`
/// text (`peer="suzhou"`), from a node's `/metrics`.
pub(crate) async fn metric(address: &str, name: &str, labels: &[&str]) -> anyhow::Result<f64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(address),
    )
    .await??;
    s.write_all(
        format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut text)).await??;
    let mut sum = 0.0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        if labels.iter().all(|l| rest.contains(l)) {
            if let Some(v) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
                sum += v;
            }
        }
    }
    Ok(sum)
}

/// Polls `probe` until it answers true or `timeout` passes; returns whether it did and
/// how long it took.
pub(crate) async fn wait_for<F, Fut>(timeout: Duration, mut probe: F) -> (bool, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if probe().await {
            return (true, started.elapsed());
        }
        if started.elapsed() > timeout {
            return (false, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Stops every node cleanly and verifies every store offline.
pub(crate) fn stop_and_verify_all(cluster: &mut Cluster, report: &mut Report) {
    for i in (0..cluster.nodes.len()).rev() {
        cluster.stop_node(i, false);
    }
    for n in &cluster.nodes {
        match verify_offline(&n.dir) {
            Ok(v) => report.check(
                v.is_clean(),
                format!(
                    "{}'s store verifies after a clean stop ({} record versions, {} problems{})",
                    n.spec.name,
                    v.records,
                    v.problem_count,
                    v.problems
                        .first()
                        .map(|p| format!(", first: {p}"))
                        .unwrap_or_default()
                ),
            ),
            Err(e) => report.check(false, format!("{}'s store opens: {e:#}", n.spec.name)),
        };
    }
}

/// Milliseconds and seconds, for figures.
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
