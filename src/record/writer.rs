//! The recorder thread (`rec-<SYMBOL>`): takes the frames its symbol's reader tapped and
//! writes them, one file per stream and time slot.
//!
//! Each stream's lines gather in memory and are compressed as one zstd frame (one shared
//! compression context per symbol) at least every second, then written with one call. So
//! a file on disk is a run of whole zstd frames, each of whole lines: after a `kill -9` a
//! file is readable up to its last second or so, and at worst a torn last frame is lost.
//! A file is complete once its slot ends: the recorder closes it when the first frame of
//! the next slot comes, or on its next tick after the slot's end if none comes.
//!
//! Any error writing (a full disk, a read-only directory) stops the symbol's recording
//! with one error line; files already closed are left as they are, and the reader and
//! every other output carry on.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use tracing::{error, warn};

use super::format::{FORMAT_VERSION, Header, end_line, push_record};
use super::layout::{Rotate, slot_file, stream_dir};
use super::{Recording, TapCounters, Tapped};
use crate::stats::SymbolStats;

/// Lines are compressed and written at least this often: what a `kill -9` can lose. Half
/// the second promised, so a late tick on a loaded machine still keeps the promise.
const FLUSH_INTERVAL: Duration = Duration::from_millis(500);

/// A stream's uncompressed lines are written early once they reach this size.
const MAX_PENDING_BYTES: usize = 4 << 20;

/// zstd's level. On a second of recorded trades level 1 both compresses better (11.7× vs
/// 10.4×) and runs faster (900 vs 650 MB/s, `zstd -b1 -e3`) than the default 3: the lines
/// are short and alike, and the recorder must keep up with a busy stream on a shared core.
const ZSTD_LEVEL: i32 = 1;

/// Stack for a recorder thread: file I/O and zstd need little of it.
const RECORDER_STACK_BYTES: usize = 256 * 1024;

/// How often drops are reported, at most.
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// The name of the folder for frames of no subscribed stream.
const UNKNOWN_STREAM: &str = "unknown";

/// One stream's current file.
struct StreamFile {
    /// The stream's name (the folder's).
    name: String,
    /// `"<symbol>@<kind>"` as a combined connection's wrapper names it, prefix of frames.
    wrapper_prefix: String,
    /// The slot of the open file, and the file.
    open: Option<(u64, File, PathBuf)>,
    /// Frames in the open file.
    frames: u64,
    /// Lines not yet written.
    pending: Vec<u8>,
    /// How many frames `pending` holds.
    pending_frames: u64,
}

struct Recorder {
    symbol: String,
    market: String,
    kinds: Vec<String>,
    run: u64,
    rotate: Rotate,
    root: PathBuf,
    /// One per kind, then one for frames of no kind.
    streams: Vec<StreamFile>,
    compressor: zstd::bulk::Compressor<'static>,
    counters: Arc<TapCounters>,
    /// The symbol's counters (recorded, missed).
    stats: Arc<SymbolStats>,
    dropped_reported: u64,
    last_drop_report: Option<Instant>,
}

/// Starts the thread.
pub(super) fn spawn(
    recording: &Recording<'_>,
    frames: Receiver<Tapped>,
    counters: Arc<TapCounters>,
) -> io::Result<JoinHandle<()>> {
    let lower = recording.symbol.lowercase();
    let mut streams: Vec<StreamFile> = recording
        .kinds
        .iter()
        .map(|kind| StreamFile {
            name: kind.name(),
            wrapper_prefix: format!(r#"{{"stream":"{lower}@{}""#, kind.wire_name()),
            open: None,
            frames: 0,
            pending: Vec::new(),
            pending_frames: 0,
        })
        .collect();
    streams.push(StreamFile {
        name: UNKNOWN_STREAM.to_owned(),
        wrapper_prefix: String::new(),
        open: None,
        frames: 0,
        pending: Vec::new(),
        pending_frames: 0,
    });
    let recorder = Recorder {
        symbol: recording.symbol.as_str().to_owned(),
        market: recording.market.name().to_owned(),
        kinds: recording.kinds.iter().map(|kind| kind.name()).collect(),
        run: recording.run,
        rotate: recording.settings.rotate,
        root: recording.settings.dir.clone(),
        streams,
        compressor: zstd::bulk::Compressor::new(ZSTD_LEVEL)?,
        counters,
        stats: Arc::clone(&recording.stats),
        dropped_reported: 0,
        last_drop_report: None,
    };
    thread::Builder::new()
        .name(recording.symbol.thread_name("rec-"))
        .stack_size(RECORDER_STACK_BYTES)
        .spawn(move || {
            let mut recorder = recorder;
            let _span = tracing::info_span!("recorder", symbol = %recorder.symbol).entered();
            if let Err(failure) = recorder.run(&frames) {
                error!(
                    "recording stopped: {failure}; files already completed are intact, and every other output goes on"
                );
            }
            recorder.report_drops(true);
        })
}

/// A write that failed, and where.
struct Failure {
    path: PathBuf,
    error: io::Error,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write {}: {}", self.path.display(), self.error)
    }
}

impl Recorder {
    /// Records until the tap is dropped (then writes everything) or a write fails.
    fn run(&mut self, frames: &Receiver<Tapped>) -> Result<(), Failure> {
        let mut flush_at = Instant::now() + FLUSH_INTERVAL;
        let mut since_clock = 0u32;
        loop {
            match frames.recv_deadline(flush_at) {
                Ok(tapped) => {
                    self.counters
                        .waiting_bytes
                        .fetch_sub(tapped.payload.len() as u64, Ordering::Relaxed);
                    self.record(&tapped)?;
                    // A busy stream never times out: look at the clock every few frames.
                    since_clock += 1;
                    if since_clock >= 64 {
                        since_clock = 0;
                        if Instant::now() >= flush_at {
                            self.tick(false)?;
                            flush_at = Instant::now() + FLUSH_INTERVAL;
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.tick(true)?;
                    flush_at = Instant::now() + FLUSH_INTERVAL;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    for index in 0..self.streams.len() {
                        self.close(index)?;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Every [`FLUSH_INTERVAL`]: writes what gathered, closes files whose slot is over,
    /// reports drops.
    ///
    /// Files are closed by the clock only when `idle` (nothing waiting in the tap): a busy
    /// recorder may still hold frames received before the slot ended, and a busy stream's
    /// next frame closes its file anyway.
    fn tick(&mut self, idle: bool) -> Result<(), Failure> {
        let now_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_micros() as u64);
        let current = self.rotate.slot_of(now_us);
        for index in 0..self.streams.len() {
            let over = self.streams[index]
                .open
                .as_ref()
                .is_some_and(|(slot, _, _)| *slot < current);
            if idle && over {
                self.close(index)?;
            } else {
                self.flush(index)?;
            }
        }
        self.report_drops(false);
        Ok(())
    }

    /// Appends one frame to its stream's lines, starting the slot's file when it is new.
    fn record(&mut self, tapped: &Tapped) -> Result<(), Failure> {
        let index = self.stream_of(&tapped.payload);
        let slot = self.rotate.slot_of(tapped.recv_time_us);
        let starts = match &self.streams[index].open {
            None => true,
            // A frame stamped a moment before the rotation (held during a rollover) goes
            // into the current file: slots never go back.
            Some((open, _, _)) => slot > *open,
        };
        if starts {
            self.close(index)?;
            self.open(index, slot)?;
        }
        let stream = &mut self.streams[index];
        stream.frames += 1;
        stream.pending_frames += 1;
        push_record(
            &mut stream.pending,
            tapped.recv_time_us,
            tapped.connection,
            tapped.number,
            &tapped.payload,
        );
        if stream.pending.len() >= MAX_PENDING_BYTES {
            self.flush(index)?;
        }
        Ok(())
    }

    /// Which stream a frame belongs to: the only one, or the one its wrapper names.
    fn stream_of(&self, payload: &str) -> usize {
        let kinds = self.streams.len() - 1;
        if kinds == 1 {
            return 0;
        }
        self.streams[..kinds]
            .iter()
            .position(|stream| payload.starts_with(&stream.wrapper_prefix))
            .unwrap_or(kinds)
    }

    /// Opens a new file for `slot` (never an existing one), its header its first line.
    fn open(&mut self, index: usize, slot: u64) -> Result<(), Failure> {
        let dir = stream_dir(
            &self.root,
            &self.market,
            &self.symbol,
            &self.streams[index].name,
        );
        std::fs::create_dir_all(&dir).map_err(|error| Failure {
            path: dir.clone(),
            error,
        })?;
        let (file, path) = create_new(&dir, &self.rotate.slot_name(slot))?;
        let header = Header {
            binance_listen_recording: FORMAT_VERSION,
            market: self.market.clone(),
            symbol: self.symbol.clone(),
            stream: self.streams[index].name.clone(),
            kinds: self.kinds.clone(),
            run: self.run,
        };
        let stream = &mut self.streams[index];
        stream.open = Some((slot, file, path));
        stream.frames = 0;
        // The header goes out at once, in a zstd frame of its own: a file is never found
        // empty, whenever its run is killed.
        stream.pending.extend_from_slice(&header.line());
        self.flush(index)
    }

    /// Ends a stream's open file (if any) with its end mark: the file is complete.
    fn close(&mut self, index: usize) -> Result<(), Failure> {
        let stream = &mut self.streams[index];
        if stream.open.is_none() {
            return Ok(());
        }
        stream.pending.extend_from_slice(&end_line(stream.frames));
        self.flush(index)?;
        self.streams[index].open = None;
        Ok(())
    }

    /// Compresses a stream's gathered lines as one zstd frame and writes it whole.
    fn flush(&mut self, index: usize) -> Result<(), Failure> {
        let stream = &mut self.streams[index];
        let Some((_, file, path)) = &mut stream.open else {
            stream.pending.clear();
            stream.pending_frames = 0;
            return Ok(());
        };
        if stream.pending.is_empty() {
            return Ok(());
        }
        let fail = |error: io::Error| Failure {
            path: path.clone(),
            error,
        };
        let compressed = self.compressor.compress(&stream.pending).map_err(fail)?;
        file.write_all(&compressed).map_err(fail)?;
        stream.pending.clear();
        if let Some(record) = &self.stats.record {
            record
                .recorded
                .add(std::mem::take(&mut stream.pending_frames));
        }
        Ok(())
    }

    /// Says how many frames the recording lost because the recorder was behind: at once
    /// the first time, then at most every ten seconds, and at the end.
    fn report_drops(&mut self, last: bool) {
        let dropped = self.counters.dropped.load(Ordering::Relaxed);
        if dropped == self.dropped_reported {
            return;
        }
        let due = self
            .last_drop_report
            .is_none_or(|at| at.elapsed() >= DROP_REPORT_INTERVAL);
        if due || last {
            warn!(
                "the recorder fell behind: {} frame(s) not recorded ({dropped} in all)",
                dropped - self.dropped_reported
            );
            self.dropped_reported = dropped;
            self.last_drop_report = Some(Instant::now());
        }
    }
}

/// Creates the slot's file, or the next free `~N` name beside it.
fn create_new(dir: &Path, name: &str) -> Result<(File, PathBuf), Failure> {
    let mut attempt = 1;
    loop {
        let path = slot_file(dir, name, attempt);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 10_000 => {
                attempt += 1;
            }
            Err(error) => return Err(Failure { path, error }),
        }
    }
}
