//! The book feeds: best bid and ask (`@bookTicker`), diff depth (`@depth`) and the top of the
//! book (`@depth5|10|20`). Depth levels are the frame's own JSON arrays (`&RawValue`), passed
//! through untouched. Spot and futures shapes of a kind share one struct; the fields only one
//! of them sends are `Option`s, left out of the output when absent.

use std::borrow::Cow;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use super::{Payload, SequencePoint};

/// Best bid and ask (`<s>@bookTicker`). Spot sends no event type or time; futures add both
/// and a transaction time.
#[derive(Debug, Deserialize, Serialize)]
pub struct BookTicker<'a> {
    /// Event type: absent on spot, `bookTicker` on futures.
    #[serde(rename(deserialize = "e"), borrow, default, skip_serializing)]
    pub event_type: Option<Cow<'a, str>>,
    /// Order book update id (increasing, not by one).
    #[serde(rename(deserialize = "u"))]
    pub update_id: u64,
    /// Best bid price.
    #[serde(rename(deserialize = "b"), borrow)]
    pub bid_price: Cow<'a, str>,
    /// Best bid quantity.
    #[serde(rename(deserialize = "B"), borrow)]
    pub bid_qty: Cow<'a, str>,
    /// Best ask price.
    #[serde(rename(deserialize = "a"), borrow)]
    pub ask_price: Cow<'a, str>,
    /// Best ask quantity.
    #[serde(rename(deserialize = "A"), borrow)]
    pub ask_qty: Cow<'a, str>,
    /// Futures: event time.
    #[serde(
        rename(deserialize = "E"),
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub event_time: Option<u64>,
    /// Futures: transaction time.
    #[serde(
        rename(deserialize = "T"),
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_time: Option<u64>,
}

impl Payload for BookTicker<'_> {
    fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    fn event_time(&self) -> Option<u64> {
        self.event_time
    }

    fn sequence(&self) -> Option<SequencePoint> {
        Some(SequencePoint::increasing(self.update_id))
    }
}

/// A diff-depth update (`<s>@depth[@100ms]`). Futures add `T`, `pu` (the previous event's
/// `u`) and, on COIN-M, `ps` (the pair).
#[derive(Debug, Deserialize, Serialize)]
pub struct DepthUpdate<'a> {
    /// Event type; must be `depthUpdate`.
    #[serde(rename(deserialize = "e"), borrow, skip_serializing)]
    pub event_type: Cow<'a, str>,
    /// Event time.
    #[serde(rename(deserialize = "E"))]
    pub event_time: u64,
    /// Futures: transaction time.
    #[serde(
        rename(deserialize = "T"),
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_time: Option<u64>,
    /// COIN-M: the pair.
    #[serde(
        rename(deserialize = "ps"),
        borrow,
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pair: Option<Cow<'a, str>>,
    /// First update id in the event.
    #[serde(rename(deserialize = "U"))]
    pub first_update_id: u64,
    /// Final update id in the event.
    #[serde(rename(deserialize = "u"))]
    pub final_update_id: u64,
    /// Futures: the previous event's final update id; `-1` when the exchange knows none
    /// (COIN-M sends it on the first event after connecting), written as sent.
    #[serde(
        rename(deserialize = "pu"),
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub prev_final_update_id: Option<i64>,
    /// Bid levels `[[price, qty], ..]`; qty `"0"` deletes the level.
    #[serde(rename(deserialize = "b"), borrow)]
    pub bids: &'a RawValue,
    /// Ask levels.
    #[serde(rename(deserialize = "a"), borrow)]
    pub asks: &'a RawValue,
}

impl Payload for DepthUpdate<'_> {
    fn event_type(&self) -> Option<&str> {
        Some(&self.event_type)
    }

    fn event_time(&self) -> Option<u64> {
        Some(self.event_time)
    }

    /// Spot updates cover `U..=u` and the next starts at `u + 1`; futures updates name
    /// their predecessor (`pu`). A futures update with a negative `pu` (`-1`: no
    /// predecessor known) starts a chain: it only has to be newer than the last one written,
    /// and the next update links to it.
    fn sequence(&self) -> Option<SequencePoint> {
        Some(match self.prev_final_update_id {
            Some(prev) => SequencePoint {
                id: self.final_update_id,
                first: None,
                prev: u64::try_from(prev).ok(),
            },
            None => SequencePoint {
                id: self.final_update_id,
                first: Some(self.first_update_id),
                prev: None,
            },
        })
    }

    fn validate(&self) -> Result<(), &'static str> {
        levels_are_arrays(Some(self.bids), Some(self.asks))
    }
}

/// The top levels of the book (`<s>@depth5|10|20`). Spot sends
/// `{lastUpdateId, bids, asks}`; futures send the diff-depth shape with N levels. Written
/// as one shape: `last_update_id`, the futures fields where present, `bids`, `asks`.
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
    /// Futures: previous final update id (`-1` when the exchange knows none).
    #[serde(rename = "pu", default)]
    pub prev_final_update_id: Option<i64>,
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

impl Serialize for PartialDepth<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("PartialDepth", 7)?;
        out.serialize_field("last_update_id", &self.update_id())?;
        let optional = [
            ("event_time", self.event_time),
            ("transaction_time", self.transaction_time),
            ("first_update_id", self.first_update_id),
        ];
        for (name, value) in optional {
            match value {
                Some(value) => out.serialize_field(name, &value)?,
                None => out.skip_field(name)?,
            }
        }
        match self.prev_final_update_id {
            Some(prev) => out.serialize_field("prev_final_update_id", &prev)?,
            None => out.skip_field("prev_final_update_id")?,
        }
        out.serialize_field("bids", &self.bids())?;
        out.serialize_field("asks", &self.asks())?;
        out.end()
    }
}

impl Payload for PartialDepth<'_> {
    fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    fn event_time(&self) -> Option<u64> {
        self.event_time
    }

    fn sequence(&self) -> Option<SequencePoint> {
        self.update_id().map(SequencePoint::increasing)
    }

    fn validate(&self) -> Result<(), &'static str> {
        if self.update_id().is_none() {
            return Err("a book without an update id");
        }
        levels_are_arrays(self.bids(), self.asks())
    }
}

/// Both sides of a book payload must be JSON arrays (serde took any JSON value).
fn levels_are_arrays(bids: Option<&RawValue>, asks: Option<&RawValue>) -> Result<(), &'static str> {
    let is_array = |levels: Option<&RawValue>| levels.is_some_and(|raw| raw.get().starts_with('['));
    if is_array(bids) && is_array(asks) {
        Ok(())
    } else {
        Err("bid and ask levels that are not arrays")
    }
}
