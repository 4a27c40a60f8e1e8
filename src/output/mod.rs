//! Output: what a frame becomes once decoded. [`OutputFormat`] picks the line ([`json`], the
//! payload as received, or [`pretty`]); [`write_line`] appends it to the processor's batch
//! ([`batch`]), which goes to stdout or to the symbol's own sink ([`sinks`]). Gap markers
//! ([`markers`]) are lines too, between the data lines. [`fast`] writes the same JSON and
//! raw lines for the busiest kinds straight from the frame.

pub(crate) mod batch;
pub(crate) mod fast;
pub(crate) mod heading;
mod json;
pub(crate) mod markers;
mod pretty;
pub(crate) mod sinks;

use std::fmt;
use std::str::FromStr;

use binance_streams::Event;

pub(crate) use json::LineHead;

/// How each event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum OutputFormat {
    /// The normalized JSON line of the event's kind.
    #[default]
    Json,
    /// The payload exactly as received, one per line.
    Raw,
    /// Aligned, readable columns for a terminal, coloured when `colour` (settled by the
    /// configuration: a terminal, no `NO_COLOR`).
    Pretty {
        /// Whether to add ANSI colours.
        colour: bool,
        /// The terminal's width in columns: a longer row is cut there and ends in `…`, so
        /// no row wraps and breaks the table. `None` off a terminal: rows are whole.
        width: Option<u16>,
    },
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "raw" => Ok(Self::Raw),
            "pretty" => Ok(Self::Pretty {
                colour: false,
                width: None,
            }),
            _ => Err(format!(
                "unknown output format '{text}': expected json, raw or pretty"
            )),
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "json",
            Self::Raw => "raw",
            Self::Pretty { .. } => "pretty",
        })
    }
}

/// Appends one line for `event` to `out`, newline included: `payload` is the frame as
/// received (its `data` for a combined stream's raw line too is the whole frame) and
/// `recv_time_us` its receive time.
///
/// The symbol is the one configured (uppercase, in `head`), not the payload's copy: some
/// kinds (partial depth) carry none, and one source of truth keeps every line consistent.
pub(crate) fn write_line(
    out: &mut Vec<u8>,
    format: OutputFormat,
    head: &LineHead,
    event: &Event<'_>,
    payload: &str,
    recv_time_us: u64,
) {
    match format {
        OutputFormat::Pretty { colour, width } => {
            pretty::write_pretty(out, head, event, recv_time_us, colour, width);
        }
        OutputFormat::Raw => {
            out.extend_from_slice(payload.as_bytes());
            out.push(b'\n');
        }
        OutputFormat::Json => json::write_json(out, head, event, recv_time_us),
    }
}

#[cfg(test)]
mod tests;
