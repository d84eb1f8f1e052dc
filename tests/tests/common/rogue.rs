//! Peers that do not behave: certificates made on the spot and a child that speaks the
//! link protocol by hand, for the security tests.

use std::path::{Path, PathBuf};
use std::time::Duration;

use credithub_node::admin::client::AdminClient;
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
use credithub_scenarios::federation::cluster::{call, Cluster, NodeSpec};

/// A division code known to be valid.
pub(crate) fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).expect("code")
}

/// National hub, Jiangsu and Nanjing.
pub(crate) fn three_tier() -> Vec<NodeSpec> {
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

/// A certs directory `dir` trusting the CA of `ca_dir`, with a node certificate for
/// `name` of `jurisdiction` signed by the CA key `ca_key`.
pub(crate) fn node_certs(
    dir: &Path,
    ca_dir: &Path,
    ca_key: &Path,
    jurisdiction: &str,
    name: &str,
) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::copy(ca_dir.join(certs::CA_CERT), dir.join(certs::CA_CERT)).expect("ca");
    let hosts = vec!["localhost".to_string()];
    certs::create_node(dir, ca_key, code(jurisdiction), name, &hosts, 20, true)
        .expect("node certificate");
    dir.to_path_buf()
}

/// A client endpoint presenting the node certificate of `certs_dir`.
pub(crate) fn node_endpoint(certs_dir: &Path) -> quinn::Endpoint {
    let mut ep = quinn::Endpoint::client(([127, 0, 0, 1], 0).into()).expect("endpoint");
    ep.set_default_client_config(client_quic_config(certs_dir, None).expect("config"));
    ep
}

/// Connects and opens a sync session as `own`: refused peers fail at the handshake or
/// when the stream is first used.
pub(crate) async fn try_session(ep: &quinn::Endpoint, addr: &str, own: &str) -> Result<(), String> {
    let conn = ep
        .connect(addr.parse().expect("addr"), "localhost")
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    let opened = tokio::time::timeout(
        Duration::from_secs(20),
        open_as_child(
            &mut send,
            &mut recv,
            credithub_node::link::quic::negotiated_version(&conn),
            code(own),
            &[],
            SessionMode::Sync,
            NodeReport::default(),
            Default::default(),
        ),
    )
    .await;
    conn.close(0u32.into(), b"done");
    match opened {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer".into()),
    }
}

/// A penalty record of `origin` about a Suzhou subject, as it travels.
pub(crate) fn wire(origin: &str, n: u32, version: u64) -> WireRecord {
    let body = body_about(n, "320583");
    let key = RecordKey::derive(code(origin), RecordKind::PENALTY, &body);
    let enc = EncodedRecord::of_body(key, Version(version), Some(&body));
    WireRecord {
        key: enc.key,
        bytes: enc.bytes,
    }
}

/// Connects to `addr` as a child of jurisdiction `own`, opens a sync session and
/// reconciles from an empty index, as an honest new child would; returns the
/// connection and the session's stream, ready for the transfer.
async fn open_and_reconcile_empty(
    ep: &quinn::Endpoint,
    addr: &str,
    own: DivisionCode,
) -> (quinn::Connection, quinn::SendStream, quinn::RecvStream) {
    let (conn, _) = connect(ep, addr.parse().expect("addr"), "localhost")
        .await
        .expect("connects");
    let (mut send, mut recv) = conn.open_bi().await.expect("stream");
    let scope: LinkScope = open_as_child(
        &mut send,
        &mut recv,
        credithub_node::link::quic::negotiated_version(&conn),
        own,
        &[],
        SessionMode::Sync,
        NodeReport::default(),
        Default::default(),
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
    (conn, send, recv)
}

/// A forged child: opens a session as `own`, reconciles from an empty index, then
/// pushes `records` whatever the parent asked for.
pub(crate) async fn push_as_child(
    ep: &quinn::Endpoint,
    addr: &str,
    own: DivisionCode,
    records: Vec<WireRecord>,
) {
    let (conn, mut send, mut recv) = open_and_reconcile_empty(ep, addr, own).await;
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

/// The honest federation still works: a penalty written at node `writer` (about a
/// subject of `division`) reaches every node, and all converge within two minutes.
pub(crate) async fn honest_nodes_converge(
    cluster: &Cluster,
    clients: &[AdminClient],
    writer: usize,
    n: u32,
    division: &str,
) {
    call(
        &clients[writer],
        &AdminRequest::Put {
            records: vec![(RecordKind::PENALTY, body_about(n, division))],
        },
    )
    .await
    .expect("put");
    let (checks, _, ok) = converge(cluster, clients, Duration::from_secs(120))
        .await
        .expect("checks");
    assert!(ok, "honest nodes converge: {checks:?}");
}

/// A forged child that syncs once like an honest one (from an empty index, sending
/// nothing), then answers each fresh query its parent asks on the same connection
/// with `answer` (and [`Frame::Done`] only if `answer` has one). The connection stays
/// open while the returned handle lives.
pub(crate) async fn child_answering_fresh(
    ep: &quinn::Endpoint,
    addr: &str,
    own: DivisionCode,
    answer: Vec<Frame>,
) -> quinn::Connection {
    let (conn, mut send, mut recv) = open_and_reconcile_empty(ep, addr, own).await;
    // Want nothing, send nothing; read the parent's side to its end.
    write_frame(&mut send, &Frame::WantDone)
        .await
        .expect("want-done");
    write_frame(&mut send, &Frame::Done { records: 0 })
        .await
        .expect("done");
    let _ = send.finish();
    while let Ok(Some(_)) = read_frame(&mut recv).await {}
    let serving = conn.clone();
    tokio::spawn(async move {
        while let Ok((mut send, mut recv)) = serving.accept_bi().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                if let Ok(Some((Frame::SubjectQuery { .. }, _))) = read_frame(&mut recv).await {
                    for f in &answer {
                        if write_frame(&mut send, f).await.is_err() {
                            return;
                        }
                    }
                    let _ = send.finish();
                }
            });
        }
    });
    conn
}
