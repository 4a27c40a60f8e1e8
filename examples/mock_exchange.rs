//! Runs the in-crate mock exchange on its own, on 127.0.0.1, until Ctrl-C:
//!
//! ```text
//! cargo run --example mock_exchange -- --rate 100 ETHUSDT
//! cargo run --example mock_exchange -- --rate max --count 100000 --port 9000
//! cargo run --example mock_exchange -- --tls        # wss:// with a fresh private CA
//! cargo run --example mock_exchange -- --futures    # USD-M futures payload shapes
//! ```
//!
//! It serves any `/ws/<symbol>@<kind>` stream and any combined
//! `/stream?streams=<symbol>@<kind>/...` list, with or without a `/public` or `/market`
//! route prefix; the symbols given only shape the printed `binance-listen` command. With
//! `--tls` it generates a CA and a `localhost` certificate (rcgen, nothing is written but
//! the CA's PEM file, whose path it prints).

use std::time::Duration;

use binance_mock::{BadFrame, Faults, MockConfig, MockEvent, MockExchange, Rate, Rejection};
use clap::Parser;

/// The same certificate generator the integration tests use.
#[path = "../tests/it/support/tls.rs"]
mod pki;

/// A Binance-like market-data WebSocket server for trying binance-listen offline.
#[derive(Parser)]
struct Args {
    /// Messages per second per stream, or "max" for as fast as possible
    #[arg(long, default_value = "10")]
    rate: String,
    /// Send ids 1..=N per stream, then stay connected and quiet
    #[arg(long)]
    count: Option<u64>,
    /// Port to listen on (0 = any free port)
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Ping every connection this often, in seconds (e.g. 20)
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    ping_interval: Option<Duration>,
    /// Random arrivals with bursts, like --simulate
    #[arg(long)]
    lively: bool,
    /// Serve wss:// with a freshly generated private CA (its PEM path is printed)
    #[arg(long)]
    tls: bool,
    /// Market mode: trades happen on the clock whether anyone listens
    #[arg(long)]
    market: bool,
    /// USD-M futures payload shapes (aggTrade nq, bookTicker e/E/T, depth pu, ...)
    #[arg(long)]
    futures: bool,
    /// Fault: close each connection cleanly after N messages
    #[arg(long, value_name = "N")]
    close_after: Option<u64>,
    /// Fault: reset each connection (TCP RST) after N messages
    #[arg(long, value_name = "N")]
    reset_after: Option<u64>,
    /// Fault: stall the first connection (stop sending and reading) after N messages
    #[arg(long, value_name = "N")]
    stall_after: Option<u64>,
    /// Fault: answer the first N upgrades with HTTP 429 and Retry-After: 2
    #[arg(long, value_name = "N", default_value_t = 0)]
    reject: usize,
    /// Fault: after 10 messages send one of each bad frame kind
    #[arg(long)]
    bad_frames: bool,
    /// Fault: pad every data frame to about this many bytes (e.g. 900000)
    #[arg(long, value_name = "BYTES")]
    huge_frames: Option<usize>,
    /// Symbols to show in the suggested command
    symbols: Vec<String>,
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let rate = match args.rate.as_str() {
        "max" => Rate::Unlimited,
        text => match text.parse::<f64>() {
            Ok(rate) if rate > 0.0 => Rate::PerSecond(rate),
            _ => {
                return Err(format!(
                    "invalid --rate '{text}': expected a positive number or max"
                ));
            }
        },
    };
    let faults = Faults {
        faulty_connections: args.stall_after.map(|_| 1),
        close_after_messages: args.close_after,
        reset_after_messages: args.reset_after,
        stall_after_messages: args.stall_after,
        reject_upgrades: vec![
            Rejection {
                status: 429,
                retry_after_secs: Some(2),
            };
            args.reject
        ],
        bad_frames_after: 10,
        huge_frames: args.huge_frames,
        bad_frames: if args.bad_frames {
            BadFrame::survivable()
        } else {
            Vec::new()
        },
        ..Faults::default()
    };
    let mut config = MockConfig::new()
        .port(args.port)
        .rate(rate)
        .lively(args.lively)
        .market(args.market)
        .futures(args.futures)
        .faults(faults);
    if let Some(count) = args.count {
        config = config.count(count);
    }
    if let Some(interval) = args.ping_interval {
        config = config.ping_interval(interval);
    }
    let mut ca_flag = String::new();
    if args.tls {
        let pki = pki::generate();
        let path =
            std::env::temp_dir().join(format!("binance-listen-mock-ca-{}.pem", std::process::id()));
        std::fs::write(&path, &pki.ca_pem).map_err(|error| error.to_string())?;
        ca_flag = format!(" --ca-cert {}", path.display());
        config = config.tls(pki.server);
    }
    let exchange = MockExchange::start(config).map_err(|error| error.to_string())?;
    let symbols = if args.symbols.is_empty() {
        "ETHUSDT BNBUSDT".to_owned()
    } else {
        args.symbols.join(" ")
    };
    eprintln!("mock exchange listening at {}", exchange.url());
    eprintln!(
        "try: binance-listen --endpoint {}{ca_flag} {symbols}",
        exchange.url()
    );
    for event in exchange.events() {
        match event {
            MockEvent::Connected {
                connection, path, ..
            } => {
                eprintln!("#{connection} connected: {path}")
            }
            MockEvent::Disconnected {
                connection, sent, ..
            } => {
                eprintln!("#{connection} disconnected after {sent} messages");
            }
            MockEvent::HandshakeFailed { detail } => eprintln!("handshake failed: {detail}"),
            MockEvent::AllSent {
                connection, sent, ..
            } => eprintln!("#{connection} sent all its ids ({sent} messages)"),
            MockEvent::ClientClosed { connection } => eprintln!("#{connection} sent a close frame"),
            MockEvent::Rejected { status, .. } => {
                eprintln!("rejected an upgrade with HTTP {status}")
            }
            MockEvent::Snapshot {
                symbol,
                status,
                last_update_id,
                ..
            } => match last_update_id {
                Some(id) => eprintln!("snapshot of {symbol}: HTTP {status}, lastUpdateId {id}"),
                None => eprintln!("snapshot of {symbol}: HTTP {status}"),
            },
            MockEvent::Pong { .. } => {}
        }
    }
    Ok(())
}

/// A positive number of seconds, such as `20` or `0.5`.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| {
            format!("invalid number of seconds '{text}': expected a positive number, like 20")
        })
}
