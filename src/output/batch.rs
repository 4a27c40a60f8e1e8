//! Where lines go: [`LineOutput`] (stdout here; per-symbol files and handler commands in
//! `sinks`) and [`LineSink`], a processor's batch buffer. Lines are formatted into the batch
//! and written in one call when the processor is about to wait (its queue ran dry or it is
//! about to sleep `--delay`) or the batch is full: an idle stream shows each line at once, a
//! busy one makes few syscalls, and lines of different symbols never interleave.
//!
//! An output says what became of the lines it was given ([`Delivered`]): written means what
//! the output confirms, so the exit summary's counts hold whatever the output does.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Arc, Mutex, PoisonError};

use rustix::fs::{FileType, OFlags};

use super::heading::Heading;

/// A batch that reaches this size is written even if more frames are waiting.
pub(crate) const MAX_BATCH_BYTES: usize = 64 * 1024;

/// The batch buffer's first size: a few lines. A quiet symbol's batch never holds more,
/// and with a thousand of them every KiB here is a MB; a busy one grows it once.
const INITIAL_BATCH_BYTES: usize = 1024;

/// What an output did with lines it was given: how many it now confirms written and how
/// many it lost after accepting them (in this batch or held from earlier ones).
///
/// Lines settle in the order they were given: each `Delivered` settles the oldest lines
/// not yet settled, the first `written` of them written and the `lost` after those lost.
/// An output that cannot say which of its held lines were lost reports them in that order
/// all the same. The processor relies on it to tell frame lines from gap-marker lines,
/// which are not frames and are not counted written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivered {
    /// Lines confirmed written.
    pub(crate) written: u64,
    /// Lines accepted earlier and now known lost.
    pub(crate) lost: u64,
}

impl Delivered {
    /// Every one of `lines` written.
    pub(crate) fn all(lines: u64) -> Self {
        Self {
            written: lines,
            lost: 0,
        }
    }

    /// Every one of `lines` lost.
    pub(crate) fn none(lines: u64) -> Self {
        Self {
            written: 0,
            lost: lines,
        }
    }
}

/// What a line is, for an output that routes each line on its own (the bus: a subject per
/// stream, a message id per event). Other outputs never see tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineTag {
    /// The stream's index in the decoder's kinds; [`LineTag::MARKER`]'s is `u16::MAX`.
    pub(crate) stream: u16,
    /// The event's natural identity within its stream (trade id, update id, event time),
    /// when it has one.
    pub(crate) id: Option<u64>,
}

impl LineTag {
    /// A gap-marker line: not an event, no identity.
    pub(crate) const MARKER: Self = Self {
        stream: u16::MAX,
        id: None,
    };

    /// An event of stream `index` identified by `id`.
    pub(crate) fn event(index: usize, id: Option<u64>) -> Self {
        Self {
            stream: u16::try_from(index).unwrap_or(u16::MAX - 1),
            id,
        }
    }

    /// Whether this is a gap marker's line.
    pub(crate) fn is_marker(self) -> bool {
        self.stream == u16::MAX
    }
}

/// A destination for whole-line batches.
pub(crate) trait LineOutput: Send {
    /// Writes `batch`, which holds `lines` whole lines. Returns what it can say about
    /// delivery so far and, if the output failed, why; an output may hold lines back as
    /// unconfirmed (a handler's pipe) and settle them in a later call or in [`close`].
    ///
    /// `BrokenPipe` means the reader went away (`| head`) and is not a failure of stdout.
    ///
    /// [`close`]: LineOutput::close
    fn write_batch(&mut self, batch: &[u8], lines: u64) -> (Delivered, io::Result<()>);

    /// What the output is, for error messages: `stdout`, a file's path, a handler command.
    fn describe(&self) -> String;

    /// Whether every symbol shares it (stdout): its failure ends the run, while a
    /// per-symbol output's failure ends only that symbol.
    fn is_shared(&self) -> bool {
        false
    }

    /// Whether the output routes lines one by one and so wants each line's [`LineTag`]
    /// ([`write_tagged`](Self::write_tagged) instead of `write_batch`).
    fn wants_tags(&self) -> bool {
        false
    }

    /// Writes `batch`, whose lines are described, in order, by `tags`.
    fn write_tagged(&mut self, batch: &[u8], tags: &[LineTag]) -> (Delivered, io::Result<()>) {
        self.write_batch(batch, tags.len() as u64)
    }

    /// Called once when the processor stops, after the last batch: close files, let a
    /// handler read to the end of its input. Settles every line still unconfirmed.
    fn close(&mut self) -> Delivered {
        Delivered::default()
    }
}

/// The process's stdout, shared by every processor; each batch is written whole under
/// one lock, so lines of different symbols never interleave.
///
/// It writes to its own duplicate of file descriptor 1 rather than through `std::io::Stdout`,
/// which pretends a closed descriptor (`>&-`) accepts everything: here a write to a closed
/// stdout fails, and no line is counted written that went nowhere.
///
/// On a terminal showing pretty lines it also writes their [`Heading`], under the same lock.
#[derive(Debug, Clone)]
pub(crate) struct StdoutOutput {
    stdout: Arc<Mutex<Stdout>>,
}

/// What the lock of [`StdoutOutput`] guards.
#[derive(Debug)]
struct Stdout {
    file: File,
    heading: Option<Heading>,
}

impl StdoutOutput {
    /// The process's stdout, with `heading` written before the lines a screenful apart.
    ///
    /// # Errors
    /// File descriptor 1 was closed when the program started (`>&-`), or is unusable.
    pub(crate) fn open(heading: Option<Heading>) -> io::Result<Self> {
        let stdout = io::stdout();
        if was_closed(stdout.as_fd()) {
            return Err(io::Error::other(
                "it is closed (>&-), so no line could be written; redirect it to a file or to /dev/null",
            ));
        }
        let fd = stdout.as_fd().try_clone_to_owned()?;
        Ok(Self {
            stdout: Arc::new(Mutex::new(Stdout {
                file: File::from(fd),
                heading,
            })),
        })
    }
}

impl LineOutput for StdoutOutput {
    fn write_batch(&mut self, batch: &[u8], lines: u64) -> (Delivered, io::Result<()>) {
        let mut stdout = self.stdout.lock().unwrap_or_else(PoisonError::into_inner);
        let Stdout { file, heading } = &mut *stdout;
        let written = match heading {
            Some(heading) => heading.before(file, lines),
            None => Ok(()),
        };
        match written.and_then(|()| file.write_all(batch)) {
            Ok(()) => (Delivered::all(lines), Ok(())),
            Err(error) => (Delivered::none(lines), Err(error)),
        }
    }

    fn describe(&self) -> String {
        "stdout".to_owned()
    }

    fn is_shared(&self) -> bool {
        true
    }
}

/// Whether `fd` (stdout) was closed when the program started. Rust's runtime puts
/// `/dev/null` on a closed standard descriptor before `main`, opened read-write, where a
/// shell's `>/dev/null` opens it write-only: that tells a closed stdout from a discarded
/// one, and no line is then counted written that nobody could ever read.
fn was_closed(fd: BorrowedFd<'_>) -> bool {
    let Ok(stat) = rustix::fs::fstat(fd) else {
        return false;
    };
    let null = FileType::from_raw_mode(stat.st_mode) == FileType::CharacterDevice
        && rustix::fs::major(stat.st_rdev) == 1
        && rustix::fs::minor(stat.st_rdev) == 3;
    null && rustix::fs::fcntl_getfl(fd).is_ok_and(|flags| flags.contains(OFlags::RDWR))
}

/// What one flush of a [`LineSink`] did.
#[derive(Debug)]
pub(crate) struct Flushed {
    /// Lines settled by this flush.
    pub(crate) delivered: Delivered,
    /// Lines the flush wrote out (confirmed or not), for latency.
    pub(crate) lines: u64,
    /// The output's failure, if it failed.
    pub(crate) result: io::Result<()>,
}

/// One processor's batch of formatted lines and the output they go to.
pub(crate) struct LineSink {
    output: Box<dyn LineOutput>,
    batch: Vec<u8>,
    lines: u64,
    /// Whether the output wants [`LineTag`]s (then `tags` holds one per line).
    tagging: bool,
    tags: Vec<LineTag>,
}

impl LineSink {
    /// A sink writing to `output`.
    pub(crate) fn new(output: Box<dyn LineOutput>) -> Self {
        Self {
            // Grows with use up to a little over MAX_BATCH_BYTES, then stays: a busy symbol
            // stops allocating after its first full batch, a quiet one keeps 1 KiB.
            tagging: output.wants_tags(),
            output,
            batch: Vec::with_capacity(INITIAL_BATCH_BYTES),
            lines: 0,
            tags: Vec::new(),
        }
    }

    /// The batch to append one whole line to; call [`line_added`](Self::line_added) after.
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.batch
    }

    /// Records that one line that is not an event (a gap marker) was appended.
    pub(crate) fn line_added(&mut self) {
        self.line_added_as(LineTag::MARKER);
    }

    /// Records that one line was appended, and what it is for an output that wants to know.
    #[inline]
    pub(crate) fn line_added_as(&mut self, tag: LineTag) {
        self.lines += 1;
        if self.tagging {
            self.tags.push(tag);
        }
    }

    /// Whether the output wants each line's [`LineTag`] (else tags need not be worked out).
    #[inline]
    pub(crate) fn is_tagging(&self) -> bool {
        self.tagging
    }

    /// What the output is, for error messages.
    pub(crate) fn describe(&self) -> String {
        self.output.describe()
    }

    /// Whether the output is shared by every symbol (stdout).
    pub(crate) fn is_shared(&self) -> bool {
        self.output.is_shared()
    }

    /// Throws the batch away (the run is stopping and it cannot be written); returns how
    /// many lines it held.
    pub(crate) fn abandon(&mut self) -> u64 {
        self.batch.clear();
        self.tags.clear();
        std::mem::take(&mut self.lines)
    }

    /// Closes the output once the processor is done with it; settles what it held back.
    pub(crate) fn close(&mut self) -> Delivered {
        self.output.close()
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

    /// Writes the batch, if any. The batch is gone either way: a failed output is not
    /// retried here (an output that can retry, like a restarted handler, does so itself).
    pub(crate) fn flush(&mut self) -> Flushed {
        if self.batch.is_empty() {
            return Flushed {
                delivered: Delivered::default(),
                lines: 0,
                result: Ok(()),
            };
        }
        let lines = std::mem::take(&mut self.lines);
        let (delivered, result) = if self.tagging {
            self.output.write_tagged(&self.batch, &self.tags)
        } else {
            self.output.write_batch(&self.batch, lines)
        };
        self.batch.clear();
        self.tags.clear();
        Flushed {
            delivered,
            lines,
            result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Vec<u8>>>>);

    impl LineOutput for Recorder {
        fn write_batch(&mut self, batch: &[u8], lines: u64) -> (Delivered, io::Result<()>) {
            self.0.lock().unwrap().push(batch.to_vec());
            (Delivered::all(lines), Ok(()))
        }

        fn describe(&self) -> String {
            "recorder".to_owned()
        }
    }

    struct Closed;

    impl LineOutput for Closed {
        fn write_batch(&mut self, _: &[u8], lines: u64) -> (Delivered, io::Result<()>) {
            (
                Delivered::none(lines),
                Err(io::ErrorKind::BrokenPipe.into()),
            )
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
        assert_eq!(sink.flush().delivered, Delivered::all(2));
        assert_eq!(sink.flush().delivered, Delivered::default());
        assert_eq!(*recorder.0.lock().unwrap(), vec![b"a\nb\n".to_vec()]);
    }

    #[test]
    fn a_closed_output_reports_broken_pipe_and_counts_the_batch_lost() {
        let mut sink = LineSink::new(Box::new(Closed));
        sink.buffer().extend_from_slice(b"a\n");
        sink.line_added();
        let flushed = sink.flush();
        assert_eq!(
            flushed.result.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        assert_eq!(flushed.delivered, Delivered::none(1));
        assert_eq!(sink.flush().lines, 0);
    }

    #[test]
    fn a_partial_line_is_discarded_whole_lines_kept() {
        let recorder = Recorder::default();
        let mut sink = LineSink::new(Box::new(recorder.clone()));
        sink.buffer().extend_from_slice(b"a\n");
        sink.line_added();
        sink.buffer().extend_from_slice(b"{\"half");
        sink.discard_partial_line();
        assert_eq!(sink.flush().delivered, Delivered::all(1));
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
