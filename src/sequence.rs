//! Duplicate and gap detection on a stream's ids, in the processor. Pure logic: the
//! processor feeds it each event's id and acts on the [`Verdict`].
//!
//! Trade (`t`) and aggTrade (`a`) ids step by one, so a jump is a gap with a known missing
//! range. bookTicker's `u` only increases, so it is checked for duplicates alone.

use crate::spec::StreamKind;

/// An id this far below the last one is not a replay but a restarted sequence (a test
/// exchange reset, a new listing): accept it rather than drop everything after it.
const RESTART_BELOW: u64 = 1_000_000;

/// What to do with an event, given its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The next id: write it.
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
    /// Far below the last id: the sequence restarted. Write it and say so.
    Restarted {
        /// The id before the restart.
        previous: u64,
    },
}

/// The sequence state of one stream.
#[derive(Debug, Clone)]
pub struct SequenceCheck {
    last: Option<u64>,
    steps_by_one: bool,
}

impl SequenceCheck {
    /// A check for a stream of `kind`.
    pub fn new(kind: StreamKind) -> Self {
        Self {
            last: None,
            steps_by_one: matches!(kind, StreamKind::Trade | StreamKind::AggTrade),
        }
    }

    /// Judges `id` and, unless it is a duplicate, makes it the last id seen.
    pub fn check(&mut self, id: u64) -> Verdict {
        let Some(last) = self.last else {
            self.last = Some(id);
            return Verdict::Next;
        };
        if id <= last {
            if last - id >= RESTART_BELOW {
                self.last = Some(id);
                return Verdict::Restarted { previous: last };
            }
            return Verdict::Duplicate;
        }
        self.last = Some(id);
        if self.steps_by_one && id > last + 1 {
            Verdict::Gap {
                first: last + 1,
                last: id - 1,
            }
        } else {
            Verdict::Next
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_trade_ids_pass() {
        let mut check = SequenceCheck::new(StreamKind::Trade);
        for id in 100..110 {
            assert_eq!(check.check(id), Verdict::Next);
        }
    }

    #[test]
    fn overlap_duplicates_are_dropped_and_gaps_named() {
        let mut check = SequenceCheck::new(StreamKind::AggTrade);
        assert_eq!(check.check(10), Verdict::Next);
        assert_eq!(check.check(11), Verdict::Next);
        assert_eq!(check.check(10), Verdict::Duplicate);
        assert_eq!(check.check(11), Verdict::Duplicate);
        assert_eq!(
            check.check(15),
            Verdict::Gap {
                first: 12,
                last: 14
            }
        );
        assert_eq!(
            check.check(13),
            Verdict::Duplicate,
            "late ids never go out of order"
        );
        assert_eq!(check.check(16), Verdict::Next);
    }

    #[test]
    fn book_ticker_ids_only_need_to_increase() {
        let mut check = SequenceCheck::new(StreamKind::BookTicker);
        assert_eq!(check.check(400), Verdict::Next);
        assert_eq!(check.check(407), Verdict::Next);
        assert_eq!(check.check(407), Verdict::Duplicate);
    }

    #[test]
    fn a_far_lower_id_is_a_restart_not_a_duplicate_flood() {
        let mut check = SequenceCheck::new(StreamKind::Trade);
        check.check(5_000_000);
        assert_eq!(
            check.check(1),
            Verdict::Restarted {
                previous: 5_000_000
            }
        );
        assert_eq!(check.check(2), Verdict::Next);
    }
}
