//! `credit-admin` against real running nodes: status, reconcile (which asks for
//! --yes), online import and query, and the errors an operator meets first (no node
//! given, a certificate that is not an admin's, a missing certificate).

mod common;

use common::{admin_binary, text};

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use credithub_node::certs::{self, Role};
use credithub_protocol::{DivisionCode, RecordKind};
use credithub_scenarios::federation::cluster::Cluster;
use credithub_scenarios::generate::{write_csv, CsvOptions, FileKind, Generator, GeneratorConfig};

fn run(certs: &Path, node: &str, args: &[&str]) -> Output {
    Command::new(admin_binary())
        .args(args)
        .env("CREDIT_NODE", node)
        .env("CREDIT_CERTS_DIR", certs)
        .env_remove("CREDIT_CLIENT")
        .env_remove("CREDIT_FORMAT")
        .output()
        .expect("credit-admin runs")
}

#[test]
fn operators_drive_running_nodes_with_credit_admin() {
    let dir = tempfile::tempdir().expect("tmp");
    let jiangsu = DivisionCode::parse("320000").expect("code");
    let specs = common::under_national("jiangsu", jiangsu);
    // A long interval: only `reconcile` and writes make rounds here.
    let cluster = Cluster::start(
        &dir.path().join("fed"),
        specs,
        vec![RecordKind::BLACK_LIST],
        Duration::from_secs(3600),
    )
    .expect("federation starts");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        cluster.admin(0).await.expect("national up").close().await;
        cluster.admin(1).await.expect("jiangsu up").close().await;
    });
    let certs = cluster.nodes[1].dir.join("certs");
    let node = cluster.nodes[1].address.clone();

    // Online import of a generated file.
    let csv = dir.path().join("jiangsu-penalties.csv");
    let mut g = Generator::new(5, GeneratorConfig::for_count(jiangsu, 200)).expect("generator");
    let bodies: Vec<_> = (0..200).map(|_| g.record(RecordKind::PENALTY)).collect();
    let subject = bodies[0].subject.id.unmasked();
    let file = std::io::BufWriter::new(std::fs::File::create(&csv).expect("csv"));
    write_csv(FileKind::Penalty, bodies, file, &CsvOptions::default()).expect("write");
    let csv_arg = csv.to_string_lossy().into_owned();
    let o = run(&certs, &node, &["import", &csv_arg]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("200"), "{}", text(&o));

    // Reconcile asks for --yes, then moves the records up.
    let o = run(&certs, &node, &["reconcile"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("--yes"), "{}", text(&o));
    let o = run(&certs, &node, &["--format", "json", "reconcile", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    // The import itself triggers a round soon after; whichever came first moved the
    // 200 records, once.
    assert_eq!(stats[0]["peer"], cluster.nodes[0].address, "{stats}");
    let sent = stats[0]["result"]["Ok"]["records_sent"].as_u64();
    assert!(sent == Some(0) || sent == Some(200), "{stats}");

    // Status shows the link as two facts, and the national hub holds the records.
    let o = run(&certs, &node, &["status"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("connected"), "{}", text(&o));
    let o = run(&certs, &node, &["--format", "json", "status"]);
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(st["report"]["records"], 200, "{st}");
    assert_eq!(st["parent"]["connected"], true, "{st}");
    let national_certs = cluster.nodes[0].dir.join("certs");
    let o = run(
        &national_certs,
        &cluster.nodes[0].address,
        &["--format", "json", "status"],
    );
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(st["report"]["records"], 200, "{st}");
    assert_eq!(st["report"]["children"][0]["name"], "jiangsu", "{st}");
    assert_eq!(st["report"]["children"][0]["roots_match"], true, "{st}");
    let o = run(
        &national_certs,
        &cluster.nodes[0].address,
        &["query", "--subject", &subject],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("held by national"), "{}", text(&o));

    // Errors an operator meets first.
    let o = Command::new(admin_binary())
        .args(["status"])
        .env_remove("CREDIT_NODE")
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("--node"), "{}", text(&o));
    certs::create_client(
        &certs,
        cluster.ca_key(),
        Role::Client,
        jiangsu,
        "portal",
        20,
        false,
    )
    .expect("client cert");
    let o = run(&certs, &node, &["status", "--client", "portal"]);
    assert_ne!(
        o.status.code(),
        Some(0),
        "a client certificate may not administer"
    );
    let o = run(&certs, &node, &["status", "--client", "nobody"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("client.nobody.crt"), "{}", text(&o));
}
