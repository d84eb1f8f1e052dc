//! Certificates: the node identity they carry, their generation and the rustls
//! configurations built from them.
//!
//! A certs directory holds files with fixed names, as CockroachDB's does:
//!
//! | file | what |
//! |---|---|
//! | `ca.crt` | the certificate authority every node and client trusts |
//! | `ca.crl` | the CA's list of revoked certificates, when any was revoked ([`revoke`]) |
//! | `node.crt`, `node.key` | this node's identity, used both as TLS server and client |
//! | `client.<name>.crt`, `client.<name>.key` | an admin's or a client application's identity |
//!
//! The CA key is never in the certs directory: it lives at a path the operator chooses
//! (`--ca-key`), ideally on another machine or a safe directory. Keys are ECDSA P-256
//! in PKCS#8 PEM, written with mode `0600`; a key readable by group or others is refused.
//! How an identity is encoded in a certificate is described in [`identity`].

pub mod generate;
pub mod identity;
pub mod revoke;
pub mod tls;

#[cfg(test)]
mod tests;

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

pub use generate::{create_ca, create_client, create_node, list, CertInfo, Created, DEFAULT_HOSTS};
pub use identity::{Identity, IdentityError, Role};
pub use revoke::{load_crls, revoke, revoked, Revocation, RevokedEntry, CA_CRL};
pub use tls::{client_config, peer_identity, provider, server_config, ALPN};

/// The CA certificate's file name in a certs directory.
pub const CA_CERT: &str = "ca.crt";
/// The node certificate's file name.
pub const NODE_CERT: &str = "node.crt";
/// The node key's file name.
pub const NODE_KEY: &str = "node.key";

/// The certificate file name of an admin or client called `name` (`client.<name>.crt`).
pub fn client_cert_file(name: &str) -> String {
    format!("client.{name}.crt")
}

/// The key file name of an admin or client called `name` (`client.<name>.key`).
pub fn client_key_file(name: &str) -> String {
    format!("client.{name}.key")
}

/// Why certificates could not be created, listed or loaded. Every variant about a file
/// names it.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file or directory.
        file: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A required file does not exist.
    #[error("{} does not exist ({what})", file.display())]
    Missing {
        /// The file.
        file: PathBuf,
        /// What it should have been.
        what: &'static str,
    },
    /// A file to be written exists and overwriting was not asked for.
    #[error("{} already exists; pass --overwrite to replace it", file.display())]
    Exists {
        /// The file.
        file: PathBuf,
    },
    /// A key file may be read or written by group or others.
    #[error(
        "{} has mode {mode:04o}, which gives group or others access; \
         a key must be private to its owner (chmod 600)",
        file.display()
    )]
    KeyPermissions {
        /// The key file.
        file: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file does not hold the PEM item expected.
    #[error("{}: not a PEM {what}: {reason}", file.display())]
    Pem {
        /// The file.
        file: PathBuf,
        /// What was expected (`certificate`, `private key`).
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A certificate could not be parsed or is unfit for its use.
    #[error("{}: {reason}", file.display())]
    Certificate {
        /// The certificate file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A certificate carries no valid credithub identity.
    #[error("{}: {source}", file.display())]
    Identity {
        /// The certificate file.
        file: PathBuf,
        /// What is wrong with the identity.
        source: IdentityError,
    },
    /// An identity to be issued is invalid (bad name, wrong role for the command).
    #[error("{0}")]
    InvalidIdentity(#[from] IdentityError),
    /// The CA key does not belong to the CA certificate.
    #[error("{} is not the key of {}", key.display(), cert.display())]
    KeyMismatch {
        /// The CA key file.
        key: PathBuf,
        /// The CA certificate file.
        cert: PathBuf,
    },
    /// A `--host` is neither an IP address nor a DNS name.
    #[error("host {host:?} is neither an IP address nor a DNS name")]
    Host {
        /// The host given.
        host: String,
    },
    /// The requested lifetime is zero or would outlive the CA.
    #[error("{0}")]
    Lifetime(String),
    /// rcgen could not build or sign a certificate.
    #[error("generating the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificates or settings.
    #[error("building the TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The client certificate verifier could not be built.
    #[error("building the client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

fn io_error(file: &Path, source: io::Error) -> CertError {
    CertError::Io {
        file: file.to_path_buf(),
        source,
    }
}

/// Reads a file, reporting a missing one as [`CertError::Missing`].
fn read_file(file: &Path, what: &'static str) -> Result<Vec<u8>, CertError> {
    fs::read(file).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => CertError::Missing {
            file: file.to_path_buf(),
            what,
        },
        _ => io_error(file, e),
    })
}

/// Refuses a key file that is missing, not a regular file, or open to group or others.
fn check_key_file(file: &Path, what: &'static str) -> Result<(), CertError> {
    let meta = fs::metadata(file).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => CertError::Missing {
            file: file.to_path_buf(),
            what,
        },
        _ => io_error(file, e),
    })?;
    if !meta.is_file() {
        return Err(io_error(
            file,
            io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(CertError::KeyPermissions {
            file: file.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Reads a private key file after checking its permissions.
fn read_key_file(file: &Path, what: &'static str) -> Result<Vec<u8>, CertError> {
    check_key_file(file, what)?;
    read_file(file, what)
}

/// Creates a directory (and its parents) with mode `0700` if it does not exist.
fn ensure_dir(dir: &Path) -> Result<(), CertError> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_error(dir, e))
}

/// Refuses to go on when any of `files` exists and `overwrite` is false.
fn ensure_absent(files: &[&Path], overwrite: bool) -> Result<(), CertError> {
    if overwrite {
        return Ok(());
    }
    match files.iter().find(|f| f.symlink_metadata().is_ok()) {
        Some(f) => Err(CertError::Exists {
            file: f.to_path_buf(),
        }),
        None => Ok(()),
    }
}

/// Writes a file created with `mode` from the start (never changed afterwards).
///
/// Without `overwrite` the file is created exclusively; with it, the contents go to a
/// new temporary file beside it that then replaces it, so a replaced key never keeps
/// the old file's permissions.
fn write_file(file: &Path, contents: &[u8], mode: u32, overwrite: bool) -> Result<(), CertError> {
    let open = |path: &Path| {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
    };
    let write = |path: &Path| -> io::Result<()> {
        let mut f = open(path)?;
        f.write_all(contents)?;
        f.sync_all()
    };
    if !overwrite {
        return write(file).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => CertError::Exists {
                file: file.to_path_buf(),
            },
            _ => io_error(file, e),
        });
    }
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = file.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
    // A temporary file left by a crashed run of this same process id is stale.
    let _ = fs::remove_file(&tmp);
    if let Err(e) = write(&tmp) {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(&tmp, e));
    }
    fs::rename(&tmp, file).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_error(file, e)
    })
}

/// A UTC time as RFC 3339 (`2035-06-30T08:00:00Z`), as certificates list it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
