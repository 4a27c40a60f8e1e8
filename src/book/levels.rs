//! [`OrderBook`]: one symbol's local book, two sorted maps keyed by exact price
//! ([`PriceKey`]), each level keeping the price and quantity strings exactly as Binance sent
//! them, so output lines repeat Binance's bytes.
//!
//! A snapshot holds only the top `limit` levels of a side. Below its worst level the book
//! does not know what rests there until a level changes, so [`OrderBook::top`] never reports
//! past that bound: a side whose snapshot was cut keeps a `known` limit, and only levels on
//! the inner side of it are output (cryptofeed #604: books that drift beyond the snapshot).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use super::price::{PriceKey, is_zero};

/// One price level as Binance wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Level {
    /// The price string, byte for byte.
    pub(crate) price: Box<str>,
    /// The quantity string, byte for byte.
    pub(crate) qty: Box<str>,
}

/// Why a batch of levels could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadLevel(pub(crate) String);

/// One side's levels, best first once iterated: bids keyed by `Reverse` so both sides
/// iterate from the top of the book outwards.
#[derive(Debug)]
struct Side<K: Ord> {
    levels: BTreeMap<K, Level>,
    /// The worst level the snapshot reached, when the snapshot was cut at its limit;
    /// `None` when the snapshot held the whole side.
    known: Option<K>,
}

impl<K: Ord> Default for Side<K> {
    fn default() -> Self {
        Self {
            levels: BTreeMap::new(),
            known: None,
        }
    }
}

impl<K: Ord + Copy> Side<K> {
    fn set(&mut self, key: K, price: &str, qty: &str) {
        if is_zero(qty) {
            // Deleting a level the book never had is normal (PROTOCOL.md §9).
            self.levels.remove(&key);
        } else {
            let level = Level {
                price: price.into(),
                qty: qty.into(),
            };
            self.levels.insert(key, level);
        }
    }

    /// The best `depth` levels the book truly knows.
    fn top(&self, depth: usize) -> impl Iterator<Item = &Level> {
        self.levels
            .iter()
            .take_while(|(key, _)| self.known.is_none_or(|known| **key <= known))
            .take(depth)
            .map(|(_, level)| level)
    }

    fn best(&self) -> Option<(&K, &Level)> {
        self.levels.iter().next()
    }
}

/// A local order book.
#[derive(Debug, Default)]
pub(crate) struct OrderBook {
    bids: Side<Reverse<PriceKey>>,
    asks: Side<PriceKey>,
    /// The id of the last update applied (or the snapshot's `lastUpdateId`).
    pub(crate) update_id: u64,
    /// The exchange's event time of the last update applied (0 after a bare snapshot).
    pub(crate) event_time: u64,
}

/// A level as parsed from JSON: `["price","qty"]`.
pub(crate) type RawLevel<'a> = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>);

impl OrderBook {
    /// A book loaded from a snapshot of up to `limit` levels a side, at `update_id`.
    ///
    /// # Errors
    /// A level whose price is not a decimal.
    pub(crate) fn from_snapshot(
        update_id: u64,
        bids: &[RawLevel<'_>],
        asks: &[RawLevel<'_>],
        limit: usize,
    ) -> Result<Self, BadLevel> {
        let mut book = Self {
            update_id,
            ..Self::default()
        };
        book.apply_bids(bids)?;
        book.apply_asks(asks)?;
        if bids.len() >= limit {
            book.bids.known = book.bids.levels.keys().next_back().copied();
        }
        if asks.len() >= limit {
            book.asks.known = book.asks.levels.keys().next_back().copied();
        }
        Ok(book)
    }

    /// Sets each bid level to its quantity (absolute, not a change); `"0"` deletes.
    ///
    /// # Errors
    /// A level whose price is not a decimal; the levels before it are applied.
    pub(crate) fn apply_bids(&mut self, levels: &[RawLevel<'_>]) -> Result<(), BadLevel> {
        for (price, qty) in levels {
            let key = PriceKey::parse(price).ok_or_else(|| bad(price))?;
            self.bids.set(Reverse(key), price, qty);
        }
        Ok(())
    }

    /// As [`OrderBook::apply_bids`], for asks.
    ///
    /// # Errors
    /// A level whose price is not a decimal; the levels before it are applied.
    pub(crate) fn apply_asks(&mut self, levels: &[RawLevel<'_>]) -> Result<(), BadLevel> {
        for (price, qty) in levels {
            let key = PriceKey::parse(price).ok_or_else(|| bad(price))?;
            self.asks.set(key, price, qty);
        }
        Ok(())
    }

    /// The best bid and ask prices when the book is crossed (bid at or above ask), which
    /// a correct book never is.
    pub(crate) fn crossed(&self) -> Option<(&str, &str)> {
        let (Some((Reverse(bid), bid_level)), Some((ask, ask_level))) =
            (self.bids.best(), self.asks.best())
        else {
            return None;
        };
        (bid >= ask).then_some((&bid_level.price, &ask_level.price))
    }

    /// The best `depth` bids the book truly knows, best first.
    pub(crate) fn top_bids(&self, depth: usize) -> impl Iterator<Item = &Level> {
        self.bids.top(depth)
    }

    /// The best `depth` asks the book truly knows, best first.
    pub(crate) fn top_asks(&self, depth: usize) -> impl Iterator<Item = &Level> {
        self.asks.top(depth)
    }
}

fn bad(price: &str) -> BadLevel {
    BadLevel(format!("price '{price}' is not a decimal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(pairs: &[(&'static str, &'static str)]) -> Vec<RawLevel<'static>> {
        pairs
            .iter()
            .map(|(price, qty)| ((*price).into(), (*qty).into()))
            .collect()
    }

    fn prices<'a>(levels: impl Iterator<Item = &'a Level>) -> Vec<&'a str> {
        levels.map(|level| &*level.price).collect()
    }

    #[test]
    fn levels_sort_from_the_top_and_quantities_are_absolute() {
        let bids = levels(&[("10.0", "1"), ("9.5", "2")]);
        let asks = levels(&[("10.5", "1"), ("11", "3")]);
        let mut book = OrderBook::from_snapshot(7, &bids, &asks, 100).unwrap();
        book.apply_bids(&levels(&[("9.90", "5"), ("10.00", "0")]))
            .unwrap();
        book.apply_asks(&levels(&[("11.0", "4"), ("12", "0")]))
            .unwrap();
        assert_eq!(prices(book.top_bids(5)), ["9.90", "9.5"]);
        assert_eq!(prices(book.top_asks(5)), ["10.5", "11.0"]);
        assert_eq!(book.top_asks(5).nth(1).map(|l| &*l.qty), Some("4"));
        assert_eq!(book.crossed(), None);
        book.apply_bids(&levels(&[("10.5", "1")])).unwrap();
        assert_eq!(book.crossed(), Some(("10.5", "10.5")));
        assert!(book.apply_asks(&levels(&[("1e3", "1")])).is_err());
    }

    #[test]
    fn levels_beyond_a_cut_snapshot_are_never_reported() {
        // The snapshot held 2 levels a side, its limit: below 9 the bids are unknown.
        let bids = levels(&[("10", "1"), ("9", "1")]);
        let asks = levels(&[("11", "1")]);
        let mut book = OrderBook::from_snapshot(1, &bids, &asks, 2).unwrap();
        book.apply_bids(&levels(&[("8", "1"), ("10", "0")]))
            .unwrap();
        assert_eq!(prices(book.top_bids(20)), ["9"], "8 lies past the snapshot");
        // The ask side was whole (1 level < limit 2): anything added is known.
        book.apply_asks(&levels(&[("15", "1")])).unwrap();
        assert_eq!(prices(book.top_asks(20)), ["11", "15"]);
        // Levels that change inside the known range are reported.
        book.apply_bids(&levels(&[("9.5", "2")])).unwrap();
        assert_eq!(prices(book.top_bids(20)), ["9.5", "9"]);
    }
}
