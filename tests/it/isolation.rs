//! The promise: a slow handler on one symbol never delays another. Proven by ordering,
//! not timing: with ETHUSDT's processor sleeping 200 ms per message, every BNBUSDT line
//! arrives before ETHUSDT's third.

use binance_mock::Rate;
use binance_mock::{MockConfig, MockEvent};

use crate::support::{Exchange, Listener, PATIENCE, assert_summary_adds_up, summary_count, trade};

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
    // Both bursts have left the exchange before the stop, so every frame is accounted for.
    for _ in 0..2 {
        exchange.expect_event("each symbol's whole burst sent", |event| {
            matches!(event, MockEvent::AllSent { .. })
        });
    }
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();
    assert_eq!(summary_count(&stderr, "ETHUSDT", "dropped"), 0, "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSDT");
    assert_summary_adds_up(&stderr, "BNBUSDT");
}
