//! The HTTPS read API answers as `docs/openapi.json` says: every documented field is
//! present, each role sees what it may, errors come as JSON with the documented
//! statuses, and a caller without a certificate is refused at the handshake.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use credithub_node::admin::AdminRequest;
use credithub_node::certs::{self, Role};
use credithub_protocol::testing::body_about;
use credithub_protocol::{Date, DivisionCode, RecordKind};
use credithub_scenarios::federation::cluster::{call, Cluster, NodeSpec};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;

fn openapi() -> Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(file).expect("openapi.json")).expect("valid JSON")
}

/// Resolves a `$ref` of the OpenAPI document.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => r
            .trim_start_matches("#/")
            .split('/')
            .fold(doc, |node, part| &node[part]),
        None => v,
    }
}

/// Checks a JSON value against a schema of the document: required properties present,
/// types as declared (recursively through objects and arrays).
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let ok = types.is_empty()
        || types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => true,
        });
    assert!(ok, "{at}: {value} is not of type {types:?}");
    if let Some(required) = schema["required"].as_array() {
        for r in required.iter().filter_map(Value::as_str) {
            assert!(
                value.get(r).is_some(),
                "{at}: missing required property {r} in {value}"
            );
        }
    }
    if let (Some(props), Some(obj)) = (schema["properties"].as_object(), value.as_object()) {
        for (k, s) in props {
            if let Some(v) = obj.get(k) {
                conforms(doc, s, v, &format!("{at}.{k}"));
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            conforms(doc, items, v, &format!("{at}[{i}]"));
        }
    }
}

async fn get(
    addr: &str,
    certs_dir: &Path,
    client: Option<&str>,
    target: &str,
) -> Result<(u16, String), String> {
    let mut tls = match client {
        Some(name) => certs::client_config(certs_dir, Some(name)).map_err(|e| e.to_string())?,
        None => {
            let mut roots = rustls::RootCertStore::empty();
            let pem = std::fs::read(certs_dir.join(certs::CA_CERT)).map_err(|e| e.to_string())?;
            use rustls_pki_types::pem::PemObject;
            for c in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
                roots
                    .add(c.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            rustls::ClientConfig::builder_with_provider(certs::provider())
                .with_protocol_versions(&[&rustls::version::TLS13])
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth()
        }
    };
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls_pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut s = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let code = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

fn schema_of<'a>(doc: &'a Value, path: &str) -> &'a Value {
    &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
}

#[test]
fn the_read_api_answers_as_its_openapi_file_says() {
    let doc = openapi();
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
    let dir = tempfile::tempdir().expect("tmp");
    let api = common::free_loopback_address();
    let measures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config/measures.toml");
    let measures = measures.to_string_lossy().into_owned();
    let specs = vec![NodeSpec {
        name: "national".into(),
        jurisdiction: DivisionCode::NATIONAL,
        parent: None,
    }];
    let cluster = Cluster::start_with(
        &dir.path().join("fed"),
        specs,
        vec![],
        Duration::from_secs(3600),
        |_| format!("measures_file = {measures:?}\n[api]\nlisten = \"{api}\"\n"),
    )
    .expect("node starts");
    let certs_dir = cluster.nodes[0].dir.join("certs");
    for (role, name) in [
        (Role::Client, "agency"),
        (Role::Public, "portal"),
        (Role::Auditor, "auditor"),
    ] {
        certs::create_client(
            &certs_dir,
            cluster.ca_key(),
            role,
            DivisionCode::NATIONAL,
            name,
            20,
            false,
        )
        .expect("cert");
    }
    let mut recent = body_about(1, "320583");
    let today = Date::from_millis(credithub_node::clock::now_millis()).expect("today");
    recent.decision_date = today.add_days(-3).expect("date");
    let old = body_about(2, "320583"); // 2024: no longer published
    let subject = recent.subject.id.unmasked();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let c = cluster.admin(0).await.expect("up");
        let records = vec![(RecordKind::PENALTY, recent), (RecordKind::PENALTY, old)];
        call(&c, &AdminRequest::Put { records }).await.expect("put");
        c.close().await;

        let records = format!("/v1/subjects/{subject}/records");
        let (code, body) = get(&api, &certs_dir, Some("agency"), &records)
            .await
            .expect("answer");
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        conforms(
            &doc,
            schema_of(&doc, "/v1/subjects/{id}/records"),
            &v,
            "records",
        );
        assert_eq!(v["records"].as_array().map(Vec::len), Some(2), "{v}");
        let (_, body) = get(&api, &certs_dir, Some("portal"), &records)
            .await
            .expect("answer");
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            v["records"].as_array().map(Vec::len),
            Some(1),
            "the public sees published records only: {v}"
        );

        let measures = format!("/v1/subjects/{subject}/measures?action=government-procurement");
        let (code, body) = get(&api, &certs_dir, Some("agency"), &measures)
            .await
            .expect("answer");
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        conforms(
            &doc,
            schema_of(&doc, "/v1/subjects/{id}/measures"),
            &v,
            "measures",
        );

        let report = format!("/v1/subjects/{subject}/report");
        let (code, body) = get(&api, &certs_dir, Some("agency"), &report)
            .await
            .expect("answer");
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        conforms(
            &doc,
            schema_of(&doc, "/v1/subjects/{id}/report"),
            &v,
            "report",
        );
        let (code, text) = get(
            &api,
            &certs_dir,
            Some("agency"),
            &format!("{report}?format=text"),
        )
        .await
        .expect("answer");
        assert!(code == 200 && text.contains("Credit report"), "{text}");

        // Errors, as documented.
        let person = "/v1/subjects/11010519491231002X/records";
        let (code, body) = get(&api, &certs_dir, Some("agency"), person)
            .await
            .expect("answer");
        assert_eq!(code, 400, "{body}");
        conforms(
            &doc,
            &doc["components"]["schemas"]["Error"],
            &serde_json::from_str(&body).expect("json"),
            "error",
        );
        assert!(body.contains("purpose"), "{body}");
        let (code, _) = get(
            &api,
            &certs_dir,
            Some("agency"),
            &format!("{person}?purpose=%E8%B4%B7%E6%AC%BE%E5%AE%A1%E6%9F%A5"),
        )
        .await
        .expect("answer");
        assert_eq!(code, 200);
        let (code, body) = get(
            &api,
            &certs_dir,
            Some("portal"),
            &format!("{records}?audience=auditor"),
        )
        .await
        .expect("answer");
        assert_eq!(code, 403, "{body}");
        // Search by name: the company by a fragment of its name.
        let name = format!(
            "/v1/search?name={}",
            "%E7%A4%BA%E4%BE%8B" // 示例
        );
        let (code, body) = get(&api, &certs_dir, Some("agency"), &name)
            .await
            .expect("answer");
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        conforms(&doc, schema_of(&doc, "/v1/search"), &v, "search");
        assert!(
            v["hits"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| h["subject"] == subject.as_str())),
            "{v}"
        );
        let (code, body) = get(
            &api,
            &certs_dir,
            Some("agency"),
            "/v1/search?name=%E7%A4%BA",
        )
        .await
        .expect("answer");
        assert_eq!(code, 400, "one character is too short: {body}");
        let (code, _) = get(&api, &certs_dir, Some("agency"), "/v1/nothing")
            .await
            .expect("answer");
        assert_eq!(code, 404);
        assert!(
            get(&api, &certs_dir, None, &records).await.is_err(),
            "no certificate, no answer"
        );
    });
}
