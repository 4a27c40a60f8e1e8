//! The mock exchange in its own process, so the figures measure the listener alone: the
//! benchmark runs its own executable again as `bench __mock <options>` ([`serve`]), which
//! starts `binance_mock::MockExchange` (or, for throughput, the pre-encoded sender of
//! [`crate::preencoded`]), prints its URL, then one line per connection event, and exits
//! when its stdin closes. [`MockProcess`] is the benchmark's side: it starts the
//! child, reads the URL, turns the event lines into a channel, and stops the child on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use binance_mock::{Faults, MockConfig, MockEvent, MockExchange, Rate, TlsIdentity};

/// The argument that makes the benchmark executable serve the mock.
pub(crate) const MOCK_ROLE: &str = "__mock";

/// How the mock behaves: the subset of `MockConfig` the scenarios use.
#[derive(Debug, Clone, Default)]
pub(crate) struct MockSpec {
    /// Messages per second per stream; `None` for as fast as the connection takes them.
    pub(crate) rate: Option<f64>,
    /// Send ids 1..=count per stream, then stay quiet.
    pub(crate) count: Option<u64>,
    /// Event times in microseconds.
    pub(crate) micros: bool,
    /// Market mode: events on the clock whether anyone listens.
    pub(crate) market: bool,
    /// Reset (TCP RST) every connection after this many messages.
    pub(crate) reset_after: Option<u64>,
    /// Instead of the mock exchange, the pre-encoded sender of [`crate::preencoded`]:
    /// `count` ETHUSDT trades at almost no CPU cost to the sender.
    pub(crate) preencoded: bool,
    /// Serve `wss://` with a certificate made for this run (its CA in [`MockProcess::ca`]).
    pub(crate) tls: bool,
}

impl MockSpec {
    /// A stream as fast as loopback allows.
    pub(crate) fn unlimited() -> Self {
        Self::default()
    }

    /// `rate` messages per second per stream.
    pub(crate) fn per_second(rate: f64) -> Self {
        Self {
            rate: Some(rate),
            ..Self::default()
        }
    }

    fn to_args(&self) -> Vec<String> {
        let mut args = vec![MOCK_ROLE.to_owned()];
        if let Some(rate) = self.rate {
            args.extend(["--rate".to_owned(), rate.to_string()]);
        }
        if let Some(count) = self.count {
            args.extend(["--count".to_owned(), count.to_string()]);
        }
        if let Some(messages) = self.reset_after {
            args.extend(["--reset-after".to_owned(), messages.to_string()]);
        }
        if self.micros {
            args.push("--micros".to_owned());
        }
        if self.market {
            args.push("--market".to_owned());
        }
        if self.preencoded {
            args.push("--preencoded".to_owned());
        }
        if self.tls {
            args.push("--tls".to_owned());
        }
        args
    }

    fn from_args(args: &[String]) -> Self {
        let mut spec = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = || args.next().and_then(|value| value.parse::<f64>().ok());
            match arg.as_str() {
                "--rate" => spec.rate = number(),
                "--count" => spec.count = number().map(|count| count as u64),
                "--reset-after" => spec.reset_after = number().map(|count| count as u64),
                "--micros" => spec.micros = true,
                "--market" => spec.market = true,
                "--preencoded" => spec.preencoded = true,
                "--tls" => spec.tls = true,
                other => panic!("mock: unknown option {other}"),
            }
        }
        spec
    }

    fn config(&self) -> MockConfig {
        let mut config = MockConfig::new()
            .rate(self.rate.map_or(Rate::Unlimited, Rate::PerSecond))
            .micros(self.micros)
            .market(self.market)
            .faults(Faults {
                reset_after_messages: self.reset_after,
                ..Faults::default()
            });
        if let Some(count) = self.count {
            config = config.count(count);
        }
        config
    }
}

/// A connection event, timed in µs since the mock process started.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    Connected { at_us: u64 },
    Disconnected { at_us: u64 },
}

/// The child side: serve the mock (or the pre-encoded sender) until stdin closes.
pub(crate) fn serve(args: &[String]) {
    let spec = MockSpec::from_args(args);
    let exchange = if spec.preencoded {
        crate::preencoded::serve(spec.count.unwrap_or(1_000_000));
        None
    } else {
        Some(start_exchange(&spec))
    };
    // The benchmark closes our stdin to stop us.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(exchange);
}

/// Starts the mock exchange, prints its URL (after its CA's path, with TLS), and forwards
/// its connection events as lines.
fn start_exchange(spec: &MockSpec) -> MockExchange {
    let mut config = spec.config();
    if spec.tls {
        let (ca_path, identity) = tls_identity();
        println!("ca {}", ca_path.display());
        config = config.tls(identity);
    }
    let exchange = MockExchange::start(config).expect("mock exchange starts");
    let started = Instant::now();
    println!("url {}", exchange.url());
    let events = exchange.events().clone();
    std::thread::spawn(move || {
        let mut out = std::io::stdout();
        for event in events {
            let line = match event {
                MockEvent::Connected { at, .. } => format!("connected {}", since(started, at)),
                MockEvent::Disconnected { at, .. } => {
                    format!("disconnected {}", since(started, at))
                }
                _ => continue,
            };
            if writeln!(out, "{line}").is_err() {
                break;
            }
        }
    });
    exchange
}

/// A self-signed certificate for `localhost` and 127.0.0.1, made now; its PEM is written to
/// a temp file for the listener's `--ca-cert`.
fn tls_identity() -> (std::path::PathBuf, TlsIdentity) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("self-signed certificate");
    let pem = certified.cert.pem();
    let path = std::env::temp_dir().join(format!(
        "binance-listen-bench-ca-{}.pem",
        std::process::id()
    ));
    std::fs::write(&path, &pem).expect("the CA file is written");
    let identity = TlsIdentity {
        cert_pem: pem.into_bytes(),
        key_pem: certified.signing_key.serialize_pem().into_bytes(),
    };
    (path, identity)
}

fn since(started: Instant, at: Instant) -> u64 {
    at.saturating_duration_since(started).as_micros() as u64
}

/// The benchmark's side: a mock exchange process, stopped (stdin closed, then killed if it
/// lingers) and reaped on drop.
pub(crate) struct MockProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    url: String,
    ca: Option<String>,
    events: Receiver<Event>,
}

impl MockProcess {
    pub(crate) fn start(spec: &MockSpec) -> Self {
        let exe = std::env::current_exe().expect("the benchmark's own path");
        let mut child = Command::new(exe)
            .args(spec.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mock process starts");
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut ca = None;
        let url = loop {
            let line = lines
                .next()
                .and_then(Result::ok)
                .expect("the mock prints its URL");
            if let Some(path) = line.strip_prefix("ca ") {
                ca = Some(path.to_owned());
            } else if let Some(url) = line.strip_prefix("url ") {
                break url.to_owned();
            }
        };
        let (sender, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut words = line.split_whitespace();
                let (Some(what), Some(Ok(at_us))) = (words.next(), words.next().map(str::parse))
                else {
                    continue;
                };
                let event = match what {
                    "connected" => Event::Connected { at_us },
                    "disconnected" => Event::Disconnected { at_us },
                    _ => continue,
                };
                if sender.send(event).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            url,
            ca,
            events,
        }
    }

    /// The CA certificate's path, for `--ca-cert`, when serving `wss://`.
    pub(crate) fn ca(&self) -> Option<&str> {
        self.ca.as_deref()
    }

    /// `ws://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Connection events so far and to come.
    pub(crate) fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// The mock process's id, for its CPU time.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
