//! `binance-listen replay`: the words after it split into recordings (paths that exist),
//! replay's own flags, and everything else — symbols and the listener's output flags
//! (`--format`, `--output-dir`, `--exec`, `--delay`, `--stats`, ...) — which go through the
//! listener's own parser and configuration, so they mean exactly what they mean live. The
//! recordings' stream kinds and market are passed along, the queue blocks instead of
//! dropping (a replay can wait; nothing is lost), and the run is the listener's lifecycle
//! with a replay source in each reader's place.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, Parser};

use super::entry::{install_panic_hook, run_config, usage_error};
use crate::config::cli::Cli;
use crate::config::terminal::LogFormat;
use crate::config::{self, Source, argv};
use crate::pipeline::queue::OverflowPolicy;
use crate::replay::check::{check, render};
use crate::replay::files::{Records, discover};
use crate::replay::time::parse_time_us;
use crate::replay::{ReplayPlan, Speed, SymbolFiles, group};
use binance_streams::{StreamKind, StreamKinds};

const USAGE: &str = "\
Replay recorded frames through the same pipeline as live ones.

Usage: binance-listen replay PATH... [SYMBOL...] [OPTIONS] [OUTPUT OPTIONS]

PATH is a recording directory (binance-listen --record DIR), a recording file, or a plain
or .zst file of raw frames (one per line, as --format raw writes them). Without SYMBOL,
every symbol found is replayed.

Options:
  --speed 1|10|max     pace frames by their receive times, this many times as fast, or as
                       fast as the pipeline goes (max) [default: 1]
  --from TIME          skip frames received before TIME (2026-11-28T14:05:00Z, 2026-11-28,
                       or Unix seconds, milliseconds or microseconds)
  --to TIME            skip frames received after TIME
  --stream KIND        replay only these streams of the recording (repeatable, or comma-
                       separated)
  --keep-recv-time     write the recorded receive times (recv_time_us) instead of the
                       replay's: the output then equals the recording run's exactly
  --check              replay nothing: read every file and print a table per symbol and
                       stream (frames, time covered, id gaps, truncated files); exit status
                       1 when a file is damaged

Output options are the listener's: --format, --output-dir, --exec, --delay, --gap-markers,
--max-messages, --duration, --queue, --stats, --stats-format, --config, --log-format,
--color, -v, -q.";

/// Replay's own settings, out of its words.
#[derive(Debug, Default)]
struct ReplayArgs {
    paths: Vec<PathBuf>,
    speed: Option<Speed>,
    from_us: Option<u64>,
    to_us: Option<u64>,
    streams: Vec<StreamKind>,
    keep_recv_time: bool,
    check: bool,
    help: bool,
    /// Everything else, for the listener's parser.
    rest: Vec<OsString>,
}

/// Runs `binance-listen replay ARGS`; returns the exit status.
pub(super) fn main(args: &[OsString]) -> ExitCode {
    install_panic_hook(LogFormat::Text);
    let replay = match split(args) {
        Ok(replay) => replay,
        Err(error) => return usage_error(&error),
    };
    if replay.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if replay.paths.is_empty() {
        return usage_error(
            "no recording given: name a directory or file, like 'binance-listen replay rec/' (see replay --help)",
        );
    }
    let files = match discover(&replay.paths) {
        Ok(files) if files.is_empty() => {
            return usage_error(&format!(
                "no recording found in {}: expected files written by --record (*.jsonl.zst) or files of raw frames",
                describe_paths(&replay.paths)
            ));
        }
        Ok(files) => files,
        Err(error) => return usage_error(&error),
    };
    let symbols = group(files);
    if replay.check {
        let raw_kinds = if replay.streams.is_empty() {
            vec![StreamKind::Trade]
        } else {
            replay.streams.clone()
        };
        let report = check(&symbols, &raw_kinds);
        print!("{}", render(&report));
        return if report.damaged() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    let cli = match listener_cli(&replay, &symbols) {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let (verbose, quiet) = (cli.verbose, cli.quiet);
    let chosen: Vec<String> = cli.symbols.iter().map(|s| s.as_str().to_owned()).collect();
    let mut config = match config::build(cli) {
        Ok(config) => config,
        Err(error) => return usage_error(&error.to_string()),
    };
    let symbols: Vec<SymbolFiles> = config
        .symbols
        .iter()
        .filter_map(|symbol| symbols.iter().find(|files| files.symbol == symbol.as_str()))
        .cloned()
        .collect();
    if symbols.len() != config.symbols.len() {
        let missing: Vec<&String> = chosen
            .iter()
            .filter(|symbol| !symbols.iter().any(|files| &files.symbol == *symbol))
            .collect();
        return usage_error(&format!(
            "no recording of {} in {}",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            describe_paths(&replay.paths)
        ));
    }
    let streams: Vec<String> = replay.streams.iter().map(|kind| kind.name()).collect();
    let start_us = first_time(&symbols, &streams).max(replay.from_us.unwrap_or(0));
    config.source = Source::Replay(Arc::new(ReplayPlan {
        symbols,
        from_us: replay.from_us,
        to_us: replay.to_us,
        streams,
        speed: replay.speed.unwrap_or(Speed::Times(1.0)),
        keep_recv_time: replay.keep_recv_time,
        start_us,
    }));
    config.overflow = OverflowPolicy::Block;
    run_config(&config, verbose, quiet)
}

/// The listener's command line for the replay: the words replay did not take, the
/// recordings' kinds and market, and the symbols (all recorded ones if none was named).
fn listener_cli(replay: &ReplayArgs, symbols: &[SymbolFiles]) -> Result<Cli, String> {
    let mut words: Vec<OsString> = vec!["binance-listen".into()];
    words.extend(replay.rest.iter().cloned());
    let probe = Cli::try_parse_from(argv::prepare(words.clone())).map_err(|error| {
        error
            .render()
            .to_string()
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("error: ")
            .to_owned()
    })?;
    if probe.record.is_some() || probe.simulate || probe.endpoint.is_some() {
        return Err(
            "replay reads recordings: --record, --simulate and --endpoint do not apply to it"
                .to_owned(),
        );
    }
    let named: Vec<&str> = probe.symbols.iter().map(|s| s.as_str()).collect();
    let replayed: Vec<&SymbolFiles> = symbols
        .iter()
        .filter(|files| named.is_empty() || named.contains(&files.symbol.as_str()))
        .collect();
    let mut kinds: Option<&[String]> = None;
    for files in &replayed {
        if let Some(own) = files.kinds() {
            match kinds {
                Some(known) if known != own => {
                    return Err(format!(
                        "the recordings were made with different streams ({} and {}): replay them separately",
                        known.join(","),
                        own.join(",")
                    ));
                }
                _ => kinds = Some(own),
            }
        }
    }
    let kinds: Vec<String> = match kinds {
        Some(kinds) => {
            if let Some(extra) = replay
                .streams
                .iter()
                .find(|kind| !kinds.contains(&kind.name()))
            {
                return Err(format!(
                    "stream '{}' is not in the recording: it has {}",
                    extra.name(),
                    kinds.join(", ")
                ));
            }
            kinds.to_vec()
        }
        // Raw frames only: their kinds are what --stream says.
        None if replay.streams.is_empty() => vec!["trade".to_owned()],
        None => replay.streams.iter().map(|kind| kind.name()).collect(),
    };
    words.push("--stream".into());
    words.push(kinds.join(",").into());
    let market = replayed
        .iter()
        .flat_map(|files| files.streams.values().flatten())
        .map(|file| file.header.market.clone())
        .find(|market| !market.is_empty());
    if let (Some(market), None) = (market, probe.market) {
        words.push("--market".into());
        words.push(market.into());
    }
    if named.is_empty() {
        words.push("--".into());
        words.extend(replayed.iter().map(|files| OsString::from(&files.symbol)));
    }
    Cli::try_parse_from(argv::prepare(words)).map_err(|error| error.to_string())
}

/// Splits replay's words: its own flags, existing paths, and the rest.
fn split(args: &[OsString]) -> Result<ReplayArgs, String> {
    let command = Cli::command();
    let mut replay = ReplayArgs::default();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let text = word.to_string_lossy();
        let (flag, attached) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (text.to_string(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match &attached {
                Some(value) => Ok(value.clone()),
                None => words
                    .next()
                    .map(|word| word.to_string_lossy().into_owned())
                    .ok_or_else(|| format!("{name} needs a value (see replay --help)")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => replay.help = true,
            "--check" => replay.check = true,
            "--keep-recv-time" => replay.keep_recv_time = true,
            "--speed" => replay.speed = Some(parse_speed(&value("--speed")?)?),
            "--from" => replay.from_us = Some(parse_time_us(&value("--from")?)?),
            "--to" => replay.to_us = Some(parse_time_us(&value("--to")?)?),
            "--stream" => {
                let kinds: StreamKinds = value("--stream")?.parse()?;
                replay.streams.extend(kinds.0);
            }
            flag if flag.starts_with('-') => {
                replay.rest.push(word.clone());
                if attached.is_none() && takes_value(&command, flag) {
                    replay.rest.extend(words.next().cloned());
                }
            }
            // A path that exists, or a word no symbol could be (`rec/`, `old.jsonl`): a
            // recording, so a missing one is reported as such, not as a bad symbol.
            _ if std::path::Path::new(word).exists() || text.contains(['/', '.']) => {
                replay.paths.push(PathBuf::from(word));
            }
            _ => replay.rest.push(word.clone()),
        }
    }
    if let (Some(from), Some(to)) = (replay.from_us, replay.to_us)
        && from > to
    {
        return Err("--from is after --to: nothing would be replayed".to_owned());
    }
    Ok(replay)
}

/// Whether the listener's flag takes a value in the next word.
fn takes_value(command: &clap::Command, flag: &str) -> bool {
    let found = if let Some(long) = flag.strip_prefix("--") {
        command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(long))
    } else {
        let short = flag.chars().nth(1);
        command.get_arguments().find(|arg| arg.get_short() == short)
    };
    // `--stats` takes its interval only attached (argv::prepare attaches it).
    found.is_some_and(|arg| {
        arg.get_action().takes_values() && arg.get_num_args().is_none_or(|n| n.min_values() > 0)
    }) && flag != "--stats"
}

/// `--speed`: a positive number of times real time, or `max`.
fn parse_speed(text: &str) -> Result<Speed, String> {
    if text == "max" {
        return Ok(Speed::Max);
    }
    match text.parse::<f64>() {
        Ok(speed) if speed.is_finite() && speed > 0.0 => Ok(Speed::Times(speed)),
        _ => Err(format!(
            "invalid speed '{text}': expected a positive number of times real time (1, 10) or max"
        )),
    }
}

/// The earliest receive time among the streams replayed: pacing starts there.
fn first_time(symbols: &[SymbolFiles], streams: &[String]) -> u64 {
    symbols
        .iter()
        .flat_map(|files| files.streams.iter())
        .filter(|(stream, _)| streams.is_empty() || streams.contains(stream))
        .filter_map(|(_, chain)| {
            let first = chain.first()?;
            Records::open(first)
                .ok()?
                .next_record()
                .map(|record| record.recv_time_us)
        })
        .min()
        .unwrap_or(0)
}

fn describe_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| format!("'{}'", path.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn replay_words_split_into_paths_flags_and_the_rest() {
        let dir = std::env::temp_dir();
        let path = dir.to_string_lossy().into_owned();
        let replay = split(&words(&[
            &path,
            "ETHUSDT",
            "--speed",
            "max",
            "--format",
            "raw",
            "--from=2026-11-28",
            "--output-dir",
            &path,
            "--stream",
            "trade",
            "--keep-recv-time",
        ]))
        .unwrap();
        assert_eq!(replay.paths, [dir]);
        assert_eq!(replay.speed, Some(Speed::Max));
        assert_eq!(replay.streams, [StreamKind::Trade]);
        assert!(replay.keep_recv_time && !replay.check);
        assert_eq!(
            replay.rest,
            words(&["ETHUSDT", "--format", "raw", "--output-dir", &path])
        );
    }

    #[test]
    fn bad_replay_values_are_one_line_naming_them() {
        let error = split(&words(&["--speed", "fast"])).unwrap_err();
        assert_eq!(
            error,
            "invalid speed 'fast': expected a positive number of times real time (1, 10) or max"
        );
        assert!(
            split(&words(&["--from"]))
                .unwrap_err()
                .contains("--from needs a value")
        );
        assert!(
            split(&words(&["--to", "soon"]))
                .unwrap_err()
                .starts_with("invalid time 'soon'")
        );
    }
}
