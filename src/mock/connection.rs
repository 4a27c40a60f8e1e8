//! One mock connection (`mock-conn-N`): TLS and WebSocket handshakes, then a loop that sends
//! what is due at the configured rate, pings when due, and reads what the client sends
//! (pongs, close frames) in between. The loop never blocks longer than [`MAX_IDLE_WAIT`], so
//! it notices the exchange stopping, and it stops producing while the client is not reading
//! (no id is generated that cannot be written).

use std::io;
use std::net::TcpStream;
use std::sync::PoisonError;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tungstenite::handshake::HandshakeError;
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::StatusCode;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Error as WsError, Message, WebSocket};

use super::{MockEvent, Rate, Shared};
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

type MockSocket = WebSocket<MaybeTlsStream<TcpStream>>;

/// Serves one accepted TCP connection until it ends or the exchange stops.
pub(super) fn serve(tcp: TcpStream, connection: u64, shared: &Shared) {
    let control = match tcp.try_clone() {
        Ok(control) => control,
        Err(_) => return,
    };
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    if control.set_nodelay(true).is_err()
        || control.set_read_timeout(Some(MAX_IDLE_WAIT)).is_err()
        || control.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    let (mut socket, path) = match handshake(tcp, shared, deadline) {
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
    shared.emit(MockEvent::Connected {
        connection,
        path: path.clone(),
    });
    let feed = shared.feed(&stream, &symbol, kind);
    let sent = Sender {
        socket: &mut socket,
        control: &control,
        shared,
        connection,
        feed: &feed,
    }
    .run();
    shared.emit(MockEvent::Disconnected { connection, sent });
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

/// TLS (if configured) and the WebSocket upgrade; unknown paths get a 404.
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
        if parse_stream_path(&path).is_some() {
            Ok(response)
        } else {
            let mut error = ErrorResponse::new(Some(format!("no such stream: {path}")));
            *error.status_mut() = StatusCode::NOT_FOUND;
            Err(error)
        }
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

/// The send loop of one connection.
struct Sender<'a> {
    socket: &'a mut MockSocket,
    control: &'a TcpStream,
    shared: &'a Shared,
    connection: u64,
    feed: &'a std::sync::Mutex<super::Feed>,
}

/// Whether the connection can go on.
#[derive(PartialEq, Eq)]
enum Link {
    Open,
    Gone,
}

impl Sender<'_> {
    /// Returns the number of data messages sent.
    fn run(mut self) -> u64 {
        let config = &self.shared.config;
        let mut rng = Rng::from_entropy(self.connection);
        let mut payload = String::with_capacity(256);
        let mut sent = 0u64;
        let mut next_due = Instant::now();
        let mut next_ping = config
            .ping_interval
            .map(|interval| Instant::now() + interval);
        let mut pings = 0u64;
        let mut backlogged = false;
        let mut exhausted = false;
        let mut batches = 0u32;
        loop {
            if self.shared.stopping() {
                let _ = self.socket.close(None);
                let _ = self.socket.flush();
                return sent;
            }
            let now = Instant::now();
            if backlogged {
                match self.flush() {
                    Err(()) => return sent,
                    Ok(still_backlogged) => backlogged = still_backlogged,
                }
            }
            let mut wrote = false;
            let mut batch = 0;
            while !backlogged && !exhausted && batch < UNLIMITED_BATCH {
                if let Rate::PerSecond(_) = config.rate
                    && next_due > now
                {
                    break;
                }
                {
                    let mut feed = self.feed.lock().unwrap_or_else(PoisonError::into_inner);
                    if config.count.is_some_and(|count| feed.next_id() > count) {
                        exhausted = true;
                        break;
                    }
                    feed.next_payload(&mut payload, event_time(config.micros));
                }
                match self.socket.write(Message::text(payload.as_str())) {
                    Ok(()) => {}
                    // The message is buffered; the client is slow to read.
                    Err(WsError::Io(error)) if is_timeout(&error) => backlogged = true,
                    Err(_) => return sent,
                }
                sent += 1;
                batch += 1;
                wrote = true;
                if let Rate::PerSecond(rate) = config.rate {
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
                    return sent;
                }
                wrote = true;
                next_ping = config.ping_interval.map(|interval| now + interval);
            }
            if wrote && !backlogged {
                match self.flush() {
                    Err(()) => return sent,
                    Ok(still_backlogged) => backlogged = still_backlogged,
                }
            }
            let busy = config.rate == Rate::Unlimited && !exhausted && !backlogged;
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
                if !exhausted && !backlogged && config.rate != Rate::Unlimited {
                    wait = wait.min(next_due.saturating_duration_since(Instant::now()));
                }
                if let Some(at) = next_ping {
                    wait = wait.min(at.saturating_duration_since(Instant::now()));
                }
                wait
            };
            if self.read_incoming(wait) == Link::Gone {
                return sent;
            }
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
