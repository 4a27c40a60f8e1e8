//! The world around the listener misbehaving: closed standard streams, too few file
//! descriptors, strange symbols, a config "file" that never ends. Each ends with a clear
//! line and the right status, never an abort, a hang or a silent miscount.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use binance_mock::{MockConfig, Rate};

use crate::support::{Exchange, PATIENCE, TempDir, binary, run_to_end, wait_with_deadline};

/// `sh -c SCRIPT` with the binary's path in `$0`, its output captured.
fn shell(script: &str) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(script)
        .arg(binary())
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

#[test]
fn a_closed_stderr_never_aborts_the_run() {
    // `binance-listen … 2>&1 | head -2`: logs and lines share the pipe; once it is closed,
    // every later log line fails to write. The run must still end with status 0.
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(200.0)));
    let mut child = shell(r#"exec "$0" --endpoint "$1" ETHUSDT BNBUSDT 2>&1"#)
        .arg(exchange.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("shell starts");
    let stdout = child.stdout.take().expect("piped");
    let mut reader = BufReader::new(stdout);
    for _ in 0..2 {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).expect("read") > 0);
    }
    drop(reader);
    let status = wait_with_deadline(&mut child, PATIENCE).expect("exits after its pipe closes");
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn a_stdout_closed_at_start_is_refused_instead_of_counted_written() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(200.0)));
    let output = shell(r#"exec "$0" --endpoint "$1" --duration 5s ETHUSDT >&-"#)
        .arg(exchange.url())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("binance-listen: error: cannot write to stdout: it is closed"),
        "{stderr}"
    );
    assert!(!stderr.contains("summary"), "{stderr}");
}

#[test]
fn too_few_file_descriptors_is_a_usage_error_naming_the_need() {
    let symbols: Vec<String> = (0..40).map(|n| format!("S{n}USDT")).collect();
    // A hard limit of 64 cannot be raised: the run is refused before anything opens.
    let output = shell(r#"ulimit -n 64 && exec "$0" --endpoint ws://127.0.0.1:9 "$@""#)
        .args(&symbols)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("40 symbol(s) need up to"), "{stderr}");
    assert!(stderr.contains("the limit is 64"), "{stderr}");
}

#[test]
fn a_low_soft_descriptor_limit_is_raised_and_the_run_goes_on() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(3));
    let symbols: Vec<String> = (0..40).map(|n| format!("S{n}USDT")).collect();
    let output = shell(
        r#"url="$1"; shift; ulimit -Sn 64 && exec "$0" --endpoint "$url" --max-messages 3 "$@""#,
    )
    .arg(exchange.url())
    .args(&symbols)
    .output()
    .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 120);
}

#[test]
fn a_symbol_holding_a_newline_is_one_escaped_error_line() {
    let (status, stdout, stderr) = run_to_end(&["ETH\nUSDT"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains(r"invalid symbol 'ETH\nUSDT'"), "{stderr}");
}

#[test]
fn a_config_file_that_never_ends_is_refused_without_eating_memory() {
    let (status, _, stderr) = run_to_end(&["--config", "/dev/zero", "ETHUSDT"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot read config file '/dev/zero': larger than 1024 KiB"),
        "{stderr}"
    );
}

#[test]
fn symbols_differing_only_by_a_lossy_case_mapping_get_their_own_files() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(2));
    let dir = TempDir::new();
    let out = dir.path_of("out");
    let (status, _, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--output-dir",
        out.to_str().expect("utf-8 path"),
        "--max-messages",
        "2",
        "straße",
        "STRASSE",
    ]);
    assert!(status.success(), "{stderr}");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("output dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["STRASSE.jsonl", "STRAßE.jsonl"]);
}
