//! `--output-dir`: one file per symbol that only ever holds whole lines — appended across
//! runs, a torn tail from a crash cut on open, a write failing part-way taken back (the
//! symbol stops, the others go on), and anything but a regular file refused up front.
//! Handlers (`--exec`) are in `sinks_exec`.

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use binance_mock::MockConfig;
use binance_mock::Rate;

use crate::support::{
    Exchange, Listener, PATIENCE, TempDir, assert_ids_in_order, assert_summary_adds_up, binary,
    run_to_end, summary_count, trade_ids, wait_with_deadline,
};

/// The lines of `path` (none if it does not exist).
pub(crate) fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until `path` holds `count` lines; fails after [`PATIENCE`].
pub(crate) fn wait_for_lines(path: &Path, count: usize) {
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

/// Runs the binary to its end with every file it writes limited to `max_file_bytes` (a
/// multiple of 512): a write crossing the limit is cut short and the next one fails with
/// EFBIG, just as a disk filling up mid-batch does with ENOSPC. Returns status and stderr.
fn run_with_file_size_limit(max_file_bytes: u64, args: &[&str]) -> (ExitStatus, String) {
    // `ulimit -f` counts 512-byte blocks; SIGXFSZ ignored (inherited through exec) turns
    // the signal that would kill the process into the error a full disk gives.
    let script = format!(
        "ulimit -f {}; trap '' XFSZ; exec \"$0\" \"$@\"",
        max_file_bytes / 512
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(binary())
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh starts");
    let mut pipe = child.stderr.take().expect("stderr piped");
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        let _ = pipe.read_to_string(&mut stderr);
        stderr
    });
    let status = wait_with_deadline(&mut child, PATIENCE);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stderr = reader.join().expect("stderr reader");
    let status = status.unwrap_or_else(|| panic!("still running after {PATIENCE:?}:\n{stderr}"));
    (status, stderr)
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
            assert_eq!(summary_count(&stderr, symbol, "written"), 50, "{stderr}");
            assert_summary_adds_up(&stderr, symbol);
        }
    }
}

#[test]
fn a_torn_line_left_by_a_crash_is_cut_on_open_with_one_warning() {
    let dir = TempDir::new();
    let out = dir.path_of("data");
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join("ETHUSDT.jsonl");
    // What a `kill -9` or a full disk mid-write can leave: whole lines, then half of one.
    let whole = "{\"from\":\"an earlier run\"}\n";
    let torn = "{\"symbol\":\"ETHUSDT\",\"stream\":\"tr";
    std::fs::write(&path, format!("{whole}{torn}")).unwrap();
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(20));
    let (status, _, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--output-dir",
        out.to_str().unwrap(),
        "--max-messages",
        "20",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("after its last complete line"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    let expected = format!("{}: cut {} byte(s)", path.display(), torn.len());
    assert!(warnings[0].contains(&expected), "{stderr}");
    let lines = lines_of(&path);
    assert_eq!(lines[0], whole.trim_end());
    assert_ids_in_order(&lines[1..], &["ETHUSDT"], 20);
    assert!(std::fs::read_to_string(&path).unwrap().ends_with('\n'));
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn a_write_failing_part_way_is_taken_back_and_stops_only_its_symbol() {
    let dir = TempDir::new();
    let out = dir.path_of("data");
    std::fs::create_dir_all(&out).unwrap();
    // Every file may grow to 128 KiB. ETHUSDT's starts 2 KiB short of that, so one of its
    // first batches crosses the limit part-way; BNBUSDT's 300 lines (about 60 KB) fit.
    let limit = 128 * 1024;
    let path = out.join("ETHUSDT.jsonl");
    let filler = "{\"filler\":true}\n";
    let before = filler.repeat((limit - 2048) / filler.len());
    std::fs::write(&path, &before).unwrap();
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(300));
    let (status, stderr) = run_with_file_size_limit(
        limit as u64,
        &[
            "--endpoint",
            &exchange.url(),
            "--output-dir",
            out.to_str().unwrap(),
            "--max-messages",
            "300",
            "ETHUSDT",
            "BNBUSDT",
        ],
    );
    assert_eq!(status.code(), Some(1), "{stderr}");
    let error = format!("cannot write to {}: File too large", path.display());
    assert!(stderr.contains(&error), "{stderr}");
    assert!(
        stderr.contains("1 of 2 symbol(s) could not be served: ETHUSDT"),
        "{stderr}"
    );
    // The file holds what it held, then whole lines only: the batch that failed left
    // nothing behind, and every line in it is counted lost, none written.
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        after.starts_with(&before) && after.ends_with('\n'),
        "{after}"
    );
    let added: Vec<String> = after[before.len()..].lines().map(str::to_owned).collect();
    let ids = trade_ids(&added);
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "written"),
        added.len() as u64,
        "{stderr}"
    );
    assert!(summary_count(&stderr, "ETHUSDT", "lost") > 0, "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSDT");
    assert_eq!(lines_of(&out.join("BNBUSDT.jsonl")).len(), 300);
    assert_eq!(summary_count(&stderr, "BNBUSDT", "written"), 300);
    assert_summary_adds_up(&stderr, "BNBUSDT");
}

/// Runs the listener with `out` as its `--output-dir` when `out/ETHUSDT.jsonl` is not a
/// regular file: it must refuse at once, naming the path and what is there, and connect
/// to nothing.
fn refuses(out: &Path, what: &str) {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(10));
    let started = Instant::now();
    let (status, _, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--output-dir",
        out.to_str().unwrap(),
        "ETHUSDT",
    ]);
    assert!(started.elapsed() < Duration::from_secs(10), "{what}");
    assert_eq!(status.code(), Some(2), "{what}: {stderr}");
    let expected = format!(
        "binance-listen: error: ETHUSDT: cannot open {}: it is {what},",
        out.join("ETHUSDT.jsonl").display()
    );
    assert!(stderr.contains(&expected), "{what}: {stderr}");
    assert_eq!(exchange.connections_left_in_events(), 0, "{what}");
}

#[test]
fn anything_but_a_regular_file_at_the_path_is_refused_up_front() {
    let dir = TempDir::new();
    let out = dir.path_of("data");
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join("ETHUSDT.jsonl");

    // A FIFO with nobody reading: opening it must not block.
    let made = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    refuses(&out, "a named pipe (FIFO)");
    std::fs::remove_file(&path).unwrap();

    // A link is not followed, even to a regular file.
    let target = dir.write("elsewhere.jsonl", "");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    refuses(&out, "a symbolic link");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
    std::fs::remove_file(&path).unwrap();

    std::fs::create_dir(&path).unwrap();
    refuses(&out, "a directory");
    std::fs::remove_dir(&path).unwrap();

    // A device node (like /dev/null's) needs the right to make one: root here and in CI.
    let made = Command::new("mknod")
        .arg(&path)
        .args(["c", "1", "3"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    if made.success() {
        refuses(&out, "a character device");
    } else {
        eprintln!("mknod not permitted here: the device case is not checked");
    }
}

#[test]
fn a_second_listener_writing_the_same_files_is_refused() {
    let dir = TempDir::new();
    let out = dir.path_of("data");
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(50.0)));
    let args = [
        "--endpoint",
        &exchange.url(),
        "--output-dir",
        out.to_str().unwrap(),
        "ETHUSDT",
    ];
    let mut first = Listener::start(&args);
    wait_for_lines(&out.join("ETHUSDT.jsonl"), 1);
    let (status, _, stderr) = run_to_end(&args);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("another process is writing to it"),
        "{stderr}"
    );
    first.signal("INT");
    assert!(first.expect_exit_within(PATIENCE).success());
    let stderr = first.full_stderr();
    assert_summary_adds_up(&stderr, "ETHUSDT");
    let lines = lines_of(&out.join("ETHUSDT.jsonl"));
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "written"),
        lines.len() as u64
    );
    assert_ids_in_order(&lines, &["ETHUSDT"], lines.len() as u64);
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
