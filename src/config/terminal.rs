//! What the terminal sees: `--color auto|always|never` for pretty data and log lines alike,
//! `NO_COLOR` (<https://no-color.org>), and `--log-format text|json`. The choices are parsed
//! here (flag and config file share the words) and settled into plain booleans before the
//! run, so nothing after `Config` looks at the environment again.

use std::fmt;
use std::str::FromStr;

use crate::output::OutputFormat;

/// `--color`: when ANSI colours are used, in pretty data lines and in log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ColourChoice {
    /// Colour only on a terminal, and never with `NO_COLOR` set to something.
    #[default]
    Auto,
    /// Colour whatever the output is (`| less -R`), `NO_COLOR` notwithstanding: an
    /// explicit flag wins over the environment.
    Always,
    /// Never colour.
    Never,
}

impl FromStr for ColourChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "always" => Ok(Self::Always),
            "never" => Ok(Self::Never),
            _ => Err(format!(
                "unknown colour choice '{text}': expected auto, always or never"
            )),
        }
    }
}

impl fmt::Display for ColourChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Always => "always",
            Self::Never => "never",
        })
    }
}

impl ColourChoice {
    /// Whether to colour an output that is (`terminal`) or is not a terminal, with
    /// `NO_COLOR` set to a non-empty value or not (`no_color`).
    pub(crate) fn colours(self, terminal: bool, no_color: bool) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => terminal && !no_color,
        }
    }
}

/// Whether `NO_COLOR` asks for no colour: set, and not empty (the convention's wording).
pub(crate) fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

/// `--log-format`: how log lines on stderr are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum LogFormat {
    /// One readable line per event, for people.
    #[default]
    Text,
    /// One JSON object per line (time, level, message, fields, the thread's symbol), for
    /// log shippers. The exit summary and `--stats` default to JSON with it.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(format!(
                "unknown log format '{text}': expected text or json"
            )),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

/// How log lines are written, settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LogSettings {
    /// Text or JSON.
    pub(crate) format: LogFormat,
    /// ANSI colours in text lines (never in JSON).
    pub(crate) colour: bool,
}

impl LogSettings {
    /// Settles `choice` for log lines on stderr (`stderr_terminal`), given `NO_COLOR`.
    pub(crate) fn settle(
        format: LogFormat,
        choice: ColourChoice,
        stderr_terminal: bool,
        no_color: bool,
    ) -> Self {
        Self {
            format,
            colour: format == LogFormat::Text && choice.colours(stderr_terminal, no_color),
        }
    }
}

/// `format` with its colour settled by `choice`: `auto` keeps what the format's own
/// settling found (a terminal and no `NO_COLOR`); `always` and `never` override it.
pub(crate) fn with_colour(format: OutputFormat, choice: ColourChoice) -> OutputFormat {
    match (format, choice) {
        (OutputFormat::Pretty { colour, width }, ColourChoice::Auto) => {
            OutputFormat::Pretty { colour, width }
        }
        (OutputFormat::Pretty { width, .. }, other) => OutputFormat::Pretty {
            colour: other.colours(false, false),
            width,
        },
        (other, _) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_and_name_the_accepted_words() {
        assert_eq!("ALWAYS".parse(), Ok(ColourChoice::Always));
        assert_eq!(
            "sometimes".parse::<ColourChoice>().unwrap_err(),
            "unknown colour choice 'sometimes': expected auto, always or never"
        );
        assert_eq!("json".parse(), Ok(LogFormat::Json));
        assert_eq!(
            "xml".parse::<LogFormat>().unwrap_err(),
            "unknown log format 'xml': expected text or json"
        );
    }

    #[test]
    fn auto_colours_a_terminal_without_no_color_and_always_wins_over_it() {
        let cases = [
            // (choice, terminal, NO_COLOR) → colour
            (ColourChoice::Auto, true, false, true),
            (ColourChoice::Auto, true, true, false),
            (ColourChoice::Auto, false, false, false),
            (ColourChoice::Always, false, true, true),
            (ColourChoice::Never, true, false, false),
        ];
        for (choice, terminal, no_color, expected) in cases {
            assert_eq!(
                choice.colours(terminal, no_color),
                expected,
                "{choice} terminal={terminal} NO_COLOR={no_color}"
            );
        }
    }

    #[test]
    fn json_logs_are_never_coloured() {
        let json = LogSettings::settle(LogFormat::Json, ColourChoice::Always, true, false);
        assert!(!json.colour);
        let text = LogSettings::settle(LogFormat::Text, ColourChoice::Always, false, true);
        assert!(text.colour);
    }

    #[test]
    fn only_pretty_output_takes_colour() {
        let plain = OutputFormat::Pretty {
            colour: false,
            width: None,
        };
        assert_eq!(
            with_colour(plain, ColourChoice::Always),
            OutputFormat::Pretty {
                colour: true,
                width: None
            }
        );
        assert_eq!(with_colour(plain, ColourChoice::Auto), plain);
        assert_eq!(
            with_colour(
                OutputFormat::Pretty {
                    colour: true,
                    width: None
                },
                ColourChoice::Never
            ),
            plain
        );
        assert_eq!(
            with_colour(OutputFormat::Json, ColourChoice::Always),
            OutputFormat::Json
        );
    }
}
