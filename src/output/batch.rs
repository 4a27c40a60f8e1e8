//! Where lines go: [`LineOutput`] (stdout here; per-symbol files and handler commands in
//! `sink`) and [`LineSink`], a processor's batch buffer. Lines are formatted into the batch and written
//! in one locked `write_all` when the processor is about to wait (its queue ran dry or it is
//! about to sleep `--delay`) or the batch is full: an idle stream shows each line at once, a
//! busy one makes few syscalls, and lines of different symbols never interleave.

use std::io::{self, Write};

/// A batch that reaches this size is written even if more frames are waiting.
pub(crate) const MAX_BATCH_BYTES: usize = 64 * 1024;

/// The batch buffer's first size.
const INITIAL_BATCH_BYTES: usize = 4 * 1024;

/// A destination for whole-line batches.
pub(crate) trait LineOutput: Send {
    /// Writes `batch`, which holds only whole lines, and flushes it.
    ///
    /// # Errors
    /// The I/O error; `BrokenPipe` means the reader went away (`| head`) and is not a failure.
    fn write_batch(&mut self, batch: &[u8]) -> io::Result<()>;

    /// What the output is, for error messages: `stdout`, a file's path, a handler command.
    fn describe(&self) -> String;

    /// Whether every symbol shares it (stdout): its failure ends the run, while a
    /// per-symbol output's failure ends only that symbol.
    fn is_shared(&self) -> bool {
        false
    }

    /// Called once when the processor stops, after the last batch: close files, let a
    /// handler read to the end of its input.
    fn close(&mut self) {}
}

/// The process's stdout, shared by every processor; each batch is written under its lock.
#[derive(Debug, Default)]
pub(crate) struct StdoutOutput;

impl LineOutput for StdoutOutput {
    fn write_batch(&mut self, batch: &[u8]) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        // std's stdout is line-buffered; a batch of whole lines passes straight through.
        stdout.write_all(batch)?;
        stdout.flush()
    }

    fn describe(&self) -> String {
        "stdout".to_owned()
    }

    fn is_shared(&self) -> bool {
        true
    }
}

/// One processor's batch of formatted lines and the output they go to.
pub(crate) struct LineSink {
    output: Box<dyn LineOutput>,
    batch: Vec<u8>,
    lines: u64,
}

impl LineSink {
    /// A sink writing to `output`.
    pub(crate) fn new(output: Box<dyn LineOutput>) -> Self {
        Self {
            output,
            // Grows with use up to a little over MAX_BATCH_BYTES, then stays: a busy symbol
            // stops allocating after its first full batch, a quiet one keeps 4 KB.
            batch: Vec::with_capacity(INITIAL_BATCH_BYTES),
            lines: 0,
        }
    }

    /// The batch to append one whole line to; call [`line_added`](Self::line_added) after.
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.batch
    }

    /// Records that one line was appended (for the written count).
    pub(crate) fn line_added(&mut self) {
        self.lines += 1;
    }

    /// What the output is, for error messages.
    pub(crate) fn describe(&self) -> String {
        self.output.describe()
    }

    /// Whether the output is shared by every symbol (stdout).
    pub(crate) fn is_shared(&self) -> bool {
        self.output.is_shared()
    }

    /// Closes the output once the processor is done with it.
    pub(crate) fn close(&mut self) {
        self.output.close();
    }

    /// Drops bytes after the last complete line: what a handler that failed mid-line left.
    pub(crate) fn discard_partial_line(&mut self) {
        let keep = self
            .batch
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |newline| newline + 1);
        self.batch.truncate(keep);
    }

    /// Whether the batch is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// Whether the batch is big enough to write now.
    pub(crate) fn is_full(&self) -> bool {
        self.batch.len() >= MAX_BATCH_BYTES
    }

    /// Writes the batch, if any; returns how many lines it held.
    ///
    /// # Errors
    /// The output's error. The batch is discarded either way: a failed output is not retried.
    pub(crate) fn flush(&mut self) -> io::Result<u64> {
        if self.batch.is_empty() {
            return Ok(0);
        }
        let result = self.output.write_batch(&self.batch);
        self.batch.clear();
        let lines = std::mem::take(&mut self.lines);
        result.map(|()| lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Vec<u8>>>>);

    impl LineOutput for Recorder {
        fn write_batch(&mut self, batch: &[u8]) -> io::Result<()> {
            self.0.lock().unwrap().push(batch.to_vec());
            Ok(())
        }

        fn describe(&self) -> String {
            "recorder".to_owned()
        }
    }

    struct Closed;

    impl LineOutput for Closed {
        fn write_batch(&mut self, _: &[u8]) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }

        fn describe(&self) -> String {
            "a closed pipe".to_owned()
        }
    }

    #[test]
    fn lines_are_written_in_one_batch_and_counted() {
        let recorder = Recorder::default();
        let mut sink = LineSink::new(Box::new(recorder.clone()));
        for line in ["a\n", "b\n"] {
            sink.buffer().extend_from_slice(line.as_bytes());
            sink.line_added();
        }
        assert_eq!(sink.flush().unwrap(), 2);
        assert_eq!(sink.flush().unwrap(), 0);
        assert_eq!(*recorder.0.lock().unwrap(), vec![b"a\nb\n".to_vec()]);
    }

    #[test]
    fn a_closed_output_reports_broken_pipe_and_drops_the_batch() {
        let mut sink = LineSink::new(Box::new(Closed));
        sink.buffer().extend_from_slice(b"a\n");
        sink.line_added();
        assert_eq!(sink.flush().unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(sink.flush().unwrap(), 0);
    }

    #[test]
    fn a_partial_line_is_discarded_whole_lines_kept() {
        let recorder = Recorder::default();
        let mut sink = LineSink::new(Box::new(recorder.clone()));
        sink.buffer().extend_from_slice(b"a\n");
        sink.line_added();
        sink.buffer().extend_from_slice(b"{\"half");
        sink.discard_partial_line();
        assert_eq!(sink.flush().unwrap(), 1);
        assert_eq!(*recorder.0.lock().unwrap(), vec![b"a\n".to_vec()]);
    }

    #[test]
    fn fills_at_the_batch_cap() {
        let mut sink = LineSink::new(Box::new(Recorder::default()));
        sink.buffer().resize(MAX_BATCH_BYTES - 1, b'x');
        assert!(!sink.is_full());
        sink.buffer().push(b'\n');
        assert!(sink.is_full());
    }
}
