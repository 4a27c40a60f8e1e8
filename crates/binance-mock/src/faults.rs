//! The trouble the mock exchange can make, so tests can show the listener survives it:
//! clean closes, TCP resets, stalls, replays, rejected upgrades and bad frames.

use std::time::Duration;

/// One frame a real exchange (or a broken proxy) might send that is not market data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadFrame {
    /// Text that is not JSON.
    InvalidJson,
    /// A binary frame.
    Binary,
    /// A well-formed event of a type the stream does not carry.
    UnknownEvent,
    /// Binance's flat error object: `{"code":..,"msg":..}`.
    ErrorObject,
    /// The nested error object seen on the wire: `{"error":{..},"id":..}`.
    WrappedError,
    /// A reply to a control request: `{"result":null,"id":..}`.
    ControlResponse,
    /// A text frame of this many bytes (above the listener's cap it costs a reconnect).
    Oversized(usize),
    /// This many pings in a burst.
    PingFlood(u32),
    /// Binance's `serverShutdown` notice: the listener should move to a new connection.
    ServerShutdown,
}

impl BadFrame {
    /// Every kind that leaves the connection usable, for "survives each kind" tests.
    pub fn survivable() -> Vec<BadFrame> {
        vec![
            Self::InvalidJson,
            Self::Binary,
            Self::UnknownEvent,
            Self::ErrorObject,
            Self::WrappedError,
            Self::ControlResponse,
            Self::PingFlood(200),
        ]
    }
}

/// An HTTP answer to a WebSocket upgrade instead of `101 Switching Protocols`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    /// The status, e.g. 429 (too many requests) or 418 (IP banned).
    pub status: u16,
    /// The `Retry-After` header in seconds, if any.
    pub retry_after_secs: Option<u64>,
}

/// Faults applied to connections. Per-connection faults hit only the first
/// `faulty_connections` connections (all, when `None`).
///
/// Counting: a connection is the N-th when one of its streams has had N connections (a
/// combined connection takes the most of its streams). "Messages" are the connection's data
/// messages; on a combined connection, across all its streams together, since the faults
/// stand for trouble with the connection, not with one stream.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Connections the per-connection faults apply to, counted from the first.
    pub faulty_connections: Option<u64>,
    /// Send a close frame after this many data messages on a connection.
    pub close_after_messages: Option<u64>,
    /// Send a close frame after a connection has been open this long.
    pub close_after: Option<Duration>,
    /// Reset the TCP connection (no close frame) after this many data messages.
    pub reset_after_messages: Option<u64>,
    /// Stop sending and reading, leaving TCP open, after this many data messages.
    pub stall_after_messages: Option<u64>,
    /// After this many data messages, send each of `bad_frames` once, then carry on.
    pub bad_frames_after: u64,
    /// The bad frames to send.
    pub bad_frames: Vec<BadFrame>,
    /// Answer the first upgrades (of any connection) with these instead of accepting.
    pub reject_upgrades: Vec<Rejection>,
    /// A connection to a stream that was served before first repeats its last this-many ids
    /// (on a combined connection, each such stream does).
    pub replay_on_reconnect: u64,
}

impl Faults {
    /// Whether per-connection faults apply to connection number `connection` (from 1).
    pub fn applies_to(&self, connection: u64) -> bool {
        self.faulty_connections
            .is_none_or(|count| connection <= count)
    }
}
