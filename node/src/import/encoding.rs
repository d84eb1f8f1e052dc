//! Encoding detection of CSV files, in one pass over the bytes that keeps nothing.
//!
//! A file with a UTF-8 byte-order mark, or whose bytes are all valid UTF-8, is UTF-8;
//! anything else is GB18030, which also covers GBK and GB2312. The whole file is
//! checked before a row is parsed, so that a file whose first megabytes are ASCII and
//! whose later rows are GB18030 is decoded as GB18030 from its first byte, and an
//! undecodable byte anywhere stops the import before anything is written. The pass reads
//! [`CHUNK`] bytes at a time; it costs a fraction of the parsing (UTF-8 is validated at
//! several GB/s). UTF-16 text and binary data are refused with a message saying what
//! they look like.

use std::io::Read;
use std::path::Path;

use encoding_rs::{DecoderResult, GB18030};

use super::{ImportError, SourceEncoding};

/// Bytes read from a file at a time.
pub(crate) const CHUNK: usize = 1 << 20;

/// The UTF-8 byte-order mark.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What the pass over a file found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scan {
    /// The encoding.
    pub encoding: SourceEncoding,
    /// The length of the decoded text in bytes, without a byte-order mark.
    pub decoded_len: u64,
}

/// Reads the bytes `open` gives (twice when they are not UTF-8) and decides their
/// encoding; refuses UTF-16, NUL bytes, undecodable bytes and files without text.
pub(crate) fn scan<R: Read>(
    path: &Path,
    mut open: impl FnMut() -> std::io::Result<R>,
) -> Result<Scan, ImportError> {
    let read_err = |source| ImportError::Read {
        file: path.to_path_buf(),
        source,
    };
    let mut pass = Pass::new(path);
    let mut input = open().map_err(read_err)?;
    let mut buf = vec![0u8; CHUNK];
    let mut first = true;
    let mut utf8 = Utf8::default();
    loop {
        let n = read_full(&mut input, &mut buf).map_err(read_err)?;
        let chunk = &buf[..n];
        if first {
            first = false;
            if chunk.starts_with(b"\xFF\xFE") || chunk.starts_with(b"\xFE\xFF") {
                return Err(ImportError::NotText {
                    file: path.to_path_buf(),
                    reason: "it is UTF-16 text; save it as CSV in UTF-8 or GB18030".into(),
                });
            }
            utf8.bom = chunk.starts_with(UTF8_BOM);
        }
        pass.bytes(chunk)?;
        if let Err(offset) = utf8.feed(chunk, n == 0) {
            if utf8.bom {
                return Err(pass.undecodable(offset, chunk));
            }
            return scan_gb18030(path, open().map_err(read_err)?);
        }
        if n == 0 {
            break;
        }
    }
    pass.finish()?;
    Ok(Scan {
        encoding: SourceEncoding::Utf8,
        decoded_len: pass.offset - if utf8.bom { UTF8_BOM.len() as u64 } else { 0 },
    })
}

/// The GB18030 pass: every byte must decode; the decoded length is counted.
fn scan_gb18030(path: &Path, mut input: impl Read) -> Result<Scan, ImportError> {
    let read_err = |source| ImportError::Read {
        file: path.to_path_buf(),
        source,
    };
    let mut pass = Pass::new(path);
    let mut decoder = GB18030.new_decoder_without_bom_handling();
    let mut buf = vec![0u8; CHUNK];
    let mut out = vec![0u8; CHUNK * 2 + 16];
    let mut decoded: u64 = 0;
    let mut first = true;
    loop {
        let n = read_full(&mut input, &mut buf).map_err(read_err)?;
        let start = pass.offset;
        pass.bytes(&buf[..n])?;
        let last = n == 0;
        let mut at = 0;
        loop {
            let (result, read, written) =
                decoder.decode_to_utf8_without_replacement(&buf[at..n], &mut out, last);
            let mut text = &out[..written];
            if first && written > 0 {
                // A GB18030 byte-order mark decodes to U+FEFF, which is dropped.
                first = false;
                text = text.strip_prefix(UTF8_BOM).unwrap_or(text);
            }
            decoded += text.len() as u64;
            at += read;
            match result {
                DecoderResult::InputEmpty => break,
                DecoderResult::OutputFull => continue,
                DecoderResult::Malformed(bad, after) => {
                    // The malformed bytes may begin in the previous chunk.
                    let offset =
                        (start + at as u64).saturating_sub(u64::from(after) + u64::from(bad));
                    return Err(pass.undecodable(offset, &buf[..n]));
                }
            }
        }
        if last {
            break;
        }
    }
    pass.finish()?;
    Ok(Scan {
        encoding: SourceEncoding::Gb18030,
        decoded_len: decoded,
    })
}

/// Fills `buf` as far as the input goes; returns the bytes read (0 at the end).
pub(crate) fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
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

/// The checks of either pass: the offset and line reached, NUL bytes, and whether
/// anything but white space and a byte-order mark was seen.
struct Pass<'a> {
    path: &'a Path,
    offset: u64,
    /// The line where the current chunk starts, and its offset.
    chunk_line: u64,
    chunk_start: u64,
    lines: u64,
    text: bool,
    nul: bool,
}

impl<'a> Pass<'a> {
    fn new(path: &'a Path) -> Self {
        Pass {
            path,
            offset: 0,
            chunk_line: 1,
            chunk_start: 0,
            lines: 1,
            text: false,
            nul: false,
        }
    }

    fn bytes(&mut self, chunk: &[u8]) -> Result<(), ImportError> {
        // Reported at the end, after any undecodable byte (which says more).
        self.nul |= chunk.contains(&0);
        self.chunk_line = self.lines;
        self.chunk_start = self.offset;
        self.lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        if !self.text {
            let start = if self.offset == 0 && chunk.starts_with(UTF8_BOM) {
                UTF8_BOM.len()
            } else {
                0
            };
            self.text = chunk[start..].iter().any(|b| !b.is_ascii_whitespace());
        }
        self.offset += chunk.len() as u64;
        Ok(())
    }

    /// The error for an undecodable byte at `offset`, in `chunk` (the current one) or
    /// just before it (an incomplete sequence carried over, which holds no line break).
    fn undecodable(&self, offset: u64, chunk: &[u8]) -> ImportError {
        let within = usize::try_from(offset.saturating_sub(self.chunk_start))
            .unwrap_or(usize::MAX)
            .min(chunk.len());
        let breaks = chunk[..within].iter().filter(|&&b| b == b'\n').count() as u64;
        ImportError::Undecodable {
            file: self.path.to_path_buf(),
            offset,
            line: self.chunk_line + breaks,
        }
    }

    fn finish(&self) -> Result<(), ImportError> {
        if self.nul {
            return Err(ImportError::NotText {
                file: self.path.to_path_buf(),
                reason: "it contains NUL characters (binary data)".into(),
            });
        }
        if self.text {
            Ok(())
        } else {
            Err(ImportError::Empty {
                file: self.path.to_path_buf(),
            })
        }
    }
}

/// UTF-8 validation across chunks: an incomplete sequence at a chunk's end waits for
/// the next.
#[derive(Default)]
struct Utf8 {
    bom: bool,
    pending: Vec<u8>,
    offset: u64,
}

impl Utf8 {
    /// Checks the next chunk; `Err(offset)` of the first invalid byte.
    fn feed(&mut self, chunk: &[u8], last: bool) -> Result<(), u64> {
        let start = self.offset - self.pending.len() as u64;
        let mut joined = std::mem::take(&mut self.pending);
        joined.extend_from_slice(chunk);
        self.offset += chunk.len() as u64;
        match std::str::from_utf8(&joined) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() && !last => {
                self.pending = joined[e.valid_up_to()..].to_vec();
                Ok(())
            }
            Err(e) => Err(start + e.valid_up_to() as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_bytes(bytes: &[u8]) -> Result<Scan, ImportError> {
        scan(Path::new("t.csv"), || Ok(bytes))
    }

    #[test]
    fn utf8_with_and_without_bom() {
        let s = scan_bytes("\u{feff}名称,代码\n".as_bytes()).unwrap();
        assert_eq!(s.encoding, SourceEncoding::Utf8);
        assert_eq!(s.decoded_len, "名称,代码\n".len() as u64);
        let s = scan_bytes("名称,代码\n".as_bytes()).unwrap();
        assert_eq!(s.encoding, SourceEncoding::Utf8);
    }

    #[test]
    fn gb18030_and_gbk() {
        let text = "行政相对人名称,处罚类别\n苏州,罚款\n";
        let (bytes, _, _) = GB18030.encode(text);
        let s = scan_bytes(&bytes).unwrap();
        assert_eq!(s.encoding, SourceEncoding::Gb18030);
        assert_eq!(s.decoded_len, text.len() as u64);
    }

    /// ASCII for more than a chunk, then GB18030: the whole file is GB18030.
    #[test]
    fn a_late_gb18030_byte_decides_for_the_whole_file() {
        let mut bytes = vec![b'a'; CHUNK + 10];
        bytes.extend_from_slice(b",b\n");
        let (tail, _, _) = GB18030.encode("苏州,罚款\n");
        bytes.extend_from_slice(&tail);
        let s = scan_bytes(&bytes).unwrap();
        assert_eq!(s.encoding, SourceEncoding::Gb18030);
        assert_eq!(s.decoded_len, (CHUNK + 13 + "苏州,罚款\n".len()) as u64);
    }

    #[test]
    fn garbage_is_refused_with_its_place() {
        let err = scan_bytes(b"a,b\nc,\xFF\xFF\n").unwrap_err();
        assert!(
            matches!(
                err,
                ImportError::Undecodable {
                    offset: 6,
                    line: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            scan_bytes(b"a,b\n\0\0\x01"),
            Err(ImportError::NotText { .. })
        ));
        assert!(matches!(
            scan_bytes(b"\xFF\xFEa\0"),
            Err(ImportError::NotText { .. })
        ));
        assert!(matches!(
            scan_bytes(b"\xEF\xBB\xBFa,b\n\xFF"),
            Err(ImportError::Undecodable {
                offset: 7,
                line: 2,
                ..
            })
        ));
        // A UTF-8 file with a byte-order mark and a bad byte past the first chunk.
        let mut late = UTF8_BOM.to_vec();
        late.extend(std::iter::repeat_n(b"ab,cd\n".as_slice(), CHUNK / 6 + 5).flatten());
        let at = late.len() as u64;
        late.push(0xFF);
        let lines = 1 + (CHUNK / 6 + 5) as u64;
        assert!(matches!(
            scan_bytes(&late),
            Err(ImportError::Undecodable { offset, line, .. }) if offset == at && line == lines
        ));
        assert!(matches!(scan_bytes(b""), Err(ImportError::Empty { .. })));
        assert!(matches!(
            scan_bytes(b"\xEF\xBB\xBF \r\n"),
            Err(ImportError::Empty { .. })
        ));
    }
}
