//! Queries and the life of a record on a real three-tier federation: a subject with
//! records in two provinces found complete at the national hub with each origin's
//! freshness; `--fresh` finding a record not yet reconciled upward; an objection filed
//! at the national hub showing on the city's copy and decided by the city; a repaired
//! record leaving public queries and measure checks everywhere but staying visible to
//! auditors; an old record no longer published without anyone acting; masked numbers,
//! a required purpose, and an audit chain that fails verification once tampered with.

mod common;

use common::{cli, eventually, json, keys_of, procurement_measures, text};

use std::path::Path;
use std::time::{Duration, Instant};

use credithub_node::admin::AdminRequest;
use credithub_node::certs::{self, Role};
use credithub_node::store::keys;
use credithub_node::Store;
use credithub_protocol::ids::{ResidentId, Subject, SubjectId, SubjectKind};
use credithub_protocol::record::{Details, ListEntryDetails, Severity};
use credithub_protocol::testing::body_about;
use credithub_protocol::{Date, DivisionCode, RecordBody, RecordKey, RecordKind};
use credithub_scenarios::federation::check::converge;
use credithub_scenarios::federation::cluster::{call, Cluster};
use credithub_scenarios::federation::{subscriptions, three_tier_specs};

const NATIONAL: usize = 0;
const JIANGSU: usize = 1;
const SUZHOU: usize = 3;
const HANGZHOU: usize = 5;

fn query(
    cluster: &Cluster,
    i: usize,
    client: &str,
    subject: &str,
    more: &[&str],
) -> serde_json::Value {
    let mut args = vec!["--format", "json", "query", "--subject", subject];
    args.extend_from_slice(more);
    json(&cli(cluster, i, client, &args))
}

fn status_of(answer: &serde_json::Value, key: &str) -> Option<String> {
    answer["records"]
        .as_array()?
        .iter()
        .find(|r| r["key"] == key)
        .and_then(|r| r["status"].as_str().map(String::from))
}

fn dated(mut b: RecordBody, y: u16, m: u8, d: u8) -> RecordBody {
    b.decision_date = Date::new(y, m, d).expect("date");
    b
}

/// A body decided `days` days before today (so the test means the same whenever it
/// runs).
fn days_ago(mut b: RecordBody, days: i32) -> RecordBody {
    let today = Date::from_millis(credithub_node::clock::now_millis()).expect("today");
    b.decision_date = today.add_days(-days).expect("date");
    b
}

fn listed(n: u32, area: &str) -> RecordBody {
    let mut b = dated(body_about(n, area), 2020, 5, 1);
    b.severity = Severity::Serious;
    b.decision_no = format!("税务黑名单〔2020〕{n}号");
    b.details = Details::ListEntry(ListEntryDetails {
        list_name: "重大税收违法失信主体".into(),
        reason: "虚开增值税专用发票".into(),
        legal_basis: "《重大税收违法失信主体信息公布管理办法》".into(),
        valid_until: None,
    });
    b
}

fn reader_certs(dir: &Path, ca_key: &Path) {
    certs::create_client(
        dir,
        ca_key,
        Role::Public,
        DivisionCode::NATIONAL,
        "portal",
        20,
        false,
    )
    .expect("public cert");
    certs::create_client(
        dir,
        ca_key,
        Role::Auditor,
        DivisionCode::NATIONAL,
        "auditor",
        20,
        false,
    )
    .expect("auditor cert");
}

#[test]
fn queries_objections_repair_publication_and_audit_across_the_federation() {
    let dir = tempfile::tempdir().expect("tmp");
    let measures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config/measures.toml");
    let measures = measures.to_string_lossy().into_owned();
    let mut cluster = Cluster::start_with(
        &dir.path().join("fed"),
        three_tier_specs(),
        subscriptions(),
        Duration::from_millis(500),
        |_| format!("measures_file = {measures:?}\n"),
    )
    .expect("federation starts");
    for i in [NATIONAL, SUZHOU] {
        reader_certs(&cluster.nodes[i].dir.join("certs"), cluster.ca_key());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // A Suzhou company with a recent Suzhou penalty, an old one (no longer
    // published), a black-list entry, and a Hangzhou penalty (another province).
    let recent = days_ago(body_about(1, "320583"), 2);
    let old = dated(body_about(2, "320583"), 2024, 3, 5);
    let black = listed(3, "320583");
    let from_hangzhou = days_ago(body_about(4, "320583"), 50);
    let subject = recent.subject.id.unmasked();
    let suzhou = DivisionCode::parse("320500").expect("code");
    let key =
        |origin: DivisionCode, kind, b: &RecordBody| RecordKey::derive(origin, kind, b).to_string();
    let recent_key = key(suzhou, RecordKind::PENALTY, &recent);
    let old_key = key(suzhou, RecordKind::PENALTY, &old);
    let black_key = key(suzhou, RecordKind::BLACK_LIST, &black);
    let hz_key = key(
        DivisionCode::parse("330100").expect("code"),
        RecordKind::PENALTY,
        &from_hangzhou,
    );
    // A natural person (Beijing resident) fined in Suzhou.
    let person = ResidentId::parse("11010519491231002X").expect("id");
    let mut personal = days_ago(body_about(5, "320583"), 30);
    personal.subject = Subject {
        kind: SubjectKind::NaturalPerson,
        name: "张三丰".into(),
        id: SubjectId::ResidentId(person),
    };
    rt.block_on(async {
        let mut clients = Vec::new();
        for i in 0..cluster.nodes.len() {
            clients.push(cluster.admin(i).await.expect("node up"));
        }
        let put = |kind, b: &RecordBody| AdminRequest::Put {
            records: vec![(kind, b.clone())],
        };
        call(&clients[SUZHOU], &put(RecordKind::PENALTY, &recent))
            .await
            .expect("put");
        call(&clients[SUZHOU], &put(RecordKind::PENALTY, &old))
            .await
            .expect("put");
        call(&clients[SUZHOU], &put(RecordKind::BLACK_LIST, &black))
            .await
            .expect("put");
        call(&clients[SUZHOU], &put(RecordKind::PENALTY, &personal))
            .await
            .expect("put");
        call(
            &clients[HANGZHOU],
            &put(RecordKind::PENALTY, &from_hangzhou),
        )
        .await
        .expect("put");
        let (checks, _, ok) = converge(&cluster, &clients, Duration::from_secs(120))
            .await
            .expect("checks");
        assert!(ok, "{checks:?}");
        for c in clients {
            c.close().await;
        }
    });

    // 1. Complete at the national hub, from two provinces, with freshness per origin.
    let a = query(&cluster, NATIONAL, "admin", &subject, &[]);
    let found = keys_of(&a);
    for k in [&recent_key, &old_key, &black_key, &hz_key] {
        assert!(found.contains(k), "{k} in {a}");
    }
    let origins = a["origins"].as_array().expect("origins");
    assert_eq!(origins.len(), 2, "{a}");
    for o in origins {
        assert!(o["synced_ms"].is_u64(), "freshness known: {o}");
        assert!(
            o["via"].as_str().is_some_and(|v| v.starts_with("child ")),
            "{o}"
        );
    }
    // The city holds the Hangzhou record too: it is about its company.
    assert!(keys_of(&query(&cluster, SUZHOU, "admin", &subject, &[])).contains(&hz_key));

    // 5. The 2024 penalty's publication ended by itself; the public no longer sees it.
    let public = query(&cluster, NATIONAL, "portal", &subject, &[]);
    let seen = keys_of(&public);
    assert!(
        seen.contains(&recent_key) && !seen.contains(&old_key),
        "{public}"
    );
    let o = cli(
        &cluster,
        NATIONAL,
        "portal",
        &["query", "--subject", &subject, "--as", "government"],
    );
    assert!(
        !o.status.success(),
        "a public certificate may not read as government: {}",
        text(&o)
    );

    // 3. An objection filed at the national hub shows on the city's copy, and only
    //    the city decides.
    let o = cli(
        &cluster,
        NATIONAL,
        "admin",
        &[
            "record",
            "object",
            &recent_key,
            "--reason",
            "已缴纳罚款并整改",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        status_of(
            &query(&cluster, NATIONAL, "admin", &subject, &[]),
            &recent_key
        )
        .as_deref(),
        Some("under-objection")
    );
    eventually("the objection reaches Suzhou", || {
        status_of(
            &query(&cluster, SUZHOU, "admin", &subject, &[]),
            &recent_key,
        )
        .as_deref()
            == Some("under-objection")
    });
    let o = cli(
        &cluster,
        NATIONAL,
        "admin",
        &["record", "decide", &recent_key, "--confirm", "--yes"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "only the origin decides: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("only the record's origin"),
        "{}",
        text(&o)
    );
    let o = cli(
        &cluster,
        SUZHOU,
        "admin",
        &[
            "record",
            "decide",
            &recent_key,
            "--correct",
            "罚款人民币三万元",
            "--yes",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    eventually("the decision reaches the national hub", || {
        status_of(
            &query(&cluster, NATIONAL, "admin", &subject, &[]),
            &recent_key,
        )
        .as_deref()
            == Some("active")
    });

    // 4. Repair: the black-list entry stops counting for measures and leaves public
    //    and government queries everywhere, but auditors still see it.
    let applies = procurement_measures(&cluster, NATIONAL, &subject);
    assert!(applies.is_some_and(|n| n > 0), "{applies:?}");
    let o = cli(
        &cluster,
        SUZHOU,
        "admin",
        &["record", "repair", &black_key, "--yes"],
    );
    assert!(o.status.success(), "{}", text(&o));
    for node in [NATIONAL, JIANGSU, SUZHOU] {
        eventually("the repair reaches every node", || {
            !keys_of(&query(&cluster, node, "admin", &subject, &[])).contains(&black_key)
        });
    }
    let applies = procurement_measures(&cluster, NATIONAL, &subject);
    assert_eq!(applies, Some(0));
    let audited = query(
        &cluster,
        NATIONAL,
        "auditor",
        &subject,
        &["--as", "auditor"],
    );
    assert_eq!(
        status_of(&audited, &black_key).as_deref(),
        Some("repaired"),
        "{audited}"
    );
    let report = cli(
        &cluster,
        NATIONAL,
        "admin",
        &["report", "--subject", &subject],
    );
    assert!(
        text(&report).contains("Credit report") && text(&report).contains("320500"),
        "{}",
        text(&report)
    );

    // Statistics and reporting timeliness at the national hub: the record decided two
    // days ago arrived in time; the others arrived weeks or years after their
    // decisions.
    let t = json(&cli(
        &cluster,
        NATIONAL,
        "admin",
        &["--format", "json", "timeliness"],
    ));
    let suzhou_figures = t["origins"]
        .as_array()
        .and_then(|o| o.iter().find(|f| f["origin"] == "320500"))
        .cloned()
        .unwrap_or_default();
    assert!(suzhou_figures["measured"].as_u64().unwrap_or(0) >= 4, "{t}");
    assert_eq!(suzhou_figures["late"].as_u64(), Some(3), "{t}");
    assert!(
        suzhou_figures["by_kind"]["black-list"].as_u64() == Some(1),
        "{t}"
    );

    // Personal data: a purpose is required, numbers are masked except for auditors,
    // every such query is audited, and a tampered audit log fails verification.
    let id = person.unmasked().to_string();
    let o = cli(&cluster, SUZHOU, "admin", &["query", "--subject", &id]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("purpose"), "{}", text(&o));
    let masked = query(
        &cluster,
        SUZHOU,
        "admin",
        &id,
        &["--purpose", "行政许可审查"],
    );
    assert!(
        !masked.to_string().contains(&id),
        "unmasked number leaked: {masked}"
    );
    assert_eq!(masked["records"][0]["subject_name"], "张**", "{masked}");
    let full = query(
        &cluster,
        SUZHOU,
        "auditor",
        &id,
        &["--purpose", "审计抽查", "--as", "auditor"],
    );
    assert!(full.to_string().contains(&id), "{full}");
    let v = json(&cli(
        &cluster,
        SUZHOU,
        "admin",
        &["--format", "json", "audit", "verify"],
    ));
    assert_eq!(
        (v["entries"].as_u64(), v["broken"].is_null()),
        (Some(2), true),
        "{v}"
    );
    let o = cli(&cluster, SUZHOU, "admin", &["audit", "list"]);
    assert_ne!(
        o.status.code(),
        Some(0),
        "admins may not list the audit log"
    );
    let entries = json(&cli(
        &cluster,
        SUZHOU,
        "auditor",
        &["--format", "json", "audit", "list"],
    ));
    assert_eq!(entries[0]["purpose"], "行政许可审查", "{entries}");

    // 2. --fresh: Suzhou stops pushing up by itself; a new record is found at the
    //    national hub only by asking down.
    cluster.stop_node(SUZHOU, false);
    {
        // Meanwhile, tamper with the audit log offline.
        let store = Store::open(&cluster.nodes[SUZHOU].dir.join("data"), None).expect("open");
        let mut e = store.audit_entries(1, 1).expect("read").remove(0);
        e.purpose = "其他".into();
        store
            .raw_put_for_tests(
                keys::CF_AUDIT,
                &1u64.to_be_bytes(),
                &postcard::to_stdvec(&e).expect("encode"),
            )
            .expect("tamper");
    }
    cluster.nodes[SUZHOU].env = vec![
        ("CREDIT_SYNC__DEBOUNCE_MS".into(), "3600000".into()),
        ("CREDIT_SYNC__INTERVAL_SECS".into(), "3600".into()),
    ];
    cluster.start_node(SUZHOU).expect("restart");
    let o = cli(&cluster, SUZHOU, "admin", &["audit", "verify"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut o = o;
    while !text(&o).contains("BROKEN") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        o = cli(&cluster, SUZHOU, "admin", &["audit", "verify"]);
    }
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("BROKEN at entry 1"), "{}", text(&o));
    // Suzhou's first round after the restart runs at once; wait for it.
    eventually("suzhou's first round", || {
        let st = json(&cli(
            &cluster,
            SUZHOU,
            "admin",
            &["--format", "json", "status"],
        ));
        !st["parent"]["last_success_ms"].is_null()
    });
    let late = days_ago(body_about(6, "320583"), 1);
    let late_key = key(suzhou, RecordKind::PENALTY, &late);
    rt.block_on(async {
        let c = cluster.admin(SUZHOU).await.expect("suzhou");
        call(
            &c,
            &AdminRequest::Put {
                records: vec![(RecordKind::PENALTY, late)],
            },
        )
        .await
        .expect("put");
        c.close().await;
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(!keys_of(&query(&cluster, NATIONAL, "admin", &subject, &[])).contains(&late_key));
    let fresh = query(&cluster, NATIONAL, "admin", &subject, &["--fresh"]);
    assert!(keys_of(&fresh).contains(&late_key), "{fresh}");
    assert_eq!(fresh["partial"], false, "{fresh}");
}
