//! Length-prefixed frames on a QUIC stream: a 4-byte big-endian length, then the
//! postcard bytes of a [`Frame`] (or of any serde value, for the admin protocol).

use credithub_protocol::link::{Frame, FrameError, MAX_FRAME};
use credithub_protocol::session::PeerError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::LinkError;

/// Writes one frame.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    frame: &Frame,
) -> Result<u64, LinkError> {
    write_bytes(w, &frame.encode().map_err(LinkError::Frame)?).await
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
) -> Result<Option<(Frame, u64)>, LinkError> {
    match read_bytes(r).await? {
        None => Ok(None),
        Some(bytes) => {
            let size = bytes.len() as u64 + 4;
            let frame = Frame::decode(&bytes).map_err(PeerError::Frame)?;
            Ok(Some((frame, size)))
        }
    }
}

/// Writes any serializable value as one frame.
pub async fn write_value<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    value: &T,
) -> Result<u64, LinkError> {
    let bytes = postcard::to_stdvec(value)
        .map_err(|e| LinkError::Frame(FrameError::Encode(e.to_string())))?;
    write_bytes(w, &bytes).await
}

/// Reads one frame as a value; `Ok(None)` at a clean end of stream. A frame that holds
/// more than the value is refused as malformed.
pub async fn read_value<R: AsyncRead + Unpin, T: DeserializeOwned>(
    r: &mut R,
) -> Result<Option<T>, LinkError> {
    match read_bytes(r).await? {
        None => Ok(None),
        Some(bytes) => match postcard::take_from_bytes(&bytes) {
            Ok((value, [])) => Ok(Some(value)),
            Ok((_, rest)) => Err(PeerError::Frame(FrameError::Malformed(format!(
                "{} bytes left over after the value",
                rest.len()
            )))
            .into()),
            Err(e) => Err(PeerError::Frame(FrameError::Malformed(e.to_string())).into()),
        },
    }
}

async fn write_bytes<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> Result<u64, LinkError> {
    if bytes.len() > MAX_FRAME {
        return Err(LinkError::Frame(FrameError::TooLarge {
            size: bytes.len(),
            limit: MAX_FRAME,
        }));
    }
    w.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    w.write_all(bytes).await?;
    Ok(bytes.len() as u64 + 4)
}

async fn read_bytes<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Vec<u8>>, LinkError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(PeerError::Frame(FrameError::TooLarge {
            size: len,
            limit: MAX_FRAME,
        })
        .into());
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).await?;
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use credithub_protocol::link::LINK_VERSION;

    #[tokio::test]
    async fn frames_cross_a_pipe_and_oversized_lengths_are_refused() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        let f = Frame::Open {
            version: LINK_VERSION,
            subscriptions: vec![],
            mode: credithub_protocol::link::SessionMode::Sync,
            report: Box::default(),
        };
        write_frame(&mut a, &f).await.expect("write");
        let (got, _) = read_frame(&mut b).await.expect("read").expect("a frame");
        assert_eq!(got, f);
        a.write_all(&(u32::MAX).to_be_bytes()).await.expect("write");
        assert!(matches!(
            read_frame(&mut b).await,
            Err(LinkError::Peer(PeerError::Frame(
                FrameError::TooLarge { .. }
            )))
        ));
        drop(a);
        assert!(matches!(read_frame(&mut b).await, Ok(None)));
    }
}
