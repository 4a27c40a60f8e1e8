//! `--from` and `--to` times: a UTC date and time (`2026-11-28T14:05`, seconds and a
//! fraction optional, `Z` optional, a space for the `T` allowed; a date alone is its
//! midnight) or a Unix time (seconds, milliseconds or microseconds, told apart by size).

use binance_streams::time::days_from_civil;

/// Parses a time into µs since the Unix epoch.
///
/// # Errors
/// One line naming the text and the forms accepted.
pub(crate) fn parse_time_us(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid time '{text}': expected a UTC time like 2026-11-28T14:05:00Z or 2026-11-28, or Unix seconds, milliseconds or microseconds"
        )
    };
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        let number: u64 = text.parse().map_err(|_| bad())?;
        return Ok(match number {
            n if n < 100_000_000_000 => n * 1_000_000,
            n if n < 100_000_000_000_000 => n * 1_000,
            n => n,
        });
    }
    let text_utc = text.strip_suffix('Z').unwrap_or(text);
    let (date, clock) = match text_utc.split_once(['T', ' ']) {
        Some((date, clock)) => (date, Some(clock)),
        None => (text_utc, None),
    };
    let mut parts = date.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let number = |part: &str, max: i64| -> Result<i64, String> {
        match part.parse::<i64>() {
            Ok(value) if part.len() >= 2 && (0..=max).contains(&value) => Ok(value),
            _ => Err(bad()),
        }
    };
    let (year, month, day) = (number(year, 9999)?, number(month, 12)?, number(day, 31)?);
    if year < 1970 || month == 0 || day == 0 {
        return Err(bad());
    }
    let mut micros: i64 = 0;
    if let Some(clock) = clock {
        let (clock, fraction) = match clock.split_once('.') {
            Some((clock, fraction)) => (clock, Some(fraction)),
            None => (clock, None),
        };
        let mut fields = clock.split(':');
        let hour = number(fields.next().ok_or_else(bad)?, 23)?;
        let minute = fields.next().map_or(Ok(0), |field| number(field, 59))?;
        let second = fields.next().map_or(Ok(0), |field| number(field, 60))?;
        if fields.next().is_some() {
            return Err(bad());
        }
        micros = ((hour * 60 + minute) * 60 + second) * 1_000_000;
        if let Some(fraction) = fraction {
            if fraction.is_empty()
                || fraction.len() > 6
                || !fraction.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad());
            }
            let padded = format!("{fraction:0<6}");
            micros += padded.parse::<i64>().map_err(|_| bad())?;
        }
    }
    let days = days_from_civil(year, month, day);
    u64::try_from(days * 86_400 * 1_000_000 + micros).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_and_unix_times_parse() {
        let at = 1_795_874_706_000_000; // 2026-11-28T14:05:06Z
        assert_eq!(parse_time_us("2026-11-28T14:05:06Z"), Ok(at));
        assert_eq!(parse_time_us("2026-11-28 14:05:06"), Ok(at));
        assert_eq!(parse_time_us("2026-11-28T14:05:06.25"), Ok(at + 250_000));
        assert_eq!(parse_time_us("2026-11-28T14"), Ok(at - 306_000_000));
        assert_eq!(parse_time_us("2026-11-28"), Ok(at - 50_706_000_000));
        assert_eq!(parse_time_us("1795874706"), Ok(at));
        assert_eq!(parse_time_us("1795874706000"), Ok(at));
        assert_eq!(parse_time_us("1795874706000000"), Ok(at));
    }

    #[test]
    fn bad_times_name_the_forms_accepted() {
        for text in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-28T25:00",
            "2026-11-28T14:05:06.1234567",
        ] {
            let error = parse_time_us(text).unwrap_err();
            assert!(
                error.starts_with(&format!("invalid time '{text}': expected")),
                "{error}"
            );
        }
    }
}
