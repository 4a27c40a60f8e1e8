//! One mock connection (`mock-conn-N`): TLS and WebSocket handshakes (or a rejection), then
//! a loop that sends what is due, pings when due, injects the configured faults and reads
//! what the client sends (pongs, close frames) in between. The loop never blocks longer than
//! [`MAX_IDLE_WAIT`], so it notices the exchange stopping, and it stops producing while the
//! client is not reading (no id is generated that cannot be written).
//!
//! A raw connection (`/ws/<stream>`) carries one stream; a combined one
//! (`/stream?streams=<s1>/<s2>/...`) several, each a [`Lane`] with its own place in its
//! stream's log and its own pacing, its frames wrapped as `{"stream":..,"data":..}`.

use std::io;
use std::net::TcpStream;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tungstenite::handshake::HandshakeError;
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::{HeaderValue, StatusCode};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Error as WsError, Message, Utf8Bytes, WebSocket};

use super::faults::BadFrame;
use super::{MockEvent, Rate, Shared, StreamLog};
use crate::rand::Rng;
use crate::spec::StreamKind;

/// Time a client has to finish the TLS and WebSocket handshakes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest the loop waits for anything.
const MAX_IDLE_WAIT: Duration = Duration::from_millis(50);

/// A write to a client that does not read gives up after this long and is retried later.
const WRITE_TIMEOUT: Duration = Duration::from_millis(100);

/// Messages written between two looks at what the client sent, at an unlimited rate.
const UNLIMITED_BATCH: u32 = 256;

/// How far behind schedule a rate-limited stream may fall before it stops catching up.
const MAX_CATCH_UP: Duration = Duration::from_secs(1);

/// How long a closing connection waits for the client's close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The longest gap between two events of a stream, whatever the configured rate.
const MAX_GAP: Duration = Duration::from_secs(3_600);

/// Streams one combined connection may carry, as on Binance.
const MAX_STREAMS: usize = 1_024;

type MockSocket = WebSocket<MaybeTlsStream<TcpStream>>;

/// Serves one accepted TCP connection until it ends or the exchange stops.
pub(super) fn serve(tcp: TcpStream, connection: u64, shared: &Shared) {
    let Ok(control) = tcp.try_clone() else {
        return;
    };
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    if control.set_nodelay(true).is_err()
        || control.set_read_timeout(Some(MAX_IDLE_WAIT)).is_err()
        || control.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    let (socket, path) = match handshake(tcp, shared, deadline) {
        Ok(accepted) => accepted,
        Err(detail) => {
            if !shared.stopping() {
                shared.emit(MockEvent::HandshakeFailed { detail });
            }
            return;
        }
    };
    let Some(request) = parse_stream_path(&path) else {
        return;
    };
    let (lanes, ordinal) = open_lanes(shared, request.streams);
    shared.emit(MockEvent::Connected {
        connection,
        path,
        at: Instant::now(),
    });
    let faulty = shared.config.faults.applies_to(ordinal);
    let sent = Session {
        socket,
        control,
        shared,
        connection,
        faulty,
        combined: request.combined,
        lanes,
        sent: 0,
        bad_frames_pending: faulty && !shared.config.faults.bad_frames.is_empty(),
        scratch: String::with_capacity(256),
    }
    .run();
    shared.emit(MockEvent::Disconnected {
        connection,
        sent,
        at: Instant::now(),
    });
}

/// One stream a connection asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StreamName {
    /// `<lowercase symbol>@<kind>`, as Binance names streams: the key of the stream's log
    /// and the `stream` of the combined wrapper.
    name: String,
    /// The symbol, lowercase.
    symbol: String,
    kind: StreamKind,
}

/// What a connection's path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StreamRequest {
    /// Combined (`/stream?streams=`): every frame is wrapped as `{"stream":..,"data":..}`.
    combined: bool,
    /// The streams, in the order asked, without repeats.
    streams: Vec<StreamName>,
}

/// Parses a request path, after any route prefix such as `/market` or `/public`: a raw
/// stream, `/ws/ethusdt@trade`, or a combined one,
/// `/stream?streams=ethusdt@trade/ethusdt@depth@100ms`. Other query parameters (such as
/// `timeUnit`) are ignored. `None` for anything else, which gets a 404.
fn parse_stream_path(path: &str) -> Option<StreamRequest> {
    let (route, query) = match path.split_once('?') {
        Some((route, query)) => (route, Some(query)),
        None => (path, None),
    };
    if let Some((_, stream)) = route.rsplit_once("/ws/") {
        return Some(StreamRequest {
            combined: false,
            streams: vec![parse_stream_name(stream)?],
        });
    }
    if !route.ends_with("/stream") {
        return None;
    }
    let list = query?
        .split('&')
        .find_map(|parameter| parameter.strip_prefix("streams="))?;
    if list.split('/').count() > MAX_STREAMS {
        return None;
    }
    let mut streams: Vec<StreamName> = Vec::new();
    for name in list.split('/') {
        let stream = parse_stream_name(name)?;
        if streams.iter().all(|known| known.name != stream.name) {
            streams.push(stream);
        }
    }
    Some(StreamRequest {
        combined: true,
        streams,
    })
}

/// Parses one stream name, `ethusdt@trade` or `ethusdt@depth@100ms` (the kind may hold a
/// second `@`), percent-encoded or not. Symbols are letters, digits and `_`, as the
/// listener's: that also keeps names safe to copy into JSON unescaped.
fn parse_stream_name(encoded: &str) -> Option<StreamName> {
    let decoded = percent_decode(encoded)?;
    let (symbol, kind) = decoded.split_once('@')?;
    let symbol_char = |c: char| c.is_alphanumeric() || c == '_';
    if symbol.is_empty() || !symbol.chars().all(symbol_char) {
        return None;
    }
    let kind = kind.parse::<StreamKind>().ok()?;
    let symbol = symbol.to_lowercase();
    Some(StreamName {
        name: format!("{symbol}@{}", kind.name()),
        symbol,
        kind,
    })
}

/// Decodes `%XX` escapes: the listener percent-encodes non-ASCII symbols, which Binance
/// accepts. `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail
                .get(..2)
                .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))?;
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = tail.get(2..)?;
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// Joins the log of each requested stream. Returns the lanes and the connection's ordinal
/// for per-connection faults: the most connections any of its streams has had, so a
/// reconnect counts as one even if it adds a stream.
fn open_lanes(shared: &Shared, streams: Vec<StreamName>) -> (Vec<Lane>, u64) {
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
                log,
                cursor,
                next_due: now,
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
fn market_rate(shared: &Shared) -> Option<f64> {
    match shared.config.rate {
        Rate::PerSecond(rate) if shared.config.market => Some(rate),
        _ => None,
    }
}

/// Market mode: how many events have happened since the exchange started.
fn ids_due(shared: &Shared, rate: f64) -> u64 {
    (shared.started.elapsed().as_secs_f64() * rate) as u64
}

/// TLS (if configured) and the WebSocket upgrade; unknown paths get a 404 and
/// `Faults::reject_upgrades` their status.
// The path check's signature (`Result<Response, ErrorResponse>`) is tungstenite's.
#[allow(clippy::result_large_err)]
fn handshake(
    tcp: TcpStream,
    shared: &Shared,
    deadline: Instant,
) -> Result<(MockSocket, String), String> {
    let stream = match &shared.tls {
        None => MaybeTlsStream::Plain(tcp),
        Some(acceptor) => {
            let mut attempt = acceptor.accept(tcp);
            loop {
                match attempt {
                    Ok(tls) => break MaybeTlsStream::NativeTls(tls),
                    Err(native_tls::HandshakeError::WouldBlock(partial)) => {
                        if Instant::now() >= deadline || shared.stopping() {
                            return Err("TLS handshake timed out".to_owned());
                        }
                        attempt = partial.handshake();
                    }
                    Err(native_tls::HandshakeError::Failure(error)) => {
                        return Err(format!("TLS handshake failed: {error}"));
                    }
                }
            }
        }
    };
    let mut path = String::new();
    let check_path = |request: &Request, response: Response| {
        path = request.uri().to_string();
        if parse_stream_path(&path).is_none() {
            let mut error = ErrorResponse::new(Some(format!("no such stream: {path}")));
            *error.status_mut() = StatusCode::NOT_FOUND;
            return Err(error);
        }
        if let Some(rejection) = shared.next_rejection() {
            shared.emit(MockEvent::Rejected {
                status: rejection.status,
                at: Instant::now(),
            });
            let mut error = ErrorResponse::new(Some("rejected by a fault".to_owned()));
            *error.status_mut() =
                StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
            if let Some(seconds) = rejection.retry_after_secs {
                error
                    .headers_mut()
                    .insert("Retry-After", HeaderValue::from(seconds));
            }
            return Err(error);
        }
        Ok(response)
    };
    let config = WebSocketConfig::default()
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(16 << 20);
    let mut attempt = tungstenite::accept_hdr_with_config(stream, check_path, Some(config));
    loop {
        match attempt {
            Ok(socket) => return Ok((socket, path)),
            Err(HandshakeError::Interrupted(partial)) => {
                if Instant::now() >= deadline || shared.stopping() {
                    return Err("WebSocket handshake timed out".to_owned());
                }
                attempt = partial.handshake();
            }
            Err(HandshakeError::Failure(error)) => {
                return Err(format!("WebSocket handshake failed: {error}"));
            }
        }
    }
}

/// One stream of a connection: where it is in the stream's log and when its next event
/// is due.
struct Lane {
    /// The stream's name, for the combined wrapper.
    name: String,
    log: Arc<Mutex<StreamLog>>,
    /// The id to send next.
    cursor: u64,
    /// When the next event is due, at a rate without market mode.
    next_due: Instant,
}

/// One connection's sending side and the faults it still has to inject.
struct Session<'a> {
    socket: MockSocket,
    control: TcpStream,
    shared: &'a Shared,
    connection: u64,
    /// Whether per-connection faults apply to this connection.
    faulty: bool,
    /// Whether frames are wrapped as `{"stream":..,"data":..}`.
    combined: bool,
    lanes: Vec<Lane>,
    /// Data messages sent, across all lanes: what the per-connection faults count.
    sent: u64,
    /// Whether `Faults::bad_frames` are still to be sent.
    bad_frames_pending: bool,
    scratch: String,
}

/// Whether the connection can go on.
#[derive(PartialEq, Eq)]
enum Link {
    Open,
    Gone,
}

/// What one round of sending did.
#[derive(Default)]
struct Progress {
    /// Something was written.
    wrote: bool,
    /// The client is not reading: frames wait in the write buffer.
    backlogged: bool,
}

impl Session<'_> {
    /// Runs until the connection ends; returns the number of data messages sent.
    fn run(mut self) -> u64 {
        let config = &self.shared.config;
        let faults = &config.faults;
        let opened = Instant::now();
        let mut rng = Rng::from_entropy(self.connection);
        let mut next_ping = config.ping_interval.map(|interval| opened + interval);
        let mut pings = 0u64;
        let mut backlogged = false;
        let mut batches = 0u32;
        loop {
            if self.shared.stopping() {
                let _ = self.socket.close(None);
                let _ = self.socket.flush();
                return self.sent;
            }
            if self.faulty {
                let limit_reached = |limit: Option<u64>| limit.is_some_and(|k| self.sent >= k);
                if limit_reached(faults.reset_after_messages) {
                    let sent = self.sent;
                    self.reset();
                    return sent;
                }
                if limit_reached(faults.stall_after_messages) {
                    self.stall();
                    return self.sent;
                }
                if limit_reached(faults.close_after_messages)
                    || faults
                        .close_after
                        .is_some_and(|age| opened.elapsed() >= age)
                {
                    self.close_cleanly();
                    return self.sent;
                }
                if self.bad_frames_pending && self.sent >= faults.bad_frames_after {
                    self.bad_frames_pending = false;
                    if self.send_bad_frames(&faults.bad_frames) == Link::Gone {
                        return self.sent;
                    }
                }
            }
            let now = Instant::now();
            if backlogged {
                match self.flush() {
                    Err(()) => return self.sent,
                    Ok(still_backlogged) => backlogged = still_backlogged,
                }
            }
            let market_due = market_rate(self.shared).map(|rate| ids_due(self.shared, rate));
            let mut wrote = false;
            if !backlogged {
                let Ok(progress) = self.send_due(now, market_due, &mut rng) else {
                    return self.sent;
                };
                (wrote, backlogged) = (progress.wrote, progress.backlogged);
            }
            if let Some(at) = next_ping
                && at <= now
            {
                pings += 1;
                let ping = format!("mock-ping-{pings}").into_bytes();
                if let Err(WsError::Io(error)) = self.socket.write(Message::Ping(ping.into()))
                    && !is_timeout(&error)
                {
                    return self.sent;
                }
                wrote = true;
                next_ping = config.ping_interval.map(|interval| now + interval);
            }
            if wrote && !backlogged {
                match self.flush() {
                    Err(()) => return self.sent,
                    Ok(still_backlogged) => backlogged = still_backlogged,
                }
            }
            let busy = config.rate == Rate::Unlimited
                && market_due.is_none()
                && !self.exhausted()
                && !backlogged
                && !(self.faulty && self.at_fault_limit());
            if busy {
                batches += 1;
                if batches % 16 != 0 {
                    continue;
                }
            }
            let wait = if busy {
                Duration::ZERO
            } else {
                self.idle_wait(backlogged, next_ping)
            };
            if self.read_incoming(wait) == Link::Gone {
                return self.sent;
            }
        }
    }

    /// Writes what is due, taking the lanes in turn so no stream starves the others, up to
    /// a batch; stops early at a fault limit or when the client stops reading. `Err` when
    /// the connection is gone.
    fn send_due(
        &mut self,
        now: Instant,
        market_due: Option<u64>,
        rng: &mut Rng,
    ) -> Result<Progress, ()> {
        let mut progress = Progress::default();
        let mut batch = 0;
        loop {
            let mut sent_this_round = false;
            for index in 0..self.lanes.len() {
                if batch >= UNLIMITED_BATCH
                    || progress.backlogged
                    || (self.faulty && self.at_fault_limit())
                {
                    return Ok(progress);
                }
                if !self.lane_due(&self.lanes[index], now, market_due) {
                    continue;
                }
                progress.backlogged = self.send_next(index)?;
                self.pace(index, now, market_due, rng);
                progress.wrote = true;
                sent_this_round = true;
                batch += 1;
            }
            if !sent_this_round {
                return Ok(progress);
            }
        }
    }

    /// Whether `lane`'s next event is due: its id has happened (market mode), its time has
    /// come (a rate), or always (unlimited) — unless the lane has sent all it may.
    fn lane_due(&self, lane: &Lane, now: Instant, market_due: Option<u64>) -> bool {
        if self.lane_exhausted(lane) {
            return false;
        }
        match market_due {
            Some(due) => lane.cursor <= due,
            None => self.shared.config.rate == Rate::Unlimited || lane.next_due <= now,
        }
    }

    /// Writes lane `index`'s next event (wrapped on a combined connection). `Ok(true)` when
    /// the client is slow to read (the frame is buffered); `Err` when the connection is gone.
    fn send_next(&mut self, index: usize) -> Result<bool, ()> {
        let micros = self.shared.config.micros;
        let lane = &mut self.lanes[index];
        let payload = {
            let mut log = lane.log.lock().unwrap_or_else(PoisonError::into_inner);
            log.payload(lane.cursor, event_time(micros), &mut self.scratch)
        };
        let frame = if self.combined {
            wrap(&lane.name, &payload)
        } else {
            payload
        };
        let backlogged = match self.socket.write(Message::Text(frame)) {
            Ok(()) => false,
            Err(WsError::Io(error)) if is_timeout(&error) => true,
            Err(_) => return Err(()),
        };
        lane.cursor += 1;
        self.sent += 1;
        Ok(backlogged)
    }

    /// Schedules lane `index`'s next event at the configured rate (evenly, or at random when
    /// lively), catching up at most [`MAX_CATCH_UP`] after a stall.
    fn pace(&mut self, index: usize, now: Instant, market_due: Option<u64>, rng: &mut Rng) {
        let config = &self.shared.config;
        let (None, Rate::PerSecond(rate)) = (market_due, config.rate) else {
            return;
        };
        let gap = if config.lively {
            lively_gap(rng, rate)
        } else {
            seconds(1.0 / rate)
        };
        let lane = &mut self.lanes[index];
        let floor = now.checked_sub(MAX_CATCH_UP).unwrap_or(now);
        lane.next_due = lane.next_due.max(floor) + gap;
    }

    /// How long to wait for the client before anything is due: the earliest lane's next
    /// event or the next ping, at most [`MAX_IDLE_WAIT`].
    fn idle_wait(&self, backlogged: bool, next_ping: Option<Instant>) -> Duration {
        let mut wait = MAX_IDLE_WAIT;
        if !backlogged {
            let config = &self.shared.config;
            for lane in self.lanes.iter().filter(|lane| !self.lane_exhausted(lane)) {
                let until = match market_rate(self.shared) {
                    // Since the start, which may be hours: not capped like a gap.
                    Some(rate) => Duration::try_from_secs_f64(lane.cursor as f64 / rate)
                        .unwrap_or(Duration::MAX)
                        .saturating_sub(self.shared.started.elapsed()),
                    None if config.rate != Rate::Unlimited => {
                        lane.next_due.saturating_duration_since(Instant::now())
                    }
                    None => MAX_IDLE_WAIT,
                };
                wait = wait.min(until);
            }
        }
        if let Some(at) = next_ping {
            wait = wait.min(at.saturating_duration_since(Instant::now()));
        }
        wait
    }

    /// Whether every lane has sent all `MockConfig::count` ids.
    fn exhausted(&self) -> bool {
        self.lanes.iter().all(|lane| self.lane_exhausted(lane))
    }

    /// Whether `lane` has sent all `MockConfig::count` ids.
    fn lane_exhausted(&self, lane: &Lane) -> bool {
        self.shared
            .config
            .count
            .is_some_and(|count| lane.cursor > count)
    }

    /// Whether a per-connection fault is due before the next message.
    fn at_fault_limit(&self) -> bool {
        let faults = &self.shared.config.faults;
        [
            faults.reset_after_messages,
            faults.stall_after_messages,
            faults.close_after_messages,
        ]
        .into_iter()
        .flatten()
        .any(|limit| self.sent >= limit)
            || (self.bad_frames_pending && self.sent >= faults.bad_frames_after)
    }

    /// Resets the TCP connection: no close frame, an RST on the wire.
    fn reset(self) {
        let _ = socket2::SockRef::from(&self.control).set_linger(Some(Duration::ZERO));
        // Dropping both handles closes the socket; with a zero linger that sends RST.
    }

    /// Stops sending and reading, leaving the TCP connection open until the exchange stops.
    fn stall(&self) {
        while !self.shared.stopping() {
            std::thread::sleep(MAX_IDLE_WAIT);
        }
    }

    /// Sends a close frame and waits briefly for the client's reply.
    fn close_cleanly(&mut self) {
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
        let deadline = Instant::now() + CLOSE_GRACE;
        while Instant::now() < deadline && self.read_incoming(MAX_IDLE_WAIT) == Link::Open {}
    }

    /// Sends each bad frame once.
    fn send_bad_frames(&mut self, frames: &[BadFrame]) -> Link {
        for frame in frames {
            let messages: Vec<Message> = match frame {
                BadFrame::InvalidJson => vec![Message::text("{this is not json")],
                BadFrame::Binary => vec![Message::binary(b"\x00\x01binary\xff".to_vec())],
                BadFrame::UnknownEvent => vec![Message::text(format!(
                    r#"{{"e":"mysteryEvent","E":{},"s":"MOCK"}}"#,
                    event_time(false)
                ))],
                BadFrame::ErrorObject => {
                    vec![Message::text(r#"{"code":-1121,"msg":"Invalid symbol."}"#)]
                }
                BadFrame::WrappedError => vec![Message::text(
                    r#"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}"#,
                )],
                BadFrame::ControlResponse => vec![Message::text(r#"{"result":null,"id":1}"#)],
                BadFrame::Oversized(bytes) => vec![Message::text("x".repeat(*bytes))],
                BadFrame::PingFlood(count) => (0..*count)
                    .map(|n| Message::Ping(format!("flood-{n}").into_bytes().into()))
                    .collect(),
                BadFrame::ServerShutdown => vec![Message::text(self.server_shutdown())],
            };
            for message in messages {
                match self.socket.write(message) {
                    Ok(()) => {}
                    Err(WsError::Io(error)) if is_timeout(&error) => {}
                    Err(_) => return Link::Gone,
                }
            }
        }
        match self.flush() {
            Err(()) => Link::Gone,
            Ok(_) => Link::Open,
        }
    }

    /// Binance's planned-shutdown notice; a combined connection gets it wrapped as a frame
    /// of the `!serverShutdown` stream, as `extra/combined_serverShutdown.json`.
    fn server_shutdown(&self) -> String {
        let notice = format!(r#"{{"e":"serverShutdown","E":{}}}"#, event_time(false));
        if self.combined {
            format!(r#"{{"stream":"!serverShutdown","data":{notice}}}"#)
        } else {
            notice
        }
    }

    /// Flushes buffered frames; `Ok(true)` when the client is not keeping up.
    fn flush(&mut self) -> Result<bool, ()> {
        match self.socket.flush() {
            Ok(()) => Ok(false),
            Err(WsError::Io(error)) if is_timeout(&error) => Ok(true),
            Err(_) => Err(()),
        }
    }

    /// Reads at most one message from the client, waiting up to `wait` (zero: only if one is
    /// already there).
    fn read_incoming(&mut self, wait: Duration) -> Link {
        let waited = if wait.is_zero() {
            self.control.set_nonblocking(true)
        } else {
            self.control
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
        };
        if waited.is_err() {
            return Link::Gone;
        }
        let result = self.socket.read();
        if wait.is_zero() && self.control.set_nonblocking(false).is_err() {
            return Link::Gone;
        }
        match result {
            Ok(Message::Pong(payload)) => {
                self.shared.emit(MockEvent::Pong {
                    connection: self.connection,
                    payload: payload.to_vec(),
                });
                Link::Open
            }
            Ok(Message::Close(_)) => {
                self.shared.emit(MockEvent::ClientClosed {
                    connection: self.connection,
                });
                // tungstenite has queued the reply; the next read completes the close.
                Link::Open
            }
            Ok(_) => Link::Open,
            Err(WsError::Io(error)) if is_timeout(&error) => Link::Open,
            Err(_) => Link::Gone,
        }
    }
}

/// A combined connection's frame, `{"stream":"<name>","data":<payload>}`, as
/// `combined_trade.json`. Stream names hold only letters, digits, `_` and `@` (checked when
/// parsed), so they need no JSON escaping.
fn wrap(name: &str, payload: &str) -> Utf8Bytes {
    const OVERHEAD: usize = r#"{"stream":"","data":}"#.len();
    let mut frame = String::with_capacity(OVERHEAD + name.len() + payload.len());
    frame.push_str(r#"{"stream":""#);
    frame.push_str(name);
    frame.push_str(r#"","data":"#);
    frame.push_str(payload);
    frame.push('}');
    Utf8Bytes::from(frame)
}

/// The gap to the next event of a lively stream: exponential around `rate`, with bursts
/// at six times the rate about a tenth of the time.
fn lively_gap(rng: &mut Rng, rate: f64) -> Duration {
    let burst = rng.below(10) == 0;
    let rate = if burst { rate * 6.0 } else { rate };
    let uniform = rng.next_f64().max(1e-9);
    seconds((-uniform.ln() / rate).min(5.0))
}

/// `secs` as a duration, at most [`MAX_GAP`]: a zero, negative or absurd rate in the
/// configuration must not panic a connection thread.
fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).map_or(MAX_GAP, |duration| duration.min(MAX_GAP))
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Now, in milliseconds since the epoch, or microseconds when `micros`.
fn event_time(micros: bool) -> u64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    if micros {
        elapsed.as_micros() as u64
    } else {
        elapsed.as_millis() as u64
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;

    use super::*;
    use crate::event::{Decoder, Event};
    use crate::mock::{Faults, MockConfig, MockEvent, MockExchange};
    use crate::sequence::{SequenceCheck, Verdict};
    use crate::spec::{Symbol, UpdateSpeed};

    fn names(request: &StreamRequest) -> Vec<&str> {
        request
            .streams
            .iter()
            .map(|stream| stream.name.as_str())
            .collect()
    }

    #[test]
    fn raw_paths_accept_route_prefixes() {
        let request = parse_stream_path("/ws/ethusdt@trade").unwrap();
        assert!(!request.combined);
        assert_eq!(
            request.streams,
            [StreamName {
                name: "ethusdt@trade".to_owned(),
                symbol: "ethusdt".to_owned(),
                kind: StreamKind::Trade,
            }]
        );
        assert!(parse_stream_path("/market/ws/btcusdt@aggTrade").is_some());
        assert!(parse_stream_path("/public/ws/btcusdt@depth@100ms?timeUnit=MICROSECOND").is_some());
        assert!(parse_stream_path("/ws/ethusdt@depth9").is_none());
        assert!(parse_stream_path("/ws/@trade").is_none());
        assert!(parse_stream_path("/ws/eth\"usdt@trade").is_none());
        assert!(parse_stream_path("/").is_none());
    }

    #[test]
    fn combined_paths_list_their_streams() {
        let path = "/stream?streams=ethusdt@trade/ethusdt@depth@100ms/ethusdt@kline_1m";
        let request = parse_stream_path(path).unwrap();
        assert!(request.combined);
        assert_eq!(
            names(&request),
            ["ethusdt@trade", "ethusdt@depth@100ms", "ethusdt@kline_1m"]
        );
        let kinds: Vec<StreamKind> = request.streams.iter().map(|stream| stream.kind).collect();
        assert_eq!(
            kinds,
            [
                StreamKind::Trade,
                StreamKind::Depth(UpdateSpeed::Fast),
                StreamKind::Kline(1)
            ]
        );
        let routed = "/public/stream?streams=btcusdt@depth/ethusdt@depth&timeUnit=MICROSECOND";
        assert_eq!(
            names(&parse_stream_path(routed).unwrap()),
            ["btcusdt@depth", "ethusdt@depth"]
        );
    }

    #[test]
    fn combined_names_are_canonical_and_unique() {
        let request =
            parse_stream_path("/stream?streams=ETHUSDT@AGGTRADE/ethusdt@aggTrade/%C3%A9th@trade")
                .unwrap();
        assert_eq!(names(&request), ["ethusdt@aggTrade", "éth@trade"]);
    }

    #[test]
    fn bad_combined_paths_are_refused() {
        for path in [
            "/stream",
            "/stream?",
            "/stream?streams=",
            "/stream?streams=ethusdt@trade/",
            "/stream?streams=ethusdt@trade/ethusdt@nonsense",
            "/stream?streams=ethusdt@trade%",
            "/stream?streams=%FF@trade",
            "/stream?streams=%+f@trade",
            "/streams?streams=ethusdt@trade",
            "/stream?other=ethusdt@trade",
        ] {
            assert!(parse_stream_path(path).is_none(), "{path}");
        }
        let many: Vec<String> = (0..=MAX_STREAMS).map(|n| format!("s{n}@trade")).collect();
        assert!(parse_stream_path(&format!("/stream?streams={}", many.join("/"))).is_none());
    }

    #[test]
    fn combined_frames_decode_with_the_listeners_decoder() {
        let symbol: Symbol = "ETHUSDT".parse().unwrap();
        let kinds = [
            StreamKind::Trade,
            StreamKind::Depth(UpdateSpeed::Fast),
            StreamKind::Kline(1),
        ];
        let decoder = Decoder::new(&symbol, &kinds);
        let mut scratch = String::new();
        for (index, kind) in kinds.into_iter().enumerate() {
            let name = format!("ethusdt@{}", kind.name());
            let mut log = StreamLog::new("ethusdt", kind);
            let mut check = SequenceCheck::new();
            for id in 1..=50 {
                let payload = log.payload(id, 1_732_500_000_000 + id * 100, &mut scratch);
                let frame = wrap(&name, &payload);
                let (decoded, event) = decoder.decode(&frame).unwrap();
                assert_eq!(decoded, index, "{}", frame.as_str());
                assert_eq!(check.check(event.sequence().unwrap()), Verdict::Next);
            }
        }
    }

    #[test]
    fn the_combined_wrapper_matches_the_fixture() {
        let fixture = include_str!("../../tests/fixtures/binance/combined_trade.json");
        let data = include_str!("../../tests/fixtures/binance/trade.json");
        assert_eq!(wrap("bnbbtc@trade", data.trim()).as_str(), fixture.trim());
    }

    type Client = WebSocket<MaybeTlsStream<TcpStream>>;

    /// A client whose reads give up after a few seconds, so no test can hang.
    fn connect(exchange: &MockExchange, path: &str) -> Client {
        let (client, _) = tungstenite::connect(format!("{}{path}", exchange.url())).unwrap();
        if let MaybeTlsStream::Plain(tcp) = client.get_ref() {
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        }
        client
    }

    /// The next `count` data frames (fewer if the connection closes or goes quiet),
    /// skipping pings.
    fn read_frames(client: &mut Client, count: usize) -> Vec<String> {
        let mut frames = Vec::new();
        while frames.len() < count {
            match client.read() {
                Ok(Message::Text(text)) => frames.push(text.as_str().to_owned()),
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        frames
    }

    #[test]
    fn a_combined_connection_paces_each_stream_and_shares_logs_with_raw_ones() {
        // Only the first connection is faulty: the raw one, closed after 10 trades. The
        // combined one is the trade stream's second connection, so it is spared.
        let faults = Faults {
            faulty_connections: Some(1),
            close_after_messages: Some(10),
            ..Faults::default()
        };
        let config = MockConfig::new()
            .rate(Rate::Unlimited)
            .count(30)
            .faults(faults);
        let exchange = MockExchange::start(config).unwrap();
        let symbol: Symbol = "ETHUSDT".parse().unwrap();
        let kinds = [
            StreamKind::Trade,
            StreamKind::Depth(UpdateSpeed::Fast),
            StreamKind::Kline(1),
        ];
        let path = "/stream?streams=ethusdt@trade/ethusdt@depth@100ms/ethusdt@kline_1m";
        let mut raw = connect(&exchange, "/ws/ethusdt@trade");
        let first_raw = read_frames(&mut raw, 10);
        drop(raw);
        let mut client = connect(&exchange, path);
        let decoder = Decoder::new(&symbol, &kinds);
        let mut checks = [
            SequenceCheck::new(),
            SequenceCheck::new(),
            SequenceCheck::new(),
        ];
        let mut per_stream = [0; 3];
        let mut trade_ids = Vec::new();
        for frame in read_frames(&mut client, 20 + 30 + 30) {
            let (index, event) = decoder
                .decode(&frame)
                .unwrap_or_else(|e| panic!("{e}: {frame}"));
            assert_eq!(
                checks[index].check(event.sequence().unwrap()),
                Verdict::Next,
                "{frame}"
            );
            per_stream[index] += 1;
            if let Event::Trade(trade) = event {
                trade_ids.push(trade.trade_id);
            }
        }
        assert_eq!(per_stream, [20, 30, 30]);
        assert_eq!(first_raw.len(), 10);
        assert_eq!(
            trade_ids,
            (11..=30).collect::<Vec<u64>>(),
            "the raw connection's log continues"
        );
        let connected = exchange.events().iter().find_map(|event| match event {
            MockEvent::Connected { path, .. } if path.starts_with("/stream") => Some(path),
            _ => None,
        });
        assert_eq!(connected.as_deref(), Some(path));
    }

    /// Trade ids per stream index of a combined connection's frames.
    fn ids_by_stream(decoder: &Decoder, frames: &[String]) -> Vec<Vec<u64>> {
        let mut ids = vec![Vec::new(); decoder.kinds().len()];
        for frame in frames {
            let (index, event) = decoder.decode(frame).unwrap();
            ids[index].push(event.sequence().unwrap().id);
        }
        ids
    }

    #[test]
    fn each_stream_of_a_combined_connection_has_its_own_pace() {
        // 20 a second per stream: 4 events each take 150 ms; a shared pace would take 550.
        let config = MockConfig::new().rate(Rate::PerSecond(20.0)).count(4);
        let exchange = MockExchange::start(config).unwrap();
        let symbol: Symbol = "BTCUSDT".parse().unwrap();
        let decoder = Decoder::new(
            &symbol,
            &[
                StreamKind::Trade,
                StreamKind::AggTrade,
                StreamKind::BookTicker,
            ],
        );
        let started = Instant::now();
        let mut client = connect(
            &exchange,
            "/stream?streams=btcusdt@trade/btcusdt@aggTrade/btcusdt@bookTicker",
        );
        let frames = read_frames(&mut client, 12);
        let elapsed = started.elapsed();
        assert_eq!(ids_by_stream(&decoder, &frames), vec![vec![1, 2, 3, 4]; 3]);
        assert!(elapsed < Duration::from_millis(450), "{elapsed:?}");
    }

    #[test]
    fn market_mode_runs_each_combined_stream_on_the_clock() {
        let config = MockConfig::new().rate(Rate::PerSecond(50.0)).market(true);
        let exchange = MockExchange::start(config).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let symbol: Symbol = "ETHUSDT".parse().unwrap();
        let decoder = Decoder::new(&symbol, &[StreamKind::Trade, StreamKind::AggTrade]);
        let mut client = connect(&exchange, "/stream?streams=ethusdt@trade/ethusdt@aggTrade");
        let ids = ids_by_stream(&decoder, &read_frames(&mut client, 10));
        for stream in &ids {
            assert!(stream[0] > 1, "joined the market late: {ids:?}");
            assert!(
                stream.windows(2).all(|pair| pair[1] == pair[0] + 1),
                "{ids:?}"
            );
        }
    }

    #[test]
    fn faults_count_the_messages_of_all_streams_of_a_connection() {
        let faults = Faults {
            close_after_messages: Some(10),
            ..Faults::default()
        };
        let config = MockConfig::new()
            .rate(Rate::Unlimited)
            .faults(faults)
            .futures(true);
        let exchange = MockExchange::start(config).unwrap();
        let mut client = connect(
            &exchange,
            "/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice@1s",
        );
        let frames = read_frames(&mut client, 100);
        assert_eq!(frames.len(), 10, "{frames:?}");
        assert!(
            frames.iter().any(|frame| frame.contains(r#""nq":"#)),
            "futures aggTrades"
        );
        assert!(frames.iter().any(|frame| frame.contains("markPriceUpdate")));
    }

    #[test]
    fn unknown_streams_get_a_404() {
        let exchange = MockExchange::start(MockConfig::new()).unwrap();
        let url = format!(
            "{}/stream?streams=ethusdt@trade/ethusdt@nonsense",
            exchange.url()
        );
        match tungstenite::connect(url) {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 404),
            other => panic!("expected a 404, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn combined_connections_get_a_wrapped_server_shutdown() {
        let faults = Faults {
            bad_frames_after: 2,
            bad_frames: vec![crate::mock::BadFrame::ServerShutdown],
            ..Faults::default()
        };
        let exchange = MockExchange::start(
            MockConfig::new()
                .rate(Rate::Unlimited)
                .count(5)
                .faults(faults),
        )
        .unwrap();
        let mut client = connect(
            &exchange,
            "/stream?streams=ethusdt@trade/ethusdt@bookTicker",
        );
        let frames = read_frames(&mut client, 3);
        assert!(
            frames[2].starts_with(r#"{"stream":"!serverShutdown","data":{"e":"serverShutdown""#),
            "{}",
            frames[2]
        );
    }
}
