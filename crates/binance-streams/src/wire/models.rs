//! Binance payloads, one struct per kind, borrowing from the frame. Decimal prices and
//! quantities are `Cow<str>` (borrowed: only a string with a JSON escape, which no Binance
//! decimal has, would be copied); depth levels are the frame's own JSON arrays
//! (`&RawValue`), passed through untouched. Field letters are renamed explicitly: the same
//! letter means different things in different kinds, and several differ only by case
//! (PROTOCOL.md §6). Spot and futures shapes of a kind share one struct, with the fields
//! only one of them sends as `Option`s.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// A trade (`<s>@trade`).
#[derive(Debug, Deserialize)]
pub struct Trade<'a> {
    /// Event type; must be `trade`.
    #[serde(rename = "e", borrow)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Trade id, increasing by one per symbol.
    #[serde(rename = "t")]
    pub trade_id: u64,
    /// Price.
    #[serde(rename = "p", borrow)]
    pub price: Cow<'a, str>,
    /// Quantity.
    #[serde(rename = "q", borrow)]
    pub qty: Cow<'a, str>,
    /// Trade time.
    #[serde(rename = "T")]
    pub trade_time: u64,
    /// Whether the buyer was the maker (the taker sold).
    #[serde(rename = "m")]
    pub buyer_maker: bool,
    /// Buyer order id: spot before 2024-06-18, and Binance.US.
    #[serde(rename = "b", default)]
    pub buyer_order_id: Option<u64>,
    /// Seller order id: spot before 2024-06-18, and Binance.US.
    #[serde(rename = "a", default)]
    pub seller_order_id: Option<u64>,
}

/// An aggregate trade (`<s>@aggTrade`), spot or futures.
#[derive(Debug, Deserialize)]
pub struct AggTrade<'a> {
    /// Event type; must be `aggTrade`.
    #[serde(rename = "e", borrow)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Aggregate trade id.
    #[serde(rename = "a")]
    pub agg_trade_id: u64,
    /// Price.
    #[serde(rename = "p", borrow)]
    pub price: Cow<'a, str>,
    /// Quantity.
    #[serde(rename = "q", borrow)]
    pub qty: Cow<'a, str>,
    /// Futures: quantity without RPI orders.
    #[serde(rename = "nq", borrow, default)]
    pub normal_qty: Option<Cow<'a, str>>,
    /// First trade id in the aggregate.
    #[serde(rename = "f")]
    pub first_trade_id: u64,
    /// Last trade id in the aggregate.
    #[serde(rename = "l")]
    pub last_trade_id: u64,
    /// Trade time.
    #[serde(rename = "T")]
    pub trade_time: u64,
    /// Whether the buyer was the maker.
    #[serde(rename = "m")]
    pub buyer_maker: bool,
}

/// Best bid and ask (`<s>@bookTicker`). Spot sends no event type or time; futures add both
/// and a transaction time.
#[derive(Debug, Deserialize)]
pub struct BookTicker<'a> {
    /// Event type: absent on spot, `bookTicker` on futures.
    #[serde(rename = "e", borrow, default)]
    pub event_type: Option<Cow<'a, str>>,
    /// Order book update id (increasing, not by one).
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
    /// Futures: event time.
    #[serde(rename = "E", default)]
    pub event_time: Option<u64>,
    /// Futures: transaction time.
    #[serde(rename = "T", default)]
    pub transaction_time: Option<u64>,
}

/// A diff-depth update (`<s>@depth[@100ms]`). Futures add `T`, `pu` (the previous event's
/// `u`) and, on COIN-M, `ps` (the pair).
#[derive(Debug, Deserialize)]
pub struct DepthUpdate<'a> {
    /// Event type; must be `depthUpdate`.
    #[serde(rename = "e", borrow)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Futures: transaction time.
    #[serde(rename = "T", default)]
    pub transaction_time: Option<u64>,
    /// COIN-M: the pair.
    #[serde(rename = "ps", borrow, default)]
    pub pair: Option<Cow<'a, str>>,
    /// First update id in the event.
    #[serde(rename = "U")]
    pub first_update_id: u64,
    /// Final update id in the event.
    #[serde(rename = "u")]
    pub final_update_id: u64,
    /// Futures: the previous event's final update id.
    #[serde(rename = "pu", default)]
    pub prev_final_update_id: Option<u64>,
    /// Bid levels `[[price, qty], ..]`; qty `"0"` deletes the level.
    #[serde(rename = "b", borrow)]
    pub bids: &'a RawValue,
    /// Ask levels.
    #[serde(rename = "a", borrow)]
    pub asks: &'a RawValue,
}

/// The top levels of the book (`<s>@depth5|10|20`). Spot sends
/// `{lastUpdateId, bids, asks}`; futures send the diff-depth shape with N levels.
#[derive(Debug, Deserialize)]
pub struct PartialDepth<'a> {
    /// Spot: the book's update id.
    #[serde(rename = "lastUpdateId", default)]
    pub last_update_id: Option<u64>,
    /// Spot: bid levels.
    #[serde(rename = "bids", borrow, default)]
    pub spot_bids: Option<&'a RawValue>,
    /// Spot: ask levels.
    #[serde(rename = "asks", borrow, default)]
    pub spot_asks: Option<&'a RawValue>,
    /// Futures: event type, `depthUpdate`.
    #[serde(rename = "e", borrow, default)]
    pub event_type: Option<Cow<'a, str>>,
    /// Futures: event time.
    #[serde(rename = "E", default)]
    pub event_time: Option<u64>,
    /// Futures: transaction time.
    #[serde(rename = "T", default)]
    pub transaction_time: Option<u64>,
    /// Futures: first update id.
    #[serde(rename = "U", default)]
    pub first_update_id: Option<u64>,
    /// Futures: final update id.
    #[serde(rename = "u", default)]
    pub final_update_id: Option<u64>,
    /// Futures: previous final update id.
    #[serde(rename = "pu", default)]
    pub prev_final_update_id: Option<u64>,
    /// Futures: bid levels.
    #[serde(rename = "b", borrow, default)]
    pub futures_bids: Option<&'a RawValue>,
    /// Futures: ask levels.
    #[serde(rename = "a", borrow, default)]
    pub futures_asks: Option<&'a RawValue>,
}

impl<'a> PartialDepth<'a> {
    /// The book's id: spot `lastUpdateId`, futures `u`.
    pub fn update_id(&self) -> Option<u64> {
        self.last_update_id.or(self.final_update_id)
    }

    /// Bid levels, whichever shape sent them.
    pub fn bids(&self) -> Option<&'a RawValue> {
        self.spot_bids.or(self.futures_bids)
    }

    /// Ask levels, whichever shape sent them.
    pub fn asks(&self) -> Option<&'a RawValue> {
        self.spot_asks.or(self.futures_asks)
    }
}

/// A candle update (`<s>@kline_<interval>`).
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

/// The candle inside a [`Kline`].
#[derive(Debug, Deserialize)]
pub struct Candle<'a> {
    /// Open time.
    #[serde(rename = "t")]
    pub open_time: u64,
    /// Close time.
    #[serde(rename = "T")]
    pub close_time: u64,
    /// Interval, e.g. `1m`.
    #[serde(rename = "i", borrow)]
    pub interval: Cow<'a, str>,
    /// First trade id in the candle.
    #[serde(rename = "f")]
    pub first_trade_id: i64,
    /// Last trade id in the candle.
    #[serde(rename = "L")]
    pub last_trade_id: i64,
    /// Open price.
    #[serde(rename = "o", borrow)]
    pub open: Cow<'a, str>,
    /// Close (latest) price.
    #[serde(rename = "c", borrow)]
    pub close: Cow<'a, str>,
    /// High price.
    #[serde(rename = "h", borrow)]
    pub high: Cow<'a, str>,
    /// Low price.
    #[serde(rename = "l", borrow)]
    pub low: Cow<'a, str>,
    /// Base asset volume.
    #[serde(rename = "v", borrow)]
    pub volume: Cow<'a, str>,
    /// Number of trades.
    #[serde(rename = "n")]
    pub trades: u64,
    /// Whether the candle is closed.
    #[serde(rename = "x")]
    pub closed: bool,
    /// Quote asset volume.
    #[serde(rename = "q", borrow)]
    pub quote_volume: Cow<'a, str>,
    /// Taker buy base asset volume.
    #[serde(rename = "V", borrow)]
    pub taker_buy_volume: Cow<'a, str>,
    /// Taker buy quote asset volume.
    #[serde(rename = "Q", borrow)]
    pub taker_buy_quote_volume: Cow<'a, str>,
}

/// 24 h rolling statistics, short form (`<s>@miniTicker`).
#[derive(Debug, Deserialize)]
pub struct MiniTicker<'a> {
    /// Event type; must be `24hrMiniTicker`.
    #[serde(rename = "e", borrow)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Close (last) price.
    #[serde(rename = "c", borrow)]
    pub close: Cow<'a, str>,
    /// Open price.
    #[serde(rename = "o", borrow)]
    pub open: Cow<'a, str>,
    /// High price.
    #[serde(rename = "h", borrow)]
    pub high: Cow<'a, str>,
    /// Low price.
    #[serde(rename = "l", borrow)]
    pub low: Cow<'a, str>,
    /// Base asset volume.
    #[serde(rename = "v", borrow)]
    pub volume: Cow<'a, str>,
    /// Quote asset volume.
    #[serde(rename = "q", borrow)]
    pub quote_volume: Cow<'a, str>,
}

/// Rolling statistics: the 24 h ticker (`<s>@ticker`) and the window tickers
/// (`<s>@ticker_1h|4h|1d`), which send a subset (no last quantity, best bid/ask or `x`).
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    /// Event type: `24hrTicker`, `1hTicker`, `4hTicker` or `1dTicker`.
    #[serde(rename = "e", borrow)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Price change.
    #[serde(rename = "p", borrow)]
    pub price_change: Cow<'a, str>,
    /// Price change percent.
    #[serde(rename = "P", borrow)]
    pub price_change_percent: Cow<'a, str>,
    /// Weighted average price.
    #[serde(rename = "w", borrow)]
    pub weighted_avg_price: Cow<'a, str>,
    /// 24 h ticker: price of the trade before the window.
    #[serde(rename = "x", borrow, default)]
    pub first_trade_price: Option<Cow<'a, str>>,
    /// Last price.
    #[serde(rename = "c", borrow)]
    pub last_price: Cow<'a, str>,
    /// 24 h ticker: last quantity.
    #[serde(rename = "Q", borrow, default)]
    pub last_qty: Option<Cow<'a, str>>,
    /// 24 h ticker: best bid price.
    #[serde(rename = "b", borrow, default)]
    pub best_bid_price: Option<Cow<'a, str>>,
    /// 24 h ticker: best bid quantity.
    #[serde(rename = "B", borrow, default)]
    pub best_bid_qty: Option<Cow<'a, str>>,
    /// 24 h ticker: best ask price.
    #[serde(rename = "a", borrow, default)]
    pub best_ask_price: Option<Cow<'a, str>>,
    /// 24 h ticker: best ask quantity.
    #[serde(rename = "A", borrow, default)]
    pub best_ask_qty: Option<Cow<'a, str>>,
    /// Open price.
    #[serde(rename = "o", borrow)]
    pub open: Cow<'a, str>,
    /// High price.
    #[serde(rename = "h", borrow)]
    pub high: Cow<'a, str>,
    /// Low price.
    #[serde(rename = "l", borrow)]
    pub low: Cow<'a, str>,
    /// Base asset volume.
    #[serde(rename = "v", borrow)]
    pub volume: Cow<'a, str>,
    /// Quote asset volume.
    #[serde(rename = "q", borrow)]
    pub quote_volume: Cow<'a, str>,
    /// Statistics open time.
    #[serde(rename = "O")]
    pub open_time: u64,
    /// Statistics close time.
    #[serde(rename = "C")]
    pub close_time: u64,
    /// First trade id.
    #[serde(rename = "F")]
    pub first_trade_id: i64,
    /// Last trade id.
    #[serde(rename = "L")]
    pub last_trade_id: i64,
    /// Number of trades.
    #[serde(rename = "n")]
    pub trades: u64,
}

/// The exchange's average price (`<s>@avgPrice`).
#[derive(Debug, Deserialize)]
pub struct AvgPrice<'a> {
    /// Event type; must be `avgPrice`.
    #[serde(rename = "e", borrow)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Averaging interval, e.g. `5m`.
    #[serde(rename = "i", borrow)]
    pub interval: Cow<'a, str>,
    /// Average price.
    #[serde(rename = "w", borrow)]
    pub avg_price: Cow<'a, str>,
    /// Last trade time.
    #[serde(rename = "T")]
    pub last_trade_time: u64,
}

/// Mark price and funding (`<s>@markPrice[@1s]`, futures). COIN-M delivery contracts send
/// an empty funding rate and a zero funding time.
#[derive(Debug, Deserialize)]
pub struct MarkPrice<'a> {
    /// Event type; must be `markPriceUpdate`.
    #[serde(rename = "e", borrow)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Mark price.
    #[serde(rename = "p", borrow)]
    pub mark_price: Cow<'a, str>,
    /// Index price.
    #[serde(rename = "i", borrow, default)]
    pub index_price: Option<Cow<'a, str>>,
    /// Estimated settle price.
    #[serde(rename = "P", borrow, default)]
    pub estimated_settle_price: Option<Cow<'a, str>>,
    /// Funding rate (`""` on delivery contracts).
    #[serde(rename = "r", borrow, default)]
    pub funding_rate: Option<Cow<'a, str>>,
    /// Next funding time (0 on delivery contracts).
    #[serde(rename = "T", default)]
    pub next_funding_time: Option<u64>,
}

/// A liquidation order (`<s>@forceOrder`, futures).
#[derive(Debug, Deserialize)]
pub struct ForceOrder<'a> {
    /// Event type; must be `forceOrder`.
    #[serde(rename = "e", borrow)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// The order.
    #[serde(rename = "o", borrow)]
    pub order: LiquidationOrder<'a>,
}

/// The order inside a [`ForceOrder`].
#[derive(Debug, Deserialize)]
pub struct LiquidationOrder<'a> {
    /// Side: `BUY` or `SELL`.
    #[serde(rename = "S", borrow)]
    pub side: Cow<'a, str>,
    /// Order type, e.g. `LIMIT`.
    #[serde(rename = "o", borrow)]
    pub order_type: Cow<'a, str>,
    /// Time in force, e.g. `IOC`.
    #[serde(rename = "f", borrow)]
    pub time_in_force: Cow<'a, str>,
    /// Original quantity.
    #[serde(rename = "q", borrow)]
    pub qty: Cow<'a, str>,
    /// Price.
    #[serde(rename = "p", borrow)]
    pub price: Cow<'a, str>,
    /// Average price.
    #[serde(rename = "ap", borrow)]
    pub avg_price: Cow<'a, str>,
    /// Order status, e.g. `FILLED`.
    #[serde(rename = "X", borrow)]
    pub status: Cow<'a, str>,
    /// Last filled quantity.
    #[serde(rename = "l", borrow)]
    pub last_filled_qty: Cow<'a, str>,
    /// Accumulated filled quantity.
    #[serde(rename = "z", borrow)]
    pub filled_qty: Cow<'a, str>,
    /// Trade time.
    #[serde(rename = "T")]
    pub trade_time: u64,
}
