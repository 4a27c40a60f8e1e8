//! The sequence rules against the cases they were made for: overlaps, replays, gaps,
//! strays, restarts and futures chains, each through a small stand-in for the processor.

use super::*;

const SECOND_US: u64 = 1_000_000;

fn stepping(id: u64) -> SequencePoint {
    SequencePoint::stepping(id)
}

fn increasing(id: u64) -> SequencePoint {
    SequencePoint::increasing(id)
}

fn linked(prev: u64, id: u64) -> SequencePoint {
    SequencePoint {
        id,
        first: None,
        prev: Some(prev),
    }
}

/// What the processor would have done with a stream's events.
#[derive(Debug, Default)]
struct Outcome {
    written: Vec<u64>,
    dropped: Vec<u64>,
    /// Everything but `Next`, `Duplicate` and `Hold`, in order.
    reports: Vec<Verdict>,
}

/// Feeds events to a check the way the processor does: held events wait, `Restarted`
/// writes them before the event, `Unconfirmed` drops them, and both re-ask verdicts ask again.
struct Stream {
    check: SequenceCheck,
    held: Vec<u64>,
    outcome: Outcome,
    connection: u32,
    now_us: u64,
}

impl Stream {
    fn new() -> Self {
        Self {
            check: SequenceCheck::new(),
            held: Vec::new(),
            outcome: Outcome::default(),
            connection: 1,
            now_us: 1_700_000_000 * SECOND_US,
        }
    }

    fn on(&mut self, connection: u32) -> &mut Self {
        self.connection = connection;
        self
    }

    fn after(&mut self, seconds: u64) -> &mut Self {
        self.now_us += seconds * SECOND_US;
        self
    }

    fn feed(&mut self, point: SequencePoint) -> &mut Self {
        loop {
            let verdict = self.check.check(point, self.connection, self.now_us);
            let out = &mut self.outcome;
            match verdict {
                Verdict::Next => out.written.push(point.id),
                Verdict::Duplicate => out.dropped.push(point.id),
                Verdict::Hold => self.held.push(point.id),
                Verdict::Gap { .. } | Verdict::Break { .. } => {
                    out.reports.push(verdict);
                    out.written.push(point.id);
                }
                Verdict::Restarted { .. } => {
                    out.reports.push(verdict);
                    out.written.append(&mut self.held);
                    out.written.push(point.id);
                }
                Verdict::Unconfirmed { held, .. } => {
                    out.reports.push(verdict);
                    assert_eq!(usize::from(held), self.held.len());
                    out.dropped.append(&mut self.held);
                    continue;
                }
                Verdict::DuplicateRun(_) => {
                    out.reports.push(verdict);
                    continue;
                }
            }
            return self;
        }
    }

    fn trades(&mut self, ids: impl IntoIterator<Item = u64>) -> &mut Self {
        for id in ids {
            self.feed(stepping(id));
        }
        self
    }
}

fn run(lowest: u64, highest: u64, count: u64, expected: bool) -> Verdict {
    Verdict::DuplicateRun(DuplicateRun {
        lowest,
        highest,
        count,
        expected,
    })
}

fn ids(range: std::ops::RangeInclusive<u64>) -> Vec<u64> {
    range.collect()
}

#[test]
fn consecutive_trade_ids_pass() {
    let mut check = SequenceCheck::new();
    for id in 100..110 {
        assert_eq!(check.check(stepping(id), 1, 0), Verdict::Next);
    }
    assert!(!check.attention, "the next id keeps the fast path");
}

#[test]
fn one_stray_id_hides_no_trades() {
    // Issue #9 item 5: trades 1..100, one event with id 900000, then 101..2000.
    let mut stream = Stream::new();
    stream.trades(1..=100).trades([900_000]).trades(101..=2000);
    let mut expected = ids(1..=100);
    expected.push(900_000);
    expected.extend(101..=2000);
    assert_eq!(stream.outcome.written, expected);
    assert!(stream.outcome.dropped.is_empty());
    assert_eq!(
        stream.outcome.reports,
        [
            Verdict::Gap {
                first: 101,
                last: 899_999
            },
            Verdict::Restarted {
                previous: 900_000,
                resumed_at: 101
            },
        ]
    );
    assert!(stream.held.is_empty());
}

#[test]
fn a_sequence_that_moved_back_skips_what_the_old_one_wrote_and_rejoins_it() {
    let mut stream = Stream::new();
    stream.trades(1..=100).trades([1000]).trades(101..=1100);
    let mut expected = ids(1..=100);
    expected.push(1000);
    expected.extend(101..=999);
    expected.extend(1001..=1100);
    assert_eq!(stream.outcome.written, expected, "each id once");
    assert_eq!(stream.outcome.dropped, [1000]);
    assert_eq!(
        stream.outcome.reports.len(),
        3,
        "{:?}",
        stream.outcome.reports
    );
    assert_eq!(stream.outcome.reports[2], run(1000, 1000, 1, false));
    assert!(!stream.check.attention, "back on the fast path");
}

#[test]
fn an_unconfirmed_stray_below_is_dropped_and_the_sequence_goes_on() {
    let mut stream = Stream::new();
    stream
        .trades(1..=100)
        .trades([900_000, 900_001, 101, 900_002]);
    assert_eq!(stream.outcome.dropped, [101]);
    assert_eq!(
        stream.outcome.reports[1],
        Verdict::Unconfirmed {
            held: 1,
            lowest: 101,
            highest: 101
        }
    );
    assert_eq!(stream.outcome.written.last(), Some(&900_002));
    // Two that follow each other are not enough either.
    stream.trades([102, 103, 900_003]);
    assert_eq!(stream.outcome.dropped, [101, 102, 103]);
    assert_eq!(stream.outcome.written.last(), Some(&900_003));
}

#[test]
fn a_rollover_overlap_is_dropped_as_expected_duplicates() {
    let mut stream = Stream::new();
    stream.trades(1..=50);
    // The replacement replays what the old connection sent while both were open.
    stream.on(2).trades(45..=60);
    assert_eq!(stream.outcome.written, ids(1..=60));
    assert_eq!(stream.outcome.dropped, ids(45..=50));
    assert_eq!(stream.outcome.reports, [run(45, 50, 6, true)]);
    // The replacement failed and the old connection carries on, behind it.
    stream.on(1).trades(55..=70);
    assert_eq!(stream.outcome.written, ids(1..=70));
    assert_eq!(stream.outcome.reports[1], run(55, 60, 6, true));
}

#[test]
fn a_replay_on_the_same_connection_is_an_unexpected_run() {
    let mut stream = Stream::new();
    stream.trades(1..=10).trades([8, 9, 10, 11]);
    assert_eq!(stream.outcome.dropped, [8, 9, 10]);
    assert_eq!(stream.outcome.reports, [run(8, 10, 3, false)]);
}

#[test]
fn gaps_are_named_and_late_ids_in_them_need_confirmation() {
    let mut stream = Stream::new();
    stream.trades([10, 11, 10, 11, 15]);
    assert_eq!(stream.outcome.dropped, [10, 11]);
    assert_eq!(
        stream.outcome.reports,
        [
            run(10, 11, 2, false),
            Verdict::Gap {
                first: 12,
                last: 14
            }
        ]
    );
    // A late 13 alone is never written out of order.
    stream.trades([13, 16]);
    assert_eq!(stream.outcome.written, [10, 11, 15, 16]);
    assert_eq!(stream.outcome.dropped, [10, 11, 13]);
}

#[test]
fn a_new_connection_into_a_gap_fills_it_without_writing_anything_twice() {
    // The old connection's overflow drops left 501..509 unwritten; its replacement starts
    // at 505 and replays into what the old one wrote.
    let mut stream = Stream::new();
    stream.trades(1..=500).trades(510..=600);
    stream.on(2).trades(505..=620);
    let mut expected = ids(1..=500);
    expected.extend(510..=600);
    expected.extend(505..=509);
    expected.extend(601..=620);
    assert_eq!(stream.outcome.written, expected);
    assert_eq!(stream.outcome.dropped, ids(510..=600));
    assert_eq!(
        stream.outcome.reports[1],
        Verdict::Restarted {
            previous: 600,
            resumed_at: 505
        }
    );
}

#[test]
fn a_restarted_exchange_is_followed_at_once_on_a_new_connection() {
    let mut stream = Stream::new();
    stream.trades(1..=1000).after(70).trades(1001..=5000);
    // Ids from 1 were written over two minutes ago: a new connection starting there is a
    // restarted sequence, not a replay.
    stream.after(70).on(2).trades(1..=10);
    assert_eq!(
        stream.outcome.reports,
        [Verdict::Restarted {
            previous: 5000,
            resumed_at: 1
        }]
    );
    assert_eq!(stream.outcome.written.len(), 5010);
    assert!(stream.outcome.dropped.is_empty());
    // Two window moves later the old sequence's ids are history: the new one may reuse them.
    stream.after(70).trades(11..=20).after(70).trades(21..=4999);
    stream.trades(5000..=5010);
    assert!(
        stream.outcome.dropped.is_empty(),
        "{:?}",
        stream.outcome.reports
    );
    assert_eq!(stream.outcome.reports.len(), 1);
}

#[test]
fn a_restart_on_the_same_connection_is_confirmed_first() {
    let mut stream = Stream::new();
    stream.trades(1..=1000).after(130).trades(1001..=1005);
    stream.trades([1, 2]);
    assert_eq!(stream.held, [1, 2], "held, not yet written");
    stream.trades([3, 4]);
    assert_eq!(
        stream.outcome.reports,
        [Verdict::Restarted {
            previous: 1005,
            resumed_at: 1
        }]
    );
    assert_eq!(stream.outcome.written[1005..], [1, 2, 3, 4]);
}

#[test]
fn a_recent_id_is_a_duplicate_even_on_a_new_connection() {
    let mut stream = Stream::new();
    stream.trades(1..=100);
    stream.after(30).on(2).trades([1, 2, 101]);
    assert_eq!(stream.outcome.dropped, [1, 2]);
    assert_eq!(stream.outcome.reports, [run(1, 2, 2, true)]);
}

#[test]
fn spot_depth_ranges_chain_by_first_id() {
    let mut check = SequenceCheck::new();
    let range = |first, last| SequencePoint {
        id: last,
        first: Some(first),
        prev: None,
    };
    assert_eq!(check.check(range(157, 160), 1, 0), Verdict::Next);
    assert_eq!(check.check(range(161, 170), 1, 0), Verdict::Next);
    assert_eq!(
        check.check(range(175, 180), 1, 0),
        Verdict::Gap {
            first: 171,
            last: 174
        }
    );
}

#[test]
fn futures_depth_chains_by_previous_id_and_minus_one_starts_a_chain() {
    let mut stream = Stream::new();
    // `pu = -1` (no predecessor known) reaches the check as an id that only has to increase.
    stream.feed(increasing(160)).feed(linked(160, 172));
    stream.feed(linked(180, 190)).feed(linked(172, 172));
    assert_eq!(
        stream.outcome.reports,
        [Verdict::Break {
            expected: 172,
            found: 180
        }]
    );
    assert_eq!(stream.outcome.dropped, [172]);
    // A new connection's first update again names no predecessor: no break.
    stream.on(2).feed(increasing(230)).feed(linked(230, 240));
    assert_eq!(stream.outcome.written, [160, 172, 190, 230, 240]);
    assert_eq!(
        stream.outcome.reports.len(),
        2,
        "{:?}",
        stream.outcome.reports
    );
}

#[test]
fn increasing_ids_only_need_to_increase() {
    let mut stream = Stream::new();
    stream
        .feed(increasing(400))
        .feed(increasing(407))
        .feed(increasing(407))
        .feed(increasing(409));
    assert_eq!(stream.outcome.written, [400, 407, 409]);
    assert_eq!(stream.outcome.reports, [run(407, 407, 1, false)]);
}

#[test]
fn microsecond_event_times_are_judged_by_time_not_by_distance() {
    // Snapshot kinds are ordered by event time; in microseconds a second is 1e6 ids, which
    // once passed for a restart. A replay of the last minute's events is a replay.
    let mut stream = Stream::new();
    let base = 1_732_500_000_000_000;
    for step in 0..100 {
        stream.feed(increasing(base + step * 2_000_000));
    }
    stream.on(2);
    for step in 90..100 {
        stream.feed(increasing(base + step * 2_000_000));
    }
    stream.feed(increasing(base + 100 * 2_000_000));
    assert_eq!(stream.outcome.dropped.len(), 10);
    assert_eq!(stream.outcome.written.len(), 101);
    assert!(
        !stream
            .outcome
            .reports
            .iter()
            .any(|verdict| matches!(verdict, Verdict::Restarted { .. }))
    );
}

#[test]
fn an_open_run_is_handed_over_when_idle() {
    let mut check = SequenceCheck::new();
    check.check(stepping(5), 1, 0);
    assert_eq!(check.check(stepping(5), 1, 0), Verdict::Duplicate);
    assert_eq!(
        check.take_run(),
        Some(DuplicateRun {
            lowest: 5,
            highest: 5,
            count: 1,
            expected: false
        })
    );
    assert_eq!(check.take_run(), None);
    assert_eq!(check.check(stepping(6), 1, 0), Verdict::Next);
}

#[test]
fn forgetting_held_events_judges_the_next_afresh() {
    let mut check = SequenceCheck::new();
    for id in [1, 2, 3, 100] {
        check.check(stepping(id), 1, 0);
    }
    assert_eq!(check.check(stepping(50), 1, 0), Verdict::Hold);
    check.forget_held();
    assert_eq!(check.check(stepping(101), 1, 0), Verdict::Next);
}
