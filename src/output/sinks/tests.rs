//! Files and handlers at the level of one output: what reaches the file or the handler,
//! and what is counted written and lost. The black-box tests in `tests/it/sinks*.rs` run
//! the same paths through the real binary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::ledger::{PipeLedger, Units};
use super::*;
use crate::control::stop::StopToken;
use crate::output::batch::{Delivered, LineOutput};
use binance_streams::Symbol;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("binance-listen-sink-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn symbol() -> Symbol {
    "ethusdt".parse().unwrap()
}

/// `count` numbered lines, each 20 bytes with its newline.
fn numbered(range: std::ops::Range<usize>) -> Vec<u8> {
    range
        .flat_map(|n| format!("line {n:014}\n").into_bytes())
        .collect()
}

fn handler(template: &str) -> (ExecOutput, Arc<Handlers>) {
    let handlers = Arc::new(Handlers::default());
    let output = ExecOutput::spawn(template, &symbol(), StopToken::new(), &handlers).unwrap();
    (output, handlers)
}

fn total(parts: &[Delivered]) -> Delivered {
    parts
        .iter()
        .fold(Delivered::default(), |sum, part| Delivered {
            written: sum.written + part.written,
            lost: sum.lost + part.lost,
        })
}

#[test]
fn files_are_appended_per_symbol() {
    let dir = TempDir::new("append");
    for line in [&b"a\n"[..], b"b\n"] {
        let mut output = FileOutput::open(&dir.0, &symbol()).unwrap();
        assert_eq!(output.write_batch(line, 1).0, Delivered::all(1));
        output.close();
    }
    let path = symbol_file(&dir.0, &symbol());
    assert!(path.ends_with("ETHUSDT.jsonl"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\nb\n");
}

#[test]
fn a_torn_tail_is_cut_on_open() {
    let dir = TempDir::new("torn");
    let path = symbol_file(&dir.0, &symbol());
    std::fs::write(&path, "whole\n{\"half").unwrap();
    let mut output = FileOutput::open(&dir.0, &symbol()).unwrap();
    output.write_batch(b"next\n", 1).1.unwrap();
    output.close();
    drop(output);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "whole\nnext\n");

    // A file with no newline at all holds no whole line.
    let long_half = "x".repeat(20_000);
    std::fs::write(&path, &long_half).unwrap();
    drop(FileOutput::open(&dir.0, &symbol()).unwrap());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
}

#[test]
fn only_a_regular_file_is_opened() {
    let dir = TempDir::new("kinds");
    let path = symbol_file(&dir.0, &symbol());
    let refused = |what: &str| {
        let error = FileOutput::open(&dir.0, &symbol()).err().unwrap();
        assert!(error.to_string().contains(what), "{what}: {error}");
    };
    std::os::unix::fs::symlink("/dev/null", &path).unwrap();
    refused("a symbolic link");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    refused("a directory");
    std::fs::remove_dir(&path).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    refused("a named pipe (FIFO)");
}

#[test]
fn the_ledger_confirms_lines_read_and_loses_the_rest() {
    let batch = numbered(0..3);
    let units = Units::new(&batch, 3);
    let mut ledger = PipeLedger::default();
    // 30 bytes entered: line 0 whole, line 1 in part.
    ledger.accepted(30);
    assert_eq!(units.record(0, 30, &mut ledger), 20);
    assert_eq!(units.boundary_from(30), 40);
    assert_eq!(units.lines_between(20, 40), 1);
    // The handler read 25 bytes: line 0 is written, line 1 is not (yet).
    assert_eq!(ledger.confirm(5), 1);
    assert_eq!(ledger.confirm(5), 0);
    ledger.accepted(30);
    assert_eq!(units.record(20, 60, &mut ledger), 60);
    assert_eq!(ledger.confirm(15), 1);
    assert_eq!(ledger.lose_rest(), 1);
}

#[test]
fn a_batch_whose_newlines_are_not_its_lines_is_one_unit() {
    let batch = b"{\"a\":\n1}\n";
    let units = Units::new(batch, 1);
    assert_eq!(units.boundary_from(3), batch.len());
    assert_eq!(units.boundary_from(0), 0);
    assert_eq!(units.lines_between(0, batch.len()), 1);
    let mut ledger = PipeLedger::default();
    ledger.accepted(5);
    assert_eq!(units.record(0, 5, &mut ledger), 0);
    ledger.accepted(batch.len() - 5);
    assert_eq!(units.record(0, batch.len(), &mut ledger), batch.len());
    assert_eq!(ledger.confirm(0), 1);
}

#[test]
fn handlers_get_their_symbol_and_their_lines() {
    let dir = TempDir::new("exec");
    let out = dir.join("out.txt");
    let template = format!(
        "cat > {o}; echo {{symbol}} $BINANCE_LISTEN_SYMBOL >> {o}",
        o = out.display()
    );
    let (mut handler, _) = handler(&template);
    let first = handler.write_batch(b"one\ntwo\n", 2);
    first.1.unwrap();
    let closed = handler.close();
    assert_eq!(total(&[first.0, closed]), Delivered::all(2));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "one\ntwo\nETHUSDT ETHUSDT\n"
    );
}

#[test]
fn a_handler_that_reads_a_line_and_dies_loses_the_rest_of_its_pipe() {
    let dir = TempDir::new("one-line");
    let out = dir.join("out.txt");
    // Each run reads exactly one line (the shell's `read` takes a pipe byte by byte).
    let (mut handler, _) = handler(&format!(
        "read -r line; echo \"$line\" >> {}",
        out.display()
    ));
    let mut parts = Vec::new();
    let first = handler.write_batch(&numbered(0..10), 10);
    first.1.unwrap();
    parts.push(first.0);
    // Wait for the run to exit, so the next write finds its pipe broken.
    assert!(handler_exits(&mut handler));
    let second = handler.write_batch(&numbered(10..20), 10);
    second.1.unwrap();
    parts.push(second.0);
    parts.push(handler.close());
    let settled = total(&parts);
    assert_eq!(settled.written + settled.lost, 20);
    let seen = std::fs::read_to_string(&out).unwrap();
    // The first run read line 0; its successor started at line 10, never at a line the
    // first one was given.
    assert_eq!(seen, "line 00000000000000\nline 00000000000010\n");
    assert_eq!(
        settled,
        Delivered {
            written: 2,
            lost: 18
        }
    );
}

/// Waits (at most 10 s) for the current handler run to exit.
fn handler_exits(output: &mut ExecOutput) -> bool {
    output.wait_for_exit(Duration::from_secs(10))
}

#[test]
fn a_line_read_in_part_by_a_dead_handler_is_lost_and_never_resent() {
    let dir = TempDir::new("partial");
    let (first, rest) = (dir.join("first.txt"), dir.join("rest.txt"));
    let marker = dir.join("ran");
    // The first run reads 1010 bytes (50 lines and a half) and exits; then successors copy their input.
    let template = format!(
        "if [ -e {m} ]; then cat >> {r}; else touch {m}; head -c 1010 > {f}; fi",
        m = marker.display(),
        r = rest.display(),
        f = first.display()
    );
    let (mut handler, _) = handler(&template);
    // 5000 lines (100 KB): more than the pipe holds, so the write blocks, then breaks part-way.
    let batch = numbered(0..5000);
    let written = handler.write_batch(&batch, 5000);
    written.1.unwrap();
    let closed = handler.close();
    let settled = total(&[written.0, closed]);
    let rest = std::fs::read_to_string(&rest).unwrap();
    let first = std::fs::read_to_string(&first).unwrap();
    assert_eq!(first.len(), 1010);
    // 50 whole lines read by the first run, line 50 read in part and lost with the rest
    // of its pipe; the successor got whole lines only, from a line boundary on.
    let resent: Vec<&str> = rest.lines().collect();
    assert!(!resent.is_empty() && rest.ends_with('\n'));
    let first_resent: usize = resent[0]["line ".len()..].parse().unwrap();
    assert!(first_resent > 50, "resent from {first_resent}");
    assert!(batch.ends_with(rest.as_bytes()));
    assert_eq!(settled.written, 50 + resent.len() as u64);
    assert_eq!(settled.written + settled.lost, 5000);
}

#[test]
fn a_command_that_does_not_exist_writes_nothing() {
    let (mut handler, _) = handler("nosuchcommand-binance-listen");
    let mut parts = Vec::new();
    let mut failed = None;
    for round in 0..50 {
        let batch = numbered(round * 10..round * 10 + 10);
        let (delivered, result) = handler.write_batch(&batch, 10);
        parts.push(delivered);
        if let Err(error) = result {
            failed = Some(error);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    parts.push(handler.close());
    let error = failed.expect("the handler is given up on");
    assert!(error.to_string().contains("status 127"), "{error}");
    let settled = total(&parts);
    assert_eq!(settled.written, 0);
    assert!(settled.lost > 0);
}

#[test]
fn lines_in_the_pipe_at_the_end_are_written_if_the_handler_reads_them() {
    let dir = TempDir::new("slow-reader");
    let out = dir.join("out.txt");
    // The handler only starts reading after a while: at close its pipe is full of lines.
    let (mut handler, _) = handler(&format!("sleep 0.2; cat > {}", out.display()));
    let written = handler.write_batch(&numbered(0..100), 100);
    written.1.unwrap();
    assert_eq!(written.0, Delivered::default(), "nothing read yet");
    let closed = handler.close();
    assert_eq!(closed, Delivered::all(100));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 100);
}

#[test]
fn lines_a_killed_handler_never_read_are_lost() {
    let (mut handler, _) = handler("sleep 30");
    let written = handler.write_batch(&numbered(0..100), 100);
    written.1.unwrap();
    let started = std::time::Instant::now();
    let closed = handler.close();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        total(&[written.0, closed]),
        Delivered {
            written: 0,
            lost: 100
        }
    );
}

#[test]
fn stuck_handlers_can_be_killed_from_outside() {
    let (mut handler, handlers) = handler("sleep 30; true");
    assert_eq!(handlers.kill_running(), 1);
    assert!(handler_exits(&mut handler));
    assert_eq!(handler.close(), Delivered::default());
    assert_eq!(
        handlers.kill_running(),
        0,
        "closed handlers leave the registry"
    );
}

#[test]
fn a_handler_that_closed_its_input_does_not_hold_up_a_stop() {
    let stop = StopToken::new();
    let handlers = Arc::new(Handlers::default());
    let mut handler =
        ExecOutput::spawn("exec 0<&-; sleep 30", &symbol(), stop.clone(), &handlers).unwrap();
    let stopper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            stop.trigger();
        })
    };
    let started = std::time::Instant::now();
    let mut parts = Vec::new();
    loop {
        let (delivered, result) = handler.write_batch(&numbered(0..10), 10);
        parts.push(delivered);
        if result.is_err() {
            break;
        }
    }
    parts.push(handler.close());
    stopper.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let settled = total(&parts);
    assert_eq!(settled.written, 0);
    assert_eq!(settled.lost, 10 * (parts.len() as u64 - 1));
    assert_eq!(handlers.kill_running(), 0);
}
