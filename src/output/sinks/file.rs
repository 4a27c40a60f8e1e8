//! `--output-dir`: each symbol's lines appended to `DIR/<SYMBOL>.jsonl`, whole lines only.
//!
//! Owned by the symbol's processor thread. The file is opened (and checked, and repaired)
//! by `app` before any connection is made, so a bad path is reported before anything runs.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use tracing::{debug, warn};

use crate::output::batch::{Delivered, LineOutput};
use binance_streams::Symbol;

/// How much of a file's end is read at a time when looking for its last newline.
const TAIL_CHUNK_BYTES: usize = 8 * 1024;

/// The path of `symbol`'s file in `dir`.
pub(crate) fn symbol_file(dir: &Path, symbol: &Symbol) -> PathBuf {
    dir.join(format!("{}.jsonl", symbol.as_str()))
}

/// `DIR/<SYMBOL>.jsonl`, opened for appending; it only ever holds whole lines.
///
/// **When a line counts as written:** once its bytes were handed to the kernel whole, as
/// part of a batch written with no error. From then on a `kill -9` of the listener loses
/// nothing (the kernel has the bytes); a machine crash or power loss can lose what was not
/// yet synced to disk, and the file is synced when the symbol stops (a clean exit).
///
/// **When a line counts as lost:** its batch failed part-way (a full disk, an I/O error).
/// The file is then truncated back to its length before the batch, so no torn line stays
/// in it, every line of the batch is counted lost (none of them written), and the symbol
/// stops with an error naming the file; the other symbols go on.
///
/// A torn tail left by an earlier run (killed mid-write, or a rollback that itself failed)
/// is cut when the file is opened, with a warning saying how many bytes went.
pub(crate) struct FileOutput {
    path: PathBuf,
    file: File,
}

impl FileOutput {
    /// Opens (creating if needed) `symbol`'s file in `dir` for appending, and cuts a torn
    /// last line left by an earlier run.
    ///
    /// Only a regular file (or none yet) is accepted at that path: a FIFO, a symbolic link,
    /// a directory or a device is refused, without following the link and without blocking
    /// on a FIFO. A file another process holds locked (another binance-listen writing the
    /// same directory) is refused too: two writers would corrupt each other's lines.
    ///
    /// # Errors
    /// The path is not a regular file, or the file cannot be opened, locked or repaired;
    /// the message does not repeat the path.
    pub(crate) fn open(dir: &Path, symbol: &Symbol) -> io::Result<Self> {
        let path = symbol_file(dir, symbol);
        // Refuse early, by what the path itself is (a link is not followed).
        match std::fs::symlink_metadata(&path) {
            Ok(metadata) if !metadata.file_type().is_file() => {
                return Err(not_a_regular_file(FileType::from_raw_mode(
                    std::os::unix::fs::MetadataExt::mode(&metadata),
                )));
            }
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        // The path may change between that look and this open: NOFOLLOW refuses a link,
        // NONBLOCK keeps a FIFO from blocking the open, and fstat below has the last word.
        let flags = OFlags::RDWR
            | OFlags::APPEND
            | OFlags::CREATE
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK
            | OFlags::NOCTTY
            | OFlags::CLOEXEC;
        let fd =
            rustix::fs::open(&path, flags, Mode::from_raw_mode(0o666)).map_err(
                |errno| match errno {
                    Errno::LOOP => not_a_regular_file(FileType::Symlink),
                    Errno::ISDIR => not_a_regular_file(FileType::Directory),
                    errno => io::Error::from(errno),
                },
            )?;
        let file = File::from(fd);
        let stat = rustix::fs::fstat(&file)?;
        let kind = FileType::from_raw_mode(stat.st_mode);
        if kind != FileType::RegularFile {
            return Err(not_a_regular_file(kind));
        }
        rustix::fs::fcntl_setfl(&file, OFlags::APPEND)?;
        // A process-owned (POSIX) lock: unlike flock(2), a child forked for a moment by
        // another thread does not hold it too, so it never refuses this process itself.
        match rustix::fs::fcntl_lock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(Errno::AGAIN | Errno::ACCESS) => {
                return Err(io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    "another process is writing to it (another binance-listen with the same --output-dir?)",
                ));
            }
            // A file system without locks (some network mounts): go on unlocked.
            Err(errno) => debug!("cannot lock {}: {errno}", path.display()),
        }
        let size = u64::try_from(stat.st_size).unwrap_or(0);
        let keep = whole_lines_length(&file, size)?;
        if keep < size {
            file.set_len(keep)?;
            warn!(
                "{}: cut {} byte(s) after its last complete line, a torn line left by an earlier run that was interrupted mid-write",
                path.display(),
                size - keep
            );
        }
        Ok(Self { path, file })
    }

    /// Takes back the `handed` bytes of a failed batch that reached the file, so it ends
    /// with the batch before it. The file's size now, not a length remembered from open,
    /// says where that is: someone may have truncated the file since (log rotation).
    fn roll_back(&mut self, handed: usize) {
        let handed = handed as u64;
        let undone =
            self.file
                .metadata()
                .and_then(|metadata| match metadata.len().checked_sub(handed) {
                    Some(before) => self.file.set_len(before),
                    None => Err(io::Error::other(
                        "the file is shorter than what was written",
                    )),
                });
        if let Err(error) = undone {
            warn!(
                "cannot take back the {handed} byte(s) of a failed write to {}: {error}; the torn line is cut when the file is next opened",
                self.path.display()
            );
        }
    }
}

/// The length of `file`'s content up to and including its last newline (0 if it has
/// none), reading backwards from its end, `size`.
fn whole_lines_length(file: &File, size: u64) -> io::Result<u64> {
    let mut chunk = vec![0; TAIL_CHUNK_BYTES];
    let mut end = size;
    while end > 0 {
        let start = end.saturating_sub(TAIL_CHUNK_BYTES as u64);
        // The difference is at most TAIL_CHUNK_BYTES.
        let part = &mut chunk[..(end - start) as usize];
        file.read_exact_at(part, start)?;
        if let Some(newline) = part.iter().rposition(|&byte| byte == b'\n') {
            return Ok(start + newline as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// The error for a path that is not a regular file, saying what it is instead.
fn not_a_regular_file(kind: FileType) -> io::Error {
    let what = match kind {
        FileType::Fifo => "a named pipe (FIFO)",
        FileType::Symlink => "a symbolic link",
        FileType::Directory => "a directory",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Socket => "a socket",
        _ => "not a regular file",
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "it is {what}, and --output-dir writes only to regular files it creates or appends to; remove it or choose another directory"
        ),
    )
}

impl LineOutput for FileOutput {
    fn write_batch(&mut self, batch: &[u8], lines: u64) -> (Delivered, io::Result<()>) {
        // The batch goes straight to the file (no user-space buffer an exit could lose),
        // counting what reached it so a failure part-way can be taken back.
        let mut handed = 0;
        while handed < batch.len() {
            match self.file.write(&batch[handed..]) {
                Ok(0) => {
                    self.roll_back(handed);
                    return (Delivered::none(lines), Err(io::ErrorKind::WriteZero.into()));
                }
                Ok(count) => handed += count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.roll_back(handed);
                    return (Delivered::none(lines), Err(error));
                }
            }
        }
        (Delivered::all(lines), Ok(()))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn close(&mut self) -> Delivered {
        // Every line was settled by its write; this only makes them durable.
        if let Err(error) = self.file.sync_data() {
            warn!("cannot sync {}: {error}", self.path.display());
        }
        Delivered::default()
    }
}
