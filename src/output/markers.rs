//! In-band gap markers (`--gap-markers`): one line in a symbol's output where its data has a
//! hole, so whoever reads the file (or the pipe) sees the hole where it is, not only on
//! stderr. Written by the processor through [`write_marker`], between data lines.
//!
//! The JSON form, one object per line, is a stable schema: it starts with `event` (always
//! `"gap"`; data lines have no `event` field and start with `symbol`), then `symbol` and
//! `stream` as data lines name them, then `reason` and its fields, and ends with
//! `recv_time_us`, the receive time of the frame that revealed the hole:
//!
//! - `missing`: ids were skipped; `first_missing`, `last_missing`, `missing` (their count).
//! - `break`: a futures depth update names another predecessor (`pu`) than the last update
//!   written; `expected_prev` (the last `u` written), `found_prev` (the `pu` received).
//!   How many updates were missed is unknown.
//! - `restart`: the ids went back and the listener follows them from there; `previous`
//!   (the last id before), `resumed_at` (the first id after).
//! - `overflow`: the queue was full and frames were dropped before this point; `dropped`.
//!   Every stream of the symbol's connection shares the queue, so `stream` names them all,
//!   comma-separated (`trade,bookTicker`), as `--stream` takes them.
//!
//! `--format raw` writes the same JSON line (a raw file is still JSON Lines); `--format
//! pretty` a readable row aligned with the data rows.

use std::io::Write as _;

use super::pretty::write_pretty_marker;
use super::{LineHead, OutputFormat};

/// Why a marker was written, with what is known about the hole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GapReason {
    /// Ids `first..=last` were skipped.
    Missing {
        /// The first missing id.
        first: u64,
        /// The last missing id.
        last: u64,
    },
    /// A futures depth update follows `found_prev` where `expected_prev` was written last.
    Break {
        /// The last update id written.
        expected_prev: u64,
        /// The predecessor the update names.
        found_prev: u64,
    },
    /// The ids went back from `previous` to `resumed_at`.
    Restart {
        /// The last id of the sequence followed until then.
        previous: u64,
        /// The first id of the sequence followed from then on.
        resumed_at: u64,
    },
    /// The queue dropped `dropped` frames.
    Overflow {
        /// Frames dropped.
        dropped: u64,
    },
}

impl GapReason {
    /// The `reason` value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Missing { .. } => "missing",
            Self::Break { .. } => "break",
            Self::Restart { .. } => "restart",
            Self::Overflow { .. } => "overflow",
        }
    }

    /// The hole in words, for the pretty row.
    fn describe(self) -> String {
        match self {
            Self::Missing { first, last } => format!(
                "{} ids missing: {first}..{last}",
                last.saturating_sub(first).saturating_add(1)
            ),
            Self::Break {
                expected_prev,
                found_prev,
            } => {
                format!("break: an update after {found_prev}, the last written was {expected_prev}")
            }
            Self::Restart {
                previous,
                resumed_at,
            } => format!("restart: ids resume at {resumed_at} after {previous}"),
            Self::Overflow { dropped } => {
                format!("{dropped} frames dropped: the queue was full")
            }
        }
    }
}

/// One marker line's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marker {
    /// What the hole is.
    pub(crate) reason: GapReason,
    /// The receive time of the frame that revealed it.
    pub(crate) recv_time_us: u64,
}

/// Appends `marker`'s line for `head`'s symbol and stream to `out`, newline included.
pub(crate) fn write_marker(
    out: &mut Vec<u8>,
    format: OutputFormat,
    head: &LineHead,
    marker: &Marker,
) {
    match format {
        OutputFormat::Pretty { colour, width } => {
            let words = marker.reason.describe();
            write_pretty_marker(out, head, marker.recv_time_us, &words, colour, width);
        }
        OutputFormat::Json | OutputFormat::Raw => write_json_marker(out, head, marker),
    }
}

/// The JSON line; see the module documentation for the schema.
fn write_json_marker(out: &mut Vec<u8>, head: &LineHead, marker: &Marker) {
    // Strings serialize infallibly into a Vec, and so does `write!` into one.
    out.extend_from_slice(b"{\"event\":\"gap\",\"symbol\":");
    let _ = serde_json::to_writer(&mut *out, &head.symbol);
    out.extend_from_slice(b",\"stream\":");
    let _ = serde_json::to_writer(&mut *out, &head.stream);
    let _ = write!(out, ",\"reason\":\"{}\"", marker.reason.name());
    let _ = match marker.reason {
        GapReason::Missing { first, last } => write!(
            out,
            ",\"first_missing\":{first},\"last_missing\":{last},\"missing\":{}",
            last.saturating_sub(first).saturating_add(1)
        ),
        GapReason::Break {
            expected_prev,
            found_prev,
        } => write!(
            out,
            ",\"expected_prev\":{expected_prev},\"found_prev\":{found_prev}"
        ),
        GapReason::Restart {
            previous,
            resumed_at,
        } => write!(out, ",\"previous\":{previous},\"resumed_at\":{resumed_at}"),
        GapReason::Overflow { dropped } => write!(out, ",\"dropped\":{dropped}"),
    };
    let _ = writeln!(out, ",\"recv_time_us\":{}}}", marker.recv_time_us);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(format: OutputFormat, stream: &str, reason: GapReason) -> String {
        let mut out = Vec::new();
        let marker = Marker {
            reason,
            recv_time_us: 1_732_500_000_126_543,
        };
        write_marker(&mut out, format, &LineHead::new("ETHUSDT", stream), &marker);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_markers_byte_for_byte() {
        let json = |stream, reason| line(OutputFormat::Json, stream, reason);
        assert_eq!(
            json(
                "trade",
                GapReason::Missing {
                    first: 101,
                    last: 899_999
                }
            ),
            "{\"event\":\"gap\",\"symbol\":\"ETHUSDT\",\"stream\":\"trade\",\"reason\":\"missing\",\"first_missing\":101,\"last_missing\":899999,\"missing\":899899,\"recv_time_us\":1732500000126543}\n"
        );
        assert_eq!(
            json(
                "depth@100ms",
                GapReason::Break {
                    expected_prev: 172,
                    found_prev: 180
                }
            ),
            "{\"event\":\"gap\",\"symbol\":\"ETHUSDT\",\"stream\":\"depth@100ms\",\"reason\":\"break\",\"expected_prev\":172,\"found_prev\":180,\"recv_time_us\":1732500000126543}\n"
        );
        assert_eq!(
            json(
                "trade",
                GapReason::Restart {
                    previous: 900_000,
                    resumed_at: 101
                }
            ),
            "{\"event\":\"gap\",\"symbol\":\"ETHUSDT\",\"stream\":\"trade\",\"reason\":\"restart\",\"previous\":900000,\"resumed_at\":101,\"recv_time_us\":1732500000126543}\n"
        );
        assert_eq!(
            json("trade,bookTicker", GapReason::Overflow { dropped: 42 }),
            "{\"event\":\"gap\",\"symbol\":\"ETHUSDT\",\"stream\":\"trade,bookTicker\",\"reason\":\"overflow\",\"dropped\":42,\"recv_time_us\":1732500000126543}\n"
        );
        assert_eq!(
            line(
                OutputFormat::Raw,
                "trade",
                GapReason::Overflow { dropped: 1 }
            ),
            json("trade", GapReason::Overflow { dropped: 1 }),
            "raw output carries the JSON marker"
        );
    }

    #[test]
    fn pretty_markers_align_with_data_rows() {
        let pretty = |reason| {
            line(
                OutputFormat::Pretty {
                    colour: false,
                    width: None,
                },
                "trade",
                reason,
            )
        };
        assert_eq!(
            pretty(GapReason::Missing {
                first: 101,
                last: 899_999
            }),
            "02:00:00.126 ETHUSDT      trade         GAP  899899 ids missing: 101..899999\n"
        );
        assert_eq!(
            pretty(GapReason::Break {
                expected_prev: 172,
                found_prev: 180
            }),
            "02:00:00.126 ETHUSDT      trade         GAP  break: an update after 180, the last written was 172\n"
        );
        assert_eq!(
            pretty(GapReason::Restart {
                previous: 900_000,
                resumed_at: 101
            }),
            "02:00:00.126 ETHUSDT      trade         GAP  restart: ids resume at 101 after 900000\n"
        );
        assert_eq!(
            pretty(GapReason::Overflow { dropped: 42 }),
            "02:00:00.126 ETHUSDT      trade         GAP  42 frames dropped: the queue was full\n"
        );
        let coloured = line(
            OutputFormat::Pretty {
                colour: true,
                width: None,
            },
            "trade",
            GapReason::Overflow { dropped: 1 },
        );
        assert!(coloured.contains("\u{1b}[33mGAP\u{1b}[0m"), "{coloured:?}");
        assert!(coloured.ends_with("\u{1b}[0m\n"));
    }
}
