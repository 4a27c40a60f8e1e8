//! Recording (`--record`) and replay (`replay`), as a user sees them: a recording killed
//! mid-write replays every frame it kept, in order, and `replay --check` says which files
//! were cut; a replay's output is the live run's, line for line; gaps come back as they
//! were live; filters, raw-frame files, a recording that cannot be written, and usage
//! errors. Every run ends on its own or on an event seen (a line, a file, a log line).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use binance_mock::{BadFrame, Faults, IdJump, MockConfig, Rate};
use serde_json::Value;

use crate::support::{
    Exchange, Listener, PATIENCE, TempDir, assert_summary_adds_up, run_to_end, summary_count,
};

/// Every recording file under `dir`, per stream directory, in name order.
fn files_per_stream(dir: &Path) -> BTreeMap<PathBuf, Vec<PathBuf>> {
    let mut streams = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                streams
                    .entry(dir.clone())
                    .or_insert_with(Vec::new)
                    .push(path);
            }
        }
    }
    for files in streams.values_mut() {
        files.sort();
    }
    streams
}

/// A line's `recv_time_us`.
fn recv_time(line: &str) -> u64 {
    let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    value["recv_time_us"].as_u64().expect("recv_time_us")
}

/// A line's symbol and stream.
fn symbol_stream(line: &str) -> (String, String) {
    let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    (
        value["symbol"].as_str().unwrap_or_default().to_owned(),
        value["stream"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The lines of `symbol`, in order.
fn of_symbol<'a>(lines: &'a [String], symbol: &str) -> Vec<&'a String> {
    lines
        .iter()
        .filter(|line| line.starts_with(&format!(r#"{{"symbol":"{symbol}""#)))
        .collect()
}

/// `line` without its receive time.
fn without_recv_time(line: &str) -> String {
    match line.find(r#","recv_time_us":"#) {
        Some(at) => {
            let rest = &line[at + 16..];
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            format!("{}{}", &line[..at], &rest[end..])
        }
        None => line.to_owned(),
    }
}

/// The start (µs) of the time slot a `--rotate 1s` file is named for
/// (`2026-11-28T14-05-06.jsonl.zst`, maybe with a `~N` suffix).
fn slot_start_us(file: &Path) -> u64 {
    let name = file.file_name().unwrap().to_str().unwrap();
    let stamp = &name[..19];
    let number = |range: std::ops::Range<usize>| stamp[range].parse::<i64>().unwrap();
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (hour, minute, second) = (number(11..13), number(14..16), number(17..19));
    // Days from the civil date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    u64::try_from(((days * 24 + hour) * 60 + minute) * 60 + second).unwrap() * 1_000_000
}

/// Waits until every one of `streams` stream directories under `dir` holds `files` files.
fn wait_for_files(dir: &Path, streams: usize, files: usize, listener: &Listener) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let found = files_per_stream(dir);
        if found.len() == streams && found.values().all(|list| list.len() >= files) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {files} files per stream within {PATIENCE:?}: {found:?}\n{}",
            listener.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_recording_killed_mid_write_replays_every_frame_it_kept_in_order() {
    let dir = TempDir::new();
    let record = dir.path_of("rec");
    let record_arg = record.to_str().unwrap();
    let mut listener = Listener::start(&[
        "--simulate",
        "--simulate-rate",
        "200",
        "--stream",
        "trade,bookTicker",
        "--record",
        record_arg,
        "--rotate",
        "1s",
        "ETHUSDT",
        "BNBUSDT",
    ]);
    // Three slots per stream: at least two of them over and closed.
    wait_for_files(&record, 4, 3, &listener);
    listener.signal("KILL");
    listener.expect_exit_within(PATIENCE);
    let live = listener.remaining_lines();

    let (status, stdout, stderr) =
        run_to_end(&["replay", record_arg, "--speed", "max", "--keep-recv-time"]);
    assert!(status.success(), "{stderr}");
    let replayed: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert!(
        stderr.contains("has no end mark") || stderr.contains("is empty"),
        "{stderr}"
    );
    for symbol in ["ETHUSDT", "BNBUSDT"] {
        let (live, replayed) = (of_symbol(&live, symbol), of_symbol(&replayed, symbol));
        // In order, exactly as written live (receive times too), up to the cut. Either may
        // be ahead: the recording holds frames still queued for the output at the kill,
        // and the output frames of the recording's last half second.
        let common = live.len().min(replayed.len());
        assert!(common > 0, "{symbol}: nothing replayed");
        assert_eq!(live[..common], replayed[..common], "{symbol}");
        assert_summary_adds_up(&stderr, symbol);
    }
    // Every frame received before the newest file's slot (all closed files) came back.
    for (stream_dir, files) in files_per_stream(&record) {
        let newest = files.last().unwrap();
        let symbol = stream_dir
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let stream = stream_dir.file_name().unwrap().to_str().unwrap();
        let closed_before = slot_start_us(newest);
        let wanted: Vec<&String> = live
            .iter()
            .filter(|line| symbol_stream(line) == (symbol.to_owned(), stream.to_owned()))
            .filter(|line| recv_time(line) < closed_before)
            .collect();
        assert!(
            !wanted.is_empty(),
            "{symbol} {stream}: nothing before {newest:?}"
        );
        for line in wanted {
            assert!(replayed.contains(line), "{symbol} {stream}: lost {line}");
        }
    }

    // The check names the files the kill cut short: each stream's newest, and only those.
    let (status, table, stderr) = run_to_end(&["replay", "--check", record_arg]);
    assert_eq!(status.code(), Some(1), "{table}\n{stderr}");
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("symbol   stream      files  frames  from (UTC)"),
        "{table}"
    );
    let truncated: Vec<&str> = table
        .lines()
        .filter(|line| line.starts_with("truncated: "))
        .collect();
    let newest: Vec<PathBuf> = files_per_stream(&record)
        .values()
        .map(|files| files.last().unwrap().clone())
        .collect();
    assert!(!truncated.is_empty(), "{table}");
    for line in &truncated {
        assert!(
            newest
                .iter()
                .any(|file| line.contains(file.to_str().unwrap())),
            "not a newest file: {line}"
        );
        // Cut after its header, or (killed as it was created) empty.
        assert!(
            line.contains("has no end mark") || line.contains("is empty"),
            "{line}"
        );
    }
    for (symbol, stream) in [
        ("BNBUSDT", "bookTicker"),
        ("BNBUSDT", "trade"),
        ("ETHUSDT", "bookTicker"),
        ("ETHUSDT", "trade"),
    ] {
        let row = table
            .lines()
            .find(|line| line.starts_with(&format!("{symbol:<9}{stream} ")))
            .unwrap_or_else(|| panic!("no {symbol} {stream} row:\n{table}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        // files, frames, from, to, span, gaps, missing ids, duplicates, truncated
        assert!(cells[2].parse::<u64>().unwrap() >= 3, "{row}");
        assert_eq!(
            cells[cells.len() - 4..cells.len() - 1],
            ["0", "0", "0"],
            "{row}"
        );
    }
}

/// Records `--max-messages 300` of two symbols' trades and book tickers; returns the live
/// lines and the recording's directory (every file closed).
fn clean_recording(dir: &TempDir) -> (Vec<String>, String) {
    let record = dir.path_of("rec").to_str().unwrap().to_owned();
    let (status, stdout, stderr) = run_to_end(&[
        "--simulate",
        "--simulate-rate",
        "500",
        "--stream",
        "trade,bookTicker",
        "--record",
        &record,
        "--max-messages",
        "300",
        "ETHUSDT",
        "BNBUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    // The summary says what the recording kept: every frame received, none missed.
    for symbol in ["ETHUSDT", "BNBUSDT"] {
        let received = summary_count(&stderr, symbol, "received");
        assert_eq!(
            summary_count(&stderr, symbol, "recorded"),
            received,
            "{stderr}"
        );
        assert_eq!(summary_count(&stderr, symbol, "missed"), 0, "{stderr}");
    }
    (stdout.lines().map(str::to_owned).collect(), record)
}

#[test]
fn a_replay_writes_the_live_lines_again() {
    let dir = TempDir::new();
    let (live, record) = clean_recording(&dir);
    // The recording holds what the readers had queued past the 300th line too.
    let (status, stdout, stderr) =
        run_to_end(&["replay", &record, "--speed", "max", "--max-messages", "300"]);
    assert!(status.success(), "{stderr}");
    let replayed: Vec<String> = stdout.lines().map(str::to_owned).collect();
    let (status, exact, _) = run_to_end(&[
        "replay",
        &record,
        "--speed",
        "max",
        "--keep-recv-time",
        "--max-messages",
        "300",
    ]);
    assert!(status.success());
    let exact: Vec<String> = exact.lines().map(str::to_owned).collect();
    for symbol in ["ETHUSDT", "BNBUSDT"] {
        let live = of_symbol(&live, symbol);
        assert_eq!(live.len(), 300, "{symbol}");
        let strip = |lines: Vec<&String>| -> Vec<String> {
            lines.into_iter().map(|l| without_recv_time(l)).collect()
        };
        assert_eq!(
            strip(of_symbol(&replayed, symbol)),
            strip(live.clone()),
            "{symbol}"
        );
        assert_eq!(of_symbol(&exact, symbol), live, "{symbol}");
        assert_eq!(summary_count(&stderr, symbol, "written"), 300, "{stderr}");
    }

    let (status, table, _) = run_to_end(&["replay", "--check", &record]);
    assert!(status.success(), "{table}");
    assert!(!table.contains("truncated:"), "{table}");
}

#[test]
fn replay_picks_streams_symbols_and_times() {
    let dir = TempDir::new();
    let (live, record) = clean_recording(&dir);
    let (status, stdout, stderr) = run_to_end(&[
        "replay",
        &record,
        "BNBUSDT",
        "--stream",
        "bookTicker",
        "--speed",
        "max",
        "--keep-recv-time",
    ]);
    assert!(status.success(), "{stderr}");
    let expected: Vec<&String> = live
        .iter()
        .filter(|line| symbol_stream(line) == ("BNBUSDT".to_owned(), "bookTicker".to_owned()))
        .collect();
    let got: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_eq!(
        got.iter().collect::<Vec<_>>()[..expected.len()],
        expected[..]
    );
    assert!(
        got.iter()
            .all(|line| line.contains(r#""stream":"bookTicker""#))
    );

    // --from and --to, in Unix microseconds, bound the receive times replayed.
    let eth = of_symbol(&live, "ETHUSDT");
    let (from, to) = (recv_time(eth[50]), recv_time(eth[150]));
    let (status, stdout, stderr) = run_to_end(&[
        "replay",
        &record,
        "ETHUSDT",
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
        "--speed",
        "max",
        "--keep-recv-time",
    ]);
    assert!(status.success(), "{stderr}");
    let expected: Vec<&String> = eth
        .into_iter()
        .filter(|line| (from..=to).contains(&recv_time(line)))
        .collect();
    let got: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_eq!(got.iter().collect::<Vec<_>>(), expected);
}

#[test]
fn replay_at_speed_one_takes_as_long_as_the_recording() {
    let dir = TempDir::new();
    let record = dir.path_of("rec").to_str().unwrap().to_owned();
    let (status, stdout, stderr) = run_to_end(&[
        "--simulate",
        "--simulate-rate",
        "100",
        "--record",
        &record,
        "--max-messages",
        "60",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let times: Vec<u64> = stdout.lines().map(recv_time).collect();
    let span = Duration::from_micros(times[times.len() - 1] - times[0]);
    let started = Instant::now();
    let (status, stdout, stderr) = run_to_end(&["replay", &record, "--max-messages", "60"]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 60);
    // Paced by the recorded receive times: never faster (a loaded machine may be slower).
    assert!(
        started.elapsed() >= span.mul_f64(0.9),
        "{:?} for a recording of {span:?}",
        started.elapsed()
    );
}

#[test]
fn gaps_in_a_recording_are_reported_as_they_were_live() {
    let faults = Faults {
        id_jumps: vec![IdJump {
            after: 100,
            id: 900_000,
        }],
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(500)
            .faults(faults),
    );
    let dir = TempDir::new();
    let record = dir.path_of("rec").to_str().unwrap().to_owned();
    let args = [
        "--overflow",
        "block",
        "--max-messages",
        "501",
        "--gap-markers",
        "on",
    ];
    let mut live_args = vec!["--endpoint", exchange.url().leak(), "--record", &record];
    live_args.extend(args);
    live_args.push("ETHUSDT");
    let (status, live, live_stderr) = run_to_end(&live_args);
    assert!(status.success(), "{live_stderr}");
    let mut replay_args = vec!["replay", &record, "--speed", "max", "--keep-recv-time"];
    replay_args.extend(args);
    let (status, replayed, stderr) = run_to_end(&replay_args);
    assert!(status.success(), "{stderr}");
    assert!(live.contains(r#""reason":"missing""#), "{live}");
    assert_eq!(replayed, live);
    for field in ["written", "gaps", "missing", "duplicates"] {
        assert_eq!(
            summary_count(&stderr, "ETHUSDT", field),
            summary_count(&live_stderr, "ETHUSDT", field),
            "{field}"
        );
    }
    assert!(
        stderr.contains("trade ids went back from 900000 to 101"),
        "{stderr}"
    );
}

#[test]
fn a_file_of_raw_frames_replays_through_the_pipeline() {
    let dir = TempDir::new();
    let (status, raw, stderr) = run_to_end(&[
        "--simulate",
        "--simulate-rate",
        "500",
        "--format",
        "raw",
        "--max-messages",
        "40",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let raw_ids: Vec<u64> = raw
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["t"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let plain = dir.write("trades.jsonl", format!("{raw}\n"));
    let compressed = dir.write(
        "trades.jsonl.zst",
        zstd::bulk::compress(format!("{raw}\n").as_bytes(), 3).unwrap(),
    );
    for file in [plain, compressed] {
        let (status, stdout, stderr) =
            run_to_end(&["replay", file.to_str().unwrap(), "--speed", "max"]);
        assert!(status.success(), "{stderr}");
        let ids: Vec<u64> = stdout
            .lines()
            .map(|line| {
                serde_json::from_str::<Value>(line).unwrap()["trade_id"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(ids, raw_ids, "{file:?}");
    }
}

#[test]
fn a_recording_that_cannot_be_written_stops_alone_and_the_output_goes_on() {
    let dir = TempDir::new();
    // A file where the recording's directory should be: nothing can be created in it.
    let blocked = dir.write("blocked", "a file, not a directory");
    let mut listener = Listener::start(&[
        "--simulate",
        "--simulate-rate",
        "200",
        "--record",
        blocked.to_str().unwrap(),
        "ETHUSDT",
    ]);
    let error = listener.expect_stderr("recording stopped");
    assert!(error.contains("cannot write"), "{error}");
    assert!(error.contains("blocked"), "{error}");
    // Lines keep coming after the error.
    listener.expect_lines(50);
    listener.signal("TERM");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();
    assert_eq!(stderr.matches("recording stopped").count(), 1, "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSDT");
    // Nothing was recorded, and the summary says every frame was missed.
    assert_eq!(summary_count(&stderr, "ETHUSDT", "recorded"), 0, "{stderr}");
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "missed"),
        summary_count(&stderr, "ETHUSDT", "received"),
        "{stderr}"
    );
}

#[test]
fn recording_runs_beside_per_symbol_files() {
    let dir = TempDir::new();
    let record = dir.path_of("rec");
    let data = dir.path_of("data");
    let (status, _, stderr) = run_to_end(&[
        "--simulate",
        "--simulate-rate",
        "500",
        "--record",
        record.to_str().unwrap(),
        "--output-dir",
        data.to_str().unwrap(),
        "--max-messages",
        "50",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let written = std::fs::read_to_string(data.join("ETHUSDT.jsonl")).unwrap();
    assert_eq!(written.lines().count(), 50);
    let (status, replayed, stderr) = run_to_end(&[
        "replay",
        record.to_str().unwrap(),
        "--speed",
        "max",
        "--keep-recv-time",
        "--max-messages",
        "50",
    ]);
    assert!(status.success(), "{stderr}");
    assert_eq!(replayed, written.trim_end());

    // And beside a handler.
    let handled = dir.path_of("handled.jsonl");
    let command = format!("cat > {}", handled.to_str().unwrap());
    let record = dir.path_of("rec2");
    let (status, _, stderr) = run_to_end(&[
        "--simulate",
        "--simulate-rate",
        "500",
        "--record",
        record.to_str().unwrap(),
        "--exec",
        &command,
        "--max-messages",
        "50",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let (status, replayed, stderr) = run_to_end(&[
        "replay",
        record.to_str().unwrap(),
        "--speed",
        "max",
        "--keep-recv-time",
        "--max-messages",
        "50",
    ]);
    assert!(status.success(), "{stderr}");
    let handled = std::fs::read_to_string(handled).unwrap();
    assert_eq!(replayed, handled.trim_end());
}

#[test]
fn a_second_run_records_beside_the_first_and_both_replay_in_order() {
    let dir = TempDir::new();
    let record = dir.path_of("rec");
    let record_arg = record.to_str().unwrap();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (status, stdout, stderr) = run_to_end(&[
            "--simulate",
            "--simulate-rate",
            "500",
            "--record",
            record_arg,
            "--rotate",
            "daily",
            "--max-messages",
            "100",
            "ETHUSDT",
        ]);
        assert!(status.success(), "{stderr}");
        runs.push(stdout);
    }
    let files = files_per_stream(&record);
    let names: Vec<String> = files[&record.join("spot/ETHUSDT/trade")]
        .iter()
        .map(|file| file.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // The same day (unless the runs straddled midnight): the second file is `~2`.
    if names[0][..10] == names[1][..10] {
        assert_eq!(names[1], names[0].replace(".jsonl.zst", "~2.jsonl.zst"));
    }
    let (status, stdout, stderr) =
        run_to_end(&["replay", record_arg, "--speed", "max", "--keep-recv-time"]);
    assert!(status.success(), "{stderr}");
    // The first run comes back first, whole and in order; the simulated market's second
    // run starts its ids over, so they count as duplicates of the first run's.
    let first: Vec<&str> = runs[0].lines().collect();
    let replayed: Vec<&str> = stdout.lines().collect();
    assert_eq!(replayed[..first.len()], first[..]);
    assert!(
        summary_count(&stderr, "ETHUSDT", "duplicates") >= 100,
        "{stderr}"
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn bad_frames_are_recorded_and_replayed_as_they_came() {
    let faults = Faults {
        faulty_connections: Some(1),
        bad_frames_after: 5,
        bad_frames: BadFrame::survivable(),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(30)
            .faults(faults),
    );
    let dir = TempDir::new();
    let record = dir.path_of("rec");
    let record_arg = record.to_str().unwrap();
    let (status, live, live_stderr) = run_to_end(&[
        "--endpoint",
        exchange.url().leak(),
        "--stream",
        "trade,bookTicker",
        "--record",
        record_arg,
        "--overflow",
        "block",
        "--max-messages",
        "60",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{live_stderr}");
    // Frames of no subscribed stream (not wrapped for one) have a folder of their own.
    let unknown = record.join("spot/ETHUSDT/unknown");
    assert!(
        files_per_stream(&record).contains_key(&unknown),
        "{live_stderr}"
    );
    let (status, replayed, stderr) = run_to_end(&[
        "replay",
        record_arg,
        "--speed",
        "max",
        "--keep-recv-time",
        "--max-messages",
        "60",
    ]);
    assert!(status.success(), "{stderr}");
    assert_eq!(replayed, live);
    // Text frames come back and are skipped as they were live (binary frames and control
    // floods never reach the queue, so they are not recorded).
    let processor_reports = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .filter_map(|line| line.split_once("processor{symbol=ETHUSDT}: "))
            .map(|(_, report)| report.to_owned())
            .collect()
    };
    let reports = processor_reports(&stderr);
    assert!(reports.len() >= 3, "{stderr}");
    assert_eq!(reports, processor_reports(&live_stderr));
}

#[test]
fn replay_help_names_its_options() {
    let (status, help, _) = run_to_end(&["replay", "--help"]);
    assert!(status.success());
    for option in [
        "--speed 1|10|max",
        "--from TIME",
        "--to TIME",
        "--stream KIND",
        "--keep-recv-time",
        "--check",
    ] {
        assert!(help.contains(option), "no {option} in:\n{help}");
    }
}

#[test]
fn the_config_file_can_record() {
    let dir = TempDir::new();
    let config = dir.write("listen.toml", "record = \"rec\"\nrotate = \"daily\"\n");
    let (status, _, stderr) = run_to_end(&[
        "--simulate",
        "--simulate-rate",
        "500",
        "--config",
        config.to_str().unwrap(),
        "--max-messages",
        "5",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let files = files_per_stream(&dir.path_of("rec"));
    let trade = dir.path_of("rec/spot/ETHUSDT/trade");
    let names: Vec<String> = files[&trade]
        .iter()
        .map(|file| file.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // Daily: named for the day alone, 2026-11-28.jsonl.zst.
    assert_eq!(names[0].len(), "2026-11-28.jsonl.zst".len(), "{names:?}");
}

#[test]
fn bad_recording_and_replay_words_are_usage_errors() {
    let dir = TempDir::new();
    let rec = dir.path_of("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let rec = rec.to_str().unwrap();
    for (args, expected) in [
        (
            &["--record", rec, "--rotate", "weekly", "ETHUSDT"][..],
            "unknown rotation 'weekly': expected hourly or daily",
        ),
        (&["replay"][..], "no recording given"),
        (
            &["replay", rec, "--speed", "fast"][..],
            "invalid speed 'fast': expected a positive number",
        ),
        (
            &["replay", rec, "--from", "soon"][..],
            "invalid time 'soon'",
        ),
        (&["replay", rec][..], "no recording found in"),
        (&["replay", "missing/"][..], "cannot read 'missing/'"),
    ] {
        let (status, stdout, stderr) = run_to_end(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("binance-listen: error: "),
            "{args:?}: {stderr}"
        );
        assert!(first.contains(expected), "{args:?}: {first}");
    }
}
