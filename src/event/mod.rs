//! Binance payloads as typed events ([`models`]), borrowed from the frame, and the
//! [`Decoder`] that turns a frame of a symbol's connection into one: it unwraps the combined
//! stream wrapper (`{"stream":..,"data":..}`) when a symbol reads several kinds, and
//! dispatches on the kind the stream name says, never by guessing from the shape
//! (PROTOCOL.md §6: the same letter means different things in different kinds).
//!
//! Anything that is not the expected event becomes a [`DataError`] with a [`DataErrorKind`],
//! worked out only on that slow path.

pub mod models;

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::spec::{StreamKind, Symbol};
pub use models::{
    AggTrade, AvgPrice, BookTicker, DepthUpdate, ForceOrder, Kline, MarkPrice, MiniTicker,
    PartialDepth, Ticker, Trade,
};

/// One parsed market-data event.
#[derive(Debug)]
pub enum Event<'a> {
    /// From `@trade`.
    Trade(Trade<'a>),
    /// From `@aggTrade`.
    AggTrade(AggTrade<'a>),
    /// From `@bookTicker`.
    BookTicker(BookTicker<'a>),
    /// From `@depth`.
    Depth(DepthUpdate<'a>),
    /// From `@depth5|10|20`.
    PartialDepth(PartialDepth<'a>),
    /// From `@kline_<interval>`.
    Kline(Kline<'a>),
    /// From `@miniTicker`.
    MiniTicker(MiniTicker<'a>),
    /// From `@ticker` and `@ticker_<window>`.
    Ticker(Ticker<'a>),
    /// From `@avgPrice`.
    AvgPrice(AvgPrice<'a>),
    /// From `@markPrice`.
    MarkPrice(MarkPrice<'a>),
    /// From `@forceOrder`.
    ForceOrder(ForceOrder<'a>),
}

/// Where an event sits in its stream's sequence, for duplicate and gap checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequencePoint {
    /// The id that orders events: a duplicate has one not above the last written.
    pub id: u64,
    /// Where a stepping-by-one sequence resumes (trade `t`, aggTrade `a`, spot depth `U`):
    /// anything above the last id plus one is a gap.
    pub first: Option<u64>,
    /// The previous event's id as the exchange says it (futures depth `pu`): anything but
    /// the last id is a break.
    pub prev: Option<u64>,
}

impl SequencePoint {
    /// An id that only has to increase (update ids, event times of snapshots).
    fn increasing(id: u64) -> Self {
        Self {
            id,
            first: None,
            prev: None,
        }
    }

    /// An id that steps by one.
    fn stepping(id: u64) -> Self {
        Self {
            id,
            first: Some(id),
            prev: None,
        }
    }
}

impl Event<'_> {
    /// The exchange's event time (`E`), where the kind carries one.
    pub fn event_time(&self) -> Option<u64> {
        match self {
            Self::Trade(e) => Some(e.event_time),
            Self::AggTrade(e) => Some(e.event_time),
            Self::BookTicker(e) => e.event_time,
            Self::Depth(e) => Some(e.event_time),
            Self::PartialDepth(e) => e.event_time,
            Self::Kline(e) => Some(e.event_time),
            Self::MiniTicker(e) => Some(e.event_time),
            Self::Ticker(e) => Some(e.event_time),
            Self::AvgPrice(e) => Some(e.event_time),
            Self::MarkPrice(e) => Some(e.event_time),
            Self::ForceOrder(e) => Some(e.event_time),
        }
    }

    /// The event's place in its stream. Trades and aggTrades step by one; spot depth
    /// updates cover `U..=u` and the next starts at `u + 1`; futures depth updates link by
    /// `pu`; book tickers and partial books have increasing update ids; snapshots (klines,
    /// tickers, prices, liquidations) are ordered by event time, which is enough to drop the
    /// copies two overlapping connections deliver.
    pub fn sequence(&self) -> Option<SequencePoint> {
        Some(match self {
            Self::Trade(trade) => SequencePoint::stepping(trade.trade_id),
            Self::AggTrade(agg) => SequencePoint::stepping(agg.agg_trade_id),
            Self::BookTicker(ticker) => SequencePoint::increasing(ticker.update_id),
            Self::Depth(depth) => match depth.prev_final_update_id {
                Some(prev) => SequencePoint {
                    id: depth.final_update_id,
                    first: None,
                    prev: Some(prev),
                },
                None => SequencePoint {
                    id: depth.final_update_id,
                    first: Some(depth.first_update_id),
                    prev: None,
                },
            },
            Self::PartialDepth(depth) => SequencePoint::increasing(depth.update_id()?),
            Self::Kline(kline) => SequencePoint::increasing(kline.event_time),
            Self::MiniTicker(ticker) => SequencePoint::increasing(ticker.event_time),
            Self::Ticker(ticker) => SequencePoint::increasing(ticker.event_time),
            Self::AvgPrice(avg) => SequencePoint::increasing(avg.event_time),
            Self::MarkPrice(mark) => SequencePoint::increasing(mark.event_time),
            Self::ForceOrder(order) => SequencePoint::increasing(order.event_time),
        })
    }
}

/// Why a frame was not a market-data event of the expected kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataErrorKind {
    /// Not JSON at all.
    InvalidJson,
    /// JSON, but not the shape of the stream's kind (a missing field, a number for a price).
    UnexpectedShape,
    /// A well-formed event of another type (e.g. `serverShutdown`), or of a stream the
    /// connection did not subscribe to.
    UnexpectedEvent,
    /// An exchange error object: `{"code":..,"msg":..}` or `{"error":{..}}`.
    ExchangeError,
    /// A reply to a control request: `{"result":..,"id":..}`.
    ControlResponse,
}

impl DataErrorKind {
    /// Every kind, for per-kind report throttles.
    pub const ALL: [DataErrorKind; 5] = [
        Self::InvalidJson,
        Self::UnexpectedShape,
        Self::UnexpectedEvent,
        Self::ExchangeError,
        Self::ControlResponse,
    ];

    /// A short name for log lines.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid JSON",
            Self::UnexpectedShape => "unexpected payload shape",
            Self::UnexpectedEvent => "unexpected event",
            Self::ExchangeError => "exchange error",
            Self::ControlResponse => "control response",
        }
    }
}

/// A frame that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    /// The category, for counting and throttling.
    pub kind: DataErrorKind,
    /// What exactly was wrong, for the log line.
    pub detail: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.detail)
    }
}

/// Turns the frames of one symbol's connection into events.
#[derive(Debug, Clone)]
pub struct Decoder {
    kinds: Vec<StreamKind>,
    /// Full stream names (`ethusdt@trade`) as the combined wrapper names them.
    stream_names: Vec<String>,
}

/// The combined-stream wrapper, `{"stream":"ethusdt@trade","data":{...}}`.
#[derive(Deserialize)]
struct Wrapper<'a> {
    #[serde(borrow)]
    stream: Cow<'a, str>,
    #[serde(borrow)]
    data: &'a RawValue,
}

impl Decoder {
    /// A decoder for `symbol`'s connection reading `kinds` (combined when more than one).
    pub fn new(symbol: &Symbol, kinds: &[StreamKind]) -> Self {
        Self {
            kinds: kinds.to_vec(),
            stream_names: kinds
                .iter()
                .map(|kind| format!("{}@{}", symbol.lowercase(), kind.name()))
                .collect(),
        }
    }

    /// The kinds, in subscription order.
    pub fn kinds(&self) -> &[StreamKind] {
        &self.kinds
    }

    /// Decodes one frame into the index of its kind and the event.
    ///
    /// # Errors
    /// A [`DataError`] when the frame is not an event of a subscribed kind.
    pub fn decode<'a>(&self, payload: &'a str) -> Result<(usize, Event<'a>), DataError> {
        if let [kind] = self.kinds.as_slice() {
            return parse_event(*kind, payload).map(|event| (0, event));
        }
        let wrapper: Wrapper<'a> =
            serde_json::from_str(payload).map_err(|error| classify(payload, None, &error))?;
        let index = self
            .stream_names
            .iter()
            .position(|name| *name == wrapper.stream)
            .ok_or_else(|| DataError {
                kind: DataErrorKind::UnexpectedEvent,
                detail: format!(
                    "a frame of stream '{}', which was not subscribed",
                    wrapper.stream
                ),
            })?;
        parse_event(self.kinds[index], wrapper.data.get()).map(|event| (index, event))
    }
}

/// Parses `payload` as an event of `kind`.
///
/// # Errors
/// A [`DataError`] when the payload is not such an event; the caller counts and skips it.
pub fn parse_event(kind: StreamKind, payload: &str) -> Result<Event<'_>, DataError> {
    let event = match kind {
        StreamKind::Trade => parse(kind, payload, Event::Trade)?,
        StreamKind::AggTrade => parse(kind, payload, Event::AggTrade)?,
        StreamKind::BookTicker => parse(kind, payload, Event::BookTicker)?,
        StreamKind::Depth(_) => parse(kind, payload, Event::Depth)?,
        StreamKind::PartialDepth(..) => parse(kind, payload, Event::PartialDepth)?,
        StreamKind::Kline(_) => parse(kind, payload, Event::Kline)?,
        StreamKind::MiniTicker => parse(kind, payload, Event::MiniTicker)?,
        StreamKind::Ticker | StreamKind::WindowTicker(_) => parse(kind, payload, Event::Ticker)?,
        StreamKind::AvgPrice => parse(kind, payload, Event::AvgPrice)?,
        StreamKind::MarkPrice(_) => parse(kind, payload, Event::MarkPrice)?,
        StreamKind::ForceOrder => parse(kind, payload, Event::ForceOrder)?,
    };
    check(kind, &event)?;
    Ok(event)
}

/// Deserializes `payload` as `T` and wraps it; classifies the failure otherwise.
fn parse<'a, T: Deserialize<'a>>(
    kind: StreamKind,
    payload: &'a str,
    wrap: fn(T) -> Event<'a>,
) -> Result<Event<'a>, DataError> {
    serde_json::from_str::<T>(payload)
        .map(wrap)
        .map_err(|error| classify(payload, kind.event_type(), &error))
}

/// Checks what serde cannot: the event type, and that depth levels are arrays.
fn check(kind: StreamKind, event: &Event<'_>) -> Result<(), DataError> {
    let found = match event {
        Event::Trade(e) => Some(&e.event_type),
        Event::AggTrade(e) => Some(&e.event_type),
        Event::BookTicker(e) => e.event_type.as_ref(),
        Event::Depth(e) => Some(&e.event_type),
        Event::PartialDepth(e) => e.event_type.as_ref(),
        Event::Kline(e) => Some(&e.event_type),
        Event::MiniTicker(e) => Some(&e.event_type),
        Event::Ticker(e) => Some(&e.event_type),
        Event::AvgPrice(e) => Some(&e.event_type),
        Event::MarkPrice(e) => Some(&e.event_type),
        Event::ForceOrder(e) => Some(&e.event_type),
    };
    let expected = match kind {
        StreamKind::BookTicker => Some("bookTicker"),
        StreamKind::PartialDepth(..) => Some("depthUpdate"),
        other => other.event_type(),
    };
    if let (Some(found), Some(expected)) = (found, expected)
        && found != expected
    {
        return Err(DataError {
            kind: DataErrorKind::UnexpectedEvent,
            detail: format!("event type '{found}' on a {kind} stream"),
        });
    }
    let levels = match event {
        Event::Depth(depth) => Some((Some(depth.bids), Some(depth.asks), Some(0))),
        Event::PartialDepth(depth) => Some((depth.bids(), depth.asks(), depth.update_id())),
        _ => None,
    };
    if let Some((bids, asks, id)) = levels {
        let is_array =
            |levels: Option<&RawValue>| levels.is_some_and(|raw| raw.get().starts_with('['));
        if !is_array(bids) || !is_array(asks) || id.is_none() {
            return Err(DataError {
                kind: DataErrorKind::UnexpectedShape,
                detail: format!("a {kind} payload without an update id and bid and ask arrays"),
            });
        }
    }
    Ok(())
}

/// Works out what a payload that failed to parse is. Slow path only: allocates freely.
fn classify(
    payload: &str,
    expected_type: Option<&str>,
    parse_error: &serde_json::Error,
) -> DataError {
    let value: Value = match serde_json::from_str(payload) {
        Ok(value) => value,
        Err(error) => {
            return DataError {
                kind: DataErrorKind::InvalidJson,
                detail: error.to_string(),
            };
        }
    };
    let Some(object) = value.as_object() else {
        return DataError {
            kind: DataErrorKind::UnexpectedShape,
            detail: format!("expected a JSON object, got {}", json_type(&value)),
        };
    };
    let error_body = object.get("error").and_then(Value::as_object).or(
        if object.contains_key("code") && object.contains_key("msg") {
            Some(object)
        } else {
            None
        },
    );
    if let Some(body) = error_body {
        let code = body
            .get("code")
            .map_or_else(|| "?".to_owned(), Value::to_string);
        let msg = body.get("msg").and_then(Value::as_str).unwrap_or("");
        return DataError {
            kind: DataErrorKind::ExchangeError,
            detail: format!("code {code}: {msg}"),
        };
    }
    if object.contains_key("result") || (object.contains_key("id") && !object.contains_key("e")) {
        return DataError {
            kind: DataErrorKind::ControlResponse,
            detail: payload.to_owned(),
        };
    }
    if let Some(event_type) = object.get("e").and_then(Value::as_str)
        && expected_type != Some(event_type)
    {
        return DataError {
            kind: DataErrorKind::UnexpectedEvent,
            detail: format!("event type '{event_type}'"),
        };
    }
    DataError {
        kind: DataErrorKind::UnexpectedShape,
        detail: parse_error.to_string(),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
