//! The chaos scenarios (`scenarios chaos …`), small: a few SIGKILLs during a bulk
//! sync and during reconciliation, a provincial hub down while everyone writes, a
//! lossy and partitioned link through the UDP relay, clocks minutes apart with origins
//! stepping back, and — where this runs as root and may mount a tmpfs — a full disk.
//!
//! Each scenario checks its own assertions (convergence against the national hub,
//! counts of keys written, offline verification of every store, …); these tests fail
//! when any of them fails and check a few figures besides. Nothing here asserts a
//! duration: every wait has a generous timeout.

use credithub_scenarios::chaos::{clock_skew, full_disk, hub_down, kill, lossy_link, Report};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn assert_passed(report: &Report) {
    assert!(
        report.skipped.is_none(),
        "{} was skipped: {:?}",
        report.scenario,
        report.skipped
    );
    assert!(
        !report.checks.is_empty(),
        "{} checked nothing",
        report.scenario
    );
    assert!(
        report.passed(),
        "chaos {} --seed {} failed: {:#?}",
        report.scenario,
        report.seed,
        report.failures()
    );
}

fn checks_matching(report: &Report, text: &str) -> usize {
    report
        .checks
        .iter()
        .filter(|(what, ok)| *ok && what.contains(text))
        .count()
}

#[test]
fn a_node_killed_at_random_points_of_a_bulk_sync_and_of_reconciliation_loses_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let args = kill::KillArgs {
        seed: 7,
        iterations: 2,
        records: 3000,
        dir: dir.path().join("kill"),
        timeout: 180,
    };
    let report = runtime()
        .block_on(kill::run(&args))
        .expect("the scenario runs");
    assert_passed(&report);
    // Two kills per iteration, each followed by an offline verify of the killed store
    // and a convergence; every store verifies after a clean stop at the end.
    assert_eq!(checks_matching(&report, "killed mid-transfer, verifies"), 2);
    assert_eq!(checks_matching(&report, "into the writes, verifies"), 2);
    assert_eq!(checks_matching(&report, "verifies after a clean stop"), 4);
    assert_eq!(checks_matching(&report, "the transfer resumes"), 2);
    assert!(report.figure_value("keys written").is_some());
}

#[test]
fn a_provincial_hub_down_while_everyone_writes_catches_up_when_it_returns() {
    let dir = tempfile::tempdir().expect("tmp");
    let args = hub_down::HubDownArgs {
        seed: 3,
        iterations: 1,
        down_secs: 10,
        records: 300,
        dir: dir.path().join("hub-down"),
        timeout: 180,
    };
    let report = runtime()
        .block_on(hub_down::run(&args))
        .expect("the scenario runs");
    assert_passed(&report);
    assert_eq!(checks_matching(&report, "report their parent link down"), 1);
    assert_eq!(
        checks_matching(&report, "converge with the national hub meanwhile"),
        1
    );
    assert_eq!(checks_matching(&report, "verifies after a clean stop"), 6);
}

#[test]
fn a_lossy_then_partitioned_link_converges_within_its_bounds() {
    let dir = tempfile::tempdir().expect("tmp");
    let args = lossy_link::LossyLinkArgs {
        seed: 5,
        iterations: 0,
        records: 150,
        loss: 0.2,
        jitter_ms: 100,
        reorder: 0.05,
        duplicate: 0.01,
        partition_secs: 2,
        bound_secs: 240,
        bound_rounds: 200,
        dir: dir.path().join("lossy"),
    };
    let report = runtime()
        .block_on(lossy_link::run(&args))
        .expect("the scenario runs");
    assert_passed(&report);
    for phase in [
        "bulk transfer",
        "partition both ways",
        "partition of the way up",
        "partition of the way down",
    ] {
        assert!(
            report.figure_value(phase).is_some(),
            "{phase} measured: {:?}",
            report.figures
        );
    }
    assert_eq!(checks_matching(&report, "the relay dropped datagrams"), 1);
}

#[test]
fn clocks_minutes_apart_and_stepping_back_never_reorder_a_records_versions() {
    let dir = tempfile::tempdir().expect("tmp");
    let args = clock_skew::ClockSkewArgs {
        seed: 11,
        iterations: 3,
        skew_mins: 7,
        step_back_mins: 30,
        dir: dir.path().join("skew"),
        timeout: 180,
    };
    let report = runtime()
        .block_on(clock_skew::run(&args))
        .expect("the scenario runs");
    assert_passed(&report);
    // Revisions 2 and 3 follow a step back (Suzhou's clock, then the national hub's).
    assert_eq!(checks_matching(&report, "adds one to the counter"), 2);
    assert_eq!(checks_matching(&report, "0 regressions"), 1);
    assert_eq!(checks_matching(&report, "tombstone replaces the record"), 1);
}

#[test]
fn a_full_disk_refuses_writes_clearly_corrupts_nothing_and_recovers() {
    if let Some(why) = full_disk::cannot_run() {
        println!("SKIPPED the full-disk scenario: {why}");
        eprintln!("SKIPPED the full-disk scenario: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let args = full_disk::FullDiskArgs {
        seed: 2,
        iterations: 2,
        size_mb: 64,
        leave_mb: 6,
        dir: dir.path().join("full"),
        timeout: 120,
    };
    let report = runtime()
        .block_on(full_disk::run(&args))
        .expect("the scenario runs");
    assert_passed(&report);
    assert_eq!(checks_matching(&report, "refused with a clear error"), 4);
    assert_eq!(checks_matching(&report, "verifies after a clean stop"), 3);
}
