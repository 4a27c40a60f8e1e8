//! Opening one stream's WebSocket: TCP (with a timeout, no Nagle), TLS through native-tls
//! (system roots plus `--ca-cert`), then the WebSocket upgrade. The socket is watched by the
//! pipeline's stop token from the moment TCP connects ([`WatchedTcp`]), so a stop interrupts
//! a handshake at once, and the handshake deadline is checked before every socket read, so
//! a server trickling its answer cannot hold the attempt past it. Failures are classified
//! by what the reader should do next ([`ConnectError::is_fatal`],
//! [`ConnectError::retry_after`]).

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use native_tls::{Certificate, TlsConnector};
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Error as WsError, WebSocket};

use super::hints::{Failure, scheme_hint};
use super::watched::{Deadlines, ReceiveClock, Stalled, WatchedTcp, stalled, watched_tcp};
use crate::control::stop::{StopToken, Watch};
use binance_streams::Endpoint;

/// An open market-data WebSocket.
pub(crate) type Socket = WebSocket<MaybeTlsStream<WatchedTcp>>;

/// A connection just opened: the WebSocket and a handle on its TCP socket (for timeouts).
pub(crate) struct Opened {
    /// The WebSocket.
    pub socket: Socket,
    /// Keeps the socket watched by the stop token while the connection lives.
    pub watch: Watch,
    /// When the socket last delivered bytes.
    pub clock: ReceiveClock,
    /// The TCP socket under the WebSocket (shared, not a second descriptor).
    pub tcp: Arc<TcpStream>,
}

/// The read timeout a connection starts with: the longest its first read blocks before
/// the reader looks at its timers (stall detection, drop reports). From then on the timers
/// set it to when the next of them is due (`Reader::check_health`). A stop does not wait
/// for it: it wakes the read at once (see [`WatchedTcp`]).
pub(crate) const READ_TICK: Duration = Duration::from_secs(1);

/// Time allowed for the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Time allowed for the TLS and WebSocket handshakes together, by default
/// (`connection.handshake_timeout`).
pub(crate) const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes are rare (pongs, close frames); one that cannot finish in this time means a dead link.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default largest frame or message accepted. Binance's biggest payloads (depth20,
/// all-market arrays) are tens of KiB; tungstenite's 64 MiB default would let one bad frame
/// eat memory.
pub(crate) const DEFAULT_MAX_FRAME_BYTES: usize = 1 << 20;

/// Bytes read from the socket at a time. Market-data frames are small; tungstenite's 128 KiB
/// default costs 128 KiB per symbol for nothing.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Opens connections; one per process, shared by every reader.
pub(crate) struct Connector {
    /// The TLS client, for `wss://` runs only: building it loads and parses the system's
    /// whole CA bundle (a few hundred million instructions, ~0.1 s), which a `ws://` run
    /// (`--simulate`, a local relay) never needs.
    tls: Option<TlsConnector>,
    websocket: WebSocketConfig,
}

/// Why a connection could not be opened.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The stop token fired during the attempt.
    Stopped,
    /// The host name did not resolve.
    Resolve {
        /// `host:port` tried.
        host_port: String,
        /// The resolver's error.
        error: io::Error,
    },
    /// No TCP connection (refused, unreachable, timed out).
    Tcp {
        /// `host:port` tried.
        host_port: String,
        /// The last address's error.
        error: io::Error,
    },
    /// The TLS handshake failed.
    Tls {
        /// `host:port` tried.
        host_port: String,
        /// The TLS library's reason.
        detail: String,
        /// Whether the server's certificate was not trusted: retrying cannot help.
        certificate: bool,
    },
    /// The server answered the upgrade with an HTTP error status.
    Rejected {
        /// `host:port` tried.
        host_port: String,
        /// The stream URL asked for.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The `Retry-After` header, if any.
        retry_after: Option<Duration>,
        /// A clause suggesting the other scheme, when the status hints at a mismatch.
        hint: String,
    },
    /// Any other handshake failure (timeout, protocol error, connection reset).
    Handshake {
        /// `host:port` tried.
        host_port: String,
        /// What went wrong.
        detail: String,
    },
}

impl ConnectError {
    /// Whether retrying is pointless: an untrusted certificate will not become trusted, and
    /// a server that refuses the upgrade with a client error (404: no such stream; 403,
    /// 451: not for this client) will refuse it again. 408 (timeout), 418 (ban) and 429
    /// (too many requests) are about timing, and are retried.
    pub(crate) fn is_fatal(&self) -> bool {
        match self {
            Self::Tls { certificate, .. } => *certificate,
            Self::Rejected { status, .. } => refuses_for_good(*status),
            _ => false,
        }
    }

    /// The earliest the server allows another attempt (`Retry-After`).
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Rejected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status of a rejected upgrade.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Self::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stopped => f.write_str("stopped while connecting"),
            Self::Resolve { host_port, error } => write!(f, "cannot resolve {host_port}: {error}"),
            Self::Tcp { host_port, error } => write!(f, "cannot connect to {host_port}: {error}"),
            Self::Tls {
                host_port,
                detail,
                certificate: true,
            } => write!(
                f,
                "TLS certificate of {host_port} is not trusted: {detail}; if the server uses a private CA, pass it with --ca-cert FILE"
            ),
            Self::Tls {
                host_port, detail, ..
            } => write!(f, "TLS handshake with {host_port} failed: {detail}"),
            Self::Rejected {
                url, status, hint, ..
            } if refuses_for_good(*status) => {
                let reason = http_reason(*status);
                write!(
                    f,
                    "{url} refused the WebSocket upgrade with HTTP {status}{reason}, which retrying cannot change; check the symbol, --stream and --endpoint{hint}"
                )
            }
            Self::Rejected {
                host_port,
                status,
                retry_after,
                ..
            } => {
                write!(
                    f,
                    "{host_port} refused the WebSocket upgrade with HTTP {status}"
                )?;
                if let Some(wait) = retry_after {
                    write!(f, " (Retry-After: {}s)", wait.as_secs())?;
                }
                Ok(())
            }
            Self::Handshake { host_port, detail } => {
                write!(f, "WebSocket handshake with {host_port} failed: {detail}")
            }
        }
    }
}

impl Connector {
    /// A connector trusting the system's roots plus `extra_roots` (`--ca-cert`), accepting
    /// frames of up to `max_frame_bytes`; with a TLS client only when `tls` (the endpoint is
    /// `wss://`).
    ///
    /// # Errors
    /// The TLS library could not be initialised.
    pub(crate) fn new(
        extra_roots: &[Certificate],
        max_frame_bytes: usize,
        tls: bool,
    ) -> Result<Self, native_tls::Error> {
        let tls = if tls {
            let mut builder = TlsConnector::builder();
            for root in extra_roots {
                builder.add_root_certificate(root.clone());
            }
            Some(builder.build()?)
        } else {
            None
        };
        let websocket = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(0)
            .max_write_buffer_size(1 << 20)
            .max_message_size(Some(max_frame_bytes))
            .max_frame_size(Some(max_frame_bytes));
        Ok(Self { tls, websocket })
    }

    /// Opens `url` (a stream URL of `endpoint`), keeping `deadlines`. The socket returned
    /// reads with a [`READ_TICK`] timeout.
    ///
    /// # Errors
    /// Why no connection was made; see [`ConnectError`].
    pub(crate) fn connect(
        &self,
        url: &str,
        endpoint: &Endpoint,
        stop: &StopToken,
        deadlines: Deadlines,
    ) -> Result<Opened, ConnectError> {
        let host_port = endpoint.host_port();
        let tcp = Arc::new(connect_tcp(endpoint, &host_port)?);
        let deadline = Instant::now() + deadlines.handshake;
        let handshake_failed = |detail: String| ConnectError::Handshake {
            host_port: host_port.clone(),
            detail,
        };
        tcp.set_read_timeout(Some(READ_TICK))
            .and_then(|()| tcp.set_write_timeout(Some(WRITE_TIMEOUT)))
            .and_then(|()| tcp.set_nodelay(true))
            .map_err(|error| handshake_failed(error.to_string()))?;
        let watch = stop.watch(&tcp);
        let clock = ReceiveClock::default();
        let watched = WatchedTcp::new(
            Arc::clone(&tcp),
            stop.clone(),
            clock.clone(),
            deadline,
            deadlines,
        );
        let stream = if endpoint.is_tls() {
            MaybeTlsStream::NativeTls(
                self.tls_handshake(watched, endpoint, &host_port, stop, deadline, deadlines)?,
            )
        } else {
            MaybeTlsStream::Plain(watched)
        };
        let request = url
            .into_client_request()
            .map_err(|error| handshake_failed(error.to_string()))?;
        let mut attempt =
            tungstenite::client::client_with_config(request, stream, Some(self.websocket));
        loop {
            match attempt {
                Ok((mut socket, _response)) => {
                    if let Some(watched) = watched_tcp(&mut socket) {
                        watched.handshake_done();
                    }
                    return Ok(Opened {
                        socket,
                        watch,
                        clock,
                        tcp,
                    });
                }
                Err(HandshakeError::Interrupted(partial)) => {
                    check_progress(stop, deadline, &host_port, deadlines)?;
                    attempt = partial.handshake();
                }
                Err(HandshakeError::Failure(error)) => {
                    return Err(upgrade_error(error, host_port, url, endpoint));
                }
            }
        }
    }

    fn tls_handshake(
        &self,
        tcp: WatchedTcp,
        endpoint: &Endpoint,
        host_port: &str,
        stop: &StopToken,
        deadline: Instant,
        deadlines: Deadlines,
    ) -> Result<native_tls::TlsStream<WatchedTcp>, ConnectError> {
        let Some(tls) = &self.tls else {
            return Err(ConnectError::Tls {
                host_port: host_port.to_owned(),
                certificate: false,
                detail: "TLS was not set up for this run (its endpoint is ws://)".to_owned(),
            });
        };
        let mut attempt = tls.connect(endpoint.host(), tcp);
        loop {
            match attempt {
                Ok(stream) => return Ok(stream),
                Err(native_tls::HandshakeError::WouldBlock(partial)) => {
                    check_progress(stop, deadline, host_port, deadlines)?;
                    attempt = partial.handshake();
                }
                // The TLS library reports our deadline as its own I/O failure.
                Err(native_tls::HandshakeError::Failure(_)) if Instant::now() >= deadline => {
                    return Err(ConnectError::Handshake {
                        host_port: host_port.to_owned(),
                        detail: Stalled::Handshake(deadlines.handshake).to_string(),
                    });
                }
                Err(native_tls::HandshakeError::Failure(error)) => {
                    let mut detail = error.to_string();
                    let certificate = detail.contains("certificate");
                    if !certificate && let Some(hint) = scheme_hint(endpoint, Failure::Tls(&detail))
                    {
                        detail.push_str(&hint);
                    }
                    return Err(ConnectError::Tls {
                        host_port: host_port.to_owned(),
                        certificate,
                        detail,
                    });
                }
            }
        }
    }
}

/// Resolves `endpoint` and connects to the first address that answers.
fn connect_tcp(endpoint: &Endpoint, host_port: &str) -> Result<TcpStream, ConnectError> {
    let addresses: Vec<SocketAddr> = (endpoint.host(), endpoint.port())
        .to_socket_addrs()
        .map_err(|error| ConnectError::Resolve {
            host_port: host_port.to_owned(),
            error,
        })?
        .collect();
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "no address found");
    for address in addresses {
        match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(tcp) => return Ok(tcp),
            Err(error) => last_error = error,
        }
    }
    Err(ConnectError::Tcp {
        host_port: host_port.to_owned(),
        error: last_error,
    })
}

/// Between two resumptions of a handshake: give up if stopped or out of time.
fn check_progress(
    stop: &StopToken,
    deadline: Instant,
    host_port: &str,
    deadlines: Deadlines,
) -> Result<(), ConnectError> {
    if stop.is_triggered() {
        return Err(ConnectError::Stopped);
    }
    if Instant::now() >= deadline {
        return Err(ConnectError::Handshake {
            host_port: host_port.to_owned(),
            detail: Stalled::Handshake(deadlines.handshake).to_string(),
        });
    }
    Ok(())
}

/// A client error other than 408 (request timeout), 418 (IP ban) and 429 (too many
/// requests): the server will answer the same next time.
fn refuses_for_good(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 408 | 418 | 429)
}

/// ` Not Found` for 404: the standard reason phrase, with its space, if the status has one.
fn http_reason(status: u16) -> String {
    tungstenite::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .map(|reason| format!(" {reason}"))
        .unwrap_or_default()
}

fn upgrade_error(
    error: WsError,
    host_port: String,
    url: &str,
    endpoint: &Endpoint,
) -> ConnectError {
    match error {
        WsError::Io(error) if stalled(&error).is_some() => ConnectError::Handshake {
            host_port,
            detail: error.to_string(),
        },
        WsError::Http(response) => {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let status = response.status().as_u16();
            ConnectError::Rejected {
                host_port,
                url: url.to_owned(),
                status,
                retry_after,
                hint: scheme_hint(endpoint, Failure::Status(status)).unwrap_or_default(),
            }
        }
        other => {
            let mut detail = other.to_string();
            if let Some(hint) = scheme_hint(endpoint, Failure::Upgrade(&detail)) {
                detail.push_str(&hint);
            }
            ConnectError::Handshake { host_port, detail }
        }
    }
}
