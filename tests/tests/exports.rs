//! `credit-admin export` against a running node: files of every layout imported at a
//! province, exported with full numbers by an auditor (CSV and xlsx) and imported
//! into a fresh store of the same origin give the same records; masked exports hide
//! personal numbers; full numbers need an auditor and are audit-logged; the national
//! hub exports the province's records after a round.

mod common;

use common::{cli, json, text};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use credithub_node::certs::{self, Role};
use credithub_node::store::read::Scan;
use credithub_node::Store;
use credithub_protocol::ids::SubjectKind;
use credithub_protocol::{DivisionCode, RecordBody, RecordKey, RecordKind};
use credithub_scenarios::federation::cluster::Cluster;
use credithub_scenarios::generate::{
    write_csv, write_xlsx, CsvOptions, Encoding, FileKind, Generator, GeneratorConfig, HeaderStyle,
};

fn records(dir: &Path) -> BTreeMap<RecordKey, RecordBody> {
    let store = Store::open(dir, None).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut all = BTreeMap::new();
    let scan = Scan {
        origin: DivisionCode::NATIONAL,
        kind: None,
        tombstones: false,
    };
    store
        .scan(scan, |r| {
            if let Some(b) = r.body {
                all.insert(r.key, b);
            }
            true
        })
        .expect("scan");
    all
}

/// Generated files of every layout, penalties and licences, at `origin`; returns
/// their paths and the resident identity numbers of the natural persons in them.
fn generated(dir: &Path, origin: DivisionCode) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut personal = Vec::new();
    let layouts = [
        (FileKind::Penalty, HeaderStyle::Codes, Encoding::Utf8),
        (FileKind::Penalty, HeaderStyle::Pre2019, Encoding::Gb18030),
        (FileKind::Licence, HeaderStyle::Chinese2016, Encoding::Utf8),
        (FileKind::Licence, HeaderStyle::Chinese, Encoding::Gb18030),
    ];
    for (n, (kind, headers, encoding)) in layouts.into_iter().enumerate() {
        let mut g = Generator::new(40 + n as u64, GeneratorConfig::for_count(origin, 120))
            .expect("generator");
        let bodies: Vec<RecordBody> = (0..120).map(|_| g.record(kind.record_kind())).collect();
        personal.extend(
            bodies
                .iter()
                .filter(|b| b.subject.kind == SubjectKind::NaturalPerson)
                .map(|b| b.subject.id.unmasked()),
        );
        let path = dir.join(format!("in-{n}.csv"));
        let out = std::io::BufWriter::new(std::fs::File::create(&path).expect("file"));
        let options = CsvOptions {
            headers,
            encoding,
            ..CsvOptions::default()
        };
        write_csv(kind, bodies, out, &options).expect("write");
        files.push(path);
    }
    let mut g = Generator::new(77, GeneratorConfig::for_count(origin, 100)).expect("generator");
    let bodies: Vec<RecordBody> = (0..100).map(|_| g.record(RecordKind::PENALTY)).collect();
    let path = dir.join("in-book.xlsx");
    write_xlsx(
        FileKind::Penalty,
        bodies,
        &path,
        "行政处罚",
        &CsvOptions::default(),
    )
    .expect("xlsx");
    files.push(path);
    (files, personal)
}

/// Node `i`'s penalties exported as an admin (masked CSV) to `out`, with `extra`
/// arguments; returns the file's text.
fn masked_penalties(cluster: &Cluster, i: usize, out: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "export",
        "--format",
        "national-csv",
        "--kind",
        "penalty",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    let o = cli(cluster, i, "admin", &args);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::read_to_string(out).expect("exported file")
}

#[test]
fn exports_from_a_running_node_reimport_to_the_same_records() {
    let dir = tempfile::tempdir().expect("tmp");
    let jiangsu = DivisionCode::parse("320000").expect("code");
    let specs = common::under_national("jiangsu", jiangsu);
    let mut cluster = Cluster::start(
        &dir.path().join("fed"),
        specs,
        vec![RecordKind::PENALTY, RecordKind::LICENCE],
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
    certs::create_client(
        &cluster.nodes[1].dir.join("certs"),
        cluster.ca_key(),
        Role::Auditor,
        jiangsu,
        "auditor",
        20,
        false,
    )
    .expect("auditor cert");

    let (files, personal) = generated(dir.path(), jiangsu);
    assert!(!personal.is_empty(), "the files hold natural persons");
    for f in &files {
        let o = cli(&cluster, 1, "admin", &["import", &f.to_string_lossy()]);
        assert!(o.status.success(), "{}: {}", f.display(), text(&o));
    }

    // Full numbers: an admin certificate may not, an auditor with a purpose may.
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let o = cli(
        &cluster,
        1,
        "admin",
        &[
            "export",
            "--format",
            "national-csv",
            "--full-numbers",
            "--purpose",
            "迁移",
            "--out",
            &out("no.csv"),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("Auditor"), "{}", text(&o));
    assert!(!Path::new(&out("no.csv")).exists() && !Path::new(&out("no-penalty.csv")).exists());

    let full = |format: &str, file: &str, extra: &[&str]| {
        let mut args = vec![
            "export",
            "--summary",
            "json",
            "--format",
            format,
            "--full-numbers",
            "--purpose",
            "数据迁移核对",
            "--out",
        ];
        let file = out(file);
        args.push(&file);
        args.extend_from_slice(extra);
        json(&cli(&cluster, 1, "auditor", &args))
    };
    let csv = full("national-csv", "all.csv", &[]);
    let book = full("xlsx", "all.xlsx", &["--headers", "chinese"]);
    let rows = |v: &serde_json::Value| -> u64 {
        v.as_array()
            .expect("files")
            .iter()
            .map(|f| f["rows"].as_u64().expect("rows"))
            .sum()
    };
    assert_eq!(rows(&csv), 580, "every imported row is exported: {csv}");
    assert_eq!(rows(&book), 580, "{book}");
    assert!(
        csv[0]["extra_columns"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "DFBM")),
        "the older layouts' local code is kept: {csv}"
    );
    let audit = text(&cli(&cluster, 1, "auditor", &["audit", "list"]));
    assert!(
        audit.contains("export with full personal numbers"),
        "{audit}"
    );

    // Masked: no natural person's number in full.
    let masked = masked_penalties(&cluster, 1, &out("masked.csv"), &[]);
    for id in &personal {
        assert!(!masked.contains(id.as_str()), "{id} written in full");
    }

    // After a round, the national hub exports the province's records too.
    let o = cli(&cluster, 1, "admin", &["reconcile", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        masked_penalties(&cluster, 0, &out("national.csv"), &["--origin", "320000"]),
        masked,
        "the hub writes the same file as the origin"
    );

    // Re-imported into fresh stores of the same origin: the same records.
    cluster.stop_node(1, false);
    let held = records(&cluster.nodes[1].dir.join("data"));
    assert_eq!(held.len(), 580);
    for (name, files) in [
        (
            "from-csv",
            vec![out("all-penalty.csv"), out("all-licence.csv")],
        ),
        (
            "from-xlsx",
            vec![out("all-penalty.xlsx"), out("all-licence.xlsx")],
        ),
    ] {
        let fresh = dir.path().join(name);
        let mut cmd = Command::new(common::admin_binary());
        cmd.args(["import", "--data-dir"])
            .arg(&fresh)
            .args(["--jurisdiction", "320000"])
            .args(&files)
            .env_remove("CREDIT_NODE")
            .env_remove("CREDIT_FORMAT");
        let o = cmd.output().expect("credit-admin runs");
        assert!(o.status.success(), "{name}: {}", text(&o));
        assert_eq!(records(&fresh), held, "{name}: the same records");
    }
}
