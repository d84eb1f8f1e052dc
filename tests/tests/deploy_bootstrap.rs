//! The deployment files: `deploy/bootstrap-federation.sh` run for real with the built
//! `credit-admin` (a CA kept apart, each node's certs directory complete with private
//! keys, a second run refused, a malformed argument named), and cheap sanity checks of
//! the systemd unit and the Containerfile.

mod common;

use common::{admin_binary, text};

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use credithub_node::certs::{self, Role};

/// The three nodes of the test federation: name, jurisdiction, hosts.
const NODES: [(&str, &str, &str); 3] = [
    ("national", "000000", "hub.example.gov.cn,localhost"),
    ("jiangsu", "320000", "js.example.gov.cn,127.0.0.1"),
    ("suzhou", "320500", "sz.example.gov.cn"),
];

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Runs the bootstrap script with `args`, against the built credit-admin.
fn bootstrap(args: &[String]) -> Output {
    Command::new("bash")
        .arg(deploy_dir().join("bootstrap-federation.sh"))
        .args(args)
        .env("CREDIT_ADMIN", admin_binary())
        .env_remove("CREDIT_CERTS_DIR")
        .env_remove("CREDIT_CA_KEY")
        .env_remove("CREDIT_FORMAT")
        .output()
        .expect("bash runs")
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn node_args(out: &Path) -> Vec<String> {
    let mut args = vec![out.display().to_string()];
    args.extend(NODES.iter().map(|(n, j, h)| format!("{n}:{j}:{h}")));
    args
}

#[test]
fn bootstrap_creates_a_federation_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("fed");
    let args = node_args(&out);

    let o = bootstrap(&args);
    assert!(o.status.success(), "bootstrap failed:\n{}", text(&o));
    let printed = text(&o);

    // The CA, apart from every certs directory.
    let ca_key = out.join("ca/ca.key");
    assert!(ca_key.is_file(), "no ca/ca.key:\n{printed}");
    assert_eq!(mode(&ca_key), 0o600);
    let ca_crt = fs::read(out.join("ca/ca.crt")).expect("ca/ca.crt");

    for (name, jurisdiction, hosts) in NODES {
        let certs = out.join(name).join("certs");
        for file in [
            "ca.crt",
            "node.crt",
            "node.key",
            "client.admin.crt",
            "client.admin.key",
        ] {
            assert!(certs.join(file).is_file(), "{name}: no {file}");
        }
        assert!(
            !certs.join("ca.key").exists(),
            "{name}: the CA key sits in certs"
        );
        assert_eq!(mode(&certs.join("node.key")), 0o600, "{name}: node.key");
        assert_eq!(
            mode(&certs.join("client.admin.key")),
            0o600,
            "{name}: client.admin.key"
        );
        assert_eq!(
            fs::read(certs.join("ca.crt")).expect("ca.crt"),
            ca_crt,
            "{name}: another CA"
        );

        // The certificates say what the argument asked for.
        let infos = certs::list(&certs).expect("cert list");
        let node = infos
            .iter()
            .find(|i| i.file == "node.crt")
            .expect("node.crt listed");
        assert_eq!(node.role, Some(Role::Node), "{name}");
        assert_eq!(node.name.as_deref(), Some(name));
        assert_eq!(
            node.jurisdiction.map(|j| j.to_string()).as_deref(),
            Some(jurisdiction)
        );
        for host in hosts.split(',') {
            assert!(
                node.hosts.iter().any(|h| h == host),
                "{name}: {host} not in {:?}",
                node.hosts
            );
        }
        let admin = infos
            .iter()
            .find(|i| i.file == "client.admin.crt")
            .expect("client.admin.crt listed");
        assert_eq!(admin.role, Some(Role::Admin), "{name}");
        assert_eq!(
            admin.jurisdiction.map(|j| j.to_string()).as_deref(),
            Some(jurisdiction)
        );
        assert!(
            printed.contains(&certs.display().to_string()),
            "{name} not listed"
        );
    }

    // No certs directory anywhere holds the CA key, and no scratch directory is left.
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            let file = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            assert!(
                !file.starts_with(".bootstrap"),
                "left over: {}",
                path.display()
            );
            if path.is_dir() {
                stack.push(path);
            } else if file == "ca.key" {
                assert_eq!(path, ca_key, "a CA key outside ca/");
            }
        }
    }

    // A second run refuses and leaves the CA alone.
    let before = fs::read(&ca_key).expect("ca.key");
    let again = bootstrap(&args);
    assert!(!again.status.success(), "second run succeeded");
    let msg = text(&again);
    assert!(
        msg.contains("already exists") && msg.contains("CA"),
        "refusal does not mention the existing CA:\n{msg}"
    );
    assert_eq!(
        fs::read(&ca_key).expect("ca.key"),
        before,
        "CA key replaced"
    );
}

#[test]
fn bootstrap_names_a_malformed_argument() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("fed");
    for bad in [
        "suzhou:32050:localhost",
        "Suzhou:320500:localhost",
        "suzhou:320500",
        "suzhou:320500:",
    ] {
        let args = vec![
            out.display().to_string(),
            "jiangsu:320000:localhost".to_string(),
            bad.to_string(),
        ];
        let o = bootstrap(&args);
        assert!(!o.status.success(), "{bad} accepted:\n{}", text(&o));
        let msg = String::from_utf8_lossy(&o.stderr);
        assert!(msg.contains(bad), "{bad} not named:\n{msg}");
        assert!(!out.join("ca").exists(), "{bad}: a CA was created");
    }

    // A jurisdiction only credit-admin can refuse (province 99 does not exist): still
    // nothing is left behind.
    let o = bootstrap(&[
        out.display().to_string(),
        "national:000000:localhost".into(),
        "nowhere:990000:localhost".into(),
    ]);
    assert!(!o.status.success(), "990000 accepted:\n{}", text(&o));
    assert!(
        text(&o).contains("nowhere:990000:localhost"),
        "{}",
        text(&o)
    );
    assert!(!out.join("ca").exists() && !out.join("national").exists());
}

#[test]
fn systemd_unit_and_containerfile_say_the_essentials() {
    let unit = fs::read_to_string(deploy_dir().join("systemd/credit-node.service"))
        .expect("deploy/systemd/credit-node.service");
    for line in [
        "Type=notify",
        "NoNewPrivileges=yes",
        "ExecStart=/usr/local/bin/credit-node --config /etc/credithub/node.toml",
        "User=credithub",
        "StateDirectory=credithub",
        "ProtectSystem=strict",
        "CapabilityBoundingSet=",
    ] {
        assert!(
            unit.lines().any(|l| l.trim() == line),
            "unit lacks {line:?}"
        );
    }

    let containerfile =
        fs::read_to_string(deploy_dir().join("Containerfile")).expect("deploy/Containerfile");
    assert!(containerfile.contains("libclang-dev"));
    assert!(containerfile.contains("cargo build --release --bins"));
}
