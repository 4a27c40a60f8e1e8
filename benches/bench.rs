//! The project's benchmark: the release binary against the in-crate mock exchange on
//! loopback, each scenario printing its figures. Nothing here asserts a time.
//!
//! ```text
//! cargo bench --bench bench                     # every scenario, default sizes
//! cargo bench --bench bench -- throughput [MESSAGES]
//! cargo bench --bench bench -- isolation [RATE] [SECONDS]
//! cargo bench --bench bench -- reconnect [SECONDS]
//! cargo bench --bench bench -- rollover [SECONDS]
//! cargo bench --bench bench -- scale [SYMBOLS] [SECONDS]
//! cargo bench --bench bench -- slow [SECONDS]
//! cargo bench --bench bench -- python [MESSAGES]   # the same scenarios, Python baseline
//! ```

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use binance_mock::{Faults, Rate};
use binance_mock::{MockConfig, MockEvent, MockExchange};

const LISTENER: &str = env!("CARGO_BIN_EXE_binance-listen");

fn main() {
    // `cargo bench` appends `--bench`; scenario arguments follow the `--`.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--bench"))
        .collect();
    let number = |index: usize, default: u64| {
        args.get(index)
            .and_then(|text| text.parse().ok())
            .unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("throughput") => throughput(number(1, 2_000_000)),
        Some("isolation") => isolation(number(1, 1000), number(2, 10)),
        Some("reconnect") => reconnect(number(1, 10)),
        Some("rollover") => rollover(number(1, 10)),
        Some("scale") => scale(number(1, 1000), number(2, 10)),
        Some("slow") => slow_consumer(number(1, 10)),
        Some("python") => {
            println!(
                "== python baseline: websocket-client thread + unbounded queue + processor thread per symbol"
            );
            if use_python_baseline() {
                throughput(number(1, 200_000));
                isolation(1000, 10);
                scale(200, 10);
                slow_consumer(10);
            }
        }
        None => {
            throughput(2_000_000);
            isolation(1000, 10);
            reconnect(10);
            rollover(10);
            scale(1000, 10);
            slow_consumer(10);
        }
        Some(other) => {
            eprintln!(
                "unknown scenario '{other}': expected throughput, isolation, reconnect, rollover, scale, slow or python"
            );
            std::process::exit(2);
        }
    }
}

/// One stream, the mock sending as fast as loopback allows, `--overflow block` so nothing
/// is dropped, stdout drained and counted by this process.
fn throughput(messages: u64) {
    println!(
        "== throughput: 1 stream, {messages} trades as fast as loopback allows, --overflow block"
    );
    let mock = start_mock(MockConfig::new().rate(Rate::Unlimited).count(messages));
    let count = messages.to_string();
    let cpu_before = children_cpu();
    let started = Instant::now();
    let mut child = spawn_listener(&[
        "--endpoint",
        &mock.url(),
        "--overflow",
        "block",
        "--max-messages",
        &count,
        "-q",
        "ETHUSDT",
    ]);
    let mut stdout = child.stdout.take().expect("stdout");
    let mut buffer = vec![0u8; 1 << 20];
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        match stdout.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                bytes += read as u64;
                lines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
    }
    let status = child.wait().expect("listener exits");
    let wall = started.elapsed();
    let cpu = children_cpu() - cpu_before;
    println!(
        "  lines written    {lines} ({:.1} MB) status {status}",
        bytes as f64 / 1e6
    );
    println!("  wall time        {:.2} s", wall.as_secs_f64());
    println!(
        "  throughput       {:.0} lines/s",
        lines as f64 / wall.as_secs_f64()
    );
    println!(
        "  listener CPU     {:.2} s = {:.2} µs per message",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / lines.max(1) as f64
    );
    if PYTHON_BASELINE.get().is_some() {
        return;
    }
    let ceiling = bare_client(messages);
    println!(
        "  bare tungstenite client (read and discard, same mock): {ceiling:.0} frames/s; the listener reaches {:.0} % of it",
        lines as f64 / wall.as_secs_f64() * 100.0 / ceiling
    );
}

/// ETHUSDT and BNBUSDT at `rate` msg/s each for `seconds`; BNBUSDT's latency (mock event
/// time in µs → line read from the pipe) without and with `--delay ETHUSDT=200ms`.
fn isolation(rate: u64, seconds: u64) {
    println!(
        "== isolation: ETHUSDT and BNBUSDT at {rate} msg/s each for {seconds} s; BNBUSDT latency = mock send → line read from stdout"
    );
    let undisturbed = bnb_latencies(rate, seconds, None);
    let delayed = bnb_latencies(rate, seconds, Some("ETHUSDT=200ms"));
    println!(
        "  {:<28} {:>9} {:>9} {:>9} {:>8}",
        "run", "p50", "p99", "max", "lines"
    );
    for (name, latencies) in [
        ("undisturbed", &undisturbed),
        ("ETHUSDT --delay 200ms", &delayed),
    ] {
        println!(
            "  {:<28} {:>9} {:>9} {:>9} {:>8}",
            name,
            micros(percentile(latencies, 0.50)),
            micros(percentile(latencies, 0.99)),
            micros(latencies.last().copied().unwrap_or(0)),
            latencies.len()
        );
    }
    let ratio = |p: f64| percentile(&delayed, p) as f64 / percentile(&undisturbed, p).max(1) as f64;
    println!(
        "  delayed / undisturbed: p50 {:.2}, p99 {:.2}",
        ratio(0.50),
        ratio(0.99)
    );
}

/// Sorted BNBUSDT latencies in µs, skipping the first second (connection set-up).
fn bnb_latencies(rate: u64, seconds: u64, delay: Option<&str>) -> Vec<u64> {
    let mock = start_mock(
        MockConfig::new()
            .rate(Rate::PerSecond(rate as f64))
            .micros(true),
    );
    let duration = format!("{seconds}s");
    let url = mock.url();
    let mut args = vec!["--endpoint", &url, "--duration", &duration, "-q"];
    if let Some(delay) = delay {
        args.extend(["--delay", delay]);
    }
    args.extend(["ETHUSDT", "BNBUSDT"]);
    let mut child = spawn_listener(&args);
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let warm_up = unix_micros() + 1_000_000;
    let mut latencies = Vec::new();
    for line in stdout.lines() {
        let Ok(line) = line else { break };
        let arrived = unix_micros();
        if !line.starts_with(r#"{"symbol":"BNBUSDT""#) {
            continue;
        }
        let Some(sent) = field(&line, "\"event_time\":") else {
            continue;
        };
        if sent >= warm_up {
            latencies.push(arrived.saturating_sub(sent));
        }
    }
    let _ = child.wait();
    latencies.sort_unstable();
    latencies
}

/// A market at 4,000 trades/s that resets every connection (TCP RST, no close frame) after
/// 2,000 messages: how long the listener takes to be back, and what the market moved meanwhile.
fn reconnect(seconds: u64) {
    println!(
        "== reconnect: market mode, 4000 trades/s, every connection reset after 2000 messages, {seconds} s"
    );
    let faults = Faults {
        reset_after_messages: Some(2000),
        ..Faults::default()
    };
    let mock = start_mock(
        MockConfig::new()
            .rate(Rate::PerSecond(4000.0))
            .market(true)
            .faults(faults),
    );
    let ids = listen_for_trade_ids(&mock, seconds, &[]);
    let mut gaps = Vec::new();
    let mut lost_at: Option<Instant> = None;
    for event in mock.events().try_iter() {
        match event {
            MockEvent::Disconnected { at, .. } => lost_at = Some(at),
            MockEvent::Connected { at, .. } => {
                if let Some(lost) = lost_at.take() {
                    gaps.push(at.duration_since(lost).as_micros() as u64);
                }
            }
            _ => {}
        }
    }
    gaps.sort_unstable();
    let (missing, duplicates) = id_continuity(&ids);
    println!("  reconnects       {}", gaps.len());
    println!(
        "  reset → new connection: p50 {} max {}",
        micros(percentile(&gaps, 0.5)),
        micros(gaps.last().copied().unwrap_or(0))
    );
    println!(
        "  lines {}  ids missed while reconnecting {missing} ({:.1} per reconnect)  duplicates {duplicates}",
        ids.len(),
        missing as f64 / gaps.len().max(1) as f64
    );
}

/// A market at 1,000 trades/s with `--max-connection-age 2s`: make-before-break rollovers
/// every two seconds; every id should arrive exactly once.
fn rollover(seconds: u64) {
    println!("== rollover: market mode, 1000 trades/s, --max-connection-age 2s, {seconds} s");
    let mock = start_mock(MockConfig::new().rate(Rate::PerSecond(1000.0)).market(true));
    let ids = listen_for_trade_ids(&mock, seconds, &["--max-connection-age", "2s"]);
    let connections = mock
        .events()
        .try_iter()
        .filter(|event| matches!(event, MockEvent::Connected { .. }))
        .count();
    let (missing, duplicates) = id_continuity(&ids);
    println!(
        "  rollovers {}  lines {}  ids lost {missing}  ids written twice {duplicates}",
        connections.saturating_sub(1),
        ids.len()
    );
}

/// `symbols` symbols at 1 trade/s each in one listener: once every one is connected,
/// resident memory, threads and CPU over `seconds`.
fn scale(symbols: u64, seconds: u64) {
    println!("== scale: {symbols} symbols × 1 trade/s in one process, measured over {seconds} s");
    let mock = start_mock(MockConfig::new().rate(Rate::PerSecond(1.0)));
    // Loopback: lift Binance's connection-attempt pacing so every symbol connects at once.
    let config =
        std::env::temp_dir().join(format!("binance-listen-bench-{}.toml", std::process::id()));
    let _ = std::fs::write(&config, "[connection]\nattempts_per_window = 1000000\n");
    let names: Vec<String> = (0..symbols).map(|n| format!("S{n:04}USDT")).collect();
    let url = mock.url();
    let mut args = vec![
        "--endpoint",
        &url,
        "--config",
        config.to_str().unwrap_or(""),
        "-q",
    ];
    args.extend(names.iter().map(String::as_str));
    let mut child = spawn_listener(&args);
    let mut stdout = child.stdout.take().expect("stdout");
    let drain = std::thread::spawn(move || {
        let mut sink = vec![0u8; 1 << 16];
        let mut lines = 0u64;
        while let Ok(read) = stdout.read(&mut sink) {
            if read == 0 {
                break;
            }
            lines += sink[..read].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        lines
    });
    let started = Instant::now();
    let mut connected = 0;
    while connected < symbols && started.elapsed() < Duration::from_secs(120) {
        if let Ok(MockEvent::Connected { .. }) = mock.events().recv_timeout(Duration::from_secs(1))
        {
            connected += 1;
        }
    }
    println!(
        "  connected        {connected} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Let every symbol deliver a few trades before measuring.
    std::thread::sleep(Duration::from_secs(2));
    let pid = child.id();
    let cpu_start = process_cpu(pid);
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let cpu = process_cpu(pid).saturating_sub(cpu_start);
    let (rss_kb, peak_kb, threads) = process_memory(pid);
    let _ = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let _ = child.wait();
    let lines = drain.join().unwrap_or(0);
    println!(
        "  resident memory  {:.1} MB ({:.1} KB per symbol), peak {:.1} MB",
        rss_kb as f64 / 1024.0,
        rss_kb as f64 / symbols.max(1) as f64,
        peak_kb as f64 / 1024.0
    );
    println!("  threads          {threads}");
    println!(
        "  CPU              {:.2} % of a core ({:.0} ms over {seconds} s)",
        cpu.as_secs_f64() * 100.0 / window.elapsed().as_secs_f64(),
        cpu.as_secs_f64() * 1e3
    );
    println!("  lines written    {lines}");
}

/// One symbol at full rate behind `--delay 10ms`: resident memory sampled every second
/// (it must stay flat: bounded by the queue), and the exit summary's accounting.
fn slow_consumer(seconds: u64) {
    println!("== slow consumer: 1 symbol as fast as loopback allows, --delay 10ms, {seconds} s");
    let mock = start_mock(MockConfig::new().rate(Rate::Unlimited));
    let url = mock.url();
    let duration = format!("{seconds}s");
    let mut child = listener_command()
        .args([
            "--endpoint",
            &url,
            "--delay",
            "10ms",
            "--duration",
            &duration,
            "-q",
            "ETHUSDT",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("listener starts");
    let pid = child.id();
    let mut samples = Vec::new();
    while child.try_wait().ok().flatten().is_none() && samples.len() < seconds as usize + 5 {
        std::thread::sleep(Duration::from_secs(1));
        let (rss, peak, _) = process_memory(pid);
        if rss > 0 {
            samples.push((rss, peak));
        }
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let _ = child.wait();
    let rss: Vec<String> = samples
        .iter()
        .map(|(rss, _)| format!("{:.1}", *rss as f64 / 1024.0))
        .collect();
    println!("  resident MB each second: {}", rss.join(" "));
    println!(
        "  peak resident    {:.1} MB",
        samples.iter().map(|(_, peak)| *peak).max().unwrap_or(0) as f64 / 1024.0
    );
    let Some(summary) = stderr.lines().find(|line| line.contains("summary")) else {
        println!("  no exit summary: nothing says how many frames were lost or still queued");
        return;
    };
    println!("  {summary}");
    let count = |field: &str| -> u64 {
        let words: Vec<&str> = summary
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .filter(|w| !w.is_empty())
            .collect();
        words
            .windows(2)
            .find(|pair| pair[0] == field)
            .and_then(|pair| pair[1].parse().ok())
            .unwrap_or(0)
    };
    let accounted = count("written")
        + count("dropped")
        + count("duplicates")
        + count("skipped")
        + count("discarded");
    println!(
        "  received {} = written + dropped + duplicates + skipped + discarded = {accounted}: {}",
        count("received"),
        if accounted == count("received") {
            "every frame accounted for"
        } else {
            "MISMATCH"
        }
    );
}

/// User + system CPU time of process `pid` so far (/proc/PID/stat fields 14 and 15).
fn process_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// VmRSS and VmHWM in KB, and the thread count, of process `pid`.
fn process_memory(pid: u32) -> (u64, u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let value = |key: &str| {
        status
            .lines()
            .find(|line| line.starts_with(key))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|number| number.parse().ok())
            .unwrap_or(0)
    };
    (value("VmRSS:"), value("VmHWM:"), value("Threads:"))
}

/// Runs the listener on ETHUSDT for `seconds` with `extra` flags; returns the trade ids written.
fn listen_for_trade_ids(mock: &MockExchange, seconds: u64, extra: &[&str]) -> Vec<u64> {
    let url = mock.url();
    let duration = format!("{seconds}s");
    let mut args = vec!["--endpoint", &url, "--duration", &duration, "-q"];
    args.extend(extra);
    args.push("ETHUSDT");
    let mut child = spawn_listener(&args);
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let ids = stdout
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| field(&line, "\"trade_id\":"))
        .collect();
    let _ = child.wait();
    ids
}

/// Ids skipped and ids repeated in a sequence that should step by one.
fn id_continuity(ids: &[u64]) -> (u64, u64) {
    let mut missing = 0;
    let mut duplicates = 0;
    for pair in ids.windows(2) {
        if pair[1] > pair[0] {
            missing += pair[1] - pair[0] - 1;
        } else {
            duplicates += 1;
        }
    }
    (missing, duplicates)
}

/// The ceiling: a plain tungstenite client that reads `messages` frames from the same kind
/// of mock and throws them away. Returns frames per second.
fn bare_client(messages: u64) -> f64 {
    let mock = start_mock(MockConfig::new().rate(Rate::Unlimited).count(messages));
    let url = format!("{}/ws/ethusdt@trade", mock.url());
    let started = Instant::now();
    let Ok((mut socket, _)) = tungstenite::connect(url.as_str()) else {
        return f64::NAN;
    };
    let mut frames = 0u64;
    while frames < messages {
        match socket.read() {
            Ok(tungstenite::Message::Text(_)) => frames += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    frames as f64 / started.elapsed().as_secs_f64()
}

fn start_mock(config: MockConfig) -> MockExchange {
    MockExchange::start(config).expect("mock exchange starts")
}

/// Which listener the scenarios run: binance-listen, or the Python baseline.
static PYTHON_BASELINE: OnceLock<PathBuf> = OnceLock::new();

/// The command for the listener under test: binance-listen, or (in the `python`
/// scenario) `python3 benches/python_listener.py` with websocket-client on its path.
fn listener_command() -> Command {
    match PYTHON_BASELINE.get() {
        None => Command::new(LISTENER),
        Some(packages) => {
            let mut command = Command::new("python3");
            command
                .arg(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/benches/python_listener.py"
                ))
                .env("PYTHONPATH", packages);
            command
        }
    }
}

fn spawn_listener(args: &[&str]) -> Child {
    listener_command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("listener starts")
}

/// Installs websocket-client into target/pybench (once) and switches the scenarios to the
/// Python baseline. Returns `false` if Python or the package is not available.
fn use_python_baseline() -> bool {
    let packages = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/pybench"));
    let import = |packages: &PathBuf| {
        Command::new("python3")
            .args(["-c", "import websocket"])
            .env("PYTHONPATH", packages)
            .status()
            .is_ok_and(|status| status.success())
    };
    if !import(&packages) {
        println!("  installing websocket-client into {}", packages.display());
        let _ = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--target"])
            .arg(&packages)
            .arg("websocket-client")
            .status();
    }
    if !import(&packages) {
        println!("  python3 with websocket-client is not available: skipping the baseline");
        return false;
    }
    PYTHON_BASELINE.set(packages).is_ok()
}

/// The integer after `key` in a JSON line.
fn field(line: &str, key: &str) -> Option<u64> {
    let start = line.find(key)? + key.len();
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(value: u64) -> String {
    if value >= 1000 {
        format!("{:.2}ms", value as f64 / 1000.0)
    } else {
        format!("{value}µs")
    }
}

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as u64)
}

/// CPU time used by this process's waited-for children (`cutime + cstime` in /proc).
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; cutime and cstime are fields 16 and 17.
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(13).copied().unwrap_or(0) + fields.get(14).copied().unwrap_or(0);
    // USER_HZ is 100 on every Linux this runs on.
    Duration::from_millis(ticks * 10)
}
