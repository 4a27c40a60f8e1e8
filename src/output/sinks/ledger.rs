//! The bookkeeping behind a handler's "written": which lines entered its pipe, and which of
//! those it has read. Pure arithmetic over byte offsets, so it is tested without processes.
//!
//! Offsets count the bytes one handler's pipe accepted since that handler started. A line
//! is confirmed once the handler has read past its last byte: bytes accepted minus bytes
//! still unread in the pipe (`FIONREAD`) is how far it has read.

use std::collections::VecDeque;

/// One handler's lines that entered its pipe and are not yet settled.
#[derive(Debug, Default)]
pub(super) struct PipeLedger {
    /// Bytes the pipe accepted since the handler started.
    accepted: u64,
    /// Unsettled spans, oldest first: the offset just past a span's last byte and the
    /// lines the span ends (one per line, or a whole batch whose lines could not be told
    /// apart by newlines). Bounded by what the pipe can hold unread.
    pending: VecDeque<(u64, u64)>,
}

impl PipeLedger {
    /// Records that the pipe accepted `bytes` more bytes.
    pub(super) fn accepted(&mut self, bytes: usize) {
        self.accepted += bytes as u64;
    }

    /// Records `lines` lines ending `back` bytes before the current end of what the pipe
    /// accepted (they entered it whole).
    pub(super) fn entered(&mut self, back: usize, lines: u64) {
        if lines > 0 {
            self.pending.push_back((self.accepted - back as u64, lines));
        }
    }

    /// Settles the lines the handler has read, given the bytes still `unread` in its pipe;
    /// returns how many. A line partly read is not settled here.
    pub(super) fn confirm(&mut self, unread: u64) -> u64 {
        let consumed = self.accepted.saturating_sub(unread);
        let mut lines = 0;
        while let Some(&(end, count)) = self.pending.front() {
            if end > consumed {
                break;
            }
            lines += count;
            self.pending.pop_front();
        }
        lines
    }

    /// The handler is gone: settles everything still pending as lost (returns how many
    /// lines) and starts afresh for its successor.
    pub(super) fn lose_rest(&mut self) -> u64 {
        let lost = self.pending.iter().map(|&(_, count)| count).sum();
        self.pending.clear();
        self.accepted = 0;
        lost
    }
}

/// A batch seen as the units a handler can be given or lose: its lines, one by one, when
/// its newlines are exactly its lines; otherwise (a payload holding a newline of its own)
/// the whole batch as one unit, settled all together.
pub(super) struct Units<'a> {
    batch: &'a [u8],
    lines: u64,
    per_line: bool,
}

impl<'a> Units<'a> {
    /// The units of `batch`, which holds `lines` lines.
    pub(super) fn new(batch: &'a [u8], lines: u64) -> Self {
        let newlines = batch.iter().filter(|&&byte| byte == b'\n').count() as u64;
        Self {
            batch,
            lines,
            per_line: newlines == lines && batch.last() == Some(&b'\n'),
        }
    }

    /// The first unit boundary at or after `at` (the batch's end if none).
    pub(super) fn boundary_from(&self, at: usize) -> usize {
        if at == 0 || at >= self.batch.len() {
            return at.min(self.batch.len());
        }
        if !self.per_line {
            return self.batch.len();
        }
        if self.batch[at - 1] == b'\n' {
            return at;
        }
        self.batch[at..]
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(self.batch.len(), |newline| at + newline + 1)
    }

    /// How many lines the units between boundaries `from` and `to` hold.
    pub(super) fn lines_between(&self, from: usize, to: usize) -> u64 {
        if from >= to {
            0
        } else if self.per_line {
            self.batch[from..to]
                .iter()
                .filter(|&&byte| byte == b'\n')
                .count() as u64
        } else if from == 0 && to == self.batch.len() {
            self.lines
        } else {
            0
        }
    }

    /// Records in `ledger` the units wholly inside `from..to`, where `from` is a boundary
    /// and `to` is the end of what entered the pipe (and of what `ledger` accepted).
    /// Returns the boundary up to which units are now recorded.
    pub(super) fn record(&self, from: usize, to: usize, ledger: &mut PipeLedger) -> usize {
        if !self.per_line {
            if to == self.batch.len() && from < to {
                ledger.entered(0, self.lines);
                return to;
            }
            return from;
        }
        let mut recorded = from;
        for (offset, _) in self.batch[from..to]
            .iter()
            .enumerate()
            .filter(|&(_, &byte)| byte == b'\n')
        {
            let end = from + offset + 1;
            ledger.entered(to - end, 1);
            recorded = end;
        }
        recorded
    }
}
