//! [`ConnectionState`]: whether a symbol's reader holds an open connection, since when, and
//! how long that connection may stay silent before the reader replaces it. Written by the
//! reader when a connection opens and when it ends (never per frame); read by `/healthz`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One symbol's connection, as its reader last reported it.
#[derive(Debug, Default)]
pub(crate) struct ConnectionState {
    connected: AtomicBool,
    /// When the current (or last) connection opened, µs since the Unix epoch.
    opened_us: AtomicU64,
    /// Its silence limit in µs; 0 when nothing limits it.
    silence_limit_us: AtomicU64,
}

/// A reading of [`ConnectionState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectionView {
    /// The reader holds an open connection.
    pub connected: bool,
    /// When it opened, µs since the Unix epoch (0: never connected).
    pub opened_us: u64,
    /// How long it may go without data before the reader replaces it; `None` when only
    /// pings guard it (event-driven kinds without `--max-silence`).
    pub silence_limit: Option<Duration>,
}

impl ConnectionState {
    /// A connection opened now; the reader replaces it after `silence_limit` without data.
    pub(crate) fn opened(&self, silence_limit: Option<Duration>) {
        let limit_us = silence_limit.map_or(0, |limit| {
            u64::try_from(limit.as_micros()).unwrap_or(u64::MAX).max(1)
        });
        self.opened_us.store(now_us(), Ordering::Relaxed);
        self.silence_limit_us.store(limit_us, Ordering::Relaxed);
        // Release: whoever sees `connected` sees the fields above.
        self.connected.store(true, Ordering::Release);
    }

    /// The connection ended (lost, replaced without a successor, or stopped).
    pub(crate) fn closed(&self) {
        self.connected.store(false, Ordering::Release);
    }

    /// The state now.
    pub(crate) fn view(&self) -> ConnectionView {
        let connected = self.connected.load(Ordering::Acquire);
        let limit_us = self.silence_limit_us.load(Ordering::Relaxed);
        ConnectionView {
            connected,
            opened_us: self.opened_us.load(Ordering::Relaxed),
            silence_limit: (limit_us > 0).then(|| Duration::from_micros(limit_us)),
        }
    }
}

/// The wall clock in µs since the Unix epoch, the unit of frame receive times.
pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_micros()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_reported_open_with_its_limit_then_closed() {
        let state = ConnectionState::default();
        assert!(!state.view().connected);
        state.opened(Some(Duration::from_secs(30)));
        let view = state.view();
        assert!(view.connected && view.opened_us > 0);
        assert_eq!(view.silence_limit, Some(Duration::from_secs(30)));
        state.closed();
        assert!(!state.view().connected);
        state.opened(None);
        assert_eq!(state.view().silence_limit, None);
    }
}
