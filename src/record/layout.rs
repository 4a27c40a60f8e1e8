//! Where a recording's files go and when they rotate: `DIR/<market>/<SYMBOL>/<stream>/`
//! holds one file per time slot, named for the slot's start in UTC
//! (`2026-11-28T14.jsonl.zst` hourly, `2026-11-28.jsonl.zst` daily). A run that finds its
//! slot's file already there (a restart within the hour) starts `…T14~2.jsonl.zst` beside
//! it rather than appending after a tail a `kill -9` may have torn.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use binance_streams::time::civil_from_days;

use crate::util::duration::parse_duration;

/// The end of every recording file's name.
pub(crate) const RECORDING_SUFFIX: &str = ".jsonl.zst";

/// How often a stream's file is closed and the next one started (`--rotate`), by UTC slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Rotate {
    /// One file per UTC hour.
    #[default]
    Hourly,
    /// One file per UTC day.
    Daily,
    /// Slots of this many seconds, from the epoch: a hidden knob for tests, which cannot
    /// wait an hour for a rotation (`--rotate 2s`).
    Every(u64),
}

impl Rotate {
    /// The slot's length in seconds.
    fn seconds(self) -> u64 {
        match self {
            Self::Hourly => 3600,
            Self::Daily => 86_400,
            Self::Every(seconds) => seconds.max(1),
        }
    }

    /// The start (Unix seconds) of the slot holding `time_us`.
    pub(crate) fn slot_of(self, time_us: u64) -> u64 {
        let seconds = time_us / 1_000_000;
        seconds - seconds % self.seconds()
    }

    /// The file name stem of the slot starting at `slot` (Unix seconds).
    pub(crate) fn slot_name(self, slot: u64) -> String {
        let days = i64::try_from(slot / 86_400).unwrap_or(i64::MAX / 2);
        let (year, month, day) = civil_from_days(days);
        let rest = slot % 86_400;
        let date = format!("{year:04}-{month:02}-{day:02}");
        match self {
            Self::Daily => date,
            Self::Hourly => format!("{date}T{:02}", rest / 3600),
            Self::Every(_) => format!(
                "{date}T{:02}-{:02}-{:02}",
                rest / 3600,
                rest % 3600 / 60,
                rest % 60
            ),
        }
    }
}

impl FromStr for Rotate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "hourly" => Ok(Self::Hourly),
            "daily" => Ok(Self::Daily),
            // Undocumented: a test's rotation interval.
            other => match parse_duration(other) {
                Ok(interval) if interval >= Duration::from_secs(1) => {
                    Ok(Self::Every(interval.as_secs()))
                }
                _ => Err(format!(
                    "unknown rotation '{text}': expected hourly or daily"
                )),
            },
        }
    }
}

impl fmt::Display for Rotate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hourly => f.write_str("hourly"),
            Self::Daily => f.write_str("daily"),
            Self::Every(seconds) => write!(f, "{seconds}s"),
        }
    }
}

/// The directory of one symbol's stream: `DIR/<market>/<SYMBOL>/<stream>`.
pub(crate) fn stream_dir(dir: &Path, market: &str, symbol: &str, stream: &str) -> PathBuf {
    dir.join(market).join(symbol).join(stream)
}

/// The `attempt`th candidate name (from 1) for a slot's file in `dir`.
pub(crate) fn slot_file(dir: &Path, name: &str, attempt: u32) -> PathBuf {
    if attempt <= 1 {
        dir.join(format!("{name}{RECORDING_SUFFIX}"))
    } else {
        dir.join(format!("{name}~{attempt}{RECORDING_SUFFIX}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_named_for_their_utc_start() {
        // 2026-11-28 14:05:06 UTC
        let time_us = 1_795_874_706_000_000 + 123;
        let hourly = Rotate::Hourly.slot_of(time_us);
        assert_eq!(Rotate::Hourly.slot_name(hourly), "2026-11-28T14");
        let daily = Rotate::Daily.slot_of(time_us);
        assert_eq!(Rotate::Daily.slot_name(daily), "2026-11-28");
        let every = Rotate::Every(2).slot_of(time_us);
        assert_eq!(Rotate::Every(2).slot_name(every), "2026-11-28T14-05-06");
    }

    #[test]
    fn rotations_parse_and_bad_words_name_the_choices() {
        assert_eq!("hourly".parse(), Ok(Rotate::Hourly));
        assert_eq!("daily".parse(), Ok(Rotate::Daily));
        assert_eq!("3s".parse(), Ok(Rotate::Every(3)));
        assert_eq!(
            "weekly".parse::<Rotate>(),
            Err("unknown rotation 'weekly': expected hourly or daily".to_owned())
        );
    }

    #[test]
    fn a_second_file_in_a_slot_gets_a_suffix() {
        let dir = Path::new("d");
        assert_eq!(
            slot_file(dir, "2026-11-28T14", 1),
            dir.join("2026-11-28T14.jsonl.zst")
        );
        assert_eq!(
            slot_file(dir, "2026-11-28T14", 2),
            dir.join("2026-11-28T14~2.jsonl.zst")
        );
    }
}
