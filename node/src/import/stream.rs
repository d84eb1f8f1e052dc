//! A CSV file's bytes decoded to UTF-8 as they are read, and the line breaks seen, so
//! that rows get their physical line numbers without the text being kept.
//!
//! [`Decoded`] reads [`CHUNK`] bytes at a time from the source and hands UTF-8 to the
//! CSV reader: unchanged for UTF-8 (without its byte-order mark), through an
//! `encoding_rs` decoder for GB18030. It notes the offset of every `\r` and `\n` it
//! hands out; [`Decoded::line_at`] turns a record's offset into its line and forgets
//! the breaks before it, so what is kept is bounded by the CSV reader's buffer and the
//! longest record.

use std::collections::VecDeque;
use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, GB18030};

use super::encoding::{read_full, CHUNK, UTF8_BOM};
use super::SourceEncoding;

/// The smallest output buffer decoded into directly.
const SPILL: usize = 64;

/// A reader of decoded text (see the module documentation).
pub(crate) struct Decoded<R> {
    input: R,
    decoder: Option<Decoder>,
    raw: Vec<u8>,
    raw_pos: usize,
    raw_len: usize,
    eof: bool,
    /// Whether the decoder has decoded the end of the input (it must not be used again).
    decoded_all: bool,
    /// Whether the start of the text (where a byte-order mark is dropped) is behind.
    started: bool,
    /// Decoded bytes handed out so far.
    offset: u64,
    /// Offsets of the `\r` and `\n` handed out and not yet passed by `line_at`.
    breaks: VecDeque<(u64, u8)>,
    /// Decoded bytes not yet handed out, for reads into small buffers.
    spill: Vec<u8>,
    spill_pos: usize,
    /// Where `line_at` stopped, the line there, and the offset of the last `\r` counted.
    cursor: u64,
    cursor_line: u64,
    last_cr: Option<u64>,
}

impl<R: Read> Decoded<R> {
    /// Decodes `input`, in `encoding`.
    pub(crate) fn new(input: R, encoding: SourceEncoding) -> Self {
        let decoder = match encoding {
            SourceEncoding::Utf8 => None,
            SourceEncoding::Gb18030 => Some(GB18030.new_decoder_without_bom_handling()),
        };
        Decoded {
            input,
            decoder,
            raw: vec![0; CHUNK],
            raw_pos: 0,
            raw_len: 0,
            eof: false,
            decoded_all: false,
            started: false,
            offset: 0,
            breaks: VecDeque::new(),
            spill: Vec::new(),
            spill_pos: 0,
            cursor: 0,
            cursor_line: 1,
            last_cr: None,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        if self.raw_pos == self.raw_len && !self.eof {
            self.raw_len = read_full(&mut self.input, &mut self.raw)?;
            self.raw_pos = 0;
            self.eof = self.raw_len == 0;
        }
        Ok(())
    }

    /// Decodes into `buf`, through a small spill buffer when `buf` is too small for a
    /// decoder's output; returns the bytes written (0 at the end).
    fn decode(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.spill_pos == self.spill.len() && buf.len() >= SPILL {
            return self.decode_into(buf);
        }
        if self.spill_pos == self.spill.len() {
            let mut scratch = [0u8; SPILL];
            let n = self.decode_into(&mut scratch)?;
            self.spill = scratch[..n].to_vec();
            self.spill_pos = 0;
        }
        let rest = &self.spill[self.spill_pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.spill_pos += n;
        Ok(n)
    }

    /// Decodes into `buf` (at least [`SPILL`] bytes long).
    fn decode_into(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.decoded_all {
                return Ok(0);
            }
            self.refill()?;
            let input = &self.raw[self.raw_pos..self.raw_len];
            let Some(decoder) = self.decoder.as_mut() else {
                let n = input.len().min(buf.len());
                buf[..n].copy_from_slice(&input[..n]);
                self.raw_pos += n;
                return Ok(n);
            };
            let (result, read, written) =
                decoder.decode_to_utf8_without_replacement(input, buf, self.eof);
            self.raw_pos += read;
            if self.eof && matches!(result, DecoderResult::InputEmpty) {
                // The decoder has finished: the next read ends the text.
                self.decoded_all = true;
            }
            if written > 0 {
                return Ok(written);
            }
            match result {
                DecoderResult::InputEmpty if self.eof => return Ok(0),
                DecoderResult::InputEmpty => {}
                DecoderResult::OutputFull => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "read buffer too small for one character",
                    ))
                }
                DecoderResult::Malformed(..) => {
                    // The encoding pass decoded every byte: the file changed since.
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "not GB18030 text (did the file change during the import?)",
                    ));
                }
            }
        }
    }

    /// The physical line of the record that starts at `start` (a decoded offset):
    /// line breaks right at `start` (blank lines the CSV reader skipped) are passed
    /// first. A `\r\n` pair is one line break, and so is a lone `\r` or `\n`.
    pub(crate) fn line_at(&mut self, start: u64) -> u64 {
        let mut start = start.max(self.cursor);
        while let Some(&(at, b)) = self.breaks.front() {
            if at == start {
                start += 1;
            } else if at > start {
                break;
            }
            self.breaks.pop_front();
            match b {
                b'\r' => {
                    self.cursor_line += 1;
                    self.last_cr = Some(at);
                }
                _ if self.last_cr.is_some_and(|cr| cr + 1 == at) => {}
                _ => self.cursor_line += 1,
            }
        }
        self.cursor = start;
        self.cursor_line
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = self.decode(buf)?;
        if !self.started && n > 0 {
            // Drop a byte-order mark: UTF-8's, or GB18030's decoded to U+FEFF. (A read
            // of at least a few bytes always holds all three of its bytes.)
            self.started = true;
            if buf[..n].starts_with(UTF8_BOM) {
                buf.copy_within(UTF8_BOM.len()..n, 0);
                n -= UTF8_BOM.len();
            }
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\r' || b == b'\n' {
                self.breaks.push_back((self.offset + i as u64, b));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &[u8], encoding: SourceEncoding, starts: &[u64]) -> (String, Vec<u64>) {
        let mut d = Decoded::new(text, encoding);
        let mut out = String::new();
        d.read_to_string(&mut out).unwrap();
        let lines = starts.iter().map(|&s| d.line_at(s)).collect();
        (out, lines)
    }

    #[test]
    fn lines_with_crlf_blank_lines_and_a_bom() {
        let text = b"\xEF\xBB\xBFh\r\n\r\na\r\nb\n\nc\rd";
        // Records start at h, a, b, c and d.
        let (out, lines) = lines_of(text, SourceEncoding::Utf8, &[0, 5, 8, 11, 13]);
        assert_eq!(out, "h\r\n\r\na\r\nb\n\nc\rd");
        assert_eq!(lines, [1, 3, 4, 6, 7]);
        // A position before blank lines moves past them.
        let (_, lines) = lines_of(text, SourceEncoding::Utf8, &[0, 3]);
        assert_eq!(lines, [1, 3]);
    }

    #[test]
    fn reading_past_the_end_of_gb18030_text_gives_nothing_more() {
        let (bytes, _, _) = GB18030.encode("处罚机关,苏州");
        let mut d = Decoded::new(&bytes[..], SourceEncoding::Gb18030);
        let mut out = String::new();
        d.read_to_string(&mut out).unwrap();
        assert_eq!(out, "处罚机关,苏州");
        // The CSV reader may ask again after the end: the finished decoder is not used.
        let mut buf = [0u8; 128];
        assert_eq!(d.read(&mut buf).unwrap(), 0);
        assert_eq!(d.read(&mut buf[..8]).unwrap(), 0);
    }

    #[test]
    fn gb18030_decodes_across_chunks() {
        let text: String = "苏州,罚款\n".repeat(CHUNK / 5);
        let (bytes, _, _) = GB18030.encode(&text);
        let (out, lines) = lines_of(&bytes, SourceEncoding::Gb18030, &[0, 14, 28]);
        assert_eq!(out, text);
        assert_eq!(lines, [1, 2, 3]);
    }
}
