//! The order book behind the depth streams: update ids derived from the event counter, and
//! price levels written as Binance writes them, `[["price","qty"],...]`, bids descending and
//! asks ascending.

use std::fmt::Write as _;

use super::numbers::Decimal;
use crate::rand::Rng;

/// Book update ids per event, on average: a depth event covers a few updates.
const UPDATE_STRIDE: u64 = 4;

/// Where the book's update ids start: Binance's are large (`400900217`), and a small base
/// would hide an id printed where an event counter belongs.
const UPDATE_BASE: u64 = 1_000_000_000;

/// The update ids of the book behind one depth stream. They are a function of the event
/// counter rather than state, so a stand-in for an old event and every connection of a
/// market-mode stream name the same ids as the original.
#[derive(Debug, Clone, Copy)]
pub(super) struct BookIds {
    seed: u64,
    base: u64,
}

/// A depth event's update ids: `first..=last`, after `previous` (the prior event's `last`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct UpdateRange {
    /// `U`.
    pub(super) first: u64,
    /// `u`.
    pub(super) last: u64,
    /// Futures `pu`: the previous event's `u`.
    pub(super) previous: u64,
}

impl BookIds {
    pub(super) fn new(seed: u64) -> Self {
        Self {
            seed,
            base: UPDATE_BASE + seed % UPDATE_BASE,
        }
    }

    /// The final update id (`u`) of event `id`. It grows by 1 to `2 × UPDATE_STRIDE - 1`
    /// per event: `STRIDE × id` plus a jitter below `STRIDE`.
    pub(super) fn last(self, id: u64) -> u64 {
        let jitter = self.hash(id) % UPDATE_STRIDE;
        self.base
            .saturating_add(id.saturating_mul(UPDATE_STRIDE))
            .saturating_add(jitter)
    }

    /// Spot: event `id` covers every update since the previous event, `U = previous u + 1`.
    pub(super) fn spot(self, id: u64) -> UpdateRange {
        let previous = self.last(id.saturating_sub(1));
        let last = self.last(id);
        UpdateRange {
            first: previous.saturating_add(1).min(last),
            last,
            previous,
        }
    }

    /// Futures: `pu` is the previous event's `u`, but `U` may start later (updates of the
    /// engine that did not touch this book), anywhere up to `u`.
    pub(super) fn futures(self, id: u64) -> UpdateRange {
        let spot = self.spot(id);
        let span = spot.last - spot.first;
        let skipped = self.hash(id.rotate_left(32)) % span.saturating_add(1);
        UpdateRange {
            first: spot.first + skipped,
            ..spot
        }
    }

    fn hash(self, value: u64) -> u64 {
        Rng::with_seed(self.seed ^ value).next_u64()
    }
}

/// Which side of the book a ladder of levels is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// Buyers: prices go down from the best bid.
    Bid,
    /// Sellers: prices go up from the best ask.
    Ask,
}

/// How to draw a ladder of levels.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ladder {
    /// The side, which sets the direction.
    pub(super) side: Side,
    /// The first level's price.
    pub(super) best: u64,
    /// How many levels.
    pub(super) levels: u64,
    /// The price grid.
    pub(super) tick: u64,
    /// The quantity grid.
    pub(super) lot: u64,
    /// One level in this many has quantity 0 (a diff's removed levels); 0 for none.
    pub(super) delete_one_in: u64,
}

impl Ladder {
    /// The levels, a tick or two apart from `best` outwards, so bids come out strictly
    /// descending and asks strictly ascending, as Binance sorts them. A bid ladder that
    /// would reach a zero price stops early. `(price, qty)`, qty 0 for a removed level.
    pub(super) fn levels(self, rng: &mut Rng) -> Vec<(u64, u64)> {
        let mut levels = Vec::with_capacity(self.levels as usize);
        let mut price = self.best;
        for index in 0..self.levels {
            if index > 0 {
                let step = self.tick * (1 + rng.below(2));
                price = match self.side {
                    Side::Bid if price > step => price - step,
                    Side::Bid => break,
                    Side::Ask => price.saturating_add(step),
                };
            }
            let deleted = self.delete_one_in > 0 && rng.below(self.delete_one_in) == 0;
            let qty = if deleted {
                0
            } else {
                self.lot * (1 + rng.below(50) * (1 + rng.below(10)))
            };
            levels.push((price, qty));
        }
        levels
    }

    /// Writes the levels as a JSON array (see [`Ladder::levels`]).
    pub(super) fn write(self, out: &mut String, rng: &mut Rng) {
        write_levels(out, &self.levels(rng));
    }
}

/// Writes levels as Binance does: `[["price","qty"],...]`.
pub(super) fn write_levels(out: &mut String, levels: &[(u64, u64)]) {
    out.push('[');
    for (index, (price, qty)) in levels.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(out, r#"["{}","{}"]"#, Decimal(*price), Decimal(*qty));
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spot_ranges_chain_and_futures_ranges_link_back() {
        let ids = BookIds::new(42);
        for id in 1..2_000 {
            let (before, now) = (ids.spot(id), ids.spot(id + 1));
            assert_eq!(now.first, before.last + 1);
            assert!(now.first <= now.last && now.last - now.first < 2 * UPDATE_STRIDE);
            let futures = ids.futures(id + 1);
            assert_eq!(futures.previous, ids.futures(id).last);
            assert!(futures.previous < futures.first && futures.first <= futures.last);
        }
    }

    #[test]
    fn ladders_are_sorted_away_from_the_top() {
        let mut rng = Rng::with_seed(1);
        for side in [Side::Bid, Side::Ask] {
            let mut out = String::new();
            let ladder = Ladder {
                side,
                best: 1_000_000_000,
                levels: 20,
                tick: 1_000_000,
                lot: 10_000,
                delete_one_in: 4,
            };
            ladder.write(&mut out, &mut rng);
            let levels: Vec<(String, String)> = serde_json::from_str(&out).unwrap();
            assert_eq!(levels.len(), 20);
            let prices: Vec<f64> = levels.iter().map(|(p, _)| p.parse().unwrap()).collect();
            let sorted = prices.windows(2).all(|pair| match side {
                Side::Bid => pair[0] > pair[1],
                Side::Ask => pair[0] < pair[1],
            });
            assert!(sorted, "{out}");
        }
    }
}
