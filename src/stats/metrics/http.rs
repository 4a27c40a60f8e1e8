//! The HTTP side of `--metrics`, on the `metrics` thread: accept a connection, read one
//! request head (at most [`MAX_REQUEST_BYTES`], all of it within [`REQUEST_DEADLINE`], so
//! a slow or silent client holds the thread for a second at most), answer it and close.
//! HTTP/1.1 without keep-alive: Prometheus and `curl` open a connection per scrape anyway.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;

use super::exposition::Exposition;
use super::health::health_report;
use super::{MetricsSource, SharedLabels};
use crate::stats::connection::now_us;

/// The largest request head read: a scrape's is a few hundred bytes.
const MAX_REQUEST_BYTES: usize = 8 * 1024;

/// A request's head must be in within this long of the connection being accepted.
const REQUEST_DEADLINE: Duration = Duration::from_secs(1);

/// Writing the answer may block this long (a client that does not read).
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// After a failed `accept` (out of descriptors), wait this long before the next one.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// What the server answers from.
pub(super) struct Endpoints {
    sources: std::sync::Arc<Vec<MetricsSource>>,
    registry: Registry,
}

impl Endpoints {
    /// The registry holds one collector, which reads the sources at each scrape.
    pub(super) fn new(sources: Vec<MetricsSource>, labels: SharedLabels) -> Self {
        let sources = std::sync::Arc::new(sources);
        let mut registry = Registry::with_prefix("binance_listen");
        registry.register_collector(Box::new(Exposition::new(
            std::sync::Arc::clone(&sources),
            labels,
        )));
        Self { sources, registry }
    }
}

/// An answer: status line, content type, body.
struct Response {
    status: &'static str,
    content_type: &'static str,
    body: String,
    /// Answering a 405: say which methods are allowed.
    allow: bool,
    /// A HEAD request: the headers of the GET answer, no body.
    head_only: bool,
}

impl Response {
    fn text(status: &'static str, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
            allow: false,
            head_only: false,
        }
    }
}

/// Accepts and answers until `closing` is set (and a connection wakes the `accept`).
pub(super) fn run_server(listener: &TcpListener, endpoints: &Endpoints, closing: &AtomicBool) {
    loop {
        let accepted = listener.accept();
        if closing.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, _)) => serve(stream, endpoints),
            Err(_) => std::thread::sleep(ACCEPT_RETRY),
        }
    }
}

/// Answers one request on `stream`, then closes it. Errors end the exchange quietly: the
/// client went away or was too slow.
fn serve(mut stream: TcpStream, endpoints: &Endpoints) {
    let response = match read_head(&mut stream, Instant::now() + REQUEST_DEADLINE) {
        Ok(head) => route(&head, endpoints),
        Err(HeadError::TooLarge) => {
            Response::text("431 Request Header Fields Too Large", "request too large\n")
        }
        Err(HeadError::Io) => return,
    };
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut out = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    if response.allow {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    if !response.head_only {
        out.push_str(&response.body);
    }
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

enum HeadError {
    TooLarge,
    Io,
}

/// Reads up to the blank line that ends a request head; returns the head's text.
fn read_head(stream: &mut TcpStream, deadline: Instant) -> Result<String, HeadError> {
    let mut buffer = vec![0; MAX_REQUEST_BYTES];
    let mut filled = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HeadError::Io);
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|_| HeadError::Io)?;
        let read = match stream.read(&mut buffer[filled..]) {
            Ok(0) => return Err(HeadError::Io),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(HeadError::Io),
        };
        filled += read;
        let head = &buffer[..filled];
        if let Some(end) = find(head, b"\r\n\r\n").or_else(|| find(head, b"\n\n")) {
            return Ok(String::from_utf8_lossy(&head[..end]).into_owned());
        }
        if filled == buffer.len() {
            return Err(HeadError::TooLarge);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The answer to a request head.
fn route(head: &str, endpoints: &Endpoints) -> Response {
    let mut words = head.lines().next().unwrap_or_default().split_whitespace();
    let (Some(method), Some(target), Some(version)) = (words.next(), words.next(), words.next())
    else {
        return Response::text("400 Bad Request", "bad request line\n");
    };
    if !version.starts_with("HTTP/1.") {
        return Response::text("505 HTTP Version Not Supported", "HTTP/1.x only\n");
    }
    let path = target.split('?').next().unwrap_or_default();
    if !matches!(path, "/metrics" | "/healthz" | "/") {
        return Response::text("404 Not Found", "not found: try /metrics or /healthz\n");
    }
    if method != "GET" && method != "HEAD" {
        let mut response = Response::text("405 Method Not Allowed", "GET or HEAD only\n");
        response.allow = true;
        return response;
    }
    let mut response = match path {
        "/metrics" => {
            let mut body = String::new();
            match prometheus_text::encode(&mut body, &endpoints.registry) {
                Ok(()) => Response {
                    status: "200 OK",
                    content_type: prometheus_text::CONTENT_TYPE,
                    body,
                    allow: false,
                    head_only: false,
                },
                Err(_) => Response::text("500 Internal Server Error", "encoding failed\n"),
            }
        }
        "/healthz" => {
            let (healthy, body) = health_report(&endpoints.sources, now_us());
            let status = if healthy {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            Response::text(status, body)
        }
        _ => Response::text("200 OK", "binance-listen: see /metrics and /healthz\n"),
    };
    response.head_only = method == "HEAD";
    response
}
