//! A connection's handshakes: TLS when configured, then the WebSocket upgrade, answered
//! with a 404 for an unknown path, with a [`Rejection`](crate::Rejection) status while
//! the faults call for one, and trickled when `Faults::trickle_handshake` applies.

use std::cell::Cell;
use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tungstenite::WebSocket;
use tungstenite::handshake::HandshakeError;
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::{HeaderValue, StatusCode};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;

use crate::path::parse_stream_path;
use crate::stream::{MockStream, Trickle};
use crate::{MockEvent, Shared};

/// A connection's socket once the upgrade is done.
pub(crate) type MockSocket = WebSocket<MockStream>;

/// What a connection turned out to be.
pub(crate) enum Accepted {
    /// A WebSocket, upgraded for the request path (boxed: a socket is large, and the
    /// other variant empty).
    Socket(Box<MockSocket>, String),
    /// A REST request, answered (the connection is done).
    Rest,
}

/// The longest the handshake loop sleeps between two looks at the exchange stopping.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// TLS (if configured) and the WebSocket upgrade; unknown paths get a 404 and
/// `Faults::reject_upgrades` their status. `deadline` bounds the client's part; a trickled
/// answer (`Faults::trickle_handshake`) takes as long as it takes, until the client hangs
/// up or the exchange stops.
// The path check's signature (`Result<Response, ErrorResponse>`) is tungstenite's.
#[allow(clippy::result_large_err)]
pub(crate) fn handshake(
    tcp: TcpStream,
    shared: &Shared,
    deadline: Instant,
) -> Result<Accepted, String> {
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
    let trickle = shared.config.faults.trickle_handshake;
    // With a trickle configured, the answer waits until the path says whether it applies.
    let mut stream = MockStream::new(stream, trickle.is_some());
    // The request head tells a REST snapshot request from an upgrade; tungstenite reads it
    // again from the stream's replay.
    let head = read_head(&mut stream, shared, deadline)?;
    if let Some(target) = rest_target(&head) {
        stream.release(None);
        crate::rest::serve_rest(&mut stream, &target, shared);
        return Ok(Accepted::Rest);
    }
    stream.replay_first(head);
    let trickled: Cell<Option<bool>> = Cell::new(None);
    let mut path = String::new();
    let check_path = |request: &Request, response: Response| {
        path = request.uri().to_string();
        trickled.set(Some(false));
        let Some(request) = parse_stream_path(&path) else {
            let mut error = ErrorResponse::new(Some(format!("no such stream: {path}")));
            *error.status_mut() = StatusCode::NOT_FOUND;
            return Err(error);
        };
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
        let ordinal = shared.prospective_ordinal(&request.streams);
        trickled.set(Some(shared.config.faults.applies_to(ordinal)));
        Ok(response)
    };
    let config = WebSocketConfig::default()
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(16 << 20);
    let mut attempt = tungstenite::accept_hdr_with_config(stream, check_path, Some(config));
    let mut trickling = false;
    loop {
        match attempt {
            Ok(mut socket) => {
                socket.get_mut().set_trickle(None);
                return Ok(Accepted::Socket(Box::new(socket), path));
            }
            Err(HandshakeError::Interrupted(mut partial)) => {
                if shared.stopping() || (!trickling && Instant::now() >= deadline) {
                    return Err("WebSocket handshake timed out".to_owned());
                }
                let stream = partial.get_mut().get_mut();
                if stream.held()
                    && let Some(applies) = trickled.get()
                {
                    trickling = applies;
                    let trickle = trickle
                        .filter(|_| applies)
                        .map(|(chunk, pause)| Trickle::new(chunk, pause));
                    stream.release(trickle);
                } else if let Some(next) = stream.next_write_at() {
                    let wait = next.saturating_duration_since(Instant::now());
                    std::thread::sleep(wait.min(MAX_PAUSE));
                }
                attempt = partial.handshake();
            }
            Err(HandshakeError::Failure(error)) => {
                return Err(format!("WebSocket handshake failed: {error}"));
            }
        }
    }
}

/// The longest request head read.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Reads the client's request head (up to the blank line), within `deadline`.
fn read_head(
    stream: &mut MockStream,
    shared: &Shared,
    deadline: Instant,
) -> Result<Vec<u8>, String> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        if head.len() > MAX_HEAD_BYTES {
            return Err("request head too long".to_owned());
        }
        if Instant::now() >= deadline || shared.stopping() {
            return Err("request head timed out".to_owned());
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err("the client hung up before its request".to_owned()),
            Ok(read) => head.extend_from_slice(&chunk[..read]),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(error) => return Err(format!("reading the request failed: {error}")),
        }
    }
    Ok(head)
}

/// The target of a REST snapshot request (`/api/v3/depth?symbol=..`), if the head is one.
fn rest_target(head: &[u8]) -> Option<String> {
    if !crate::rest::is_rest_request(head) {
        return None;
    }
    let line = head.split(|byte| *byte == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    line.split(' ').nth(1).map(str::to_owned)
}
