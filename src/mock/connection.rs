//! One mock connection (`mock-conn-N`): TLS and WebSocket handshakes (or a rejection), then
//! a loop that sends what is due, pings when due, injects the configured faults and reads
//! what the client sends (pongs, close frames) in between. The loop never blocks longer than
//! [`MAX_IDLE_WAIT`], so it notices the exchange stopping, and it stops producing while the
//! client is not reading (no id is generated that cannot be written).

use std::io;
use std::net::TcpStream;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tungstenite::handshake::HandshakeError;
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::{HeaderValue, StatusCode};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Error as WsError, Message, WebSocket};

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
    let Some((stream, symbol, kind)) = parse_stream_path(&path) else {
        return;
    };
    let log = shared.stream(&stream, &symbol, kind);
    let (ordinal, first_id) = {
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
    };
    shared.emit(MockEvent::Connected {
        connection,
        path,
        at: Instant::now(),
    });
    let sent = Session {
        socket,
        control,
        shared,
        connection,
        faulty: shared.config.faults.applies_to(ordinal),
        log: &log,
        cursor: first_id,
        sent: 0,
        bad_frames_pending: shared.config.faults.applies_to(ordinal)
            && !shared.config.faults.bad_frames.is_empty(),
        scratch: String::with_capacity(256),
    }
    .run();
    shared.emit(MockEvent::Disconnected {
        connection,
        sent,
        at: Instant::now(),
    });
}

/// Splits `/ws/ethusdt@trade` (after any route prefix such as `/market`) into the stream
/// name, its symbol and its kind.
fn parse_stream_path(path: &str) -> Option<(String, String, StreamKind)> {
    let (_, stream) = path.rsplit_once("/ws/")?;
    let (symbol, kind) = stream.split_once('@')?;
    let kind = kind.parse::<StreamKind>().ok()?;
    if symbol.is_empty() {
        return None;
    }
    Some((stream.to_owned(), symbol.to_owned(), kind))
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

/// One connection's sending side and the faults it still has to inject.
struct Session<'a> {
    socket: MockSocket,
    control: TcpStream,
    shared: &'a Shared,
    connection: u64,
    /// Whether per-connection faults apply to this connection.
    faulty: bool,
    log: &'a Mutex<StreamLog>,
    /// The id to send next.
    cursor: u64,
    /// Data messages sent.
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

impl Session<'_> {
    /// Runs until the connection ends; returns the number of data messages sent.
    fn run(mut self) -> u64 {
        let config = &self.shared.config;
        let faults = &config.faults;
        let opened = Instant::now();
        let mut rng = Rng::from_entropy(self.connection);
        let mut next_due = Instant::now();
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
            let mut wrote = false;
            let mut batch = 0;
            let market_due = market_rate(self.shared).map(|rate| ids_due(self.shared, rate));
            while !backlogged && batch < UNLIMITED_BATCH && !self.exhausted() {
                if self.faulty && self.at_fault_limit() {
                    break;
                }
                match market_due {
                    Some(due) if self.cursor > due => break,
                    None if config.rate != Rate::Unlimited && next_due > now => break,
                    _ => {}
                }
                let payload = {
                    let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
                    log.payload(self.cursor, event_time(config.micros), &mut self.scratch)
                };
                match self.socket.write(Message::Text(payload)) {
                    Ok(()) => {}
                    // The message is buffered; the client is slow to read.
                    Err(WsError::Io(error)) if is_timeout(&error) => backlogged = true,
                    Err(_) => return self.sent,
                }
                self.cursor += 1;
                self.sent += 1;
                batch += 1;
                wrote = true;
                if let (None, Rate::PerSecond(rate)) = (market_due, config.rate) {
                    let gap = if config.lively {
                        lively_gap(&mut rng, rate)
                    } else {
                        Duration::from_secs_f64(1.0 / rate)
                    };
                    next_due = next_due.max(now - MAX_CATCH_UP) + gap;
                }
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
                let mut wait = MAX_IDLE_WAIT;
                if !self.exhausted() && !backlogged {
                    match market_rate(self.shared) {
                        Some(rate) => {
                            let due_at = Duration::from_secs_f64(self.cursor as f64 / rate);
                            wait = wait.min(due_at.saturating_sub(self.shared.started.elapsed()));
                        }
                        None if config.rate != Rate::Unlimited => {
                            wait = wait.min(next_due.saturating_duration_since(Instant::now()));
                        }
                        None => {}
                    }
                }
                if let Some(at) = next_ping {
                    wait = wait.min(at.saturating_duration_since(Instant::now()));
                }
                wait
            };
            if self.read_incoming(wait) == Link::Gone {
                return self.sent;
            }
        }
    }

    /// Whether `MockConfig::count` ids have all been sent.
    fn exhausted(&self) -> bool {
        self.shared
            .config
            .count
            .is_some_and(|count| self.cursor > count)
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
                BadFrame::ServerShutdown => vec![Message::text(format!(
                    r#"{{"e":"serverShutdown","E":{}}}"#,
                    event_time(false)
                ))],
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

/// The gap to the next event of a lively stream: exponential around `rate`, with bursts
/// at six times the rate about a tenth of the time.
fn lively_gap(rng: &mut Rng, rate: f64) -> Duration {
    let burst = rng.below(10) == 0;
    let rate = if burst { rate * 6.0 } else { rate };
    let uniform = rng.next_f64().max(1e-9);
    Duration::from_secs_f64((-uniform.ln() / rate).min(5.0))
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
    use super::*;

    #[test]
    fn stream_paths_accept_route_prefixes() {
        let (stream, symbol, kind) = parse_stream_path("/ws/ethusdt@trade").unwrap();
        assert_eq!(
            (stream.as_str(), symbol.as_str(), kind),
            ("ethusdt@trade", "ethusdt", StreamKind::Trade)
        );
        assert!(parse_stream_path("/market/ws/btcusdt@aggTrade").is_some());
        assert!(parse_stream_path("/ws/ethusdt@depth9").is_none());
        assert!(parse_stream_path("/ws/@trade").is_none());
        assert!(parse_stream_path("/").is_none());
    }
}
