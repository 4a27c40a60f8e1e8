//! What a terminal and a log shipper see: `--color auto|always|never` and `NO_COLOR` for
//! pretty data and log lines alike (on a real pseudo-terminal where it matters), and
//! `--log-format json`, every stderr line one JSON object.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Stdio};
use std::thread;

use binance_mock::{Faults, MockConfig, Rate};
use rustix::fs::OFlags;
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};
use serde_json::Value;

use crate::support::{
    Exchange, PATIENCE, TempDir, binary, run_to_end, run_to_end_with, wait_with_deadline,
};

const ESCAPE: char = '\u{1b}';

/// Runs `binance-listen ARGS` with stdout and stderr on one pseudo-terminal and
/// `NO_COLOR` as given; returns the status and everything the terminal showed.
fn run_on_terminal(args: &[&str], no_color: Option<&str>) -> (bool, String) {
    run_on_terminal_sized(args, no_color, None)
}

/// [`run_on_terminal`] on a terminal of `(rows, columns)` (else the pty's own zero size).
fn run_on_terminal_sized(
    args: &[&str],
    no_color: Option<&str>,
    size: Option<(u16, u16)>,
) -> (bool, String) {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
    if let Some((rows, columns)) = size {
        let size = Winsize {
            ws_row: rows,
            ws_col: columns,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        tcsetwinsize(&master, size).expect("the terminal takes a size");
    }
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let terminal = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(OFlags::NOCTTY.bits() as i32)
        .open(name.to_str().expect("utf-8 pts name"))
        .expect("the terminal side opens");
    let mut command = Command::new(binary());
    command
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(terminal.try_clone().expect("dup"))
        .stderr(terminal);
    match no_color {
        Some(value) => command.env("NO_COLOR", value),
        None => command.env_remove("NO_COLOR"),
    };
    let mut child = command.spawn().expect("binary starts");
    // Our copies of the terminal side go, so reading ends once the child has exited.
    drop(command);
    let mut master = File::from(master);
    let reader = thread::spawn(move || {
        let mut shown = Vec::new();
        let mut chunk = [0_u8; 4096];
        // Linux answers EIO once the last terminal-side descriptor is closed.
        while let Ok(read @ 1..) = master.read(&mut chunk) {
            shown.extend_from_slice(&chunk[..read]);
        }
        String::from_utf8_lossy(&shown).into_owned()
    });
    let status = wait_with_deadline(&mut child, PATIENCE).expect("exits in time");
    (status.success(), reader.join().expect("reader thread"))
}

/// The data and log lines of a short simulated run on a terminal (pretty by default there).
fn simulated_on_terminal(extra: &[&str], no_color: Option<&str>) -> String {
    let mut args = vec!["--simulate", "--max-messages", "2"];
    args.extend_from_slice(extra);
    args.push("ETHUSDT");
    let (success, shown) = run_on_terminal(&args, no_color);
    assert!(success, "{shown}");
    assert!(shown.contains("ETHUSDT"), "{shown}");
    assert!(shown.contains("connected to"), "no log line in:\n{shown}");
    shown
}

/// Whether a terminal line is a pretty data row (`HH:MM:SS.mmm ...`), not a log line.
fn is_data_row(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.len() > 13 && bytes[2] == b':' && bytes[5] == b':' && bytes[8] == b'.'
}

#[test]
fn pretty_rows_on_a_terminal_have_a_header_naming_the_time_zone_again_each_screenful() {
    let (success, shown) = run_on_terminal_sized(
        &["--simulate", "--max-messages", "14", "ETHUSDT"],
        Some("1"),
        Some((6, 100)),
    );
    assert!(success, "{shown}");
    let rows: Vec<&str> = shown
        .lines()
        .filter(|line| line.starts_with("time (UTC)") || is_data_row(line))
        .collect();
    assert!(
        rows[0].starts_with("time (UTC)   symbol       stream        event"),
        "{shown}"
    );
    assert_eq!(
        rows.iter().filter(|row| is_data_row(row)).count(),
        14,
        "{shown}"
    );
    // Six rows show at most four data rows under a header; lines come one batch at a time
    // here (eight a second), so fourteen of them scroll past more than one screenful.
    let headers = rows
        .iter()
        .filter(|row| row.starts_with("time (UTC)"))
        .count();
    assert!(
        headers >= 2,
        "one header for 14 rows on a 6-row terminal:\n{shown}"
    );
}

#[test]
fn pretty_rows_never_wrap_a_narrow_terminal_they_end_in_an_ellipsis() {
    let (success, shown) = run_on_terminal_sized(
        &["--simulate", "--max-messages", "3", "ETHUSDT"],
        Some("1"),
        Some((24, 50)),
    );
    assert!(success, "{shown}");
    let rows: Vec<&str> = shown
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| is_data_row(line))
        .collect();
    assert_eq!(rows.len(), 3, "{shown}");
    for row in rows {
        assert_eq!(row.chars().count(), 50, "{row}");
        assert!(row.ends_with('…'), "{row}");
    }
}

#[test]
fn auto_colours_a_terminal_and_no_color_turns_it_off_for_data_and_logs() {
    let coloured = simulated_on_terminal(&[], None);
    let data = coloured
        .lines()
        .find(|line| line.contains("trade"))
        .unwrap();
    assert!(data.contains(ESCAPE), "pretty data uncoloured: {data:?}");
    let log = coloured
        .lines()
        .find(|line| line.contains("connected to"))
        .unwrap();
    assert!(log.contains(ESCAPE), "log line uncoloured: {log:?}");

    let plain = simulated_on_terminal(&[], Some("1"));
    assert!(
        !plain.contains(ESCAPE),
        "NO_COLOR=1 left escapes:\n{plain:?}"
    );
    // An empty NO_COLOR asks for nothing.
    let empty = simulated_on_terminal(&[], Some(""));
    assert!(empty.contains(ESCAPE), "{empty:?}");
}

#[test]
fn never_means_never_and_always_wins_over_no_color() {
    let never = simulated_on_terminal(&["--color", "never"], None);
    assert!(!never.contains(ESCAPE), "{never:?}");
    let always = simulated_on_terminal(&["--color", "always"], Some("1"));
    assert!(always.contains(ESCAPE), "{always:?}");
}

#[test]
fn always_keeps_escapes_when_piped() {
    // The harness pipes stdout and stderr and sets NO_COLOR=1.
    let (status, stdout, stderr) = run_to_end(&[
        "--simulate",
        "--format",
        "pretty",
        "--color",
        "always",
        "--max-messages",
        "2",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stdout.lines().all(|line| line.contains(ESCAPE)),
        "{stdout:?}"
    );
    let log = stderr
        .lines()
        .find(|line| line.contains("connected to"))
        .unwrap();
    assert!(log.contains(ESCAPE), "{log:?}");

    // auto, piped: no colour at all, even without NO_COLOR.
    let (status, stdout, stderr) = run_to_end_with(
        &[
            "--simulate",
            "--format",
            "pretty",
            "--max-messages",
            "2",
            "ETHUSDT",
        ],
        |command| {
            command.env_remove("NO_COLOR");
        },
    );
    assert!(status.success(), "{stderr}");
    assert!(
        !stdout.contains(ESCAPE) && !stderr.contains(ESCAPE),
        "{stdout:?}{stderr:?}"
    );
}

#[test]
fn the_config_file_sets_colour_and_log_format() {
    let dir = TempDir::new();
    let config = dir.write("listen.toml", "color = \"always\"\nlog_format = \"text\"\n");
    let config = config.to_str().unwrap();
    let args = [
        "--config",
        config,
        "--simulate",
        "--format",
        "pretty",
        "--max-messages",
        "1",
        "ETHUSDT",
    ];
    let (status, stdout, stderr) = run_to_end(&args);
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains(ESCAPE), "{stdout:?}");
    // The flag wins.
    let mut flagged = args.to_vec();
    flagged.extend(["--color", "never"]);
    let (_, stdout, stderr) = run_to_end(&flagged);
    assert!(
        !stdout.contains(ESCAPE) && !stderr.contains(ESCAPE),
        "{stdout:?}"
    );

    let bad = dir.write("bad.toml", "log_format = \"xml\"\n");
    let (status, _, stderr) = run_to_end(&["--config", bad.to_str().unwrap(), "ETHUSDT"]);
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr
            .trim_end()
            .ends_with("line 1: log_format: unknown log format 'xml': expected text or json"),
        "{stderr}"
    );
}

/// Every stderr line of a run, parsed; fails naming a line that is not one JSON object.
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(value @ Value::Object(_)) => value,
            _ => panic!("not a JSON object: {line:?}\nin:\n{stderr}"),
        })
        .collect()
}

#[test]
fn json_logs_are_one_object_per_line_with_symbol_level_time_and_message() {
    // A connection lost mid-run: warnings from the reader's span, with its symbol.
    let faults = Faults {
        faulty_connections: Some(1),
        close_after_messages: Some(3),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::PerSecond(200.0))
            .faults(faults),
    );
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--log-format",
        "json",
        "--max-messages",
        "5",
        "-v",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 5);
    let lines = json_lines(&stderr);
    let logs: Vec<&Value> = lines
        .iter()
        .filter(|line| line.get("level").is_some())
        .collect();
    for log in &logs {
        let time = log["time"].as_str().unwrap_or_default();
        assert!(time.ends_with('Z') && time.contains('T'), "{log}");
        assert!(
            log["message"].is_string() && log["fields"].is_object(),
            "{log}"
        );
        assert!(log.get("target").is_none(), "{log}");
    }
    let connected = logs
        .iter()
        .find(|log| log["message"].as_str().unwrap().starts_with("connected to"))
        .expect("a connected line");
    assert_eq!(connected["symbol"], "ETHUSDT", "{connected}");
    assert_eq!(connected["span"], "reader", "{connected}");
    assert_eq!(connected["level"], "INFO", "{connected}");
    let lost = logs
        .iter()
        .find(|log| log["level"] == "WARN")
        .expect("a warning for the lost connection");
    assert_eq!(lost["symbol"], "ETHUSDT", "{lost}");

    // The summary is JSON too (--stats-format defaults to json with JSON logs).
    let summary = lines
        .iter()
        .find(|line| line["type"] == "summary")
        .expect("a JSON summary");
    assert_eq!(summary["symbol"], "ETHUSDT");
    assert_eq!(summary["written"], 5);
    assert_eq!(summary["reconnects"], 1);
}

#[test]
fn a_json_summary_has_the_stats_field_names_and_adds_up() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(6));
    let (status, _, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--stats-format",
        "json",
        "--max-messages",
        "6",
        "ETHUSDT",
        "BNBUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let summaries: Vec<Value> = stderr
        .lines()
        .filter(|line| line.starts_with(r#"{"type":"summary""#))
        .map(|line| serde_json::from_str(line).expect(line))
        .collect();
    assert_eq!(summaries.len(), 2, "{stderr}");
    for summary in &summaries {
        let count = |field: &str| {
            summary[field]
                .as_u64()
                .unwrap_or_else(|| panic!("no {field} in {summary}"))
        };
        let buckets = [
            "written",
            "dropped",
            "duplicates",
            "skipped",
            "discarded",
            "lost",
        ];
        assert_eq!(
            count("received"),
            buckets.iter().map(|field| count(field)).sum::<u64>()
        );
        for field in ["gaps", "missing_ids", "reconnects"] {
            count(field);
        }
        assert_eq!(count("written"), 6);
    }
    // Text logs stay text: only the summary changed.
    assert!(
        stderr.lines().any(|line| line.contains(" INFO ")),
        "{stderr}"
    );
}

#[test]
fn a_fatal_error_is_a_json_line_with_json_logs() {
    let pki = crate::support::tls::generate();
    let exchange = Exchange::start(MockConfig::new().tls(pki.server));
    let (status, _, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--log-format",
        "json",
        "ETHUSDT",
    ]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    let lines = json_lines(&stderr);
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "ERROR", "{last}");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("could not be served"),
        "{last}"
    );
}
