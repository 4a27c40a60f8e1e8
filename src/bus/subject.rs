//! Where each line goes on the bus: the subject template (`--nats-subject`), rendered once
//! per symbol and stream, and the check that an existing stream's subjects cover it.
//!
//! Placeholders are whole tokens (`md.{market}.{symbol}.{stream}`), so the subjects a
//! template can produce are exactly those matched by the filter with `*` in their place:
//! the stream we create listens on that filter, and an existing stream must cover it.

use std::fmt;
use std::str::FromStr;

/// The subject template when none is given.
pub(crate) const DEFAULT_SUBJECT: &str = "binance.{market}.{stream}.{symbol}";

/// One token of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Market,
    Stream,
    Symbol,
}

/// A checked subject template: tokens separated by dots, each a literal or one of
/// `{market}`, `{stream}`, `{symbol}` (the last two required, so every symbol and stream
/// has subjects of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubjectTemplate {
    text: String,
    tokens: Vec<Token>,
}

impl SubjectTemplate {
    /// The subject of `symbol`'s `stream` on `market`.
    pub(crate) fn render(&self, market: &str, stream: &str, symbol: &str) -> String {
        let parts: Vec<&str> = self
            .tokens
            .iter()
            .map(|token| match token {
                Token::Literal(text) => text.as_str(),
                Token::Market => market,
                Token::Stream => stream,
                Token::Symbol => symbol,
            })
            .collect();
        parts.join(".")
    }

    /// The filter matching every subject the template can produce.
    pub(crate) fn filter(&self) -> String {
        let parts: Vec<&str> = self
            .tokens
            .iter()
            .map(|token| match token {
                Token::Literal(text) => text.as_str(),
                _ => "*",
            })
            .collect();
        parts.join(".")
    }

    /// The market, stream and symbol a subject of this template names, if it is one.
    pub(crate) fn parts<'s>(&self, subject: &'s str) -> Option<(&'s str, &'s str, &'s str)> {
        let tokens: Vec<&str> = subject.split('.').collect();
        if tokens.len() != self.tokens.len() {
            return None;
        }
        let (mut market, mut stream, mut symbol) = ("", "", "");
        for (token, value) in self.tokens.iter().zip(tokens) {
            match token {
                Token::Literal(text) if text != value => return None,
                Token::Literal(_) => {}
                Token::Market => market = value,
                Token::Stream => stream = value,
                Token::Symbol => symbol = value,
            }
        }
        Some((market, stream, symbol))
    }

    /// The filter for the subjects of some symbols and streams (`tail`): `*` where a
    /// value is not given.
    pub(crate) fn filter_for(
        &self,
        market: Option<&str>,
        stream: Option<&str>,
        symbol: Option<&str>,
    ) -> String {
        self.render(
            market.unwrap_or("*"),
            stream.unwrap_or("*"),
            symbol.unwrap_or("*"),
        )
    }
}

impl Default for SubjectTemplate {
    fn default() -> Self {
        DEFAULT_SUBJECT
            .parse()
            .unwrap_or_else(|_| unreachable!("the default template is valid"))
    }
}

impl fmt::Display for SubjectTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for SubjectTemplate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |why: &str| {
            format!(
                "invalid NATS subject template '{text}': {why}; expected dot-separated tokens with {{symbol}} and {{stream}}, like {DEFAULT_SUBJECT}"
            )
        };
        let mut tokens = Vec::new();
        for part in text.split('.') {
            tokens.push(match part {
                "{market}" => Token::Market,
                "{stream}" => Token::Stream,
                "{symbol}" => Token::Symbol,
                "" => return Err(invalid("an empty token")),
                _ if part.contains(['{', '}']) => {
                    return Err(invalid(&format!(
                        "'{part}' is not a placeholder (they are whole tokens: {{market}}, {{stream}}, {{symbol}})"
                    )));
                }
                _ if part.contains(['*', '>']) || part.chars().any(char::is_whitespace) => {
                    return Err(invalid(&format!(
                        "'{part}' holds a wildcard or a space"
                    )));
                }
                _ => Token::Literal(part.to_owned()),
            });
        }
        for (needed, name) in [(Token::Symbol, "{symbol}"), (Token::Stream, "{stream}")] {
            if tokens.iter().filter(|token| **token == needed).count() != 1 {
                return Err(invalid(&format!("{name} must appear exactly once")));
            }
        }
        Ok(Self {
            text: text.to_owned(),
            tokens,
        })
    }
}

/// Whether every subject matched by `inner` is matched by `outer` (both NATS subject
/// filters: `*` one token, `>` one or more at the end).
pub(crate) fn covers(outer: &str, inner: &str) -> bool {
    let outer: Vec<&str> = outer.split('.').collect();
    let inner: Vec<&str> = inner.split('.').collect();
    for (index, token) in outer.iter().enumerate() {
        if *token == ">" {
            return inner.len() > index;
        }
        let Some(theirs) = inner.get(index) else {
            return false;
        };
        match (*token, *theirs) {
            ("*", ">") => return false,
            ("*", _) => {}
            (ours, theirs) if ours == theirs => {}
            _ => return false,
        }
    }
    outer.len() == inner.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_filters_the_default() {
        let template = SubjectTemplate::default();
        assert_eq!(
            template.render("spot", "trade", "ETHUSDT"),
            "binance.spot.trade.ETHUSDT"
        );
        assert_eq!(template.filter(), "binance.*.*.*");
        assert_eq!(
            template.filter_for(None, Some("trade"), Some("ETHUSDT")),
            "binance.*.trade.ETHUSDT"
        );
    }

    #[test]
    fn a_custom_order_is_kept() {
        let template: SubjectTemplate = "md.{market}.{symbol}.{stream}".parse().unwrap();
        assert_eq!(
            template.render("futures", "depth@100ms", "BTCUSDT"),
            "md.futures.BTCUSDT.depth@100ms"
        );
        assert_eq!(template.filter(), "md.*.*.*");
        assert_eq!(
            template.parts("md.futures.BTCUSDT.depth@100ms"),
            Some(("futures", "depth@100ms", "BTCUSDT"))
        );
        assert_eq!(template.parts("md.futures.BTCUSDT"), None);
        assert_eq!(template.parts("xx.futures.BTCUSDT.trade"), None);
    }

    #[test]
    fn bad_templates_say_why() {
        for (text, why) in [
            ("md.{symbol}", "{stream} must appear exactly once"),
            (
                "md.{symbol}.{stream}.{symbol}",
                "{symbol} must appear exactly once",
            ),
            ("md..{symbol}.{stream}", "an empty token"),
            ("md.x{symbol}.{stream}", "is not a placeholder"),
            ("md.*.{symbol}.{stream}", "wildcard"),
            ("md.{symbol}.{stream}.{venue}", "is not a placeholder"),
        ] {
            let error = text.parse::<SubjectTemplate>().unwrap_err();
            assert!(error.contains(why), "{text}: {error}");
            assert!(error.contains(text), "{error}");
        }
    }

    #[test]
    fn coverage_of_filters() {
        assert!(covers("binance.>", "binance.*.*.*"));
        assert!(covers(">", "binance.*.*.*"));
        assert!(covers("binance.*.*.*", "binance.*.*.*"));
        assert!(covers("binance.*.*.*", "binance.spot.trade.ETHUSDT"));
        assert!(!covers("binance.spot.*.*", "binance.*.*.*"));
        assert!(!covers("binance.*.*", "binance.*.*.*"));
        assert!(!covers("binance.*.*.*.*", "binance.*.*.*"));
        assert!(!covers("other.>", "binance.*.*.*"));
        assert!(!covers("binance.*", "binance.>"));
        assert!(!covers("binance.>", "binance"));
    }
}
