//! Test harness: the crate's own [`MockExchange`] as a guard ([`Exchange`]), the real binary
//! as a guard ([`Listener`]), test-owned output line types, and TLS certificates made at test
//! time. Every wait has a deadline; every guard cleans up its threads and processes on drop.

pub(crate) mod nats;
pub(crate) mod prom;
pub(crate) mod tls;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use binance_mock::{MockConfig, MockEvent, MockExchange};
use crossbeam_channel::{Receiver, RecvTimeoutError, unbounded};
use serde::Deserialize;

/// The most any single wait in a test may take before the test fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// The in-crate mock exchange, stopped and checked for panics on drop.
pub(crate) struct Exchange {
    mock: Option<MockExchange>,
}

impl Exchange {
    /// Starts a mock exchange with `config` on an ephemeral loopback port.
    pub(crate) fn start(config: MockConfig) -> Self {
        Self {
            mock: Some(MockExchange::start(config).expect("mock exchange starts")),
        }
    }

    fn mock(&self) -> &MockExchange {
        self.mock.as_ref().expect("mock exchange running")
    }

    /// The base URL for `--endpoint`.
    pub(crate) fn url(&self) -> String {
        self.mock().url()
    }

    /// The mock's true book of `stream` at `update_id` (with `record_books`).
    pub(crate) fn book_top(&self, stream: &str, update_id: u64) -> Option<binance_mock::BookTop> {
        self.mock().book_top(stream, update_id)
    }

    /// The next event already delivered, if any (does not wait).
    pub(crate) fn expect_event_now(&self) -> Option<MockEvent> {
        self.mock().events().try_recv().ok()
    }

    /// Connections made, counting the `Connected` events not yet consumed. Call it after the
    /// listener has exited: every handshake has been reported by then.
    pub(crate) fn connections_left_in_events(&self) -> usize {
        std::iter::from_fn(|| self.expect_event_now())
            .filter(|event| matches!(event, MockEvent::Connected { .. }))
            .count()
    }

    /// Waits for the first event matching `wanted`, skipping others; fails after [`PATIENCE`].
    pub(crate) fn expect_event(
        &self,
        what: &str,
        wanted: impl Fn(&MockEvent) -> bool,
    ) -> MockEvent {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.mock().events().recv_deadline(deadline) {
                Ok(event) if wanted(&event) => return event,
                Ok(_) => {}
                Err(_) => panic!("the mock exchange never saw {what}"),
            }
        }
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if let Some(mock) = self.mock.take() {
            let result = mock.shutdown();
            if !thread::panicking() {
                result.expect("mock exchange shut down cleanly");
            }
        }
    }
}

/// The binary under test, killed and reaped on drop.
pub(crate) struct Listener {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_lines: Receiver<String>,
    /// Disconnects when the stderr reader has seen end-of-file.
    stderr_done: Receiver<()>,
}

/// Path of the binary Cargo built for these tests.
pub(crate) fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_binance-listen")
}

impl Listener {
    /// Starts `binance-listen ARGS` with stdin closed and stdout and stderr captured.
    pub(crate) fn start(args: &[&str]) -> Self {
        Self::start_with(args, |_| {})
    }

    /// Like [`Listener::start`], with the command changed by `customise` first (its
    /// environment, its stdin; stdout and stderr must stay piped).
    pub(crate) fn start_with(args: &[&str], customise: impl FnOnce(&mut Command)) -> Self {
        let mut command = command(args);
        customise(&mut command);
        let mut child = command.spawn().expect("binary starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let stderr = child.stderr.take().expect("stderr piped");
        let (line_sender, lines) = unbounded();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line_sender.send(line).is_err() {
                    break;
                }
            }
        });
        let collected = Arc::new(Mutex::new(String::new()));
        let (stderr_sender, stderr_lines) = unbounded();
        let sink = Arc::clone(&collected);
        let (done, stderr_done) = unbounded::<()>();
        thread::spawn(move || {
            let _done = done;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
                drop(all);
                let _ = stderr_sender.send(line);
            }
        });
        Self {
            child,
            lines,
            stderr: collected,
            stderr_lines,
            stderr_done,
        }
    }

    /// Starts the binary with its stdout handed to the caller (for `| head`-like tests).
    pub(crate) fn start_with_stdout(args: &[&str]) -> (Child, ChildStdout) {
        let mut child = command(args).spawn().expect("binary starts");
        let stdout = child.stdout.take().expect("stdout piped");
        (child, stdout)
    }

    /// Everything written to stderr, once the process has closed it (after exit).
    pub(crate) fn full_stderr(&self) -> String {
        let _ = self.stderr_done.recv_timeout(PATIENCE);
        self.stderr()
    }

    /// Everything written to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The next stdout line; fails after [`PATIENCE`] with stderr shown.
    pub(crate) fn expect_line(&self) -> String {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!(
                    "no output line within {PATIENCE:?}; stderr:\n{}",
                    self.stderr()
                )
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("stdout closed early; stderr:\n{}", self.stderr())
            }
        }
    }

    /// The next `count` stdout lines.
    pub(crate) fn expect_lines(&self, count: usize) -> Vec<String> {
        (0..count).map(|_| self.expect_line()).collect()
    }

    /// Waits for a stderr line containing `needle`; returns it.
    pub(crate) fn expect_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.stderr_lines.recv_deadline(deadline) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("stderr never said {needle:?}; it said:\n{}", self.stderr()),
            }
        }
    }

    /// Sends `signal` (e.g. "INT") to the process.
    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit within `limit`; returns its status.
    pub(crate) fn expect_exit_within(&mut self, limit: Duration) -> ExitStatus {
        wait_with_deadline(&mut self.child, limit)
            .unwrap_or_else(|| panic!("still running after {limit:?}; stderr:\n{}", self.stderr()))
    }

    /// Collects the remaining stdout lines after the process closed stdout.
    pub(crate) fn remaining_lines(&self) -> Vec<String> {
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            rest.push(line);
        }
        rest
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `binance-listen ARGS` with stdin closed, stdout and stderr piped, and no `RUST_LOG` or
/// colour from the environment.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Polls `child` until it exits or `limit` passes.
pub(crate) fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs the binary to completion (it must exit within [`PATIENCE`]); returns status, stdout
/// and stderr.
pub(crate) fn run_to_end(args: &[&str]) -> (ExitStatus, String, String) {
    run_to_end_with(args, |_| {})
}

/// [`run_to_end`] with the command changed by `customise` first (see
/// [`Listener::start_with`]).
pub(crate) fn run_to_end_with(
    args: &[&str],
    customise: impl FnOnce(&mut Command),
) -> (ExitStatus, String, String) {
    let mut listener = Listener::start_with(args, customise);
    let status = listener.expect_exit_within(PATIENCE);
    let stdout = listener.remaining_lines().join("\n");
    (status, stdout, listener.full_stderr())
}

/// A trade line as the README documents it; unknown fields fail the test.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct TradeLine {
    pub symbol: String,
    pub stream: String,
    pub trade_id: u64,
    pub price: String,
    pub qty: String,
    pub buyer_maker: bool,
    pub trade_time: u64,
    pub event_time: u64,
    pub recv_time_us: u64,
}

/// An aggTrade line as the README documents it.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct AggTradeLine {
    pub symbol: String,
    pub stream: String,
    pub agg_trade_id: u64,
    pub price: String,
    pub qty: String,
    pub first_trade_id: u64,
    pub last_trade_id: u64,
    pub buyer_maker: bool,
    pub trade_time: u64,
    pub event_time: u64,
    pub recv_time_us: u64,
}

/// A bookTicker line as the README documents it (spot: no event times).
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct BookTickerLine {
    pub symbol: String,
    pub stream: String,
    pub update_id: u64,
    pub bid_price: String,
    pub bid_qty: String,
    pub ask_price: String,
    pub ask_qty: String,
    pub recv_time_us: u64,
}

/// Parses a trade line, failing with the line shown.
pub(crate) fn trade(line: &str) -> TradeLine {
    serde_json::from_str(line).unwrap_or_else(|error| panic!("bad trade line {line:?}: {error}"))
}

/// Checks that each symbol's trade ids are exactly 1..=count, in order.
pub(crate) fn assert_ids_in_order(lines: &[String], symbols: &[&str], count: u64) {
    let mut seen: HashMap<String, Vec<u64>> = HashMap::new();
    for line in lines {
        let trade = trade(line);
        seen.entry(trade.symbol).or_default().push(trade.trade_id);
    }
    for symbol in symbols {
        let ids = seen.remove(*symbol).unwrap_or_default();
        let expected: Vec<u64> = (1..=count).collect();
        assert_eq!(ids, expected, "{symbol}'s trade ids");
    }
    assert!(
        seen.is_empty(),
        "lines for unexpected symbols: {:?}",
        seen.keys()
    );
}

/// A directory for one test's files, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh directory under the system temp dir.
    pub(crate) fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "binance-listen-it-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }

    /// The path of `name` inside the directory (not created).
    pub(crate) fn path_of(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `contents` to `name` inside the directory; returns its path.
    pub(crate) fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The trade ids of `lines`, in order.
pub(crate) fn trade_ids(lines: &[String]) -> Vec<u64> {
    lines.iter().map(|line| trade(line).trade_id).collect()
}

/// A number from `symbol`'s exit summary, e.g. `summary_count(stderr, "ETHUSDT", "gaps")`:
/// from the text line, or from the JSON object (`--stats-format json`), where `missing` is
/// called `missing_ids`.
pub(crate) fn summary_count(stderr: &str, symbol: &str, field: &str) -> u64 {
    if let Some(count) = json_summary_count(stderr, symbol, field) {
        return count;
    }
    let summary = stderr
        .lines()
        .find(|line| {
            line.starts_with("binance-listen: summary")
                && line.split_whitespace().nth(2) == Some(symbol)
        })
        .unwrap_or_else(|| panic!("no summary line for {symbol} in:\n{stderr}"));
    let words: Vec<&str> = summary
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|word| !word.is_empty())
        .collect();
    words
        .windows(2)
        .find(|pair| pair[0] == field)
        .and_then(|pair| pair[1].parse().ok())
        .unwrap_or_else(|| panic!("no '{field}' in {summary}"))
}

/// The number from `symbol`'s JSON exit summary, if the summary is JSON.
fn json_summary_count(stderr: &str, symbol: &str, field: &str) -> Option<u64> {
    let summary: serde_json::Value = stderr
        .lines()
        .filter(|line| line.starts_with(r#"{"type":"summary""#))
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|summary| summary["symbol"] == symbol)?;
    let field = if field == "missing" {
        "missing_ids"
    } else {
        field
    };
    Some(
        summary[field]
            .as_u64()
            .unwrap_or_else(|| panic!("no '{field}' in {summary}")),
    )
}

/// Checks `symbol`'s exit summary adds up: every received frame is in exactly one of
/// written, dropped, duplicates, skipped, discarded and lost, and nothing is unaccounted.
pub(crate) fn assert_summary_adds_up(stderr: &str, symbol: &str) {
    let count = |field| summary_count(stderr, symbol, field);
    let received = count("received");
    let buckets = [
        "written",
        "dropped",
        "duplicates",
        "skipped",
        "discarded",
        "lost",
    ];
    let total: u64 = buckets.iter().map(|field| count(field)).sum();
    assert_eq!(
        received, total,
        "{symbol}: received {received} but the buckets add up to {total}:\n{stderr}"
    );
    assert!(
        !stderr.contains("unaccounted"),
        "{symbol}: something was unaccounted:\n{stderr}"
    );
}

/// A config file whose `[connection]` table has short stall timers (ping after 300 ms of
/// silence, dead 700 ms later), so stall tests finish in about a second.
pub(crate) fn quick_stall_config(dir: &TempDir) -> String {
    let path = dir.write(
        "quick-stall.toml",
        "[connection]\nping_after = \"300ms\"\npong_timeout = \"700ms\"\n",
    );
    path.to_str().expect("utf-8 temp path").to_owned()
}
