//! The processor's fast path for the busiest kinds (trade, aggTrade, bookTicker, diff
//! depth; spot, USD-M and COIN-M shapes): a scanner over the frame's bytes that checks the
//! payload strictly and writes its line from the frame's own tokens, without building an
//! [`Event`](binance_streams::Event) or running serde. Run by the processor thread; built
//! once per processor.
//!
//! The contract is equality with the generic path (`Decoder::decode`, then
//! [`write_line`](super::write_line)): when [`FastPath::scan`] accepts a frame, the
//! generic path accepts it too, with the same kind index, sequence point and event time,
//! and [`FastEvent::write_line`] appends the same bytes. Anything the scanner was not
//! written for (an escape, whitespace, an unknown, missing or reordered key, another type,
//! a wrapper naming a stream it does not expect) is declined, never guessed at: the caller
//! then decodes the frame the generic way, which also reports it if it is bad. The tests
//! hold the two paths to this over every fixture, millions of generated frames and their
//! mutations.
//!
//! Why it pays: the generic path deserializes into the wire model and serializes it again
//! through serde's formatter; the frames of these kinds are flat objects whose tokens
//! serde would write back unchanged, so copying them in the model's output order is enough.

mod cursor;
mod kinds;

use binance_streams::{SequencePoint, StreamKind, Symbol};

use super::{LineHead, OutputFormat};
use cursor::{Cursor, write_u64};
use kinds::{AggTrade, Body, BookTicker, Depth, Trade};

/// The kinds the fast path knows, by the shape of their payload.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Trade,
    AggTrade,
    BookTicker,
    Depth,
}

impl Shape {
    fn of(kind: StreamKind) -> Option<Self> {
        match kind {
            StreamKind::Trade => Some(Self::Trade),
            StreamKind::AggTrade => Some(Self::AggTrade),
            StreamKind::BookTicker => Some(Self::BookTicker),
            StreamKind::Depth(_) => Some(Self::Depth),
            _ => None,
        }
    }

    fn scan<'a>(self, cursor: &mut Cursor<'a>) -> Option<Body<'a>> {
        match self {
            Self::Trade => Trade::scan(cursor).map(Body::Trade),
            Self::AggTrade => AggTrade::scan(cursor).map(Body::AggTrade),
            Self::BookTicker => BookTicker::scan(cursor).map(Body::BookTicker),
            Self::Depth => Depth::scan(cursor).map(Body::Depth),
        }
    }
}

/// The line a fast event becomes: the two formats that need no [`Event`](binance_streams::Event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineFormat {
    Json,
    Raw,
}

/// One subscribed stream of the symbol's connection.
#[derive(Debug)]
struct Stream {
    /// `None` for a kind the fast path does not know.
    shape: Option<Shape>,
    /// How the combined wrapper opens for this stream: `{"stream":"ethusdt@trade","data":`.
    wrapper: Vec<u8>,
}

/// The fast path of one processor: which of its streams it knows and how their frames
/// look. Build it with the same symbol and kinds, in the same order, as the processor's
/// `Decoder`, so the kind indexes agree.
#[derive(Debug)]
pub(crate) struct FastPath {
    format: LineFormat,
    streams: Vec<Stream>,
}

impl FastPath {
    /// The fast path for `symbol`'s connection reading `kinds` (combined when more than
    /// one) and writing `format`; `None` when it could handle none of its frames: no kind
    /// is a fast one, or the format is pretty (which needs the decoded event). Then the
    /// processor need not try it.
    pub(crate) fn new(symbol: &Symbol, kinds: &[StreamKind], format: OutputFormat) -> Option<Self> {
        let format = match format {
            OutputFormat::Json => LineFormat::Json,
            OutputFormat::Raw => LineFormat::Raw,
            OutputFormat::Pretty { .. } => return None,
        };
        if !kinds.iter().any(|kind| Shape::of(*kind).is_some()) {
            return None;
        }
        let streams = kinds
            .iter()
            .map(|kind| {
                let mut wrapper = br#"{"stream":"#.to_vec();
                let name = format!("{}@{}", symbol.lowercase(), kind.wire_name());
                // A string serializes infallibly into a Vec.
                let _ = serde_json::to_writer(&mut wrapper, &name);
                wrapper.extend_from_slice(br#","data":"#);
                Stream {
                    shape: Shape::of(*kind),
                    wrapper,
                }
            })
            .collect();
        Some(Self { format, streams })
    }

    /// Checks `payload`, a frame of the connection, and returns what the processor needs
    /// from it; `None` means "not handled": decode it the generic way. Writes nothing.
    ///
    /// As `Decoder::decode`, a single stream's frames are the bare event and several
    /// streams' frames come in the combined wrapper, `{"stream":..,"data":{..}}`.
    pub(crate) fn scan<'a>(&self, payload: &'a str) -> Option<FastEvent<'a>> {
        let bytes = payload.as_bytes();
        let (index, stream, data) = match self.streams.as_slice() {
            [stream] => (0, stream, bytes),
            streams => {
                let (index, stream) = streams
                    .iter()
                    .enumerate()
                    .find(|(_, stream)| bytes.starts_with(&stream.wrapper))?;
                let data = &bytes[stream.wrapper.len()..];
                (index, stream, data.strip_suffix(b"}")?)
            }
        };
        let mut cursor = Cursor::new(data);
        let body = stream.shape?.scan(&mut cursor)?;
        cursor.is_done().then_some(FastEvent {
            index,
            body,
            payload,
            format: self.format,
        })
    }
}

/// A frame the fast path accepted: what the processor checks before writing it, and the
/// line. Borrows the frame.
#[derive(Debug)]
pub(crate) struct FastEvent<'a> {
    index: usize,
    body: Body<'a>,
    payload: &'a str,
    format: LineFormat,
}

impl FastEvent<'_> {
    /// The index of the event's kind in the processor's kinds, as `Decoder::decode`
    /// returns it: which sequence check and which [`LineHead`] apply.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Where the event sits in its stream, as `Payload::sequence` says (every fast kind
    /// has one; the `Option` mirrors the trait).
    pub(crate) fn sequence(&self) -> Option<SequencePoint> {
        Some(self.body.sequence())
    }

    /// The exchange's event time, as `Payload::event_time` says (spot book tickers have
    /// none).
    pub(crate) fn event_time(&self) -> Option<u64> {
        self.body.event_time()
    }

    /// Appends the event's line, newline included, exactly as
    /// [`write_line`](super::write_line) would in the fast path's format: `head` is the
    /// [`LineHead`] of stream [`index`](Self::index), `recv_time_us` the frame's
    /// receive time.
    pub(crate) fn write_line(&self, out: &mut Vec<u8>, head: &LineHead, recv_time_us: u64) {
        match self.format {
            LineFormat::Raw => {
                out.extend_from_slice(self.payload.as_bytes());
                out.push(b'\n');
            }
            LineFormat::Json => {
                out.extend_from_slice(head.json_prefix());
                self.body.write(out);
                out.extend_from_slice(br#","recv_time_us":"#);
                write_u64(out, recv_time_us);
                out.extend_from_slice(b"}\n");
            }
        }
    }
}

#[cfg(test)]
mod tests;
