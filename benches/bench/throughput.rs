//! Throughput: one stream of pre-encoded trades from a sender in its own process
//! ([`crate::preencoded`]: it costs the shared cores almost nothing), read by the listener
//! (JSON lines, then raw lines) and, in the same run, by a bare tungstenite client that only
//! reads frames (`bench __bare <url> <count>`, its own process too): the ceiling any
//! listener on this machine could reach. Each figure comes with CPU µs per message from the
//! process's own CPU time.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::child::{Measured, Usage, process_cpu};
use crate::mock::{MockProcess, MockSpec};
use crate::{is_python_baseline, listener_command};

/// The argument that makes the benchmark executable run the bare client.
pub(crate) const BARE_ROLE: &str = "__bare";

/// One measured read of `messages` frames.
struct Run {
    /// Lines (listener) or frames (bare client) per second, spawn to exit.
    rate: f64,
    /// CPU µs per message of the reading process.
    cpu_us: f64,
    /// Its reader and processor threads' share of that (listener only).
    reader_us: f64,
    processor_us: f64,
    /// CPU µs per message of the mock that sent them.
    mock_us: f64,
    /// What was read, and whether that is everything.
    count: u64,
}

impl Run {
    fn from_usage(usage: &Usage, count: u64, mock_cpu: Duration) -> Self {
        let per_message = |time: Duration| time.as_secs_f64() * 1e6 / count.max(1) as f64;
        let thread = |role| per_message(usage.threads.get(role).copied().unwrap_or_default());
        Self {
            rate: count as f64 / usage.wall.as_secs_f64(),
            cpu_us: per_message(usage.cpu),
            reader_us: thread("ws"),
            processor_us: thread("proc"),
            mock_us: per_message(mock_cpu),
            count,
        }
    }
}

/// `runs` rounds of: the bare client, then the listener in each format, each against a
/// fresh mock process sending `messages` trades.
pub(crate) fn throughput(messages: u64, runs: u64) {
    let formats: &[&str] = if is_python_baseline() {
        &["json"]
    } else {
        &["json", "raw"]
    };
    println!(
        "== throughput: 1 stream, {messages} pre-encoded trades as fast as loopback allows, \
         --overflow block, sender in its own process, listener stdout to a counting pipe, {runs} run(s)"
    );
    println!(
        "  {:<4} {:<9} {:>14} {:>12} {:>22} {:>9} {:>13}",
        "run", "reader", "rate /s", "CPU µs/msg", "of which ws / proc", "mock µs", "× bare rate"
    );
    for run in 1..=runs {
        let bare = bare_run(messages);
        print_run(run, "bare", &bare, None);
        for format in formats {
            let listener = listener_run(messages, format);
            print_run(run, format, &listener, Some(&bare));
            if listener.count != messages {
                println!("       ({format}: {} of {messages} lines)", listener.count);
            }
        }
    }
}

fn print_run(run: u64, reader: &str, figures: &Run, bare: Option<&Run>) {
    // The bare client and the Python baseline have no `ws-*` and `proc-*` threads.
    let split = if figures.reader_us + figures.processor_us > 0.0 {
        format!("{:.2} / {:.2}", figures.reader_us, figures.processor_us)
    } else {
        String::new()
    };
    let ratio = bare.map_or(String::new(), |bare| {
        format!("{:.2}", figures.rate / bare.rate)
    });
    println!(
        "  {run:<4} {reader:<9} {:>12.2} M {:>12.3} {split:>22} {:>9.3} {ratio:>13}",
        figures.rate / 1e6,
        figures.cpu_us,
        figures.mock_us
    );
}

/// The listener reading ETHUSDT's trades until `--max-messages`, writing `format` lines.
fn listener_run(messages: u64, format: &str) -> Run {
    let mock = MockProcess::start(&MockSpec {
        count: Some(messages),
        preencoded: true,
        ..MockSpec::unlimited()
    });
    let mock_cpu = process_cpu(mock.pid());
    let count = messages.to_string();
    let mut command = listener_command();
    command.args(["--endpoint", mock.url(), "--overflow", "block"]);
    command.args(["--max-messages", &count, "-q"]);
    if !is_python_baseline() {
        command.args(["--format", format]);
    }
    command.arg("ETHUSDT");
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("listener starts");
    let mut measured = Measured::new(child, started);
    let mut stdout = measured.child().stdout.take().expect("piped stdout");
    let mut buffer = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    while let Ok(read) = stdout.read(&mut buffer) {
        if read == 0 {
            break;
        }
        lines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    let usage = measured.finish();
    let mock_cpu = process_cpu(mock.pid()).saturating_sub(mock_cpu);
    if !usage.status.is_some_and(|status| status.success()) {
        println!("       listener exit: {:?}", usage.status);
    }
    Run::from_usage(&usage, lines, mock_cpu)
}

/// The bare client reading the same kind of stream from a fresh mock.
fn bare_run(messages: u64) -> Run {
    let mock = MockProcess::start(&MockSpec {
        count: Some(messages),
        preencoded: true,
        ..MockSpec::unlimited()
    });
    let mock_cpu = process_cpu(mock.pid());
    let url = format!("{}/ws/ethusdt@trade", mock.url());
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let started = Instant::now();
    let child = Command::new(exe)
        .args([BARE_ROLE, &url, &messages.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("bare client starts");
    let usage = Measured::new(child, started).finish();
    let mock_cpu = process_cpu(mock.pid()).saturating_sub(mock_cpu);
    let read = if usage.status.is_some_and(|status| status.success()) {
        messages
    } else {
        0
    };
    Run::from_usage(&usage, read, mock_cpu)
}

/// The bare client's process: read `count` text frames from `url`, discard them, exit 0
/// (1 if the connection ends first).
pub(crate) fn run_bare_client(args: &[String]) {
    let (Some(url), Some(Ok(count))) = (args.first(), args.get(1).map(|n| n.parse::<u64>())) else {
        panic!("usage: {BARE_ROLE} <url> <count>");
    };
    let Ok((mut socket, _)) = tungstenite::connect(url.as_str()) else {
        std::process::exit(1);
    };
    let mut frames = 0u64;
    while frames < count {
        match socket.read() {
            Ok(tungstenite::Message::Text(_)) => frames += 1,
            Ok(_) => {}
            Err(_) => std::process::exit(1),
        }
    }
}
