//! Exact decimal keys for price levels. Binance sends prices as decimal strings
//! (`"3010.55000000"`); a book must order them exactly and treat `"3010.55"` and
//! `"3010.55000000"` as one level, which floats cannot promise. A [`PriceKey`] is the price
//! scaled by 10^18 as an integer: exact, ordered, and cheap to compare. Quantities are
//! never computed with, only tested for zero ([`is_zero`]).

/// Decimal places a key keeps; Binance's prices carry at most 8.
const SCALE_DIGITS: usize = 18;

/// A price as an exact integer: the decimal scaled by 10^[`SCALE_DIGITS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PriceKey(u128);

impl PriceKey {
    /// Parses a non-negative decimal string (`"3010.55"`, `"0.00001000"`, `"7"`); `None`
    /// for anything else (signs, exponents, more than 18 decimals, absurd sizes).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) {
            return None;
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > SCALE_DIGITS {
            return None;
        }
        let mut value: u128 = 0;
        for byte in whole.bytes().chain(fraction.bytes()) {
            value = value
                .checked_mul(10)?
                .checked_add(u128::from(byte - b'0'))?;
        }
        let scale = SCALE_DIGITS - fraction.len();
        for _ in 0..scale {
            value = value.checked_mul(10)?;
        }
        Some(Self(value))
    }
}

/// Whether a decimal quantity string is zero (`"0"`, `"0.00000000"`): Binance's "delete
/// this level".
pub(crate) fn is_zero(qty: &str) -> bool {
    qty.bytes().all(|byte| byte == b'0' || byte == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_prices_written_differently_share_a_key_and_order_exactly() {
        let key = |text: &str| PriceKey::parse(text).unwrap();
        assert_eq!(key("3010.55"), key("3010.55000000"));
        assert_eq!(key("7"), key("7.0"));
        assert!(key("0.00000001") < key("0.00000002"));
        assert!(key("99.99999999") < key("100"));
        // Floats would call these equal.
        assert!(key("9007199254740993") > key("9007199254740992"));
        for bad in [
            "",
            "-1",
            "1e5",
            "1.2.3",
            "abc",
            ".5",
            "1.0000000000000000001",
        ] {
            assert_eq!(PriceKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn zero_quantities_are_deletions() {
        assert!(is_zero("0"));
        assert!(is_zero("0.00000000"));
        assert!(!is_zero("0.00000001"));
        assert!(!is_zero("10"));
    }
}
