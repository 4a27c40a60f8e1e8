//! [`Jitter`]: random fractions for spreading retries, so symbols that failed together do
//! not come back together. Drawn from std's randomly keyed hasher (a fresh key per
//! instance), fed a counter: no cryptographic claim, no dependency, no `unsafe`.

use std::hash::{BuildHasher, RandomState};

/// A source of uniform fractions in `[0, 1)`.
#[derive(Debug, Clone)]
pub(crate) struct Jitter {
    keys: RandomState,
    draws: u64,
}

impl Jitter {
    /// A source with fresh random keys.
    pub(crate) fn new() -> Self {
        Self {
            keys: RandomState::new(),
            draws: 0,
        }
    }

    /// The next fraction in `[0, 1)`.
    pub(crate) fn fraction(&mut self) -> f64 {
        self.draws = self.draws.wrapping_add(1);
        let bits = self.keys.hash_one(self.draws) >> 11;
        bits as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_stay_in_range_and_spread() {
        let mut jitter = Jitter::new();
        let draws: Vec<f64> = (0..1000).map(|_| jitter.fraction()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let low = draws.iter().filter(|x| **x < 0.5).count();
        assert!((300..700).contains(&low), "{low} of 1000 below one half");
    }

    #[test]
    fn two_sources_differ() {
        let (mut a, mut b) = (Jitter::new(), Jitter::new());
        let a: Vec<f64> = (0..8).map(|_| a.fraction()).collect();
        let b: Vec<f64> = (0..8).map(|_| b.fraction()).collect();
        assert_ne!(a, b);
    }
}
