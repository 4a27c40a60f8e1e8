//! [`TrueBook`]: the order book a depth stream's diffs describe, kept by the mock as it
//! generates them, so a REST snapshot is consistent with the stream and tests can compare a
//! listener's book with the truth at any update id. Prices and quantities are in 1e-8
//! units and written with [`Decimal`], byte for byte as the diffs write them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::numbers::Decimal;
use super::{Feed, Side};
use crate::rand::Rng;
use binance_streams::StreamKind;

/// Levels a side of a diff-depth feed's book before its first event.
const SEED_LEVELS: u64 = 40;

impl Feed {
    /// A diff-depth feed starts with a book of [`SEED_LEVELS`] a side around the price, at
    /// the update id before its first event's.
    pub(super) fn with_truth(mut self, first_id: u64) -> Self {
        if !matches!(self.kind, StreamKind::Depth(_) | StreamKind::Book) {
            return self;
        }
        let mut truth = TrueBook {
            update_id: self.book.last(first_id.saturating_sub(1)),
            ..TrueBook::default()
        };
        // Its own generator, so the stream's events are what they were without a book.
        let mut rng = Rng::with_seed(self.book.last(0));
        let bid = self.price.saturating_sub(self.tick).max(self.tick);
        for (price, qty) in self.ladder(Side::Bid, bid, SEED_LEVELS, 0).levels(&mut rng) {
            truth.set_bid(price, qty);
        }
        let ask = bid + self.tick;
        for (price, qty) in self.ladder(Side::Ask, ask, SEED_LEVELS, 0).levels(&mut rng) {
            truth.set_ask(price, qty);
        }
        self.truth = Some(truth);
        self
    }

    /// The book behind a diff-depth feed, after its latest event.
    pub fn true_book(&self) -> Option<&TrueBook> {
        self.truth.as_ref()
    }
}

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

    /// Applies one diff event's levels (bids descending, asks ascending, as generated) and
    /// sets the book's id to `update_id`. A new best bid first takes out every ask at or
    /// below it (and a new best ask every bid at or above it), as a matching engine would,
    /// adding those deletions to the event: the book is never crossed.
    pub(super) fn settle(
        &mut self,
        bids: &mut Vec<(u64, u64)>,
        asks: &mut Vec<(u64, u64)>,
        update_id: u64,
    ) {
        if let Some(&(top_bid, _)) = bids.iter().find(|(_, qty)| *qty > 0) {
            asks.extend(self.asks_up_to(top_bid).into_iter().map(|p| (p, 0)));
        }
        if let Some(&(top_ask, _)) = asks.iter().find(|(_, qty)| *qty > 0) {
            bids.extend(self.bids_from(top_ask).into_iter().map(|p| (p, 0)));
        }
        // Sorted as Binance sends them: bids descending, asks ascending.
        bids.sort_unstable_by_key(|level| std::cmp::Reverse(level.0));
        asks.sort_unstable_by_key(|level| level.0);
        for &(price, qty) in bids.iter() {
            self.set_bid(price, qty);
        }
        for &(price, qty) in asks.iter() {
            self.set_ask(price, qty);
        }
        self.update_id = update_id;
    }

    /// The asks at or below `price`: a new bid there would cross them.
    fn asks_up_to(&self, price: u64) -> Vec<u64> {
        self.asks.range(..=price).map(|(p, _)| *p).collect()
    }

    /// The bids at or above `price`.
    fn bids_from(&self, price: u64) -> Vec<u64> {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use binance_streams::UpdateSpeed;

    use super::super::Feed;
    use super::*;

    type Side = BTreeMap<String, String>;

    /// Applies `levels` (a JSON array of `[price, qty]`) to `side` as a client would.
    fn apply(side: &mut Side, levels: &serde_json::Value) {
        for level in levels.as_array().unwrap() {
            let (price, qty) = (level[0].as_str().unwrap(), level[1].as_str().unwrap());
            if qty.bytes().all(|b| b == b'0' || b == b'.') {
                side.remove(price);
            } else {
                side.insert(price.to_owned(), qty.to_owned());
            }
        }
    }

    #[test]
    fn the_stream_rebuilds_the_true_book_which_never_crosses() {
        for futures in [false, true] {
            let mut feed =
                Feed::new("ethusdt", StreamKind::Depth(UpdateSpeed::Fast), 1).futures(futures);
            let snapshot: serde_json::Value =
                serde_json::from_str(&feed.true_book().unwrap().snapshot_json(5000, None)).unwrap();
            let (mut bids, mut asks) = (Side::new(), Side::new());
            apply(&mut bids, &snapshot["bids"]);
            apply(&mut asks, &snapshot["asks"]);
            let mut out = String::new();
            for step in 0..3_000u64 {
                feed.next_payload(&mut out, 1_732_500_000_000 + step);
                let event: serde_json::Value = serde_json::from_str(&out).unwrap();
                apply(&mut bids, &event["b"]);
                apply(&mut asks, &event["a"]);
                let truth = feed.true_book().unwrap();
                assert!(!truth.crossed(), "crossed after {out}");
                assert_eq!(truth.update_id, event["u"].as_u64().unwrap());
                let top = truth.top(usize::MAX);
                // Same strings, same levels (the maps order strings, so compare as sets).
                assert_eq!(top.bids.len(), bids.len(), "{out}");
                assert_eq!(top.asks.len(), asks.len(), "{out}");
                for (price, qty) in top.bids.iter().chain(&top.asks) {
                    let known = bids.get(price).or_else(|| asks.get(price));
                    assert_eq!(known, Some(qty), "{price} after {out}");
                }
            }
        }
    }
}
