//! Tests of certificate generation and of mutual TLS through an in-memory handshake.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use credithub_protocol::DivisionCode;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use rustls_pki_types::ServerName;

use super::*;

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A certs dir with a CA (key in a separate `safe/` dir), a node and an admin.
struct Pki {
    _tmp: tempfile::TempDir,
    certs: PathBuf,
    ca_key: PathBuf,
}

fn pki() -> Pki {
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    let ca_key = tmp.path().join("safe/ca.key");
    create_ca(&certs, &ca_key, 3650, false).unwrap();
    create_node(&certs, &ca_key, code("320500"), "suzhou", &[], 730, false).unwrap();
    create_client(
        &certs,
        &ca_key,
        Role::Admin,
        code("320500"),
        "ops",
        365,
        false,
    )
    .unwrap();
    Pki {
        _tmp: tmp,
        certs,
        ca_key,
    }
}

#[test]
fn creates_the_fixed_files_with_private_keys() {
    let p = pki();
    for f in [
        "ca.crt",
        "node.crt",
        "node.key",
        "client.ops.crt",
        "client.ops.key",
    ] {
        assert!(p.certs.join(f).is_file(), "{f}");
    }
    assert!(
        !p.certs.join("ca.key").exists(),
        "the CA key stays out of the certs dir"
    );
    assert_eq!(mode(&p.ca_key), 0o600);
    assert_eq!(mode(&p.certs.join("node.key")), 0o600);
    assert_eq!(mode(&p.certs.join("client.ops.key")), 0o600);
    assert_eq!(mode(&p.certs.join("node.crt")) & 0o077, 0o044);
}

#[test]
fn list_reads_identities_and_validity() {
    let p = pki();
    let infos = list(&p.certs).unwrap();
    let files: Vec<&str> = infos.iter().map(|i| i.file.as_str()).collect();
    assert_eq!(files, ["ca.crt", "client.ops.crt", "node.crt"]);
    let ca = &infos[0];
    assert!(ca.is_ca && ca.role.is_none() && ca.problem.is_none());
    assert!(ca.subject.contains("credithub CA"), "{}", ca.subject);
    let admin = &infos[1];
    assert_eq!(admin.role, Some(Role::Admin));
    assert_eq!(admin.jurisdiction, Some(code("320500")));
    assert_eq!(admin.name.as_deref(), Some("ops"));
    assert!(admin.hosts.is_empty() && !admin.is_ca);
    let node = &infos[2];
    assert_eq!(node.role, Some(Role::Node));
    assert_eq!(node.hosts, ["localhost", "127.0.0.1"]);
    assert!(node.subject.contains("node 320500 suzhou") && node.subject.contains("credithub"));
    let days = (node.not_after - node.not_before).whole_days();
    assert!((730..=731).contains(&days), "{days}");
    assert!(rfc3339(node.not_after).ends_with('Z'));
}

#[test]
fn refuses_to_overwrite_unless_asked_and_keeps_keys_private() {
    let p = pki();
    let err = create_node(
        &p.certs,
        &p.ca_key,
        code("320500"),
        "suzhou",
        &[],
        730,
        false,
    )
    .unwrap_err();
    assert!(matches!(err, CertError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("node."), "{err}");
    let err = create_ca(&p.certs, &p.ca_key, 3650, false).unwrap_err();
    assert!(matches!(err, CertError::Exists { .. }), "{err}");

    // A key replaced with --overwrite is a new file, private from its creation.
    let key = p.certs.join("node.key");
    let old = fs::read(&key).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let hosts = vec!["node1.js.example".to_string(), "10.0.0.7".to_string()];
    let made = create_node(
        &p.certs,
        &p.ca_key,
        code("320000"),
        "jiangsu",
        &hosts,
        730,
        true,
    )
    .unwrap();
    assert_eq!(mode(&key), 0o600);
    assert_ne!(fs::read(&key).unwrap(), old);
    assert_eq!(made.info.hosts, hosts);
    assert_eq!(made.info.jurisdiction, Some(code("320000")));
}

#[test]
fn refuses_an_open_missing_or_foreign_ca_key() {
    let p = pki();
    fs::set_permissions(&p.ca_key, fs::Permissions::from_mode(0o640)).unwrap();
    let err = create_client(
        &p.certs,
        &p.ca_key,
        Role::Client,
        code("320500"),
        "app",
        30,
        false,
    )
    .unwrap_err();
    assert!(
        matches!(err, CertError::KeyPermissions { mode: 0o640, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("ca.key"), "{err}");

    let missing = p.certs.join("nope.key");
    let err = create_client(
        &p.certs,
        &missing,
        Role::Client,
        code("320500"),
        "app",
        30,
        false,
    )
    .unwrap_err();
    assert!(matches!(err, CertError::Missing { .. }), "{err}");

    let other = pki();
    let err = create_client(
        &p.certs,
        &other.ca_key,
        Role::Client,
        code("320500"),
        "app",
        30,
        false,
    )
    .unwrap_err();
    assert!(matches!(err, CertError::KeyMismatch { .. }), "{err}");
    assert!(!p.certs.join("client.app.crt").exists());
}

#[test]
fn refuses_bad_requests() {
    let p = pki();
    let node = create_client(
        &p.certs,
        &p.ca_key,
        Role::Node,
        code("320500"),
        "x",
        30,
        false,
    );
    assert!(matches!(
        node,
        Err(CertError::InvalidIdentity(IdentityError::Role(_)))
    ));
    let name = create_client(
        &p.certs,
        &p.ca_key,
        Role::Client,
        code("320500"),
        "A/b",
        30,
        false,
    );
    assert!(matches!(
        name,
        Err(CertError::InvalidIdentity(IdentityError::Name { .. }))
    ));
    let bad_host = ["bad host".to_string()];
    let host = create_node(
        &p.certs,
        &p.ca_key,
        code("320500"),
        "x",
        &bad_host,
        30,
        true,
    );
    assert!(matches!(host, Err(CertError::Host { .. })));
    let long = create_client(
        &p.certs,
        &p.ca_key,
        Role::Client,
        code("320500"),
        "y",
        4000,
        false,
    );
    assert!(matches!(long, Err(CertError::Lifetime(_))));
    let zero = create_client(
        &p.certs,
        &p.ca_key,
        Role::Client,
        code("320500"),
        "y",
        0,
        false,
    );
    assert!(matches!(zero, Err(CertError::Lifetime(_))));
}

/// Drives a handshake through memory buffers; the error names the side that failed.
fn handshake(
    client: ClientConfig,
    server: ServerConfig,
    server_name: &str,
) -> Result<(ClientConnection, ServerConnection), String> {
    let name = ServerName::try_from(server_name.to_string()).unwrap();
    let mut c = ClientConnection::new(Arc::new(client), name).unwrap();
    let mut s = ServerConnection::new(Arc::new(server)).unwrap();
    for _ in 0..10 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            s.read_tls(&mut rd).unwrap();
        }
        s.process_new_packets()
            .map_err(|e| format!("server: {e}"))?;
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            c.read_tls(&mut rd).unwrap();
        }
        c.process_new_packets()
            .map_err(|e| format!("client: {e}"))?;
        if !c.is_handshaking() && !s.is_handshaking() && !c.wants_write() && !s.wants_write() {
            return Ok((c, s));
        }
    }
    Err("handshake did not finish".into())
}

#[test]
fn mutual_tls_with_one_ca_tells_each_side_who_the_other_is() {
    let p = pki();
    // A second node under the same CA, in its own certs dir.
    let js = p.certs.parent().unwrap().join("jiangsu");
    fs::create_dir(&js).unwrap();
    fs::copy(p.certs.join("ca.crt"), js.join("ca.crt")).unwrap();
    create_node(&js, &p.ca_key, code("320000"), "jiangsu", &[], 730, false).unwrap();

    let (c, s) = handshake(
        client_config(&js, None).unwrap(),
        server_config(&p.certs).unwrap(),
        "localhost",
    )
    .unwrap();
    let client_id = peer_identity(s.peer_certificates().unwrap()).unwrap();
    assert_eq!(
        client_id,
        Identity::new(Role::Node, code("320000"), "jiangsu").unwrap()
    );
    let server_id = peer_identity(c.peer_certificates().unwrap()).unwrap();
    assert_eq!(server_id.to_uri(), "credithub://node/320500/suzhou");
    assert_eq!(s.alpn_protocol(), Some(ALPN));

    // An admin, to the server's IP address.
    let (_, s) = handshake(
        client_config(&p.certs, Some("ops")).unwrap(),
        server_config(&p.certs).unwrap(),
        "127.0.0.1",
    )
    .unwrap();
    let admin = peer_identity(s.peer_certificates().unwrap()).unwrap();
    assert_eq!((admin.role, admin.name.as_str()), (Role::Admin, "ops"));

    // The client checks the server name against the node certificate.
    let err = handshake(
        client_config(&p.certs, None).unwrap(),
        server_config(&p.certs).unwrap(),
        "elsewhere.example",
    )
    .unwrap_err();
    assert!(
        err.starts_with("client:") && err.contains("not valid for name"),
        "{err}"
    );
}

#[test]
fn a_client_certificate_from_another_ca_is_refused() {
    let p = pki();
    let other = pki();
    // Trusts the right CA but presents a certificate the other CA signed.
    let mixed = other.certs.parent().unwrap().join("mixed");
    fs::create_dir(&mixed).unwrap();
    fs::copy(p.certs.join("ca.crt"), mixed.join("ca.crt")).unwrap();
    for f in ["client.ops.crt", "client.ops.key"] {
        fs::copy(other.certs.join(f), mixed.join(f)).unwrap();
    }
    fs::set_permissions(
        mixed.join("client.ops.key"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let err = handshake(
        client_config(&mixed, Some("ops")).unwrap(),
        server_config(&p.certs).unwrap(),
        "localhost",
    )
    .unwrap_err();
    assert!(
        err.starts_with("server:") && err.contains("invalid peer certificate"),
        "{err}"
    );
}

#[test]
fn a_client_without_a_certificate_is_refused() {
    let p = pki();
    let mut roots = RootCertStore::empty();
    roots
        .add(generate::read_cert(&p.certs.join("ca.crt"), "ca").unwrap())
        .unwrap();
    let mut anonymous = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    anonymous.alpn_protocols = vec![ALPN.to_vec()];
    let err = handshake(anonymous, server_config(&p.certs).unwrap(), "localhost").unwrap_err();
    assert!(
        err.starts_with("server:") && err.contains("no certificates"),
        "{err}"
    );
    assert_eq!(peer_identity(&[]), Err(IdentityError::NoPeerCertificate));
}

#[test]
fn tls_configs_refuse_open_keys_and_missing_files() {
    let p = pki();
    fs::set_permissions(p.certs.join("node.key"), fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(
        server_config(&p.certs),
        Err(CertError::KeyPermissions { .. })
    ));
    assert!(matches!(
        client_config(&p.certs, Some("nobody")),
        Err(CertError::Missing { .. })
    ));
    assert!(matches!(
        client_config(&p.certs, Some("../x")),
        Err(CertError::InvalidIdentity(_))
    ));
}

#[test]
fn a_revoked_certificate_is_listed_and_refused_both_ways() {
    let p = pki();
    // Before any revocation: no list, and the admin gets through.
    assert!(revoked(&p.certs).unwrap().is_empty());
    handshake(
        client_config(&p.certs, Some("ops")).unwrap(),
        server_config(&p.certs).unwrap(),
        "localhost",
    )
    .unwrap();

    let r = revoke(&p.certs, &p.ca_key, &p.certs.join("client.ops.crt")).unwrap();
    assert!(r.newly_revoked);
    assert_eq!(r.entries, 1);
    assert_eq!(mode(&p.certs.join(CA_CRL)), 0o644);
    let again = revoke(&p.certs, &p.ca_key, &p.certs.join("client.ops.crt")).unwrap();
    assert!(!again.newly_revoked, "revoking twice changes nothing");
    let listed = list(&p.certs).unwrap();
    let ops = listed.iter().find(|c| c.file == "client.ops.crt").unwrap();
    assert_eq!(ops.serial, r.serial);
    assert!(ops.revoked_at.is_some());
    let node = listed.iter().find(|c| c.file == "node.crt").unwrap();
    assert!(node.revoked_at.is_none());

    // The server refuses the revoked client...
    let err = handshake(
        client_config(&p.certs, Some("ops")).unwrap(),
        server_config(&p.certs).unwrap(),
        "localhost",
    )
    .unwrap_err();
    assert!(
        err.starts_with("server:") && err.to_lowercase().contains("revoked"),
        "{err}"
    );
    // ...and a client refuses a revoked server: revoke the node, keep a second list.
    revoke(&p.certs, &p.ca_key, &p.certs.join("node.crt")).unwrap();
    assert_eq!(revoked(&p.certs).unwrap().len(), 2, "the list accumulates");
    let js = p.certs.parent().unwrap().join("jiangsu");
    fs::create_dir(&js).unwrap();
    for f in ["ca.crt", CA_CRL] {
        fs::copy(p.certs.join(f), js.join(f)).unwrap();
    }
    create_node(&js, &p.ca_key, code("320000"), "jiangsu", &[], 730, false).unwrap();
    let server_without_list = p.certs.parent().unwrap().join("nolist");
    fs::create_dir(&server_without_list).unwrap();
    for f in ["ca.crt", "node.crt", "node.key"] {
        fs::copy(p.certs.join(f), server_without_list.join(f)).unwrap();
    }
    fs::set_permissions(
        server_without_list.join("node.key"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let err = handshake(
        client_config(&js, None).unwrap(),
        server_config(&server_without_list).unwrap(),
        "localhost",
    )
    .unwrap_err();
    assert!(
        err.starts_with("client:") && err.to_lowercase().contains("revoked"),
        "{err}"
    );
}

#[test]
fn only_the_issuing_ca_revokes_and_a_damaged_list_is_named() {
    let p = pki();
    let other = pki();
    let err = revoke(&p.certs, &p.ca_key, &other.certs.join("node.crt")).unwrap_err();
    assert!(err.to_string().contains("not by this CA"), "{err}");
    let err = revoke(&p.certs, &p.ca_key, &p.certs.join("ca.crt")).unwrap_err();
    assert!(err.to_string().contains("CA certificate"), "{err}");
    assert!(!p.certs.join(CA_CRL).exists(), "nothing written on refusal");

    fs::write(p.certs.join(CA_CRL), "not a list").unwrap();
    let err = server_config(&p.certs).unwrap_err();
    assert!(err.to_string().contains("ca.crl"), "{err}");
}
