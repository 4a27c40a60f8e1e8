//! `binance-listen tail`: what listeners stored in NATS, printed back as lines, filtered by
//! symbol and stream, and followed as new lines are stored.

use binance_mock::{MockConfig, Rate};

use crate::support::nats::NatsServer;
use crate::support::{Exchange, Listener, PATIENCE, run_to_end, trade};

#[test]
fn tail_prints_what_was_stored_for_the_symbols_and_streams_asked() {
    let Some(server) =
        NatsServer::start("tail_prints_what_was_stored_for_the_symbols_and_streams_asked")
    else {
        return;
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(500.0)));
    let (status, _, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--nats",
        &server.url(),
        "--stream",
        "trade,aggTrade",
        "--max-messages",
        "60",
        "ETHUSDT",
        "BNBUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let stored = server.stored("BINANCE");

    let (status, stdout, stderr) = run_to_end(&[
        "tail",
        "--nats",
        &server.url(),
        "ethusdt",
        "--stream",
        "trade",
    ]);
    assert!(status.success(), "{stderr}");
    let expected: Vec<&str> = stored
        .iter()
        .filter(|message| message.subject == "binance.spot.trade.ETHUSDT")
        .map(|message| message.payload.as_str())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected);
    for line in stdout.lines() {
        assert_eq!(trade(line).symbol, "ETHUSDT");
    }

    let (status, stdout, _) = run_to_end(&["tail", "--nats", &server.url()]);
    assert!(status.success());
    assert_eq!(
        stdout.lines().count(),
        stored.len(),
        "every stored line, once"
    );
}

#[test]
fn tail_follow_prints_lines_as_they_are_stored() {
    let Some(server) = NatsServer::start("tail_follow_prints_lines_as_they_are_stored") else {
        return;
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(200.0)));
    // The stream is created by the first listener; follow from then on.
    let (status, _, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--nats",
        &server.url(),
        "--max-messages",
        "5",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let tail = Listener::start(&["tail", "--follow", "--nats", &server.url(), "ETHUSDT"]);
    let stored_before: Vec<u64> = tail
        .expect_lines(5)
        .iter()
        .map(|l| trade(l).trade_id)
        .collect();
    assert_eq!(stored_before, [1, 2, 3, 4, 5]);
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--nats",
        &server.url(),
        "--max-messages",
        "20",
        "ETHUSDT",
    ]);
    assert!(listener.expect_exit_within(PATIENCE).success());
    // Whatever the second run stored beyond the first (ids it shares were duplicates, not
    // stored again) is followed, in order.
    let stored: Vec<String> = server
        .stored("BINANCE")
        .into_iter()
        .map(|message| message.payload)
        .collect();
    assert!(stored.len() > 5, "the second run stored new lines");
    let followed = tail.expect_lines(stored.len() - 5);
    assert_eq!(followed, stored[5..]);
}
