//! The value types and parsers a setting shares between the command line and the config
//! file, so both reject a bad value with the same one-line message naming it and what is
//! accepted.

use std::str::FromStr;
use std::time::Duration;

use binance_streams::Symbol;

use crate::util::duration::parse_duration;

/// The largest queue accepted: 1M frames is already ~40 MB of bookkeeping plus payloads.
pub(crate) const MAX_QUEUE_CAPACITY: usize = 1_000_000;

/// Parses a queue capacity: a whole number from 1 to [`MAX_QUEUE_CAPACITY`].
///
/// # Errors
/// A one-line message naming the value and the accepted range.
pub(crate) fn parse_queue_capacity(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(capacity) if (1..=MAX_QUEUE_CAPACITY).contains(&capacity) => Ok(capacity),
        _ => Err(format!(
            "invalid queue capacity '{text}': expected a whole number from 1 to {MAX_QUEUE_CAPACITY}"
        )),
    }
}

/// Parses `--gap-markers` and `gap_markers`: `on` or `off` (a TOML `true` or `false` too).
///
/// # Errors
/// A one-line message naming the value and the accepted ones.
pub(crate) fn parse_gap_markers(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(format!(
            "invalid gap markers setting '{text}': expected on or off"
        )),
    }
}

/// The smallest `--queue-bytes`: room for a few ordinary frames.
pub(crate) const MIN_QUEUE_BYTES: u64 = 64 * 1024;

/// Parses a size in bytes: a whole number with an optional unit (`B`, `KiB`, `MiB`, `GiB`,
/// or `KB`, `MB`, `GB` meaning the same powers of 1024), e.g. `8MiB`, `512KiB`, `65536`.
///
/// # Errors
/// A one-line message naming the value and the accepted form.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid size '{text}': expected a whole number of bytes with an optional unit (KiB, MiB, GiB), like 8MiB"
        )
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    number.checked_mul(scale).ok_or_else(bad)
}

/// Parses `--queue-bytes`: a size of at least [`MIN_QUEUE_BYTES`].
///
/// # Errors
/// A one-line message naming the value and what is accepted.
pub(crate) fn parse_queue_bytes(text: &str) -> Result<u64, String> {
    match parse_size(text)? {
        bytes if bytes >= MIN_QUEUE_BYTES => Ok(bytes),
        _ => Err(format!(
            "invalid queue size '{text}': expected at least 64KiB, like 8MiB"
        )),
    }
}

/// The fastest `--simulate-rate`: beyond this the simulation measures the machine, not the
/// listener (use the benchmark for that).
pub(crate) const MAX_SIMULATE_RATE: f64 = 100_000.0;

/// Parses `--simulate-rate`: events per second per stream, above 0 and at most
/// [`MAX_SIMULATE_RATE`].
///
/// # Errors
/// A one-line message naming the value and what is accepted.
pub(crate) fn parse_simulate_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate <= MAX_SIMULATE_RATE => Ok(rate),
        _ => Err(format!(
            "invalid simulated rate '{text}': expected events per second per stream, above 0 and at most 100000, like 8 or 0.5"
        )),
    }
}

/// Parses `--max-messages`: a whole number, at least 1.
///
/// # Errors
/// A one-line message naming the value and what is accepted.
pub(crate) fn parse_max_messages(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(count) if count >= 1 => Ok(count),
        _ => Err(format!(
            "invalid message count '{text}': expected a whole number, at least 1"
        )),
    }
}

/// Parses `--duration`: a duration longer than zero.
///
/// # Errors
/// A one-line message naming the value and what is accepted.
pub(crate) fn parse_run_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!(
            "invalid run duration '{text}': expected a duration longer than zero, like 30s"
        )),
        duration => Ok(duration),
    }
}

/// The shortest `--stats` interval.
pub(crate) const MIN_STATS_INTERVAL: Duration = Duration::from_millis(100);

/// Parses `--stats INTERVAL`. (A symbol after `--stats` never reaches it: `argv` hands
/// `--stats` only words that look like intervals.)
///
/// # Errors
/// A one-line message naming the value and what is accepted.
pub(crate) fn parse_stats_interval(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        interval if interval >= MIN_STATS_INTERVAL => Ok(interval),
        _ => Err(format!(
            "invalid stats interval '{text}': expected at least 100ms, like 5s"
        )),
    }
}

/// The shortest `--max-connection-age`: a replacement needs time to open and overlap.
pub(crate) const MIN_CONNECTION_AGE: Duration = Duration::from_secs(1);

/// Parses `--max-connection-age`: at least [`MIN_CONNECTION_AGE`].
///
/// # Errors
/// A one-line message naming the value and what is accepted.
pub(crate) fn parse_connection_age(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        age if age >= MIN_CONNECTION_AGE => Ok(age),
        _ => Err(format!(
            "invalid connection age '{text}': expected at least 1s, like 23h50m"
        )),
    }
}

/// The shortest `--max-silence`: below a second it would only measure the read timeout.
pub(crate) const MIN_MAX_SILENCE: Duration = Duration::from_secs(1);

/// Parses `--max-silence` (and `connection.max_silence`): at least [`MIN_MAX_SILENCE`].
///
/// # Errors
/// A one-line message naming the text and the accepted form.
pub(crate) fn parse_max_silence(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        limit if limit >= MIN_MAX_SILENCE => Ok(limit),
        _ => Err(format!(
            "invalid silence limit '{text}': expected at least 1s, like 30s or 5m"
        )),
    }
}

/// Parses `connection.silence_multiple`: update periods without data before a stream
/// pushed on a schedule is taken for dead; 0 turns that off.
///
/// # Errors
/// A one-line message naming the text and the accepted form.
pub(crate) fn parse_silence_multiple(text: &str) -> Result<u32, String> {
    text.parse().map_err(|_| {
        format!(
            "invalid silence multiple '{text}': expected a whole number of update periods, like 20 (0 turns the limit off)"
        )
    })
}

/// `--delay [SYMBOL=]DURATION`: how long a symbol's processor sleeps per message, to
/// simulate a slow handler. Without a symbol it applies to every symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DelaySpec {
    /// The symbol it applies to; `None` = every symbol without a delay of its own.
    pub(crate) symbol: Option<Symbol>,
    /// The sleep per message.
    pub(crate) delay: Duration,
}

impl FromStr for DelaySpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once('=') {
            Some((symbol, duration)) => {
                let symbol = symbol.parse::<Symbol>().map_err(|error| {
                    format!("invalid delay '{text}': {error}; expected [SYMBOL=]DURATION, like ETHUSDT=200ms")
                })?;
                let delay = parse_duration(duration)
                    .map_err(|error| format!("invalid delay '{text}': {error}"))?;
                Ok(Self {
                    symbol: Some(symbol),
                    delay,
                })
            }
            None => {
                let delay = parse_duration(text).map_err(|error| {
                    format!("invalid delay '{text}': {error}; expected [SYMBOL=]DURATION, like ETHUSDT=200ms")
                })?;
                Ok(Self {
                    symbol: None,
                    delay,
                })
            }
        }
    }
}

/// A clap value parser for a setting with a fixed set of words: it parses through the
/// type's own `FromStr` (so flag and config file reject a bad word with the same message)
/// and tells clap the words, so shell completions offer them.
#[derive(Debug)]
pub(crate) struct Words<T> {
    words: &'static [&'static str],
    parsed: std::marker::PhantomData<fn() -> T>,
}

impl<T> Words<T> {
    /// A parser accepting what `T::from_str` accepts, offering `words` for completion.
    pub(crate) const fn new(words: &'static [&'static str]) -> Self {
        Self {
            words,
            parsed: std::marker::PhantomData,
        }
    }
}

impl<T> Clone for Words<T> {
    fn clone(&self) -> Self {
        Self::new(self.words)
    }
}

impl<T> clap::builder::TypedValueParser for Words<T>
where
    T: FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let parse: fn(&str) -> Result<T, String> = |text| text.parse();
        parse.parse_ref(command, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            self.words.iter().map(clap::builder::PossibleValue::new),
        ))
    }
}

/// The deepest `--book-depth`: Binance's deepest snapshot.
pub(crate) const MAX_BOOK_DEPTH: usize = 5_000;

/// Parses `--book-depth N`: levels a side per book line.
///
/// # Errors
/// A one-line message naming the value and the accepted range.
pub(crate) fn parse_book_depth(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(depth) if (1..=MAX_BOOK_DEPTH).contains(&depth) => Ok(depth),
        _ => Err(format!(
            "invalid book depth '{text}': expected a whole number from 1 to {MAX_BOOK_DEPTH}"
        )),
    }
}

/// Parses `--book-interval DURATION`: at most one book line per this long.
///
/// # Errors
/// A one-line message naming the value and the accepted form.
pub(crate) fn parse_book_interval(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!(
            "invalid book interval '{text}': expected a duration longer than zero, like 1s or 250ms"
        )),
        duration => Ok(duration),
    }
}

/// Parses `--rest-endpoint URL`: `http://host[:port]` or `https://host[:port]`, with an
/// optional path prefix; returned without a trailing `/`.
///
/// # Errors
/// A one-line message naming the value and the accepted form.
pub(crate) fn parse_rest_endpoint(text: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!(
            "invalid REST endpoint '{text}': {why}; expected http://host[:port] or https://host[:port]"
        )
    };
    let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("no scheme"))?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return Err(bad(&format!("scheme '{scheme}' is not supported")));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || rest.contains(['?', '#']) {
        return Err(bad("bad host"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_range_checked() {
        assert_eq!(parse_queue_capacity("4096"), Ok(4096));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("512kb"), Ok(512 << 10));
        assert_eq!(parse_size("65536"), Ok(65536));
        assert!(parse_size("8 parsecs").is_err());
        assert!(parse_size("-1MiB").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
        assert_eq!(
            parse_queue_bytes("1KiB"),
            Err("invalid queue size '1KiB': expected at least 64KiB, like 8MiB".to_owned())
        );
        assert_eq!(
            parse_queue_capacity("0"),
            Err("invalid queue capacity '0': expected a whole number from 1 to 1000000".to_owned())
        );
        assert!(parse_queue_capacity("-1").is_err());
        assert!(parse_queue_capacity("lots").is_err());
        assert_eq!(parse_max_messages("1"), Ok(1));
        assert!(parse_max_messages("0").is_err());
        assert_eq!(parse_run_duration("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_run_duration("0s").is_err());
    }

    fn symbol(text: &str) -> Symbol {
        text.parse().unwrap()
    }

    #[test]
    fn delays_take_an_optional_symbol() {
        assert_eq!(
            "ethusdt=200ms".parse(),
            Ok(DelaySpec {
                symbol: Some(symbol("ETHUSDT")),
                delay: Duration::from_millis(200)
            })
        );
        assert_eq!(
            "5ms".parse(),
            Ok(DelaySpec {
                symbol: None,
                delay: Duration::from_millis(5)
            })
        );
        assert!(
            "ETH-USDT=1s"
                .parse::<DelaySpec>()
                .unwrap_err()
                .starts_with("invalid delay 'ETH-USDT=1s': invalid symbol")
        );
        assert!(
            "ETHUSDT=fast"
                .parse::<DelaySpec>()
                .unwrap_err()
                .starts_with("invalid delay 'ETHUSDT=fast': invalid duration 'fast'")
        );
    }
}
