//! Replay (`binance-listen replay PATH...`): recorded frames fed through the same
//! per-symbol pipelines as live ones. A [`source`] thread per symbol takes the reader's
//! place: it reads the symbol's files, puts their streams back in the order the reader
//! queued them, paces them by their receive times (or not, at `--speed max`) and pushes
//! them into the symbol's queue, so the processor, every output and format, and the exit
//! summary work unchanged. [`check`] reads a recording without replaying it and reports
//! what is damaged or missing.

pub(crate) mod check;
pub(crate) mod files;
pub(crate) mod source;
pub(crate) mod time;

use std::collections::BTreeMap;
use std::fmt;

use files::RecordedFile;

/// How fast frames are replayed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Speed {
    /// As fast as the pipeline takes them.
    Max,
    /// This many times as fast as they were received.
    Times(f64),
}

/// What to replay: the files of each symbol, and how.
pub(crate) struct ReplayPlan {
    /// Per symbol, its streams' files.
    pub(crate) symbols: Vec<SymbolFiles>,
    /// Frames received before this (µs) are skipped.
    pub(crate) from_us: Option<u64>,
    /// Frames received after this (µs) are skipped.
    pub(crate) to_us: Option<u64>,
    /// The streams replayed; empty for all.
    pub(crate) streams: Vec<String>,
    /// Pacing.
    pub(crate) speed: Speed,
    /// Keep the recorded receive times in the output rather than stamping replay times.
    pub(crate) keep_recv_time: bool,
    /// The receive time replay starts at: the earliest first frame (or `from_us`).
    pub(crate) start_us: u64,
}

impl fmt::Debug for ReplayPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayPlan")
            .field("symbols", &self.symbols.len())
            .field("speed", &self.speed)
            .finish_non_exhaustive()
    }
}

// A plan is one run's; two are the same only if they are one.
impl PartialEq for ReplayPlan {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for ReplayPlan {}

/// One symbol's files, per stream, each stream's in the order they were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SymbolFiles {
    /// The symbol, uppercase.
    pub(crate) symbol: String,
    /// Per stream name, its files by run and then by name (time slot).
    pub(crate) streams: BTreeMap<String, Vec<RecordedFile>>,
}

impl SymbolFiles {
    /// The connection's kinds its recordings name (the first that names any).
    pub(crate) fn kinds(&self) -> Option<&[String]> {
        self.streams
            .values()
            .flatten()
            .map(|file| file.header.kinds.as_slice())
            .find(|kinds| !kinds.is_empty())
    }
}

/// Groups files by symbol (in order of first appearance by path) and stream.
pub(crate) fn group(files: Vec<RecordedFile>) -> Vec<SymbolFiles> {
    let mut symbols: Vec<SymbolFiles> = Vec::new();
    for file in files {
        let index = match symbols
            .iter()
            .position(|known| known.symbol == file.header.symbol)
        {
            Some(index) => index,
            None => {
                symbols.push(SymbolFiles {
                    symbol: file.header.symbol.clone(),
                    streams: BTreeMap::new(),
                });
                symbols.len() - 1
            }
        };
        symbols[index]
            .streams
            .entry(file.header.stream.clone())
            .or_default()
            .push(file);
    }
    for symbol in &mut symbols {
        for chain in symbol.streams.values_mut() {
            chain.sort_by(|a, b| (a.header.run, &a.path).cmp(&(b.header.run, &b.path)));
        }
    }
    symbols
}
