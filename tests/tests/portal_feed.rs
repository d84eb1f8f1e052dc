//! A portal mirror follows a city node's public change feed (`GET /v1/changes`)
//! through writes, a correction, a repair, a withdrawal, an objection and its outcome
//! (a deletion), and a publication window that ends with no write (the node restarted
//! with its clock days ahead); after each step the mirror holds exactly what the
//! node's public subject query returns.

use std::collections::BTreeMap;
use std::time::Duration;

use credithub_node::admin::client::AdminClient;
use credithub_node::admin::{AdminRequest, Decision};
use credithub_node::certs::{self, Role};
use credithub_node::clock::OFFSET_VARIABLE;
use credithub_protocol::record::{Details, Severity};
use credithub_protocol::testing::body_about;
use credithub_protocol::{Date, DivisionCode, RecordBody, RecordKey, RecordKind};
use credithub_scenarios::api_client::{ApiClient, Protocol};
use credithub_scenarios::federation::cluster::{call, Cluster};
use serde_json::Value;

mod common;

const DAY_MS: i64 = 86_400_000;

/// The node whose feed is followed.
const SUZHOU: usize = 1;

fn today() -> Date {
    Date::from_millis(credithub_node::clock::now_millis()).expect("today")
}

/// A general penalty (published 12 months by default) about the test's company,
/// decided `ago` days ago.
fn penalty(n: u32, ago: i32) -> RecordBody {
    let mut b = body_about(n, "320583");
    b.decision_date = today().add_days(-ago).expect("date");
    b.severity = Severity::General;
    b
}

/// A follower of the public feed.
#[derive(Default)]
struct Mirror {
    cursor: u64,
    held: BTreeMap<String, Value>,
}

impl Mirror {
    /// Reads pages until the feed has nothing more; with `wait`, the first read is a
    /// long poll that must bring at least one event.
    async fn follow(&mut self, api: &mut ApiClient, wait: bool) {
        let mut first = true;
        loop {
            let target = if first && wait {
                format!("/v1/changes?since={}&limit=3&wait=20", self.cursor)
            } else {
                format!("/v1/changes?since={}&limit=3", self.cursor)
            };
            let answer = api.get(&target).await.expect("feed answers");
            assert_eq!(answer.status, 200, "{target}: {}", answer.body);
            let page: Value = serde_json::from_str(&answer.body).expect("json");
            let events = page["events"].as_array().expect("events");
            if first && wait {
                assert!(!events.is_empty(), "the long poll brought nothing: {page}");
            }
            first = false;
            for e in events {
                let seq = e["seq"].as_u64().expect("seq");
                assert!(seq > self.cursor, "events in order: {page}");
                let key = e["key"].as_str().expect("key").to_string();
                match e["op"].as_str() {
                    Some("put") => {
                        self.held.insert(key, e["record"].clone());
                    }
                    Some("remove") => {
                        self.held.remove(&key);
                    }
                    other => panic!("op {other:?}"),
                }
            }
            self.cursor = page["next"].as_u64().expect("next");
            if page["more"] == false {
                return;
            }
        }
    }

    /// The mirror holds what the public subject query returns.
    async fn assert_matches(&self, api: &mut ApiClient, uscc: &str, step: &str) {
        let target = format!("/v1/subjects/{uscc}/records");
        let answer = api.get(&target).await.expect("query answers");
        assert_eq!(answer.status, 200, "{target}: {}", answer.body);
        let direct: Value = serde_json::from_str(&answer.body).expect("json");
        let direct: BTreeMap<String, Value> = direct["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|v| (v["key"].as_str().expect("key").to_string(), v.clone()))
            .collect();
        assert_eq!(self.held, direct, "after {step}");
    }
}

async fn admin_call(admin: &AdminClient, request: AdminRequest) {
    call(admin, &request).await.expect("admin request");
}

#[test]
fn a_portal_mirror_follows_the_public_feed_and_holds_what_queries_return() {
    let dir = tempfile::tempdir().expect("tmp");
    let api = common::free_loopback_address();
    let suzhou = DivisionCode::parse("320500").expect("code");
    // Suzhou under a national hub (a city node needs a parent); its feed is read.
    let specs = common::under_national("suzhou", suzhou);
    let mut cluster = Cluster::start_with(
        &dir.path().join("fed"),
        specs,
        vec![],
        Duration::from_secs(3600),
        |i| {
            if i == SUZHOU {
                format!("[api]\nlisten = \"{api}\"\n")
            } else {
                String::new()
            }
        },
    )
    .expect("nodes start");
    let certs_dir = cluster.nodes[SUZHOU].dir.join("certs");
    certs::create_client(
        &certs_dir,
        cluster.ca_key(),
        Role::Public,
        suzhou,
        "portal",
        20,
        false,
    )
    .expect("cert");
    // Published, corrected, repaired (decided 5 months ago: past the minimum of 3),
    // withdrawn, disputed then deleted, and one whose 12 months end in two days.
    let bodies = [
        penalty(1, 30),
        penalty(2, 40),
        penalty(3, 150),
        penalty(4, 50),
        penalty(5, 60),
    ];
    let mut ending = penalty(6, 0);
    ending.decision_date = today()
        .sub_months(12)
        .and_then(|d| d.add_days(2))
        .expect("date");
    let uscc = bodies[0].subject.id.unmasked();
    let key = |b: &RecordBody| RecordKey::derive(suzhou, RecordKind::PENALTY, b);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let admin = cluster.admin(SUZHOU).await.expect("up");
        let mut portal = ApiClient::connect(&api, &certs_dir, "portal", Protocol::Http2)
            .await
            .expect("h2");
        let mut mirror = Mirror::default();

        let mut records: Vec<(RecordKind, RecordBody)> = bodies
            .iter()
            .map(|b| (RecordKind::PENALTY, b.clone()))
            .collect();
        records.push((RecordKind::PENALTY, ending.clone()));
        admin_call(&admin, AdminRequest::Put { records }).await;
        mirror.follow(&mut portal, false).await;
        assert_eq!(mirror.held.len(), 6);
        mirror
            .assert_matches(&mut portal, &uscc, "the first writes")
            .await;

        // A correction: the same record, new content.
        let mut corrected = bodies[1].clone();
        if let Details::Penalty(p) = &mut corrected.details {
            p.content = "警告，罚款人民币二万元".into();
        }
        admin_call(
            &admin,
            AdminRequest::Put {
                records: vec![(RecordKind::PENALTY, corrected)],
            },
        )
        .await;
        mirror.follow(&mut portal, true).await;
        mirror
            .assert_matches(&mut portal, &uscc, "a correction")
            .await;

        admin_call(
            &admin,
            AdminRequest::Repair {
                target: key(&bodies[2]),
            },
        )
        .await;
        mirror.follow(&mut portal, true).await;
        mirror.assert_matches(&mut portal, &uscc, "a repair").await;
        assert!(!mirror.held.contains_key(&key(&bodies[2]).to_string()));

        admin_call(
            &admin,
            AdminRequest::Withdraw {
                target: key(&bodies[3]),
            },
        )
        .await;
        mirror.follow(&mut portal, true).await;
        mirror
            .assert_matches(&mut portal, &uscc, "a withdrawal")
            .await;
        assert_eq!(mirror.held.len(), 4);

        let disputed = key(&bodies[4]);
        admin_call(
            &admin,
            AdminRequest::Object {
                target: disputed,
                reason: "处罚对象有误".into(),
            },
        )
        .await;
        mirror.follow(&mut portal, true).await;
        mirror
            .assert_matches(&mut portal, &uscc, "an objection")
            .await;
        assert_eq!(
            mirror.held[&disputed.to_string()]["status"],
            "under-objection",
            "{:?}",
            mirror.held
        );
        admin_call(
            &admin,
            AdminRequest::Decide {
                target: disputed,
                decision: Decision::Delete,
            },
        )
        .await;
        mirror.follow(&mut portal, true).await;
        mirror
            .assert_matches(&mut portal, &uscc, "an objection upheld")
            .await;
        assert_eq!(mirror.held.len(), 3);
        admin.close().await;
        drop(portal);

        // Three days later, with no write: the ending penalty's window has closed.
        cluster.stop_node(SUZHOU, false);
        cluster.nodes[SUZHOU]
            .env
            .push((OFFSET_VARIABLE.into(), (3 * DAY_MS).to_string()));
        cluster.start_node(SUZHOU).expect("restarts");
        // The read API listens once the store is open.
        let mut tries = 0;
        let mut portal = loop {
            match ApiClient::connect(&api, &certs_dir, "portal", Protocol::Http2).await {
                Ok(c) => break c,
                Err(_) if tries < 300 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("the read API after the restart: {e:#}"),
            }
        };
        mirror.follow(&mut portal, true).await;
        mirror
            .assert_matches(&mut portal, &uscc, "a publication window ending")
            .await;
        assert_eq!(mirror.held.len(), 2, "{:?}", mirror.held.keys());
        assert!(!mirror.held.contains_key(&key(&ending).to_string()));
    });
}
