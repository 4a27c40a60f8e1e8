//! The decimals a pretty line shows and derives: exchange strings trimmed of trailing
//! zeros (no digit ever changed), exact arithmetic for spreads and changes, and the best
//! level of a book side.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;
use serde_json::value::RawValue;

use super::line::Style;

/// Up when `now` is above `before`, down when below, plain when equal or unparsable.
pub(super) fn trend(now: &str, before: &str) -> Style {
    Decimal::parse(now)
        .zip(Decimal::parse(before))
        .and_then(|(now, before)| now.minus(before))
        .map_or(Style::Plain, Decimal::trend)
}

/// A decimal as shown: trailing fractional zeros trimmed, `-` for an empty string.
pub(super) fn shown(text: &str) -> &str {
    if text.is_empty() {
        "-"
    } else {
        trim_zeros(text)
    }
}

/// A change as shown, with `+` on a rise so the direction reads without colour.
pub(super) fn signed(text: &str) -> String {
    let trimmed = shown(text);
    match Decimal::parse(text).map(Decimal::trend) {
        Some(Style::Up) => format!("+{trimmed}"),
        _ => trimmed.to_owned(),
    }
}

/// Drops trailing zeros after the decimal point (and the point itself when nothing is left):
/// `3010.55000000` → `3010.55`, `100.00000000` → `100`. Anything that is not a plain decimal
/// is returned untouched: no digit is ever changed.
pub(super) fn trim_zeros(text: &str) -> &str {
    match split_decimal(text) {
        Some((_, _, fraction)) if !fraction.is_empty() => {
            text.trim_end_matches('0').trim_end_matches('.')
        }
        _ => text,
    }
}

/// Splits `[-]digits[.digits]` into sign, whole and fraction digits; `None` for anything else.
pub(super) fn split_decimal(text: &str) -> Option<(bool, &str, &str)> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (unsigned, ""),
    };
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    (!whole.is_empty() && digits(whole) && digits(fraction)).then_some((negative, whole, fraction))
}

/// An exact decimal, `units / 10^scale`, for the few numbers the line derives (spread,
/// change, which side is better): floats would print digits Binance never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    /// More digits than this might overflow `i128` once scales are aligned.
    const MAX_DIGITS: usize = 36;

    /// Parses `[-]digits[.digits]`; `None` for anything else or more than 36 digits.
    pub(super) fn parse(text: &str) -> Option<Self> {
        let (negative, whole, fraction) = split_decimal(text)?;
        if whole.len() + fraction.len() > Self::MAX_DIGITS {
            return None;
        }
        let magnitude = whole
            .bytes()
            .chain(fraction.bytes())
            .fold(0_i128, |acc, byte| acc * 10 + i128::from(byte - b'0'));
        Some(Self {
            units: if negative { -magnitude } else { magnitude },
            scale: u32::try_from(fraction.len()).ok()?,
        })
    }

    /// The units at a scale at least this one's; `None` on overflow.
    pub(super) fn units_at(self, scale: u32) -> Option<i128> {
        let factor = 10_i128.checked_pow(scale.checked_sub(self.scale)?)?;
        self.units.checked_mul(factor)
    }

    /// `self - other`, exactly; `None` on overflow.
    pub(super) fn minus(self, other: Self) -> Option<Self> {
        let scale = self.scale.max(other.scale);
        Some(Self {
            units: self.units_at(scale)?.checked_sub(other.units_at(scale)?)?,
            scale,
        })
    }

    /// How `self` compares with `other`; `None` on overflow.
    pub(super) fn compare(self, other: Self) -> Option<Ordering> {
        self.minus(other).map(|difference| difference.units.cmp(&0))
    }

    /// The colour of a change: up, down, or plain for none.
    pub(super) fn trend(self) -> Style {
        match self.units.cmp(&0) {
            Ordering::Greater => Style::Up,
            Ordering::Less => Style::Down,
            Ordering::Equal => Style::Plain,
        }
    }
}

impl fmt::Display for Decimal {
    /// All `scale` fractional digits; callers trim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = self.scale as usize;
        let digits = format!("{:0>width$}", self.units.unsigned_abs(), width = scale + 1);
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        let sign = if self.units < 0 { "-" } else { "" };
        if fraction.is_empty() {
            write!(f, "{sign}{whole}")
        } else {
            write!(f, "{sign}{whole}.{fraction}")
        }
    }
}

/// One side of a book update: how many levels it sent and its best one.
pub(super) struct BookSide {
    /// `None` when the side is not a JSON array.
    pub(super) count: Option<usize>,
    /// Its best level.
    pub(super) best: Level<'static>,
}

/// The best level of a side, or why there is none.
pub(super) enum Level<'a> {
    /// A price and its quantity, as sent: borrowed from a book ticker, copied out of a
    /// parsed depth side.
    At {
        price: Cow<'a, str>,
        qty: Cow<'a, str>,
    },
    /// The side sent no levels.
    Empty,
    /// The side or one of its levels is not `[price, qty]` with decimal prices.
    Malformed,
}

impl Level<'_> {
    /// What the price column shows when there is no level to print: `-` for a side that
    /// sent none, `?` for one that could not be read.
    pub(super) fn placeholder(&self) -> &'static str {
        if matches!(self, Self::Empty) {
            "-"
        } else {
            "?"
        }
    }
}

impl BookSide {
    /// Parses a side's levels (this path is for people, so allocating is fine) and picks
    /// the level whose price compares as `better` (`Greater` for bids, `Less` for asks)
    /// against every other. Any malformed level makes the best unknown: it might have been it.
    pub(super) fn parse(levels: Option<&RawValue>, better: Ordering) -> Self {
        let Some(levels) = levels
            .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
            .and_then(|value| match value {
                Value::Array(levels) => Some(levels),
                _ => None,
            })
        else {
            return Self {
                count: None,
                best: Level::Malformed,
            };
        };
        Self {
            count: Some(levels.len()),
            best: best_level(&levels, better).unwrap_or(Level::Malformed),
        }
    }
}

/// The best of `levels` by price; `None` when any level is malformed.
pub(super) fn best_level(levels: &[Value], better: Ordering) -> Option<Level<'static>> {
    let mut best: Option<(Decimal, &str, &str)> = None;
    for level in levels {
        let (price, qty) = match level.as_array()?.as_slice() {
            [price, qty, ..] => (price.as_str()?, qty.as_str()?),
            _ => return None,
        };
        let value = Decimal::parse(price)?;
        let replaces = match best {
            Some((current, ..)) => value.compare(current)? == better,
            None => true,
        };
        if replaces {
            best = Some((value, price, qty));
        }
    }
    Some(best.map_or(Level::Empty, |(_, price, qty)| Level::At {
        price: Cow::Owned(price.to_owned()),
        qty: Cow::Owned(qty.to_owned()),
    }))
}
