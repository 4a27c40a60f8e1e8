//! The book's output lines. JSON (also for `--format raw`, since a book is not a frame):
//!
//! ```text
//! {"symbol":"ETHUSDT","stream":"book","update_id":160,"event_time":1732500000125,"bids":[["3010.55000000","0.12000000"],..],"asks":[..],"recv_time_us":1732500000126543}
//! {"event":"resync","symbol":"ETHUSDT","stream":"book","reason":"gap","expected_first":161,"found_first":170,"recv_time_us":1732500000126543}
//! ```
//!
//! Bids best (highest) first, asks best (lowest) first, each `[price, quantity]` as the
//! exact strings Binance sent; at most `--book-depth` a side, fewer when the book knows fewer
//! (levels past the snapshot's depth are never reported). A resync line comes before the
//! rebuilt book and says why. Pretty: one compact ladder row per book.

use std::io::Write as _;

use super::levels::{Level, OrderBook};
use super::sync::Resync;

/// Levels a side the pretty ladder shows.
const PRETTY_LEVELS: usize = 3;

/// What starts every line of one symbol's book.
#[derive(Debug, Clone)]
pub(crate) struct BookHead {
    /// The symbol, uppercase.
    pub(crate) symbol: String,
    /// Pretty rows instead of JSON.
    pub(crate) pretty: bool,
}

/// Appends the book's line: its top `depth` levels a side, received at `recv_time_us`.
pub(crate) fn write_book(
    out: &mut Vec<u8>,
    head: &BookHead,
    book: &OrderBook,
    depth: usize,
    recv_time_us: u64,
) {
    if head.pretty {
        write_pretty_book(out, head, book, recv_time_us);
        return;
    }
    // Writes into a Vec cannot fail, here and below.
    out.extend_from_slice(b"{\"symbol\":");
    let _ = serde_json::to_writer(&mut *out, &head.symbol);
    let _ = write!(
        out,
        ",\"stream\":\"book\",\"update_id\":{},\"event_time\":{},\"bids\":",
        book.update_id, book.event_time
    );
    write_levels(out, book.top_bids(depth));
    out.extend_from_slice(b",\"asks\":");
    write_levels(out, book.top_asks(depth));
    let _ = writeln!(out, ",\"recv_time_us\":{recv_time_us}}}");
}

fn write_levels<'a>(out: &mut Vec<u8>, levels: impl Iterator<Item = &'a Level>) {
    out.push(b'[');
    for (index, level) in levels.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.push(b'[');
        let _ = serde_json::to_writer(&mut *out, &*level.price);
        out.push(b',');
        let _ = serde_json::to_writer(&mut *out, &*level.qty);
        out.push(b']');
    }
    out.push(b']');
}

/// Appends the line announcing a resync and why, before the rebuilt book.
pub(crate) fn write_resync(out: &mut Vec<u8>, head: &BookHead, why: &Resync, recv_time_us: u64) {
    if head.pretty {
        let _ = writeln!(
            out,
            "{} {:<12} book  RESYNC {}",
            clock(recv_time_us),
            head.symbol,
            describe(why)
        );
        return;
    }
    out.extend_from_slice(b"{\"event\":\"resync\",\"symbol\":");
    let _ = serde_json::to_writer(&mut *out, &head.symbol);
    let _ = write!(out, ",\"stream\":\"book\",\"reason\":\"{}\"", why.name());
    let _ = match why {
        Resync::Gap {
            expected_first,
            found_first,
        } => write!(
            out,
            ",\"expected_first\":{expected_first},\"found_first\":{found_first}"
        ),
        Resync::Break {
            expected_prev,
            found_prev,
        } => write!(
            out,
            ",\"expected_prev\":{expected_prev},\"found_prev\":{found_prev}"
        ),
        Resync::Crossed { bid, ask } => {
            out.extend_from_slice(b",\"bid\":");
            let _ = serde_json::to_writer(&mut *out, bid);
            out.extend_from_slice(b",\"ask\":");
            serde_json::to_writer(&mut *out, ask).map_err(std::io::Error::other)
        }
        Resync::SnapshotFailed(detail) | Resync::BadUpdate(detail) => {
            out.extend_from_slice(b",\"detail\":");
            serde_json::to_writer(&mut *out, detail).map_err(std::io::Error::other)
        }
    };
    let _ = writeln!(out, ",\"recv_time_us\":{recv_time_us}}}");
}

/// The reason in words, for pretty rows and logs.
pub(crate) fn describe(why: &Resync) -> String {
    match why {
        Resync::Gap {
            expected_first,
            found_first,
        } => format!("gap: expected update {expected_first}, got {found_first}"),
        Resync::Break {
            expected_prev,
            found_prev,
        } => format!("break: expected pu {expected_prev}, got {found_prev}"),
        Resync::Crossed { bid, ask } => format!("crossed book: bid {bid} >= ask {ask}"),
        Resync::SnapshotFailed(detail) => format!("snapshot failed: {detail}"),
        Resync::BadUpdate(detail) => format!("bad update: {detail}"),
    }
}

/// `HH:MM:SS.mmm SYMBOL book #id  q@bid q@bid q@bid | ask@q ask@q ask@q`: the best
/// levels meet in the middle, as on a depth ladder.
fn write_pretty_book(out: &mut Vec<u8>, head: &BookHead, book: &OrderBook, recv_time_us: u64) {
    let _ = write!(
        out,
        "{} {:<12} book  #{:<12}",
        clock(recv_time_us),
        head.symbol,
        book.update_id
    );
    let bids: Vec<&Level> = book.top_bids(PRETTY_LEVELS).collect();
    for level in bids.iter().rev() {
        let _ = write!(out, " {}@{}", level.qty, level.price);
    }
    out.extend_from_slice(b" |");
    for level in book.top_asks(PRETTY_LEVELS) {
        let _ = write!(out, " {}@{}", level.price, level.qty);
    }
    out.push(b'\n');
}

/// `HH:MM:SS.mmm` (UTC) of a time in µs since the epoch.
fn clock(micros: u64) -> String {
    let millis = micros / 1_000;
    let seconds = millis / 1_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        seconds / 3_600 % 24,
        seconds / 60 % 60,
        seconds % 60,
        millis % 1_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::levels::RawLevel;

    fn book() -> OrderBook {
        let side = |pairs: &[(&'static str, &'static str)]| -> Vec<RawLevel<'static>> {
            pairs
                .iter()
                .map(|(p, q)| ((*p).into(), (*q).into()))
                .collect()
        };
        let mut book = OrderBook::from_snapshot(
            160,
            &side(&[("10.00", "1.5"), ("9.99", "2")]),
            &side(&[("10.01", "0.3")]),
            1000,
        )
        .unwrap();
        book.event_time = 1_732_500_000_125;
        book
    }

    #[test]
    fn a_book_line_holds_exact_strings_best_first() {
        let head = BookHead {
            symbol: "ETHUSDT".to_owned(),
            pretty: false,
        };
        let mut out = Vec::new();
        write_book(&mut out, &head, &book(), 20, 1_732_500_000_126_543);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"symbol\":\"ETHUSDT\",\"stream\":\"book\",\"update_id\":160,\"event_time\":1732500000125,\"bids\":[[\"10.00\",\"1.5\"],[\"9.99\",\"2\"]],\"asks\":[[\"10.01\",\"0.3\"]],\"recv_time_us\":1732500000126543}\n"
        );
        let mut out = Vec::new();
        write_book(&mut out, &head, &book(), 1, 0);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("\"bids\":[[\"10.00\",\"1.5\"]],")
        );
    }

    #[test]
    fn resync_lines_say_why() {
        let head = BookHead {
            symbol: "ETHUSDT".to_owned(),
            pretty: false,
        };
        let mut out = Vec::new();
        let gap = Resync::Gap {
            expected_first: 161,
            found_first: 170,
        };
        write_resync(&mut out, &head, &gap, 7);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"event\":\"resync\",\"symbol\":\"ETHUSDT\",\"stream\":\"book\",\"reason\":\"gap\",\"expected_first\":161,\"found_first\":170,\"recv_time_us\":7}\n"
        );
        let mut out = Vec::new();
        write_resync(
            &mut out,
            &head,
            &Resync::SnapshotFailed("HTTP 500".into()),
            7,
        );
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("\"reason\":\"snapshot_failed\",\"detail\":\"HTTP 500\"")
        );
    }

    #[test]
    fn the_pretty_ladder_meets_in_the_middle() {
        let head = BookHead {
            symbol: "ETHUSDT".to_owned(),
            pretty: true,
        };
        let mut out = Vec::new();
        write_book(&mut out, &head, &book(), 20, 3_600_000_000);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "01:00:00.000 ETHUSDT      book  #160          2@9.99 1.5@10.00 | 10.01@0.3\n"
        );
    }
}
