//! `--config FILE`: settings from TOML, flags winning over them, and the shipped example.

use binance_mock::MockConfig;
use binance_mock::Rate;

use crate::support::{Exchange, TempDir, assert_ids_in_order, run_to_end, trade};

#[test]
fn the_file_supplies_settings_and_flags_win() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(4));
    let dir = TempDir::new();
    let config = dir.write(
        "listen.toml",
        format!(
            "symbols = [\"ethusdt\"]\nendpoint = \"{}\"\nmax_messages = 4\nformat = \"raw\"\n",
            exchange.url()
        ),
    );
    let config = config.to_str().unwrap();

    let (status, stdout, stderr) = run_to_end(&["--config", config]);
    assert!(status.success(), "{stderr}");
    assert!(
        stdout
            .lines()
            .all(|line| line.starts_with(r#"{"e":"trade""#)),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 4);

    // The flag's format wins; the file's symbols, endpoint and count still apply.
    let exchange_again = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(4));
    let config_again = dir.write(
        "listen-again.toml",
        format!(
            "symbols = [\"ethusdt\"]\nendpoint = \"{}\"\nmax_messages = 4\nformat = \"raw\"\n",
            exchange_again.url()
        ),
    );
    let (status, stdout, stderr) = run_to_end(&[
        "--config",
        config_again.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(status.success(), "{stderr}");
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_ids_in_order(&lines, &["ETHUSDT"], 4);
}

#[test]
fn the_shipped_example_config_runs() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml");
    let (status, stdout, stderr) =
        run_to_end(&["--config", example, "--simulate", "--max-messages", "2"]);
    assert!(status.success(), "{stderr}");
    let symbols: Vec<String> = stdout.lines().map(|line| trade(line).symbol).collect();
    assert!(symbols.contains(&"ETHUSDT".to_owned()) && symbols.contains(&"BNBUSDT".to_owned()));
}
