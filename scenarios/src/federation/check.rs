//! Convergence checks: does every node hold exactly what it should?
//!
//! The national hub holds everything, so it is the reference: for every other node
//! it computes, from its own records, the digest of what that node should hold (its
//! own origins, its subscriptions, and what is about its subjects) and a sample of
//! keys; the node computes the same over its records and must also hold nothing else.
//! For the upward flow, each node's own-origin records must equal what the national
//! hub holds of those origins.

use std::time::{Duration, Instant};

use credithub_node::admin::client::AdminClient;

use super::cluster::{get, holdings, status, Cluster};

/// The check of one node.
#[derive(Debug, Clone)]
pub struct NodeCheck {
    /// The node's name.
    pub name: String,
    /// Its jurisdiction.
    pub jurisdiction: String,
    /// Record versions it holds.
    pub held: u64,
    /// Record versions it should hold (per the national hub).
    pub expected: u64,
    /// Whether the digests of held and expected are equal and it holds nothing else.
    pub digest_match: bool,
    /// Whether its own origins' records equal the national hub's copy.
    pub up_match: bool,
    /// Sampled records compared byte for byte, and how many matched.
    pub sampled: (usize, usize),
}

impl NodeCheck {
    /// Whether everything matched.
    pub fn ok(&self) -> bool {
        self.digest_match && self.up_match && self.sampled.0 == self.sampled.1
    }
}

/// Checks every node against the national hub (node 0).
pub async fn check(cluster: &Cluster, clients: &[AdminClient]) -> anyhow::Result<Vec<NodeCheck>> {
    let subs = &cluster.subscriptions;
    let national = &clients[0];
    let mut out = Vec::new();
    let st = status(national).await?;
    out.push(NodeCheck {
        name: st.report.name,
        jurisdiction: st.report.jurisdiction.to_string(),
        held: st.report.records,
        expected: st.report.records,
        digest_match: true,
        up_match: true,
        sampled: (0, 0),
    });
    for (i, client) in clients.iter().enumerate().skip(1) {
        let j = cluster.nodes[i].spec.jurisdiction;
        let want = holdings(national, j, subs, false, 16).await?;
        let have = holdings(client, j, subs, false, 0).await?;
        let st = status(client).await?;
        let up_national = holdings(national, j, subs, true, 0).await?;
        let up_local = holdings(client, j, subs, true, 0).await?;
        let mut matched = 0;
        for key in &want.sample {
            if get(national, *key).await? == get(client, *key).await? {
                matched += 1;
            }
        }
        out.push(NodeCheck {
            name: st.report.name,
            jurisdiction: st.report.jurisdiction.to_string(),
            held: st.report.records,
            expected: want.count,
            digest_match: want
                == credithub_node::admin::Holdings {
                    sample: want.sample.clone(),
                    ..have.clone()
                }
                && have.count == st.report.records,
            up_match: up_national.count == up_local.count
                && up_national.fingerprint == up_local.fingerprint,
            sampled: (want.sample.len(), matched),
        });
    }
    Ok(out)
}

/// Polls [`check`] until every node matches or `timeout` passes; returns the last
/// checks and the time it took.
pub async fn converge(
    cluster: &Cluster,
    clients: &[AdminClient],
    timeout: Duration,
) -> anyhow::Result<(Vec<NodeCheck>, Duration, bool)> {
    let started = Instant::now();
    loop {
        let checks = check(cluster, clients).await?;
        if checks.iter().all(NodeCheck::ok) {
            return Ok((checks, started.elapsed(), true));
        }
        if started.elapsed() > timeout {
            return Ok((checks, started.elapsed(), false));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Prints the checks as a table.
pub fn print(checks: &[NodeCheck]) {
    println!(
        "{:<10} {:<8} {:>9} {:>9} {:>7} {:>7} {:>8}",
        "NODE", "JURIS", "HELD", "EXPECTED", "DIGEST", "UP", "SAMPLE"
    );
    for c in checks {
        println!(
            "{:<10} {:<8} {:>9} {:>9} {:>7} {:>7} {:>8}",
            c.name,
            c.jurisdiction,
            c.held,
            c.expected,
            if c.digest_match { "ok" } else { "DIFFERS" },
            if c.up_match { "ok" } else { "DIFFERS" },
            format!("{}/{}", c.sampled.1, c.sampled.0)
        );
    }
}
