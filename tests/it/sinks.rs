//! Per-symbol outputs: files (`--output-dir`) and handlers (`--exec`), and the isolation
//! they give: one symbol's slow consumer holds back only that symbol.

use std::time::{Duration, Instant};

use binance_mock::MockConfig;
use binance_mock::Rate;

use crate::support::{
    Exchange, Listener, PATIENCE, TempDir, assert_ids_in_order, run_to_end, summary_count,
};

fn lines_of(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until `path` holds `count` lines; fails after [`PATIENCE`].
fn wait_for_lines(path: &std::path::Path, count: usize) {
    let deadline = Instant::now() + PATIENCE;
    while lines_of(path).len() < count {
        assert!(
            Instant::now() < deadline,
            "{} never reached {count} lines",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn output_dir_writes_and_appends_one_file_per_symbol() {
    let dir = TempDir::new();
    let out = dir.path_of("data");
    for run in 1..=2 {
        let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(50));
        let (status, stdout, stderr) = run_to_end(&[
            "--endpoint",
            &exchange.url(),
            "--output-dir",
            out.to_str().unwrap(),
            "--max-messages",
            "50",
            "ETHUSDT",
            "BNBUSDT",
        ]);
        assert!(status.success(), "{stderr}");
        assert!(stdout.is_empty(), "lines went to stdout: {stdout}");
        for symbol in ["ETHUSDT", "BNBUSDT"] {
            let lines = lines_of(&out.join(format!("{symbol}.jsonl")));
            assert_eq!(lines.len(), 50 * run, "{symbol} after run {run}");
            assert_ids_in_order(&lines[50 * (run - 1)..], &[symbol], 50);
        }
    }
}

#[test]
fn a_full_disk_stops_only_its_symbol_with_a_readable_error() {
    let dir = TempDir::new();
    let out = dir.path_of("data");
    std::fs::create_dir_all(&out).unwrap();
    std::os::unix::fs::symlink("/dev/full", out.join("ETHUSDT.jsonl")).unwrap();
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(30));
    let (status, _, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--output-dir",
        out.to_str().unwrap(),
        "--max-messages",
        "30",
        "ETHUSDT",
        "BNBUSDT",
    ]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ETHUSDT.jsonl: No space left on device"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 of 2 symbol(s) could not be served: ETHUSDT"),
        "{stderr}"
    );
    assert_eq!(lines_of(&out.join("BNBUSDT.jsonl")).len(), 30);
    assert_eq!(summary_count(&stderr, "BNBUSDT", "written"), 30);
}

#[test]
fn an_output_dir_that_cannot_exist_is_a_usage_error() {
    let (status, _, stderr) = run_to_end(&["--output-dir", "/dev/null/data", "ETHUSDT"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid output directory '/dev/null/data'"),
        "{stderr}"
    );
}

#[test]
fn a_sleeping_handler_does_not_hold_back_another_symbols_handler() {
    let dir = TempDir::new();
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(40));
    // ETHUSDT's handler sleeps before reading anything; BNBUSDT's copies its input at once.
    let handler = format!(
        "if [ \"$BINANCE_LISTEN_SYMBOL\" = ETHUSDT ]; then sleep 30; fi; cat > {}/{{symbol}}.out",
        dir.path_of("").display()
    );
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--exec",
        &handler,
        "ETHUSDT",
        "BNBUSDT",
    ]);
    wait_for_lines(&dir.path_of("BNBUSDT.out"), 40);
    assert!(
        lines_of(&dir.path_of("ETHUSDT.out")).is_empty(),
        "ETHUSDT's handler was supposed to be asleep"
    );
    assert_ids_in_order(&lines_of(&dir.path_of("BNBUSDT.out")), &["BNBUSDT"], 40);
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
}

#[test]
fn a_handler_that_never_reads_overflows_only_its_own_queue() {
    let dir = TempDir::new();
    // ETHUSDT's handler never reads: its pipe (64 KiB, a few hundred lines) fills, then its
    // default 4096-frame queue, then it drops. BNBUSDT's handler keeps up, so its queue,
    // just as large, never fills even on a loaded machine.
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(2000.0)).count(8000));
    let handler = format!(
        "if [ \"$BINANCE_LISTEN_SYMBOL\" = ETHUSDT ]; then exec sleep 60; fi; cat > {}/{{symbol}}.out",
        dir.path_of("").display()
    );
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--exec",
        &handler,
        "--overflow",
        "drop-newest",
        "ETHUSDT",
        "BNBUSDT",
    ]);
    wait_for_lines(&dir.path_of("BNBUSDT.out"), 8000);
    listener.expect_stderr("symbol=ETHUSDT}: queue full (4096 frames or ");
    listener.signal("INT");
    let signalled = Instant::now();
    assert!(listener.expect_exit_within(PATIENCE).success());
    assert!(
        signalled.elapsed() < Duration::from_secs(2),
        "exit took {:?}",
        signalled.elapsed()
    );
    let stderr = listener.full_stderr();
    assert!(summary_count(&stderr, "ETHUSDT", "dropped") > 0, "{stderr}");
    assert_eq!(summary_count(&stderr, "BNBUSDT", "dropped"), 0, "{stderr}");
    assert_eq!(
        summary_count(&stderr, "BNBUSDT", "written"),
        8000,
        "{stderr}"
    );
}
