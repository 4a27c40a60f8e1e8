//! Binance payloads as typed events, borrowed from the frame: decimal prices and quantities
//! stay the exact strings Binance sent (`Cow` borrows them; it only copies a string that
//! contains a JSON escape, which no Binance decimal does). Parsing dispatches on the kind the
//! stream was opened for, never by guessing from the shape (PROTOCOL.md §6: the same letter
//! means different things in different kinds).
//!
//! Anything that is not the expected event becomes a [`DataError`] with a [`DataErrorKind`],
//! worked out only on that slow path.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::spec::StreamKind;

/// A spot or futures trade (`<s>@trade`).
#[derive(Debug, Deserialize, PartialEq)]
pub struct Trade<'a> {
    /// Event type; must be `trade`.
    #[serde(rename = "e", borrow)]
    pub event_type: Cow<'a, str>,
    /// Event time, ms since the epoch.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Trade id, increasing per symbol.
    #[serde(rename = "t")]
    pub trade_id: u64,
    /// Price, exact decimal string.
    #[serde(rename = "p", borrow)]
    pub price: Cow<'a, str>,
    /// Quantity, exact decimal string.
    #[serde(rename = "q", borrow)]
    pub qty: Cow<'a, str>,
    /// Trade time, ms since the epoch.
    #[serde(rename = "T")]
    pub trade_time: u64,
    /// Whether the buyer was the maker (the taker sold).
    #[serde(rename = "m")]
    pub buyer_maker: bool,
    /// Buyer order id: sent by spot before 2024-06-18 and by Binance.US.
    #[serde(rename = "b", default)]
    pub buyer_order_id: Option<u64>,
    /// Seller order id: sent by spot before 2024-06-18 and by Binance.US.
    #[serde(rename = "a", default)]
    pub seller_order_id: Option<u64>,
}

/// An aggregate trade (`<s>@aggTrade`), spot or futures.
#[derive(Debug, Deserialize, PartialEq)]
pub struct AggTrade<'a> {
    /// Event type; must be `aggTrade`.
    #[serde(rename = "e", borrow)]
    pub event_type: Cow<'a, str>,
    /// Event time, ms since the epoch.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Aggregate trade id.
    #[serde(rename = "a")]
    pub agg_trade_id: u64,
    /// Price, exact decimal string.
    #[serde(rename = "p", borrow)]
    pub price: Cow<'a, str>,
    /// Quantity, exact decimal string.
    #[serde(rename = "q", borrow)]
    pub qty: Cow<'a, str>,
    /// Futures only: quantity without RPI orders.
    #[serde(rename = "nq", borrow, default)]
    pub normal_qty: Option<Cow<'a, str>>,
    /// First trade id in the aggregate.
    #[serde(rename = "f")]
    pub first_trade_id: u64,
    /// Last trade id in the aggregate.
    #[serde(rename = "l")]
    pub last_trade_id: u64,
    /// Trade time, ms since the epoch.
    #[serde(rename = "T")]
    pub trade_time: u64,
    /// Whether the buyer was the maker.
    #[serde(rename = "m")]
    pub buyer_maker: bool,
}

/// Best bid and ask (`<s>@bookTicker`). Spot sends no event type or time; futures add both
/// and a transaction time.
#[derive(Debug, Deserialize, PartialEq)]
pub struct BookTicker<'a> {
    /// Event type: absent on spot, `bookTicker` on futures.
    #[serde(rename = "e", borrow, default)]
    pub event_type: Option<Cow<'a, str>>,
    /// Order book update id (increasing, not by 1).
    #[serde(rename = "u")]
    pub update_id: u64,
    /// Best bid price.
    #[serde(rename = "b", borrow)]
    pub bid_price: Cow<'a, str>,
    /// Best bid quantity.
    #[serde(rename = "B", borrow)]
    pub bid_qty: Cow<'a, str>,
    /// Best ask price.
    #[serde(rename = "a", borrow)]
    pub ask_price: Cow<'a, str>,
    /// Best ask quantity.
    #[serde(rename = "A", borrow)]
    pub ask_qty: Cow<'a, str>,
    /// Futures only: event time.
    #[serde(rename = "E", default)]
    pub event_time: Option<u64>,
    /// Futures only: transaction time.
    #[serde(rename = "T", default)]
    pub transaction_time: Option<u64>,
}

/// One parsed market-data event.
#[derive(Debug, PartialEq)]
pub enum Event<'a> {
    /// From `@trade`.
    Trade(Trade<'a>),
    /// From `@aggTrade`.
    AggTrade(AggTrade<'a>),
    /// From `@bookTicker`.
    BookTicker(BookTicker<'a>),
}

impl Event<'_> {
    /// The id duplicates and gaps are judged by: trade `t`, aggTrade `a`, bookTicker `u`.
    pub fn sequence_id(&self) -> Option<u64> {
        match self {
            Self::Trade(trade) => Some(trade.trade_id),
            Self::AggTrade(agg) => Some(agg.agg_trade_id),
            Self::BookTicker(ticker) => Some(ticker.update_id),
        }
    }
}

/// The sequence id of a payload of `kind`, if it parses. For the reader's rollover, which
/// needs ids only while two connections overlap.
pub fn sequence_id_of(kind: StreamKind, payload: &str) -> Option<u64> {
    parse_event(kind, payload).ok()?.sequence_id()
}

/// Why a frame was not a market-data event of the expected kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataErrorKind {
    /// Not JSON at all.
    InvalidJson,
    /// JSON, but not the shape of the stream's kind (a missing field, a number for a price).
    UnexpectedShape,
    /// A well-formed event of another type (e.g. `serverShutdown`).
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

/// Parses `payload` as an event of `kind`.
///
/// # Errors
/// A [`DataError`] when the payload is not such an event; the caller counts and skips it.
pub fn parse_event(kind: StreamKind, payload: &str) -> Result<Event<'_>, DataError> {
    let parsed = match kind {
        StreamKind::Trade => serde_json::from_str::<Trade>(payload)
            .map(|trade| check_type(&trade.event_type, "trade").map(|()| Event::Trade(trade))),
        StreamKind::AggTrade => serde_json::from_str::<AggTrade>(payload)
            .map(|agg| check_type(&agg.event_type, "aggTrade").map(|()| Event::AggTrade(agg))),
        StreamKind::BookTicker => serde_json::from_str::<BookTicker>(payload).map(|ticker| {
            match ticker.event_type.as_deref() {
                None => Ok(()),
                Some(event_type) => check_type(event_type, "bookTicker"),
            }
            .map(|()| Event::BookTicker(ticker))
        }),
    };
    match parsed {
        Ok(checked) => checked,
        Err(error) => Err(classify(payload, kind.name(), &error)),
    }
}

fn check_type(found: &str, expected: &str) -> Result<(), DataError> {
    if found == expected {
        Ok(())
    } else {
        Err(DataError {
            kind: DataErrorKind::UnexpectedEvent,
            detail: format!("event type '{found}' on a {expected} stream"),
        })
    }
}

/// Works out what a payload that failed to parse is. Slow path only: allocates freely.
fn classify(payload: &str, expected_type: &str, parse_error: &serde_json::Error) -> DataError {
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
        && event_type != expected_type
    {
        return DataError {
            kind: DataErrorKind::UnexpectedEvent,
            detail: format!("event type '{event_type}' on a {expected_type} stream"),
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
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/binance");

    /// A fixture's text; leaked so events borrowing it can outlive the statement.
    fn fixture(name: &str) -> &'static str {
        let text = std::fs::read_to_string(format!("{FIXTURES}/{name}"))
            .unwrap_or_else(|error| panic!("fixture {name}: {error}"));
        Box::leak(text.trim_end().to_owned().into_boxed_str())
    }

    #[test]
    fn spot_trade_fixture_keeps_exact_strings_and_borrows_them() {
        let payload = fixture("trade.json");
        let Ok(Event::Trade(trade)) = parse_event(StreamKind::Trade, payload) else {
            panic!("trade fixture did not parse");
        };
        assert_eq!(trade.trade_id, 12345);
        assert_eq!(trade.price, "0.001");
        assert_eq!(trade.qty, "100");
        assert!(trade.buyer_maker);
        assert_eq!(trade.event_time, 1672515782136);
        assert_eq!(trade.trade_time, 1672515782136);
        assert_eq!(trade.buyer_order_id, None);
        assert!(matches!(trade.price, Cow::Borrowed(_)), "price was copied");
    }

    #[test]
    fn legacy_trade_carries_order_ids() {
        let payload = fixture("trade_legacy_with_order_ids.json");
        let Ok(Event::Trade(trade)) = parse_event(StreamKind::Trade, payload) else {
            panic!("legacy trade fixture did not parse");
        };
        assert_eq!(trade.buyer_order_id, Some(88));
        assert_eq!(trade.seller_order_id, Some(50));
    }

    #[test]
    fn agg_trade_fixtures_parse_on_spot_and_futures() {
        let Ok(Event::AggTrade(spot)) = parse_event(StreamKind::AggTrade, fixture("aggTrade.json"))
        else {
            panic!("spot aggTrade did not parse");
        };
        assert_eq!(
            (spot.agg_trade_id, spot.first_trade_id, spot.last_trade_id),
            (12345, 100, 105)
        );
        assert_eq!(spot.normal_qty, None);
        let Ok(Event::AggTrade(futures)) =
            parse_event(StreamKind::AggTrade, fixture("futures_aggTrade.json"))
        else {
            panic!("futures aggTrade did not parse");
        };
        assert_eq!(futures.normal_qty.as_deref(), Some("100"));
    }

    #[test]
    fn book_ticker_fixtures_parse_with_and_without_event_fields() {
        let Ok(Event::BookTicker(spot)) =
            parse_event(StreamKind::BookTicker, fixture("bookTicker.json"))
        else {
            panic!("spot bookTicker did not parse");
        };
        assert_eq!(spot.update_id, 400900217);
        assert_eq!(spot.bid_price, "25.35190000");
        assert_eq!(spot.ask_qty, "40.66000000");
        assert_eq!(spot.event_time, None);
        let Ok(Event::BookTicker(futures)) =
            parse_event(StreamKind::BookTicker, fixture("futures_bookTicker.json"))
        else {
            panic!("futures bookTicker did not parse");
        };
        assert_eq!(futures.event_time, Some(1568014460893));
        assert_eq!(futures.transaction_time, Some(1568014460891));
    }

    #[test]
    fn combined_wrapper_is_not_a_raw_trade() {
        let error = parse_event(StreamKind::Trade, fixture("combined_trade.json")).unwrap_err();
        assert_eq!(error.kind, DataErrorKind::UnexpectedShape);
    }

    #[test]
    fn non_events_are_classified() {
        let kind_of = |payload: &str| parse_event(StreamKind::Trade, payload).unwrap_err().kind;
        assert_eq!(kind_of("not json"), DataErrorKind::InvalidJson);
        assert_eq!(kind_of("{\"e\":\"trade\""), DataErrorKind::InvalidJson);
        assert_eq!(
            kind_of(fixture("error_response.json")),
            DataErrorKind::ExchangeError
        );
        assert_eq!(
            kind_of(fixture("error_response_wrapped.json")),
            DataErrorKind::ExchangeError
        );
        assert_eq!(
            kind_of(fixture("subscribe_response.json")),
            DataErrorKind::ControlResponse
        );
        assert_eq!(
            kind_of(fixture("serverShutdown.json")),
            DataErrorKind::UnexpectedEvent
        );
        assert_eq!(
            kind_of(fixture("aggTrade.json")),
            DataErrorKind::UnexpectedEvent
        );
        assert_eq!(kind_of("[1,2]"), DataErrorKind::UnexpectedShape);
        // A trade whose price is a number is a trade with a bad field, not another event.
        assert_eq!(
            kind_of(r#"{"e":"trade","E":1,"s":"X","t":1,"p":1.5,"q":"1","T":1,"m":true}"#),
            DataErrorKind::UnexpectedShape
        );
        let wrapped =
            parse_event(StreamKind::Trade, fixture("error_response_wrapped.json")).unwrap_err();
        assert_eq!(wrapped.detail, "code 2: Invalid request: invalid stream");
    }
}
