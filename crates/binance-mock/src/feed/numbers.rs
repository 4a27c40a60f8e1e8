//! Fixed-point amounts as Binance prints them. Everything is an integer of 1e-8 (Binance's
//! finest precision), so sums and comparisons are exact and the text is always the same
//! decimal string for the same amount; floats would print `0.30000000000000004`.

use std::fmt;

/// Prices and quantities are integers of 1e-8.
pub(super) const UNITS_PER_WHOLE: u64 = 100_000_000;

/// An amount in 1e-8 units, printed as Binance prints spot decimals: 8 places.
pub(super) struct Decimal(pub(super) u64);

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:08}",
            self.0 / UNITS_PER_WHOLE,
            self.0 % UNITS_PER_WHOLE
        )
    }
}

/// A signed amount in 1e-8 units (price changes, funding rates): `-0.00150000`.
pub(super) struct SignedDecimal(pub(super) i64);

impl fmt::Display for SignedDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            f.write_str("-")?;
        }
        Decimal(self.0.unsigned_abs()).fmt(f)
    }
}

/// A percentage in thousandths of a percent, printed with Binance's three places: `-1.235`.
pub(super) struct Percent(pub(super) i64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:03}", magnitude / 1000, magnitude % 1000)
    }
}

/// `price × qty` in 1e-8 units: a quote amount. Saturates instead of overflowing, so no
/// simulated volume can panic the exchange.
pub(super) fn quote_amount(price: u64, qty: u64) -> u64 {
    let product = u128::from(price) * u128::from(qty) / u128::from(UNITS_PER_WHOLE);
    u64::try_from(product).unwrap_or(u64::MAX)
}

/// `quote / base` in 1e-8 units: the average price of a volume; 0 for no volume.
pub(super) fn average_price(quote: u64, base: u64) -> u64 {
    if base == 0 {
        return 0;
    }
    let ratio = u128::from(quote) * u128::from(UNITS_PER_WHOLE) / u128::from(base);
    u64::try_from(ratio).unwrap_or(u64::MAX)
}

/// `to - from` as a signed amount, saturating.
pub(super) fn difference(to: u64, from: u64) -> i64 {
    let difference = i128::from(to) - i128::from(from);
    i64::try_from(difference).unwrap_or(if difference < 0 { i64::MIN } else { i64::MAX })
}

/// How far `to` is from `from`, in thousandths of a percent (what [`Percent`] prints).
pub(super) fn change_percent(to: u64, from: u64) -> i64 {
    if from == 0 {
        return 0;
    }
    let thousandths = (i128::from(to) - i128::from(from)) * 100_000 / i128::from(from);
    i64::try_from(thousandths).unwrap_or(0)
}

/// `value × numerator / denominator` without overflow (`denominator` 0 gives 0).
pub(super) fn scale(value: u64, numerator: u64, denominator: u64) -> u64 {
    if denominator == 0 {
        return 0;
    }
    let scaled = u128::from(value) * u128::from(numerator) / u128::from(denominator);
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_print_like_binance() {
        assert_eq!(Decimal(301_055_000_000).to_string(), "3010.55000000");
        assert_eq!(Decimal(1).to_string(), "0.00000001");
        assert_eq!(SignedDecimal(-150_000).to_string(), "-0.00150000");
        assert_eq!(SignedDecimal(10_000).to_string(), "0.00010000");
        assert_eq!(Percent(-1235).to_string(), "-1.235");
        assert_eq!(Percent(250_000).to_string(), "250.000");
        assert_eq!(Percent(5).to_string(), "0.005");
    }

    #[test]
    fn arithmetic_is_exact_and_never_overflows() {
        let price = 97_000 * UNITS_PER_WHOLE;
        let qty = UNITS_PER_WHOLE / 2;
        assert_eq!(quote_amount(price, qty), 48_500 * UNITS_PER_WHOLE);
        assert_eq!(average_price(48_500 * UNITS_PER_WHOLE, qty), price);
        assert_eq!(average_price(1, 0), 0);
        assert_eq!(quote_amount(u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(difference(1, 3), -2);
        assert_eq!(change_percent(103, 100), 3000);
        assert_eq!(change_percent(1, 0), 0);
        assert_eq!(scale(u64::MAX, 3, 2), u64::MAX);
    }
}
