//! The client side of the admin protocol, used by `credit-admin` and the scenarios.

use credithub_protocol::session::{close_code, PeerError};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;

use quinn::{Connection, Endpoint};

use super::{AdminRequest, AdminResponse, IMPORT_CHUNK};
use crate::certs::{Identity, Role};
use crate::link::frame::{read_value, write_value};
use crate::link::quic::{client_endpoint, connect};
use crate::link::LinkError;

/// A connection to one node, authenticated with an admin client certificate.
pub struct AdminClient {
    endpoint: Endpoint,
    conn: Connection,
    node: Identity,
}

impl AdminClient {
    /// Connects to the node at `address` (`host:port`) with `client.<name>.crt` from
    /// `certs_dir`.
    pub async fn connect(
        address: &str,
        certs_dir: &Path,
        client_name: &str,
    ) -> Result<AdminClient, LinkError> {
        let socket: SocketAddr = address
            .to_socket_addrs()
            .map_err(|e| LinkError::BadRequest(format!("node address {address:?}: {e}")))?
            .next()
            .ok_or_else(|| {
                LinkError::BadRequest(format!("node address {address:?} resolves to nothing"))
            })?;
        let host = address
            .rsplit_once(':')
            .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
            .unwrap_or_default();
        let endpoint = client_endpoint(certs_dir, client_name)?;
        let (conn, node) = connect(&endpoint, socket, &host).await?;
        if node.role != Role::Node {
            return Err(LinkError::WrongPeer(format!(
                "{address} presented a {} certificate, not a node's",
                node.role.as_str()
            )));
        }
        Ok(AdminClient {
            endpoint,
            conn,
            node,
        })
    }

    /// Who the node is, from its certificate.
    pub fn node(&self) -> &Identity {
        &self.node
    }

    /// Sends one request and reads the answer.
    pub async fn call(&self, request: &AdminRequest) -> Result<AdminResponse, LinkError> {
        let (mut send, mut recv) = self.conn.open_bi().await?;
        write_value(&mut send, request).await?;
        send.finish()?;
        answer(&mut recv).await
    }

    /// Uploads a file and imports it at the node (only `sheet` of a workbook, when
    /// named); returns the summary (JSON).
    pub async fn import(&self, file: &Path, sheet: Option<&str>) -> Result<String, LinkError> {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "import.csv".into());
        // Streamed: one chunk in memory at a time, whatever the file's size.
        let mut input = std::fs::File::open(file)?;
        let begin = match sheet {
            Some(sheet) => AdminRequest::ImportBeginSheet {
                name,
                sheet: sheet.to_string(),
            },
            None => AdminRequest::ImportBegin { name },
        };
        let (mut send, mut recv) = self.conn.open_bi().await?;
        let upload = async {
            write_value(&mut send, &begin).await?;
            let mut chunk = vec![0u8; IMPORT_CHUNK];
            loop {
                let n = read_chunk(&mut input, &mut chunk)?;
                if n == 0 {
                    break;
                }
                let part = AdminRequest::ImportChunk(chunk[..n].to_vec());
                write_value(&mut send, &part).await?;
            }
            write_value(&mut send, &AdminRequest::ImportEnd).await?;
            send.finish()?;
            Ok::<(), LinkError>(())
        };
        if let Err(cut) = upload.await {
            // The node stops reading when it refuses the import part-way (a full
            // disk, say) and answers why; that answer is the error worth showing.
            return match answer(&mut recv).await {
                Ok(AdminResponse::Error(e)) => Err(LinkError::Declined {
                    code: None,
                    reason: e,
                }),
                _ => Err(cut),
            };
        }
        match answer(&mut recv).await? {
            AdminResponse::Imported(json) => Ok(json),
            AdminResponse::Error(e) => Err(LinkError::Declined {
                code: None,
                reason: e,
            }),
            _ => Err(PeerError::UnexpectedFrame {
                got: "non-import answer",
                during: "in answer to an import",
            }
            .into()),
        }
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.conn.close(close_code::NORMAL.into(), b"done");
        self.endpoint.wait_idle().await;
    }
}

async fn answer(recv: &mut quinn::RecvStream) -> Result<AdminResponse, LinkError> {
    read_value(recv)
        .await?
        .ok_or(LinkError::Peer(PeerError::EndedEarly {
            during: "before answering",
        }))
}

/// Fills `buf` from `input` as far as it goes; returns the bytes read (0 at the end).
fn read_chunk(input: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
