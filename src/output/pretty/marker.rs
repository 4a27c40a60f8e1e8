//! The readable row of a gap marker: the time, symbol and stream columns of a data row,
//! then `GAP` and what the hole is, in the marker's own words.

use super::line::{Line, Style};
use super::{STREAM_WIDTH, SYMBOL_WIDTH};
use crate::output::LineHead;

/// Appends a marker row for `head`'s symbol and stream, noticed at `recv_time_us` and
/// described by `words`, newline included.
pub(in crate::output) fn write_pretty_marker(
    out: &mut Vec<u8>,
    head: &LineHead,
    recv_time_us: u64,
    words: &str,
    colour: bool,
    width: Option<u16>,
) {
    let mut line = Line::new(out, colour);
    line.clock(Style::Dim, recv_time_us, true);
    line.pad(1);
    line.left(Style::Bold, &head.symbol, SYMBOL_WIDTH);
    line.pad(1);
    line.left(Style::Plain, &head.stream, STREAM_WIDTH);
    line.pad(1);
    line.text(Style::Alert, "GAP");
    line.pad(2);
    line.text(Style::Plain, words);
    line.end(width);
}
