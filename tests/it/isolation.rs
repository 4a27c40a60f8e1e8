//! The promise: a slow handler on one symbol never delays another. Proven by ordering,
//! not timing: with ETHUSDT's processor sleeping 200 ms per message, every BNBUSDT line
//! arrives before ETHUSDT's third.

use binance_mock::MockConfig;
use binance_mock::Rate;

use crate::support::{Exchange, Listener, PATIENCE, trade};

const BURST: u64 = 50;

#[test]
fn delay_on_one_symbol_does_not_delay_another() {
    // Both symbols get their whole burst at once.
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(BURST));
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--delay",
        "ETHUSDT=200ms",
        "ETHUSDT",
        "BNBUSDT",
    ]);
    let mut eth_lines = 0;
    let mut bnb_ids = Vec::new();
    while bnb_ids.len() < BURST as usize {
        let line = trade(&listener.expect_line());
        match line.symbol.as_str() {
            "ETHUSDT" => {
                eth_lines += 1;
                assert!(
                    eth_lines < 3,
                    "ETHUSDT's 3rd line arrived before BNBUSDT's {}th: BNBUSDT was held up",
                    BURST
                );
            }
            "BNBUSDT" => bnb_ids.push(line.trade_id),
            other => panic!("unexpected symbol {other}"),
        }
    }
    assert_eq!(bnb_ids, (1..=BURST).collect::<Vec<_>>());
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let eth = listener.expect_stderr("summary ETHUSDT");
    assert!(eth.contains(&format!("received {BURST}")), "{eth}");
    assert!(eth.contains("dropped 0"), "{eth}");
}
