//! Operating running nodes with `credit-admin` and the HTTP endpoint: the status tree
//! of a three-tier federation with a city stopped, diff, verify (clean, and after an
//! index entry is damaged offline), stats, backup and restore, drain and health,
//! metrics during sync, and the start-up errors an operator meets.

mod common;

use common::{admin_binary, json, text};

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use credithub_node::admin::AdminRequest;
use credithub_node::store::keys;
use credithub_node::Store;
use credithub_protocol::testing::body_about;
use credithub_protocol::{Cell, DivisionCode, PartitionId, RecordKind};
use credithub_scenarios::federation::check::converge;
use credithub_scenarios::federation::cluster::{call, node_binary, Cluster};
use credithub_scenarios::federation::{subscriptions, three_tier_specs};

fn admin(node_dir: &Path, address: &str, args: &[&str]) -> Output {
    Command::new(admin_binary())
        .args(args)
        .env("CREDIT_NODE", address)
        .env("CREDIT_CERTS_DIR", node_dir.join("certs"))
        .env_remove("CREDIT_CLIENT")
        .env_remove("CREDIT_FORMAT")
        .env_remove("CREDIT_DATA_DIR")
        .output()
        .expect("credit-admin runs")
}

/// A plain HTTP GET; returns the status code and body.
fn get(addr: &str, target: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    let code = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn the_status_tree_shows_a_stopped_city_as_unreachable_with_its_last_known_state() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cluster = Cluster::start(
        &dir.path().join("fed"),
        three_tier_specs(),
        subscriptions(),
        Duration::from_millis(500),
    )
    .expect("federation starts");
    let rt = runtime();
    rt.block_on(async {
        let mut clients = Vec::new();
        for i in 0..cluster.nodes.len() {
            clients.push(cluster.admin(i).await.expect("node up"));
        }
        for (i, area) in [(3, "320583"), (4, "320105"), (5, "330106"), (6, "330203")] {
            let records = (0..20)
                .map(|n| (RecordKind::PENALTY, body_about(n, area)))
                .collect();
            call(&clients[i], &AdminRequest::Put { records })
                .await
                .expect("put");
        }
        let (checks, _, ok) = converge(&cluster, &clients, Duration::from_secs(120))
            .await
            .expect("checks");
        assert!(ok, "{checks:?}");
        // Reports climb one level per round: wait until the national hub's tree holds
        // the cities' figures.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let st = credithub_scenarios::federation::cluster::status(&clients[0])
                .await
                .expect("status");
            let cities: usize = st
                .report
                .children
                .iter()
                .filter_map(|p| p.report.as_ref())
                .map(|r| {
                    r.children
                        .iter()
                        .filter(|c| c.report.as_ref().is_some_and(|r| r.records >= 20))
                        .count()
                })
                .sum();
            if cities == 4 || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for c in clients {
            c.close().await;
        }
    });
    let national = &cluster.nodes[0];
    let (ndir, naddr) = (national.dir.clone(), national.address.clone());

    let o = admin(&ndir, &naddr, &["status", "--tree"]);
    assert!(o.status.success(), "{}", text(&o));
    let tree = text(&o);
    for name in [
        "jiangsu", "zhejiang", "suzhou", "nanjing", "hangzhou", "ningbo",
    ] {
        assert!(tree.contains(name), "{name} in\n{tree}");
    }
    assert!(!tree.contains("UNREACHABLE"), "{tree}");
    assert!(tree.contains("roots match"), "{tree}");

    // Stop Suzhou; after three of its sync intervals (at least 10 s) Jiangsu reports
    // it unreachable, and the national hub's tree says so.
    cluster.stop_node(3, false);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut tree = String::new();
    while Instant::now() < deadline {
        let o = admin(&ndir, &naddr, &["status", "--tree"]);
        tree = text(&o);
        if tree.contains("UNREACHABLE") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let line = tree
        .lines()
        .find(|l| l.contains("suzhou"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("UNREACHABLE") && line.contains("--stale"),
        "{tree}"
    );
    let o = admin(&ndir, &naddr, &["status", "--tree", "--stale"]);
    let stale = text(&o);
    let line = stale
        .lines()
        .find(|l| l.contains("suzhou"))
        .unwrap_or_default();
    assert!(
        line.contains("STALE") && line.contains("records"),
        "{stale}"
    );
    let o = admin(&ndir, &naddr, &["--format", "json", "status", "--tree"]);
    let st = json(&o);
    assert!(
        st["report"]["children"]
            .as_array()
            .is_some_and(|c| c.len() == 2),
        "{st}"
    );
}

#[test]
fn diff_verify_stats_backup_restore_drain_and_metrics() {
    let dir = tempfile::tempdir().expect("tmp");
    let jiangsu = DivisionCode::parse("320000").expect("code");
    let specs = common::under_national("jiangsu", jiangsu);
    // A long interval: rounds happen on writes, on demand, and at start only.
    let mut cluster = Cluster::start(
        &dir.path().join("fed"),
        specs,
        vec![RecordKind::BLACK_LIST],
        Duration::from_secs(3600),
    )
    .expect("federation starts");
    let rt = runtime();
    let (ndir, naddr) = (
        cluster.nodes[0].dir.clone(),
        cluster.nodes[0].address.clone(),
    );
    let (jdir, jaddr, jmetrics) = (
        cluster.nodes[1].dir.clone(),
        cluster.nodes[1].address.clone(),
        cluster.nodes[1].metrics.clone(),
    );
    // Jiangsu's first round (at start, retried until the hub answers) is over before
    // anything is written.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let st = json(&admin(&jdir, &jaddr, &["--format", "json", "status"]));
        if !st["parent"]["last_success_ms"].is_null() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    rt.block_on(async {
        // Written at the national hub, which has no parent: it reaches Jiangsu only
        // at Jiangsu's next round.
        let national = cluster.admin(0).await.expect("national");
        let listed = (0..5)
            .map(|n| (RecordKind::BLACK_LIST, body_about(100 + n, "320105")))
            .collect();
        call(&national, &AdminRequest::Put { records: listed })
            .await
            .expect("put");
        national.close().await;
    });

    // diff lists what the parent holds newer, moving nothing.
    let d = json(&admin(&jdir, &jaddr, &["--format", "json", "diff"]));
    let differing =
        d["parent_newer"].as_u64().unwrap_or(0) + d["parent_only_subtrees"].as_u64().unwrap_or(0);
    assert!(differing > 0, "{d}");
    let again = json(&admin(&jdir, &jaddr, &["--format", "json", "diff"]));
    assert_eq!(
        d["parent_newer"], again["parent_newer"],
        "diff moved nothing"
    );
    let o = admin(&jdir, &jaddr, &["reconcile", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let d = json(&admin(&jdir, &jaddr, &["--format", "json", "diff"]));
    assert_eq!(
        (d["parent_newer"].as_u64(), d["node_newer"].as_u64()),
        (Some(0), Some(0)),
        "{d}"
    );

    // Jiangsu's own writes go up by themselves soon after.
    rt.block_on(async {
        let j = cluster.admin(1).await.expect("jiangsu");
        let own = (0..30)
            .map(|n| (RecordKind::PENALTY, body_about(n, "320105")))
            .collect();
        call(&j, &AdminRequest::Put { records: own })
            .await
            .expect("put");
        j.close().await;
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let st = json(&admin(&ndir, &naddr, &["--format", "json", "status"]));
        if st["report"]["records"] == 35 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    // A hub has its children reconcile with it.
    let r = json(&admin(
        &ndir,
        &naddr,
        &["--format", "json", "reconcile", "--children", "--yes"],
    ));
    assert_eq!(r[0]["peer"], "jiangsu", "{r}");
    assert!(r[0]["result"]["Ok"].is_object(), "{r}");
    let o = admin(&ndir, &naddr, &["reconcile", "--child", "suzhou", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no child named suzhou"), "{}", text(&o));

    // Metrics during sync, and health.
    let (code, metrics) = get(&jmetrics, "/metrics");
    assert_eq!(code, 200);
    for family in [
        "credithub_records{origin=\"320000\",kind=\"penalty\"} 30",
        "credithub_sync_rounds_total{peer=",
        "credithub_sync_bytes_total{peer=",
        "credithub_refused_records_total",
        "credithub_parent_lag_seconds ",
        "credithub_rocksdb_sst_bytes",
        "credithub_ready 1",
    ] {
        assert!(metrics.contains(family), "{family} in\n{metrics}");
    }
    assert_eq!(get(&jmetrics, "/health").0, 200);
    assert_eq!(get(&jmetrics, "/health?ready=1").0, 200);

    // verify and stats online.
    let v = json(&admin(&jdir, &jaddr, &["--format", "json", "verify"]));
    assert_eq!(v["problem_count"], 0, "{v}");
    let s = json(&admin(&jdir, &jaddr, &["--format", "json", "stats"]));
    assert_eq!(s["live"], 35, "{s}");

    // Backup, write more, restore: back to the checkpoint.
    let b = json(&admin(
        &jdir,
        &jaddr,
        &["--format", "json", "backup", "--to", "before", "--yes"],
    ));
    assert_eq!(b["records"], 35, "{b}");
    rt.block_on(async {
        let j = cluster.admin(1).await.expect("jiangsu");
        let more = (200..210)
            .map(|n| (RecordKind::PENALTY, body_about(n, "320105")))
            .collect();
        call(&j, &AdminRequest::Put { records: more })
            .await
            .expect("put");
        j.close().await;
    });

    // Drain: not ready any more, alive still.
    let o = admin(&jdir, &jaddr, &["drain"]);
    assert_eq!(o.status.code(), Some(1), "asks for --yes: {}", text(&o));
    let o = admin(&jdir, &jaddr, &["drain", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(get(&jmetrics, "/health?ready=1").0, 503);
    assert_eq!(get(&jmetrics, "/health").0, 200);
    cluster.stop_node(1, false);

    let data = jdir.join("data");
    let checkpoint = data.join("backups").join("before");
    let data_arg = data.to_string_lossy().into_owned();
    let cp_arg = checkpoint.to_string_lossy().into_owned();
    let o = admin(
        &jdir,
        &jaddr,
        &[
            "restore",
            "--data-dir",
            &data_arg,
            "--from",
            &cp_arg,
            "--yes",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let s = json(&admin(
        &jdir,
        &jaddr,
        &["--format", "json", "stats", "--data-dir", &data_arg],
    ));
    assert_eq!(s["live"], 35, "restored to the checkpoint: {s}");

    // verify offline: clean, then damaged.
    let o = admin(&jdir, &jaddr, &["verify", "--data-dir", &data_arg]);
    assert!(o.status.success(), "{}", text(&o));
    {
        let store = Store::open(&data, None).expect("open");
        let p = PartitionId::origin(jiangsu, RecordKind::PENALTY);
        let mut wrong = store.partition_root(&p).expect("root");
        wrong.add(&Cell::of(&credithub_protocol::DigestItem {
            id: credithub_protocol::record::RecordId([7; 16]),
            version: credithub_protocol::Version(1),
            digest: credithub_protocol::Digest([9; 32]),
        }));
        store
            .raw_put_for_tests(keys::CF_DIGEST, &keys::root_key(&p), &wrong.to_bytes())
            .expect("damage");
    }
    let o = admin(&jdir, &jaddr, &["verify", "--data-dir", &data_arg]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("MISMATCH") && text(&o).contains("320000/penalty"),
        "{}",
        text(&o)
    );
}

#[test]
fn start_up_errors_name_the_key_or_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let node = node_binary().expect("built");
    let config = dir.path().join("node.toml");
    std::fs::write(&config, "jurisdiction = \"320599\"\ndata_dir = \"d\"\ncerts_dir = \"c\"\n[parent]\naddress = \"127.0.0.1:1\"\n[sync]\ninterval_secs = 0\n").expect("write");
    let o = Command::new(&node)
        .arg("--config")
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("sync.interval_secs"), "{}", text(&o));
    std::fs::write(&config, "jurisdiction = \"320500\"\ndata_dir = \"d\"\ncerts_dir = \"c\"\n[parent]\naddress = \"127.0.0.1:1\"\n[metrics]\nlisten = \"off\"\n").expect("write");
    let o = Command::new(&node)
        .arg("--config")
        .arg(&config)
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("node.crt"), "{}", text(&o));
}
