//! QUIC endpoints with mutual TLS, built from a certs directory.
//!
//! A node has one endpoint: it listens for its children and admin clients, and it
//! connects to its parent from the same socket, presenting `node.crt` both ways. The
//! transport is tuned for bulk sync ([`LinkTuning`], the configuration's `[link]`
//! section): wide flow-control windows, a congestion controller that does not read
//! random loss as congestion (BBR by default), loss detection that tolerates the
//! reordering of a jittery path, large socket buffers, keep-alives so an idle parent
//! link stays up, and an idle timeout so a dead peer is noticed within seconds.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use quinn::congestion::{BbrConfig, CubicConfig, NewRenoConfig};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{Connection, Endpoint, EndpointConfig, TransportConfig, VarInt};
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

/// The congestion controller of a node's QUIC connections (`link.congestion`).
///
/// It decides how much the sender may have in flight. CUBIC and NewReno read every
/// lost packet as a sign of congestion and halve (NewReno) or cut by 30 % (CUBIC)
/// their window once per round trip with a loss: on a path that drops packets at
/// random (a bad radio or provincial backbone link) they sit at their two-packet
/// minimum. BBR models the path's bandwidth and round trip from what is delivered,
/// so random loss costs only the lost packets themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Congestion {
    /// BBR (quinn's implementation of BBR version 1): paced at the measured
    /// bandwidth, tolerant of random loss. The default.
    #[default]
    Bbr,
    /// CUBIC (RFC 9438): quinn's own default and the node's before BBR; loss-based.
    Cubic,
    /// NewReno (RFC 9002's reference controller); loss-based.
    NewReno,
}

impl Congestion {
    /// Every controller, in the order the configuration names them.
    pub const ALL: [Congestion; 3] = [Congestion::Bbr, Congestion::Cubic, Congestion::NewReno];

    /// The controller named `name` (`bbr`, `cubic`, `newreno`; case is ignored).
    pub fn parse(name: &str) -> Option<Congestion> {
        Congestion::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// The configuration's name of the controller.
    pub fn as_str(self) -> &'static str {
        match self {
            Congestion::Bbr => "bbr",
            Congestion::Cubic => "cubic",
            Congestion::NewReno => "newreno",
        }
    }
}

impl fmt::Display for Congestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a node's QUIC links are tuned: the configuration's `[link]` section. The
/// defaults are the measured best for bulk sync (see `docs/operations.md` and the
/// `lossy-link` row of `scenarios bench`); [`LinkTuning::rfc9002`] is the tuning the
/// node had before, kept as the benchmark's reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkTuning {
    /// The congestion controller.
    pub congestion: Congestion,
    /// Loss detection: a packet counts as lost once this many packets sent after it
    /// are acknowledged (RFC 9002's kPacketThreshold, 3). A path that reorders
    /// (jitter, several routes) needs more, or every overtaken packet is sent twice.
    pub packet_threshold: u32,
    /// Loss detection: a packet counts as lost once it is older than this many round
    /// trips while a later one is acknowledged (RFC 9002's kTimeThreshold, 9/8).
    pub time_threshold: f32,
    /// The UDP socket's receive and send buffers asked of the kernel, in bytes (0:
    /// the system's default). Linux grants at most `net.core.rmem_max` and
    /// `net.core.wmem_max`; what it granted is logged at start-up.
    pub socket_buffer: usize,
    /// How much of one stream the peer may send ahead of what this node has read.
    pub stream_window: u32,
    /// How much of all streams of a connection the peer may send ahead, and how much
    /// this node buffers to send.
    pub connection_window: u32,
}

impl Default for LinkTuning {
    fn default() -> Self {
        LinkTuning {
            congestion: Congestion::Bbr,
            packet_threshold: 20,
            time_threshold: 3.0,
            socket_buffer: 4 << 20,
            stream_window: 8 << 20,
            connection_window: 32 << 20,
        }
    }
}

impl LinkTuning {
    /// The tuning the node had before `[link]` existed: CUBIC, RFC 9002's loss
    /// detection, the system's socket buffers, the same windows.
    pub fn rfc9002() -> LinkTuning {
        LinkTuning {
            congestion: Congestion::Cubic,
            packet_threshold: 3,
            time_threshold: 9.0 / 8.0,
            socket_buffer: 0,
            ..LinkTuning::default()
        }
    }

    /// The QUIC transport configuration of this tuning.
    pub fn transport(&self) -> Arc<TransportConfig> {
        let mut t = TransportConfig::default();
        t.max_concurrent_bidi_streams(VarInt::from_u32(MAX_STREAMS_PER_CONNECTION))
            .max_concurrent_uni_streams(VarInt::from_u32(0))
            .keep_alive_interval(Some(Duration::from_secs(2)))
            .stream_receive_window(VarInt::from_u32(self.stream_window))
            .receive_window(VarInt::from_u32(self.connection_window))
            .send_window(u64::from(self.connection_window))
            .packet_threshold(self.packet_threshold)
            .time_threshold(self.time_threshold);
        match self.congestion {
            Congestion::Bbr => t.congestion_controller_factory(Arc::new(BbrConfig::default())),
            Congestion::Cubic => t.congestion_controller_factory(Arc::new(CubicConfig::default())),
            Congestion::NewReno => {
                t.congestion_controller_factory(Arc::new(NewRenoConfig::default()))
            }
        };
        if let Ok(idle) = IDLE_TIMEOUT.try_into() {
            t.max_idle_timeout(Some(idle));
        }
        Arc::new(t)
    }
}

/// The socket buffers the kernel granted an endpoint's socket, in bytes (Linux
/// reports twice what it allows for data, its bookkeeping included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketBuffers {
    /// What was asked (0: the system's default).
    pub asked: usize,
    /// The receive buffer granted.
    pub receive: usize,
    /// The send buffer granted.
    pub send: usize,
}

impl SocketBuffers {
    /// Whether the kernel granted less than was asked (on Linux: `net.core.rmem_max`
    /// or `net.core.wmem_max` is lower).
    pub fn short(&self) -> bool {
        self.asked > 0 && (self.receive < self.asked || self.send < self.asked)
    }
}

/// A UDP socket bound to `addr` with the buffers `tuning` asks for; returns it with
/// what the kernel granted. A refused size is not an error: the socket keeps the
/// largest the kernel allows.
fn udp_socket(
    addr: SocketAddr,
    tuning: &LinkTuning,
) -> std::io::Result<(std::net::UdpSocket, SocketBuffers)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if tuning.socket_buffer > 0 {
        // Linux clamps to its maximum rather than refusing; other systems may refuse
        // outright, which leaves the default.
        let _ = socket.set_recv_buffer_size(tuning.socket_buffer);
        let _ = socket.set_send_buffer_size(tuning.socket_buffer);
    }
    socket.bind(&addr.into())?;
    socket.set_nonblocking(true)?;
    let buffers = SocketBuffers {
        asked: tuning.socket_buffer,
        receive: socket.recv_buffer_size()?,
        send: socket.send_buffer_size()?,
    };
    Ok((socket.into(), buffers))
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
    client_quic_config_speaking(certs_dir, client_name, LINK_VERSION, &LinkTuning::default())
}

/// [`client_quic_config`] offering link versions up to `max_version` only (a node
/// held back during a rolling upgrade, see [`negotiated_version`]), its transport
/// tuned as `tuning` says.
pub fn client_quic_config_speaking(
    certs_dir: &Path,
    client_name: Option<&str>,
    max_version: u16,
    tuning: &LinkTuning,
) -> Result<quinn::ClientConfig, LinkError> {
    let mut tls = client_config(certs_dir, client_name)?;
    tls.alpn_protocols = alpn_offer(max_version);
    let quic = QuicClientConfig::try_from(tls).map_err(|e| tls_error(certs_dir, e))?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    config.transport_config(tuning.transport());
    Ok(config)
}

/// The server half of a node's endpoint configuration: presents `node.crt`, requires
/// client certificates signed by `ca.crt` and not revoked by `ca.crl`, and accepts
/// every link version this build speaks.
pub fn server_quic_config(certs_dir: &Path) -> Result<quinn::ServerConfig, LinkError> {
    server_quic_config_speaking(certs_dir, LINK_VERSION, &LinkTuning::default())
}

/// [`server_quic_config`] accepting link versions up to `max_version` only, its
/// transport tuned as `tuning` says.
pub fn server_quic_config_speaking(
    certs_dir: &Path,
    max_version: u16,
    tuning: &LinkTuning,
) -> Result<quinn::ServerConfig, LinkError> {
    let mut tls = server_config(certs_dir)?;
    tls.alpn_protocols = alpn_offer(max_version);
    let quic = QuicServerConfig::try_from(tls).map_err(|e| tls_error(certs_dir, e))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(quic));
    server.transport_config(tuning.transport());
    Ok(server)
}

/// A node's endpoint: listening on `listen` with `node.crt`, requiring client
/// certificates signed by `ca.crt`, and able to connect out with `node.crt`, speaking
/// link versions up to `max_version`, tuned as `tuning` says. Returns the socket
/// buffers the kernel granted too.
pub fn node_endpoint(
    certs_dir: &Path,
    listen: SocketAddr,
    max_version: u16,
    tuning: &LinkTuning,
) -> Result<(Endpoint, SocketBuffers), LinkError> {
    let server = server_quic_config_speaking(certs_dir, max_version, tuning)?;
    let (socket, buffers) = udp_socket(listen, tuning)?;
    let runtime = quinn::default_runtime()
        .ok_or_else(|| std::io::Error::other("no async runtime for the QUIC endpoint"))?;
    let mut endpoint = Endpoint::new(EndpointConfig::default(), Some(server), socket, runtime)?;
    endpoint.set_default_client_config(client_quic_config_speaking(
        certs_dir,
        None,
        max_version,
        tuning,
    )?);
    Ok((endpoint, buffers))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs;
    use credithub_protocol::DivisionCode;

    #[test]
    fn controllers_are_named_as_the_configuration_names_them() {
        for c in Congestion::ALL {
            assert_eq!(Congestion::parse(c.as_str()), Some(c));
            assert_eq!(Congestion::parse(&c.as_str().to_uppercase()), Some(c));
        }
        assert_eq!(Congestion::parse("vegas"), None);
        assert_eq!(Congestion::default(), LinkTuning::default().congestion);
        assert_eq!(LinkTuning::rfc9002().congestion, Congestion::Cubic);
    }

    /// A node certificate for `jurisdiction` in a fresh certs directory under `root`.
    fn node_certs(root: &Path, ca_key: &Path, name: &str, code: &str) -> std::path::PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::copy(
            root.join("ca").join(certs::CA_CERT),
            dir.join(certs::CA_CERT),
        )
        .expect("ca");
        let hosts: Vec<String> = certs::DEFAULT_HOSTS.iter().map(|s| s.to_string()).collect();
        let jurisdiction = DivisionCode::parse(code).expect("code");
        certs::create_node(&dir, ca_key, jurisdiction, name, &hosts, 30, false).expect("node");
        dir
    }

    #[test]
    fn every_controller_carries_a_stream_between_two_node_endpoints() {
        let root = tempfile::tempdir().expect("tmp");
        let ca = root.path().join("ca");
        std::fs::create_dir_all(&ca).expect("ca dir");
        let ca_key = ca.join("ca.key");
        certs::create_ca(&ca, &ca_key, 30, false).expect("ca");
        let a = node_certs(root.path(), &ca_key, "jiangsu", "320000");
        let b = node_certs(root.path(), &ca_key, "suzhou", "320500");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            for congestion in Congestion::ALL {
                let tuning = LinkTuning {
                    congestion,
                    ..LinkTuning::default()
                };
                let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
                let (server, buffers) =
                    node_endpoint(&a, loopback, LINK_VERSION, &tuning).expect("server");
                assert_eq!(buffers.asked, tuning.socket_buffer);
                assert!(buffers.receive > 0 && buffers.send > 0, "{buffers:?}");
                let (client, _) =
                    node_endpoint(&b, loopback, LINK_VERSION, &tuning).expect("client");
                let addr = server.local_addr().expect("addr");
                let receiver = tokio::spawn(async move {
                    let conn = server
                        .accept()
                        .await
                        .expect("incoming")
                        .await
                        .expect("conn");
                    let (_send, mut recv) = conn.accept_bi().await.expect("stream");
                    recv.read_to_end(4 << 20).await.expect("read")
                });
                let (conn, peer) = connect(&client, addr, "localhost").await.expect("connect");
                assert_eq!(peer.name, "jiangsu");
                let (mut send, _recv) = conn.open_bi().await.expect("open");
                let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
                send.write_all(&data).await.expect("write");
                send.finish().expect("finish");
                assert_eq!(receiver.await.expect("receiver"), data, "{congestion}");
            }
        });
    }
}
