//! Binance payloads on the wire, one model per kind ([`trades`], [`book`], [`summaries`]),
//! each borrowing from the frame and deriving `Serialize` with the output's field names, so
//! a kind's output line is defined once, by its model. The [`events!`](crate::events)
//! table below is the one place that ties a [`StreamKind`] to its model: it generates
//! [`Event`], its dispatch, and [`parse_event`], and a kind without a model does not compile.
//!
//! [`Decoder`] turns a frame of a symbol's connection into an [`Event`]: it unwraps the
//! combined wrapper (`{"stream":..,"data":..}`) when a symbol reads several kinds, and
//! dispatches on the kind the stream name says, never by guessing from the shape
//! (PROTOCOL.md §6: the same letter means different things in different kinds). Anything
//! that is not the expected event becomes a [`DataError`].

/// Implements [`Payload`] for a model with a required `e` and `E`. Its sequence point is
/// its event time (the snapshot kinds), or `stepping` a field (ids that step by one).
macro_rules! payload_with_event_time {
    ($model:ident) => {
        payload_with_event_time!($model, |model| SequencePoint::increasing(model.event_time));
    };
    ($model:ident, stepping $id:ident) => {
        payload_with_event_time!($model, |model| SequencePoint::stepping(model.$id));
    };
    ($model:ident, |$model_ref:ident| $sequence:expr) => {
        impl Payload for $model<'_> {
            fn event_type(&self) -> Option<&str> {
                Some(&self.event_type)
            }

            fn event_time(&self) -> Option<u64> {
                Some(self.event_time)
            }

            fn sequence(&self) -> Option<SequencePoint> {
                let $model_ref = self;
                Some($sequence)
            }
        }
    };
}

mod book;
mod error;
mod summaries;
mod trades;

use std::borrow::Cow;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::kind::StreamKind;
use crate::symbol::Symbol;
pub use book::{BookTicker, DepthUpdate, PartialDepth};
pub use error::{DataError, DataErrorKind};
pub use summaries::{AvgPrice, Candle, Kline, MarkPrice, MiniTicker, Ticker};
pub use trades::{AggTrade, ForceOrder, LiquidationOrder, Trade};

/// What every wire model says about itself. [`Event`] dispatches to it.
pub trait Payload {
    /// The event type (`e`) the payload names, where its kind sends one.
    fn event_type(&self) -> Option<&str>;

    /// The exchange's event time (`E`), where the kind carries one.
    fn event_time(&self) -> Option<u64>;

    /// Where the event sits in its stream, for duplicate and gap checks.
    fn sequence(&self) -> Option<SequencePoint>;

    /// Checks what serde cannot (that depth levels are arrays); the reason otherwise.
    ///
    /// # Errors
    /// A short description of what is wrong, for the log line.
    fn validate(&self) -> Result<(), &'static str> {
        Ok(())
    }
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
    pub fn increasing(id: u64) -> Self {
        Self {
            id,
            first: None,
            prev: None,
        }
    }

    /// An id that steps by one.
    pub fn stepping(id: u64) -> Self {
        Self {
            id,
            first: Some(id),
            prev: None,
        }
    }

    /// Whether this event comes right after the event whose id was `previous`, by its
    /// kind's rule: a higher id, starting at `previous + 1` when ids step by one, naming
    /// `previous` when events link back.
    pub fn follows(&self, previous: u64) -> bool {
        self.id > previous
            && self
                .first
                .is_none_or(|first| first == previous.saturating_add(1))
            && self.prev.is_none_or(|prev| prev == previous)
    }
}

/// The table of kinds: `Variant(Model) for <StreamKind patterns>`. It generates [`Event`],
/// its [`Payload`] dispatch and `Serialize`, and the parser for each kind.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($model:ident) for $($kind:pat_param)|+ ),* $(,)?) => {
        /// One parsed market-data event.
        #[derive(Debug)]
        pub enum Event<'a> {
            $( $(#[$doc])* $variant($model<'a>), )*
        }

        impl<'a> Event<'a> {
            /// Deserializes `payload` as the model of `kind`.
            fn deserialize_as(kind: StreamKind, payload: &'a str) -> serde_json::Result<Self> {
                match kind {
                    $( $($kind)|+ => serde_json::from_str(payload).map(Self::$variant), )*
                }
            }
        }

        impl Payload for Event<'_> {
            fn event_type(&self) -> Option<&str> {
                match self { $( Self::$variant(event) => event.event_type(), )* }
            }

            fn event_time(&self) -> Option<u64> {
                match self { $( Self::$variant(event) => event.event_time(), )* }
            }

            fn sequence(&self) -> Option<SequencePoint> {
                match self { $( Self::$variant(event) => event.sequence(), )* }
            }

            fn validate(&self) -> Result<(), &'static str> {
                match self { $( Self::$variant(event) => event.validate(), )* }
            }
        }

        /// The output body of the event: its model's fields under their output names.
        impl Serialize for Event<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self { $( Self::$variant(event) => event.serialize(serializer), )* }
            }
        }
    };
}

events! {
    /// From `@trade`.
    Trade(Trade) for StreamKind::Trade,
    /// From `@aggTrade`.
    AggTrade(AggTrade) for StreamKind::AggTrade,
    /// From `@bookTicker`.
    BookTicker(BookTicker) for StreamKind::BookTicker,
    /// From `@depth`.
    Depth(DepthUpdate) for StreamKind::Depth(_) | StreamKind::Book,
    /// From `@depth5|10|20`.
    PartialDepth(PartialDepth) for StreamKind::PartialDepth(..),
    /// From `@kline_<interval>`.
    Kline(Kline) for StreamKind::Kline(_),
    /// From `@miniTicker`.
    MiniTicker(MiniTicker) for StreamKind::MiniTicker,
    /// From `@ticker` and `@ticker_<window>`.
    Ticker(Ticker) for StreamKind::Ticker | StreamKind::WindowTicker(_),
    /// From `@avgPrice`.
    AvgPrice(AvgPrice) for StreamKind::AvgPrice,
    /// From `@markPrice`.
    MarkPrice(MarkPrice) for StreamKind::MarkPrice(_),
    /// From `@forceOrder`.
    ForceOrder(ForceOrder) for StreamKind::ForceOrder,
}

/// Parses `payload` as an event of `kind`.
///
/// # Errors
/// A [`DataError`] when the payload is not such an event; the caller counts and skips it.
pub fn parse_event(kind: StreamKind, payload: &str) -> Result<Event<'_>, DataError> {
    let event = Event::deserialize_as(kind, payload)
        .map_err(|error| error::classify(payload, kind.event_type(), &error))?;
    if let (Some(found), Some(expected)) = (event.event_type(), kind.event_type())
        && found != expected
    {
        return Err(DataError {
            kind: DataErrorKind::UnexpectedEvent,
            detail: format!("event type '{found}' on a {kind} stream"),
        });
    }
    event.validate().map_err(|reason| DataError {
        kind: DataErrorKind::UnexpectedShape,
        detail: format!("a {kind} payload with {reason}"),
    })?;
    Ok(event)
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
                .map(|kind| format!("{}@{}", symbol.lowercase(), kind.wire_name()))
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
        let wrapper: Wrapper<'a> = serde_json::from_str(payload)
            .map_err(|error| error::classify(payload, None, &error))?;
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

#[cfg(test)]
mod tests;
