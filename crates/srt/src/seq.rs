//! Packet sequence numbers (31 bits) and message numbers (26 bits), both wrapping.

use std::fmt;

/// A 31-bit packet sequence number. Comparisons are circular: of two numbers less than
/// 2^30 apart, the one reached by counting forward is the later.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(u32);

impl SeqNumber {
    /// The largest sequence number, 2^31 - 1.
    pub const MAX: u32 = 0x7FFF_FFFF;
    const HALF: u32 = 0x4000_0000;

    /// The low 31 bits of `value` (the top bit is dropped, as on the wire).
    pub const fn new(value: u32) -> Self {
        Self(value & Self::MAX)
    }

    /// The numeric value, 0..=2^31-1.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// `self + n`, wrapping at 2^31.
    #[must_use]
    pub const fn add(self, n: u32) -> Self {
        Self(self.0.wrapping_add(n) & Self::MAX)
    }

    /// `self - n`, wrapping at 2^31.
    #[must_use]
    pub const fn sub(self, n: u32) -> Self {
        Self(self.0.wrapping_sub(n) & Self::MAX)
    }

    /// The next sequence number.
    #[must_use]
    pub const fn next(self) -> Self {
        self.add(1)
    }

    /// Signed circular distance `self - other`, in -2^30..2^30.
    pub const fn diff(self, other: Self) -> i32 {
        let d = self.0.wrapping_sub(other.0) & Self::MAX;
        if d >= Self::HALF {
            // Negative: d - 2^31 fits in i32 since d < 2^31.
            (d as i32).wrapping_sub(Self::MAX as i32).wrapping_sub(1)
        } else {
            d as i32
        }
    }

    /// Whether `self` comes strictly before `other`.
    pub const fn is_before(self, other: Self) -> bool {
        self.diff(other) < 0
    }
}

impl fmt::Debug for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A 26-bit message number. libsrt counts from 1 and skips 0 on wrap, so do we.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct MsgNumber(u32);

impl MsgNumber {
    /// The largest message number, 2^26 - 1.
    pub const MAX: u32 = 0x03FF_FFFF;

    /// The low 26 bits of `value`.
    pub const fn new(value: u32) -> Self {
        Self(value & Self::MAX)
    }

    /// The numeric value.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// The next message number, 1 after 2^26 - 1.
    #[must_use]
    pub const fn next(self) -> Self {
        if self.0 >= Self::MAX {
            Self(1)
        } else {
            Self(self.0 + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_31_bits() {
        let s = SeqNumber::new(SeqNumber::MAX);
        assert_eq!(s.next(), SeqNumber::new(0));
        assert_eq!(SeqNumber::new(0).sub(1), s);
        assert_eq!(SeqNumber::new(0x8000_0005), SeqNumber::new(5));
    }

    #[test]
    fn circular_distance() {
        let a = SeqNumber::new(SeqNumber::MAX - 2);
        let b = SeqNumber::new(3);
        assert_eq!(b.diff(a), 6);
        assert_eq!(a.diff(b), -6);
        assert!(a.is_before(b));
        assert!(!b.is_before(a));
        assert_eq!(a.diff(a), 0);
        assert_eq!(
            SeqNumber::new(0x3FFF_FFFF).diff(SeqNumber::new(0)),
            0x3FFF_FFFF
        );
        assert_eq!(
            SeqNumber::new(0x4000_0000).diff(SeqNumber::new(0)),
            -0x4000_0000
        );
    }

    #[test]
    fn message_numbers_skip_zero() {
        assert_eq!(MsgNumber::new(MsgNumber::MAX).next(), MsgNumber::new(1));
        assert_eq!(MsgNumber::new(7).next().value(), 8);
    }
}
