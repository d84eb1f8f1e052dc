//! Creating and listing the certificates of a certs directory (see [`super`] for the
//! file names): a CA, a node certificate and admin or client certificates, each with an
//! ECDSA P-256 key.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use credithub_protocol::DivisionCode;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, PKCS_ECDSA_P256_SHA256,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use super::identity::{Identity, IdentityError, Role, ORGANISATION};
use super::{
    client_cert_file, client_key_file, ensure_absent, ensure_dir, io_error, read_file,
    read_key_file, write_file, CertError, CA_CERT, NODE_CERT, NODE_KEY,
};

/// The names a node certificate is valid for when no `--host` is given.
pub const DEFAULT_HOSTS: &[&str] = &["localhost", "127.0.0.1"];

/// How far back a new certificate's validity starts, to tolerate clock skew.
const BACKDATE: Duration = Duration::hours(1);

/// The CA certificate's common name.
const CA_COMMON_NAME: &str = "credithub CA";

/// What one certificate file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The file name inside the certs directory (`node.crt`).
    pub file: String,
    /// The holder's role; `None` for the CA or a certificate without a valid identity.
    pub role: Option<Role>,
    /// The holder's jurisdiction, when the certificate carries an identity.
    pub jurisdiction: Option<DivisionCode>,
    /// The holder's name, when the certificate carries an identity.
    pub name: Option<String>,
    /// The subject, as `CN=…, O=…`.
    pub subject: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Whether the certificate is a CA (`basicConstraints CA:TRUE`).
    pub is_ca: bool,
    /// The DNS names and IP addresses it is valid for (node certificates).
    pub hosts: Vec<String>,
    /// Why a non-CA certificate carries no valid identity.
    pub problem: Option<String>,
    /// Its serial number, as hexadecimal.
    pub serial: String,
    /// When it was revoked, if it is on the directory's revocation list (`ca.crl`).
    pub revoked_at: Option<OffsetDateTime>,
}

impl CertInfo {
    /// Whether the certificate has expired.
    pub fn is_expired(&self) -> bool {
        self.not_after < OffsetDateTime::now_utc()
    }

    /// Whole days until the certificate expires (negative once expired).
    pub fn days_left(&self) -> i64 {
        (self.not_after - OffsetDateTime::now_utc()).whole_days()
    }
}

/// The files a `create_*` call wrote.
#[derive(Debug, Clone)]
pub struct Created {
    /// The certificate file.
    pub cert_file: PathBuf,
    /// The private key file.
    pub key_file: PathBuf,
    /// What the certificate says.
    pub info: CertInfo,
}

/// Creates a self-signed CA: `ca.crt` in `certs_dir` and its key at `ca_key_path`
/// (mode `0600`), valid for `lifetime_days`. Missing directories are created with mode
/// `0700`. Existing files are refused unless `overwrite`.
pub fn create_ca(
    certs_dir: &Path,
    ca_key_path: &Path,
    lifetime_days: u32,
    overwrite: bool,
) -> Result<Created, CertError> {
    let cert_file = certs_dir.join(CA_CERT);
    ensure_absent(&[&cert_file, ca_key_path], overwrite)?;
    let (not_before, not_after) = validity(lifetime_days)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(CA_COMMON_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = not_before;
    params.not_after = not_after;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    ensure_dir(certs_dir)?;
    if let Some(parent) = ca_key_path.parent() {
        ensure_dir(parent)?;
    }
    write_file(
        ca_key_path,
        key.serialize_pem().as_bytes(),
        0o600,
        overwrite,
    )?;
    write_file(&cert_file, cert.pem().as_bytes(), 0o644, overwrite)?;
    Ok(Created {
        info: info_of(CA_CERT, cert.der(), &cert_file)?,
        cert_file,
        key_file: ca_key_path.to_path_buf(),
    })
}

/// Creates `node.crt` and `node.key` for the node `name` serving `jurisdiction`,
/// signed by the CA (`ca.crt` in `certs_dir`, its key at `ca_key_path`). The
/// certificate is valid for the given DNS names and IP addresses ([`DEFAULT_HOSTS`]
/// when `hosts` is empty), as TLS server and as TLS client.
pub fn create_node(
    certs_dir: &Path,
    ca_key_path: &Path,
    jurisdiction: DivisionCode,
    name: &str,
    hosts: &[String],
    lifetime_days: u32,
    overwrite: bool,
) -> Result<Created, CertError> {
    let identity = Identity::new(Role::Node, jurisdiction, name)?;
    let mut sans = Vec::new();
    let defaults: Vec<String> = DEFAULT_HOSTS.iter().map(|h| h.to_string()).collect();
    for host in if hosts.is_empty() { &defaults } else { hosts } {
        sans.push(host_san(host)?);
    }
    let ekus = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    issue(
        certs_dir,
        ca_key_path,
        &identity,
        sans,
        ekus,
        (NODE_CERT, NODE_KEY),
        lifetime_days,
        overwrite,
    )
}

/// Creates `client.<name>.crt` and `client.<name>.key` for an admin or a client
/// application, signed by the CA. The role must be [`Role::Admin`] or [`Role::Client`].
/// An admin and a client of the same name share the file names.
pub fn create_client(
    certs_dir: &Path,
    ca_key_path: &Path,
    role: Role,
    jurisdiction: DivisionCode,
    name: &str,
    lifetime_days: u32,
    overwrite: bool,
) -> Result<Created, CertError> {
    if role == Role::Node {
        return Err(IdentityError::Role("node (use create-node for nodes)".into()).into());
    }
    let identity = Identity::new(role, jurisdiction, name)?;
    issue(
        certs_dir,
        ca_key_path,
        &identity,
        Vec::new(),
        vec![ExtendedKeyUsagePurpose::ClientAuth],
        (&client_cert_file(name), &client_key_file(name)),
        lifetime_days,
        overwrite,
    )
}

/// Signs a new end-entity certificate for `identity` with the CA and writes it.
#[allow(clippy::too_many_arguments)]
fn issue(
    certs_dir: &Path,
    ca_key_path: &Path,
    identity: &Identity,
    mut sans: Vec<SanType>,
    ekus: Vec<ExtendedKeyUsagePurpose>,
    (cert_name, key_name): (&str, &str),
    lifetime_days: u32,
    overwrite: bool,
) -> Result<Created, CertError> {
    let cert_file = certs_dir.join(cert_name);
    let key_file = certs_dir.join(key_name);
    ensure_absent(&[&cert_file, &key_file], overwrite)?;
    let (issuer, ca_not_after) = load_ca(certs_dir, ca_key_path)?;
    let (not_before, not_after) = validity(lifetime_days)?;
    if not_after > ca_not_after {
        return Err(CertError::Lifetime(format!(
            "a lifetime of {lifetime_days} days ends {}, after the CA expires ({})",
            super::rfc3339(not_after),
            super::rfc3339(ca_not_after)
        )));
    }
    let uri = identity
        .to_uri()
        .try_into()
        .map_err(|_| IdentityError::Malformed {
            uri: identity.to_uri(),
        })?;
    sans.insert(0, SanType::URI(uri));
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(&identity.common_name());
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = ekus;
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let cert = params.signed_by(&key, &issuer)?;
    ensure_dir(certs_dir)?;
    write_file(&key_file, key.serialize_pem().as_bytes(), 0o600, overwrite)?;
    write_file(&cert_file, cert.pem().as_bytes(), 0o644, overwrite)?;
    Ok(Created {
        info: info_of(cert_name, cert.der(), &cert_file)?,
        cert_file,
        key_file,
    })
}

/// Loads the CA certificate and key as an issuer, checking that the key is private and
/// belongs to the certificate. Returns the issuer and the CA's expiry.
pub(super) fn load_ca(
    certs_dir: &Path,
    ca_key_path: &Path,
) -> Result<(Issuer<'static, KeyPair>, OffsetDateTime), CertError> {
    let cert_file = certs_dir.join(CA_CERT);
    let der = read_cert(&cert_file, "the CA certificate; run cert create-ca first")?;
    let (_, x509) =
        x509_parser::parse_x509_certificate(&der).map_err(|e| CertError::Certificate {
            file: cert_file.clone(),
            reason: format!("not an X.509 certificate: {e}"),
        })?;
    if !x509.is_ca() {
        return Err(CertError::Certificate {
            file: cert_file,
            reason: "not a CA certificate".into(),
        });
    }
    let key_pem = read_key_file(ca_key_path, "the CA key given with --ca-key")?;
    let key_pem = String::from_utf8(key_pem).map_err(|_| CertError::Pem {
        file: ca_key_path.to_path_buf(),
        what: "private key",
        reason: "not text".into(),
    })?;
    let key = KeyPair::from_pem(&key_pem).map_err(|e| CertError::Pem {
        file: ca_key_path.to_path_buf(),
        what: "private key",
        reason: e.to_string(),
    })?;
    if key.public_key_raw() != x509.public_key().subject_public_key.data.as_ref() {
        return Err(CertError::KeyMismatch {
            key: ca_key_path.to_path_buf(),
            cert: cert_file,
        });
    }
    let not_after = x509.validity().not_after.to_datetime();
    let issuer = Issuer::from_ca_cert_der(&der, key).map_err(|e| CertError::Certificate {
        file: cert_file,
        reason: e.to_string(),
    })?;
    Ok((issuer, not_after))
}

/// Lists every `*.crt` file of a certs directory, by file name.
pub fn list(certs_dir: &Path) -> Result<Vec<CertInfo>, CertError> {
    let entries = fs::read_dir(certs_dir).map_err(|e| io_error(certs_dir, e))?;
    let mut infos = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(certs_dir, e))?;
        let path = entry.path();
        let file = entry.file_name().to_string_lossy().into_owned();
        if !file.ends_with(".crt") || !path.is_file() {
            continue;
        }
        let der = read_cert(&path, "a certificate")?;
        infos.push(info_of(&file, &der, &path)?);
    }
    let revoked = super::revoke::revoked(certs_dir)?;
    for info in &mut infos {
        info.revoked_at = revoked
            .iter()
            .find(|r| r.serial == info.serial)
            .map(|r| r.revoked_at);
    }
    infos.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(infos)
}

/// Reads the first certificate of a PEM file.
pub(super) fn read_cert(
    file: &Path,
    what: &'static str,
) -> Result<CertificateDer<'static>, CertError> {
    let pem = read_file(file, what)?;
    CertificateDer::from_pem_slice(&pem).map_err(|e| CertError::Pem {
        file: file.to_path_buf(),
        what: "certificate",
        reason: e.to_string(),
    })
}

/// What a DER certificate says; `path` names the file in errors.
fn info_of(file: &str, der: &[u8], path: &Path) -> Result<CertInfo, CertError> {
    let (_, x509) =
        x509_parser::parse_x509_certificate(der).map_err(|e| CertError::Certificate {
            file: path.to_path_buf(),
            reason: format!("not an X.509 certificate: {e}"),
        })?;
    let is_ca = x509.is_ca();
    let (identity, problem) = match Identity::from_x509(&x509) {
        Ok(id) => (Some(id), None),
        Err(IdentityError::Missing) if is_ca => (None, None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(CertInfo {
        file: file.to_string(),
        role: identity.as_ref().map(|i| i.role),
        jurisdiction: identity.as_ref().map(|i| i.jurisdiction),
        name: identity.map(|i| i.name),
        subject: x509.subject().to_string(),
        not_before: x509.validity().not_before.to_datetime(),
        not_after: x509.validity().not_after.to_datetime(),
        is_ca,
        hosts: hosts_of(&x509),
        problem,
        serial: hex::encode(x509.raw_serial()),
        revoked_at: None,
    })
}

fn hosts_of(x509: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = x509.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(d) => Some(d.to_string()),
            GeneralName::IPAddress(b) => match b.len() {
                4 => <[u8; 4]>::try_from(*b)
                    .ok()
                    .map(|a| IpAddr::from(a).to_string()),
                16 => <[u8; 16]>::try_from(*b)
                    .ok()
                    .map(|a| IpAddr::from(a).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// `CN=<common name>, O=credithub`.
fn subject(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, ORGANISATION);
    dn
}

/// Validity from an hour ago (clock skew) to `lifetime_days` from now.
fn validity(lifetime_days: u32) -> Result<(OffsetDateTime, OffsetDateTime), CertError> {
    if lifetime_days == 0 {
        return Err(CertError::Lifetime(
            "the lifetime must be at least one day".into(),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    Ok((
        now - BACKDATE,
        now + Duration::days(i64::from(lifetime_days)),
    ))
}

/// A host as a SAN: an IP address, or a DNS name (labels of letters, digits and `-`,
/// optionally starting with a `*.` wildcard).
fn host_san(host: &str) -> Result<SanType, CertError> {
    let bad = || CertError::Host {
        host: host.to_string(),
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let labels = host.strip_prefix("*.").unwrap_or(host);
    let valid = !labels.is_empty()
        && host.len() <= 253
        && labels.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !valid {
        return Err(bad());
    }
    Ok(SanType::DnsName(host.try_into().map_err(|_| bad())?))
}
