//! Diagnostics on stderr that can neither fail nor tear: a write error (stderr closed, a
//! `2>&1 | head` whose reader left) is ignored, never a panic inside a panic; and every
//! message is one line, whatever text it quotes (a symbol or path holding a newline or an
//! escape sequence is shown escaped).

use std::borrow::Cow;
use std::io::{self, Write};

/// Writes `text` as one line to stderr, ignoring any failure.
pub(crate) fn line(text: &str) {
    let mut line = one_line(text).into_owned();
    line.push('\n');
    // One write for the whole line: lines of several threads never interleave mid-line.
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// `text` with every control character (newlines included) escaped, so it prints as one
/// line and cannot move the cursor or change colours.
pub(crate) fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// A `tracing` writer for stderr that reports success whatever happens: the subscriber
/// must never learn of (and complain about, or panic on) a closed stderr.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QuietStderr;

impl Write for QuietStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().lock().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_onto_one_line() {
        assert_eq!(one_line("plain ETHUSDT"), "plain ETHUSDT");
        assert_eq!(
            one_line("invalid symbol 'ETH\nUSDT\u{1b}[31m'"),
            "invalid symbol 'ETH\\nUSDT\\u{1b}[31m'"
        );
    }
}
