//! Red and black lists as operators run them, on a real three-tier federation: a
//! black list imported at the national hub and one at a province, proposed, reviewed
//! and confirmed by a second administrator, reaching the subscribed cities and
//! triggering joint measures only after confirmation and no longer after removal; a
//! rejected entry that never leaves its origin. Then one subject across its codes: a
//! company's records under its USCC and its old organisation code found from either,
//! and a passport holder's penalty imported and found by the passport number.

mod common;

use common::{cli, eventually, json, keys_of, procurement_measures, text};

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use credithub_node::certs::{self, Role};
use credithub_protocol::testing::body_about;
use credithub_protocol::DivisionCode;
use credithub_scenarios::federation::cluster::Cluster;
use credithub_scenarios::federation::{subscriptions, three_tier_specs};

const NATIONAL: usize = 0;
const JIANGSU: usize = 1;
const SUZHOU: usize = 3;

/// The second administrator of a node (the first is the cluster's `admin`).
const REVIEWER: &str = "reviewer";

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

fn query(cluster: &Cluster, i: usize, subject: &str, more: &[&str]) -> serde_json::Value {
    let mut args = vec!["--format", "json", "query", "--subject", subject];
    args.extend_from_slice(more);
    json(&cli(cluster, i, "admin", &args))
}

fn entries(cluster: &Cluster, i: usize, state: &str) -> Vec<serde_json::Value> {
    let v = json(&cli(
        cluster,
        i,
        "admin",
        &["--format", "json", "list", "ls", "--state", state],
    ));
    v.as_array().cloned().unwrap_or_default()
}

/// A black-list file of one entry about `uscc`, with Chinese headers as published.
fn black_list_file(path: &Path, name: &str, uscc: &str, authority: &str, decision: &str) {
    let csv = format!(
        "名单名称,名单类型,主体名称,统一社会信用代码,认定单位,认定依据,认定文号,列入事由,列入日期,有效期至\n\
         重大税收违法失信主体名单,黑名单,{name},{uscc},{authority},《重大税收违法失信主体信息公布管理办法》,{decision},虚开增值税专用发票,2026-06-01,2029-05-31\n"
    );
    std::fs::write(path, csv).expect("list file written");
}

#[test]
fn lists_are_reviewed_before_they_travel_and_subjects_are_found_by_every_code() {
    let dir = tempfile::tempdir().expect("tmp");
    let measures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config/measures.toml");
    let measures = measures.to_string_lossy().into_owned();
    let cluster = Cluster::start_with(
        &dir.path().join("fed"),
        three_tier_specs(),
        subscriptions(),
        Duration::from_millis(500),
        |_| format!("measures_file = {measures:?}\n"),
    )
    .expect("federation starts");
    for i in [NATIONAL, JIANGSU, SUZHOU] {
        let spec = &cluster.nodes[i].spec;
        certs::create_client(
            &cluster.nodes[i].dir.join("certs"),
            cluster.ca_key(),
            Role::Admin,
            spec.jurisdiction,
            REVIEWER,
            20,
            false,
        )
        .expect("second admin certificate");
    }

    // Two Suzhou companies: one listed by the national hub, one by Jiangsu.
    let national_subject = body_about(11, "320583").subject.id.unmasked();
    let province_subject = body_about(12, "320585").subject.id.unmasked();
    let national_file = dir.path().join("national-black.csv");
    black_list_file(
        &national_file,
        "苏州示例贸易有限公司",
        &national_subject,
        "国家税务总局",
        "税总发〔2026〕11号",
    );
    let province_file = dir.path().join("jiangsu-black.csv");
    black_list_file(
        &province_file,
        "苏州示例制造有限公司",
        &province_subject,
        "国家税务总局江苏省税务局",
        "苏税〔2026〕12号",
    );

    // A second Jiangsu entry, about a Changshu company, that will be confirmed.
    let confirmed_subject = body_about(13, "320581").subject.id.unmasked();
    let confirmed_file = dir.path().join("jiangsu-black-2.csv");
    black_list_file(
        &confirmed_file,
        "常熟示例纺织有限公司",
        &confirmed_subject,
        "国家税务总局江苏省税务局",
        "苏税〔2026〕13号",
    );

    // 1. Imported, each entry is proposed by the importing administrator.
    let imported = json(&cli(
        &cluster,
        NATIONAL,
        "admin",
        &[
            "--format",
            "json",
            "import",
            national_file.to_str().expect("utf-8"),
        ],
    ));
    assert_eq!(imported[0]["kind"], "list", "{imported}");
    assert_eq!(imported[0]["inserted"], 1, "{imported}");
    ok(cli(
        &cluster,
        JIANGSU,
        "admin",
        &["import", province_file.to_str().expect("utf-8")],
    ));
    let proposed = entries(&cluster, NATIONAL, "proposed");
    assert_eq!(proposed.len(), 1, "{proposed:?}");
    let national_key = proposed[0]["key"].as_str().expect("key").to_string();
    assert_eq!(proposed[0]["trail"][0][1], "admin");
    let province_key = entries(&cluster, JIANGSU, "proposed")[0]["key"]
        .as_str()
        .expect("key")
        .to_string();
    ok(cli(
        &cluster,
        JIANGSU,
        "admin",
        &["import", confirmed_file.to_str().expect("utf-8")],
    ));
    let confirmed_key = entries(&cluster, JIANGSU, "proposed")
        .iter()
        .filter_map(|e| e["key"].as_str())
        .find(|k| *k != province_key)
        .expect("the second entry")
        .to_string();

    // 2. Not yet confirmed: nowhere to be found, no measure, not even at the origin.
    ok(cli(
        &cluster,
        NATIONAL,
        "admin",
        &["reconcile", "--children", "--yes"],
    ));
    for node in [NATIONAL, JIANGSU, SUZHOU] {
        assert!(keys_of(&query(&cluster, node, &national_subject, &[])).is_empty());
        assert_eq!(
            procurement_measures(&cluster, node, &national_subject).unwrap_or(0),
            0
        );
    }

    // 3. The proposer may neither review nor confirm; a reviewed entry is confirmed
    //    by another administrator, which publishes it.
    let refused = cli(
        &cluster,
        NATIONAL,
        "admin",
        &["list", "review", &national_key],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("another administrator"),
        "{}",
        text(&refused)
    );
    let early = cli(
        &cluster,
        NATIONAL,
        REVIEWER,
        &["list", "confirm", &national_key],
    );
    assert!(!early.status.success(), "confirmed before review");
    ok(cli(
        &cluster,
        NATIONAL,
        REVIEWER,
        &["list", "review", &national_key, "--note", "依据充分"],
    ));
    ok(cli(
        &cluster,
        NATIONAL,
        REVIEWER,
        &["list", "confirm", &national_key],
    ));
    let shown = json(&cli(
        &cluster,
        NATIONAL,
        "admin",
        &["--format", "json", "list", "show", &national_key],
    ));
    let steps: Vec<(String, String)> = shown[0]["trail"]
        .as_array()
        .expect("trail")
        .iter()
        .map(|s| {
            (
                s[0].as_str().unwrap_or("").into(),
                s[1].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("proposed".into(), "admin".into()),
            ("reviewed".into(), REVIEWER.into()),
            ("confirmed".into(), REVIEWER.into()),
            ("published".into(), REVIEWER.into()),
        ]
    );

    // 4. It reaches the subscribed city and measures apply there.
    eventually("the confirmed entry reaches Suzhou", || {
        keys_of(&query(&cluster, SUZHOU, &national_subject, &[])).contains(&national_key)
    });
    assert!(procurement_measures(&cluster, SUZHOU, &national_subject).unwrap_or(0) > 0);

    // 5. Jiangsu's entry is rejected: it never leaves its origin.
    let no_reason = cli(
        &cluster,
        JIANGSU,
        REVIEWER,
        &["list", "reject", &province_key],
    );
    assert!(!no_reason.status.success());
    ok(cli(
        &cluster,
        JIANGSU,
        REVIEWER,
        &["list", "reject", &province_key, "--note", "认定文书不全"],
    ));
    ok(cli(&cluster, JIANGSU, "admin", &["reconcile", "--yes"]));
    ok(cli(
        &cluster,
        JIANGSU,
        "admin",
        &["reconcile", "--children", "--yes"],
    ));
    for node in [NATIONAL, JIANGSU, SUZHOU] {
        assert!(
            keys_of(&query(&cluster, node, &province_subject, &[])).is_empty(),
            "a rejected entry was found at node {node}"
        );
    }
    assert_eq!(entries(&cluster, JIANGSU, "rejected").len(), 1);
    assert!(entries(&cluster, NATIONAL, "rejected").is_empty());

    // The other Jiangsu entry, reviewed and confirmed by the second administrator,
    // reaches the national hub and the subscribed city, where measures apply.
    ok(cli(
        &cluster,
        JIANGSU,
        REVIEWER,
        &["list", "review", &confirmed_key],
    ));
    ok(cli(
        &cluster,
        JIANGSU,
        REVIEWER,
        &["list", "confirm", &confirmed_key],
    ));
    for node in [NATIONAL, SUZHOU] {
        eventually("the province's confirmed entry travels", || {
            keys_of(&query(&cluster, node, &confirmed_subject, &[])).contains(&confirmed_key)
        });
    }
    assert!(procurement_measures(&cluster, SUZHOU, &confirmed_subject).unwrap_or(0) > 0);

    // 6. Removed on performance: the effects end everywhere.
    ok(cli(
        &cluster,
        NATIONAL,
        "admin",
        &[
            "list",
            "remove",
            &national_key,
            "--cause",
            "performed",
            "--reason",
            "已补缴税款及滞纳金",
            "--yes",
        ],
    ));
    eventually("the removal reaches Suzhou", || {
        procurement_measures(&cluster, SUZHOU, &national_subject).unwrap_or(0) == 0
    });
    assert!(keys_of(&query(&cluster, SUZHOU, &national_subject, &[])).is_empty());

    // 7. One company, two codes: a penalty under its USCC and one under the old
    //    organisation code inside it; a passport holder's penalty.
    let penalties = dir.path().join("penalties.csv");
    std::fs::write(
        &penalties,
        "CF_XDR_MC,CF_XDR_LB,CF_XDR_SHXYM,CF_XDR_ZZJG,CF_XDR_ZJLX,CF_XDR_ZJHM,CF_WSH,CF_JDRQ,CF_CFJG,CF_CFLB,CF_NR\n\
         示例科技有限公司,法人及非法人组织,91110000600037341L,,,,苏市监罚〔2026〕1号,2026-05-01,苏州市市场监督管理局,罚款,罚款一万元\n\
         示例科技有限公司,法人及非法人组织,,600037341,,,苏市监罚〔2015〕2号,2015-05-01,苏州市工商行政管理局,罚款,罚款五千元\n\
         JOHN SMITH,自然人,,,护照,E12345678,苏市监罚〔2026〕3号,2026-05-02,苏州市市场监督管理局,警告,警告\n",
    )
    .expect("penalty file");
    let imported = json(&cli(
        &cluster,
        SUZHOU,
        "admin",
        &[
            "--format",
            "json",
            "import",
            penalties.to_str().expect("utf-8"),
        ],
    ));
    assert_eq!(imported[0]["rejected"], 0, "{imported}");
    assert_eq!(imported[0]["inserted"], 3, "{imported}");
    for code in ["91110000600037341L", "600037341", "60003734-1"] {
        let a = query(&cluster, SUZHOU, code, &[]);
        assert_eq!(keys_of(&a).len(), 2, "by {code}: {a}");
        assert!(
            a["aliases"].as_array().is_some_and(|x| !x.is_empty()),
            "the answer names the codes it went through: {a}"
        );
    }
    let a = query(
        &cluster,
        SUZHOU,
        "passport:E12345678",
        &["--purpose", "行政审批核查"],
    );
    assert_eq!(keys_of(&a).len(), 1, "{a}");
    assert_eq!(a["subject"], "E1*****78", "{a}");

    // 8. Search by name: a company by a two-character fragment of its name; a natural
    //    person for a government reader, never for the public.
    certs::create_client(
        &cluster.nodes[SUZHOU].dir.join("certs"),
        cluster.ca_key(),
        Role::Public,
        DivisionCode::NATIONAL,
        "portal",
        20,
        false,
    )
    .expect("public certificate");
    let search = |client: &str, name: &str| {
        json(&cli(
            &cluster,
            SUZHOU,
            client,
            &["--format", "json", "search", name],
        ))
    };
    let found = search("admin", "科技");
    assert!(
        found["hits"]
            .as_array()
            .is_some_and(|h| h.iter().any(|h| h["subject"] == "91110000600037341L")),
        "{found}"
    );
    assert_eq!(search("admin", "SMITH")["total"], 1);
    assert_eq!(search("portal", "SMITH")["total"], 0);
    assert!(search("portal", "科技")["total"].as_u64() > Some(0));
    let one = cli(&cluster, SUZHOU, "admin", &["search", "科"]);
    assert!(!one.status.success(), "one character is too short");
}
