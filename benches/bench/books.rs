//! The `books` scenario (`--stream book`): first one book fed as fast as loopback allows
//! (`--overflow block`, so nothing is dropped) — the updates one book applies and writes
//! per second, and its CPU per update — then
//! SYMBOLS books at 10 updates a second each (Binance's `@depth@100ms` pace): how long until
//! every book is live (snapshot fetched within the weight budget, first line written), and
//! the CPU and resident memory of keeping them.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::child::{Measured, measure_then_stop};
use crate::listener_command;
use crate::mock::{MockProcess, MockSpec};

/// Updates the single book is fed.
const ONE_BOOK_UPDATES: u64 = 100_000;

pub(crate) fn books(symbols: u64, seconds: u64) {
    println!(
        "== books: one book as fast as loopback allows; {symbols} books × 10 updates/s over {seconds} s"
    );
    one_book();
    many_books(symbols, seconds);
}

fn one_book() {
    let mock = MockProcess::start(&MockSpec {
        count: Some(ONE_BOOK_UPDATES + 10_000),
        ..MockSpec::unlimited()
    });
    let max = ONE_BOOK_UPDATES.to_string();
    let started = Instant::now();
    let mut child = listener_command()
        .args([
            "--endpoint",
            mock.url(),
            "--stream",
            "book",
            "--max-messages",
            &max,
        ])
        // Lag rather than lose: a dropped update costs the book a resync, and the figure
        // wanted is what one book keeps up with. The duration is a safety net only.
        .args(["--overflow", "block", "--duration", "120s", "-q", "ETHUSDT"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("listener starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let drain = std::thread::spawn(move || {
        let mut sink = vec![0u8; 1 << 16];
        let (mut lines, mut bytes) = (0u64, 0u64);
        while let Ok(read) = stdout.read(&mut sink) {
            if read == 0 {
                break;
            }
            bytes += read as u64;
            lines += sink[..read].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        (lines, bytes)
    });
    let usage = Measured::new(child, started).finish();
    let (lines, bytes) = drain.join().unwrap_or((0, 0));
    let wall = usage.wall.as_secs_f64();
    println!(
        "  one book         {lines} lines ({:.0} bytes each) in {wall:.2} s: {:.0} updates/s applied and written, top 20 a side",
        bytes as f64 / lines.max(1) as f64,
        lines as f64 / wall
    );
    println!(
        "  CPU              {:.2} s, {:.2} µs per update (snapshot and start-up included)",
        usage.cpu.as_secs_f64(),
        usage.cpu.as_secs_f64() * 1e6 / lines.max(1) as f64
    );
}

fn many_books(symbols: u64, seconds: u64) {
    let mock = MockProcess::start(&MockSpec::per_second(10.0));
    let names: Vec<String> = (0..symbols).map(|n| format!("S{n:04}USDT")).collect();
    let started = Instant::now();
    let mut child = listener_command()
        .args(["--endpoint", mock.url(), "--stream", "book", "-q"])
        .args(&names)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("listener starts");
    let stdout = child.stdout.take().expect("stdout");
    let (live_tx, live_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut live: HashSet<String> = HashSet::new();
        let mut lines = 0u64;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            lines += 1;
            if live.len() < symbols as usize
                && let Some(symbol) = line
                    .strip_prefix("{\"symbol\":\"")
                    .and_then(|rest| rest.split('"').next())
                && live.insert(symbol.to_owned())
                && live.len() == symbols as usize
            {
                let _ = live_tx.send(());
            }
        }
        lines
    });
    match live_rx.recv_timeout(Duration::from_secs(120)) {
        Ok(()) => println!(
            "  all live         {symbols} books with a first line in {:.2} s",
            started.elapsed().as_secs_f64()
        ),
        Err(_) => println!("  all live         not within 120 s"),
    }
    let used = measure_then_stop(&mut child, seconds);
    let lines = reader.join().unwrap_or(0);
    println!(
        "  resident memory  {:.1} MB ({:.1} KB per book), peak {:.1} MB, {} threads",
        used.rss_kb as f64 / 1024.0,
        used.rss_kb as f64 / symbols.max(1) as f64,
        used.peak_kb as f64 / 1024.0,
        used.threads
    );
    println!(
        "  CPU              {:.2} % of a core for {} updates/s ({:.0} ms over {seconds} s)",
        used.cpu_percent(),
        symbols * 10,
        used.cpu.as_secs_f64() * 1e3
    );
    println!("  lines written    {lines}");
}
