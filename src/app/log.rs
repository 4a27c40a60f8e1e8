//! Logging set-up: tracing to stderr (stdout belongs to the data).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::util::stderr::QuietStderr;

/// Installs the global subscriber. `RUST_LOG` rules when set and no `-v`/`-q` was given;
/// otherwise `verbose - quiet` steps from `info` (our crate) with dependencies at `warn`.
pub(crate) fn init(verbose: u8, quiet: u8) {
    let level = match i16::from(verbose) - i16::from(quiet) {
        i16::MIN..=-2 => "error",
        -1 => "warn",
        0 => "info",
        1 => "debug",
        2..=i16::MAX => "trace",
    };
    let from_env = (verbose == 0 && quiet == 0)
        .then(|| EnvFilter::try_from_default_env().ok())
        .flatten();
    let filter = from_env.unwrap_or_else(|| {
        let dependencies = if verbose >= 2 { "debug" } else { "warn" };
        EnvFilter::new(format!("{dependencies},binance_listen={level}"))
    });
    // `try_init` fails only if a subscriber is already set (tests running `run` twice).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| QuietStderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
