//! [`Symbol`]: a market symbol as users type it and as Binance names its streams.

use std::fmt;
use std::str::FromStr;

/// Binance symbols are short; anything longer is a typo or a pasted URL.
const MAX_SYMBOL_CHARS: usize = 32;

/// A market symbol such as `ETHUSDT`, kept in both cases: uppercase is how it is shown and
/// written in output lines, lowercase is how Binance names its streams (`ethusdt@trade`).
///
/// Letters (any script: Binance lists symbols with non-ASCII letters), digits and `_`
/// (COIN-M `BTCUSD_PERP`) are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol {
    upper: String,
    lower: String,
}

impl Symbol {
    /// The symbol as shown and written: `ETHUSDT`.
    pub fn as_str(&self) -> &str {
        &self.upper
    }

    /// The symbol as Binance's stream names spell it: `ethusdt`.
    pub fn lowercase(&self) -> &str {
        &self.lower
    }

    /// A thread name `<prefix><SYMBOL>` cut to the 15 bytes Linux keeps, on a char boundary,
    /// so `top -H` and `ps -L` still show which symbol a thread serves.
    pub fn thread_name(&self, prefix: &str) -> String {
        const LINUX_THREAD_NAME_BYTES: usize = 15;
        // Plain pushes, not `format!`: no formatting machinery for a fixed concatenation.
        let mut name = String::with_capacity(prefix.len() + self.upper.len());
        name.push_str(prefix);
        name.push_str(&self.upper);
        let mut cut = name.len().min(LINUX_THREAD_NAME_BYTES);
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
        name
    }
}

impl FromStr for Symbol {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(
                "invalid symbol '': a symbol cannot be empty; expected letters and digits, like ETHUSDT"
                    .to_owned(),
            );
        }
        let valid = |c: char| c.is_alphanumeric() || c == '_';
        if !text.chars().all(valid) {
            let joined: String = text.chars().filter(|&c| valid(c)).collect();
            let hint = if joined.is_empty() || joined.chars().count() > MAX_SYMBOL_CHARS {
                String::new()
            } else {
                format!(" (did you mean {}?)", joined.to_uppercase())
            };
            return Err(format!(
                "invalid symbol '{text}': expected letters and digits only, like ETHUSDT{hint}"
            ));
        }
        if text.chars().count() > MAX_SYMBOL_CHARS {
            return Err(format!(
                "invalid symbol '{text}': longer than {MAX_SYMBOL_CHARS} characters; expected a symbol like ETHUSDT"
            ));
        }
        Ok(Self {
            upper: map_case(text, char::to_uppercase),
            lower: map_case(text, char::to_lowercase),
        })
    }
}

/// Maps each character of `text` to its other case only where that is one character:
/// `ß` stays `ß` rather than becoming `SS`, so `straße` and `STRASSE` stay two symbols (and
/// two output files) and every symbol's two cases map back onto each other.
fn map_case<I: Iterator<Item = char>>(text: &str, case: impl Fn(char) -> I) -> String {
    text.chars()
        .map(|c| {
            let mut mapped = case(c);
            match (mapped.next(), mapped.next()) {
                (Some(single), None) => single,
                _ => c,
            }
        })
        .collect()
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.upper)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn symbol(text: &str) -> Symbol {
        text.parse().unwrap()
    }

    #[test]
    fn symbols_are_case_insensitive_and_shown_uppercase() {
        let eth = symbol("ethUSDT");
        assert_eq!(eth.as_str(), "ETHUSDT");
        assert_eq!(eth.lowercase(), "ethusdt");
        assert_eq!(eth, symbol("ETHUSDT"));
        assert_eq!(symbol("btcusd_perp").as_str(), "BTCUSD_PERP");
        // A case mapping that is not one character to one character is left alone: two
        // different symbols never share a name (or an output file).
        assert_eq!(symbol("straße").as_str(), "STRAßE");
        assert_eq!(symbol("STRAßE"), symbol("straße"));
        assert_ne!(symbol("straße"), symbol("STRASSE"));
        assert_eq!(symbol("STRAßE").lowercase(), "straße");
    }

    #[test]
    fn malformed_symbols_name_the_value_and_hint() {
        assert_eq!(
            "ETH-USDT".parse::<Symbol>().unwrap_err(),
            "invalid symbol 'ETH-USDT': expected letters and digits only, like ETHUSDT (did you mean ETHUSDT?)"
        );
        assert_eq!(
            "eth/usdt".parse::<Symbol>().unwrap_err(),
            "invalid symbol 'eth/usdt': expected letters and digits only, like ETHUSDT (did you mean ETHUSDT?)"
        );
        assert!(
            "".parse::<Symbol>()
                .unwrap_err()
                .starts_with("invalid symbol '': ")
        );
        assert!("ethusdt@trade".parse::<Symbol>().is_err());
        assert!("A".repeat(33).parse::<Symbol>().is_err());
    }

    #[test]
    fn thread_names_fit_linux_and_keep_char_boundaries() {
        assert_eq!(symbol("ETHUSDT").thread_name("ws-"), "ws-ETHUSDT");
        assert_eq!(
            symbol("VERYLONGSYMBOLUSDT").thread_name("proc-"),
            "proc-VERYLONGSY"
        );
        let name = symbol("币安币安币安").thread_name("ws-");
        assert!(name.len() <= 15 && name.starts_with("ws-币"));
    }
}
