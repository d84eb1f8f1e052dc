//! Deterministic simulation of a whole federation's synchronisation in one process.
//!
//! # The model
//!
//! Seven nodes — the national hub (000000); Jiangsu (320000) and Zhejiang (330000);
//! Suzhou, Nanjing, Hangzhou and Ningbo — each with its subscriptions and an
//! in-memory store ([`model::SimNode`]) that keeps every record's encoded version
//! (key, version, digest, body bytes) and indexes it, like the real store, in its
//! origin partition and, when `key.subjects_partition()` names one, in that subjects
//! partition too, in a [`MemIndex`](crate::sync::MemIndex). A received version is
//! stored under the store's rules: its digest must match its bytes, a stale version
//! or an equal version with other content is refused, an equal one is unchanged.
//!
//! A session on a child's link ([`session::LinkRun`]) runs the shipped
//! [`Session`](crate::session::Session) on both sides, the code a node runs: the
//! child starts the reconciliation with `LinkScope::covers` as its filter, each side
//! plans its wants and sends from its outcome and the scope, reads what it sends
//! from its store at the moment of sending, judges what it receives, and each
//! direction ends with a count that the receiver checks. The simulated nodes
//! ([`model::NodeCell`]) implement [`RecordSource`](crate::session::RecordSource) as
//! a real store does. Control frames cross encoded; record frames cross as values
//! (encoding record bytes one by one would take most of a debug run's time; the
//! link's own tests cover that form), at most a few frames in flight per direction.

//! The scheduler ([`scheduler`]) runs a busy phase of random local writes at every
//! node (new records about local subjects and subjects elsewhere, of four kinds;
//! updates of the same natural key with a new body; tombstones) interleaved with
//! sessions on all links, one delivery at a time in random order, so that sessions of
//! different links and local writes interleave. The network ([`network`]), seeded by
//! one `u64`, loses messages and frames (the session breaks there; frames already
//! applied stay applied), delivers record frames twice (at once, later in the same
//! stream, or as a stray copy in a later session on the same link, which makes stale
//! versions arrive), and crashes nodes (their sessions break, their stores keep
//! everything applied; they restart later). Each seed also draws the frame sizes and
//! the reconcilers' `list_threshold` and `sketch_from`, small ones half the time, so
//! that small stores take every path of the reconciliation (descents, listings,
//! decoded fragments, estimates and sketches, ranges). A quiet phase then runs
//! fault-free rounds, one session per link each (all interleaved), until
//! convergence, and one idle round more.
//!
//! # The invariants ([`check`])
//!
//! 1. At the end every node holds exactly what it should, at the latest version:
//!    everything at the national hub; elsewhere what `LinkScope::holds` says for the
//!    node's jurisdiction and subscriptions. Each index equals one rebuilt from its
//!    records.
//! 2. No node's version of a record ever regresses, and no node ever holds a record
//!    it is not entitled to (checked on every write and apply).
//! 3. Nothing is refused in an honest run; only stale copies in injected duplicate
//!    frames are (and the receiver's count check then fails that session).
//! 4. The quiet phase converges within [`check::ROUND_BOUND`] rounds, and the idle
//!    round after it costs every link two messages and moves nothing.
//! 5. Every reconciliation that runs to its end takes at most
//!    [`check::MESSAGE_BOUND`] messages.
//!
//! # What it does not model
//!
//! Time (timers, periods, debounce, backoff: the scheduler decides when sessions
//! run), the open/accepted handshake, reports and the status tree, diff sessions,
//! certificates (every peer is honest unless a [`Bug`] is injected), corrupt or
//! forged bytes (the receiver runs the store's content checks, but no peer forges),
//! partial frames (a frame is applied whole or not at all, as the store
//! does), a crash losing data, a node restored from an old backup, concurrent
//! sessions on one link, message reordering inside one stream (QUIC keeps order;
//! only injected duplicates arrive late), large partitions (stores hold tens to a
//! few hundred records; large-partition paths run through small limits instead),
//! kinds other than penalties, licences, black lists and dishonest debtors, and
//! subscriptions of a city that its province lacks.

pub(crate) mod check;
pub(crate) mod model;
pub(crate) mod network;
pub(crate) mod scheduler;
pub(crate) mod session;

pub(crate) use network::Faults;

use std::fmt;

/// A deliberate bug, to show that the checker catches what it should.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bug {
    /// Both sides' scope forgets the subjects partitions: records about a city's
    /// subjects issued elsewhere never come down unless subscribed.
    ForgetSubjectsScope,
    /// The store indexes records in their origin partition only.
    SkipSubjectsIndex,
    /// The store accepts a version older than the one it holds.
    AcceptStale,
    /// The child computes its side of the link's scope without its subscriptions (so
    /// it compares, asks for and accepts less than the parent offers).
    ChildIgnoresSubscriptions,
}

/// The workload and faults of a run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    /// The name [`Config::named`] knows it by (printed with a failing seed).
    pub name: &'static str,
    /// Each node starts with up to this many records of its own.
    pub initial: usize,
    /// Local writes during the busy phase.
    pub writes: usize,
    /// The chance that a write is a new record rather than an update or a
    /// tombstone of one of the node's records.
    pub new_records: f64,
    /// Scheduler steps of the busy phase.
    pub steps: usize,
    /// Per step with an idle link: the chance of opening a session on one.
    pub session_start: f64,
    /// Faults during the busy phase.
    pub faults: Faults,
    /// An injected bug, or none for an honest run.
    pub bug: Option<Bug>,
}

impl Config {
    /// The configurations the tests sweep, by name: `default` (a small workload with
    /// every fault), `lossy` (many losses and crashes), `duplicates` (many duplicate
    /// frames and updates), `bulk` (larger stores before the run, few writes: bulk transfers
    /// broken and resumed).
    pub(crate) fn named(name: &str) -> Option<Config> {
        let base = Config::default();
        Some(match name {
            "default" => base,
            "lossy" => Config {
                name: "lossy",
                faults: Faults {
                    loss: 0.08,
                    duplicate: 0.02,
                    crash: 0.02,
                },
                ..base
            },
            "duplicates" => Config {
                name: "duplicates",
                // Updates make old copies stale, which the store must refuse.
                new_records: 0.3,
                faults: Faults {
                    loss: 0.01,
                    duplicate: 0.4,
                    crash: 0.002,
                },
                ..base
            },
            "bulk" => Config {
                name: "bulk",
                initial: 24,
                writes: 8,
                steps: 200,
                ..base
            },
            _ => return None,
        })
    }
}

impl Default for Config {
    /// A small workload with every fault.
    fn default() -> Config {
        Config {
            name: "default",
            initial: 4,
            writes: 20,
            new_records: 0.6,
            steps: 260,
            session_start: 0.1,
            faults: Faults {
                loss: 0.02,
                duplicate: 0.05,
                crash: 0.005,
            },
            bug: None,
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Report {
    /// The seed.
    pub seed: u64,
    /// Distinct records written.
    pub records: usize,
    /// Quiet rounds until convergence.
    pub rounds: u32,
    /// The most messages one reconciliation took.
    pub max_messages: u32,
    /// Reconciliations that ran to their end.
    pub reconciliations: u64,
    /// What their messages carried.
    pub parts: check::PartCounts,
    /// Sessions by how they ended.
    pub sessions: scheduler::SessionCounts,
    /// Faults injected.
    pub injected: network::Injected,
    /// What became of received versions.
    pub receipts: check::Receipts,
}

/// A run that broke an invariant.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// The seed, to replay it.
    pub seed: u64,
    /// The configuration's name.
    pub config: &'static str,
    /// The injected bug, if any (a replay must inject it too).
    pub bug: Option<Bug>,
    /// The first violations, in order.
    pub violations: Vec<String>,
    /// What the run did.
    pub report: Report,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (seed, config) = (self.seed, self.config);
        match self.bug {
            None => writeln!(
                f,
                "seed {seed} of config {config:?} broke the invariants (replay: \
                 CREDITHUB_SIM_SEED={seed} CREDITHUB_SIM_CONFIG={config} \
                 cargo test --workspace --lib sim::tests::replay_seed -- --nocapture):"
            )?,
            Some(bug) => writeln!(
                f,
                "seed {seed} of config {config:?} with the injected bug {bug:?} broke the \
                 invariants (replay: sim::run({seed}, &Config {{ bug: Some(Bug::{bug:?}), \
                 ..Config::named({config:?}).unwrap() }})):"
            )?,
        }
        for v in &self.violations {
            writeln!(f, "  {v}")?;
        }
        write!(f, "  {:?}", self.report)
    }
}

/// Runs one seed of `config`: the same seed always does exactly the same.
pub(crate) fn run(seed: u64, config: &Config) -> Result<Report, Box<Failure>> {
    scheduler::run(seed, config)
}

/// Runs one seed of a named configuration (see [`Config::named`]), as a failing
/// test printed it.
pub(crate) fn replay(seed: u64, config: &str) -> Result<Report, Box<Failure>> {
    let config = Config::named(config).unwrap_or_default();
    run(seed, &config)
}

#[cfg(test)]
mod tests;
