//! `--metrics ADDR`: a small HTTP/1.1 server on one thread (`metrics`) that answers
//! `GET /metrics` with every symbol's counters, gauges and latency histograms in the
//! Prometheus text format ([`exposition`]) and `GET /healthz` with whether every symbol is
//! connected and fresh ([`health`]). It reads the same atomics as the exit summary, at
//! scrape time: nothing is added to the per-message path.
//!
//! The socket is bound while the configuration is checked ([`MetricsListener::bind`]), so
//! a port in use is a usage error before any pipeline starts; `app` starts the thread once
//! the pipelines exist and stops it at the end, tiny-http style: set the close flag, then
//! connect to the listener so the blocked `accept` returns.

mod exposition;
mod health;
mod http;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use binance_streams::Symbol;

use crate::stats::SymbolStats;

/// How long the shutdown's wake-up connection may take: loopback answers at once.
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// The metrics socket, bound (and listening) but not yet served.
#[derive(Debug)]
pub(crate) struct MetricsListener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl MetricsListener {
    /// Binds `addr` (port 0: any free port, see [`MetricsListener::local_addr`]), shared
    /// by the configuration (which must stay `Clone`) and the server thread.
    ///
    /// # Errors
    /// A one-line message naming the address and why it cannot be served (in use, not
    /// an address of this machine, a privileged port).
    pub(crate) fn bind(addr: SocketAddr) -> Result<Arc<Self>, String> {
        let listener = TcpListener::bind(addr).map_err(|error| {
            let why = match error.kind() {
                io::ErrorKind::AddrInUse => {
                    "the port is in use (another binance-listen or exporter?)".to_owned()
                }
                io::ErrorKind::AddrNotAvailable => "not an address of this machine".to_owned(),
                io::ErrorKind::PermissionDenied => {
                    "permission denied (ports below 1024 need privileges)".to_owned()
                }
                _ => error.to_string(),
            };
            format!("cannot serve metrics on {addr}: {why}")
        })?;
        let addr = listener.local_addr().unwrap_or(addr);
        Ok(Arc::new(Self { listener, addr }))
    }

    /// The address served, with the real port when port 0 was asked for.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Binds the `--metrics` address, if one was given (see [`MetricsListener::bind`]).
///
/// # Errors
/// A one-line message naming the address and why it cannot be served.
pub(crate) fn bind_metrics(
    addr: Option<SocketAddr>,
) -> Result<Option<Arc<MetricsListener>>, String> {
    addr.map(MetricsListener::bind).transpose()
}

/// Parses `--metrics ADDR`: `IP:PORT` (`[IPv6]:PORT`), or `localhost:PORT`.
///
/// # Errors
/// A one-line message naming the text and the accepted form.
pub(crate) fn parse_metrics_addr(text: &str) -> Result<SocketAddr, String> {
    let local = text
        .strip_prefix("localhost:")
        .and_then(|port| port.parse::<u16>().ok())
        .map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    local.or_else(|| text.parse().ok()).ok_or_else(|| {
        format!(
            "invalid metrics address '{text}': expected IP:PORT, like 127.0.0.1:9100 or [::1]:9100 (0.0.0.0:9100 listens on every interface)"
        )
    })
}

/// What the endpoint reads for one symbol.
pub(crate) struct MetricsSource {
    /// The symbol.
    pub symbol: Symbol,
    /// Its counters, connection state and latency histograms.
    pub stats: Arc<SymbolStats>,
    /// Reads how many frames wait in its queue now.
    pub queue_depth: Box<dyn Fn() -> usize + Send + Sync>,
}

impl fmt::Debug for MetricsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSource")
            .field("symbol", &self.symbol)
            .finish_non_exhaustive()
    }
}

/// Labels every symbol's series share besides `symbol`.
#[derive(Debug, Clone)]
pub(crate) struct SharedLabels {
    /// The stream kinds of each symbol's one connection, joined with commas
    /// (`trade,bookTicker`): every count is per connection, so per symbol.
    pub stream: String,
    /// The market (`spot`, `futures`, ...).
    pub market: String,
}

/// The running server; [`MetricsServer::stop`] (or dropping it) ends it.
pub(crate) struct MetricsServer {
    closing: Arc<AtomicBool>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

/// Starts serving `/metrics` and `/healthz` on `listener`.
///
/// # Errors
/// The thread could not be started.
pub(crate) fn spawn_metrics_server(
    listener: Arc<MetricsListener>,
    sources: Vec<MetricsSource>,
    labels: SharedLabels,
) -> io::Result<MetricsServer> {
    let closing = Arc::new(AtomicBool::new(false));
    let addr = listener.local_addr();
    let endpoints = http::Endpoints::new(sources, labels);
    let flag = Arc::clone(&closing);
    let thread = thread::Builder::new()
        .name("metrics".to_owned())
        .spawn(move || http::run_server(&listener.listener, &endpoints, &flag))?;
    Ok(MetricsServer {
        closing,
        addr,
        thread: Some(thread),
    })
}

impl MetricsServer {
    /// Stops the server: a request being answered is finished first (within its
    /// deadline), then the thread ends.
    pub(crate) fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.closing.store(true, Ordering::SeqCst);
        // Wake the blocked `accept` with a connection of our own. A wildcard address is
        // reached through loopback. Without the wake-up (it cannot fail on loopback short
        // of running out of descriptors) the thread is left to the process exit.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        if TcpStream::connect_timeout(&wake, WAKE_TIMEOUT).is_ok() {
            let _ = thread.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_a_bad_one_says_what_is_expected() {
        assert_eq!(
            parse_metrics_addr("127.0.0.1:9100"),
            Ok("127.0.0.1:9100".parse().unwrap())
        );
        assert_eq!(
            parse_metrics_addr("localhost:9100"),
            Ok("127.0.0.1:9100".parse().unwrap())
        );
        assert_eq!(
            parse_metrics_addr("[::1]:9100"),
            Ok("[::1]:9100".parse().unwrap())
        );
        assert_eq!(
            parse_metrics_addr("9100").unwrap_err(),
            "invalid metrics address '9100': expected IP:PORT, like 127.0.0.1:9100 or [::1]:9100 (0.0.0.0:9100 listens on every interface)"
        );
        assert!(parse_metrics_addr("127.0.0.1:99999").is_err());
    }

    #[test]
    fn a_port_in_use_is_named() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let error = MetricsListener::bind(addr).unwrap_err();
        assert_eq!(
            error,
            format!(
                "cannot serve metrics on {addr}: the port is in use (another binance-listen or exporter?)"
            )
        );
    }

    #[test]
    fn the_server_answers_and_stops_promptly() {
        use std::io::{Read, Write};
        let listener = MetricsListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr();
        let stats = Arc::new(SymbolStats::new(true));
        stats.reader.received.add(7);
        let server = spawn_metrics_server(
            listener,
            vec![MetricsSource {
                symbol: "ETHUSDT".parse().unwrap(),
                stats,
                queue_depth: Box::new(|| 3),
            }],
            SharedLabels {
                stream: "trade".to_owned(),
                market: "spot".to_owned(),
            },
        )
        .unwrap();
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        client.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(
            response.contains(
                "binance_listen_received_total{symbol=\"ETHUSDT\",stream=\"trade\",market=\"spot\"} 7\n"
            ),
            "{response}"
        );
        assert!(
            response.contains("binance_listen_queue_depth{"),
            "{response}"
        );
        let started = std::time::Instant::now();
        server.stop();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(TcpStream::connect(addr).is_err(), "the port is closed");
    }
}
