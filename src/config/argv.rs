//! The command line as clap is given it. Two things clap cannot decide by itself are settled
//! first, by looking at the words:
//!
//! - `--stats` takes a value only when attached (`--stats=10s`) or when the next word is
//!   recognisably an interval (`--stats 10s`, or a bare number, which then gets the
//!   duration error): `--stats ETHUSDT` is the default interval and the symbol ETHUSDT.
//!   clap's optional values are all-or-nothing, so the flag is declared `require_equals`
//!   and an interval after it is attached here.
//! - After `--` every word is a symbol: a reserved subcommand word there is spelt in upper
//!   case, which is how it reaches the symbol list (`binance-listen -- man` is symbol MAN).

use std::ffi::OsString;

use super::commands::RESERVED_WORDS;
use crate::util::duration::parse_duration;

/// `args` (program name first) with an interval after `--stats` attached to it, and
/// reserved words after `--` in upper case.
pub(crate) fn prepare<I, T>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut words = args.into_iter().map(Into::into).peekable();
    let mut prepared = Vec::new();
    let mut only_symbols = false;
    // The program name is never a flag, whatever it is called.
    prepared.extend(words.next());
    while let Some(word) = words.next() {
        if only_symbols {
            prepared.push(match word.to_str() {
                Some(text) if RESERVED_WORDS.contains(&text) => text.to_ascii_uppercase().into(),
                _ => word,
            });
            continue;
        }
        only_symbols = word == "--";
        let interval = if word == "--stats" {
            words.next_if(looks_like_interval)
        } else {
            None
        };
        match interval {
            Some(interval) => {
                let mut attached = OsString::from("--stats=");
                attached.push(interval);
                prepared.push(attached);
            }
            None => prepared.push(word),
        }
    }
    prepared
}

/// Whether `word` after `--stats` is meant as its interval: a duration (in any case: a
/// symbol never reads as one), or a bare number missing its unit.
fn looks_like_interval(word: &OsString) -> bool {
    let Some(text) = word.to_str() else {
        return false;
    };
    let number = text.chars().any(|c| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_digit() || c == '.');
    number || parse_duration(&text.to_ascii_lowercase()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(args: &[&str]) -> Vec<String> {
        prepare(std::iter::once("binance-listen").chain(args.iter().copied()))
            .into_iter()
            .skip(1)
            .map(|word| word.into_string().unwrap())
            .collect()
    }

    #[test]
    fn an_interval_after_stats_is_attached_and_a_symbol_is_not() {
        assert_eq!(
            prepared(&["--stats", "10s", "ETHUSDT"]),
            ["--stats=10s", "ETHUSDT"]
        );
        assert_eq!(prepared(&["--stats", "1m30s"]), ["--stats=1m30s"]);
        assert_eq!(
            prepared(&["--stats", "5"]),
            ["--stats=5"],
            "missing unit: an error"
        );
        assert_eq!(
            prepared(&["--stats", "2S"]),
            ["--stats=2S"],
            "wrong case: an error"
        );
        assert_eq!(prepared(&["--stats", "ETHUSDT"]), ["--stats", "ETHUSDT"]);
        assert_eq!(
            prepared(&["--stats", "1INCHUSDT", "--stats", "--verbose"]),
            ["--stats", "1INCHUSDT", "--stats", "--verbose"]
        );
        assert_eq!(prepared(&["--stats=ETHUSDT"]), ["--stats=ETHUSDT"]);
    }

    #[test]
    fn words_after_double_dash_are_symbols() {
        assert_eq!(
            prepared(&["--simulate", "--", "man", "tail", "--stats", "10s"]),
            ["--simulate", "--", "MAN", "TAIL", "--stats", "10s"]
        );
        assert_eq!(prepared(&["man"]), ["man"], "first: the subcommand");
    }
}
