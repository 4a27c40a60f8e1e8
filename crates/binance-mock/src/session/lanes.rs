//! A connection's [`Lane`]s, one per stream: where each is in its stream's log, when its
//! next event is due, and the per-lane faults (id jumps, `"pu":-1`) that change what it
//! sends; plus the payload rewrites those faults and `Faults::huge_frames` need.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use binance_streams::StreamKind;

use crate::path::StreamName;
use crate::{Rate, Shared, StreamLog};

/// One stream of a connection: where it is in the stream's log and when its next event
/// is due.
pub(crate) struct Lane {
    /// The stream's name, for the combined wrapper.
    pub(super) name: String,
    pub(super) kind: StreamKind,
    pub(super) log: Arc<Mutex<StreamLog>>,
    /// The id to send next.
    pub(super) cursor: u64,
    /// When the next event is due, at a rate without market mode.
    pub(super) next_due: Instant,
    /// Events sent on this lane, stray ones included.
    pub(super) sent: u64,
    /// The id of a stray event to send before `cursor` (`Faults::id_jumps`).
    pub(super) jump: Option<u64>,
    /// `Faults::swap_ids`: the event after `cursor` went out first; `cursor` goes next.
    pub(super) swapped: bool,
}

impl Lane {
    /// Whether the lane's kind is a depth stream (diff or partial).
    pub(super) fn is_depth(&self) -> bool {
        matches!(
            self.kind,
            StreamKind::Depth(_) | StreamKind::PartialDepth(..)
        )
    }
}

/// Joins the log of each requested stream. Returns the lanes and the connection's ordinal
/// for per-connection faults: the most connections any of its streams has had, so a
/// reconnect counts as one even if it adds a stream.
pub(crate) fn open_lanes(shared: &Shared, streams: Vec<StreamName>) -> (Vec<Lane>, u64) {
    let now = Instant::now();
    let mut ordinal = 0;
    let lanes = streams
        .into_iter()
        .map(|stream| {
            let log = shared.stream(&stream.name, &stream.symbol, stream.kind);
            let (connections, cursor) = join_log(shared, &log);
            ordinal = ordinal.max(connections);
            Lane {
                name: stream.name,
                kind: stream.kind,
                log,
                cursor,
                next_due: now,
                sent: 0,
                jump: None,
                swapped: false,
            }
        })
        .collect();
    (lanes, ordinal)
}

/// Counts a new connection to a stream's log. Returns that count and the id to start at:
/// where the stream's last connection stopped (or, in market mode, what the clock says),
/// minus `Faults::replay_on_reconnect` ids if the stream was served before.
fn join_log(shared: &Shared, log: &Mutex<StreamLog>) -> (u64, u64) {
    let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
    log.connections += 1;
    let replay = if log.connections > 1 {
        shared.config.faults.replay_on_reconnect
    } else {
        0
    };
    let next = match market_rate(shared) {
        Some(rate) => ids_due(shared, rate) + 1,
        None => log.next_id(),
    };
    (log.connections, next.saturating_sub(replay).max(1))
}

/// In market mode, the events per second that happen on the clock.
pub(super) fn market_rate(shared: &Shared) -> Option<f64> {
    match shared.config.rate {
        Rate::PerSecond(rate) if shared.config.market => Some(rate),
        _ => None,
    }
}

/// Market mode: how many events have happened since the exchange started.
pub(super) fn ids_due(shared: &Shared, rate: f64) -> u64 {
    (shared.started.elapsed().as_secs_f64() * rate) as u64
}

/// `payload` with its `pu` replaced by `-1`, as COIN-M sends the first event after a
/// connect; `None` when it has no `pu`.
pub(super) fn with_unknown_previous(payload: &str) -> Option<String> {
    const KEY: &str = r#""pu":"#;
    let start = payload.find(KEY)? + KEY.len();
    let digits = payload[start..]
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(payload.len() - start);
    let mut rewritten = String::with_capacity(payload.len() + 2);
    rewritten.push_str(&payload[..start]);
    rewritten.push_str("-1");
    rewritten.push_str(&payload[start + digits..]);
    Some(rewritten)
}

/// `payload` (a diff-depth event) with one more bid, far above any ask: a crossed book
/// (`Faults::cross_ids`); `None` when it has no bids.
pub(super) fn with_crossing_bid(payload: &str) -> Option<String> {
    const KEY: &str = r#""b":["#;
    const LEVEL: &str = r#"["99999999.00000000","1.00000000"]"#;
    let at = payload.find(KEY)? + KEY.len();
    let separator = if payload[at..].starts_with(']') {
        ""
    } else {
        ","
    };
    Some(format!(
        "{}{LEVEL}{separator}{}",
        &payload[..at],
        &payload[at..]
    ))
}

/// The padding field `Faults::huge_frames` adds, without its filler.
const PADDING: &str = r#","padding":"""#;

/// `payload` (a JSON object) grown by a last `"padding"` field so that its frame, `extra`
/// bytes longer than the payload, is about `size` bytes; unchanged if it is that big
/// already.
pub(super) fn padded(payload: &str, extra: usize, size: usize) -> Option<String> {
    let body = payload.strip_suffix('}')?;
    let filler = size.checked_sub(payload.len() + extra + PADDING.len())?;
    let mut grown = String::with_capacity(size);
    grown.push_str(body);
    grown.push_str(&PADDING[..PADDING.len() - 1]);
    grown.extend(std::iter::repeat_n('x', filler));
    grown.push_str("\"}");
    Some(grown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_update_id_becomes_minus_one() {
        let payload = r#"{"e":"depthUpdate","U":5,"u":9,"pu":4,"b":[],"a":[]}"#;
        assert_eq!(
            with_unknown_previous(payload).as_deref(),
            Some(r#"{"e":"depthUpdate","U":5,"u":9,"pu":-1,"b":[],"a":[]}"#)
        );
        assert_eq!(with_unknown_previous(r#"{"U":5,"u":9}"#), None);
    }

    #[test]
    fn a_crossing_bid_goes_first() {
        assert_eq!(
            with_crossing_bid(r#"{"b":[],"a":[["5","1"]]}"#).as_deref(),
            Some(r#"{"b":[["99999999.00000000","1.00000000"]],"a":[["5","1"]]}"#)
        );
        assert_eq!(
            with_crossing_bid(r#"{"b":[["4","1"]]}"#).as_deref(),
            Some(r#"{"b":[["99999999.00000000","1.00000000"],["4","1"]]}"#)
        );
    }

    #[test]
    fn padding_grows_a_payload_to_the_size_asked() {
        let payload = r#"{"e":"trade","t":1}"#;
        let grown = padded(payload, 0, 1_000).unwrap();
        assert_eq!(grown.len(), 1_000);
        let value: serde_json::Value = serde_json::from_str(&grown).unwrap();
        assert_eq!(value["t"], 1);
        assert_eq!(padded(payload, 0, 10), None, "never shortened");
        assert_eq!(padded(payload, 40, 1_000).unwrap().len(), 960);
    }
}
