//! Recording and replay: the listener records `messages` pre-encoded trades (`--record`,
//! JSON lines to a counting pipe, as in the throughput scenario), then the recording is
//! replayed at `--speed max` through the same pipeline, once as JSON lines and once as raw
//! frames. Printed: the live rates with and without recording, the replay rates, CPU per
//! message, peak resident memory, and bytes per trade on disk (zstd) against the raw
//! frames' bytes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::child::{Measured, Usage, process_memory};
use crate::mock::{MockProcess, MockSpec};
use crate::{LISTENER, listener_command};

/// One measured run: lines and bytes read from its stdout, and its usage.
struct Run {
    lines: u64,
    bytes: u64,
    usage: Usage,
    /// Peak resident memory, KB.
    peak_kb: u64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.lines as f64 / self.usage.wall.as_secs_f64()
    }

    fn cpu_us(&self) -> f64 {
        self.usage.cpu.as_secs_f64() * 1e6 / self.lines.max(1) as f64
    }
}

/// `runs` rounds of: live JSON lines without and with `--record`, then replays of that
/// recording as JSON and raw lines.
pub(crate) fn replay(messages: u64, runs: u64) {
    println!(
        "== record and replay: 1 stream of {messages} trades. Live (--overflow block, pre-encoded \
         sender) without and with --record; then a recording of the mock's lively trades \
         (paced at {PACED_RATE}/s so the recorder keeps every frame) replayed at --speed max; \
         stdout to a counting pipe, {runs} run(s)"
    );
    println!(
        "  {:<4} {:<18} {:>12} {:>11} {:>10}",
        "run", "what", "rate /s", "CPU µs/msg", "peak RSS"
    );
    for run in 1..=runs {
        let dir = std::env::temp_dir().join(format!("bl-bench-replay-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let live = live_run(&MockSpec::unlimited(), messages, None);
        print_run(run, "live json", &live);
        let recorded = live_run(&MockSpec::unlimited(), messages, Some(&dir));
        print_run(run, "live json+record", &recorded);
        let _ = std::fs::remove_dir_all(&dir);
        let paced = MockSpec::per_second(PACED_RATE);
        let complete = live_run(&paced, messages, Some(&dir));
        print_run(run, "paced json+record", &complete);
        let dir_arg = dir.to_str().expect("a UTF-8 temp path");
        let json =
            measure(Command::new(LISTENER).args(["replay", dir_arg, "--speed", "max", "-q"]));
        print_run(run, "replay json", &json);
        let raw = measure(
            Command::new(LISTENER)
                .args(["replay", dir_arg, "--speed", "max", "--format", "raw", "-q"]),
        );
        print_run(run, "replay raw", &raw);
        let disk = disk_bytes(&dir);
        println!(
            "       disk: {disk} bytes for {} frames = {:.1} bytes/trade compressed, {:.1} raw ({:.1}× smaller)",
            raw.lines,
            disk as f64 / raw.lines.max(1) as f64,
            raw.bytes as f64 / raw.lines.max(1) as f64,
            raw.bytes as f64 / disk.max(1) as f64
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The paced rate of the recording that is replayed: one the recorder keeps up with on a
/// shared 2-core machine, so the recording is complete.
const PACED_RATE: f64 = 200_000.0;

fn print_run(run: u64, what: &str, figures: &Run) {
    println!(
        "  {run:<4} {what:<18} {:>10.2} M {:>11.3} {:>7.1} MB",
        figures.rate() / 1e6,
        figures.cpu_us(),
        figures.peak_kb as f64 / 1024.0
    );
}

/// The listener reading ETHUSDT's trades from a fresh mock until `--max-messages`,
/// recording into `record` if given.
fn live_run(spec: &MockSpec, messages: u64, record: Option<&Path>) -> Run {
    let mock = MockProcess::start(&MockSpec {
        count: Some(messages),
        preencoded: spec.rate.is_none(),
        ..spec.clone()
    });
    let count = messages.to_string();
    let mut command = listener_command();
    command.args(["--endpoint", mock.url(), "--overflow", "block"]);
    command.args(["--max-messages", &count, "-q", "--format", "json"]);
    if let Some(dir) = record {
        command.arg("--record").arg(dir);
    }
    command.arg("ETHUSDT");
    measure(&mut command)
}

/// Runs `command`, counting its stdout's lines and bytes and sampling its peak memory.
fn measure(command: &mut Command) -> Run {
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("listener starts");
    let pid = child.id();
    let mut measured = Measured::new(child, started);
    let peak = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, running) = (Arc::clone(&peak), Arc::clone(&running));
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                let (_, high_water, _) = process_memory(pid);
                peak.fetch_max(high_water, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut stdout = measured.child().stdout.take().expect("piped stdout");
    let mut buffer = vec![0u8; 1 << 20];
    let (mut lines, mut bytes) = (0u64, 0u64);
    while let Ok(read) = stdout.read(&mut buffer) {
        if read == 0 {
            break;
        }
        bytes += read as u64;
        lines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    running.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    let usage = measured.finish();
    if !usage.status.is_some_and(|status| status.success()) {
        println!("       exit: {:?}", usage.status);
    }
    Run {
        lines,
        bytes,
        usage,
        peak_kb: peak.load(Ordering::Relaxed),
    }
}

/// The bytes of every file under `dir`.
fn disk_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending: Vec<PathBuf> = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                total += entry.metadata().map_or(0, |metadata| metadata.len());
            }
        }
    }
    total
}
