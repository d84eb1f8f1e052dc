//! Negative tests against real nodes: a client without a certificate, one from another
//! CA, a city sending another city's records, a record with a forged digest, a child
//! whose fresh answer holds a record it may not send or stops early. Each is refused
//! (and counted) or reported, and the honest nodes go on syncing.

use std::sync::Arc;
use std::time::Duration;

use credithub_node::admin::AdminRequest;
use credithub_node::certs;
use credithub_node::link::quic::client_quic_config;
use credithub_protocol::RecordKind;
use credithub_scenarios::federation::cluster::{call, status, Cluster};

mod common;

use common::rogue::{
    child_answering_fresh, code, honest_nodes_converge, node_certs, push_as_child, three_tier,
    try_session, wire,
};
use credithub_protocol::link::Frame;
use credithub_protocol::testing::body_about;

/// An endpoint presenting the given rustls client configuration.
fn endpoint(tls: rustls::ClientConfig) -> quinn::Endpoint {
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).expect("quic config");
    let mut ep = quinn::Endpoint::client(([127, 0, 0, 1], 0).into()).expect("endpoint");
    ep.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
    ep
}

#[test]
fn bad_peers_are_refused_and_honest_ones_keep_syncing() {
    let dir = tempfile::tempdir().expect("tmp");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let cluster = Cluster::start(
            &dir.path().join("fed"),
            three_tier(),
            vec![RecordKind::BLACK_LIST],
            Duration::from_millis(500),
        )
        .expect("federation starts");
        let clients = [
            cluster.admin(0).await.expect("national"),
            cluster.admin(1).await.expect("jiangsu"),
            cluster.admin(2).await.expect("nanjing"),
        ];
        let jiangsu = cluster.nodes[1].address.clone();
        let ca_dir = cluster.root.join("ca");
        let roots = {
            let mut r = rustls::RootCertStore::empty();
            let pem = std::fs::read(ca_dir.join(certs::CA_CERT)).expect("ca");
            for c in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
                r.add(c.expect("pem")).expect("root");
            }
            r
        };
        use rustls_pki_types::pem::PemObject;

        // 1. No client certificate.
        let mut tls = rustls::ClientConfig::builder_with_provider(certs::provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("tls13")
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![certs::ALPN.to_vec()];
        let refused = try_session(&endpoint(tls), &jiangsu, "320500").await;
        assert!(
            refused.is_err(),
            "a client without a certificate must be refused"
        );

        // 2. A Suzhou node certificate signed by another CA (the peer trusts our CA,
        //    so only the node's check can refuse it).
        let rogue = dir.path().join("rogue");
        std::fs::create_dir_all(&rogue).expect("dir");
        certs::create_ca(&rogue, &rogue.join("ca.key"), 365, false).expect("rogue ca");
        let hosts = vec!["localhost".to_string()];
        certs::create_node(
            &rogue,
            &rogue.join("ca.key"),
            code("320500"),
            "suzhou",
            &hosts,
            30,
            false,
        )
        .expect("rogue node");
        std::fs::copy(ca_dir.join(certs::CA_CERT), rogue.join(certs::CA_CERT))
            .expect("trust the real CA");
        let mut ep = quinn::Endpoint::client(([127, 0, 0, 1], 0).into()).expect("endpoint");
        ep.set_default_client_config(client_quic_config(&rogue, None).expect("config"));
        assert!(
            try_session(&ep, &jiangsu, "320500").await.is_err(),
            "a certificate of another CA must be refused"
        );

        // A genuine Suzhou certificate for the forged-child attacks below.
        let suzhou = node_certs(
            &dir.path().join("suzhou"),
            &ca_dir,
            cluster.ca_key(),
            "320500",
            "suzhou",
        );
        let ep = common::rogue::node_endpoint(&suzhou);

        // 3. Suzhou sends a record of Nanjing's origin; 4. and one of its own with a
        //    forged digest. A genuine record travels with them and is stored.
        let foreign = wire("320100", 1, 1 << 20);
        let mut forged = wire("320500", 2, 1 << 20);
        let last = forged.bytes.len() - 1;
        forged.bytes[last] ^= 0x20;
        let genuine = wire("320500", 3, 1 << 20);
        push_as_child(
            &ep,
            &jiangsu,
            code("320500"),
            vec![foreign.clone(), forged.clone(), genuine.clone()],
        )
        .await;

        // The hub counts a session's refusals once it has filed the session, just
        // after the child's last frame: ask until it has (a busy machine is slow).
        let mut st = status(&clients[1]).await.expect("status");
        for _ in 0..100 {
            if st.refused.contains_key("outside-jurisdiction") && st.refused.contains_key("invalid")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            st = status(&clients[1]).await.expect("status");
        }
        assert!(
            st.refused_connections >= 2,
            "refused connections counted: {st:?}"
        );
        assert_eq!(st.refused.get("outside-jurisdiction"), Some(&1), "{st:?}");
        assert_eq!(st.refused.get("invalid"), Some(&1), "{st:?}");
        let get = |key| AdminRequest::Get { key };
        for (key, held) in [
            (foreign.key, false),
            (forged.key, false),
            (genuine.key, true),
        ] {
            match call(&clients[1], &get(key)).await.expect("get") {
                credithub_node::admin::AdminResponse::Record(r) => {
                    assert_eq!(r.is_some(), held, "{key}")
                }
                other => panic!("{other:?}"),
            }
        }

        // 5. Fresh queries at Jiangsu while a forged Suzhou answers them: a record of
        //    Nanjing's origin is refused and the answer names Suzhou as partial; an
        //    answer cut short (no closing count) is partial too.
        let about = body_about(3, "320583");
        let subject = about.subject.id.unmasked();
        let fresh = AdminRequest::Query {
            subject: subject.clone(),
            purpose: Some("security test".into()),
            audience: None,
            fresh: true,
        };
        for (answer, why) in [
            (
                vec![
                    Frame::Records(vec![wire("320100", 3, 1 << 21)]),
                    Frame::Done { records: 1 },
                ],
                "records refused",
            ),
            (
                vec![Frame::Records(vec![wire("320500", 3, 1 << 21)])],
                "closed the stream before the answer was complete",
            ),
        ] {
            let conn = child_answering_fresh(&ep, &jiangsu, code("320500"), answer).await;
            // The hub files the child's connection when the child's session ends on
            // its side, a moment after the child read that end: ask until it has.
            let mut tries = 0;
            let answer = loop {
                let answer = match call(&clients[1], &fresh).await.expect("query") {
                    credithub_node::admin::AdminResponse::Answer(a) => a,
                    other => panic!("{other:?}"),
                };
                let unfiled = answer
                    .unanswered
                    .iter()
                    .any(|u| u.contains("no connection"));
                tries += 1;
                if !unfiled || tries == 50 {
                    break answer;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            };
            assert!(answer.partial, "{answer:?}");
            assert!(
                answer
                    .unanswered
                    .iter()
                    .any(|u| u.starts_with("suzhou") && u.contains(why)),
                "{why}: {:?}",
                answer.unanswered
            );
            conn.close(0u32.into(), b"done");
        }
        let st = status(&clients[1]).await.expect("status");
        assert_eq!(st.refused.get("outside-jurisdiction"), Some(&2), "{st:?}");

        // The honest federation still converges: a write at Nanjing reaches every node
        // (Suzhou's genuine record too, as it is Jiangsu's child's).
        honest_nodes_converge(&cluster, &clients, 2, 9, "320105").await;
    });
}
