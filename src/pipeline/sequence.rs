//! Duplicate and gap detection on a stream's ids, in the processor. Pure logic: the
//! processor feeds it each event's [`SequencePoint`] and acts on the [`Verdict`].
//!
//! Trades, aggTrades and spot depth updates step by one, so a jump is a gap with a known
//! missing range. Futures depth updates name their predecessor (`pu`), so a mismatch is a
//! break in the chain. Everything else only has to increase, which is what drops the copies
//! two overlapping connections deliver.

use binance_streams::SequencePoint;

/// An id this far below the last one is not a replay but a restarted sequence (a test
/// exchange reset, a new listing): accept it rather than drop everything after it.
const RESTART_BELOW: u64 = 1_000_000;

/// What to do with an event, given its place in the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The next event: write it.
    Next,
    /// Seen before (overlapping connections, a server replay): drop it.
    Duplicate,
    /// New, but ids were skipped: write it and report `first..=last` as missing.
    Gap {
        /// The first missing id.
        first: u64,
        /// The last missing id.
        last: u64,
    },
    /// New, but it follows another event than the last one written (futures depth `pu`):
    /// write it and report the break; how many updates were missed is unknown.
    Break {
        /// The last id written.
        expected: u64,
        /// The predecessor the event names.
        found: u64,
    },
    /// Far below the last id: the sequence restarted. Write it and say so.
    Restarted {
        /// The id before the restart.
        previous: u64,
    },
}

/// The sequence state of one stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct SequenceCheck {
    last: Option<u64>,
}

impl SequenceCheck {
    /// A check that has seen nothing yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Judges `point` and, unless it is a duplicate, makes its id the last one seen.
    pub(crate) fn check(&mut self, point: SequencePoint) -> Verdict {
        let Some(last) = self.last else {
            self.last = Some(point.id);
            return Verdict::Next;
        };
        if point.id <= last {
            if last - point.id >= RESTART_BELOW {
                self.last = Some(point.id);
                return Verdict::Restarted { previous: last };
            }
            return Verdict::Duplicate;
        }
        self.last = Some(point.id);
        match (point.first, point.prev) {
            (Some(first), _) if first > last + 1 => Verdict::Gap {
                first: last + 1,
                last: first - 1,
            },
            (_, Some(prev)) if prev != last => Verdict::Break {
                expected: last,
                found: prev,
            },
            _ => Verdict::Next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stepping(id: u64) -> SequencePoint {
        SequencePoint {
            id,
            first: Some(id),
            prev: None,
        }
    }

    fn increasing(id: u64) -> SequencePoint {
        SequencePoint {
            id,
            first: None,
            prev: None,
        }
    }

    #[test]
    fn consecutive_trade_ids_pass() {
        let mut check = SequenceCheck::new();
        for id in 100..110 {
            assert_eq!(check.check(stepping(id)), Verdict::Next);
        }
    }

    #[test]
    fn overlap_duplicates_are_dropped_and_gaps_named() {
        let mut check = SequenceCheck::new();
        assert_eq!(check.check(stepping(10)), Verdict::Next);
        assert_eq!(check.check(stepping(11)), Verdict::Next);
        assert_eq!(check.check(stepping(10)), Verdict::Duplicate);
        assert_eq!(check.check(stepping(11)), Verdict::Duplicate);
        assert_eq!(
            check.check(stepping(15)),
            Verdict::Gap {
                first: 12,
                last: 14
            }
        );
        assert_eq!(
            check.check(stepping(13)),
            Verdict::Duplicate,
            "late ids never go out of order"
        );
        assert_eq!(check.check(stepping(16)), Verdict::Next);
    }

    #[test]
    fn spot_depth_ranges_chain_by_first_id() {
        let mut check = SequenceCheck::new();
        let range = |first, last| SequencePoint {
            id: last,
            first: Some(first),
            prev: None,
        };
        assert_eq!(check.check(range(157, 160)), Verdict::Next);
        assert_eq!(check.check(range(161, 170)), Verdict::Next);
        assert_eq!(
            check.check(range(175, 180)),
            Verdict::Gap {
                first: 171,
                last: 174
            }
        );
    }

    #[test]
    fn futures_depth_chains_by_previous_id() {
        let mut check = SequenceCheck::new();
        let linked = |prev, id| SequencePoint {
            id,
            first: None,
            prev: Some(prev),
        };
        assert_eq!(check.check(linked(149, 160)), Verdict::Next);
        assert_eq!(check.check(linked(160, 172)), Verdict::Next);
        assert_eq!(
            check.check(linked(180, 190)),
            Verdict::Break {
                expected: 172,
                found: 180
            }
        );
        assert_eq!(check.check(linked(160, 172)), Verdict::Duplicate);
    }

    #[test]
    fn increasing_ids_only_need_to_increase() {
        let mut check = SequenceCheck::new();
        assert_eq!(check.check(increasing(400)), Verdict::Next);
        assert_eq!(check.check(increasing(407)), Verdict::Next);
        assert_eq!(check.check(increasing(407)), Verdict::Duplicate);
    }

    #[test]
    fn a_far_lower_id_is_a_restart_not_a_duplicate_flood() {
        let mut check = SequenceCheck::new();
        check.check(stepping(5_000_000));
        assert_eq!(
            check.check(stepping(1)),
            Verdict::Restarted {
                previous: 5_000_000
            }
        );
        assert_eq!(check.check(stepping(2)), Verdict::Next);
    }
}
