//! [`TrueBook`]: the order book a depth stream's diffs describe, kept by the mock as it
//! generates them, so a REST snapshot is consistent with the stream and tests can compare a
//! listener's book with the truth at any update id. Prices and quantities are in 1e-8
//! units and written with [`Decimal`], byte for byte as the diffs write them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::numbers::Decimal;

/// The top levels of a book, as strings: what a test compares a listener's lines with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BookTop {
    /// The book's update id.
    pub update_id: u64,
    /// Bids, best first: `(price, qty)`.
    pub bids: Vec<(String, String)>,
    /// Asks, best first.
    pub asks: Vec<(String, String)>,
}

/// A whole book: price → quantity per side.
#[derive(Debug, Clone, Default)]
pub struct TrueBook {
    bids: BTreeMap<u64, u64>,
    asks: BTreeMap<u64, u64>,
    /// The update id of the last change.
    pub update_id: u64,
}

impl TrueBook {
    /// Sets a bid level (qty 0 deletes).
    pub(super) fn set_bid(&mut self, price: u64, qty: u64) {
        set(&mut self.bids, price, qty);
    }

    /// Sets an ask level (qty 0 deletes).
    pub(super) fn set_ask(&mut self, price: u64, qty: u64) {
        set(&mut self.asks, price, qty);
    }

    /// The asks at or below `price`: a new bid there would cross them.
    pub(super) fn asks_up_to(&self, price: u64) -> Vec<u64> {
        self.asks.range(..=price).map(|(p, _)| *p).collect()
    }

    /// The bids at or above `price`.
    pub(super) fn bids_from(&self, price: u64) -> Vec<u64> {
        self.bids.range(price..).map(|(p, _)| *p).collect()
    }

    /// The top `depth` levels a side.
    pub fn top(&self, depth: usize) -> BookTop {
        let pair =
            |(price, qty): (&u64, &u64)| (Decimal(*price).to_string(), Decimal(*qty).to_string());
        BookTop {
            update_id: self.update_id,
            bids: self.bids.iter().rev().take(depth).map(pair).collect(),
            asks: self.asks.iter().take(depth).map(pair).collect(),
        }
    }

    /// Binance's REST snapshot of the top `limit` levels a side:
    /// `{"lastUpdateId":..,"bids":[[p,q]..],"asks":[..]}`; futures add `E` and `T` after
    /// the id, as `/fapi/v1/depth` does.
    pub fn snapshot_json(&self, limit: usize, futures_time: Option<u64>) -> String {
        let mut out = format!("{{\"lastUpdateId\":{}", self.update_id);
        if let Some(time) = futures_time {
            let _ = write!(out, ",\"E\":{time},\"T\":{time}");
        }
        out.push_str(",\"bids\":[");
        write_side(&mut out, self.bids.iter().rev().take(limit));
        out.push_str("],\"asks\":[");
        write_side(&mut out, self.asks.iter().take(limit));
        out.push_str("]}");
        out
    }

    /// Whether the best bid reaches the best ask (never, for a correct mock).
    pub fn crossed(&self) -> bool {
        match (self.bids.keys().next_back(), self.asks.keys().next()) {
            (Some(bid), Some(ask)) => bid >= ask,
            _ => false,
        }
    }
}

fn set(side: &mut BTreeMap<u64, u64>, price: u64, qty: u64) {
    if qty == 0 {
        side.remove(&price);
    } else {
        side.insert(price, qty);
    }
}

fn write_side<'a>(out: &mut String, levels: impl Iterator<Item = (&'a u64, &'a u64)>) {
    for (index, (price, qty)) in levels.enumerate() {
        if index > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"["{}","{}"]"#, Decimal(*price), Decimal(*qty));
    }
}
