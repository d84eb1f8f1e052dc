//! Negative tests against real nodes: a client without a certificate, one from another
//! CA, a city sending another city's records, a record with a forged digest. Each is
//! refused (and counted), and the honest nodes go on syncing.

use std::sync::Arc;
use std::time::Duration;

use credithub_node::admin::AdminRequest;
use credithub_node::certs;
use credithub_node::link::frame::{read_frame, write_frame};
use credithub_node::link::open::open_as_child;
use credithub_node::link::quic::{client_quic_config, connect};
use credithub_protocol::codec::EncodedRecord;
use credithub_protocol::link::{Frame, LinkScope, SessionMode, WireRecord};
use credithub_protocol::report::NodeReport;
use credithub_protocol::sync::{Limits, MemIndex, Reconciler};
use credithub_protocol::testing::body_about;
use credithub_protocol::{DivisionCode, RecordKey, RecordKind, Version};
use credithub_scenarios::federation::check::converge;
use credithub_scenarios::federation::cluster::{call, status, Cluster, NodeSpec};

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).expect("code")
}

fn specs() -> Vec<NodeSpec> {
    vec![
        NodeSpec {
            name: "national".into(),
            jurisdiction: DivisionCode::NATIONAL,
            parent: None,
        },
        NodeSpec {
            name: "jiangsu".into(),
            jurisdiction: code("320000"),
            parent: Some(0),
        },
        NodeSpec {
            name: "nanjing".into(),
            jurisdiction: code("320100"),
            parent: Some(1),
        },
    ]
}

/// An endpoint presenting the given rustls client configuration.
fn endpoint(tls: rustls::ClientConfig) -> quinn::Endpoint {
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).expect("quic config");
    let mut ep = quinn::Endpoint::client(([127, 0, 0, 1], 0).into()).expect("endpoint");
    ep.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
    ep
}

/// Connects and opens a stream: refused peers fail at the handshake or when the
/// stream is first used.
async fn try_session(ep: &quinn::Endpoint, addr: &str) -> Result<(), String> {
    let conn = ep
        .connect(addr.parse().expect("addr"), "localhost")
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    open_as_child(
        &mut send,
        &mut recv,
        code("320500"),
        &[],
        SessionMode::Sync,
        NodeReport::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// A forged child: opens a session as `own`, reconciles from an empty index, then
/// pushes `records` whatever the parent asked for.
async fn push_as_child(
    ep: &quinn::Endpoint,
    addr: &str,
    own: DivisionCode,
    records: Vec<WireRecord>,
) {
    let (conn, _) = connect(ep, addr.parse().expect("addr"), "localhost")
        .await
        .expect("connects");
    let (mut send, mut recv) = conn.open_bi().await.expect("stream");
    let scope: LinkScope = open_as_child(
        &mut send,
        &mut recv,
        own,
        &[],
        SessionMode::Sync,
        NodeReport::default(),
    )
    .await
    .expect("accepted");
    let empty = MemIndex::new();
    let mut rec = Reconciler::new(&empty, |p| scope.covers(p), Limits::default());
    write_frame(&mut send, &Frame::Sync(rec.start().expect("start")))
        .await
        .expect("hello");
    while !rec.is_finished() {
        let Some((Frame::Sync(m), _)) = read_frame(&mut recv).await.expect("frame") else {
            panic!("expected a sync frame");
        };
        match rec.receive(m).expect("reconciles") {
            Some(reply) => {
                write_frame(&mut send, &Frame::Sync(reply))
                    .await
                    .expect("reply");
            }
            None => break,
        }
    }
    let n = records.len() as u64;
    write_frame(&mut send, &Frame::WantDone)
        .await
        .expect("want-done");
    write_frame(&mut send, &Frame::Records(records))
        .await
        .expect("records");
    write_frame(&mut send, &Frame::Done { records: n })
        .await
        .expect("done");
    // Read the parent's side to its end: it finishes its stream once it has applied
    // (or refused) everything it received.
    let _ = send.finish();
    while let Ok(Some(_)) = read_frame(&mut recv).await {}
    conn.close(0u32.into(), b"done");
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
            specs(),
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
        let refused = try_session(&endpoint(tls), &jiangsu).await;
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
            try_session(&ep, &jiangsu).await.is_err(),
            "a certificate of another CA must be refused"
        );

        // A genuine Suzhou certificate for the forged-child attacks below.
        let suzhou = dir.path().join("suzhou");
        std::fs::create_dir_all(&suzhou).expect("dir");
        std::fs::copy(ca_dir.join(certs::CA_CERT), suzhou.join(certs::CA_CERT)).expect("ca");
        certs::create_node(
            &suzhou,
            cluster.ca_key(),
            code("320500"),
            "suzhou",
            &hosts,
            20,
            false,
        )
        .expect("suzhou");
        let mut ep = quinn::Endpoint::client(([127, 0, 0, 1], 0).into()).expect("endpoint");
        ep.set_default_client_config(client_quic_config(&suzhou, None).expect("config"));

        // 3. Suzhou sends a record of Nanjing's origin; 4. and one of its own with a
        //    forged digest. A genuine record travels with them and is stored.
        let wire = |origin: &str, n: u32| {
            let body = body_about(n, "320583");
            let key = RecordKey::derive(code(origin), RecordKind::PENALTY, &body);
            let enc = EncodedRecord::from_parts(
                key,
                Version(1 << 20),
                &credithub_protocol::codec::body_bytes(Some(&body)),
            );
            WireRecord {
                key: enc.key,
                bytes: enc.bytes,
            }
        };
        let foreign = wire("320100", 1);
        let mut forged = wire("320500", 2);
        let last = forged.bytes.len() - 1;
        forged.bytes[last] ^= 0x20;
        let genuine = wire("320500", 3);
        push_as_child(
            &ep,
            &jiangsu,
            code("320500"),
            vec![foreign.clone(), forged.clone(), genuine.clone()],
        )
        .await;

        let st = status(&clients[1]).await.expect("status");
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

        // The honest federation still converges: a write at Nanjing reaches every node
        // (Suzhou's genuine record too, as it is Jiangsu's child's).
        let body = body_about(9, "320105");
        call(
            &clients[2],
            &AdminRequest::Put {
                records: vec![(RecordKind::PENALTY, body)],
            },
        )
        .await
        .expect("put");
        let (checks, _, ok) = converge(&cluster, &clients, Duration::from_secs(120))
            .await
            .expect("checks");
        assert!(ok, "honest nodes converge: {checks:?}");
    });
}
