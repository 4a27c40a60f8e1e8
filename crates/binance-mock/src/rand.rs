//! A tiny seeded PRNG (SplitMix64) for backoff jitter and the mock's price walk.
//! Neither needs cryptographic quality, and a seed makes tests repeatable.

use std::time::{SystemTime, UNIX_EPOCH};

/// SplitMix64: one `u64` of state, good statistical quality for jitter and simulation.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A generator with a fixed seed (tests, reproducible simulations).
    pub(crate) fn with_seed(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator seeded from the clock and `salt` (e.g. a symbol's hash), so threads
    /// started together do not jitter in lockstep.
    pub(crate) fn from_entropy(salt: u64) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        Self::with_seed(nanos ^ salt.rotate_left(32))
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float uniformly in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer uniformly in `[0, bound)`; `bound` 0 gives 0.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

/// A stable 64-bit hash of a string (FNV-1a), for seeding per symbol.
pub(crate) fn hash_str(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_generators_repeat_and_stay_in_range() {
        let mut a = Rng::with_seed(7);
        let mut b = Rng::with_seed(7);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let x = a.next_f64();
            assert!((0.0..1.0).contains(&x));
            assert!(a.below(10) < 10);
            b.next_f64();
            b.below(10);
        }
        assert_eq!(a.below(0), 0);
    }
}
