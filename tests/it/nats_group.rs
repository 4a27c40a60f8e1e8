//! `--group`: listeners sharing symbols through leases in NATS, against a real
//! `nats-server -js`. A member killed with SIGKILL has its symbols taken over within about
//! a lease; a joining member takes its share without a gap or a duplicate; with
//! `--replicas 2` a death leaves no id missing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use binance_mock::{MockConfig, Rate};

use crate::support::nats::{NatsServer, Stored};
use crate::support::{Exchange, Listener, PATIENCE, assert_summary_adds_up};

const SYMBOLS: [&str; 6] = [
    "ETHUSDT", "BNBUSDT", "BTCUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT",
];

/// A group member named `member` on `symbols`.
fn member(exchange: &Exchange, server: &NatsServer, member: &str, extra: &[&str]) -> Listener {
    let (url, nats) = (exchange.url(), server.url());
    let mut args = vec![
        "--endpoint",
        &url,
        "--nats",
        &nats,
        "--group",
        "g",
        "--lease",
        "2s",
        "--member",
        member,
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&SYMBOLS);
    Listener::start(&args)
}

/// The symbols `stderr` says its member holds now.
fn held(stderr: &str) -> BTreeSet<String> {
    let mut held = BTreeSet::new();
    for line in stderr.lines() {
        if let Some(rest) = line.split("holding ").nth(1)
            && let Some(symbol) = rest.split(" (lease slot").next()
            && rest.contains("(lease slot")
        {
            held.insert(symbol.to_owned());
        }
        if let Some(rest) = line.split("released ").nth(1)
            && let Some(symbol) = rest.split(':').next()
        {
            held.remove(symbol);
        }
    }
    held
}

/// Waits until `done` holds, checking every 50 ms; fails after `limit`.
fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    wait_until_or(what, limit, &mut done, String::new)
}

/// [`wait_until`], saying `context()` if it fails.
fn wait_until_or(
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
    context: impl Fn() -> String,
) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "not within {limit:?}: {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

/// The trade ids stored per symbol, in stream order.
fn ids_per_symbol(stored: &[Stored]) -> BTreeMap<String, Vec<u64>> {
    let mut ids: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for message in stored {
        let line: serde_json::Value = serde_json::from_str(&message.payload).expect("JSON line");
        let symbol = line["symbol"].as_str().expect("symbol").to_owned();
        ids.entry(symbol)
            .or_default()
            .push(line["trade_id"].as_u64().expect("trade id"));
    }
    ids
}

fn assert_no_id_twice(ids: &BTreeMap<String, Vec<u64>>) {
    for (symbol, ids) in ids {
        let unique: BTreeSet<u64> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "{symbol}: an id stored twice");
    }
}

fn assert_no_id_missing(ids: &BTreeMap<String, Vec<u64>>, symbols: &[&str]) {
    for symbol in symbols {
        let ids: BTreeSet<u64> = ids[*symbol].iter().copied().collect();
        let (first, last) = (ids.first().copied().unwrap(), ids.last().copied().unwrap());
        assert_eq!(ids, (first..=last).collect(), "{symbol}: ids missing");
    }
}

#[test]
fn a_joining_member_takes_its_share_without_gap_or_duplicate() {
    let Some(server) =
        NatsServer::start("a_joining_member_takes_its_share_without_gap_or_duplicate")
    else {
        return;
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(50.0)));
    let mut a = member(&exchange, &server, "a", &[]);
    wait_until("a holds every symbol", PATIENCE, || {
        held(&a.stderr()).len() == 6
    });
    let mut b = member(&exchange, &server, "b", &["--stats=1s"]);
    wait_until("the symbols are shared", PATIENCE, || {
        let (of_a, of_b) = (held(&a.stderr()), held(&b.stderr()));
        !of_b.is_empty() && of_a.is_disjoint(&of_b) && of_a.len() + of_b.len() == 6
    });
    let moved = held(&b.stderr());
    b.expect_stderr(&format!("holding {} of 6 symbols", moved.len()));
    // A joining member starts only its own share: it learns who is there before acting.
    let started: BTreeSet<String> = b
        .stderr()
        .lines()
        .filter_map(|line| line.split("starting ").nth(1))
        .filter_map(|rest| rest.strip_suffix(" to take it over"))
        .map(str::to_owned)
        .collect();
    assert_eq!(started, moved, "{}", b.stderr());
    // Both keep publishing a little after the handover.
    let before = server.count("BINANCE");
    wait_until("more lines stored", PATIENCE, || {
        server.count("BINANCE") >= before + 60
    });
    for listener in [&mut a, &mut b] {
        listener.signal("TERM");
        assert!(listener.expect_exit_within(PATIENCE).success());
    }
    let ids = ids_per_symbol(&server.stored("BINANCE"));
    assert_no_id_twice(&ids);
    let moved: Vec<&str> = moved.iter().map(String::as_str).collect();
    // Make before break: the new holder ran before the old one stopped.
    assert_no_id_missing(&ids, &moved);
}

#[test]
fn a_killed_member_has_its_symbols_taken_over_within_about_a_lease() {
    let Some(server) =
        NatsServer::start("a_killed_member_has_its_symbols_taken_over_within_about_a_lease")
    else {
        return;
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(50.0)));
    let mut a = member(&exchange, &server, "a", &[]);
    let b = member(&exchange, &server, "b", &[]);
    let both = || format!("a:\n{}\nb:\n{}", a.stderr(), b.stderr());
    wait_until_or(
        "the symbols are shared",
        PATIENCE,
        || {
            let (of_a, of_b) = (held(&a.stderr()), held(&b.stderr()));
            !of_a.is_empty()
                && !of_b.is_empty()
                && of_a.is_disjoint(&of_b)
                && of_a.len() + of_b.len() == 6
        },
        both,
    );
    b.signal("KILL");
    let took = wait_until_or(
        "a holds every symbol again",
        PATIENCE,
        || held(&a.stderr()).len() == 6,
        both,
    );
    // One lease (2 s) for b's leases to expire, a keeper tick, a connection.
    assert!(
        took < Duration::from_secs(2 + 4),
        "took {took:?}:\n{}",
        a.stderr()
    );
    let before = server.count("BINANCE");
    wait_until("more lines stored", PATIENCE, || {
        server.count("BINANCE") >= before + 60
    });
    a.signal("TERM");
    assert!(a.expect_exit_within(PATIENCE).success());
    let ids = ids_per_symbol(&server.stored("BINANCE"));
    assert_eq!(ids.len(), 6, "every symbol stored");
    assert_no_id_twice(&ids);
}

#[test]
fn with_two_replicas_a_killed_member_leaves_no_id_missing() {
    let Some(server) = NatsServer::start("with_two_replicas_a_killed_member_leaves_no_id_missing")
    else {
        return;
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(50.0)));
    let mut a = member(&exchange, &server, "a", &["--replicas", "2"]);
    let b = member(&exchange, &server, "b", &["--replicas", "2"]);
    wait_until_or(
        "both hold every symbol",
        PATIENCE,
        || held(&a.stderr()).len() == 6 && held(&b.stderr()).len() == 6,
        || format!("a:\n{}\nb:\n{}", a.stderr(), b.stderr()),
    );
    b.signal("KILL");
    let before = server.count("BINANCE");
    wait_until("more lines stored", PATIENCE, || {
        server.count("BINANCE") >= before + 120
    });
    a.signal("TERM");
    assert!(a.expect_exit_within(PATIENCE).success());
    let stderr = a.full_stderr();
    let ids = ids_per_symbol(&server.stored("BINANCE"));
    assert_no_id_twice(&ids);
    assert_no_id_missing(&ids, &SYMBOLS);
    for symbol in SYMBOLS {
        assert_summary_adds_up(&stderr, symbol);
    }
}

#[test]
fn a_group_needs_nats_and_one_lease_time() {
    let (status, _, stderr) =
        crate::support::run_to_end(&["--simulate", "--group", "g", "ETHUSDT"]);
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("add --nats URL to --group"), "{stderr}");
    let (status, _, stderr) =
        crate::support::run_to_end(&["--simulate", "--replicas", "2", "ETHUSDT"]);
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("add --group NAME"), "{stderr}");
    let Some(server) = NatsServer::start("a_group_needs_nats_and_one_lease_time") else {
        return;
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(10.0)));
    let a = member(&exchange, &server, "a", &[]);
    a.expect_stderr("holding ");
    let (status, _, stderr) = crate::support::run_to_end(&[
        "--simulate",
        "--nats",
        &server.url(),
        "--group",
        "g",
        "--lease",
        "9s",
        "ETHUSDT",
    ]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("group g runs with --lease 2s, not 9s"),
        "{stderr}"
    );
    let (status, _, stderr) = crate::support::run_to_end(&[
        "--simulate",
        "--nats",
        &server.url(),
        "--group",
        "g",
        "--lease",
        "2s",
        "--member",
        "a",
        "ETHUSDT",
    ]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("member a is already in group g"),
        "{stderr}"
    );
}
