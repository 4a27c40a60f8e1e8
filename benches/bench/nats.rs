//! NATS JetStream (`--nats`), against a real `nats-server -js` started here (skipped with a
//! notice when it is not installed): the publish rate with every line acknowledged, for one
//! symbol and for many; the listener's CPU and peak memory; and how long a `--group` takes
//! to move a killed member's symbols to the survivor.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::child::{Measured, process_memory};
use crate::listener_command;
use crate::mock::{MockProcess, MockSpec};

/// A `nats-server -js` on a port of its choosing, its store in a temp dir.
struct NatsServer {
    child: Child,
    port: u16,
    store: std::path::PathBuf,
}

impl NatsServer {
    fn start() -> Option<Self> {
        let store =
            std::env::temp_dir().join(format!("binance-listen-bench-nats-{}", std::process::id()));
        let mut child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-sd"])
            .arg(&store)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        let stderr = child.stderr.take()?;
        let mut port = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                port = rest.rsplit(':').next().and_then(|p| p.trim().parse().ok());
            }
            if line.contains("Server is ready") {
                break;
            }
        }
        Some(Self {
            child,
            port: port?,
            store,
        })
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// Samples the peak resident memory (VmHWM) of `pid` until stopped.
fn peak_memory(pid: u32) -> (Arc<AtomicBool>, std::thread::JoinHandle<u64>) {
    let running = Arc::new(AtomicBool::new(true));
    let flag = Arc::clone(&running);
    let sampler = std::thread::spawn(move || {
        let peak = AtomicU64::new(0);
        while flag.load(Ordering::Relaxed) {
            let (_, hwm, _) = process_memory(pid);
            peak.fetch_max(hwm, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(50));
        }
        peak.load(Ordering::Relaxed)
    });
    (running, sampler)
}

/// Publish rates, CPU and memory for 1 and `symbols` symbols; then a group takeover.
pub(crate) fn nats(messages: u64, symbols: u64) {
    println!("== nats: publishes acknowledged by a real nats-server -js on loopback (file store)");
    let Some(server) = NatsServer::start() else {
        println!("  skipped: nats-server is not installed (apt-get install nats-server)");
        return;
    };
    publish_run(&server, 1, messages);
    publish_run(&server, symbols, (messages / symbols.max(1)).max(100));
    takeover(&server, 20, "5s");
    takeover(&server, 20, "2s");
}

/// `symbols` symbols of `per_symbol` trades each, as fast as they come, `--overflow block`:
/// the rate is lines acknowledged per second, spawn to exit.
fn publish_run(server: &NatsServer, symbols: u64, per_symbol: u64) {
    let mock = MockProcess::start(&MockSpec {
        count: Some(per_symbol),
        preencoded: symbols == 1,
        ..MockSpec::unlimited()
    });
    let names: Vec<String> = if symbols == 1 {
        vec!["ETHUSDT".to_owned()]
    } else {
        (0..symbols).map(|n| format!("S{n:04}USDT")).collect()
    };
    let stream = format!("BENCH{symbols}");
    let count = per_symbol.to_string();
    let url = server.url();
    let mut command = listener_command();
    command.args([
        "--endpoint",
        mock.url(),
        "--nats",
        &url,
        "--nats-stream",
        &stream,
    ]);
    command.args([
        "--nats-subject",
        &format!("bench{symbols}.{{market}}.{{stream}}.{{symbol}}"),
    ]);
    command.args(["--overflow", "block", "--max-messages", &count, "-q"]);
    command.args(&names);
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("listener starts");
    let (sampling, sampler) = peak_memory(child.id());
    let usage = Measured::new(child, started).finish();
    sampling.store(false, Ordering::Relaxed);
    let peak_kb = sampler.join().unwrap_or(0);
    let total = per_symbol * symbols;
    println!(
        "  {symbols:>4} symbol(s) × {per_symbol:>7} lines: {:>8.0} acked lines/s, {:.2} µs CPU per line, peak RSS {:.1} MB ({:?})",
        total as f64 / usage.wall.as_secs_f64(),
        usage.cpu.as_secs_f64() * 1e6 / total as f64,
        peak_kb as f64 / 1024.0,
        usage.status.map(|status| status.code())
    );
}

/// Two members sharing `symbols` symbols; the second is killed (SIGKILL): how long until
/// the first holds every symbol.
fn takeover(server: &NatsServer, symbols: u64, lease: &str) {
    let mock = MockProcess::start(&MockSpec::per_second(5.0));
    let names: Vec<String> = (0..symbols).map(|n| format!("T{n:03}USDT")).collect();
    let group = format!("bench{}", lease.trim_end_matches('s'));
    let url = server.url();
    let start_member = |member: &str| {
        let mut command = listener_command();
        command.args([
            "--endpoint",
            mock.url(),
            "--nats",
            &url,
            "--nats-stream",
            "TAKEOVER",
        ]);
        command.args(["--nats-subject", "takeover.{market}.{stream}.{symbol}"]);
        command.args(["--group", &group, "--lease", lease, "--member", member]);
        command.args(&names);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("member starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = std::sync::mpsc::channel::<(Instant, String)>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = sender.send((Instant::now(), line));
            }
        });
        (child, lines)
    };
    let (mut a, a_lines) = start_member("a");
    let (mut b, b_lines) = start_member("b");
    let mut held_a = std::collections::BTreeSet::new();
    let mut held_b = std::collections::BTreeSet::new();
    let note = |held: &mut std::collections::BTreeSet<String>, line: &str| {
        if let Some(rest) = line.split("holding ").nth(1)
            && rest.contains("(lease slot")
        {
            held.insert(rest.split(' ').next().unwrap_or("").to_owned());
        }
        if let Some(rest) = line.split("released ").nth(1) {
            held.remove(rest.split(':').next().unwrap_or(""));
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline
        && !(held_a.len() + held_b.len() == names.len() && !held_a.is_empty() && !held_b.is_empty())
    {
        while let Ok((_, line)) = a_lines.try_recv() {
            note(&mut held_a, &line);
        }
        while let Ok((_, line)) = b_lines.try_recv() {
            note(&mut held_b, &line);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let moved = held_b.len();
    let killed = Instant::now();
    let _ = b.kill();
    let _ = b.wait();
    let mut last = killed;
    while held_a.len() < names.len() && killed.elapsed() < Duration::from_secs(60) {
        if let Ok((at, line)) = a_lines.recv_timeout(Duration::from_millis(100)) {
            note(&mut held_a, &line);
            last = at;
        }
    }
    println!(
        "  takeover, --lease {lease}: {moved} of {symbols} symbols of a killed member held by the survivor {:.2} s after SIGKILL",
        last.duration_since(killed).as_secs_f64()
    );
    let _ = a.kill();
    let _ = a.wait();
}
