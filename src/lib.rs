//! binance-listen: listen to Binance market-data WebSocket streams for many symbols at once,
//! one isolated pipeline per symbol (reader thread → bounded queue → processor thread), and
//! write every event as a JSON line on stdout.
//!
//! The binary is a thin wrapper around [`main_with_args`]; tests and examples also use
//! [`mock::MockExchange`], the in-crate Binance stand-in.

#![forbid(unsafe_code)]

pub mod app;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod event;
pub mod format;
pub mod latency;
pub mod log;
pub mod mock;
pub mod output;
pub mod pretty;
pub mod processor;
pub mod queue;
pub mod rand;
pub mod reader;
pub mod report;
pub mod sequence;
pub mod signals;
pub mod sink;
pub mod spec;
pub mod stats;
pub mod stop;
pub mod supervise;
pub mod units;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

pub use cli::Cli;
pub use config::Config;
pub use mock::{MockConfig, MockEvent, MockExchange};

/// Status for a usage error (bad flag, value or config file).
pub const USAGE_ERROR_STATUS: u8 = 2;

/// Parses `args` (program name first), runs the listener and returns the exit status:
/// 0 for a normal stop, 1 for a runtime failure, 2 for a usage error.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => return report_clap_error(&error),
    };
    log::init(cli.verbose, cli.quiet);
    install_panic_hook();
    let config = match config::build(cli) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("binance-listen: error: {error}");
            return ExitCode::from(USAGE_ERROR_STATUS);
        }
    };
    match app::run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(fatal) => {
            eprintln!("binance-listen: error: {fatal}");
            ExitCode::FAILURE
        }
    }
}

/// `--help` and `--version` print as clap renders them; every other clap error becomes one
/// line (clap's first, which names the value and, through our parsers, what is accepted).
fn report_clap_error(error: &clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let rendered = error.render().to_string();
    let mut lines = rendered
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty());
    let first = lines.next().unwrap_or("invalid command line");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "the following required arguments were not provided:" lists them on the next line.
    let detail = if first.ends_with(':') {
        lines
            .next()
            .map(|next| format!(" {next}"))
            .unwrap_or_default()
    } else {
        String::new()
    };
    eprintln!("binance-listen: error: {first}{detail} (see --help)");
    ExitCode::from(USAGE_ERROR_STATUS)
}

/// Replaces Rust's panic message and backtrace hint with one line that names the thread:
/// users see a bug report, not a backtrace. The pipeline's `ExitGuard` reports the rest.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_owned());
        let location = info
            .location()
            .map(|at| format!(" at {}:{}", at.file(), at.line()))
            .unwrap_or_default();
        eprintln!(
            "binance-listen: internal error in thread '{name}': {message}{location} (please report this)"
        );
    }));
}
