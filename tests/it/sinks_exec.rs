//! `--exec` handlers: isolation (one symbol's stuck handler holds back only that symbol),
//! delivery (a restarted handler never gets a line twice; lines left in a dead handler's
//! pipe are lost, not written), and the end of a run (no handler, nor anything it started,
//! outlives the listener; a handler that stops reading never holds up a stop; SIGHUP stops
//! cleanly). Every run's summary must add up.

use std::path::Path;
use std::time::{Duration, Instant};

use binance_mock::MockConfig;
use binance_mock::Rate;

use crate::sinks::{lines_of, wait_for_lines};
use crate::support::{
    Exchange, Listener, PATIENCE, TempDir, assert_ids_in_order, assert_summary_adds_up, run_to_end,
    summary_count, trade_ids,
};

/// How soon after a signal the run must be over, handlers included (the shutdown grace is
/// 750 ms; a loaded machine gets the rest).
const EXIT_AFTER_SIGNAL: Duration = Duration::from_secs(2);

/// Checks that trade ids only ever go up: no line reached a handler twice.
fn assert_strictly_increasing(ids: &[u64]) {
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ids out of order or repeated: {ids:?}"
    );
}

/// The process id a handler wrote to `path`, once it has.
fn pid_written_to(path: &Path) -> u32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.ends_with('\n')
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "no pid in {} within {PATIENCE:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` is gone (a zombie waiting for init to reap it counts as gone).
fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| matches!(state, 'Z' | 'X')),
    }
}

/// Waits until process `pid` is gone; fails after [`PATIENCE`] (and kills it then).
fn assert_gone(pid: u32, what: &str) {
    let deadline = Instant::now() + PATIENCE;
    while !is_gone(pid) {
        if Instant::now() >= deadline {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{what} (pid {pid}) outlived the listener");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
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
    let stderr = listener.full_stderr();
    // The sleeper read nothing: the lines in its pipe died with it when it was stopped
    // (and any still queued were discarded), none of them written.
    assert_eq!(summary_count(&stderr, "ETHUSDT", "written"), 0, "{stderr}");
    assert_eq!(summary_count(&stderr, "BNBUSDT", "written"), 40, "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSDT");
    assert_summary_adds_up(&stderr, "BNBUSDT");
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
        signalled.elapsed() < EXIT_AFTER_SIGNAL,
        "exit took {:?}",
        signalled.elapsed()
    );
    let stderr = listener.full_stderr();
    assert!(summary_count(&stderr, "ETHUSDT", "dropped") > 0, "{stderr}");
    assert_eq!(summary_count(&stderr, "ETHUSDT", "written"), 0, "{stderr}");
    assert!(summary_count(&stderr, "ETHUSDT", "lost") > 0, "{stderr}");
    assert_eq!(summary_count(&stderr, "BNBUSDT", "dropped"), 0, "{stderr}");
    assert_eq!(
        summary_count(&stderr, "BNBUSDT", "written"),
        8000,
        "{stderr}"
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
    assert_summary_adds_up(&stderr, "BNBUSDT");
}

/// Runs `handler` (which appends what it reads to `DIR/out`) until it has exited five
/// times in a row and is given up on; returns the lines it kept and the stderr.
fn run_until_given_up(dir: &TempDir, handler: &str) -> (Vec<String>, String) {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(300.0)));
    let out = dir.path_of("out");
    let handler = handler.replace("OUT", out.to_str().unwrap());
    let (status, _, stderr) =
        run_to_end(&["--endpoint", &exchange.url(), "--exec", &handler, "ETHUSDT"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("handler exited 5 times in a row"),
        "{stderr}"
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
    (lines_of(&out), stderr)
}

#[test]
fn a_restarted_handler_never_gets_a_line_twice() {
    let dir = TempDir::new();
    // Each run reads exactly one line (a shell's `read` takes a pipe byte by byte), keeps
    // it and exits, leaving the rest of what it was sent in its pipe.
    let (kept, stderr) = run_until_given_up(&dir, "read -r line; echo \"$line\" >> OUT");
    assert_eq!(kept.len(), 5, "{stderr}");
    assert_strictly_increasing(&trade_ids(&kept));
    // Written is exactly what the handlers read; what they left in their pipes is lost.
    assert_eq!(summary_count(&stderr, "ETHUSDT", "written"), 5, "{stderr}");
    assert!(summary_count(&stderr, "ETHUSDT", "lost") > 0, "{stderr}");
}

#[test]
fn head_counts_what_it_read_as_written_and_the_rest_of_its_pipe_as_lost() {
    let dir = TempDir::new();
    // `head -1` reads a buffer, prints one line of it and exits: the rest of the buffer
    // was read (written), the rest of the pipe was not (lost). Each run starts reading
    // only once its pipe holds more than head's buffer, so each one leaves lines behind,
    // at least the line its buffer ends in.
    let (kept, stderr) = run_until_given_up(&dir, "sleep 0.5; head -1 >> OUT");
    assert_eq!(kept.len(), 5, "{stderr}");
    assert_strictly_increasing(&trade_ids(&kept));
    assert!(
        summary_count(&stderr, "ETHUSDT", "written") >= 5,
        "{stderr}"
    );
    assert!(summary_count(&stderr, "ETHUSDT", "lost") >= 5, "{stderr}");
}

#[test]
fn a_command_that_does_not_exist_writes_nothing() {
    let dir = TempDir::new();
    let (kept, stderr) = run_until_given_up(&dir, "nosuchcommand-binance-listen OUT");
    assert!(kept.is_empty());
    assert!(stderr.contains("last status 127"), "{stderr}");
    assert_eq!(summary_count(&stderr, "ETHUSDT", "written"), 0, "{stderr}");
    assert!(summary_count(&stderr, "ETHUSDT", "lost") > 0, "{stderr}");
}

#[test]
fn a_successor_starts_at_the_first_line_the_dead_handler_never_got() {
    let dir = TempDir::new();
    let (first, rest, marker) = (
        dir.path_of("first"),
        dir.path_of("rest"),
        dir.path_of("ran"),
    );
    // The first run reads 1000 bytes (a few whole lines and part of one) and exits; its
    // successors copy everything. Big batches arrive faster than it reads, so a batch
    // usually breaks part-way through when it dies.
    let handler = format!(
        "if [ -e {m} ]; then cat >> {r}; else touch {m}; head -c 1000 > {f}; fi",
        m = marker.display(),
        r = rest.display(),
        f = first.display()
    );
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(3000));
    let (status, _, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--exec",
        &handler,
        "--overflow",
        "block",
        "--max-messages",
        "3000",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let first = std::fs::read_to_string(&first).unwrap();
    assert_eq!(first.len(), 1000);
    // The whole lines the first run read, then everything its successors got: every line
    // whole, none twice, in order.
    let read_whole: Vec<String> = first.lines().map(str::to_owned).collect();
    let read_whole = &read_whole[..first.matches('\n').count()];
    let rest = lines_of(&rest);
    let mut ids = trade_ids(read_whole);
    ids.extend(trade_ids(&rest));
    assert_strictly_increasing(&ids);
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "written"),
        ids.len() as u64,
        "{stderr}"
    );
    // At least the line the first run read in part is lost.
    assert!(summary_count(&stderr, "ETHUSDT", "lost") > 0, "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

/// A handler that closes its stdin but keeps running must not hold up the end of the run,
/// nor survive it.
fn a_handler_that_closed_its_input_does_not_hold_up(stop: Option<&str>) {
    let dir = TempDir::new();
    let pid_file = dir.path_of("pid");
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(500.0)));
    let handler = format!(
        "echo $$ > {}; exec 0<&-; exec sleep 300",
        pid_file.display()
    );
    let url = exchange.url();
    let mut args = vec!["--endpoint", &url, "--exec", &handler];
    if stop.is_none() {
        args.extend(["--duration", "1s"]);
    }
    args.push("ETHUSDT");
    let started = Instant::now();
    let mut listener = Listener::start(&args);
    let pid = pid_written_to(&pid_file);
    if stop.is_some() {
        // Lines keep coming to a handler that will never read them.
        listener.expect_stderr("closed its input but is still running");
    }
    let stopped = match stop {
        Some(signal) => {
            listener.signal(signal);
            Instant::now()
        }
        None => started + Duration::from_secs(1),
    };
    assert!(listener.expect_exit_within(PATIENCE).success());
    let took = stopped.elapsed();
    assert!(took < EXIT_AFTER_SIGNAL, "the stop took {took:?}");
    let stderr = listener.full_stderr();
    assert_eq!(summary_count(&stderr, "ETHUSDT", "written"), 0, "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSDT");
    assert_gone(pid, "the handler");
}

#[test]
fn a_handler_that_closed_its_input_does_not_hold_up_sigint() {
    a_handler_that_closed_its_input_does_not_hold_up(Some("INT"));
}

#[test]
fn a_handler_that_closed_its_input_does_not_hold_up_sigterm() {
    a_handler_that_closed_its_input_does_not_hold_up(Some("TERM"));
}

#[test]
fn a_handler_that_closed_its_input_does_not_hold_up_the_duration() {
    a_handler_that_closed_its_input_does_not_hold_up(None);
}

/// Starts a handler that puts `sleep 300` in the background (writing its pid) and reads
/// its input; `linger` runs after the input ends.
fn start_with_background_child(dir: &TempDir, linger: &str) -> (Listener, Exchange, u32) {
    let pid_file = dir.path_of("pid");
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(200.0)));
    let handler = format!(
        "sleep 300 & echo $! > {}; cat > /dev/null; {linger}",
        pid_file.display()
    );
    let listener = Listener::start(&["--endpoint", &exchange.url(), "--exec", &handler, "ETHUSDT"]);
    let pid = pid_written_to(&pid_file);
    (listener, exchange, pid)
}

#[test]
fn what_a_handler_started_does_not_outlive_a_clean_stop() {
    let dir = TempDir::new();
    let (mut listener, _exchange, pid) = start_with_background_child(&dir, "true");
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();
    assert_summary_adds_up(&stderr, "ETHUSDT");
    assert_gone(pid, "the handler's background child");
}

#[test]
fn what_a_handler_started_does_not_outlive_a_second_sigint() {
    let dir = TempDir::new();
    // After its input ends the handler lingers, so the clean stop is still inside its
    // grace when the second SIGINT ends the run at once.
    let (mut listener, _exchange, pid) = start_with_background_child(&dir, "sleep 30");
    listener.signal("INT");
    listener.expect_stderr("SIGINT received");
    listener.signal("INT");
    assert_eq!(listener.expect_exit_within(PATIENCE).code(), Some(130));
    assert_gone(pid, "the handler's background child");
}

#[test]
fn sighup_stops_cleanly_with_a_summary_and_handlers_closed() {
    let dir = TempDir::new();
    let out = dir.path_of("out");
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(200.0)));
    let handler = format!("cat > {}", out.display());
    let mut listener =
        Listener::start(&["--endpoint", &exchange.url(), "--exec", &handler, "ETHUSDT"]);
    wait_for_lines(&out, 10);
    listener.signal("HUP");
    let signalled = Instant::now();
    assert!(listener.expect_exit_within(PATIENCE).success());
    assert!(signalled.elapsed() < EXIT_AFTER_SIGNAL);
    let stderr = listener.full_stderr();
    assert!(stderr.contains("SIGHUP received: stopping"), "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSDT");
    // The handler was given the end of its input and finished: it kept every line it read.
    let kept = lines_of(&out);
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "written"),
        kept.len() as u64,
        "{stderr}"
    );
    assert_strictly_increasing(&trade_ids(&kept));
}
