//! 33-bit PTS/DTS values turned into one growing 64-bit timeline.

use super::pes::TIMESTAMP_MASK;

/// A jump larger than this (10 s at 90 kHz), forwards or backwards, is a discontinuity
/// (an encoder restart, a splice), not the clock moving.
pub const DISCONTINUITY_THRESHOLD: i64 = 10 * 90_000;

const HALF: u64 = 1 << 32;

/// Unwraps 33-bit timestamps into an `i64`: each value is placed at the distance from
/// the previous one that is shortest modulo 2^33, so the timeline goes on growing past
/// 2^33. The first value is kept as it is. A step larger than
/// [`DISCONTINUITY_THRESHOLD`] resets the base: the output continues from the previous
/// output value instead of jumping.
///
/// One unwrapper serves all tracks of a program (they share the 90 kHz clock), so PTS and
/// DTS of different tracks stay comparable.
#[derive(Debug, Clone, Default)]
pub struct TimestampUnwrapper {
    /// Last raw value and its output.
    last: Option<(u64, i64)>,
}

impl TimestampUnwrapper {
    pub fn new() -> Self {
        Self::default()
    }

    /// The unwrapped value of `raw` (only its low 33 bits are used), and whether it is
    /// a discontinuity.
    pub fn unwrap(&mut self, raw: u64) -> (i64, bool) {
        let raw = raw & TIMESTAMP_MASK;
        let Some((last_raw, last_out)) = self.last else {
            self.last = Some((raw, raw as i64));
            return (raw as i64, false);
        };
        let forward = raw.wrapping_sub(last_raw) & TIMESTAMP_MASK;
        let step = if forward >= HALF {
            -((last_raw.wrapping_sub(raw) & TIMESTAMP_MASK) as i64)
        } else {
            forward as i64
        };
        let (out, jumped) = if step.abs() > DISCONTINUITY_THRESHOLD {
            (last_out, true)
        } else {
            (last_out.saturating_add(step), false)
        };
        self.last = Some((raw, out));
        (out, jumped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_past_33_bits_and_steps_back() {
        let mut u = TimestampUnwrapper::new();
        let start = (1u64 << 33) - 90_000;
        assert_eq!(u.unwrap(start), (start as i64, false));
        assert_eq!(u.unwrap(start + 3_000), (start as i64 + 3_000, false));
        // Wrapped: 2^33 + 1000 arrives as 1000.
        assert_eq!(u.unwrap(1_000), ((1i64 << 33) + 1_000, false));
        // A B-frame PTS slightly behind, across the wrap again.
        assert_eq!(u.unwrap(start + 80_000), ((1i64 << 33) - 10_000, false));
        assert_eq!(u.unwrap(2_000), ((1i64 << 33) + 2_000, false));
    }

    #[test]
    fn large_jumps_reset_the_base() {
        let mut u = TimestampUnwrapper::new();
        assert_eq!(u.unwrap(1_000_000), (1_000_000, false));
        // Encoder restart: back to 0.
        assert_eq!(u.unwrap(0), (1_000_000, true));
        assert_eq!(u.unwrap(3_000), (1_003_000, false));
        // Forward jump of 20 s.
        assert_eq!(u.unwrap(3_000 + 1_800_000), (1_003_000, true));
        assert_eq!(u.unwrap(3_000 + 1_800_000 + 3_000), (1_006_000, false));
        // Exactly the threshold is still the clock.
        let mut u = TimestampUnwrapper::new();
        u.unwrap(0);
        assert_eq!(
            u.unwrap(DISCONTINUITY_THRESHOLD as u64),
            (DISCONTINUITY_THRESHOLD, false)
        );
    }
}
