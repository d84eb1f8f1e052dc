//! The real `credit-admin cert …` commands in temporary directories.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_credit-admin"))
        .args(args)
        .env_remove("CREDIT_CERTS_DIR")
        .env_remove("CREDIT_CA_KEY")
        .env_remove("CREDIT_FORMAT")
        .output()
        .expect("credit-admin runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs a command that must succeed and returns its stdout.
fn ok(args: &[&str]) -> String {
    let out = admin(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn create_and_list_a_certs_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    let ca_key = tmp.path().join("safe/ca.key");
    let (certs_s, ca_key_s) = (certs.to_str().unwrap(), ca_key.to_str().unwrap());
    let signing = ["--certs-dir", certs_s, "--ca-key", ca_key_s];

    let out = ok(&[&["cert", "create-ca"][..], &signing].concat());
    assert!(out.contains("ca.crt"), "{out}");
    let out = ok(&[
        &["cert", "create-node"][..],
        &signing,
        &["--jurisdiction", "320500", "--name", "suzhou"],
        &["--host", "node1.suzhou.example", "--host", "10.1.2.3"],
    ]
    .concat());
    assert!(out.contains("node.crt") && out.contains("苏州市"), "{out}");
    let out = ok(&[
        &["--format", "json", "cert", "create-client"][..],
        &signing,
        &[
            "--role",
            "admin",
            "--jurisdiction",
            "320000",
            "--name",
            "ops",
        ],
    ]
    .concat());
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["role"], "admin");
    assert_eq!(created["jurisdiction"], "320000");
    ok(&[
        &["cert", "create-client"][..],
        &signing,
        &[
            "--role",
            "client",
            "--jurisdiction",
            "000000",
            "--name",
            "national-query",
        ],
        &["--lifetime-days", "30"],
    ]
    .concat());

    assert_eq!(mode(&ca_key), 0o600);
    for key in ["node.key", "client.ops.key", "client.national-query.key"] {
        assert_eq!(mode(&certs.join(key)), 0o600, "{key}");
    }

    // JSON listing, with the certs directory from the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_credit-admin"))
        .args(["cert", "list", "--format", "json"])
        .env("CREDIT_CERTS_DIR", &certs)
        .env_remove("CREDIT_FORMAT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "ca.crt",
            "client.national-query.crt",
            "client.ops.crt",
            "node.crt"
        ]
    );
    assert_eq!(list[0]["is_ca"], true);
    assert_eq!(list[1]["jurisdiction"], "000000");
    assert_eq!(list[1]["role"], "client");
    let node = &list[3];
    assert_eq!(node["role"], "node");
    assert_eq!(node["name"], "suzhou");
    assert_eq!(node["jurisdiction"], "320500");
    assert_eq!(node["jurisdiction_name"], "苏州市");
    assert_eq!(
        node["hosts"],
        serde_json::json!(["node1.suzhou.example", "10.1.2.3"])
    );
    assert_eq!(node["expired"], false);

    // The table names each certificate's holder and jurisdiction.
    let table = ok(&["cert", "list", "--certs-dir", certs_s]);
    for want in [
        "FILE",
        "EXPIRES",
        "node.crt",
        "suzhou",
        "320500 苏州市",
        "ca",
    ] {
        assert!(table.contains(want), "{want} missing from\n{table}");
    }
}

#[test]
fn refuses_overwrites_bad_jurisdictions_and_open_ca_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    let ca_key = tmp.path().join("ca.key");
    let (certs_s, ca_key_s) = (certs.to_str().unwrap(), ca_key.to_str().unwrap());
    let signing = ["--certs-dir", certs_s, "--ca-key", ca_key_s];
    let node = |extra: &[&str]| {
        admin(
            &[
                &["cert", "create-node"][..],
                &signing,
                &["--jurisdiction", "320500", "--name", "suzhou"],
                extra,
            ]
            .concat(),
        )
    };

    // No CA yet.
    let out = node(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ca.crt"), "{}", stderr(&out));

    ok(&[&["cert", "create-ca"][..], &signing].concat());
    let out = admin(&[&["cert", "create-ca"][..], &signing].concat());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    let out = node(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = node(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("node.") && stderr(&out).contains("--overwrite"),
        "{}",
        stderr(&out)
    );
    let out = node(&["--overwrite"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = admin(
        &[
            &["cert", "create-client"][..],
            &signing,
            &[
                "--role",
                "client",
                "--jurisdiction",
                "320005",
                "--name",
                "app",
            ],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("320005") && err.contains("jurisdiction"),
        "{err}"
    );

    std::fs::set_permissions(&ca_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = admin(
        &[
            &["cert", "create-client"][..],
            &signing,
            &[
                "--role",
                "admin",
                "--jurisdiction",
                "320500",
                "--name",
                "ops",
            ],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("ca.key") && err.contains("0644"), "{err}");

    let missing = tmp.path().join("missing.key");
    let out = admin(&[
        "cert",
        "create-client",
        "--certs-dir",
        certs_s,
        "--ca-key",
        missing.to_str().unwrap(),
        "--role",
        "admin",
        "--jurisdiction",
        "320500",
        "--name",
        "ops",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.key"), "{}", stderr(&out));
}
