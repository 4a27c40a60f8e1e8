//! The trouble the mock exchange can make, so tests can show the listener survives it:
//! clean closes, TCP resets, stalls, replays, rejected upgrades, bad frames, slow writers,
//! half-closed and silent connections, protocol violations, id jumps and huge frames.

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

/// The code and reason of a close frame, e.g. 1001 `going away: maintenance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseNotice {
    /// The close code (RFC 6455 §7.4), e.g. 1001 (going away) or 1008 (policy violation).
    pub code: u16,
    /// The reason, at most 123 bytes of UTF-8 (the mock cuts a longer one).
    pub reason: String,
}

impl CloseNotice {
    /// A close frame with this code and reason.
    pub fn new(code: u16, reason: &str) -> Self {
        Self {
            code,
            reason: reason.to_owned(),
        }
    }
}

/// One extra event in a stream's sequence: after the stream's event `after` goes out, an
/// event carrying the id `id` follows, then the stream goes on with `after + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdJump {
    /// The id after which the stray event goes out.
    pub after: u64,
    /// The stray event's id, in the stream's event-id space (see [`Faults::id_jumps`]).
    pub id: u64,
}

/// Faults applied to connections. Per-connection faults (all but `reject_upgrades` and
/// `replay_on_reconnect`) hit only the first `faulty_connections` connections (all, when
/// `None`); `trickle_handshake` hits the upgrades of those connections.
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
    /// A slow server or a congested proxy: the `101 Switching Protocols` answer goes out
    /// `.0` bytes at a time (at least 1) with a pause of `.1` between chunks, so a client
    /// whose handshake deadline does not hold hangs with it. The answer is complete and
    /// correct if the client waits: the mock's own handshake deadline stops counting once
    /// the answer starts. A client that hangs up meanwhile is reported as
    /// [`MockEvent::HandshakeFailed`](crate::MockEvent::HandshakeFailed) (no
    /// `Connected`). Applies to the upgrades that would be faulty connections.
    pub trickle_handshake: Option<(usize, Duration)>,
    /// A connection that slows to a crawl mid-message (a dying link, a proxy with a full
    /// buffer): after this many data messages (`.0`), everything queued is flushed, then
    /// the next event's frame is written one byte at a time with a pause of at least `.1`
    /// between bytes. It is a valid text frame once complete. No further data follows it
    /// (pongs and pings queue behind it), so it trickles until the client gives up or the
    /// exchange stops. Nothing is trickled when the connection has no next event (count
    /// reached).
    pub trickle_frame_after: Option<(u64, Duration)>,
    /// A server that says goodbye but never hangs up (or a proxy that swallows the FIN):
    /// after this many data messages, send a close frame ([`Faults::close_notice`], else
    /// 1001 `going away`), then send nothing and answer nothing, leaving TCP open until the
    /// client hangs up or the exchange stops. The client's close reply is discarded
    /// unanswered; only its hang-up (FIN or RST) is noticed, and ends the connection.
    pub close_without_tcp_close_after: Option<u64>,
    /// The code and reason of the close frames sent by `close_after_messages`,
    /// `close_after` and `close_without_tcp_close_after`. `None`: the first two send a
    /// close frame without a code, the last 1001 `going away`.
    pub close_notice: Option<CloseNotice>,
    /// A broken proxy or server: after this many good data messages, send a text frame
    /// with the reserved bit RSV1 set though no extension was negotiated (a protocol
    /// violation a client must fail the connection for, RFC 6455 §5.2), then send and
    /// answer nothing, leaving TCP open until the client hangs up or the exchange stops,
    /// as `close_without_tcp_close_after` does.
    pub protocol_error_after: Option<u64>,
    /// A stream that goes quiet while the connection stays healthy, like Binance's retired
    /// futures URLs in April 2026 (upgrade accepted, then nothing): after this many data
    /// messages, no more data, ever; server pings ([`MockConfig::ping_interval`]) go on,
    /// the client's pings get pongs and its close frame a reply. Unlike
    /// `stall_after_messages`, which stops reading and pinging too.
    ///
    /// [`MockConfig::ping_interval`]: crate::MockConfig::ping_interval
    pub silent_after: Option<u64>,
    /// Sequence breaks a gap check must catch: for each [`IdJump`], on every stream of the
    /// connection, right after the event with id `after` goes out, one more event goes
    /// out carrying id `id`, then the stream continues with `after + 1`, `after + 2`, ...
    /// The stray event is a valid payload of the stream's kind, generated as event `id`
    /// would be (it is not logged, so other connections never see it): trade `t` = `id`,
    /// aggTrade `a` = `id` (its `f`/`l` jump too, to 3 × `id`), bookTicker `u` = `id`, diff
    /// depth the update ids the book gives event `id` (`u` = the stream's base, 1e9 to
    /// 2e9, plus 4 × `id` to 4 × `id` + 3; `U` and `pu` to match), partial depth its
    /// `lastUpdateId` (futures: `u`) likewise. Kinds without an id (klines, tickers,
    /// prices, liquidations) get a fresh event stamped now, which is no jump. The stray
    /// event counts as a data message. A stream that starts past `after` on the
    /// connection never sends it; `after` may be the last id of `MockConfig::count`.
    pub id_jumps: Vec<IdJump>,
    /// As captured from COIN-M (`MockConfig::coin_futures`): the first event of each depth
    /// stream on a connection carries `"pu":-1` (no previous update), which an unsigned
    /// `pu` field cannot hold. Later events carry the real `pu`. Only events that have a
    /// `pu` (futures diff and partial depth) change.
    pub first_depth_pu_unknown: bool,
    /// Huge messages (a proxy that batches, a book snapshot of every level), for a client's
    /// memory bound in bytes: every data frame smaller than this many bytes is padded to
    /// exactly this size with a last field, `"padding":"xx..."`, added to the payload,
    /// which stays a valid event of its kind (decoders ignore unknown fields). On a
    /// combined connection the size is the whole wrapped frame's.
    pub huge_frames: Option<usize>,
    /// Lost updates: events with these ids are never sent on a faulty connection (the
    /// stream goes on with the next id), so a book built from the stream has a gap.
    pub drop_ids: Vec<u64>,
    /// Reordered updates: on a faulty connection, the event after each of these ids goes
    /// out first, then the event itself (`5, 7, 6, 8` for id 6).
    pub swap_ids: Vec<u64>,
    /// A crossed book: on a faulty connection, the diff-depth events with these ids carry
    /// one more bid, far above every ask (`99999999`, not logged: the true book never has
    /// it), which a listener must treat as a broken book.
    pub cross_ids: Vec<u64>,
    /// REST depth snapshots: after the rejections, this many requests get an HTTP 500.
    pub snapshot_errors: u64,
    /// REST depth snapshots: the first requests (of any symbol) are answered with these
    /// statuses (429, 418) and their `Retry-After` instead of a snapshot.
    pub snapshot_rejections: Vec<Rejection>,
    /// REST depth snapshots: each answer waits this long; the book is read after the wait.
    pub snapshot_delay: Option<Duration>,
    /// REST depth snapshots: the first this-many (after any rejections and errors) hold the book as it
    /// was before the stream's first event: in market mode (`MockConfig::market`), older
    /// than anything a client that joined the running market has buffered.
    pub stale_snapshots: u64,
}

impl Faults {
    /// Whether per-connection faults apply to connection number `connection` (from 1).
    pub fn applies_to(&self, connection: u64) -> bool {
        self.faulty_connections
            .is_none_or(|count| connection <= count)
    }
}

#[cfg(test)]
mod tests;
