//! The byte cursor the fast path validates with. It accepts only the compact JSON Binance
//! sends: no whitespace anywhere, strings without escapes or control characters, unsigned
//! integers in canonical form (no sign, no leading zero, no fraction or exponent, at most
//! `u64::MAX`), `true` and `false`, and depth levels as arrays of two such strings.
//!
//! Each of these tokens is written back by serde exactly as it was read (a string with
//! nothing to escape, an integer through `itoa`, a raw level array verbatim), which is why
//! the fast path can copy the frame's bytes into the line. Whatever else serde would accept
//! (an escape, a space, `1.0`, `null`) makes the cursor say no, and the frame goes the
//! generic way.

/// A canonical unsigned integer: its digits as written, which is also how serde writes
/// the value, and the value.
#[derive(Debug, Clone, Copy)]
pub(super) struct Int<'a> {
    /// The digits, e.g. `12345`.
    pub(super) text: &'a [u8],
    /// Their value.
    pub(super) value: u64,
}

/// What is left of the frame to scan. Every method consumes its token and returns it, or
/// returns `None` (the frame is not one the fast path handles; the cursor is then spent).
#[derive(Debug)]
pub(super) struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`.
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Whether the whole input was consumed.
    pub(super) fn is_done(&self) -> bool {
        self.rest.is_empty()
    }

    /// Consumes `literal` if the input continues with it.
    pub(super) fn eat(&mut self, literal: &[u8]) -> bool {
        match self.rest.strip_prefix(literal) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// Consumes `literal`, which must come next.
    pub(super) fn expect(&mut self, literal: &[u8]) -> Option<()> {
        self.eat(literal).then_some(())
    }

    /// `key` (e.g. `,"t":`), then a canonical unsigned integer.
    pub(super) fn int(&mut self, key: &[u8]) -> Option<Int<'a>> {
        self.expect(key)?;
        self.integer()
    }

    /// `key`, then a string token, quotes included.
    pub(super) fn str(&mut self, key: &[u8]) -> Option<&'a [u8]> {
        self.expect(key)?;
        self.string()
    }

    /// `key`, then `true` or `false`, as written.
    pub(super) fn bool(&mut self, key: &[u8]) -> Option<&'a [u8]> {
        self.expect(key)?;
        self.boolean()
    }

    /// `key`, then depth levels, as written.
    pub(super) fn levels(&mut self, key: &[u8]) -> Option<&'a [u8]> {
        self.expect(key)?;
        self.level_array()
    }

    /// An optional field: `Some(None)` when `key` does not come next, `Some(Some(..))`
    /// when it does and its value is one of the cursor's tokens, `None` when it is not.
    pub(super) fn optional<T>(
        &mut self,
        key: &[u8],
        value: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<Option<T>> {
        if self.eat(key) {
            value(self).map(Some)
        } else {
            Some(None)
        }
    }

    /// A string token `"..."`, quotes included, with no escape and no control character:
    /// serde writes such a string back byte for byte.
    pub(super) fn string(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest;
        if rest.first() != Some(&b'"') {
            return None;
        }
        let end = 1 + plain_len(&rest[1..])?;
        if rest[end] != b'"' {
            return None;
        }
        let (token, after) = rest.split_at(end + 1);
        self.rest = after;
        Some(token)
    }

    /// A canonical unsigned integer that fits a `u64`.
    pub(super) fn integer(&mut self) -> Option<Int<'a>> {
        let rest = self.rest;
        let mut digits = 0;
        let mut value = 0u64;
        while let Some(digit) = rest.get(digits).map(|byte| byte.wrapping_sub(b'0')) {
            if digit > 9 {
                break;
            }
            // Nineteen digits cannot overflow a u64; a twentieth might.
            value = if digits < 19 {
                value * 10 + u64::from(digit)
            } else {
                value.checked_mul(10)?.checked_add(u64::from(digit))?
            };
            digits += 1;
        }
        // `0` alone, or no leading zero (serde rejects `01`).
        if digits == 0 || (digits > 1 && rest[0] == b'0') {
            return None;
        }
        let (text, after) = rest.split_at(digits);
        self.rest = after;
        Some(Int { text, value })
    }

    /// `true` or `false`, as written.
    pub(super) fn boolean(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest;
        let len = if rest.starts_with(b"true") {
            4
        } else if rest.starts_with(b"false") {
            5
        } else {
            return None;
        };
        let (token, after) = rest.split_at(len);
        self.rest = after;
        Some(token)
    }

    /// Depth levels as written: `[]` or `[["price","qty"],..]`, each a pair of strings.
    /// serde keeps them as a raw value and writes them back verbatim.
    pub(super) fn level_array(&mut self) -> Option<&'a [u8]> {
        let start = self.rest;
        self.expect(b"[")?;
        if !self.eat(b"]") {
            loop {
                self.expect(b"[")?;
                self.string()?;
                self.expect(b",")?;
                self.string()?;
                self.expect(b"]")?;
                if self.eat(b"]") {
                    break;
                }
                self.expect(b",")?;
            }
        }
        Some(&start[..start.len() - self.rest.len()])
    }
}

/// How many bytes at the start of `bytes` a plain string may hold: the index of the first
/// `"`, `\` or control character, found eight bytes at a time; `None` if there is none.
fn plain_len(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        // The classic "has a zero byte" and "has a byte below n" tests: the lowest byte
        // they flag is exact (borrows only run towards higher bytes), which is all the
        // search needs. Bytes from 0x80 (UTF-8) are never flagged.
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let flagged = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word))
            & HIGH_BITS;
        if flagged != 0 {
            return Some(at + (flagged.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = bytes[at..]
        .iter()
        .position(|byte| matches!(byte, b'"' | b'\\' | 0..=0x1f))?;
    Some(at + tail)
}

/// Appends `value` in decimal, as `itoa` (and so serde) writes it.
pub(super) fn write_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}
