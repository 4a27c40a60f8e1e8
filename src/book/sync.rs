//! [`BookSync`]: Binance's procedure for keeping a local book (PROTOCOL.md §9), as a state
//! machine with no I/O, so every rule is unit-tested. The processor feeds it diff updates
//! and snapshots; it says what to do with each (buffer, apply, ignore, resync, fetch again).
//!
//! Spot (the rule as corrected on 2025-11-12): buffer updates; take a snapshot; a snapshot
//! older than the first buffered `U` is fetched again (one ending at `U - 1` continues it
//! exactly and is kept); drop buffered updates with
//! `u <= lastUpdateId`; then each update with `u < id` is old, one with `U > id + 1` means
//! updates were lost (resync), any other is applied and `id := u`.
//!
//! USD-M / COIN-M futures: drop updates with `u < lastUpdateId`; the first applied must have
//! `U <= lastUpdateId <= u` (a snapshot older than every buffered update is fetched again);
//! every later update's `pu` must equal the previous `u` (else resync).

use std::collections::VecDeque;

/// Which market's rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Spot, testnet, Binance.US: `U` follows the previous `u`.
    Spot,
    /// USD-M and COIN-M futures: `pu` names the previous `u`.
    Futures,
}

/// A diff update's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UpdateIds {
    /// `U`: the first update id in the event.
    pub(crate) first: u64,
    /// `u`: the final update id.
    pub(crate) last: u64,
    /// Futures `pu`: the previous event's `u` (`-1` when the exchange knows none).
    pub(crate) prev: Option<i64>,
}

/// Why a book is thrown away and rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resync {
    /// Spot: an update starts past the book's id + 1; updates were lost.
    Gap {
        /// The `U` that would have continued the book.
        expected_first: u64,
        /// The `U` that came.
        found_first: u64,
    },
    /// Futures: an update's `pu` is not the book's id.
    Break {
        /// The book's id, which `pu` should have named.
        expected_prev: u64,
        /// The `pu` that came.
        found_prev: i64,
    },
    /// The best bid reached the best ask after an update.
    Crossed {
        /// The best bid's price.
        bid: String,
        /// The best ask's price.
        ask: String,
    },
    /// The snapshot could not be had or read.
    SnapshotFailed(String),
    /// An update could not be applied (a level that is not a decimal).
    BadUpdate(String),
}

impl Resync {
    /// The reason as output lines name it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Gap { .. } => "gap",
            Self::Break { .. } => "break",
            Self::Crossed { .. } => "crossed",
            Self::SnapshotFailed(_) => "snapshot_failed",
            Self::BadUpdate(_) => "bad_update",
        }
    }
}

/// What to do with an update once the book is live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Apply it; then the book's id is its `u`.
    Apply,
    /// Already in the book (an old or repeated update): ignore it.
    Old,
    /// Updates were lost: throw the book away.
    Resync(Resync),
}

/// The live rule: what `update` means for a book at `book_id`.
pub(crate) fn step(rule: Rule, book_id: u64, update: UpdateIds) -> Step {
    if update.last <= book_id {
        return Step::Old;
    }
    match rule {
        Rule::Spot if update.first > book_id.saturating_add(1) => Step::Resync(Resync::Gap {
            expected_first: book_id.saturating_add(1),
            found_first: update.first,
        }),
        Rule::Spot => Step::Apply,
        Rule::Futures => match update.prev {
            Some(prev) if u64::try_from(prev).ok() == Some(book_id) => Step::Apply,
            Some(prev) => Step::Resync(Resync::Break {
                expected_prev: book_id,
                found_prev: prev,
            }),
            // A futures shape without `pu` cannot be checked: by `U` as on spot.
            None => step(Rule::Spot, book_id, update),
        },
    }
}

/// What a snapshot means for the updates buffered while it was fetched.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fit<T> {
    /// The snapshot is older than the buffered updates: fetch another.
    TooOld,
    /// Load the snapshot; `stale` buffered updates are already in it; apply `apply`, in
    /// order, by [`step`] (the first is checked by the snapshot rule already).
    Load {
        /// Buffered updates the snapshot already holds.
        stale: Vec<T>,
        /// The rest, oldest first.
        apply: Vec<T>,
    },
}

/// Updates buffered while a snapshot is on its way, oldest first, with at most `capacity`
/// of them.
#[derive(Debug)]
pub(crate) struct Buffer<T> {
    updates: VecDeque<(UpdateIds, T)>,
    capacity: usize,
}

impl<T> Buffer<T> {
    /// An empty buffer of at most `capacity` updates.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            updates: VecDeque::new(),
            capacity,
        }
    }

    /// Buffers an update; `Err` hands it back when the buffer is full.
    ///
    /// # Errors
    /// The buffer holds `capacity` updates already.
    pub(crate) fn push(&mut self, ids: UpdateIds, item: T) -> Result<(), T> {
        if self.updates.len() >= self.capacity {
            return Err(item);
        }
        self.updates.push_back((ids, item));
        Ok(())
    }

    /// Buffers an update, making room by letting the oldest go when full; returns the
    /// update let go. Safe for the procedure: a snapshot older than what is left is found
    /// too old by [`Buffer::fit`] and fetched again, never applied across a hole.
    pub(crate) fn push_evicting(&mut self, ids: UpdateIds, item: T) -> Option<T> {
        let evicted = if self.updates.len() >= self.capacity {
            self.updates.pop_front().map(|(_, item)| item)
        } else {
            None
        };
        self.updates.push_back((ids, item));
        evicted
    }

    /// How many updates are buffered.
    pub(crate) fn len(&self) -> usize {
        self.updates.len()
    }

    /// Decides how a snapshot at `last_update_id` fits the buffered updates. On
    /// [`Fit::Load`] the buffer is emptied; on [`Fit::TooOld`] it is kept.
    pub(crate) fn fit(&mut self, rule: Rule, last_update_id: u64) -> Fit<T> {
        let Some((first, _)) = self.updates.front() else {
            // Nothing buffered yet: the next live update is checked by `step`.
            return Fit::Load {
                stale: Vec::new(),
                apply: Vec::new(),
            };
        };
        let stale_below = match rule {
            // Binance's step 4 refetches when lastUpdateId < U; its step 7 (and the pre-2024
            // text) accepts U = lastUpdateId + 1, which continues the snapshot exactly.
            Rule::Spot if last_update_id.saturating_add(1) < first.first => return Fit::TooOld,
            Rule::Spot => last_update_id.saturating_add(1),
            Rule::Futures => last_update_id,
        };
        let stale_count = self
            .updates
            .iter()
            .take_while(|(ids, _)| ids.last < stale_below)
            .count();
        if rule == Rule::Futures
            && let Some((next, _)) = self.updates.get(stale_count)
            && next.first > last_update_id
        {
            // The first update to apply must span the snapshot: U <= lastUpdateId <= u.
            return Fit::TooOld;
        }
        let stale = self.updates.drain(..stale_count).map(|(_, t)| t).collect();
        let apply = self.updates.drain(..).map(|(_, t)| t).collect();
        Fit::Load { stale, apply }
    }
}

/// Ids of an update that came after the snapshot, for the first live update when nothing
/// was buffered beyond it: on futures it must span the snapshot, as a buffered one would.
pub(crate) fn first_after_snapshot(rule: Rule, snapshot_id: u64, update: UpdateIds) -> Step {
    match rule {
        Rule::Futures if update.last >= snapshot_id && update.first > snapshot_id => {
            Step::Resync(Resync::Break {
                expected_prev: snapshot_id,
                found_prev: update.prev.unwrap_or(-1),
            })
        }
        Rule::Futures if update.last >= snapshot_id => Step::Apply,
        _ => step(rule, snapshot_id, update),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spot(first: u64, last: u64) -> UpdateIds {
        UpdateIds {
            first,
            last,
            prev: None,
        }
    }

    fn futures(first: u64, last: u64, prev: i64) -> UpdateIds {
        UpdateIds {
            first,
            last,
            prev: Some(prev),
        }
    }

    fn buffer(updates: &[UpdateIds]) -> Buffer<u64> {
        let mut buffer = Buffer::new(100);
        for ids in updates {
            buffer.push(*ids, ids.last).unwrap();
        }
        buffer
    }

    #[test]
    fn spot_drops_what_the_snapshot_holds_and_refetches_an_old_one() {
        let updates = [spot(101, 110), spot(111, 120), spot(121, 125)];
        assert_eq!(buffer(&updates).fit(Rule::Spot, 99), Fit::TooOld);
        assert_eq!(
            buffer(&updates).fit(Rule::Spot, 100),
            Fit::Load {
                stale: vec![],
                apply: vec![110, 120, 125]
            },
            "U = lastUpdateId + 1 is accepted"
        );
        assert_eq!(
            buffer(&updates).fit(Rule::Spot, 115),
            Fit::Load {
                stale: vec![110],
                apply: vec![120, 125]
            }
        );
        assert_eq!(
            buffer(&updates).fit(Rule::Spot, 120),
            Fit::Load {
                stale: vec![110, 120],
                apply: vec![125]
            }
        );
    }

    #[test]
    fn spot_live_updates_apply_in_order_and_a_gap_resyncs() {
        assert_eq!(step(Rule::Spot, 120, spot(121, 125)), Step::Apply);
        assert_eq!(step(Rule::Spot, 120, spot(115, 125)), Step::Apply);
        assert_eq!(step(Rule::Spot, 120, spot(111, 120)), Step::Old);
        assert_eq!(
            step(Rule::Spot, 120, spot(123, 125)),
            Step::Resync(Resync::Gap {
                expected_first: 121,
                found_first: 123
            })
        );
    }

    #[test]
    fn futures_needs_an_update_spanning_the_snapshot_then_a_chain_of_pu() {
        let updates = [futures(95, 100, 90), futures(104, 110, 100)];
        // lastUpdateId 100: the update ending at 100 spans it (U 95 <= 100 <= u 100).
        assert_eq!(
            buffer(&updates).fit(Rule::Futures, 100),
            Fit::Load {
                stale: vec![],
                apply: vec![100, 110]
            }
        );
        assert_eq!(
            buffer(&updates).fit(Rule::Futures, 105),
            Fit::Load {
                stale: vec![100],
                apply: vec![110]
            }
        );
        // lastUpdateId 102 falls between two updates (103 was not this book's): the next
        // starts at 104 > 102, so the snapshot does not fit.
        assert_eq!(buffer(&updates).fit(Rule::Futures, 102), Fit::TooOld);
        assert_eq!(buffer(&updates).fit(Rule::Futures, 80), Fit::TooOld);
        assert_eq!(
            step(Rule::Futures, 110, futures(112, 118, 110)),
            Step::Apply
        );
        assert_eq!(
            step(Rule::Futures, 110, futures(120, 125, 115)),
            Step::Resync(Resync::Break {
                expected_prev: 110,
                found_prev: 115
            })
        );
        assert_eq!(
            step(Rule::Futures, 110, futures(120, 125, -1)),
            Step::Resync(Resync::Break {
                expected_prev: 110,
                found_prev: -1
            })
        );
        assert_eq!(step(Rule::Futures, 110, futures(100, 110, 95)), Step::Old);
    }

    #[test]
    fn the_first_live_update_after_an_empty_buffer_must_span_the_snapshot() {
        assert_eq!(
            first_after_snapshot(Rule::Futures, 100, futures(98, 104, 97)),
            Step::Apply
        );
        assert!(matches!(
            first_after_snapshot(Rule::Futures, 100, futures(101, 104, 97)),
            Step::Resync(_)
        ));
        assert_eq!(
            first_after_snapshot(Rule::Spot, 100, spot(101, 104)),
            Step::Apply
        );
    }

    #[test]
    fn a_full_buffer_refuses_more() {
        let mut buffer = Buffer::new(1);
        assert!(buffer.push(spot(1, 2), 2).is_ok());
        assert_eq!(buffer.push(spot(3, 4), 4), Err(4));
        assert_eq!(buffer.len(), 1);
    }
}
