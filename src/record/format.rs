//! The lines of a recording file, shared by the recorder (which writes them) and replay
//! (which reads them). A file starts with one header line naming what it holds:
//!
//! ```text
//! {"binance_listen_recording":1,"market":"spot","symbol":"ETHUSDT","stream":"trade","kinds":["trade"],"run":1795874706000000}
//! ```
//!
//! then one line per frame, in the order the reader queued them:
//!
//! ```text
//! {"t":1795874706123456,"c":1,"n":42,"f":{"e":"trade",...}}
//! ```
//!
//! `t` is the receive time (µs since the Unix epoch), `c` the connection number (from 1),
//! `n` the frame's number among all of the symbol's frames of this run (from 1, across its
//! streams: it restores their order, and a number missing is a frame the recorder had to
//! drop), and `f` the frame exactly as received. A frame that is not one line of a JSON
//! object (bad data) is kept as a JSON string under `s` instead, so every line stays one
//! line. `kinds` are the connection's stream kinds (a combined connection wraps its frames),
//! `run` the recording run's start (µs): runs order by it.
//!
//! A file the recorder closed (its slot ended, or the run stopped) ends with an end mark,
//! `{"binance_listen_end":1,"frames":1234}`: a file without one was cut short (its run was
//! killed, or it is still being written).
//!
//! The fields come in this order, always: replay reads them by position, without a JSON
//! parser, so it keeps up with the pipeline.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use tungstenite::Bytes;

/// The format's version, in every header.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// What a recording file holds: its first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Header {
    /// The format's version ([`FORMAT_VERSION`]).
    pub(crate) binance_listen_recording: u32,
    /// The market's name (`spot`, `futures`, ...).
    pub(crate) market: String,
    /// The symbol, uppercase.
    pub(crate) symbol: String,
    /// The stream kind's name, or `unknown` for frames of no subscribed stream.
    pub(crate) stream: String,
    /// The connection's kinds, in subscription order.
    pub(crate) kinds: Vec<String>,
    /// The recording run's start, µs since the Unix epoch.
    pub(crate) run: u64,
}

/// The start every header line has.
const HEADER_START: &[u8] = br#"{"binance_listen_recording":"#;

impl Header {
    /// The header as one line, newline included.
    pub(crate) fn line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }

    /// Parses a header line; `None` if `line` is not one.
    pub(crate) fn parse(line: &[u8]) -> Option<Self> {
        if !line.starts_with(HEADER_START) {
            return None;
        }
        serde_json::from_slice(line).ok()
    }
}

/// The start of the end mark's line.
const END_START: &[u8] = br#"{"binance_listen_end":"#;

/// The end mark: the last line of a file the recorder closed, with its frame count.
pub(crate) fn end_line(frames: u64) -> Vec<u8> {
    format!("{{\"binance_listen_end\":{FORMAT_VERSION},\"frames\":{frames}}}\n").into_bytes()
}

/// The frame count of an end mark; `None` if `line` is not one.
pub(crate) fn parse_end(line: &[u8]) -> Option<u64> {
    if !line.starts_with(END_START) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    value.get("frames")?.as_u64()
}

/// One recorded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// Receive time, µs since the Unix epoch.
    pub(crate) recv_time_us: u64,
    /// The connection it arrived on, from 1.
    pub(crate) connection: u32,
    /// Its number among the symbol's frames of the run.
    pub(crate) number: u64,
    /// The frame exactly as received.
    pub(crate) frame: Bytes,
}

/// Appends the record line of a frame to `out`.
pub(crate) fn push_record(
    out: &mut Vec<u8>,
    recv_time_us: u64,
    connection: u32,
    number: u64,
    frame: &str,
) {
    let bytes = frame.as_bytes();
    let verbatim = bytes.first() == Some(&b'{')
        && bytes.last() == Some(&b'}')
        && !bytes.iter().any(|&byte| byte == b'\n' || byte == b'\r');
    out.extend_from_slice(br#"{"t":"#);
    push_number(out, recv_time_us);
    out.extend_from_slice(br#","c":"#);
    push_number(out, u64::from(connection));
    out.extend_from_slice(br#","n":"#);
    push_number(out, number);
    out.push(b',');
    if verbatim {
        out.extend_from_slice(br#""f":"#);
        out.extend_from_slice(bytes);
    } else {
        out.extend_from_slice(br#""s":"#);
        let _ = serde_json::to_writer(&mut *out, frame);
    }
    out.extend_from_slice(b"}\n");
}

/// Appends `value` in decimal: the recorder writes three numbers per frame, and `write!`
/// costs more than the rest of the line.
fn push_number(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Reads a record line (without its newline); `None` if it is not one. The frame shares
/// the line's memory (no copy) unless it was kept as a string.
#[cfg(test)]
pub(crate) fn parse_record(line: &Bytes) -> Option<Record> {
    parse_record_at(line, 0..line.len())
}

/// [`parse_record`] of the line at `range` in `chunk`: the frame is a slice of `chunk`.
pub(crate) fn parse_record_at(chunk: &Bytes, range: Range<usize>) -> Option<Record> {
    let line = chunk.get(range.clone())?;
    let mut at = 0;
    let recv_time_us = field(line, &mut at, br#"{"t":"#)?;
    let connection = u32::try_from(field(line, &mut at, br#","c":"#)?).ok()?;
    let number = field(line, &mut at, br#","n":"#)?;
    let rest = line.get(at..)?;
    if rest.last() != Some(&b'}') {
        return None;
    }
    let end = line.len() - 1;
    let frame = if rest.starts_with(br#","f":"#) {
        chunk.slice(range.start + at + 5..range.start + end)
    } else if rest.starts_with(br#","s":"#) {
        let text: String = serde_json::from_slice(&line[at + 5..end]).ok()?;
        Bytes::from(text)
    } else {
        return None;
    };
    Some(Record {
        recv_time_us,
        connection,
        number,
        frame,
    })
}

/// The number after `key` at `*at`, moving `*at` past it.
fn field(line: &[u8], at: &mut usize, key: &[u8]) -> Option<u64> {
    let rest = line.get(*at..)?.strip_prefix(key)?;
    let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    // At most 19 digits: below u64::MAX, so no overflow check per digit.
    let value = rest[..digits]
        .iter()
        .fold(0u64, |value, &digit| value * 10 + u64::from(digit - b'0'));
    *at += key.len() + digits;
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(frame: &str) -> Record {
        let mut out = Vec::new();
        push_record(&mut out, 1_795_874_706_123_456, 2, 42, frame);
        assert_eq!(out.last(), Some(&b'\n'));
        out.pop();
        parse_record(&Bytes::from(out)).expect("a record line")
    }

    #[test]
    fn frames_come_back_exactly_whatever_they_hold() {
        for frame in [
            r#"{"e":"trade","E":1,"s":"ETHUSDT","t":7,"p":"1.0","q":"2","T":1,"m":true}"#,
            r#"{"stream":"ethusdt@trade","data":{"e":"trade"}}"#,
            "not json at all",
            "{\"two\":\n\"lines\"}",
            "",
            "{\"quote\\\"\":\"é\"}",
        ] {
            let record = round_trip(frame);
            assert_eq!(record.frame, frame.as_bytes(), "{frame:?}");
            assert_eq!(
                (record.recv_time_us, record.connection, record.number),
                (1_795_874_706_123_456, 2, 42)
            );
        }
    }

    #[test]
    fn a_record_line_with_a_json_frame_is_a_json_line() {
        let mut out = Vec::new();
        push_record(&mut out, 5, 1, 1, r#"{"e":"trade"}"#);
        assert_eq!(out, b"{\"t\":5,\"c\":1,\"n\":1,\"f\":{\"e\":\"trade\"}}\n");
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["f"]["e"], "trade");
    }

    #[test]
    fn other_lines_are_not_records() {
        for line in [
            &b""[..],
            br#"{"e":"trade"}"#,
            br#"{"t":1,"c":1,"n":1,"f":{"e":"x""#,
            br#"{"t":1,"c":1,"n":1,"x":{}}"#,
            br#"{"t":,"c":1,"n":1,"f":{}}"#,
            br#"{"t":1,"c":99999999999,"n":1,"f":{}}"#,
        ] {
            assert_eq!(parse_record(&Bytes::copy_from_slice(line)), None);
        }
    }

    #[test]
    fn headers_round_trip() {
        let header = Header {
            binance_listen_recording: FORMAT_VERSION,
            market: "spot".to_owned(),
            symbol: "ETHUSDT".to_owned(),
            stream: "trade".to_owned(),
            kinds: vec!["trade".to_owned(), "bookTicker".to_owned()],
            run: 17,
        };
        let line = header.line();
        assert!(line.starts_with(HEADER_START));
        assert_eq!(Header::parse(&line[..line.len() - 1]), Some(header));
        assert_eq!(Header::parse(br#"{"t":1}"#), None);
    }

    #[test]
    fn end_marks_round_trip() {
        let line = end_line(1234);
        assert_eq!(line, b"{\"binance_listen_end\":1,\"frames\":1234}\n");
        assert_eq!(parse_end(&line[..line.len() - 1]), Some(1234));
        assert_eq!(parse_end(br#"{"t":1}"#), None);
    }
}
