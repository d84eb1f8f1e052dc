//! The query rows of `bench federation`: subject lookups over the admin API by
//! concurrent clients, for subjects drawn uniformly from everyone the node holds
//! records about, and separately for the busiest subjects; and name searches by
//! fragments of sampled subjects' names.
//!
//! The benchmark counts, while it generates the data, how many records each subject
//! gets ([`SubjectTally`]); the uniform row draws its subjects from that whole
//! population (every subject equally likely, whatever its number of records), and the
//! busiest row queries the subjects with the most records. Each row says how many
//! records its answers held, so a figure is never read without the answer size behind
//! it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credithub_node::admin::client::AdminClient;
use credithub_node::admin::{AdminRequest, AdminResponse};
use credithub_protocol::SubjectId;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// How many records each subject has at the node.
#[derive(Debug, Default)]
pub struct SubjectTally {
    counts: HashMap<SubjectId, u32>,
    /// A sample of the subjects' names.
    names: Vec<String>,
}

impl SubjectTally {
    /// Counts one more record about `subject`, keeping its name when given (a sample).
    pub fn add(&mut self, subject: SubjectId, name: Option<String>) {
        *self.counts.entry(subject).or_default() += 1;
        if let Some(name) = name {
            self.names.push(name);
        }
    }

    /// `k` fragments of the sampled names (two to four characters from a random
    /// place in a name, none made of pairs the index leaves out), deterministic for a
    /// seed: what a person types to find a company.
    pub fn fragments(&self, k: usize, seed: u64) -> Vec<String> {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(k);
        for _ in 0..k.saturating_mul(4) {
            if out.len() == k || self.names.is_empty() {
                break;
            }
            let name: Vec<char> = credithub_protocol::names::normalise(
                &self.names[rng.gen_range(0..self.names.len())],
            )
            .chars()
            .collect();
            let len = rng.gen_range(2..=4usize).min(name.len());
            if len < 2 {
                continue;
            }
            let start = rng.gen_range(0..=name.len() - len);
            let fragment: String = name[start..start + len].iter().collect();
            if !credithub_protocol::names::pairs(&fragment).is_empty() {
                out.push(fragment);
            }
        }
        out
    }

    /// Distinct subjects.
    pub fn subjects(&self) -> usize {
        self.counts.len()
    }

    /// `k` subjects drawn uniformly (without replacement) from every subject, with
    /// their record counts; deterministic for a seed.
    pub fn uniform(&self, k: usize, seed: u64) -> Vec<(SubjectId, u32)> {
        let mut all: Vec<(SubjectId, u32)> = self.counts.iter().map(|(s, c)| (*s, *c)).collect();
        all.sort_unstable();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (picked, _) = all.partial_shuffle(&mut rng, k);
        picked.to_vec()
    }

    /// The `k` subjects with the most records, busiest first.
    pub fn busiest(&self, k: usize) -> Vec<(SubjectId, u32)> {
        let mut all: Vec<(SubjectId, u32)> = self.counts.iter().map(|(s, c)| (*s, *c)).collect();
        all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }

    /// The shape of the distribution: share of subjects with one record, the median
    /// and the 99th percentile of records per subject, and the maximum.
    pub fn shape(&self) -> (f64, u32, u32, u32) {
        let mut c: Vec<u32> = self.counts.values().copied().collect();
        if c.is_empty() {
            return (0.0, 0, 0, 0);
        }
        c.sort_unstable();
        let ones = c.iter().take_while(|&&x| x == 1).count() as f64 / c.len() as f64;
        let at = |p: f64| c[((c.len() - 1) as f64 * p).round() as usize];
        (ones, at(0.5), at(0.99), c[c.len() - 1])
    }
}

/// What one query row measured.
#[derive(Debug, Default)]
pub struct QueryFigures {
    /// Answers per second, all clients together.
    pub per_second: f64,
    /// Median latency (ms).
    pub p50: f64,
    /// 99th-percentile latency (ms).
    pub p99: f64,
    /// Requests that failed.
    pub errors: usize,
    /// Mean records per answer.
    pub mean_records: f64,
    /// Most records in one answer.
    pub max_records: usize,
}

impl QueryFigures {
    /// Throughput and latency in one phrase: "N/s, p50 X ms, p99 Y ms".
    pub fn brief(&self) -> String {
        format!(
            "{:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
            self.per_second, self.p50, self.p99
        )
    }
}

/// Latency quantile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

/// Runs `clients` admin clients for `window`, each querying the subjects in turn
/// (client `c` starts at subject `c`), every one connection kept open.
pub async fn run(
    address: &str,
    certs: &Path,
    subjects: &[(SubjectId, u32)],
    clients: usize,
    window: Duration,
) -> anyhow::Result<QueryFigures> {
    // A purpose is stated for every query: natural persons need one, and their
    // queries write the audit log like any real query.
    let requests = subjects
        .iter()
        .map(|s| AdminRequest::Query {
            subject: s.0.unmasked(),
            purpose: Some("benchmark".into()),
            audience: None,
            fresh: false,
        })
        .collect();
    run_requests(address, certs, requests, clients, window, |a| match a {
        AdminResponse::Answer(a) => Some(a.records.len()),
        _ => None,
    })
    .await
}

/// Runs `clients` admin clients for `window`, each searching the name fragments in
/// turn; the answer size is the subjects found on the first page.
pub async fn run_names(
    address: &str,
    certs: &Path,
    fragments: &[String],
    clients: usize,
    window: Duration,
) -> anyhow::Result<QueryFigures> {
    let requests = fragments
        .iter()
        .map(|f| AdminRequest::Search {
            name: f.clone(),
            audience: None,
            page: 1,
            per_page: 20,
        })
        .collect();
    run_requests(address, certs, requests, clients, window, |a| match a {
        AdminResponse::Found(a) => Some(a.hits.len()),
        _ => None,
    })
    .await
}

/// Runs `clients` admin clients for `window`, each sending the requests in turn
/// (client `c` starts at request `c`), every one connection kept open; `size` reads
/// an answer's size, `None` for an answer that is not the one expected.
async fn run_requests(
    address: &str,
    certs: &Path,
    requests: Vec<AdminRequest>,
    clients: usize,
    window: Duration,
    size: fn(&AdminResponse) -> Option<usize>,
) -> anyhow::Result<QueryFigures> {
    anyhow::ensure!(!requests.is_empty(), "nothing to ask");
    let requests = Arc::new(requests);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let client =
            AdminClient::connect(address, certs, crate::federation::cluster::ADMIN).await?;
        let requests = requests.clone();
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let (mut errors, mut records, mut max) = (0usize, 0usize, 0usize);
            let started = Instant::now();
            let mut i = c;
            while started.elapsed() < window {
                let t = Instant::now();
                match client
                    .call(&requests[i % requests.len()])
                    .await
                    .ok()
                    .as_ref()
                    .and_then(size)
                {
                    Some(n) => {
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        records += n;
                        max = max.max(n);
                    }
                    None => errors += 1,
                }
                i += clients;
            }
            client.close().await;
            (lat, errors, records, max)
        });
    }
    let mut lat = Vec::new();
    let mut f = QueryFigures::default();
    let mut records = 0;
    while let Some(r) = tasks.join_next().await {
        let (l, e, n, m) = r?;
        lat.extend(l);
        f.errors += e;
        records += n;
        f.max_records = f.max_records.max(m);
    }
    lat.sort_by(f64::total_cmp);
    f.per_second = lat.len() as f64 / window.as_secs_f64();
    f.p50 = percentile(&lat, 0.5);
    f.p99 = percentile(&lat, 0.99);
    f.mean_records = records as f64 / lat.len().max(1) as f64;
    Ok(f)
}
