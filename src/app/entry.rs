//! The way in: command line → [`Config`](crate::config::Config) → the run → an exit status.
//! Usage errors print one line and exit 2; runtime failures one line and exit 1; a panic
//! anywhere prints one line naming the thread, never a backtrace.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use super::{lifecycle, limits, log, log_json, replay, shell};
use crate::config::commands::Command;
use crate::config::terminal::LogFormat;
use crate::config::{self, argv, cli::Cli};
use crate::control::events::Failure;
use crate::util::stderr;

/// Status for a usage error (bad flag, value or config file).
pub(crate) const USAGE_ERROR_STATUS: u8 = 2;

/// Parses `args` (program name first), runs the listener and returns the exit status:
/// 0 for a normal stop, 1 for a runtime failure, 2 for a usage error.
pub(crate) fn main<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(argv::prepare(args)) {
        Ok(cli) => cli,
        Err(error) => return report_clap_error(&error),
    };
    if let Some(Command::Replay { args }) = &cli.command {
        return replay::main(args);
    }
    if let Some(command) = &cli.command {
        return shell::run(command);
    }
    let (verbose, quiet) = (cli.verbose, cli.quiet);
    install_panic_hook(LogFormat::Text);
    // Logging starts once the configuration is known: its format and colour are settings.
    // Nothing before it logs; usage errors are plain lines.
    let config = match config::build(cli) {
        Ok(config) => config,
        Err(error) => return usage_error(&error.to_string()),
    };
    run_config(&config, verbose, quiet)
}

/// One usage error line; status 2.
pub(super) fn usage_error(message: &str) -> ExitCode {
    stderr::line(&format!("binance-listen: error: {message}"));
    ExitCode::from(USAGE_ERROR_STATUS)
}

/// Starts logging and runs `config` to its end; returns the exit status.
pub(super) fn run_config(config: &config::Config, verbose: u8, quiet: u8) -> ExitCode {
    log::init(verbose, quiet, config.log);
    install_panic_hook(config.log.format);
    if let Err(error) =
        limits::ensure_descriptors(limits::descriptors_needed(config), config.symbols.len())
    {
        log::error_line(config.log.format, &error);
        return ExitCode::from(USAGE_ERROR_STATUS);
    }
    match lifecycle::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            log::error_line(config.log.format, &failure.to_string());
            match failure {
                Failure::Refused(_) => ExitCode::from(USAGE_ERROR_STATUS),
                Failure::Fatal(_) => ExitCode::FAILURE,
            }
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
    stderr::line(&format!(
        "binance-listen: error: {} (see --help)",
        one_line_usage(&rendered)
    ));
    ExitCode::from(USAGE_ERROR_STATUS)
}

/// Clap's rendered error as one line: its message (a list it announces with a colon joined
/// on, a newline inside a quoted value escaped), then its tip if it has one ("a similar
/// argument exists"); the usage block and "For more information" are dropped (`--help` is
/// named instead).
fn one_line_usage(rendered: &str) -> String {
    let mut paragraphs = rendered.split("\n\n");
    let message = paragraphs.next().unwrap_or_default();
    let mut lines = message.lines();
    let first = lines.next().unwrap_or("invalid command line").trim();
    let mut line = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    for next in lines {
        if next.starts_with("  ") {
            line.push(' ');
            line.push_str(next.trim());
        } else {
            // A value that itself holds a newline: keep it visible, on this line.
            line.push_str("\\n");
            line.push_str(next);
        }
    }
    if let Some(tip) = paragraphs
        .map(str::trim)
        .find_map(|paragraph| paragraph.strip_prefix("tip: "))
    {
        line.push_str(&format!(" (tip: {})", tip.replace('\n', " ")));
    }
    stderr::one_line(&line).into_owned()
}

/// Replaces Rust's panic message and backtrace hint with one line that names the thread:
/// users see a bug report, not a backtrace. The pipeline's `ExitGuard` reports the rest.
/// With JSON logs the line is a JSON log line too.
pub(super) fn install_panic_hook(format: LogFormat) {
    std::panic::set_hook(Box::new(move |info| {
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
        let report =
            format!("internal error in thread '{name}': {message}{location} (please report this)");
        match format {
            LogFormat::Text => stderr::line(&format!("binance-listen: {report}")),
            LogFormat::Json => log_json::plain_line("ERROR", &report),
        }
    }));
}
