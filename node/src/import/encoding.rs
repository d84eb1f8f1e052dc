//! Encoding detection and decoding of import files.
//!
//! A file with a UTF-8 byte-order mark, or whose bytes are valid UTF-8, is UTF-8;
//! anything else is decoded as GB18030, which also covers GBK and GB2312. UTF-16 text
//! and binary data are refused with a message saying what they look like (workbooks
//! never get here: the `workbook` module reads them).

use std::path::Path;

use encoding_rs::{DecoderResult, GB18030};

use super::{ImportError, SourceEncoding};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes a whole file to UTF-8 text without a byte-order mark.
pub(crate) fn decode(path: &Path, bytes: Vec<u8>) -> Result<(String, SourceEncoding), ImportError> {
    let not_text = |reason: &str| ImportError::NotText {
        file: path.to_path_buf(),
        reason: reason.into(),
    };
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(not_text(
            "it is a ZIP archive (an .xlsx spreadsheet?); export it as CSV",
        ));
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Err(not_text(
            "it is an OLE2 document (an .xls spreadsheet?); export it as CSV",
        ));
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(not_text(
            "it is UTF-16 text; save it as CSV in UTF-8 or GB18030",
        ));
    }
    // Valid UTF-8 (with or without a byte-order mark) is taken over without a copy.
    let (mut text, encoding) = match String::from_utf8(bytes) {
        Ok(t) => (t, SourceEncoding::Utf8),
        Err(e) => {
            let bytes = e.into_bytes();
            if bytes.starts_with(UTF8_BOM) {
                let offset = match std::str::from_utf8(&bytes) {
                    Err(e) => e.valid_up_to(),
                    Ok(_) => 0,
                };
                return Err(undecodable(path, &bytes, offset));
            }
            (decode_gb18030(path, &bytes)?, SourceEncoding::Gb18030)
        }
    };
    // The UTF-8 byte-order mark, or a GB18030 one, decoded.
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    if text.trim().is_empty() {
        return Err(ImportError::Empty {
            file: path.to_path_buf(),
        });
    }
    if text.contains('\0') {
        return Err(not_text("it contains NUL characters (binary data)"));
    }
    Ok((text, encoding))
}

fn decode_gb18030(path: &Path, bytes: &[u8]) -> Result<String, ImportError> {
    let mut decoder = GB18030.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut text, true);
    match result {
        DecoderResult::InputEmpty => Ok(text),
        DecoderResult::Malformed(bad, after) => {
            let offset = read.saturating_sub(usize::from(after) + usize::from(bad));
            Err(undecodable(path, bytes, offset))
        }
        // The buffer was sized for the worst case; treat a shortfall as undecodable
        // rather than looping.
        DecoderResult::OutputFull => Err(undecodable(path, bytes, read)),
    }
}

fn undecodable(path: &Path, bytes: &[u8], offset: usize) -> ImportError {
    let before = &bytes[..offset.min(bytes.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count() as u64;
    ImportError::Undecodable {
        file: path.to_path_buf(),
        offset: offset as u64,
        line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(bytes: &[u8]) -> Result<(String, SourceEncoding), ImportError> {
        decode(Path::new("t.csv"), bytes.to_vec())
    }

    #[test]
    fn utf8_with_and_without_bom() {
        let (t, e) = dec("\u{feff}名称,代码\n".as_bytes()).unwrap();
        assert_eq!((t.as_str(), e), ("名称,代码\n", SourceEncoding::Utf8));
        let (t, e) = dec("名称,代码\n".as_bytes()).unwrap();
        assert_eq!((t.as_str(), e), ("名称,代码\n", SourceEncoding::Utf8));
    }

    #[test]
    fn gb18030_and_gbk() {
        let (bytes, _, _) = GB18030.encode("行政相对人名称,处罚类别\n苏州,罚款\n");
        let (t, e) = dec(&bytes).unwrap();
        assert_eq!(e, SourceEncoding::Gb18030);
        assert_eq!(t, "行政相对人名称,处罚类别\n苏州,罚款\n");
    }

    #[test]
    fn garbage_is_refused_with_its_place() {
        let err = dec(b"a,b\nc,\xFF\xFF\n").unwrap_err();
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
            dec(b"a,b\n\0\0\x01"),
            Err(ImportError::NotText { .. })
        ));
        assert!(matches!(
            dec(b"PK\x03\x04xl/"),
            Err(ImportError::NotText { .. })
        ));
        assert!(matches!(
            dec(b"\xFF\xFEa\0"),
            Err(ImportError::NotText { .. })
        ));
        assert!(matches!(
            dec(b"\xEF\xBB\xBFa,b\n\xFF"),
            Err(ImportError::Undecodable {
                offset: 7,
                line: 2,
                ..
            })
        ));
        assert!(matches!(dec(b""), Err(ImportError::Empty { .. })));
        assert!(matches!(
            dec(b"\xEF\xBB\xBF \r\n"),
            Err(ImportError::Empty { .. })
        ));
    }
}
