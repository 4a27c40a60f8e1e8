//! The project's benchmark: the release binary against the mock exchange on loopback, each
//! scenario printing its figures. Nothing here asserts a time.
//!
//! The mock runs in its own process (this executable again, `bench __mock ..`; see
//! [`mock`]), so the figures measure the listener alone; throughput also runs a bare
//! tungstenite client (`bench __bare ..`) against the same kind of mock in the same run.
//!
//! ```text
//! cargo bench --bench bench                     # every scenario, default sizes
//! cargo bench --bench bench -- throughput [MESSAGES] [RUNS]   # JSON and raw lines, bare client
//! cargo bench --bench bench -- replay [MESSAGES] [RUNS]   # record, then replay --speed max
//! cargo bench --bench bench -- isolation [RATE] [SECONDS]
//! cargo bench --bench bench -- reconnect [SECONDS]
//! cargo bench --bench bench -- rollover [SECONDS]
//! cargo bench --bench bench -- scale [SYMBOLS] [SECONDS]   # over ws:// and wss://
//! cargo bench --bench bench -- idle [SYMBOLS] [SECONDS]    # quiet symbols: waiting's cost
//! cargo bench --bench bench -- slow [SECONDS]
//! cargo bench --bench bench -- block [SECONDS]    # reader CPU while --overflow block waits
//! cargo bench --bench bench -- nats [MESSAGES] [SYMBOLS]   # needs nats-server
//! cargo bench --bench bench -- books [SYMBOLS] [SECONDS]   # --stream book
//! cargo bench --bench bench -- python [MESSAGES]   # the same scenarios, Python baseline
//! ```
//!
//! Every listener run reads a config file that lifts the connection-attempt pacing
//! (`[connection] attempts_per_window`): the mock is not Binance, and scenarios that
//! connect many symbols or reconnect often would otherwise measure the pacing.

mod books;
mod child;
mod mock;
mod nats;
mod preencoded;
mod replay;
mod scenarios;
mod throughput;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use books::books;
use scenarios::{isolation, reconnect, rollover, scale, slow_consumer};
use throughput::throughput;

const LISTENER: &str = env!("CARGO_BIN_EXE_binance-listen");

/// Throughput runs per format by default: the machine is shared, one run can mislead.
const DEFAULT_RUNS: u64 = 3;

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
        Some(mock::MOCK_ROLE) => mock::serve(&args[1..]),
        Some(throughput::BARE_ROLE) => throughput::run_bare_client(&args[1..]),
        Some("throughput") => throughput(number(1, 2_000_000), number(2, DEFAULT_RUNS)),
        Some("replay") => replay::replay(number(1, 1_000_000), number(2, DEFAULT_RUNS)),
        Some("isolation") => isolation(number(1, 1000), number(2, 10)),
        Some("reconnect") => reconnect(number(1, 10)),
        Some("rollover") => rollover(number(1, 10)),
        Some("scale") => {
            scale(number(1, 1000), number(2, 10), false);
            scale(number(1, 1000), number(2, 10), true);
        }
        Some("idle") => scenarios::idle(number(1, 1000), number(2, 10)),
        Some("block") => scenarios::blocked_reader(number(1, 10)),
        Some("slow") => slow_consumer(number(1, 10)),
        Some("nats") => nats::nats(number(1, 200_000), number(2, 200)),
        Some("books") => books(number(1, 200), number(2, 10)),
        Some("python") => {
            println!(
                "== python baseline: websocket-client thread + unbounded queue + processor thread per symbol"
            );
            if use_python_baseline() {
                throughput(number(1, 200_000), 1);
                isolation(1000, 10);
                scale(200, 10, false);
                slow_consumer(10);
            }
        }
        None => {
            throughput(2_000_000, DEFAULT_RUNS);
            replay::replay(1_000_000, DEFAULT_RUNS);
            isolation(1000, 10);
            reconnect(10);
            rollover(10);
            scale(1000, 10, false);
            scale(1000, 10, true);
            scenarios::idle(1000, 10);
            slow_consumer(10);
            scenarios::blocked_reader(10);
            nats::nats(200_000, 200);
            books(200, 10);
        }
        Some(other) => {
            eprintln!(
                "unknown scenario '{other}': expected throughput, replay, isolation, reconnect, rollover, scale, idle, slow, block, nats, books or python"
            );
            std::process::exit(2);
        }
    }
    if let Some(config) = PACING_CONFIG.get() {
        let _ = std::fs::remove_file(config);
    }
}

/// The config file every listener run reads, once written.
static PACING_CONFIG: OnceLock<PathBuf> = OnceLock::new();

/// A config file that lifts the connection-attempt pacing, written once per run and
/// removed when `main` returns.
fn pacing_config() -> &'static PathBuf {
    PACING_CONFIG.get_or_init(|| {
        let path =
            std::env::temp_dir().join(format!("binance-listen-bench-{}.toml", std::process::id()));
        std::fs::write(&path, "[connection]\nattempts_per_window = 1000000\n")
            .expect("the benchmark's config file is written");
        path
    })
}

/// Whether the scenarios run the Python baseline.
fn is_python_baseline() -> bool {
    PYTHON_BASELINE.get().is_some()
}

/// Which listener the scenarios run: binance-listen, or the Python baseline.
static PYTHON_BASELINE: OnceLock<PathBuf> = OnceLock::new();

/// The command for the listener under test: binance-listen, or (in the `python`
/// scenario) `python3 benches/python_listener.py` with websocket-client on its path.
fn listener_command() -> Command {
    let mut command = match PYTHON_BASELINE.get() {
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
    };
    command.arg("--config").arg(pacing_config());
    command
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
