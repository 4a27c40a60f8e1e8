//! Sequence checks as a user sees them: a stray id hides nothing, duplicates are reported
//! unless an overlap explains them, COIN-M's `pu: -1` is data, and holes in the data show
//! up as gap markers in the output (`--gap-markers`). Every run ends on its own
//! (`--max-messages`) or on an event seen in its output; no test waits on a clock.

use binance_mock::{Faults, IdJump, MockConfig, Rate};
use serde_json::Value;

use crate::support::{
    Exchange, Listener, PATIENCE, TempDir, assert_summary_adds_up, run_to_end, summary_count,
};

/// A line of output, parsed: a marker's `reason`, or a data line's id under `id_field`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Marker(String),
    Id(u64),
}

fn parse(line: &str, id_field: &str) -> Line {
    let value: Value =
        serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}"));
    if value.get("event").is_some() {
        assert!(
            line.starts_with(r#"{"event":"gap","symbol":"ETHUSDT","stream":""#),
            "{line}"
        );
        Line::Marker(value["reason"].as_str().expect("a reason").to_owned())
    } else {
        Line::Id(
            value[id_field]
                .as_u64()
                .unwrap_or_else(|| panic!("no {id_field}: {line}")),
        )
    }
}

fn parse_all(text: &str, id_field: &str) -> Vec<Line> {
    text.lines().map(|line| parse(line, id_field)).collect()
}

fn ids(range: std::ops::RangeInclusive<u64>) -> impl Iterator<Item = Line> {
    range.map(Line::Id)
}

fn marker(reason: &str) -> Line {
    Line::Marker(reason.to_owned())
}

/// A mock sending trades 1..=`count` as fast as it can, with one stray id after `after`.
fn stray_exchange(count: u64, after: u64, id: u64) -> Exchange {
    let faults = Faults {
        id_jumps: vec![IdJump { after, id }],
        ..Faults::default()
    };
    Exchange::start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(count)
            .faults(faults),
    )
}

#[test]
fn one_stray_id_hides_no_trades() {
    let exchange = stray_exchange(2000, 100, 900_000);
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--overflow",
        "block",
        "--max-messages",
        "2001",
        "--gap-markers",
        "on",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let mut expected: Vec<Line> = ids(1..=100).collect();
    expected.extend([marker("missing"), Line::Id(900_000), marker("restart")]);
    expected.extend(ids(101..=2000));
    assert_eq!(parse_all(&stdout, "trade_id"), expected);
    assert!(stdout.contains(
        r#""reason":"missing","first_missing":101,"last_missing":899999,"missing":899899,"#
    ));
    assert!(stdout.contains(r#""reason":"restart","previous":900000,"resumed_at":101,"#));
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "written"),
        2001,
        "{stderr}"
    );
    assert_eq!(summary_count(&stderr, "ETHUSDT", "duplicates"), 0);
    assert_eq!(
        stderr
            .matches("trade ids went back from 900000 to 101; following the new sequence")
            .count(),
        1,
        "{stderr}"
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn a_stray_in_a_futures_depth_chain_is_a_break_then_a_restart() {
    let faults = Faults {
        id_jumps: vec![IdJump {
            after: 10,
            id: 900_000,
        }],
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(30)
            .futures(true)
            .faults(faults),
    );
    let (status, stdout, stderr) = run_to_end(&[
        "--market",
        "futures",
        "--endpoint",
        &exchange.url(),
        "--stream",
        "depth",
        "--overflow",
        "block",
        "--max-messages",
        "31",
        "--gap-markers",
        "on",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let lines = parse_all(&stdout, "final_update_id");
    let markers: Vec<&Line> = lines
        .iter()
        .filter(|line| matches!(line, Line::Marker(_)))
        .collect();
    assert_eq!(markers, [&marker("break"), &marker("restart")], "{stdout}");
    let mut written: Vec<u64> = lines
        .iter()
        .filter_map(|line| match line {
            Line::Id(id) => Some(*id),
            Line::Marker(_) => None,
        })
        .collect();
    assert_eq!(written.len(), 31, "every update once: {stdout}");
    written.sort_unstable();
    written.dedup();
    assert_eq!(written.len(), 31);
    assert_eq!(summary_count(&stderr, "ETHUSDT", "gaps"), 1, "{stderr}");
    assert_eq!(summary_count(&stderr, "ETHUSDT", "duplicates"), 0);
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn a_repeat_on_the_same_connection_is_reported_an_overlap_is_not() {
    // Connection 1 repeats trade 7 after 10, then closes after 20 messages; connection 2
    // starts by replaying the last 5 ids connection 1 sent.
    let faults = Faults {
        faulty_connections: Some(1),
        id_jumps: vec![IdJump { after: 10, id: 7 }],
        close_after_messages: Some(20),
        replay_on_reconnect: 5,
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(40)
            .faults(faults),
    );
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--max-messages",
        "40",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let expected: Vec<Line> = ids(1..=40).collect();
    assert_eq!(
        parse_all(&stdout, "trade_id"),
        expected,
        "no markers on stdout"
    );
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "duplicates"),
        6,
        "{stderr}"
    );
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("duplicate"))
        .collect();
    assert_eq!(reports.len(), 1, "{stderr}");
    assert!(
        reports[0].contains("dropped 1 duplicate trade event(s), ids 7..=7: already written"),
        "{stderr}"
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn coin_futures_depth_without_a_known_predecessor_is_written_as_sent() {
    // A fresh exchange per run: each sends its 5 updates once.
    let run = |format: &str| {
        let faults = Faults {
            first_depth_pu_unknown: true,
            ..Faults::default()
        };
        let exchange = Exchange::start(
            MockConfig::new()
                .rate(Rate::Unlimited)
                .count(5)
                .coin_futures(true)
                .faults(faults),
        );
        run_to_end(&[
            "--market",
            "coin-futures",
            "--endpoint",
            &exchange.url(),
            "--stream",
            "depth",
            "--format",
            format,
            "--max-messages",
            "5",
            "ETHUSD_PERP",
        ])
    };
    let (status, stdout, stderr) = run("json");
    assert!(status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stderr}");
    assert!(
        lines[0].contains(r#","prev_final_update_id":-1,"#),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(r#""pair":"ETHUSD""#), "{}", lines[0]);
    assert!(!stderr.contains("skipped a frame"), "{stderr}");
    assert_eq!(summary_count(&stderr, "ETHUSD_PERP", "skipped"), 0);
    assert_eq!(summary_count(&stderr, "ETHUSD_PERP", "gaps"), 0, "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSD_PERP");
    // The raw format passes the frame through exactly as sent.
    let (status, stdout, stderr) = run("raw");
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.lines().any(|line| line.contains(r#""pu":-1,"#)),
        "{stdout}"
    );
    assert_summary_adds_up(&stderr, "ETHUSD_PERP");
}

#[test]
fn gap_markers_go_to_files_by_default_and_not_to_stdout() {
    let dir = TempDir::new();
    let out = dir.path_of("out");
    let out_text = out.to_str().expect("utf-8 temp path");
    // A fresh exchange per run: each sends its trades once.
    let run = |extra: &[&str]| {
        let exchange = stray_exchange(20, 5, 900_000);
        let url = exchange.url();
        let mut args = vec!["--endpoint", &url, "--max-messages", "21"];
        args.extend_from_slice(extra);
        args.push("ETHUSDT");
        let (status, stdout, stderr) = run_to_end(&args);
        assert!(status.success(), "{stderr}");
        assert_eq!(summary_count(&stderr, "ETHUSDT", "written"), 21, "{stderr}");
        assert_summary_adds_up(&stderr, "ETHUSDT");
        stdout
    };
    let reasons = |lines: &[Line]| -> Vec<Line> {
        lines
            .iter()
            .filter(|line| matches!(line, Line::Marker(_)))
            .cloned()
            .collect()
    };
    let stdout = run(&["--output-dir", out_text]);
    assert!(stdout.is_empty());
    let file = std::fs::read_to_string(out.join("ETHUSDT.jsonl")).expect("the symbol's file");
    let lines = parse_all(&file, "trade_id");
    assert_eq!(lines.len(), 23, "{file}");
    assert_eq!(reasons(&lines), [marker("missing"), marker("restart")]);
    // Asked not to, the file gets data only (appended after the first run's lines).
    run(&["--output-dir", out_text, "--gap-markers", "off"]);
    let file = std::fs::read_to_string(out.join("ETHUSDT.jsonl")).expect("the symbol's file");
    assert_eq!(file.lines().count(), 23 + 21);
    // On stdout they are off unless asked for.
    let stdout = run(&[]);
    assert!(
        reasons(&parse_all(&stdout, "trade_id")).is_empty(),
        "{stdout}"
    );
}

#[test]
fn a_bad_gap_markers_value_is_a_usage_error() {
    let (status, stdout, stderr) = run_to_end(&["--gap-markers", "sometimes", "ETHUSDT"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("invalid gap markers setting 'sometimes': expected on or off"),
        "{stderr}"
    );
}

#[test]
fn overflow_drops_become_one_marker_per_run_and_are_not_counted_written() {
    // One slot and a slow handler: the reader must drop nearly all of 3000 trades.
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(3000));
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--queue",
        "1",
        "--delay",
        "20ms",
        "--gap-markers",
        "on",
        "ETHUSDT",
    ]);
    let mut lines = Vec::new();
    while !lines
        .iter()
        .any(|line: &String| line.contains(r#""reason":"overflow""#))
    {
        lines.push(listener.expect_line());
    }
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    lines.extend(listener.remaining_lines());
    let stderr = listener.full_stderr();
    let parsed = parse_all(&lines.join("\n"), "trade_id");
    let data = parsed
        .iter()
        .filter(|line| matches!(line, Line::Id(_)))
        .count() as u64;
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "written"),
        data,
        "{stderr}"
    );
    let marked: u64 = lines
        .iter()
        .filter(|line| line.contains(r#""reason":"overflow""#))
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["stream"], "trade");
            value["dropped"].as_u64().expect("a count")
        })
        .sum();
    let dropped = summary_count(&stderr, "ETHUSDT", "dropped");
    assert!(
        marked > 0 && marked <= dropped,
        "marked {marked}, dropped {dropped}"
    );
    assert!(
        !parsed
            .windows(2)
            .any(|pair| pair[0] == marker("overflow") && pair[1] == marker("overflow")),
        "one marker per run of drops"
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
}
