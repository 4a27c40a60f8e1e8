//! The mock's REST side: depth snapshots (`GET /api/v3/depth`, `/fapi/v1/depth`,
//! `/dapi/v1/depth` with `symbol` and `limit`) on the same port as the WebSocket streams, so
//! `--endpoint` serves a listener's books too. A snapshot is the true book of the symbol's
//! diff-depth stream (`<symbol>@depth@100ms`, else `@depth`), consistent with what the
//! stream sends, with `X-MBX-USED-WEIGHT-1M`; the snapshot faults reject it (429/418 with
//! `Retry-After`), delay it, or send a stale one. HTTP/1.1 (over TLS too, when the
//! mock serves `wss://`), one request per connection (`Connection: close`).

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use binance_streams::{StreamKind, UpdateSpeed};

use crate::{MockEvent, Shared, StreamLog};

/// The snapshot paths, per market.
const DEPTH_PATHS: [&str; 3] = ["/api/v3/depth", "/fapi/v1/depth", "/dapi/v1/depth"];

/// The default and largest `limit`, as on Binance spot.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 5_000;

/// Whether the start of a connection's bytes is a REST snapshot request.
pub(crate) fn is_rest_request(start: &[u8]) -> bool {
    DEPTH_PATHS.iter().any(|path| {
        let request = format!("GET {path}");
        start.starts_with(request.as_bytes())
    })
}

/// Answers one REST request for `target` (its head already read) on `tcp`; the caller
/// closes the connection.
pub(crate) fn serve_rest(tcp: &mut impl Write, target: &str, shared: &Shared) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    };
    let symbol = param("symbol").unwrap_or_default().to_owned();
    let limit = param("limit")
        .and_then(|limit| limit.parse::<usize>().ok())
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, MAX_LIMIT);
    if !DEPTH_PATHS.contains(&path) {
        respond(tcp, 404, &[], r#"{"code":-1,"msg":"not found"}"#);
        return;
    }
    let faults = &shared.config.faults;
    let index = shared.snapshots.fetch_add(1, Ordering::Relaxed);
    let rejections = faults.snapshot_rejections.len() as u64;
    if let Some(rejection) = usize::try_from(index)
        .ok()
        .and_then(|index| faults.snapshot_rejections.get(index))
    {
        let retry = rejection.retry_after_secs.map(|secs| secs.to_string());
        let headers: Vec<(&str, &str)> = retry
            .as_deref()
            .map(|secs| vec![("Retry-After", secs)])
            .unwrap_or_default();
        respond(
            tcp,
            rejection.status,
            &headers,
            r#"{"code":-1003,"msg":"Too many requests."}"#,
        );
        shared.emit(MockEvent::Snapshot {
            symbol,
            limit,
            status: rejection.status,
            last_update_id: None,
            stale: false,
            at: Instant::now(),
        });
        return;
    }
    let after_rejections = index - rejections;
    if after_rejections < faults.snapshot_errors {
        respond(
            tcp,
            500,
            &[],
            r#"{"code":-1000,"msg":"An unknown error occurred."}"#,
        );
        shared.emit(MockEvent::Snapshot {
            symbol,
            limit,
            status: 500,
            last_update_id: None,
            stale: false,
            at: Instant::now(),
        });
        return;
    }
    if let Some(delay) = faults.snapshot_delay {
        let until = Instant::now() + delay;
        while Instant::now() < until && !shared.stopping() {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
    }
    let stale = after_rejections - faults.snapshot_errors < faults.stale_snapshots;
    let lower = symbol.to_lowercase();
    let log = book_log(shared, &lower);
    let futures_time = shared.config.futures.then(now_ms);
    let body = {
        let log = log.lock().unwrap_or_else(PoisonError::into_inner);
        log.snapshot_json(limit, stale, futures_time)
    };
    let Some(body) = body else {
        respond(tcp, 400, &[], r#"{"code":-1121,"msg":"Invalid symbol."}"#);
        return;
    };
    let last_update_id = body
        .strip_prefix(r#"{"lastUpdateId":"#)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|id| id.parse().ok());
    let weight = if limit <= 100 { 5 } else { 25 };
    let used = (index + 1) * weight;
    respond(
        tcp,
        200,
        &[("X-MBX-USED-WEIGHT-1M", &used.to_string())],
        &body,
    );
    shared.emit(MockEvent::Snapshot {
        symbol,
        limit,
        status: 200,
        last_update_id,
        stale,
        at: Instant::now(),
    });
}

/// The log of the symbol's diff-depth stream: the 100 ms one (which `book` reads), else
/// the 1000 ms one if only that exists, else a new 100 ms one.
fn book_log(shared: &Shared, symbol: &str) -> Arc<Mutex<StreamLog>> {
    let fast = format!("{symbol}@depth@100ms");
    let standard = format!("{symbol}@depth");
    let exists = |name: &str| {
        shared
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(name)
    };
    if !exists(&fast) && exists(&standard) {
        return shared.stream(&standard, symbol, StreamKind::Depth(UpdateSpeed::Standard));
    }
    shared.stream(&fast, symbol, StreamKind::Depth(UpdateSpeed::Fast))
}

fn respond(tcp: &mut impl Write, status: u16, headers: &[(&str, &str)], body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Error",
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(body);
    // The socket's writes time out (the session's pacing); a large snapshot to a client
    // that reads slowly takes several.
    let deadline = Instant::now() + WRITE_DEADLINE;
    let mut rest = response.as_bytes();
    while !rest.is_empty() && Instant::now() < deadline {
        match tcp.write(rest) {
            Ok(0) => return,
            Ok(written) => rest = &rest[written..],
            Err(error) if is_timeout(&error) => {}
            Err(_) => return,
        }
    }
    while Instant::now() < deadline {
        match tcp.flush() {
            Err(error) if is_timeout(&error) => {}
            _ => return,
        }
    }
}

/// How long a response may take to write.
const WRITE_DEADLINE: Duration = Duration::from_secs(5);

fn is_timeout(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
