//! Human durations: `200ms`, `1.5s`, `10m`, parsed and printed the same way everywhere
//! (command line, config file, log lines), so an error message quotes what the user typed.

use std::time::Duration;

/// The units a duration may carry, longest first so `ms` is not read as `m` + `s`.
const UNITS: [(&str, u64); 6] = [
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// What every duration error says is accepted.
pub(crate) const DURATION_HINT: &str =
    "expected a number and a unit (us, ms, s, m, h), like 200ms or 1.5s";

/// Parses `<number><unit>`, e.g. `200ms`, `1.5s`, `10m`, or several in a row from the
/// largest unit down, e.g. `23h50m`; a bare `0` is accepted.
///
/// # Errors
/// A one-line message naming the text and the accepted form.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration '{text}': {DURATION_HINT}");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let (nanos, after) = parse_term(rest).ok_or_else(bad)?;
        total = total.checked_add(nanos).ok_or_else(bad)?;
        rest = after;
    }
    Ok(Duration::from_nanos(total))
}

/// One `<number><unit>` at the start of `text`: its nanoseconds and what follows.
fn parse_term(text: &str) -> Option<(u64, &str)> {
    let number_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, after_number) = text.split_at(number_end);
    let unit_end = after_number
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(after_number.len());
    let (unit, rest) = after_number.split_at(unit_end);
    let nanos_per_unit = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, nanos)| *nanos)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole.checked_mul(nanos_per_unit)?;
    // Fractions are exact to the nanosecond: "1.5s" is 1_500_000_000 ns, no float rounding.
    let mut scale = nanos_per_unit;
    for digit in fraction.bytes() {
        if !digit.is_ascii_digit() {
            return None;
        }
        scale /= 10;
        nanos = nanos.checked_add(u64::from(digit - b'0') * scale)?;
    }
    Some((nanos, rest))
}

/// Prints a duration the way a person would write it: `250ms`, `1.5s`, `2m`, `36µs`.
pub(crate) fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    let (value, unit) = if nanos < 1_000_000 {
        (nanos as f64 / 1e3, "µs")
    } else if nanos < 1_000_000_000 {
        (nanos as f64 / 1e6, "ms")
    } else if nanos < 120_000_000_000 {
        (nanos as f64 / 1e9, "s")
    } else if nanos < 7_200_000_000_000 {
        (nanos as f64 / 60e9, "m")
    } else {
        (nanos as f64 / 3600e9, "h")
    };
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}{unit}")
    } else {
        format!("{rounded:.1}{unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("23h"), Ok(Duration::from_secs(23 * 3600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
        assert_eq!(
            parse_duration("23h50m"),
            Ok(Duration::from_secs(23 * 3600 + 3000))
        );
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn rejects_with_the_text_and_the_accepted_form() {
        for bad in [
            "",
            "200",
            "ms",
            "5x",
            "1.2.3s",
            "-1s",
            "1 s",
            "s5",
            ".s",
            "99999999999999999h",
        ] {
            let error = parse_duration(bad).unwrap_err();
            assert_eq!(
                error,
                format!("invalid duration '{bad}': {DURATION_HINT}"),
                "for {bad:?}"
            );
        }
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(format_duration(Duration::from_micros(36)), "36µs");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
        assert_eq!(format_duration(Duration::from_secs(86_100)), "23.9h");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
