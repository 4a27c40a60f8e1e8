//! Writing one pretty line: styled spans (ANSI SGR written by hand; without colour no
//! escape byte is written), padding by visible width, and escaping of anything in a payload
//! that could break the line or fake its content.

/// Resets every SGR attribute.
const RESET: &[u8] = b"\x1b[0m";

/// An ANSI SGR style for one span of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    /// No escape at all.
    Plain,
    /// The time: present but secondary.
    Dim,
    /// The symbol: what the eye looks for first.
    Bold,
    /// Buys, bids, rises.
    Up,
    /// Sells, asks, falls.
    Down,
    /// Closed candles and liquidations: events worth a second look.
    Alert,
}

impl Style {
    /// The escape that starts the style; `None` for plain text.
    fn sgr(self) -> Option<&'static [u8]> {
        match self {
            Self::Plain => None,
            Self::Dim => Some(b"\x1b[2m"),
            Self::Bold => Some(b"\x1b[1m"),
            Self::Up => Some(b"\x1b[32m"),
            Self::Down => Some(b"\x1b[31m"),
            Self::Alert => Some(b"\x1b[33m"),
        }
    }
}

/// A column of decimals: its width, and how many of those columns belong to the fraction,
/// so the decimal point falls in the same place on every row.
#[derive(Debug, Clone, Copy)]
pub(super) struct Column {
    /// Columns the number takes, point and fraction included.
    pub(super) width: usize,
    /// Columns right of the point. Numbers with fewer decimals are padded after them; numbers
    /// with more push left, keeping their end at `width` (they are never cut).
    pub(super) decimals: usize,
}

/// A line being written: styled spans, padded by visible width.
pub(super) struct Line<'o> {
    out: &'o mut Vec<u8>,
    /// Where this line starts in `out`, so its end can shed the padding of its last column.
    start: usize,
    colour: bool,
}

impl<'o> Line<'o> {
    /// A line appended to `out`, coloured when `colour`.
    pub(super) fn new(out: &'o mut Vec<u8>, colour: bool) -> Self {
        let start = out.len();
        Self { out, start, colour }
    }
}

impl Line<'_> {
    /// Writes `text` in `style`, control characters escaped; each styled span resets itself.
    pub(super) fn text(&mut self, style: Style, text: &str) {
        let sgr = style.sgr().filter(|_| self.colour);
        if let Some(sgr) = sgr {
            self.out.extend_from_slice(sgr);
        }
        push_escaped(self.out, text);
        if sgr.is_some() {
            self.out.extend_from_slice(RESET);
        }
    }

    /// `text`, then spaces up to `width` columns (longer text overflows: it is never cut).
    pub(super) fn left(&mut self, style: Style, text: &str, width: usize) {
        self.text(style, text);
        self.pad(width.saturating_sub(escaped_width(text)));
    }

    /// Spaces, then `text` ending at `width` columns (longer text overflows).
    pub(super) fn right(&mut self, style: Style, text: &str, width: usize) {
        self.pad(width.saturating_sub(escaped_width(text)));
        self.text(style, text);
    }

    /// A decimal in `column`, its point aligned with the column's other rows: a shorter
    /// fraction is padded after, and a number too long to keep its point in place ends at
    /// the column's edge instead, never wider than it must be.
    ///
    /// Text without a digit (`-`, `?`) is a placeholder and sits at the right edge.
    pub(super) fn number(&mut self, style: Style, text: &str, column: Column) {
        if !text.bytes().any(|byte| byte.is_ascii_digit()) {
            return self.right(style, text, column.width);
        }
        let width = escaped_width(text);
        let fraction = text
            .find('.')
            .map_or(0, |point| escaped_width(&text[point..]));
        let after = (column.decimals + 1)
            .saturating_sub(fraction)
            .min(column.width.saturating_sub(width));
        self.right(style, text, column.width - after);
        self.pad(after);
    }

    /// Blank columns: padding and separators.
    pub(super) fn pad(&mut self, spaces: usize) {
        self.out.resize(self.out.len() + spaces, b' ');
    }

    /// UTC time of day of `time_us`: `HH:MM:SS.mmm`, or `HH:MM:SS` without `millis`.
    pub(super) fn clock(&mut self, style: Style, time_us: u64, millis: bool) {
        let day = time_us / 1_000_000 % 86_400;
        let (hours, minutes, seconds) = (day / 3600, day / 60 % 60, day % 60);
        let text = if millis {
            let ms = time_us / 1000 % 1000;
            format!("{hours:02}:{minutes:02}:{seconds:02}.{ms:03}")
        } else {
            format!("{hours:02}:{minutes:02}:{seconds:02}")
        };
        self.text(style, &text);
    }

    /// Ends the line: without the padding after its last column (a terminal shows nothing
    /// there, and a pasted line should not carry it), cut to `width` columns when it is
    /// wider, one last reset so no style can leak into the next, then the newline.
    pub(super) fn end(mut self, width: Option<u16>) {
        let content = self.out[self.start..]
            .iter()
            .rposition(|&byte| byte != b' ')
            .map_or(0, |last| last + 1);
        self.out.truncate(self.start + content);
        if let Some(width) = width {
            self.elide(usize::from(width));
        }
        if self.colour {
            self.out.extend_from_slice(RESET);
        }
        self.out.push(b'\n');
    }

    /// Cuts the line after `width - 1` visible columns and marks the cut with `…`, when it
    /// shows more than `width` (styles left open are reset by [`Self::end`] after it).
    /// SGR escapes take no column.
    fn elide(&mut self, width: usize) {
        let line = &self.out[self.start..];
        let mut columns = 0;
        let mut cut = None;
        let mut at = 0;
        while at < line.len() {
            if line[at] == 0x1b {
                // An SGR escape: `ESC [ params m`.
                at += line[at..]
                    .iter()
                    .position(|&byte| byte == b'm')
                    .map_or(1, |m| m + 1);
                continue;
            }
            if columns == width.saturating_sub(1) {
                cut = Some(at);
            }
            columns += 1;
            if columns > width {
                break;
            }
            // Past the first byte of a UTF-8 sequence, to the next character.
            at += 1;
            while at < line.len() && line[at] & 0xc0 == 0x80 {
                at += 1;
            }
        }
        if let Some(cut) = cut.filter(|_| columns > width) {
            self.out.truncate(self.start + cut);
            self.out.extend_from_slice("…".as_bytes());
        }
    }
}

/// Characters that could break the line or fake its content: controls (newline, ESC, C1),
/// Unicode line and paragraph separators, and bidirectional overrides that reorder text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `text` with every [`needs_escape`] character written as `\u{..}`.
fn push_escaped(out: &mut Vec<u8>, text: &str) {
    let mut utf8 = [0; 4];
    for c in text.chars() {
        if needs_escape(c) {
            for escaped in c.escape_unicode() {
                out.extend_from_slice(escaped.encode_utf8(&mut utf8).as_bytes());
            }
        } else {
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }
}

/// How many characters [`push_escaped`] writes for `text`: its width in columns for the
/// narrow scripts symbols and numbers use.
fn escaped_width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if needs_escape(c) {
                c.escape_unicode().count()
            } else {
                1
            }
        })
        .sum()
}
