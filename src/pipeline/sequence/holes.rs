//! [`Holes`]: the id ranges below the last written id that were never written (gaps,
//! breaks, the ground a restarted sequence has still to cover), a few of them, in a fixed
//! array: judging an id below the last written one looks here, nothing allocates.

/// How many ranges are remembered. Each gap adds one and a restart inside a gap splits one;
/// when full, the oldest is forgotten: its ids then count as written, so an id arriving in
/// it later is dropped as a duplicate (and reported) rather than written out of order.
const MAX_HOLES: usize = 6;

/// Id ranges (inclusive) known not to have been written, oldest first.
#[derive(Debug, Clone, Default)]
pub(super) struct Holes {
    ranges: [(u64, u64); MAX_HOLES],
    len: usize,
}

impl Holes {
    /// Whether `id` lies in one of the ranges.
    pub(super) fn contains(&self, id: u64) -> bool {
        self.ranges[..self.len]
            .iter()
            .any(|&(low, high)| low <= id && id <= high)
    }

    /// Remembers `low..=high` as never written (nothing when the range is empty).
    pub(super) fn add(&mut self, low: u64, high: u64) {
        if low > high {
            return;
        }
        if self.len == MAX_HOLES {
            self.ranges.copy_within(1.., 0);
            self.len -= 1;
        }
        self.ranges[self.len] = (low, high);
        self.len += 1;
    }

    /// Marks `low..=high` written: cuts it out of every range, splitting one it falls inside.
    pub(super) fn fill(&mut self, low: u64, high: u64) {
        let mut kept = Self::default();
        for &(hole_low, hole_high) in &self.ranges[..self.len] {
            if high < hole_low || hole_high < low {
                kept.add(hole_low, hole_high);
                continue;
            }
            if hole_low < low {
                kept.add(hole_low, low - 1);
            }
            if high < hole_high {
                kept.add(high + 1, hole_high);
            }
        }
        *self = kept;
    }

    /// Forgets the ranges wholly below `floor` (no longer recent) or above `top`.
    pub(super) fn keep_within(&mut self, floor: u64, top: u64) {
        let mut kept = Self::default();
        for &(low, high) in &self.ranges[..self.len] {
            if high >= floor && low <= top {
                kept.add(low.max(floor), high.min(top));
            }
        }
        *self = kept;
    }

    /// Whether no range is remembered.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filling_splits_and_trims_ranges() {
        let mut holes = Holes::default();
        holes.add(101, 899_999);
        assert!(holes.contains(101) && holes.contains(899_999) && !holes.contains(100));
        holes.fill(101, 103);
        assert!(!holes.contains(103) && holes.contains(104));
        holes.fill(500, 600);
        assert!(holes.contains(499) && !holes.contains(550) && holes.contains(601));
        holes.keep_within(550, 700);
        assert!(!holes.contains(499) && holes.contains(601) && !holes.contains(701));
    }

    #[test]
    fn the_oldest_range_is_forgotten_when_full() {
        let mut holes = Holes::default();
        for start in 0..=MAX_HOLES as u64 {
            holes.add(start * 10, start * 10 + 5);
        }
        assert!(!holes.contains(0), "the oldest went");
        assert!(holes.contains(10) && holes.contains(MAX_HOLES as u64 * 10));
        holes.add(7, 6);
        assert!(!holes.contains(6), "an empty range adds nothing");
    }
}
