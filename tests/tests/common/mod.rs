//! Helpers shared by the end-to-end tests that run `credit-admin`.

#![allow(dead_code)] // each test file uses its own subset

pub(crate) mod rogue;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use credithub_protocol::DivisionCode;
use credithub_scenarios::federation::cluster::{node_binary, Cluster, NodeSpec};

/// The `credit-admin` binary, built beside `credit-node`.
pub(crate) fn admin_binary() -> PathBuf {
    node_binary()
        .expect("binaries built")
        .with_file_name("credit-admin")
}

/// A national hub (node 0) and one node `name` of jurisdiction `code` below it (node 1):
/// the smallest federation a province or city node runs in.
pub(crate) fn under_national(name: &str, code: DivisionCode) -> Vec<NodeSpec> {
    vec![
        NodeSpec {
            name: "national".into(),
            jurisdiction: DivisionCode::NATIONAL,
            parent: None,
        },
        NodeSpec {
            name: name.into(),
            jurisdiction: code,
            parent: Some(0),
        },
    ]
}

/// A free loopback address (`127.0.0.1:PORT`) for a listener a test configures.
pub(crate) fn free_loopback_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port();
    format!("127.0.0.1:{port}")
}

/// A command's stdout and stderr, for messages and searches.
pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A successful command's stdout as JSON.
pub(crate) fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// Runs `credit-admin` against node `i` of a cluster as the client certificate
/// `client` of that node's certs directory.
pub(crate) fn cli(cluster: &Cluster, i: usize, client: &str, args: &[&str]) -> Output {
    let n = &cluster.nodes[i];
    Command::new(admin_binary())
        .args(args)
        .env("CREDIT_NODE", &n.address)
        .env("CREDIT_CERTS_DIR", n.dir.join("certs"))
        .env("CREDIT_CLIENT", client)
        .env_remove("CREDIT_FORMAT")
        .env_remove("CREDIT_DATA_DIR")
        .output()
        .expect("credit-admin runs")
}

/// The record keys of a subject answer (`query --format json`).
pub(crate) fn keys_of(answer: &serde_json::Value) -> Vec<String> {
    answer["records"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["key"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `f` until it holds or 90 seconds pass.
pub(crate) fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("timed out waiting until {what}");
}

/// The joint measures in force for `subject` and the action `government-procurement`
/// at node `i` (`check --format json`, as its `admin`): how many, or `None` when the
/// answer lists none at all.
pub(crate) fn procurement_measures(cluster: &Cluster, i: usize, subject: &str) -> Option<usize> {
    let c = json(&cli(
        cluster,
        i,
        "admin",
        &[
            "--format",
            "json",
            "check",
            "--subject",
            subject,
            "--action",
            "government-procurement",
        ],
    ));
    c["applies"].as_array().map(Vec::len)
}
