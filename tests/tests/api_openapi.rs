//! The read API on hyper, end to end: a node holding penalties, red and black list
//! entries (form 1, and a form 2 entry proposed, reviewed and confirmed by two
//! administrators) and dishonest debtors answers `/v1/lists/{name}` paged in a stable
//! order, filtered by origin and listing date, each audience seeing what it may and
//! personal numbers masked; HTTP/2 and HTTP/1.1 connections stay open across requests.
//! Then a client that is not ours — `tests/openapi/check.py`, openapi-core — checks
//! every answer of every route, errors included, for each audience against
//! `docs/openapi.json`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use credithub_node::admin::client::AdminClient;
use credithub_node::admin::{AdminRequest, ListAction};
use credithub_node::certs::{self, Role};
use credithub_protocol::record::{
    DebtorDetails, Details, ListEntryDetails, ListingDetails, RecordStatus, Severity,
};
use credithub_protocol::testing::body_about;
use credithub_protocol::{Date, DivisionCode, RecordBody, RecordKey, RecordKind};
use credithub_protocol::{Subject, SubjectId, SubjectKind};
use credithub_scenarios::api_client::{ApiClient, Protocol};
use credithub_scenarios::federation::cluster::{call, Cluster, NodeSpec};
use hyper::body::Bytes;
use hyper::Method;
use serde_json::Value;

mod common;

const PERSON: &str = "11010519491231002X";
const BLACK_LIST_NAME: &str = "重大税收违法失信主体名单";

fn today() -> Date {
    Date::from_millis(credithub_node::clock::now_millis()).expect("today")
}

fn days_ago(n: i32) -> Date {
    today().add_days(-n).expect("date")
}

/// A form 1 list entry about a company of `division`, listed `ago` days ago.
fn entry(n: u32, division: &str, ago: i32) -> RecordBody {
    let mut b = body_about(n, division);
    b.decision_date = days_ago(ago);
    b.severity = Severity::Serious;
    b.details = Details::ListEntry(ListEntryDetails {
        list_name: BLACK_LIST_NAME.into(),
        reason: "虚开增值税专用发票".into(),
        legal_basis: "《重大税收违法失信主体信息公布管理办法》".into(),
        valid_until: None,
    });
    b
}

/// A dishonest debtor: a natural person.
fn debtor(n: u32) -> RecordBody {
    let mut b = body_about(n, "320583");
    b.subject = Subject {
        kind: SubjectKind::NaturalPerson,
        name: "张三".into(),
        id: SubjectId::parse(PERSON).expect("resident id"),
    };
    b.decision_date = days_ago(2);
    b.details = Details::DishonestDebtor(DebtorDetails {
        case_no: format!("（2026）苏0583执{n}号"),
        court: "昆山市人民法院".into(),
        enforcement_basis: "（2025）苏0583民初1号".into(),
        obligation: "支付货款十万元".into(),
        performance: "全部未履行".into(),
        dishonest_conduct: "有履行能力而拒不履行生效法律文书确定义务".into(),
        filed_on: days_ago(90),
    });
    b
}

/// The list entry of form 2, proposed without a trail.
fn listing() -> RecordBody {
    let mut b = body_about(30, "320583");
    b.decision_date = days_ago(5);
    b.severity = Severity::Serious;
    b.details = Details::Listing(ListingDetails {
        list_name: BLACK_LIST_NAME.into(),
        reason: "逃避缴纳税款".into(),
        legal_basis: "《重大税收违法失信主体信息公布管理办法》".into(),
        valid_until: None,
        court: None,
        removal: None,
        review: vec![],
    });
    b
}

fn keys(v: &Value) -> Vec<String> {
    v["entries"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|x| x["key"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn json(c: &mut ApiClient, target: &str) -> Value {
    let a = c.get(target).await.expect("answer");
    assert_eq!(a.status, 200, "{target}: {}", a.body);
    assert!(a.content_type.starts_with("application/json"), "{a:?}");
    serde_json::from_str(&a.body).expect("json")
}

/// The Python of the OpenAPI check: `CREDITHUB_OPENAPI_PYTHON`, or a venv made (once)
/// by `tests/openapi/setup.sh` in the build cache.
fn python(openapi: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("CREDITHUB_OPENAPI_PYTHON") {
        return p.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let venv = Path::new(&home).join(".cache/credithub/openapi-venv");
    let made = Command::new("bash")
        .arg(openapi.join("setup.sh"))
        .arg(&venv)
        .status()
        .expect("runs tests/openapi/setup.sh");
    assert!(
        made.success(),
        "tests/openapi/setup.sh could not make the check's Python environment (python3 with venv and pip, and PyPI, are needed)"
    );
    venv.join("bin/python3")
}

#[test]
fn lists_are_paged_filtered_and_masked_and_every_answer_conforms_to_openapi_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let api = common::free_loopback_address();
    let measures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config/measures.toml");
    let measures = measures.to_string_lossy().into_owned();
    let specs = vec![NodeSpec {
        name: "national".into(),
        jurisdiction: DivisionCode::NATIONAL,
        parent: None,
    }];
    let cluster = Cluster::start_with(
        &dir.path().join("fed"),
        specs,
        vec![],
        Duration::from_secs(3600),
        |_| format!("measures_file = {measures:?}\n[api]\nlisten = \"{api}\"\n"),
    )
    .expect("node starts");
    let node = &cluster.nodes[0];
    let certs_dir = node.dir.join("certs");
    for (role, name) in [
        (Role::Client, "agency"),
        (Role::Public, "portal"),
        (Role::Auditor, "auditor"),
        (Role::Admin, "reviewer"),
    ] {
        certs::create_client(
            &certs_dir,
            cluster.ca_key(),
            role,
            DivisionCode::NATIONAL,
            name,
            20,
            false,
        )
        .expect("cert");
    }
    let mut company = body_about(1, "320583");
    company.decision_date = days_ago(3);
    let uscc = company.subject.id.unmasked();
    let mut withdrawn = entry(21, "320583", 7);
    withdrawn.status = RecordStatus::Withdrawn;
    let mut red = entry(20, "320583", 8);
    red.severity = Severity::NotApplicable;
    let form2 = listing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let admin = cluster.admin(0).await.expect("up");
        let records = vec![
            (RecordKind::PENALTY, company),
            (RecordKind::BLACK_LIST, entry(10, "320583", 10)),
            (RecordKind::BLACK_LIST, entry(11, "320505", 20)),
            (RecordKind::BLACK_LIST, entry(12, "110105", 30)),
            (RecordKind::RED_LIST, red),
            (RecordKind::RED_LIST, withdrawn),
            (RecordKind::DISHONEST_DEBTOR, debtor(40)),
        ];
        call(&admin, &AdminRequest::Put { records })
            .await
            .expect("put");
        // The form 2 entry: proposed by one administrator, reviewed and confirmed by
        // another.
        let key = RecordKey::derive(DivisionCode::NATIONAL, RecordKind::BLACK_LIST, &form2);
        let propose = AdminRequest::ListPropose {
            records: vec![(RecordKind::BLACK_LIST, form2)],
            note: "税务稽查".into(),
        };
        call(&admin, &propose).await.expect("proposed");
        let reviewer = AdminClient::connect(&node.address, &certs_dir, "reviewer")
            .await
            .expect("reviewer");
        for action in [ListAction::Review, ListAction::Confirm] {
            let step = AdminRequest::ListStep {
                key,
                action,
                note: "核实无误".into(),
            };
            call(&reviewer, &step).await.expect("step");
        }
        reviewer.close().await;
        admin.close().await;

        // One HTTP/2 connection for every request below.
        let mut agency = ApiClient::connect(&api, &certs_dir, "agency", Protocol::Http2)
            .await
            .expect("h2");
        let all = json(&mut agency, "/v1/lists/black-list").await;
        let all_keys = keys(&all);
        assert_eq!(
            all_keys.len(),
            4,
            "three entries of form 1, one of form 2: {all}"
        );
        let mut sorted = all_keys.clone();
        sorted.sort_by_key(|k| k.parse::<RecordKey>().expect("key").to_bytes());
        assert_eq!(all_keys, sorted, "key order");
        assert_eq!(all["more"], false);
        assert!(
            all["entries"]
                .as_array()
                .is_some_and(|e| e.iter().any(|x| x["reason"] == "逃避缴纳税款")),
            "the confirmed form 2 entry is listed: {all}"
        );
        // Pages, and the cursor: the same entries in the same order.
        let first = json(&mut agency, "/v1/lists/black-list?per_page=2").await;
        assert_eq!(first["more"], true, "{first}");
        let second = json(&mut agency, "/v1/lists/black-list?per_page=2&page=2").await;
        let after = first["next_after"].as_str().expect("cursor");
        let next = json(
            &mut agency,
            &format!("/v1/lists/black-list?per_page=2&after={after}"),
        )
        .await;
        assert_eq!(keys(&next), keys(&second));
        assert_eq!([keys(&first), keys(&second)].concat(), all_keys);
        // Listing days (both ends included) and origins.
        let since = days_ago(20);
        let recent = json(&mut agency, &format!("/v1/lists/black-list?since={since}")).await;
        assert_eq!(
            keys(&recent).len(),
            3,
            "listed 5, 10 and 20 days ago: {recent}"
        );
        let span = format!("/v1/lists/black-list?since={since}&until={}", days_ago(10));
        assert_eq!(keys(&json(&mut agency, &span).await).len(), 2);
        let national = json(&mut agency, "/v1/lists/black-list?origin=32").await;
        assert!(
            keys(&national).is_empty(),
            "every entry is of origin 000000"
        );

        // Audiences: a withdrawn red-list entry only for auditors; the debtor's number
        // masked for everyone else.
        let red = json(&mut agency, "/v1/lists/red-list").await;
        assert_eq!(keys(&red).len(), 1, "{red}");
        let debtors = json(&mut agency, "/v1/lists/dishonest-debtors").await;
        let shown = debtors["entries"][0]["subject_id"].as_str().expect("id");
        assert!(shown.contains('*') && shown != PERSON, "{debtors}");
        assert_eq!(debtors["entries"][0]["court"], "昆山市人民法院");
        let mut auditor = ApiClient::connect(&api, &certs_dir, "auditor", Protocol::Http1)
            .await
            .expect("http/1.1");
        assert_eq!(
            keys(&json(&mut auditor, "/v1/lists/red-list").await).len(),
            2
        );
        let debtors = json(&mut auditor, "/v1/lists/dishonest-debtors").await;
        assert_eq!(debtors["entries"][0]["subject_id"], PERSON, "{debtors}");
        let mut portal = ApiClient::connect(&api, &certs_dir, "portal", Protocol::Http2)
            .await
            .expect("h2");
        let refused = portal
            .get("/v1/lists/black-list?audience=government")
            .await
            .expect("answer");
        assert_eq!(refused.status, 403, "{refused:?}");
        assert!(refused.body.contains("may not"), "{refused:?}");
        let unknown = portal.get("/v1/lists/grey-list").await.expect("answer");
        assert_eq!(unknown.status, 404);
        assert!(unknown
            .body
            .contains("red-list, black-list, dishonest-debtors"));
        // What the layers refuse is answered in the same JSON shape.
        let posted = portal
            .request(Method::POST, "/v1/lists/black-list", Bytes::new())
            .await
            .expect("answer");
        assert_eq!(
            (posted.status, posted.body.as_str()),
            (405, r#"{"error":"GET only"}"#)
        );
        let big = Bytes::from(vec![b'x'; 16 * 1024]);
        let bodied = auditor
            .request(Method::GET, "/v1/lists/red-list", big)
            .await
            .expect("answer");
        assert_eq!(bodied.status, 413, "{bodied:?}");
        assert!(
            bodied.content_type.starts_with("application/json"),
            "{bodied:?}"
        );
        assert!(bodied.body.starts_with(r#"{"error":"#), "{bodied:?}");
    });

    // Every route, every audience, through a client that is not ours.
    let openapi = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
    let python = python(&openapi);
    for (role, name) in [
        ("client", "agency"),
        ("public", "portal"),
        ("auditor", "auditor"),
    ] {
        let out = Command::new(&python)
            .arg(openapi.join("check.py"))
            .arg(format!(
                "https://localhost:{}",
                api.rsplit(':').next().expect("a port")
            ))
            .arg(certs_dir.join(certs::client_cert_file(name)))
            .arg(certs_dir.join(certs::client_key_file(name)))
            .arg(certs_dir.join(certs::CA_CERT))
            .args(["--role", role, "--company", &uscc, "--person", PERSON])
            .args(["--name", "示例科技"])
            .arg("--metrics")
            .arg(format!("http://{}", node.metrics))
            .output()
            .expect("runs check.py");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "as {role}:\n{text}");
        assert!(text.contains(" 0 failed"), "as {role}:\n{text}");
        println!("check.py as {role}: {}", text.lines().last().unwrap_or(""));
    }
}
