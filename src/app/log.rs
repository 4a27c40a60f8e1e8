//! Logging set-up: tracing to stderr (stdout belongs to the data), as readable text
//! (coloured as `--color` and `NO_COLOR` settled it) or as JSON lines ([`log_json`]).
//! Lines outside tracing that a log shipper must still read (the final error, a panic)
//! go through [`error_line`], in the same format.
//!
//! [`log_json`]: super::log_json

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use super::log_json::{JsonLines, plain_line};
use crate::config::terminal::{LogFormat, LogSettings};
use crate::util::stderr::{self, QuietStderr};

/// Installs the global subscriber. `RUST_LOG` rules when set and no `-v`/`-q` was given;
/// otherwise `verbose - quiet` steps from `info` (our crate) with dependencies at `warn`.
pub(crate) fn init(verbose: u8, quiet: u8, settings: LogSettings) {
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
    let text = (settings.format == LogFormat::Text).then(|| {
        fmt::layer()
            .with_writer(|| QuietStderr)
            .with_ansi(settings.colour)
            .with_target(false)
    });
    let json = (settings.format == LogFormat::Json).then(JsonLines::default);
    // `try_init` fails only if a subscriber is already set (tests running `run` twice).
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .try_init();
}

/// Writes `binance-listen: error: MESSAGE` as one line in the log format: whatever the
/// log filter, such a line is always shown.
pub(crate) fn error_line(format: LogFormat, message: &str) {
    match format {
        LogFormat::Text => stderr::line(&format!("binance-listen: error: {message}")),
        LogFormat::Json => plain_line("ERROR", message),
    }
}
