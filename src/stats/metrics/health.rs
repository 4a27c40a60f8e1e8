//! `/healthz`: healthy when every symbol is connected and fresh (in a `--group`, every
//! symbol this member serves). Fresh means a frame
//! arrived within the silence limit the reader applies to its current connection (see
//! `pipeline::reader::health`), counted from the later of the last frame and the
//! connection's opening, as the reader counts it. Without a silence limit (event-driven
//! kinds without `--max-silence`, which may rightly be quiet for hours) a connected symbol
//! is fresh. The endpoint judges from the frame times themselves, so it says "stale" as
//! soon as the limit passes, before the reader's next timer tick replaces the connection.

use std::time::Duration;

use super::MetricsSource;
use crate::stats::bus::GroupRole;
use crate::stats::connection::ConnectionView;
use crate::util::duration::format_duration;

/// Whether every symbol is healthy, and the body: `ok`, or one line per unhealthy symbol
/// (`ETHUSDT stale: no frame for 2.1s (silence limit 1s)`).
pub(super) fn health_report(sources: &[MetricsSource], now_us: u64) -> (bool, String) {
    let mut body = String::new();
    for source in sources {
        // A group member answers for the symbols it serves; the others are held elsewhere.
        if source
            .stats
            .bus
            .as_ref()
            .is_some_and(|bus| bus.role.get() == GroupRole::Idle as u64 && bus.grouped())
        {
            continue;
        }
        let last_frame_us = source.stats.reader.last_received_us.get();
        let view = source.stats.connection.view();
        if let Some(problem) = judge(view, last_frame_us, now_us) {
            body.push_str(&format!("{} {problem}\n", source.symbol));
        }
    }
    if body.is_empty() {
        (true, "ok\n".to_owned())
    } else {
        (false, body)
    }
}

/// What is wrong with one symbol, if anything.
fn judge(view: ConnectionView, last_frame_us: u64, now_us: u64) -> Option<String> {
    let age =
        |since_us: u64| format_duration(Duration::from_micros(now_us.saturating_sub(since_us)));
    let last_frame = match last_frame_us {
        0 => "no frame yet".to_owned(),
        at => format!("last frame {} ago", age(at)),
    };
    if !view.connected {
        return Some(if view.opened_us == 0 {
            "disconnected: not connected yet".to_owned()
        } else {
            format!("disconnected: {last_frame}")
        });
    }
    let limit = view.silence_limit?;
    let since_us = last_frame_us.max(view.opened_us);
    let silent = Duration::from_micros(now_us.saturating_sub(since_us));
    (silent >= limit).then(|| {
        let what = if last_frame_us >= view.opened_us {
            "no frame for"
        } else {
            "no frame since connecting"
        };
        format!(
            "stale: {what} {} (silence limit {})",
            format_duration(silent),
            format_duration(limit)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND_US: u64 = 1_000_000;

    fn connected(opened_s: u64, limit_s: Option<u64>) -> ConnectionView {
        ConnectionView {
            connected: true,
            opened_us: opened_s * SECOND_US,
            silence_limit: limit_s.map(Duration::from_secs),
        }
    }

    #[test]
    fn a_connected_symbol_is_fresh_within_its_limit_and_stale_after() {
        let now = 100 * SECOND_US;
        assert_eq!(judge(connected(10, Some(5)), 97 * SECOND_US, now), None);
        assert_eq!(
            judge(connected(10, Some(5)), 95 * SECOND_US, now).as_deref(),
            Some("stale: no frame for 5s (silence limit 5s)")
        );
        // A new connection gets its whole limit, whatever came before it.
        assert_eq!(judge(connected(98, Some(5)), 50 * SECOND_US, now), None);
        assert_eq!(
            judge(connected(90, Some(5)), 50 * SECOND_US, now).as_deref(),
            Some("stale: no frame since connecting 10s (silence limit 5s)")
        );
        // Without a limit only the connection counts.
        assert_eq!(judge(connected(10, None), 0, now), None);
    }

    #[test]
    fn a_disconnected_symbol_says_when_it_last_heard() {
        let now = 100 * SECOND_US;
        let down = ConnectionView {
            connected: false,
            opened_us: 10 * SECOND_US,
            silence_limit: None,
        };
        assert_eq!(
            judge(down, 88 * SECOND_US, now).as_deref(),
            Some("disconnected: last frame 12s ago")
        );
        let never = ConnectionView {
            opened_us: 0,
            ..down
        };
        assert_eq!(
            judge(never, 0, now).as_deref(),
            Some("disconnected: not connected yet")
        );
    }
}
