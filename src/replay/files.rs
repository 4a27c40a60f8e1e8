//! Finding recorded files and reading their lines. A path is a file or a directory searched
//! for `*.jsonl.zst`, `*.zst` and `*.jsonl` files; a file is a recording when its first line
//! is a recording header ([`Header`]), else a plain file of raw frames (one per line, as
//! `--format raw` writes them).
//!
//! Lines are read in large chunks and handed out as slices of them (no copy per line). A
//! file that ends inside a zstd frame or inside a line (a run killed mid-write) yields every
//! whole line before the damage and then says what it lost ([`Lines::damage`]).

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};

use tungstenite::Bytes;

use crate::record::format::{FORMAT_VERSION, Header, Record, parse_end, parse_record_at};
use crate::record::layout::RECORDING_SUFFIX;

/// Bytes read at a time.
const CHUNK_BYTES: usize = 1 << 20;

/// A file to replay: its path and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordedFile {
    pub(crate) path: PathBuf,
    /// Its header; for a file of raw frames, one made up from its first frame.
    pub(crate) header: Header,
    /// A file of raw frames, without a header or receive times.
    pub(crate) raw: bool,
}

/// Every file under `paths`, with its header, in path order.
///
/// # Errors
/// A path that does not exist or cannot be read, or a file whose first line is neither a
/// header nor a frame naming its symbol; the message names it.
pub(crate) fn discover(paths: &[PathBuf]) -> Result<Vec<RecordedFile>, String> {
    let mut found = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path)
            .map_err(|error| format!("cannot read '{}': {error}", path.display()))?;
        if metadata.is_dir() {
            walk(path, &mut found)?;
        } else {
            found.push(path.clone());
        }
    }
    found.sort();
    found.dedup();
    found
        .into_iter()
        .filter_map(|path| describe(path).transpose())
        .collect()
}

/// The recording-like files under `dir`.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot read '{}': {error}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|error| format!("cannot read '{}': {error}", dir.display()))?
            .path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.ends_with(".zst") || name.ends_with(".jsonl"))
        {
            found.push(path);
        }
    }
    Ok(())
}

/// Reads a file's first line for its header; `None` for an empty file.
fn describe(path: PathBuf) -> Result<Option<RecordedFile>, String> {
    let mut lines =
        Lines::open(&path).map_err(|error| format!("cannot read '{}': {error}", path.display()))?;
    let Some(first) = lines.next_line() else {
        return Ok(empty_recording(path));
    };
    if let Some(header) = Header::parse(&first) {
        return Ok(Some(RecordedFile {
            path,
            header,
            raw: false,
        }));
    }
    let symbol = frame_symbol(&first).ok_or_else(|| {
        format!(
            "'{}' is neither a recording nor a file of raw frames naming their symbol",
            path.display()
        )
    })?;
    Ok(Some(RecordedFile {
        header: Header {
            binance_listen_recording: 0,
            market: String::new(),
            symbol,
            stream: "raw".to_owned(),
            kinds: Vec::new(),
            run: 0,
        },
        path,
        raw: true,
    }))
}

/// An empty file where a recording's file would be (`<market>/<SYMBOL>/<stream>/`): one a
/// run was killed while creating, kept so it is reported. Any other empty file is ignored.
fn empty_recording(path: PathBuf) -> Option<RecordedFile> {
    let name = path.file_name()?.to_str()?;
    if !name.ends_with(RECORDING_SUFFIX) {
        return None;
    }
    let mut folders = path.parent()?.iter().rev().map(|part| part.to_str());
    let (stream, symbol, market) = (folders.next()??, folders.next()??, folders.next()??);
    Some(RecordedFile {
        header: Header {
            binance_listen_recording: FORMAT_VERSION,
            market: market.to_owned(),
            symbol: symbol.to_owned(),
            stream: stream.to_owned(),
            kinds: Vec::new(),
            run: 0,
        },
        path,
        raw: false,
    })
}

/// The symbol a raw frame names: a combined wrapper's stream (`"stream":"ethusdt@…"`) or
/// the payload's `"s"`, uppercase.
fn frame_symbol(frame: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(frame).ok()?;
    let symbol = if let Some(rest) = text.strip_prefix(r#"{"stream":""#) {
        rest.split('@').next()?
    } else {
        let at = text.find(r#""s":""#)? + 5;
        text[at..].split('"').next()?
    };
    (!symbol.is_empty()).then(|| symbol.to_ascii_uppercase())
}

/// The lines of one file, compressed or not.
pub(crate) struct Lines {
    reader: Box<dyn Read + Send>,
    /// Read so far; lines before `at` were handed out.
    chunk: Bytes,
    at: usize,
    ended: bool,
    /// What went wrong at the end, if the file did not end cleanly.
    damage: Option<String>,
}

impl Lines {
    /// Opens `path`; zstd-compressed when its name ends in `.zst`.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let compressed = path.extension().is_some_and(|ext| ext == "zst");
        let reader: Box<dyn Read + Send> = if compressed {
            Box::new(zstd::stream::read::Decoder::new(file)?)
        } else {
            Box::new(file)
        };
        Ok(Self {
            reader,
            chunk: Bytes::new(),
            at: 0,
            ended: false,
            damage: None,
        })
    }

    /// The next whole line, without its newline; `None` at the end (or at the damage).
    pub(crate) fn next_line(&mut self) -> Option<Bytes> {
        let range = self.next_range()?;
        Some(self.chunk.slice(range))
    }

    /// Where the next whole line is in [`chunk`](Self::chunk), without its newline: no
    /// reference count is touched until the caller slices what it keeps.
    pub(crate) fn next_range(&mut self) -> Option<Range<usize>> {
        loop {
            if let Some(length) = memchr::memchr(b'\n', &self.chunk[self.at..]) {
                let line = self.at..self.at + length;
                self.at += length + 1;
                return Some(line);
            }
            if self.ended {
                let left = self.chunk.len() - self.at;
                if left > 0 && self.damage.is_none() {
                    self.damage = Some(format!(
                        "ends inside a line ({left} bytes after the last whole one)"
                    ));
                }
                return None;
            }
            self.refill();
        }
    }

    /// The chunk [`next_range`](Self::next_range) points into.
    pub(crate) fn chunk(&self) -> &Bytes {
        &self.chunk
    }

    /// Reads the next chunk after what is left of this one.
    fn refill(&mut self) {
        let left = &self.chunk[self.at..];
        let mut next = Vec::with_capacity(CHUNK_BYTES + left.len());
        next.extend_from_slice(left);
        let wanted = CHUNK_BYTES as u64;
        match (&mut self.reader).take(wanted).read_to_end(&mut next) {
            Ok(read) if (read as u64) < wanted => self.ended = true,
            Ok(_) => {}
            Err(error) => {
                self.ended = true;
                self.damage = Some(format!("is cut short ({error})"));
            }
        }
        self.chunk = Bytes::from(next);
        self.at = 0;
    }

    /// How the file ended badly, once [`next_line`](Self::next_line) has returned `None`.
    pub(crate) fn damage(&self) -> Option<&str> {
        self.damage.as_deref()
    }
}

/// Reads the records of one file, header skipped; raw frames get their event time as
/// their receive time (the last one's, or 0, if they name none).
pub(crate) struct Records {
    lines: Lines,
    raw: bool,
    /// Lines read, for the numbers of raw frames.
    read: u64,
    last_time_us: u64,
    /// Lines that were neither a header nor a record.
    pub(crate) unreadable: u64,
    /// Records read.
    records: u64,
    /// The frame count of the end mark, once read.
    end: Option<u64>,
}

impl Records {
    /// Opens `file`.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub(crate) fn open(file: &RecordedFile) -> io::Result<Self> {
        Ok(Self {
            lines: Lines::open(&file.path)?,
            raw: file.raw,
            read: 0,
            last_time_us: 0,
            unreadable: 0,
            records: 0,
            end: None,
        })
    }

    /// The next record, `None` at the end.
    pub(crate) fn next_record(&mut self) -> Option<Record> {
        loop {
            let range = self.lines.next_range()?;
            self.read += 1;
            if self.raw {
                if range.is_empty() {
                    continue;
                }
                let line = self.lines.chunk().slice(range);
                if let Some(time_us) = event_time_us(&line) {
                    self.last_time_us = time_us;
                }
                return Some(Record {
                    recv_time_us: self.last_time_us,
                    connection: 1,
                    number: self.read,
                    frame: line,
                });
            }
            let chunk = self.lines.chunk();
            let line = &chunk[range.clone()];
            match parse_record_at(chunk, range) {
                Some(record) => {
                    self.records += 1;
                    return Some(record);
                }
                None if self.read == 1 && Header::parse(line).is_some() => {}
                None => match parse_end(line) {
                    Some(frames) => self.end = Some(frames),
                    None => self.unreadable += 1,
                },
            }
        }
    }

    /// How the file ended badly, once it has ended: cut inside a line or a zstd frame, or
    /// (a recording) without its end mark, or with fewer frames than its end mark says.
    pub(crate) fn damage(&self) -> Option<String> {
        if let Some(damage) = self.lines.damage() {
            return Some(damage.to_owned());
        }
        if self.raw {
            return None;
        }
        match self.end {
            None if self.read == 0 => Some(
                "is empty: its run was stopped as it created it (kill -9, power loss)".to_owned(),
            ),
            None => Some(
                "has no end mark: its run was stopped without closing it (kill -9, power loss), or it is still being written; its last second or so may be missing"
                    .to_owned(),
            ),
            Some(frames) if frames != self.records => Some(format!(
                "holds {} frames where its end mark counts {frames}",
                self.records
            )),
            Some(_) => None,
        }
    }
}

/// A raw frame's event time (`"E":<ms>`), in µs.
fn event_time_us(frame: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(frame).ok()?;
    let at = text.find(r#""E":"#)? + 4;
    let digits: &str = &text[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse::<u64>().ok()?.checked_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_frames_name_their_symbol_and_time() {
        assert_eq!(
            frame_symbol(br#"{"e":"trade","E":12,"s":"ETHUSDT"}"#).as_deref(),
            Some("ETHUSDT")
        );
        assert_eq!(
            frame_symbol(br#"{"stream":"bnbusdt@trade","data":{}}"#).as_deref(),
            Some("BNBUSDT")
        );
        assert_eq!(frame_symbol(b"{}"), None);
        assert_eq!(
            event_time_us(br#"{"e":"trade","E":12,"s":"X"}"#),
            Some(12_000)
        );
    }

    #[test]
    fn a_torn_compressed_file_gives_its_whole_lines_and_says_so() {
        let dir = std::env::temp_dir().join(format!("bl-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("torn.jsonl.zst");
        let mut bytes = zstd::bulk::compress(b"one\ntwo\n", 3).unwrap();
        let second = zstd::bulk::compress(b"three\nfour\n", 3).unwrap();
        bytes.extend_from_slice(&second[..second.len() - 3]);
        std::fs::write(&path, bytes).unwrap();
        let mut lines = Lines::open(&path).unwrap();
        let mut got = Vec::new();
        while let Some(line) = lines.next_line() {
            got.push(String::from_utf8(line.to_vec()).unwrap());
        }
        assert_eq!(got[..2], ["one", "two"]);
        assert!(lines.damage().is_some(), "{got:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
