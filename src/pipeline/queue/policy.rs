//! [`OverflowPolicy`]: what a full queue does with the next frame (`--overflow`).

use std::fmt;
use std::str::FromStr;

/// What a full queue does with the next frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum OverflowPolicy {
    /// Throw away the oldest queued frame to make room: the output stays current.
    #[default]
    DropOldest,
    /// Throw away the new frame: the output keeps what was queued first.
    DropNewest,
    /// Wait for room: nothing is dropped, but the reader stops reading the socket meanwhile,
    /// so the exchange may disconnect a reader that lags too long.
    Block,
}

impl OverflowPolicy {
    /// The name users type.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::DropOldest => "drop-oldest",
            Self::DropNewest => "drop-newest",
            Self::Block => "block",
        }
    }
}

impl FromStr for OverflowPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::DropOldest, Self::DropNewest, Self::Block]
            .into_iter()
            .find(|policy| policy.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                format!(
                    "unknown overflow policy '{text}': expected drop-oldest, drop-newest or block"
                )
            })
    }
}

impl fmt::Display for OverflowPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
