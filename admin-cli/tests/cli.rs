//! The real `credit-admin` binary against real stores and the import fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_credit-admin"))
        .args(args)
        .env_remove("CREDIT_DATA_DIR")
        .env_remove("CREDIT_FORMAT")
        .output()
        .expect("credit-admin runs")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../node/tests/fixtures/import")
        .join(name)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn validate_says_why_and_exits_non_zero_on_any_invalid_code() {
    let ok = admin(&[
        "validate",
        "uscc",
        "91110000600037341L",
        "91340600MA2PBM9HXD",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));

    let out = admin(&[
        "--format",
        "json",
        "validate",
        "uscc",
        "91110000600037341N",
        "91350100M0001TGQXM",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v[0]["valid"], false);
    assert!(
        v[0]["detail"].as_str().unwrap().contains("position 18"),
        "{v}"
    );
    assert_eq!(v[1]["valid"], true);
    assert_eq!(v[1]["flags"][0], "pilot-check-exception");

    let out = admin(&[
        "--format",
        "json",
        "validate",
        "ric",
        "11010519491231002X",
        "360426199113010079",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v[0]["input"], "110105********002X");
    assert_eq!(v[1]["input"], "360426********0079");
    assert!(v[1]["detail"].as_str().unwrap().contains("birth date"));

    let out = admin(&["validate", "region", "320584"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unlisted"));
}

#[test]
fn import_reports_rejects_is_idempotent_and_verifies_clean() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let data = data.to_str().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let file = fixture("penalties-codes-utf8.csv");

    let out = admin(&[
        "--format",
        "json",
        "import",
        "--data-dir",
        data,
        "--jurisdiction",
        "320500",
        "--rejects",
        rejects.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "rejected rows exit 3: {}",
        stderr(&out)
    );
    let s = &json(&out)[0];
    assert_eq!(
        (
            s["rows"].as_u64(),
            s["valid"].as_u64(),
            s["rejected"].as_u64()
        ),
        (Some(14), Some(8), Some(6)),
        "{s}"
    );
    assert_eq!(s["inserted"], 8);
    let lines: Vec<u64> = s["first_rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![4, 5, 6, 7, 8, 14]);
    let reject_text = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(reject_text.lines().count(), 1 + 6, "{reject_text}");
    assert!(reject_text.contains("CF_XDR_SHXYM"));
    // The reject file keeps the original row for correction, but reasons are masked.
    let reasons = s["first_rejects"].to_string();
    assert!(
        reasons.contains("CF_XDR_ZJHM") && !reasons.contains("360426199113010079"),
        "{reasons}"
    );

    // Re-importing the same file changes nothing.
    let out = admin(&[
        "--format",
        "json",
        "import",
        "--data-dir",
        data,
        "--rejects",
        rejects.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    let s = &json(&out)[0];
    assert_eq!(
        (
            s["inserted"].as_u64(),
            s["updated"].as_u64(),
            s["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(8)),
        "{s}"
    );

    // The same decisions with Chinese headers in GB18030 are the same records.
    let out = admin(&[
        "--format",
        "json",
        "import",
        "--data-dir",
        data,
        "--rejects",
        rejects.to_str().unwrap(),
        fixture("penalties-chinese-gb18030.csv").to_str().unwrap(),
    ]);
    let s = &json(&out)[0];
    assert_eq!(s["encoding"], "gb18030");
    // Four of its five valid rows state decisions already imported from the codes file
    // (some with different extra columns, hence new versions); one is new.
    assert_eq!(s["inserted"], 1, "{s}");
    assert_eq!(
        s["unchanged"].as_u64().unwrap() + s["updated"].as_u64().unwrap(),
        4,
        "{s}"
    );

    // Licences in GBK and UTF-8 with BOM.
    for name in ["licences-codes-gbk.csv", "licences-chinese-utf8-bom.csv"] {
        let out = admin(&[
            "--format",
            "json",
            "import",
            "--data-dir",
            data,
            "--rejects",
            rejects.to_str().unwrap(),
            fixture(name).to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(3), "{name}: {}", stderr(&out));
        assert_eq!(json(&out)[0]["kind"], "licence");
    }

    let out = admin(&["verify", "--data-dir", data]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));

    let out = admin(&[
        "--format",
        "json",
        "query",
        "--data-dir",
        data,
        "--subject",
        "91320583MA1MXQ7K8J",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let answer = json(&out);
    let records = &answer["records"];
    assert!(!records.as_array().unwrap().is_empty());
    assert!(records
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["origin"] == "320500"));

    // A natural person's number never appears unmasked.
    let out = admin(&[
        "--format",
        "json",
        "query",
        "--data-dir",
        data,
        "--subject",
        "11010519491231002X",
    ]);
    assert_eq!(out.status.code(), Some(1), "a purpose is required");
    let out = admin(&[
        "query",
        "--data-dir",
        data,
        "--subject",
        "11010519491231002X",
        "--purpose",
        "复核",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("110105********002X") && !text.contains("11010519491231002X"),
        "{text}"
    );

    let out = admin(&["--format", "json", "stats", "--data-dir", data]);
    let v = json(&out);
    assert_eq!(
        v["jurisdiction"].as_str().unwrap().split(' ').next(),
        Some("320500")
    );
    assert!(v["records"].as_i64().unwrap() >= 7);
}

#[test]
fn clear_errors_for_missing_files_stores_and_wrong_jurisdictions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let data = data.to_str().unwrap();

    let out = admin(&[
        "import",
        "--data-dir",
        data,
        "--jurisdiction",
        "320500",
        "/nonexistent/penalties.csv",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/penalties.csv"),
        "{}",
        stderr(&out)
    );

    let out = admin(&[
        "verify",
        "--data-dir",
        dir.path().join("nothing").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no store"), "{}", stderr(&out));

    let out = admin(&[
        "import",
        "--data-dir",
        data,
        "--jurisdiction",
        "330100",
        fixture("licences-codes-gbk.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("belongs to jurisdiction 320500"),
        "{}",
        stderr(&out)
    );

    let out = admin(&[
        "import",
        "--data-dir",
        data,
        "--jurisdiction",
        "32050",
        "x.csv",
    ]);
    assert_eq!(out.status.code(), Some(2), "bad usage exits 2");
    assert!(stderr(&out).contains("--jurisdiction"), "{}", stderr(&out));
}
