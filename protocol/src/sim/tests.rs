//! Thousands of seeds of the whole federation, and proof that the checker fails when
//! the protocol is broken.

use std::collections::BTreeMap;

use super::check::{MESSAGE_BOUND, ROUND_BOUND};
use super::*;

/// What a sweep of seeds measured.
#[derive(Debug, Default)]
struct Sweep {
    seeds: u64,
    rounds: BTreeMap<u32, u64>,
    max_messages: u32,
    reconciliations: u64,
    aborted: u64,
    duplicates: u64,
    crashes: u64,
    stale_duplicates: u64,
    parts: check::PartCounts,
}

/// Runs `seeds` of the named configuration; panics with the first failing seed.
fn sweep(config: &str, seeds: std::ops::Range<u64>) -> Sweep {
    let cfg = Config::named(config).expect("known configuration");
    let mut s = Sweep::default();
    for seed in seeds {
        let r = run(seed, &cfg).unwrap_or_else(|f| panic!("{f}"));
        s.seeds += 1;
        *s.rounds.entry(r.rounds).or_default() += 1;
        s.max_messages = s.max_messages.max(r.max_messages);
        s.reconciliations += r.reconciliations;
        let p = &mut s.parts;
        p.roots += r.parts.roots;
        p.children += r.parts.children;
        p.items += r.parts.items;
        p.fragments += r.parts.fragments;
        p.estimates += r.parts.estimates;
        p.sketches += r.parts.sketches;
        p.ranges += r.parts.ranges;
        s.aborted += r.sessions.aborted;
        s.duplicates += r.injected.duplicated;
        s.crashes += r.injected.crashes;
        s.stale_duplicates += r
            .receipts
            .refused_duplicates
            .get(&crate::link::Refusal::Stale)
            .copied()
            .unwrap_or(0);
    }
    eprintln!("sim {config}: {s:?}");
    assert!(s.rounds.keys().all(|&r| r <= ROUND_BOUND));
    assert!(s.max_messages <= MESSAGE_BOUND);
    s
}

#[test]
fn default_workload_converges_on_every_seed() {
    let s = sweep("default", 0..600);
    // The faults did happen, and every path of the reconciliation was taken.
    assert!(s.aborted > 0 && s.duplicates > 0 && s.crashes > 0, "{s:?}");
    let p = s.parts;
    assert!(
        [
            p.children,
            p.items,
            p.fragments,
            p.estimates,
            p.sketches,
            p.ranges
        ]
        .iter()
        .all(|&n| n > 0),
        "{p:?}"
    );
}

#[test]
fn lossy_network_converges_on_every_seed() {
    let s = sweep("lossy", 10_000..10_500);
    assert!(s.aborted > s.seeds, "{s:?}");
}

#[test]
fn duplicate_frames_are_harmless_on_every_seed() {
    let s = sweep("duplicates", 20_000..20_500);
    // Copies arrived, some of them stale, and each was refused or unchanged.
    assert!(s.duplicates > s.seeds && s.stale_duplicates > 0, "{s:?}");
}

#[test]
fn broken_bulk_transfers_resume_on_every_seed() {
    sweep("bulk", 30_000..30_400);
}

/// Replays one seed: `CREDITHUB_SIM_SEED=N [CREDITHUB_SIM_CONFIG=name] cargo test
/// --workspace --lib sim::tests::replay_seed -- --nocapture` (seed 0 of `default`
/// without them).
#[test]
fn replay_seed() {
    let seed = std::env::var("CREDITHUB_SIM_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let config = std::env::var("CREDITHUB_SIM_CONFIG").unwrap_or_else(|_| "default".into());
    match replay(seed, &config) {
        Ok(report) => eprintln!("{report:?}"),
        Err(f) => panic!("{f}"),
    }
}

#[test]
fn a_seed_replays_exactly() {
    let cfg = Config::default();
    for seed in [1, 77, 4242] {
        let a = run(seed, &cfg).expect("honest run");
        let b = run(seed, &cfg).expect("honest run");
        assert_eq!(a, b);
    }
}

/// Runs seeds of a buggy configuration until one fails; returns its violations.
fn caught(bug: Bug, config: &str) -> Vec<String> {
    let cfg = Config {
        bug: Some(bug),
        ..Config::named(config).expect("known configuration")
    };
    for seed in 0..200 {
        if let Err(f) = run(seed, &cfg) {
            eprintln!("{bug:?} caught: {f}");
            assert_eq!(f.seed, seed);
            return f.violations;
        }
    }
    panic!("{bug:?} went unnoticed in 200 seeds");
}

#[test]
fn a_scope_that_forgets_subjects_partitions_is_caught() {
    let v = caught(Bug::ForgetSubjectsScope, "default");
    assert!(v.iter().any(|v| v.contains(" lacks ")), "{v:?}");
}

#[test]
fn a_store_that_skips_subjects_partitions_is_caught() {
    let v = caught(Bug::SkipSubjectsIndex, "default");
    assert!(v.iter().any(|v| v.contains(" lacks ")), "{v:?}");
}

#[test]
fn a_store_that_accepts_stale_versions_is_caught() {
    let v = caught(Bug::AcceptStale, "duplicates");
    assert!(v.iter().any(|v| v.contains(" regressed ")), "{v:?}");
}

#[test]
fn a_child_checking_without_its_subscriptions_is_caught() {
    // The parent compares partitions the child does not: the child's reconciliation
    // refuses them, and what it subscribes to never comes down.
    let v = caught(Bug::ChildIgnoresSubscriptions, "default");
    assert!(
        v.iter()
            .any(|v| v.contains("outside this link's scope") || v.contains(" lacks ")),
        "{v:?}"
    );
}
