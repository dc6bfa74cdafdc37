//! Round-trip time estimation (draft-sharabayko-srt "Round-Trip Time Estimation"):
//! `RTT = 7/8 RTT + 1/8 rtt`, `RTTVar = 3/4 RTTVar + 1/4 |RTT - rtt|`, starting at
//! 100 ms / 50 ms. The receiver measures ACK→ACKACK; the sender takes the receiver's
//! reports from full ACKs.

use std::time::Duration;

/// A smoothed RTT estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtt {
    rtt_us: u32,
    var_us: u32,
    measured: bool,
}

impl Default for Rtt {
    fn default() -> Self {
        Self {
            rtt_us: 100_000,
            var_us: 50_000,
            measured: false,
        }
    }
}

impl Rtt {
    /// Smoothed RTT, microseconds.
    pub fn rtt_us(&self) -> u32 {
        self.rtt_us
    }

    /// RTT variance, microseconds.
    pub fn var_us(&self) -> u32 {
        self.var_us
    }

    /// Smoothed RTT.
    pub fn rtt(&self) -> Duration {
        Duration::from_micros(u64::from(self.rtt_us))
    }

    /// The periodic NAK interval: (RTT + 4 RTTVar) / 2, at least 20 ms (and 20 ms until
    /// a first measurement, so early losses are not left to the 100 ms default).
    pub fn nak_interval(&self) -> Duration {
        if !self.measured {
            return Duration::from_millis(20);
        }
        let us = (u64::from(self.rtt_us) + 4 * u64::from(self.var_us)) / 2;
        Duration::from_micros(us).max(Duration::from_millis(20))
    }

    /// A local measurement (ACK sent → ACKACK received), microseconds.
    pub fn on_sample(&mut self, sample_us: u32) {
        if self.measured {
            let diff = self.rtt_us.abs_diff(sample_us);
            self.var_us = ((3 * u64::from(self.var_us) + u64::from(diff)) / 4) as u32;
            self.rtt_us = ((7 * u64::from(self.rtt_us) + u64::from(sample_us)) / 8) as u32;
        } else {
            self.rtt_us = sample_us;
            self.var_us = sample_us / 2;
            self.measured = true;
        }
    }

    /// The peer's estimate, from a full ACK. The initial 100/50 ms pair means the peer
    /// has not measured yet, and is ignored.
    pub fn on_report(&mut self, rtt_us: u32, var_us: u32) {
        let initial = Self::default();
        if (rtt_us, var_us) == (initial.rtt_us, initial.var_us) {
            return;
        }
        if self.measured {
            self.var_us = ((3 * u64::from(self.var_us) + u64::from(var_us)) / 4) as u32;
            self.rtt_us = ((7 * u64::from(self.rtt_us) + u64::from(rtt_us)) / 8) as u32;
        } else {
            self.rtt_us = rtt_us;
            self.var_us = var_us;
            self.measured = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sample_replaces_the_default_then_smooths() {
        let mut r = Rtt::default();
        assert_eq!(r.nak_interval(), Duration::from_millis(20));
        r.on_sample(60_000);
        assert_eq!(r.nak_interval(), Duration::from_millis(90));
        r = Rtt::default();
        r.on_sample(8_000);
        assert_eq!((r.rtt_us(), r.var_us()), (8_000, 4_000));
        r.on_sample(16_000);
        assert_eq!((r.rtt_us(), r.var_us()), (9_000, 5_000));
        assert_eq!(r.nak_interval(), Duration::from_millis(20));
        let mut s = Rtt::default();
        s.on_report(100_000, 50_000);
        assert_eq!(s, Rtt::default());
        s.on_report(1_000, 500);
        assert_eq!(s.rtt(), Duration::from_millis(1));
        s.on_report(9_000, 500);
        assert_eq!(s.rtt_us(), 2_000);
    }
}
