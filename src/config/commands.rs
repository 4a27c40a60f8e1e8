//! Subcommands beside the default action. `binance-listen ETHUSDT` listens: symbols are the
//! default positional arguments. A few lower-case words are reserved as subcommands when
//! they come first ([`RESERVED_WORDS`]): `completions`, `man`, `tail`, `replay` and clap's
//! `help`. Anywhere else among the symbols such a word is a
//! usage error rather than a symbol, so a typo never quietly listens to `MAN`; a symbol so
//! named is still reachable in upper case (`MAN`) or after `--` (`binance-listen -- man`).

use std::ffi::OsString;

use clap::Subcommand;
use clap_complete::Shell;

use std::time::Duration;

use binance_streams::{Market, StreamKinds, Symbol};

use super::values::parse_run_duration;
use crate::bus::subject::SubjectTemplate;
use crate::bus::{ServerList, parse_servers, parse_stream_name};

/// The words that are subcommands when they come first, in lower case (clap matches
/// subcommand names case-sensitively, so `MAN` is a symbol).
pub(crate) const RESERVED_WORDS: [&str; 5] = ["completions", "man", "tail", "replay", "help"];

/// What to do instead of listening.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub(crate) enum Command {
    /// Print a completion script for SHELL on stdout, e.g.
    /// `source <(binance-listen completions bash)`
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell
        #[arg(value_name = "SHELL")]
        shell: Option<Shell>,
    },
    /// Print the manual page (roff) on stdout, e.g. `binance-listen man | man -l -`
    Man,
    /// Print the lines listeners stored in NATS JetStream (--nats), in order per symbol and
    /// stream, one JSON line each, e.g.
    /// `binance-listen tail --nats nats://127.0.0.1:4222 ETHUSDT --since 5m | jq .`
    Tail(TailArgs),
    /// Replay recorded frames through the pipeline: replay PATH... [SYMBOL...] [--speed
    /// 1|10|max] [--from TIME] [--to TIME] [--stream KIND] [--keep-recv-time] [--check],
    /// with any output flag (replay --help says more)
    Replay {
        /// Recordings (files or directories), symbols, replay's own flags and output flags
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            hide = true,
            value_name = "ARGS"
        )]
        args: Vec<OsString>,
    },
}

/// `tail`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub(crate) struct TailArgs {
    /// The NATS servers the listeners published to (nats://host:port, several separated by
    /// commas)
    #[arg(long, value_name = "URL[,URL...]", value_parser = parse_servers)]
    pub(crate) nats: ServerList,

    /// Only these symbols (case-insensitive) [default: every symbol stored]
    #[arg(value_name = "SYMBOL")]
    pub(crate) symbols: Vec<Symbol>,

    /// Only these stream kinds, repeatable or comma-separated (trade, depth@100ms, ...)
    /// [default: every stream stored]
    #[arg(long = "stream", value_name = "KIND[,KIND...]")]
    pub(crate) streams: Vec<StreamKinds>,

    /// Only this market's lines: spot, futures, coin-futures, testnet, us [default: all]
    #[arg(long, value_name = "MARKET")]
    pub(crate) market: Option<Market>,

    /// Only lines stored this recently (e.g. 30s, 5m, 2h) [default: everything stored]
    #[arg(long, value_name = "DURATION", value_parser = parse_run_duration)]
    pub(crate) since: Option<Duration>,

    /// After printing what is stored, keep printing new lines as they are stored
    #[arg(long, short)]
    pub(crate) follow: bool,

    /// The subject template the listeners used [default: binance.{market}.{stream}.{symbol}]
    #[arg(long, value_name = "TEMPLATE")]
    pub(crate) nats_subject: Option<SubjectTemplate>,

    /// The stream the listeners stored into [default: BINANCE]
    #[arg(long, value_name = "NAME", value_parser = parse_stream_name)]
    pub(crate) nats_stream: Option<String>,
}

/// Parses a symbol given on the command line. A reserved word in lower case is refused:
/// it was meant as a subcommand (but not written first) or as a symbol; the message shows
/// both ways.
///
/// # Errors
/// The symbol's own message, or one naming the reserved word and the two ways out.
pub(crate) fn parse_symbol_arg(text: &str) -> Result<Symbol, String> {
    if RESERVED_WORDS.contains(&text) {
        return Err(format!(
            "'{text}' is a subcommand: run it first and alone (binance-listen {text} ...); to listen to a symbol named {upper}, write {upper} or put it after -- (binance-listen -- {text})",
            upper = text.to_ascii_uppercase()
        ));
    }
    text.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_words_are_refused_as_symbols_only_in_lower_case() {
        let error = parse_symbol_arg("man").unwrap_err();
        assert!(error.starts_with("'man' is a subcommand"), "{error}");
        assert!(error.contains("write MAN or put it after --"), "{error}");
        assert_eq!(parse_symbol_arg("MAN").unwrap().as_str(), "MAN");
        assert_eq!(parse_symbol_arg("Tail").unwrap().as_str(), "TAIL");
        assert!(parse_symbol_arg("ETH-USDT").is_err());
    }
}
