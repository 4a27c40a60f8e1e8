//! `wss://`: streams with `--ca-cert` trusting the mock's private CA; fails clearly, naming
//! the host and the flag, without it.

use binance_mock::MockConfig;
use binance_mock::Rate;

use crate::support::{Exchange, TempDir, assert_ids_in_order, run_to_end, tls};

#[test]
fn wss_streams_with_the_ca_given_by_ca_cert() {
    let pki = tls::generate();
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", &pki.ca_pem);
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(20)
            .tls(pki.server),
    );
    let url = exchange.url();
    assert!(url.starts_with("wss://localhost:"), "{url}");
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &url,
        "--ca-cert",
        ca.to_str().unwrap(),
        "--max-messages",
        "20",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_ids_in_order(&lines, &["ETHUSDT"], 20);
}

#[test]
fn wss_streams_with_a_self_signed_certificate_given_by_ca_cert() {
    let (pem, identity) = tls::self_signed();
    let dir = TempDir::new();
    let ca = dir.write("self-signed.pem", &pem);
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(5)
            .tls(identity),
    );
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--ca-cert",
        ca.to_str().unwrap(),
        "--max-messages",
        "5",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_ids_in_order(&lines, &["ETHUSDT"], 5);
}

#[test]
fn wss_without_the_ca_fails_clearly_naming_the_host_and_the_flag() {
    let pki = tls::generate();
    let exchange = Exchange::start(MockConfig::new().tls(pki.server));
    let url = exchange.url();
    let host_port = url.trim_start_matches("wss://").to_owned();
    let (status, stdout, stderr) = run_to_end(&["--endpoint", &url, "ETHUSDT"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(&format!("TLS certificate of {host_port} is not trusted")),
        "{stderr}"
    );
    assert!(stderr.contains("--ca-cert"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
