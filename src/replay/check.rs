//! `binance-listen replay --check PATH...`: reads every file of a recording, replays
//! nothing, and prints a table with a row per symbol and stream: files, frames, the time
//! covered, gaps in the stream's ids (and ids missing in them), duplicates, and files cut
//! short (a run killed mid-write). Below the table, one line per damaged file and per symbol
//! whose frame numbers have holes (frames the recorder could not keep up with, or lost in a
//! torn file).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use binance_streams::{Decoder, Payload, StreamKind, Symbol};

use super::SymbolFiles;
use super::files::Records;
use crate::util::duration::format_duration;
use binance_streams::time::utc_datetime;

/// One row of the table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct StreamCheck {
    pub(crate) files: usize,
    pub(crate) frames: u64,
    pub(crate) first_us: Option<u64>,
    pub(crate) last_us: Option<u64>,
    pub(crate) gaps: u64,
    pub(crate) missing_ids: u64,
    pub(crate) duplicates: u64,
    /// Files that ended badly, with how.
    pub(crate) damaged: Vec<String>,
    /// Lines that were not records.
    pub(crate) unreadable: u64,
}

/// What a check found.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Per symbol and stream.
    pub(crate) rows: Vec<(String, String, StreamCheck)>,
    /// Per symbol, frame numbers missing (within each run).
    pub(crate) unrecorded: Vec<(String, u64)>,
}

impl Report {
    /// Whether any file is damaged or holds unreadable lines.
    pub(crate) fn damaged(&self) -> bool {
        self.rows
            .iter()
            .any(|(_, _, row)| !row.damaged.is_empty() || row.unreadable > 0)
    }
}

/// Reads every file of `symbols`. Raw-frame files (no header) are decoded as `raw_kinds`.
pub(crate) fn check(symbols: &[SymbolFiles], raw_kinds: &[StreamKind]) -> Report {
    let mut report = Report::default();
    for files in symbols {
        // Per run: the frame numbers seen, and the highest.
        let mut numbers: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        for (stream, chain) in &files.streams {
            let mut row = StreamCheck::default();
            let mut previous: Option<(u64, u64)> = None;
            for file in chain {
                row.files += 1;
                let kinds = if file.raw {
                    raw_kinds.to_vec()
                } else {
                    file.header
                        .kinds
                        .iter()
                        .filter_map(|kind| kind.parse().ok())
                        .collect()
                };
                let decoder = file
                    .header
                    .symbol
                    .parse::<Symbol>()
                    .ok()
                    .filter(|_| !kinds.is_empty())
                    .map(|symbol| Decoder::new(&symbol, &kinds));
                let mut records = match Records::open(file) {
                    Ok(records) => records,
                    Err(error) => {
                        row.damaged
                            .push(format!("{}: cannot be read: {error}", file.path.display()));
                        continue;
                    }
                };
                let run = file.header.run;
                while let Some(record) = records.next_record() {
                    row.frames += 1;
                    row.first_us = Some(
                        row.first_us
                            .map_or(record.recv_time_us, |t| t.min(record.recv_time_us)),
                    );
                    row.last_us = Some(
                        row.last_us
                            .map_or(record.recv_time_us, |t| t.max(record.recv_time_us)),
                    );
                    let seen = numbers.entry(run).or_default();
                    seen.0 += 1;
                    seen.1 = seen.1.max(record.number);
                    let Some(decoder) = &decoder else { continue };
                    let Ok(text) = std::str::from_utf8(&record.frame) else {
                        continue;
                    };
                    let Some(point) = decoder
                        .decode(text)
                        .ok()
                        .and_then(|(_, event)| event.sequence())
                    else {
                        continue;
                    };
                    match previous {
                        Some((last_run, last)) if last_run == run => {
                            if point.follows(last) {
                            } else if point.id <= last {
                                row.duplicates += 1;
                                continue;
                            } else {
                                row.gaps += 1;
                                row.missing_ids += point
                                    .first
                                    .map_or(0, |first| first.saturating_sub(last + 1));
                            }
                        }
                        _ => {}
                    }
                    previous = Some((run, point.id));
                }
                row.unreadable += records.unreadable;
                if let Some(damage) = records.damage() {
                    row.damaged
                        .push(format!("{} {damage}", file.path.display()));
                }
            }
            report
                .rows
                .push((files.symbol.clone(), stream.clone(), row));
        }
        let unrecorded: u64 = numbers
            .values()
            .map(|(count, max)| max.saturating_sub(*count))
            .sum();
        if unrecorded > 0 && files.streams.values().flatten().all(|file| !file.raw) {
            report.unrecorded.push((files.symbol.clone(), unrecorded));
        }
    }
    report
}

/// The report as lines of text: the table, then the damage.
pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    let header = [
        "symbol",
        "stream",
        "files",
        "frames",
        "from (UTC)",
        "to (UTC)",
        "span",
        "gaps",
        "missing ids",
        "duplicates",
        "truncated",
    ];
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_owned()).collect()];
    for (symbol, stream, row) in &report.rows {
        let time =
            |us: Option<u64>| us.map_or_else(|| "-".to_owned(), |us| utc_datetime(us / 1_000_000));
        let span = match (row.first_us, row.last_us) {
            (Some(first), Some(last)) => {
                format_duration(Duration::from_secs((last - first) / 1_000_000))
            }
            _ => "-".to_owned(),
        };
        table.push(vec![
            symbol.clone(),
            stream.clone(),
            row.files.to_string(),
            row.frames.to_string(),
            time(row.first_us),
            time(row.last_us),
            span,
            row.gaps.to_string(),
            row.missing_ids.to_string(),
            row.duplicates.to_string(),
            row.damaged.len().to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|column| table.iter().map(|row| row[column].len()).max().unwrap_or(0))
        .collect();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(column, (cell, width))| {
                if column < 2 || column == 4 || column == 5 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    for (_, _, row) in &report.rows {
        for damage in &row.damaged {
            let _ = writeln!(out, "truncated: {damage}");
        }
        if row.unreadable > 0 {
            let _ = writeln!(
                out,
                "unreadable: {} line(s) that are not records",
                row.unreadable
            );
        }
    }
    for (symbol, missing) in &report.unrecorded {
        let _ = writeln!(
            out,
            "{symbol}: {missing} frame(s) missing from the recording (the recorder fell behind, or they were in a truncated file's lost tail)"
        );
    }
    out
}
