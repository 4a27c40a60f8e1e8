//! The summary feeds, each a snapshot sent on a cadence: candles (`@kline_<i>`), rolling
//! statistics (`@miniTicker`, `@ticker`, `@ticker_<w>`), the average price (`@avgPrice`) and
//! mark price and funding (`@markPrice`). They carry no id of their own: their sequence is
//! their event time, which is enough to drop the copies two overlapping connections deliver.

use std::borrow::Cow;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use super::{Payload, SequencePoint};

/// A candle update (`<s>@kline_<interval>`). Written flat: the event time, then the
/// candle's fields.
#[derive(Debug, Deserialize)]
pub struct Kline<'a> {
    /// Event type; must be `kline`.
    #[serde(rename = "e", borrow)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// The candle.
    #[serde(rename = "k", borrow)]
    pub candle: Candle<'a>,
}

payload_with_event_time!(Kline);

/// The candle inside a [`Kline`].
#[derive(Debug, Deserialize)]
pub struct Candle<'a> {
    /// Interval, e.g. `1m`.
    #[serde(rename = "i", borrow)]
    pub interval: Cow<'a, str>,
    /// Open time.
    #[serde(rename = "t")]
    pub open_time: u64,
    /// Close time.
    #[serde(rename = "T")]
    pub close_time: u64,
    /// First trade id in the candle (-1 when it has none).
    #[serde(rename = "f")]
    pub first_trade_id: i64,
    /// Last trade id in the candle (-1 when it has none).
    #[serde(rename = "L")]
    pub last_trade_id: i64,
    /// Open price.
    #[serde(rename = "o", borrow)]
    pub open: Cow<'a, str>,
    /// High price.
    #[serde(rename = "h", borrow)]
    pub high: Cow<'a, str>,
    /// Low price.
    #[serde(rename = "l", borrow)]
    pub low: Cow<'a, str>,
    /// Close (latest) price.
    #[serde(rename = "c", borrow)]
    pub close: Cow<'a, str>,
    /// Base asset volume.
    #[serde(rename = "v", borrow)]
    pub volume: Cow<'a, str>,
    /// Quote asset volume.
    #[serde(rename = "q", borrow)]
    pub quote_volume: Cow<'a, str>,
    /// Number of trades.
    #[serde(rename = "n")]
    pub trades: u64,
    /// Taker buy base asset volume.
    #[serde(rename = "V", borrow)]
    pub taker_buy_volume: Cow<'a, str>,
    /// Taker buy quote asset volume.
    #[serde(rename = "Q", borrow)]
    pub taker_buy_quote_volume: Cow<'a, str>,
    /// Whether the candle is closed.
    #[serde(rename = "x")]
    pub closed: bool,
}

impl Serialize for Kline<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let k = &self.candle;
        let mut out = serializer.serialize_struct("Kline", 16)?;
        out.serialize_field("event_time", &self.event_time)?;
        out.serialize_field("interval", &k.interval)?;
        out.serialize_field("open_time", &k.open_time)?;
        out.serialize_field("close_time", &k.close_time)?;
        out.serialize_field("first_trade_id", &k.first_trade_id)?;
        out.serialize_field("last_trade_id", &k.last_trade_id)?;
        out.serialize_field("open", &k.open)?;
        out.serialize_field("high", &k.high)?;
        out.serialize_field("low", &k.low)?;
        out.serialize_field("close", &k.close)?;
        out.serialize_field("volume", &k.volume)?;
        out.serialize_field("quote_volume", &k.quote_volume)?;
        out.serialize_field("trades", &k.trades)?;
        out.serialize_field("taker_buy_volume", &k.taker_buy_volume)?;
        out.serialize_field("taker_buy_quote_volume", &k.taker_buy_quote_volume)?;
        out.serialize_field("closed", &k.closed)?;
        out.end()
    }
}

/// 24 h rolling statistics, short form (`<s>@miniTicker`).
#[derive(Debug, Deserialize, Serialize)]
pub struct MiniTicker<'a> {
    /// Event type; must be `24hrMiniTicker`.
    #[serde(rename(deserialize = "e"), borrow, skip_serializing)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename(deserialize = "E"))]
    pub event_time: u64,
    /// Open price.
    #[serde(rename(deserialize = "o"), borrow)]
    pub open: Cow<'a, str>,
    /// High price.
    #[serde(rename(deserialize = "h"), borrow)]
    pub high: Cow<'a, str>,
    /// Low price.
    #[serde(rename(deserialize = "l"), borrow)]
    pub low: Cow<'a, str>,
    /// Close (last) price.
    #[serde(rename(deserialize = "c"), borrow)]
    pub close: Cow<'a, str>,
    /// Base asset volume.
    #[serde(rename(deserialize = "v"), borrow)]
    pub volume: Cow<'a, str>,
    /// Quote asset volume.
    #[serde(rename(deserialize = "q"), borrow)]
    pub quote_volume: Cow<'a, str>,
}

payload_with_event_time!(MiniTicker);

/// Rolling statistics: the 24 h ticker (`<s>@ticker`) and the window tickers
/// (`<s>@ticker_1h|4h|1d`), which send a subset (no last quantity, best bid/ask or `x`).
#[derive(Debug, Deserialize, Serialize)]
pub struct Ticker<'a> {
    /// Event type: `24hrTicker`, `1hTicker`, `4hTicker` or `1dTicker`.
    #[serde(rename(deserialize = "e"), borrow, skip_serializing)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename(deserialize = "E"))]
    pub event_time: u64,
    /// Price change.
    #[serde(rename(deserialize = "p"), borrow)]
    pub price_change: Cow<'a, str>,
    /// Price change percent.
    #[serde(rename(deserialize = "P"), borrow)]
    pub price_change_percent: Cow<'a, str>,
    /// Weighted average price.
    #[serde(rename(deserialize = "w"), borrow)]
    pub weighted_avg_price: Cow<'a, str>,
    /// 24 h ticker: price of the trade before the window.
    #[serde(
        rename(deserialize = "x"),
        borrow,
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub first_trade_price: Option<Cow<'a, str>>,
    /// Last price.
    #[serde(rename(deserialize = "c"), borrow)]
    pub last_price: Cow<'a, str>,
    /// 24 h ticker: last quantity.
    #[serde(
        rename(deserialize = "Q"),
        borrow,
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_qty: Option<Cow<'a, str>>,
    /// 24 h ticker: best bid price.
    #[serde(
        rename(deserialize = "b"),
        borrow,
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub best_bid_price: Option<Cow<'a, str>>,
    /// 24 h ticker: best bid quantity.
    #[serde(
        rename(deserialize = "B"),
        borrow,
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub best_bid_qty: Option<Cow<'a, str>>,
    /// 24 h ticker: best ask price.
    #[serde(
        rename(deserialize = "a"),
        borrow,
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub best_ask_price: Option<Cow<'a, str>>,
    /// 24 h ticker: best ask quantity.
    #[serde(
        rename(deserialize = "A"),
        borrow,
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub best_ask_qty: Option<Cow<'a, str>>,
    /// Open price.
    #[serde(rename(deserialize = "o"), borrow)]
    pub open: Cow<'a, str>,
    /// High price.
    #[serde(rename(deserialize = "h"), borrow)]
    pub high: Cow<'a, str>,
    /// Low price.
    #[serde(rename(deserialize = "l"), borrow)]
    pub low: Cow<'a, str>,
    /// Base asset volume.
    #[serde(rename(deserialize = "v"), borrow)]
    pub volume: Cow<'a, str>,
    /// Quote asset volume.
    #[serde(rename(deserialize = "q"), borrow)]
    pub quote_volume: Cow<'a, str>,
    /// Statistics open time.
    #[serde(rename(deserialize = "O"))]
    pub open_time: u64,
    /// Statistics close time.
    #[serde(rename(deserialize = "C"))]
    pub close_time: u64,
    /// First trade id.
    #[serde(rename(deserialize = "F"))]
    pub first_trade_id: i64,
    /// Last trade id.
    #[serde(rename(deserialize = "L"))]
    pub last_trade_id: i64,
    /// Number of trades.
    #[serde(rename(deserialize = "n"))]
    pub trades: u64,
}

payload_with_event_time!(Ticker);

/// The exchange's average price (`<s>@avgPrice`).
#[derive(Debug, Deserialize, Serialize)]
pub struct AvgPrice<'a> {
    /// Event type; must be `avgPrice`.
    #[serde(rename(deserialize = "e"), borrow, skip_serializing)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename(deserialize = "E"))]
    pub event_time: u64,
    /// Averaging interval, e.g. `5m`.
    #[serde(rename(deserialize = "i"), borrow)]
    pub interval: Cow<'a, str>,
    /// Average price.
    #[serde(rename(deserialize = "w"), borrow)]
    pub avg_price: Cow<'a, str>,
    /// Last trade time.
    #[serde(rename(deserialize = "T"))]
    pub last_trade_time: u64,
}

payload_with_event_time!(AvgPrice);

/// Mark price and funding (`<s>@markPrice[@1s]`, futures). COIN-M delivery contracts send
/// an empty funding rate and a zero funding time: both are written as `null`.
#[derive(Debug, Deserialize, Serialize)]
pub struct MarkPrice<'a> {
    /// Event type; must be `markPriceUpdate`.
    #[serde(rename(deserialize = "e"), borrow, skip_serializing)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename(deserialize = "E"))]
    pub event_time: u64,
    /// Mark price.
    #[serde(rename(deserialize = "p"), borrow)]
    pub mark_price: Cow<'a, str>,
    /// Index price.
    #[serde(rename(deserialize = "i"), borrow, default)]
    pub index_price: Option<Cow<'a, str>>,
    /// Estimated settle price.
    #[serde(rename(deserialize = "P"), borrow, default)]
    pub estimated_settle_price: Option<Cow<'a, str>>,
    /// Funding rate (`""` on delivery contracts).
    #[serde(
        rename(deserialize = "r"),
        borrow,
        default,
        serialize_with = "non_empty"
    )]
    pub funding_rate: Option<Cow<'a, str>>,
    /// Next funding time (0 on delivery contracts).
    #[serde(rename(deserialize = "T"), default, serialize_with = "non_zero")]
    pub next_funding_time: Option<u64>,
}

payload_with_event_time!(MarkPrice);

/// A text that delivery contracts send as `""` when it does not apply: `null` then.
fn non_empty<S: Serializer>(text: &Option<Cow<'_, str>>, out: S) -> Result<S::Ok, S::Error> {
    text.as_deref()
        .filter(|text| !text.is_empty())
        .serialize(out)
}

/// A time that delivery contracts send as `0` when it does not apply: `null` then.
fn non_zero<S: Serializer>(time: &Option<u64>, out: S) -> Result<S::Ok, S::Error> {
    time.filter(|time| *time != 0).serialize(out)
}
