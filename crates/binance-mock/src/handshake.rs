//! A connection's handshakes: TLS when configured, then the WebSocket upgrade, answered
//! with a 404 for an unknown path and with a [`Rejection`](crate::Rejection) status while
//! the faults call for one.

use std::net::TcpStream;
use std::time::Instant;

use tungstenite::WebSocket;
use tungstenite::handshake::HandshakeError;
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::{HeaderValue, StatusCode};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;

use crate::path::parse_stream_path;
use crate::{MockEvent, Shared};

/// A connection's socket once the upgrade is done.
pub(crate) type MockSocket = WebSocket<MaybeTlsStream<TcpStream>>;

/// TLS (if configured) and the WebSocket upgrade; unknown paths get a 404 and
/// `Faults::reject_upgrades` their status.
// The path check's signature (`Result<Response, ErrorResponse>`) is tungstenite's.
#[allow(clippy::result_large_err)]
pub(crate) fn handshake(
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
