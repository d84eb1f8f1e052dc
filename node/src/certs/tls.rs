//! rustls configurations for mutual TLS between credithub nodes and their clients.
//!
//! Both sides trust only the certs directory's `ca.crt` (less what its `ca.crl`
//! revokes, when there is one), present a certificate signed by it, speak TLS 1.3 only (as QUIC requires) and offer the ALPN protocol
//! [`ALPN`]. The crypto provider is always *ring*, given explicitly, so no process-wide
//! default provider is needed. After the handshake, [`peer_identity`] tells who the
//! peer is from its certificate.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::generate::read_cert;
use super::identity::{validate_name, Identity, IdentityError};
use super::revoke::load_crls;
use super::{
    client_cert_file, client_key_file, read_key_file, CertError, CA_CERT, NODE_CERT, NODE_KEY,
};

/// The ALPN protocol of credithub connections.
pub const ALPN: &[u8] = b"credithub/1";

/// The *ring* crypto provider every credithub TLS configuration uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration presenting `node.crt` and requiring a client certificate
/// signed by `ca.crt`.
pub fn server_config(certs_dir: &Path) -> Result<ServerConfig, CertError> {
    let provider = provider();
    let roots = Arc::new(ca_roots(certs_dir)?);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
        .with_crls(load_crls(certs_dir)?)
        .build()?;
    let (chain, key) = load_pair(certs_dir, NODE_CERT, NODE_KEY)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// A client configuration trusting only `ca.crt` and presenting `node.crt`
/// (`client_name` `None`) or `client.<name>.crt`.
pub fn client_config(
    certs_dir: &Path,
    client_name: Option<&str>,
) -> Result<ClientConfig, CertError> {
    let (cert_name, key_name) = match client_name {
        None => (NODE_CERT.to_string(), NODE_KEY.to_string()),
        Some(name) => {
            validate_name(name)?;
            (client_cert_file(name), client_key_file(name))
        }
    };
    let provider = provider();
    let roots = Arc::new(ca_roots(certs_dir)?);
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .with_crls(load_crls(certs_dir)?)
        .build()?;
    let (chain, key) = load_pair(certs_dir, &cert_name, &key_name)?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The identity of a peer from the certificate chain it presented (end entity first,
/// as `peer_certificates()` of a rustls or quinn connection gives it).
pub fn peer_identity(certs: &[CertificateDer<'_>]) -> Result<Identity, IdentityError> {
    let end_entity = certs.first().ok_or(IdentityError::NoPeerCertificate)?;
    Identity::from_der(end_entity)
}

/// The trust anchors: the certs directory's `ca.crt`, and nothing else.
fn ca_roots(certs_dir: &Path) -> Result<RootCertStore, CertError> {
    let file = certs_dir.join(CA_CERT);
    let ca = read_cert(&file, "the CA certificate")?;
    let mut roots = RootCertStore::empty();
    roots.add(ca).map_err(|e| CertError::Certificate {
        file,
        reason: format!("unusable as a trust anchor: {e}"),
    })?;
    Ok(roots)
}

/// A certificate chain and its private key, the key checked to be private.
fn load_pair(
    certs_dir: &Path,
    cert_name: &str,
    key_name: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), CertError> {
    let cert_file = certs_dir.join(cert_name);
    let key_file = certs_dir.join(key_name);
    let chain = vec![read_cert(
        &cert_file,
        "a certificate; see cert create-node / create-client",
    )?];
    Identity::from_der(&chain[0]).map_err(|source| CertError::Identity {
        file: cert_file,
        source,
    })?;
    let key_pem = read_key_file(&key_file, "the certificate's private key")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| CertError::Pem {
        file: key_file,
        what: "private key",
        reason: e.to_string(),
    })?;
    Ok((chain, key))
}
