//! Revocation: the CA's certificate revocation list, `ca.crl` in a certs directory.
//!
//! `credit-admin cert revoke` adds a certificate's serial number to the list and signs
//! it again with the CA key. The operator copies `ca.crl` next to `ca.crt` on every
//! node (as with the CA certificate itself); nodes read it at start, check for a new
//! one every few seconds (and at once on SIGHUP), refuse handshakes with revoked
//! certificates and close the connections already open with them.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateRevocationListDer;
use time::{Duration, OffsetDateTime};

use super::generate::{load_ca, read_cert};
use super::{io_error, read_file, write_file, CertError, CA_CERT};

/// The revocation list's file name in a certs directory.
pub const CA_CRL: &str = "ca.crl";

/// How long a new list says it is current. Nodes do not refuse an older list (a node
/// cut off from its operator keeps the last list it has), so this only informs.
const CRL_LIFETIME: Duration = Duration::days(365);

/// One revoked certificate of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Its serial number, as hexadecimal.
    pub serial: String,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
}

/// What `revoke` did.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// The list written.
    pub crl_file: PathBuf,
    /// The certificate's serial number, as hexadecimal.
    pub serial: String,
    /// False when the certificate was already on the list (nothing was written).
    pub newly_revoked: bool,
    /// Certificates on the list now.
    pub entries: usize,
}

/// Adds the certificate in `cert_file` to the revocation list of `certs_dir`, signed
/// with the CA key at `ca_key_path`. The certificate must have been issued by this CA.
pub fn revoke(
    certs_dir: &Path,
    ca_key_path: &Path,
    cert_file: &Path,
) -> Result<Revocation, CertError> {
    let (issuer, _) = load_ca(certs_dir, ca_key_path)?;
    let der = read_cert(cert_file, "the certificate to revoke")?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(&der).map_err(|e| CertError::Certificate {
            file: cert_file.to_path_buf(),
            reason: format!("not an X.509 certificate: {e}"),
        })?;
    let ca_der = read_cert(&certs_dir.join(CA_CERT), "the CA certificate")?;
    let (_, ca) =
        x509_parser::parse_x509_certificate(&ca_der).map_err(|e| CertError::Certificate {
            file: certs_dir.join(CA_CERT),
            reason: format!("not an X.509 certificate: {e}"),
        })?;
    if cert.issuer().as_raw() != ca.subject().as_raw()
        || cert.verify_signature(Some(ca.public_key())).is_err()
    {
        return Err(CertError::Certificate {
            file: cert_file.to_path_buf(),
            reason: format!(
                "issued by {}, not by this CA ({}): only the CA that issued a certificate can revoke it",
                cert.issuer(),
                ca.subject()
            ),
        });
    }
    if cert.is_ca() {
        return Err(CertError::Certificate {
            file: cert_file.to_path_buf(),
            reason: "a CA certificate cannot be revoked by its own list; replace the CA".into(),
        });
    }
    let serial = hex::encode(cert.raw_serial());
    let crl_file = certs_dir.join(CA_CRL);
    let mut entries = revoked(certs_dir)?;
    if entries.iter().any(|e| e.serial == serial) {
        return Ok(Revocation {
            crl_file,
            serial,
            newly_revoked: false,
            entries: entries.len(),
        });
    }
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    entries.push(RevokedEntry {
        serial: serial.clone(),
        revoked_at: now,
    });
    let mut revoked_certs = Vec::with_capacity(entries.len());
    for e in &entries {
        let bytes = hex::decode(&e.serial).map_err(|_| CertError::Certificate {
            file: crl_file.clone(),
            reason: format!("serial {} is not hexadecimal", e.serial),
        })?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&bytes),
            revocation_time: e.revoked_at,
            reason_code: Some(RevocationReason::Unspecified),
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + CRL_LIFETIME,
        // Seconds since the epoch: increases with every list this CA signs.
        crl_number: SerialNumber::from(now.unix_timestamp().max(1) as u64),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer)?;
    let pem = crl.pem()?;
    // Write beside, then rename: a node reading the list never sees half of it.
    let partial = certs_dir.join(format!("{CA_CRL}.partial"));
    let _ = fs::remove_file(&partial);
    write_file(&partial, pem.as_bytes(), 0o644, true)?;
    fs::rename(&partial, &crl_file).map_err(|e| io_error(&crl_file, e))?;
    Ok(Revocation {
        crl_file,
        serial,
        newly_revoked: true,
        entries: entries.len(),
    })
}

/// The certificates on the revocation list of `certs_dir` (none when there is no list).
pub fn revoked(certs_dir: &Path) -> Result<Vec<RevokedEntry>, CertError> {
    let file = certs_dir.join(CA_CRL);
    let mut out = Vec::new();
    for der in load_crls(certs_dir)? {
        let (_, crl) = x509_parser::parse_x509_crl(&der).map_err(|e| CertError::Certificate {
            file: file.clone(),
            reason: format!("not a certificate revocation list: {e}"),
        })?;
        for r in crl.iter_revoked_certificates() {
            out.push(RevokedEntry {
                serial: hex::encode(r.raw_serial()),
                revoked_at: r.revocation_date.to_datetime(),
            });
        }
    }
    Ok(out)
}

/// The revocation lists in `ca.crl` of `certs_dir`, for rustls; none when the file does
/// not exist.
pub fn load_crls(
    certs_dir: &Path,
) -> Result<Vec<CertificateRevocationListDer<'static>>, CertError> {
    let file = certs_dir.join(CA_CRL);
    if !file.exists() {
        return Ok(Vec::new());
    }
    let pem = read_file(&file, "the revocation list")?;
    let mut crls = Vec::new();
    for item in CertificateRevocationListDer::pem_slice_iter(&pem) {
        crls.push(item.map_err(|e| CertError::Pem {
            file: file.clone(),
            what: "certificate revocation list",
            reason: e.to_string(),
        })?);
    }
    if crls.is_empty() {
        return Err(CertError::Pem {
            file,
            what: "certificate revocation list",
            reason: "no X509 CRL item in the file".into(),
        });
    }
    Ok(crls)
}
