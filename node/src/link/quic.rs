//! QUIC endpoints with mutual TLS, built from a certs directory.
//!
//! A node has one endpoint: it listens for its children and admin clients, and it
//! connects to its parent from the same socket, presenting `node.crt` both ways. The
//! transport is tuned for bulk sync on a data-centre network: wide flow-control
//! windows, keep-alives so an idle parent link stays up, and an idle timeout so a dead
//! peer is noticed within seconds.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{Connection, Endpoint, TransportConfig, VarInt};
use rustls_pki_types::CertificateDer;

use credithub_protocol::link::{alpn_offer, version_of_alpn, LINK_VERSION, MIN_LINK_VERSION};

use super::LinkError;
use crate::certs::{client_config, peer_identity, server_config, CertError, Identity};

/// Concurrent streams a peer may open on one connection.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 16;

/// How long a connection may stay silent before it counts as dead.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(8);

/// How long to wait for a handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

fn transport() -> Arc<TransportConfig> {
    let mut t = TransportConfig::default();
    t.max_concurrent_bidi_streams(VarInt::from_u32(MAX_STREAMS_PER_CONNECTION))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        .keep_alive_interval(Some(Duration::from_secs(2)))
        .stream_receive_window(VarInt::from_u32(8 << 20))
        .receive_window(VarInt::from_u32(32 << 20))
        .send_window(32 << 20);
    if let Ok(idle) = IDLE_TIMEOUT.try_into() {
        t.max_idle_timeout(Some(idle));
    }
    Arc::new(t)
}

fn tls_error(dir: &Path, e: impl std::fmt::Display) -> LinkError {
    LinkError::Cert(CertError::Certificate {
        file: dir.to_path_buf(),
        reason: format!("unusable for QUIC: {e}"),
    })
}

/// The client half of an endpoint's configuration: trusts `ca.crt`, presents
/// `node.crt` (`client_name` `None`) or `client.<name>.crt`, and offers every link
/// version this build speaks.
pub fn client_quic_config(
    certs_dir: &Path,
    client_name: Option<&str>,
) -> Result<quinn::ClientConfig, LinkError> {
    client_quic_config_speaking(certs_dir, client_name, LINK_VERSION)
}

/// [`client_quic_config`] offering link versions up to `max_version` only (a node
/// held back during a rolling upgrade, see [`negotiated_version`]).
pub fn client_quic_config_speaking(
    certs_dir: &Path,
    client_name: Option<&str>,
    max_version: u16,
) -> Result<quinn::ClientConfig, LinkError> {
    let mut tls = client_config(certs_dir, client_name)?;
    tls.alpn_protocols = alpn_offer(max_version);
    let quic = QuicClientConfig::try_from(tls).map_err(|e| tls_error(certs_dir, e))?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    config.transport_config(transport());
    Ok(config)
}

/// The server half of a node's endpoint configuration: presents `node.crt`, requires
/// client certificates signed by `ca.crt` and not revoked by `ca.crl`, and accepts
/// every link version this build speaks.
pub fn server_quic_config(certs_dir: &Path) -> Result<quinn::ServerConfig, LinkError> {
    server_quic_config_speaking(certs_dir, LINK_VERSION)
}

/// [`server_quic_config`] accepting link versions up to `max_version` only.
pub fn server_quic_config_speaking(
    certs_dir: &Path,
    max_version: u16,
) -> Result<quinn::ServerConfig, LinkError> {
    let mut tls = server_config(certs_dir)?;
    tls.alpn_protocols = alpn_offer(max_version);
    let quic = QuicServerConfig::try_from(tls).map_err(|e| tls_error(certs_dir, e))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(quic));
    server.transport_config(transport());
    Ok(server)
}

/// A node's endpoint: listening on `listen` with `node.crt`, requiring client
/// certificates signed by `ca.crt`, and able to connect out with `node.crt`, speaking
/// link versions up to `max_version`.
pub fn node_endpoint(
    certs_dir: &Path,
    listen: SocketAddr,
    max_version: u16,
) -> Result<Endpoint, LinkError> {
    let server = server_quic_config_speaking(certs_dir, max_version)?;
    let mut endpoint = Endpoint::server(server, listen)?;
    endpoint.set_default_client_config(client_quic_config_speaking(certs_dir, None, max_version)?);
    Ok(endpoint)
}

/// The link version a connection negotiated in its TLS handshake: the newest both
/// ends offered (each offers every version from [`MIN_LINK_VERSION`] to the newest it
/// speaks, newest first, and the accepting end picks by its own order). A peer that
/// offered no ALPN at all could not have completed the handshake; should the name be
/// missing anyway, the connection counts as the oldest version.
pub fn negotiated_version(conn: &Connection) -> u16 {
    conn.handshake_data()
        .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|d| d.protocol.as_deref().and_then(version_of_alpn))
        .unwrap_or(MIN_LINK_VERSION)
}

/// A client-only endpoint (for `credit-admin`), presenting `client.<name>.crt`.
pub fn client_endpoint(certs_dir: &Path, client_name: &str) -> Result<Endpoint, LinkError> {
    let bind: SocketAddr = ([0, 0, 0, 0], 0).into();
    let mut endpoint = Endpoint::client(bind)?;
    endpoint.set_default_client_config(client_quic_config(certs_dir, Some(client_name))?);
    Ok(endpoint)
}

/// Connects to `addr`, checking its certificate against `server_name` (a host name or
/// IP address in its certificate), and returns the connection with the peer's
/// identity.
pub async fn connect(
    endpoint: &Endpoint,
    addr: SocketAddr,
    server_name: &str,
) -> Result<(Connection, Identity), LinkError> {
    handshake(endpoint.connect(addr, server_name)?).await
}

/// [`connect`] with a client configuration of its own (read afresh from the certs
/// directory, so that a new revocation list counts).
pub async fn connect_with(
    endpoint: &Endpoint,
    config: quinn::ClientConfig,
    addr: SocketAddr,
    server_name: &str,
) -> Result<(Connection, Identity), LinkError> {
    handshake(endpoint.connect_with(config, addr, server_name)?).await
}

async fn handshake(connecting: quinn::Connecting) -> Result<(Connection, Identity), LinkError> {
    let conn = tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting)
        .await
        .map_err(|_| LinkError::Timeout(HANDSHAKE_TIMEOUT.as_secs(), "for the TLS handshake"))??;
    let identity = identity_of(&conn)?;
    Ok((conn, identity))
}

/// The serial number (hexadecimal) of the certificate the peer of a connection
/// presented.
pub fn peer_serial(conn: &Connection) -> Option<String> {
    let certs = conn
        .peer_identity()?
        .downcast::<Vec<CertificateDer<'static>>>()
        .ok()?;
    let (_, x509) = x509_parser::parse_x509_certificate(certs.first()?).ok()?;
    Some(hex::encode(x509.raw_serial()))
}

/// Why a handshake failed, as a short label for metrics (`no-certificate`,
/// `certificate-expired`, `certificate-revoked`, `unknown-ca`, `handshake-failed`).
pub fn handshake_failure(e: &quinn::ConnectionError) -> &'static str {
    let text = e.to_string().to_ascii_lowercase();
    if text.contains("revoked") {
        "certificate-revoked"
    } else if text.contains("expired") || text.contains("notvalidyet") {
        "certificate-expired"
    } else if text.contains("unknownissuer")
        || text.contains("unknown issuer")
        || text.contains("badsignature")
    {
        "unknown-ca"
    } else if text.contains("no certificates") || text.contains("nocertificates") {
        "no-certificate"
    } else {
        "handshake-failed"
    }
}

/// The identity in the certificate the peer of a connection presented.
pub fn identity_of(conn: &Connection) -> Result<Identity, LinkError> {
    let certs = conn
        .peer_identity()
        .and_then(|any| any.downcast::<Vec<CertificateDer<'static>>>().ok())
        .map(|b| *b)
        .unwrap_or_default();
    Ok(peer_identity(&certs)?)
}
