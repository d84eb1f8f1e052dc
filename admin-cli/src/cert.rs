//! `credit-admin cert create-ca | create-node | create-client | list | revoke`: the
//! certificates of a certs directory, CockroachDB-style (fixed file names, the CA key
//! kept apart, nothing overwritten without `--overwrite`, private keys only), and the
//! CA's revocation list.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use credithub_node::certs::{self, rfc3339, CertInfo, Created, Role};
use credithub_protocol::DivisionCode;
use serde::Serialize;

use crate::output::{print_json, table, Format};

/// Arguments of `cert`.
#[derive(Debug, Args)]
pub(crate) struct CertArgs {
    #[command(subcommand)]
    command: CertCommand,
}

#[derive(Debug, Subcommand)]
enum CertCommand {
    /// Create the CA: ca.crt in the certs directory, its key at --ca-key.
    CreateCa(CreateCaArgs),
    /// Create node.crt and node.key for this node, signed by the CA.
    CreateNode(CreateNodeArgs),
    /// Create client.<name>.crt and client.<name>.key for an admin or a client application.
    CreateClient(CreateClientArgs),
    /// List the certificates of a certs directory.
    List(CertsDir),
    /// Revoke a certificate: add it to the CA's revocation list (ca.crl), to be copied
    /// to every node's certs directory.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
struct RevokeArgs {
    #[command(flatten)]
    dir: CertsDir,
    /// The CA key file (mode 0600).
    #[arg(long, env = "CREDIT_CA_KEY")]
    ca_key: PathBuf,
    /// The certificate to revoke: a path, or a file name in the certs directory
    /// (node.crt, client.<name>.crt).
    cert: PathBuf,
    /// Go ahead (a revocation cannot be undone).
    #[arg(long)]
    yes: bool,
}

/// The certs directory option.
#[derive(Debug, Args)]
struct CertsDir {
    /// The certs directory (ca.crt, node.crt/key, client.<name>.crt/key).
    #[arg(long, env = "CREDIT_CERTS_DIR")]
    certs_dir: PathBuf,
}

/// Options shared by the create commands.
#[derive(Debug, Args)]
struct Signing {
    #[command(flatten)]
    dir: CertsDir,
    /// The CA key file, kept outside the certs directory (mode 0600).
    #[arg(long, env = "CREDIT_CA_KEY")]
    ca_key: PathBuf,
    /// Replace existing files.
    #[arg(long)]
    overwrite: bool,
}

#[derive(Debug, Args)]
struct CreateCaArgs {
    #[command(flatten)]
    signing: Signing,
    /// Days the CA certificate is valid.
    #[arg(long, default_value_t = 3650)]
    lifetime_days: u32,
}

#[derive(Debug, Args)]
struct CreateNodeArgs {
    #[command(flatten)]
    signing: Signing,
    /// The node's jurisdiction, a GB/T 2260 code (000000 for the national hub).
    #[arg(long)]
    jurisdiction: String,
    /// The node's name (a-z, 0-9, '-').
    #[arg(long)]
    name: String,
    /// A DNS name or IP address peers use to reach the node; repeat for several
    /// (default: localhost and 127.0.0.1).
    #[arg(long = "host", value_name = "HOST")]
    hosts: Vec<String>,
    /// Days the certificate is valid.
    #[arg(long, default_value_t = 730)]
    lifetime_days: u32,
}

/// The roles a client certificate can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClientRole {
    /// An operator administering nodes of the jurisdiction.
    Admin,
    /// A government system querying shared records of the jurisdiction.
    Client,
    /// A public portal: published records only.
    Public,
    /// An auditor: all records held, personal numbers in full, the audit log.
    Auditor,
}

#[derive(Debug, Args)]
struct CreateClientArgs {
    #[command(flatten)]
    signing: Signing,
    /// What the certificate holder is.
    #[arg(long, value_enum)]
    role: ClientRole,
    /// The jurisdiction it may administer or query, a GB/T 2260 code.
    #[arg(long)]
    jurisdiction: String,
    /// The holder's name (a-z, 0-9, '-'); also names the files.
    #[arg(long)]
    name: String,
    /// Days the certificate is valid.
    #[arg(long, default_value_t = 730)]
    lifetime_days: u32,
}

/// One certificate as printed by `--format json`.
#[derive(Debug, Serialize)]
struct CertRow {
    file: String,
    role: Option<Role>,
    jurisdiction: Option<String>,
    jurisdiction_name: Option<&'static str>,
    name: Option<String>,
    subject: String,
    not_before: String,
    not_after: String,
    expired: bool,
    is_ca: bool,
    hosts: Vec<String>,
    problem: Option<String>,
    serial: String,
    revoked_at: Option<String>,
}

impl CertRow {
    fn new(info: &CertInfo) -> Self {
        CertRow {
            file: info.file.clone(),
            role: info.role,
            jurisdiction: info.jurisdiction.map(|j| j.to_string()),
            jurisdiction_name: info.jurisdiction.and_then(DivisionCode::name),
            name: info.name.clone(),
            subject: info.subject.clone(),
            not_before: rfc3339(info.not_before),
            not_after: rfc3339(info.not_after),
            expired: info.is_expired(),
            is_ca: info.is_ca,
            hosts: info.hosts.clone(),
            problem: info.problem.clone(),
            serial: info.serial.clone(),
            revoked_at: info.revoked_at.map(rfc3339),
        }
    }
}

/// What a create command wrote, as printed by `--format json`.
#[derive(Debug, Serialize)]
struct CreatedRow {
    cert_file: PathBuf,
    key_file: PathBuf,
    #[serde(flatten)]
    cert: CertRow,
}

/// Runs `cert`.
pub(crate) fn run(args: &CertArgs, format: Format) -> anyhow::Result<()> {
    match &args.command {
        CertCommand::CreateCa(a) => {
            let s = &a.signing;
            let created =
                certs::create_ca(&s.dir.certs_dir, &s.ca_key, a.lifetime_days, s.overwrite)
                    .context("creating the CA")?;
            report(&created, format)
        }
        CertCommand::CreateNode(a) => {
            let s = &a.signing;
            let jurisdiction = jurisdiction(&a.jurisdiction)?;
            let created = certs::create_node(
                &s.dir.certs_dir,
                &s.ca_key,
                jurisdiction,
                &a.name,
                &a.hosts,
                a.lifetime_days,
                s.overwrite,
            )
            .context("creating the node certificate")?;
            report(&created, format)
        }
        CertCommand::CreateClient(a) => {
            let s = &a.signing;
            let role = match a.role {
                ClientRole::Admin => Role::Admin,
                ClientRole::Client => Role::Client,
                ClientRole::Public => Role::Public,
                ClientRole::Auditor => Role::Auditor,
            };
            let jurisdiction = jurisdiction(&a.jurisdiction)?;
            let created = certs::create_client(
                &s.dir.certs_dir,
                &s.ca_key,
                role,
                jurisdiction,
                &a.name,
                a.lifetime_days,
                s.overwrite,
            )
            .with_context(|| format!("creating the {role} certificate"))?;
            report(&created, format)
        }
        CertCommand::List(dir) => list(&dir.certs_dir, format),
        CertCommand::Revoke(a) => revoke(a, format),
    }
}

fn revoke(a: &RevokeArgs, format: Format) -> anyhow::Result<()> {
    let in_dir = a.dir.certs_dir.join(&a.cert);
    let cert = if !a.cert.exists() && a.cert.components().count() == 1 && in_dir.exists() {
        in_dir
    } else {
        a.cert.clone()
    };
    if !a.yes {
        anyhow::bail!(
            "revoking {} cannot be undone: add --yes to go ahead",
            cert.display()
        );
    }
    let r = certs::revoke(&a.dir.certs_dir, &a.ca_key, &cert)
        .with_context(|| format!("revoking {}", cert.display()))?;
    match format {
        Format::Json => print_json(&serde_json::json!({
            "crl_file": r.crl_file,
            "serial": r.serial,
            "newly_revoked": r.newly_revoked,
            "entries": r.entries,
        })),
        Format::Table => {
            if r.newly_revoked {
                say!(
                    "revoked {} (serial {}); {} now lists {} certificate(s)",
                    cert.display(),
                    r.serial,
                    r.crl_file.display(),
                    r.entries
                );
            } else {
                say!(
                    "{} (serial {}) was already revoked; {} unchanged",
                    cert.display(),
                    r.serial,
                    r.crl_file.display()
                );
            }
            say!(
                "copy {} into every node's certs directory: nodes read it within seconds (or at once on SIGHUP) and close the revoked certificate's connections",
                certs::CA_CRL
            );
            Ok(())
        }
    }
}

fn jurisdiction(text: &str) -> anyhow::Result<DivisionCode> {
    DivisionCode::parse(text).map_err(|e| {
        anyhow::anyhow!("--jurisdiction {text:?} is not a GB/T 2260 division code: {e}")
    })
}

fn report(created: &Created, format: Format) -> anyhow::Result<()> {
    let row = CertRow::new(&created.info);
    match format {
        Format::Json => print_json(&CreatedRow {
            cert_file: created.cert_file.clone(),
            key_file: created.key_file.clone(),
            cert: row,
        }),
        Format::Table => {
            say!(
                "wrote {} and {}",
                created.cert_file.display(),
                created.key_file.display()
            );
            say!("  {}", holder(&created.info));
            if !created.info.hosts.is_empty() {
                say!("  hosts: {}", created.info.hosts.join(", "));
            }
            say!("  expires {}", row.not_after);
            Ok(())
        }
    }
}

fn list(certs_dir: &Path, format: Format) -> anyhow::Result<()> {
    let infos = certs::list(certs_dir)
        .with_context(|| format!("listing the certificates in {}", certs_dir.display()))?;
    match format {
        Format::Json => print_json(&infos.iter().map(CertRow::new).collect::<Vec<_>>()),
        Format::Table => {
            let mut t = table(&["FILE", "ROLE", "JURISDICTION", "NAME", "EXPIRES"]);
            for info in &infos {
                let row = CertRow::new(info);
                let role = match (info.role, info.is_ca) {
                    (Some(role), _) => role.to_string(),
                    (None, true) => "ca".to_string(),
                    (None, false) => "invalid".to_string(),
                };
                let expires = if let Some(at) = &row.revoked_at {
                    format!("{} (REVOKED {at})", row.not_after)
                } else if row.expired {
                    format!("{} (EXPIRED)", row.not_after)
                } else {
                    format!("{} ({} days)", row.not_after, info.days_left())
                };
                t.add_row(vec![
                    info.file.clone(),
                    role,
                    info.jurisdiction
                        .map(division)
                        .unwrap_or_else(|| "-".into()),
                    info.name.clone().unwrap_or_else(|| "-".into()),
                    expires,
                ]);
            }
            say!("{t}");
            for info in &infos {
                if let Some(problem) = &info.problem {
                    eprintln!("warning: {}: {problem}", info.file);
                }
            }
            Ok(())
        }
    }
}

/// `320500 苏州市`, or the code alone when it is not in the current list.
fn division(code: DivisionCode) -> String {
    match code.name() {
        Some(name) => format!("{code} {name}"),
        None => format!("{code} (unlisted)"),
    }
}

/// `node suzhou, jurisdiction 320500 苏州市`; `CA` for the CA.
fn holder(info: &CertInfo) -> String {
    match (info.role, info.jurisdiction, &info.name) {
        (Some(role), Some(j), Some(name)) => {
            format!("{role} {name}, jurisdiction {}", division(j))
        }
        _ if info.is_ca => format!("CA: {}", info.subject),
        _ => info.subject.clone(),
    }
}
