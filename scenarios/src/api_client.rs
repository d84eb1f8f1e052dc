//! A client of a node's read API, for benchmarks and end-to-end tests: one TLS
//! connection with a client certificate of the federation CA, HTTP/2 or HTTP/1.1 as
//! asked (by ALPN), kept alive across requests.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::{http1, http2};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::ServerName;

/// The HTTP version a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/2 (ALPN `h2`).
    Http2,
    /// HTTP/1.1 with keep-alive (ALPN `http/1.1`).
    Http1,
}

impl Protocol {
    fn alpn(self) -> &'static [u8] {
        match self {
            Protocol::Http2 => b"h2",
            Protocol::Http1 => b"http/1.1",
        }
    }

    /// `HTTP/2` or `HTTP/1.1`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http2 => "HTTP/2",
            Protocol::Http1 => "HTTP/1.1",
        }
    }
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The body, as text.
    pub body: String,
}

enum Sender {
    H2(http2::SendRequest<Full<Bytes>>),
    H1(http1::SendRequest<Full<Bytes>>),
}

/// A connection to a node's read API.
pub struct ApiClient {
    sender: Sender,
    protocol: Protocol,
}

impl ApiClient {
    /// Connects to `address` as the client certificate `client` of `certs_dir`
    /// (`client.<name>.crt`), speaking `protocol`.
    pub async fn connect(
        address: &str,
        certs_dir: &Path,
        client: &str,
        protocol: Protocol,
    ) -> anyhow::Result<ApiClient> {
        let mut tls = credithub_node::certs::client_config(certs_dir, Some(client))
            .with_context(|| format!("the certificate of client {client}"))?;
        tls.alpn_protocols = vec![protocol.alpn().to_vec()];
        let tcp = tokio::net::TcpStream::connect(address)
            .await
            .with_context(|| format!("connecting to the read API at {address}"))?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from("localhost")?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(name, tcp)
            .await
            .with_context(|| format!("TLS handshake with {address}"))?;
        let negotiated = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        if negotiated.as_deref() != Some(protocol.alpn()) {
            bail!(
                "{address} did not agree to {} (ALPN: {:?})",
                protocol.name(),
                negotiated.map(|p| String::from_utf8_lossy(&p).into_owned())
            );
        }
        let io = TokioIo::new(stream);
        let sender = match protocol {
            Protocol::Http2 => {
                let (sender, connection) = http2::handshake(TokioExecutor::new(), io).await?;
                tokio::spawn(connection);
                Sender::H2(sender)
            }
            Protocol::Http1 => {
                let (sender, connection) = http1::handshake(io).await?;
                tokio::spawn(connection);
                Sender::H1(sender)
            }
        };
        Ok(ApiClient { sender, protocol })
    }

    /// The HTTP version of the connection.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// `GET target` (a path with its query string) on the connection.
    pub async fn get(&mut self, target: &str) -> anyhow::Result<Answer> {
        self.request(Method::GET, target, Bytes::new()).await
    }

    /// A request of any method, with a body, on the connection.
    pub async fn request(
        &mut self,
        method: Method,
        target: &str,
        body: Bytes,
    ) -> anyhow::Result<Answer> {
        let response = match &mut self.sender {
            Sender::H2(s) => {
                let uri = format!("https://localhost{target}");
                let request = Request::builder()
                    .method(method)
                    .uri(uri)
                    .body(Full::new(body))?;
                s.ready().await?;
                s.send_request(request).await?
            }
            Sender::H1(s) => {
                let request = Request::builder()
                    .method(method)
                    .uri(target)
                    .header(HOST, "localhost")
                    .body(Full::new(body))?;
                s.ready().await?;
                s.send_request(request).await?
            }
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer {
            status,
            content_type,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}
