//! Security tests against real nodes, beyond the handshake basics of
//! `federation_security.rs`: an expired certificate, a revoked one (revoked with
//! `credit-admin cert revoke` while its connection is open), certificates of the wrong
//! role, a replayed old version, an oversized message, too many sessions and
//! connections, and a peer that stops mid-session. Each is refused or cut off and
//! counted by reason, and the honest nodes keep syncing.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use credithub_node::admin::client::AdminClient;
use credithub_node::admin::{AdminRequest, AdminResponse, NodeStatus};
use credithub_node::certs::{self, Identity, Role};
use credithub_node::link::frame::{read_frame, write_frame};
use credithub_node::link::quic::connect;
use credithub_protocol::link::{DeclineCode, Frame, SessionMode, LINK_VERSION};
use credithub_protocol::report::NodeReport;
use credithub_protocol::testing::body_about;
use credithub_protocol::{RecordKind, Version};
use credithub_scenarios::federation::cluster::{call, status, Cluster};
use tokio::io::AsyncWriteExt;

mod common;

use common::rogue::{
    code, honest_nodes_converge, node_certs, node_endpoint, push_as_child, three_tier, try_session,
    wire,
};
use common::{admin_binary, text};

/// Jiangsu cuts a stalled session after this long, in these tests.
const STALL_SECS: u64 = 2;
/// Connections one certificate may hold at Jiangsu, in these tests.
const CONNECTIONS_PER_PEER: usize = 4;

/// A node certificate for Suzhou that expired a year ago, signed by the real CA.
fn expired_suzhou(dir: &Path, ca_dir: &Path, ca_key: &Path) {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::copy(ca_dir.join(certs::CA_CERT), dir.join(certs::CA_CERT)).expect("ca");
    let ca_pem = std::fs::read_to_string(ca_dir.join(certs::CA_CERT)).expect("ca pem");
    let key_pem = std::fs::read_to_string(ca_key).expect("ca key");
    let issuer =
        rcgen::Issuer::from_ca_cert_pem(&ca_pem, rcgen::KeyPair::from_pem(&key_pem).expect("key"))
            .expect("issuer");
    let identity = Identity::new(Role::Node, code("320500"), "suzhou").expect("identity");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.subject_alt_names.insert(
        0,
        rcgen::SanType::URI(identity.to_uri().try_into().expect("uri")),
    );
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, identity.common_name());
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2025, 1, 1);
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &issuer).expect("signed");
    std::fs::write(dir.join(certs::NODE_CERT), cert.pem()).expect("cert");
    let key_file = dir.join(certs::NODE_KEY);
    std::fs::write(&key_file, key.serialize_pem()).expect("key");
    let mut perms = std::fs::metadata(&key_file).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    std::fs::set_permissions(&key_file, perms).expect("chmod");
}

/// Polls Jiangsu's status until `ok` holds (or 60 s pass) and returns the last one.
async fn status_until(
    client: &AdminClient,
    what: &str,
    ok: impl Fn(&NodeStatus) -> bool,
) -> NodeStatus {
    let started = Instant::now();
    loop {
        let st = status(client).await.expect("status");
        if ok(&st) {
            return st;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what}: not seen within 60 s; status: refused connections {:?}, session failures {:?}, refused requests {:?}, refused records {:?}",
            st.refused_connections_by,
            st.session_failures,
            st.refused_requests,
            st.refused
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn count(map: &std::collections::BTreeMap<String, u64>, key: &str) -> u64 {
    map.get(key).copied().unwrap_or(0)
}

#[test]
fn attackers_are_refused_or_cut_off_and_counted_while_honest_nodes_sync() {
    let dir = tempfile::tempdir().expect("tmp");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let limits = format!(
            "[limits]\nstall_timeout_secs = {STALL_SECS}\nconnections_per_peer = {CONNECTIONS_PER_PEER}\n"
        );
        let cluster = Cluster::start_with(
            &dir.path().join("fed"),
            three_tier(),
            vec![RecordKind::BLACK_LIST],
            Duration::from_millis(500),
            |i| if i == 1 { limits.clone() } else { String::new() },
        )
        .expect("federation starts");
        let clients = [
            cluster.admin(0).await.expect("national"),
            cluster.admin(1).await.expect("jiangsu"),
            cluster.admin(2).await.expect("nanjing"),
        ];
        let jiangsu_client = &clients[1];
        let jiangsu = cluster.nodes[1].address.clone();
        let ca_dir = cluster.root.join("ca");
        let ca_key = cluster.ca_key().to_path_buf();

        // 1. An expired certificate, signed by the right CA.
        let expired = dir.path().join("expired");
        expired_suzhou(&expired, &ca_dir, &ca_key);
        let refused = try_session(&node_endpoint(&expired), &jiangsu, "320500").await;
        assert!(refused.is_err(), "an expired certificate must be refused");
        status_until(jiangsu_client, "expired certificate counted", |s| {
            count(&s.refused_connections_by, "certificate-expired") >= 1
        })
        .await;

        // 2. The wrong role: an admin certificate covering Jiangsu tries to sync (its
        //    Open frame is not an admin request); a public portal's certificate asks
        //    for the node's status; a city of another province poses as a child.
        let wrong = dir.path().join("wrong-role");
        std::fs::create_dir_all(&wrong).expect("dir");
        std::fs::copy(ca_dir.join(certs::CA_CERT), wrong.join(certs::CA_CERT)).expect("ca");
        certs::create_client(&wrong, &ca_key, Role::Admin, code("320000"), "ops", 20, false)
            .expect("admin cert");
        certs::create_client(&wrong, &ca_key, Role::Public, code("320000"), "portal", 20, false)
            .expect("public cert");
        let mut admin_ep = quinn::Endpoint::client(([127, 0, 0, 1], 0).into()).expect("ep");
        admin_ep.set_default_client_config(
            credithub_node::link::quic::client_quic_config(&wrong, Some("ops")).expect("config"),
        );
        assert!(
            try_session(&admin_ep, &jiangsu, "320000").await.is_err(),
            "an admin certificate cannot open a sync session"
        );
        let portal = AdminClient::connect(&jiangsu, &wrong, "portal")
            .await
            .expect("a public certificate connects (to read)");
        match portal.call(&AdminRequest::Status).await {
            Ok(AdminResponse::Error(e)) => assert!(e.contains("may not"), "{e}"),
            other => panic!("a public certificate must not read the status: {other:?}"),
        }
        portal.close().await;
        let hangzhou = node_certs(
            &dir.path().join("hangzhou"),
            &ca_dir,
            &ca_key,
            "330100",
            "hangzhou",
        );
        assert!(
            try_session(&node_endpoint(&hangzhou), &jiangsu, "330100")
                .await
                .is_err(),
            "a city of another province is not Jiangsu's child"
        );
        status_until(jiangsu_client, "wrong roles counted", |s| {
            count(&s.refused_requests, "malformed-request") >= 1
                && count(&s.refused_requests, "role-not-permitted") >= 1
                && count(&s.refused_connections_by, "not-a-child") >= 1
        })
        .await;

        // 3. A replayed old version: Suzhou sends version 2 of a record, then version 1
        //    again. The old one is refused as stale; version 2 stays.
        let suzhou = node_certs(
            &dir.path().join("suzhou"),
            &ca_dir,
            &ca_key,
            "320500",
            "suzhou",
        );
        let ep = node_endpoint(&suzhou);
        let v1 = wire("320500", 41, 1 << 20);
        let v2 = {
            let mut body = body_about(41, "320583");
            if let credithub_protocol::record::Details::Penalty(p) = &mut body.details {
                p.content.push_str("（更正）");
            }
            let key = v1.key;
            let enc = credithub_protocol::codec::EncodedRecord::of_body(key, Version(2 << 20), Some(&body));
            credithub_protocol::link::WireRecord {
                key: enc.key,
                bytes: enc.bytes,
            }
        };
        push_as_child(&ep, &jiangsu, code("320500"), vec![v2.clone()]).await;
        push_as_child(&ep, &jiangsu, code("320500"), vec![v1.clone()]).await;
        let st = status_until(jiangsu_client, "the replayed version refused", |s| {
            count(&s.refused, "stale") >= 1
        })
        .await;
        assert_eq!(count(&st.refused, "stale"), 1, "{:?}", st.refused);
        match call(jiangsu_client, &AdminRequest::Get { key: v1.key })
            .await
            .expect("get")
        {
            AdminResponse::Record(Some(bytes)) => {
                let r = credithub_protocol::codec::decode(v1.key, &bytes).expect("decodes");
                assert_eq!(r.version, Version(2 << 20), "the newer version stays")
            }
            other => panic!("{other:?}"),
        }

        // 4. An oversized message: a frame announcing 4 GiB after the opening.
        {
            let (conn, _) = connect(&ep, jiangsu.parse().expect("addr"), "localhost")
                .await
                .expect("connects");
            let (mut send, mut recv) = conn.open_bi().await.expect("stream");
            credithub_node::link::open::open_as_child(
                &mut send,
                &mut recv,
                credithub_node::link::quic::negotiated_version(&conn),
                code("320500"),
                &[],
                SessionMode::Sync,
                NodeReport::default(),
            Default::default(),
            )
            .await
            .expect("accepted");
            send.write_all(&u32::MAX.to_be_bytes()).await.expect("header");
            let _ = send.write_all(&[0u8; 4096]).await;
            status_until(jiangsu_client, "the oversized message cut off", |s| {
                count(&s.session_failures, "oversized-message") >= 1
            })
            .await;
            conn.close(0u32.into(), b"done");
        }

        // 5. Too many sessions at once on one connection, and sessions that stop
        //    mid-way (the peer neither sends nor reads): the extra sessions are
        //    refused at once, the stalled ones cut off after the stall timeout.
        {
            let (conn, _) = connect(&ep, jiangsu.parse().expect("addr"), "localhost")
                .await
                .expect("connects");
            let mut streams = Vec::new();
            for _ in 0..5 {
                let (mut send, recv) = conn.open_bi().await.expect("stream");
                let open = Frame::Open {
                    version: LINK_VERSION,
                    subscriptions: vec![],
                    mode: SessionMode::Sync,
                    report: Box::default(),
                };
                write_frame(&mut send, &open).await.expect("open");
                // From link version 4 the accounts follow the opening.
                let accounts = Frame::Accounts(Box::default());
                write_frame(&mut send, &accounts).await.expect("accounts");
                streams.push((send, recv));
            }
            let mut accepted = 0;
            let mut refused = 0;
            for (_, recv) in streams.iter_mut() {
                match read_frame(recv).await {
                    Ok(Some((Frame::Accepted { .. }, _))) => accepted += 1,
                    // At link version 2 a refusal carries its reason's code.
                    Ok(Some((
                        Frame::Declined {
                            code: DeclineCode::Busy,
                            reason,
                        },
                        _,
                    ))) => {
                        assert!(reason.contains("sessions"), "{reason}");
                        refused += 1
                    }
                    other => panic!("unexpected answer: {other:?}"),
                }
            }
            assert_eq!(
                (accepted, refused),
                (2, 3),
                "two sessions per child at once"
            );
            // The two accepted sessions now wait for a hello that never comes.
            let st = status_until(jiangsu_client, "stalled sessions cut off", |s| {
                count(&s.session_failures, "stalled") >= 2
            })
            .await;
            assert!(
                count(&st.session_failures, "too-many-sessions") >= 3,
                "{:?}",
                st.session_failures
            );
            conn.close(0u32.into(), b"done");
        }

        // 6. Too many connections from one certificate.
        {
            let mut held = Vec::new();
            let mut refused_at = None;
            for i in 0..CONNECTIONS_PER_PEER + 2 {
                let (conn, _) = connect(&ep, jiangsu.parse().expect("addr"), "localhost")
                    .await
                    .expect("the handshake itself succeeds");
                // The node closes a connection over the limit at once.
                let closed = tokio::time::timeout(Duration::from_secs(2), conn.closed()).await;
                if closed.is_ok() {
                    refused_at.get_or_insert(i);
                }
                held.push(conn);
            }
            let at = refused_at.expect("a connection over the limit is closed");
            assert!(at <= CONNECTIONS_PER_PEER, "refused at connection {at}");
            status_until(jiangsu_client, "too many connections counted", |s| {
                count(&s.refused_connections_by, "too-many-connections") >= 1
            })
            .await;
            for c in held {
                c.close(0u32.into(), b"done");
            }
        }

        // 7. Revocation: Suzhou holds a connection; its certificate is revoked with
        //    credit-admin and the list copied to Jiangsu. The open connection is closed
        //    and a new handshake refused.
        tokio::time::sleep(Duration::from_secs(1)).await; // earlier connections close
        let (held, _) = connect(&ep, jiangsu.parse().expect("addr"), "localhost")
            .await
            .expect("connects before the revocation");
        let revoke = |yes: bool| {
            let mut c = Command::new(admin_binary());
            c.args(["cert", "revoke", "--certs-dir"])
                .arg(&ca_dir)
                .arg("--ca-key")
                .arg(&ca_key)
                .arg(suzhou.join(certs::NODE_CERT));
            if yes {
                c.arg("--yes");
            }
            c.output().expect("credit-admin runs")
        };
        let o = revoke(false);
        assert!(!o.status.success(), "revocation needs --yes: {}", text(&o));
        assert!(text(&o).contains("--yes"), "{}", text(&o));
        let o = revoke(true);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("revoked"), "{}", text(&o));
        let o = revoke(true);
        assert!(text(&o).contains("already revoked"), "{}", text(&o));
        let listed = Command::new(admin_binary())
            .args(["cert", "list", "--format", "json", "--certs-dir"])
            .arg(&suzhou)
            .output()
            .expect("list");
        assert!(listed.status.success(), "{}", text(&listed));
        std::fs::copy(ca_dir.join(certs::CA_CRL), suzhou.join(certs::CA_CRL)).expect("crl");
        let listed = Command::new(admin_binary())
            .args(["cert", "list", "--certs-dir"])
            .arg(&suzhou)
            .output()
            .expect("list");
        assert!(text(&listed).contains("REVOKED"), "{}", text(&listed));
        let jiangsu_certs = cluster.nodes[1].dir.join("certs");
        std::fs::copy(ca_dir.join(certs::CA_CRL), jiangsu_certs.join(certs::CA_CRL))
            .expect("distribute the list");
        let closed = tokio::time::timeout(Duration::from_secs(30), held.closed()).await;
        assert!(
            closed.is_ok(),
            "the revoked certificate's open connection is closed"
        );
        let refused = try_session(&node_endpoint(&suzhou), &jiangsu, "320500").await;
        assert!(refused.is_err(), "a revoked certificate must be refused");
        status_until(jiangsu_client, "revocation counted", |s| {
            count(&s.refused_connections_by, "certificate-revoked") >= 2
        })
        .await;

        // The honest federation still converges: a write at Nanjing reaches every node.
        honest_nodes_converge(&cluster, &clients, 2, 99, "320105").await;
        // The metrics say the same as the status.
        let metrics = reqwest_free_get(&cluster.nodes[1].metrics, "/metrics").await;
        for line in [
            "credithub_refused_connections_total{reason=\"certificate-revoked\"}",
            "credithub_session_failures_total{with=\"child\",reason=\"stalled\"}",
            "credithub_refused_requests_total{reason=\"role-not-permitted\"}",
        ] {
            assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
        }
    });
}

/// A plain HTTP GET on loopback (the metrics endpoint), without an HTTP client crate.
async fn reqwest_free_get(addr: &str, path: &str) -> String {
    use tokio::io::AsyncReadExt;
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("response");
    out
}
