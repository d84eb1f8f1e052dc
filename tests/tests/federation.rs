//! End to end: the three-tier federation as real processes on loopback converges
//! after imports, list publications, cross-city records, corrections and deletions
//! at several levels (the `scenarios three-tier` run, small); and a federation of two
//! link versions upgraded one node at a time (`scenarios rolling-upgrade`, small).

use credithub_scenarios::federation::{run, ThreeTierArgs};

#[test]
fn three_tier_federation_converges_after_imports_updates_and_deletions() {
    let dir = tempfile::tempdir().expect("tmp");
    let args = ThreeTierArgs {
        dir: dir.path().join("federation"),
        records: 300,
        seed: 11,
        interval: 0.5,
        // Generous: a slow, busy machine must pass too.
        timeout: 240,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = runtime.block_on(run(&args)).expect("scenario runs");
    assert!(
        ok,
        "every node holds exactly what it should, and nothing was refused"
    );
}

#[test]
fn a_federation_of_two_link_versions_converges_through_a_rolling_upgrade() {
    let dir = tempfile::tempdir().expect("tmp");
    let args = credithub_scenarios::federation::upgrade::UpgradeArgs {
        dir: dir.path().join("upgrade"),
        records: 40,
        seed: 5,
        interval: 0.5,
        // Generous: a slow, busy machine must pass too.
        timeout: 240,
        previous_bin: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = runtime
        .block_on(credithub_scenarios::federation::upgrade::run(&args))
        .expect("scenario runs");
    assert!(
        ok,
        "every step converges, nothing is refused, and each link speaks the version its ends share"
    );
}
