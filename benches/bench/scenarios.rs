//! The scenarios beyond throughput: isolation (latency of one symbol beside a delayed
//! one), reconnect (after TCP resets), rollover (make-before-break), scale (many symbols
//! in one process) and slow (a delayed consumer at full rate). Each starts its own mock
//! process and the listener under test, and prints its figures.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::child::{measure_then_stop, process_cpu, process_memory, threads_cpu};
use crate::mock::{Event, MockProcess, MockSpec};
use crate::{field, listener_command, micros, percentile, spawn_listener, unix_micros};

/// ETHUSDT and BNBUSDT at `rate` msg/s each for `seconds`; BNBUSDT's latency (mock event
/// time in µs → line read from the pipe) without and with `--delay ETHUSDT=200ms`.
pub(crate) fn isolation(rate: u64, seconds: u64) {
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
    let mock = MockProcess::start(&MockSpec {
        micros: true,
        ..MockSpec::per_second(rate as f64)
    });
    let duration = format!("{seconds}s");
    let mut args = vec!["--endpoint", mock.url(), "--duration", &duration, "-q"];
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
pub(crate) fn reconnect(seconds: u64) {
    println!(
        "== reconnect: market mode, 4000 trades/s, every connection reset after 2000 messages, {seconds} s"
    );
    let mock = MockProcess::start(&MockSpec {
        market: true,
        reset_after: Some(2000),
        ..MockSpec::per_second(4000.0)
    });
    let ids = listen_for_trade_ids(&mock, seconds, &[]);
    let mut gaps = Vec::new();
    let mut lost_at: Option<u64> = None;
    for event in mock.events().try_iter() {
        match event {
            Event::Disconnected { at_us } => lost_at = Some(at_us),
            Event::Connected { at_us } => {
                if let Some(lost) = lost_at.take() {
                    gaps.push(at_us.saturating_sub(lost));
                }
            }
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
pub(crate) fn rollover(seconds: u64) {
    println!("== rollover: market mode, 1000 trades/s, --max-connection-age 2s, {seconds} s");
    let mock = MockProcess::start(&MockSpec {
        market: true,
        ..MockSpec::per_second(1000.0)
    });
    let ids = listen_for_trade_ids(&mock, seconds, &["--max-connection-age", "2s"]);
    let connections = mock
        .events()
        .try_iter()
        .filter(|event| matches!(event, Event::Connected { .. }))
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
pub(crate) fn scale(symbols: u64, seconds: u64, tls: bool) {
    let scheme = if tls { "wss" } else { "ws" };
    println!(
        "== scale: {symbols} symbols × 1 trade/s in one process over {scheme}://, measured over {seconds} s"
    );
    many_symbols(symbols, seconds, tls, 1.0);
}

/// `symbols` quiet symbols (a trade every 100 s each): what waiting costs, the read ticks
/// and keep-alive pings of idle connections.
pub(crate) fn idle(symbols: u64, seconds: u64) {
    println!(
        "== idle: {symbols} symbols × 1 trade per 100 s in one process over ws://, measured over {seconds} s"
    );
    many_symbols(symbols, seconds, false, 0.01);
}

/// `symbols` symbols at `rate` trades/s each: connected, then measured over `seconds`.
fn many_symbols(symbols: u64, seconds: u64, tls: bool, rate: f64) {
    let mock = MockProcess::start(&MockSpec {
        tls,
        ..MockSpec::per_second(rate)
    });
    let names: Vec<String> = (0..symbols).map(|n| format!("S{n:04}USDT")).collect();
    let mut args = vec!["--endpoint", mock.url(), "-q"];
    if let Some(ca) = mock.ca() {
        args.extend(["--ca-cert", ca]);
    }
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
        if let Ok(Event::Connected { .. }) = mock.events().recv_timeout(Duration::from_secs(1)) {
            connected += 1;
        }
    }
    println!(
        "  connected        {connected} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Every symbol delivers a few trades before the window opens.
    let used = measure_then_stop(&mut child, seconds);
    let lines = drain.join().unwrap_or(0);
    println!(
        "  resident memory  {:.1} MB ({:.1} KB per symbol), peak {:.1} MB",
        used.rss_kb as f64 / 1024.0,
        used.rss_kb as f64 / symbols.max(1) as f64,
        used.peak_kb as f64 / 1024.0
    );
    println!("  threads          {}", used.threads);
    println!(
        "  CPU              {:.2} % of a core ({:.0} ms over {seconds} s)",
        used.cpu_percent(),
        used.cpu.as_secs_f64() * 1e3
    );
    println!("  lines written    {lines}");
}

/// One symbol at full rate behind `--delay 10ms` with `--overflow block`: the reader waits
/// for room (parked, not spinning). Its CPU share over `seconds`, from its thread's own times.
pub(crate) fn blocked_reader(seconds: u64) {
    println!(
        "== blocked reader: 1 symbol as fast as loopback allows, --overflow block, --delay 10ms, {seconds} s"
    );
    let mock = MockProcess::start(&MockSpec::unlimited());
    let duration = format!("{}s", seconds + 2);
    let mut child = listener_command()
        .args([
            "--endpoint",
            mock.url(),
            "--overflow",
            "block",
            "--delay",
            "10ms",
        ])
        .args(["--duration", &duration, "-q", "ETHUSDT"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("listener starts");
    let pid = child.id();
    // The queue fills within the first second; measure after.
    std::thread::sleep(Duration::from_secs(1));
    let (reader_start, process_start) = (threads_cpu(pid, "ws-"), process_cpu(pid));
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let (reader, process) = (
        threads_cpu(pid, "ws-").saturating_sub(reader_start),
        process_cpu(pid).saturating_sub(process_start),
    );
    let elapsed = window.elapsed().as_secs_f64();
    let _ = child.wait();
    println!(
        "  reader thread    {:.2} % of a core ({:.0} ms over {elapsed:.1} s)",
        reader.as_secs_f64() * 100.0 / elapsed,
        reader.as_secs_f64() * 1e3
    );
    println!(
        "  whole process    {:.2} % of a core (the processor's 100 lines/s included)",
        process.as_secs_f64() * 100.0 / elapsed
    );
}

/// One symbol at full rate behind `--delay 10ms`: resident memory sampled every second
/// (it must stay flat: bounded by the queue), and the exit summary's accounting.
pub(crate) fn slow_consumer(seconds: u64) {
    println!("== slow consumer: 1 symbol as fast as loopback allows, --delay 10ms, {seconds} s");
    let mock = MockProcess::start(&MockSpec::unlimited());
    let duration = format!("{seconds}s");
    let mut child = listener_command()
        .args([
            "--endpoint",
            mock.url(),
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

/// Runs the listener on ETHUSDT for `seconds` with `extra` flags; returns the trade ids written.
fn listen_for_trade_ids(mock: &MockProcess, seconds: u64, extra: &[&str]) -> Vec<u64> {
    let duration = format!("{seconds}s");
    let mut args = vec!["--endpoint", mock.url(), "--duration", &duration, "-q"];
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
