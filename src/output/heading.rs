//! The header row of pretty lines on a terminal: what each column is, and the time zone
//! the times are in (said once here rather than on every row). It is written before the
//! first line and again whenever a screenful has scrolled past since the last one, so a
//! reader looking at any screen sees one. Only on a terminal: piped pretty lines (`| less
//! -R`) are left as they are.

use std::fs::File;
use std::io::{self, Write};

use super::pretty;

/// Rows assumed when the terminal does not say (a serial console, a zero-sized pty).
const DEFAULT_ROWS: u16 = 24;

/// The header row and how many more rows may scroll before it is written again.
#[derive(Debug)]
pub(crate) struct Heading {
    row: Vec<u8>,
    rows_left: usize,
}

impl Heading {
    /// A heading for pretty lines, coloured when `colour`, cut to `width` like the rows.
    pub(crate) fn new(colour: bool, width: Option<u16>) -> Self {
        let mut row = Vec::new();
        pretty::write_heading(&mut row, colour, width);
        Self { row, rows_left: 0 }
    }

    /// Writes the header row to `terminal` when the `lines` about to be written would scroll
    /// the last one out of sight. The terminal's height is asked each time the row is
    /// written (once a screenful, never per line), so a resized window is followed.
    ///
    /// # Errors
    /// The write failed; the caller treats it as a failure of the batch it came before.
    pub(crate) fn before(&mut self, terminal: &mut File, lines: u64) -> io::Result<()> {
        let lines = usize::try_from(lines).unwrap_or(usize::MAX);
        if lines > self.rows_left {
            terminal.write_all(&self.row)?;
            // The header takes a row, and one stays for the cursor's line.
            self.rows_left = usize::from(screen_rows(terminal)).saturating_sub(2);
        }
        self.rows_left = self.rows_left.saturating_sub(lines);
        Ok(())
    }
}

/// The terminal's height in rows.
fn screen_rows(terminal: &File) -> u16 {
    rustix::termios::tcgetwinsize(terminal)
        .ok()
        .map(|size| size.ws_row)
        .filter(|rows| *rows > 2)
        .unwrap_or(DEFAULT_ROWS)
}
