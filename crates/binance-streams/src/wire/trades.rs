//! The trade feeds: every trade (`@trade`), aggregate trades (`@aggTrade`) and liquidations
//! (`@forceOrder`). Field order is the output order; the wire letters are deserialize-only
//! renames (PROTOCOL.md §6: the same letter means different things in different kinds).

use std::borrow::Cow;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use super::{Payload, SequencePoint};

/// A trade (`<s>@trade`).
#[derive(Debug, Deserialize, Serialize)]
pub struct Trade<'a> {
    /// Event type; must be `trade`.
    #[serde(rename(deserialize = "e"), borrow, skip_serializing)]
    pub event_type: Cow<'a, str>,
    /// Trade id, increasing by one per symbol.
    #[serde(rename(deserialize = "t"))]
    pub trade_id: u64,
    /// Price.
    #[serde(rename(deserialize = "p"), borrow)]
    pub price: Cow<'a, str>,
    /// Quantity.
    #[serde(rename(deserialize = "q"), borrow)]
    pub qty: Cow<'a, str>,
    /// Whether the buyer was the maker (the taker sold).
    #[serde(rename(deserialize = "m"))]
    pub buyer_maker: bool,
    /// Trade time.
    #[serde(rename(deserialize = "T"))]
    pub trade_time: u64,
    /// Event time.
    #[serde(rename(deserialize = "E"))]
    pub event_time: u64,
    /// Buyer order id: spot before 2024-06-18, and Binance.US.
    #[serde(
        rename(deserialize = "b"),
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub buyer_order_id: Option<u64>,
    /// Seller order id: spot before 2024-06-18, and Binance.US.
    #[serde(
        rename(deserialize = "a"),
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub seller_order_id: Option<u64>,
}

payload_with_event_time!(Trade, stepping trade_id);

/// An aggregate trade (`<s>@aggTrade`), spot or futures.
#[derive(Debug, Deserialize, Serialize)]
pub struct AggTrade<'a> {
    /// Event type; must be `aggTrade`.
    #[serde(rename(deserialize = "e"), borrow, skip_serializing)]
    pub event_type: Cow<'a, str>,
    /// Aggregate trade id.
    #[serde(rename(deserialize = "a"))]
    pub agg_trade_id: u64,
    /// Price.
    #[serde(rename(deserialize = "p"), borrow)]
    pub price: Cow<'a, str>,
    /// Quantity.
    #[serde(rename(deserialize = "q"), borrow)]
    pub qty: Cow<'a, str>,
    /// Futures: quantity without RPI orders.
    #[serde(
        rename(deserialize = "nq"),
        borrow,
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub normal_qty: Option<Cow<'a, str>>,
    /// First trade id in the aggregate.
    #[serde(rename(deserialize = "f"))]
    pub first_trade_id: u64,
    /// Last trade id in the aggregate.
    #[serde(rename(deserialize = "l"))]
    pub last_trade_id: u64,
    /// Whether the buyer was the maker.
    #[serde(rename(deserialize = "m"))]
    pub buyer_maker: bool,
    /// Trade time.
    #[serde(rename(deserialize = "T"))]
    pub trade_time: u64,
    /// Event time.
    #[serde(rename(deserialize = "E"))]
    pub event_time: u64,
}

payload_with_event_time!(AggTrade, stepping agg_trade_id);

/// A liquidation order (`<s>@forceOrder`, futures). Written flat: the event time, then the
/// order's fields.
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

impl Serialize for ForceOrder<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let o = &self.order;
        let mut out = serializer.serialize_struct("ForceOrder", 11)?;
        out.serialize_field("event_time", &self.event_time)?;
        out.serialize_field("side", &o.side)?;
        out.serialize_field("order_type", &o.order_type)?;
        out.serialize_field("time_in_force", &o.time_in_force)?;
        out.serialize_field("qty", &o.qty)?;
        out.serialize_field("price", &o.price)?;
        out.serialize_field("avg_price", &o.avg_price)?;
        out.serialize_field("status", &o.status)?;
        out.serialize_field("last_filled_qty", &o.last_filled_qty)?;
        out.serialize_field("filled_qty", &o.filled_qty)?;
        out.serialize_field("trade_time", &o.trade_time)?;
        out.end()
    }
}

// A snapshot (at most one liquidation per symbol per second): ordered by event time.
payload_with_event_time!(ForceOrder);
