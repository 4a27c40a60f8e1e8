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

/// A line being written: styled spans, padded by visible width.
pub(super) struct Line<'o> {
    out: &'o mut Vec<u8>,
    colour: bool,
}

impl<'o> Line<'o> {
    /// A line appended to `out`, coloured when `colour`.
    pub(super) fn new(out: &'o mut Vec<u8>, colour: bool) -> Self {
        Self { out, colour }
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

    /// Ends the line: one last reset so no style can leak into the next, then the newline.
    pub(super) fn end(self) {
        if self.colour {
            self.out.extend_from_slice(RESET);
        }
        self.out.push(b'\n');
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
