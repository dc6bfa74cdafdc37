//! Timestamp-based packet delivery (draft-sharabayko-srt "TSBPD"): maps the peer's packet
//! timestamps to local delivery instants.
//!
//! `delivery = time base + timestamp + latency`, where the time base is "local now minus
//! the peer's timestamp" when its conclusion handshake arrived. Timestamps are 32-bit
//! microseconds and wrap every ~71.6 minutes; they are extended to 64 bits here. A drift
//! tracer (as libsrt's) averages `arrival - (base + timestamp)` over the peer's ACKACKs and
//! moves the base when the clocks have drifted apart by more than 5 ms.

use std::time::{Duration, Instant};

/// ACKACK samples averaged before the base may move (libsrt: 1000).
const DRIFT_SAMPLES: u32 = 1000;
/// Drift beyond which the base moves (libsrt: 5 ms).
const DRIFT_MAX_US: i64 = 5_000;
/// Delivery times are capped this far past the epoch (a year), so hostile timestamps
/// cannot overflow `Instant` arithmetic.
const MAX_OFFSET_US: u64 = 365 * 24 * 3600 * 1_000_000;

/// The delivery clock of one connection's receiving side.
#[derive(Debug, Clone)]
pub struct Tsbpd {
    epoch: Instant,
    /// Local microseconds since `epoch` at which the peer's timestamp 0 happened.
    base_us: i64,
    latency_us: i64,
    /// The largest extended timestamp seen.
    last_ts: u64,
    drift_sum: i64,
    drift_count: u32,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Tsbpd {
    /// A clock anchored on a handshake with timestamp `hs_ts` that arrived at `arrival`.
    /// `epoch` is any instant not after `arrival` (the connection's start).
    pub fn new(epoch: Instant, arrival: Instant, hs_ts: u32, latency: Duration) -> Self {
        let since = micros(arrival.saturating_duration_since(epoch));
        Self {
            epoch,
            base_us: since - i64::from(hs_ts),
            latency_us: micros(latency),
            last_ts: u64::from(hs_ts),
            drift_sum: 0,
            drift_count: 0,
        }
    }

    /// The negotiated latency.
    pub fn latency(&self) -> Duration {
        Duration::from_micros(u64::try_from(self.latency_us).unwrap_or(0))
    }

    fn unwrap_ts(&self, ts: u32) -> u64 {
        // Signed 32-bit distance from the last timestamp, then applied to the 64-bit value.
        let delta = i64::from(ts.wrapping_sub(self.last_ts as u32) as i32);
        let last = i64::try_from(self.last_ts).unwrap_or(i64::MAX);
        u64::try_from(last.saturating_add(delta)).unwrap_or(0)
    }

    /// Extends a data packet timestamp to 64 bits, following wraps.
    pub fn extend(&mut self, ts: u32) -> u64 {
        let ext = self.unwrap_ts(ts);
        self.last_ts = self.last_ts.max(ext);
        ext
    }

    /// When a packet with extended timestamp `ts` is due.
    pub fn delivery_time(&self, ts: u64) -> Instant {
        let at = self
            .base_us
            .saturating_add(i64::try_from(ts).unwrap_or(i64::MAX))
            .saturating_add(self.latency_us);
        let at = u64::try_from(at).unwrap_or(0).min(MAX_OFFSET_US);
        self.epoch + Duration::from_micros(at)
    }

    /// Feeds the drift tracer with an ACKACK stamped `ts` by the peer, arrived at `now`.
    pub fn on_ackack(&mut self, now: Instant, ts: u32) {
        let ext = i64::try_from(self.unwrap_ts(ts)).unwrap_or(i64::MAX);
        let arrival = micros(now.saturating_duration_since(self.epoch));
        let drift = arrival.saturating_sub(self.base_us.saturating_add(ext));
        self.drift_sum = self.drift_sum.saturating_add(drift);
        self.drift_count += 1;
        if self.drift_count >= DRIFT_SAMPLES {
            let mean = self.drift_sum / i64::from(self.drift_count);
            self.drift_sum = 0;
            self.drift_count = 0;
            if mean.abs() > DRIFT_MAX_US {
                tracing::debug!(drift_us = mean, "TSBPD time base adjusted for clock drift");
                self.base_us = self.base_us.saturating_add(mean);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_is_base_plus_timestamp_plus_latency() {
        let t0 = Instant::now();
        let arrival = t0 + Duration::from_millis(50);
        let mut c = Tsbpd::new(t0, arrival, 1_000, Duration::from_millis(120));
        // Timestamp 1000 µs arrived at t0+50ms, so timestamp 11000 is due 10 ms later + latency.
        let ts = c.extend(11_000);
        assert_eq!(
            c.delivery_time(ts),
            arrival + Duration::from_millis(10 + 120)
        );
    }

    #[test]
    fn timestamps_are_unwrapped_across_2_pow_32() {
        let t0 = Instant::now();
        let mut c = Tsbpd::new(t0, t0, u32::MAX - 10, Duration::ZERO);
        assert_eq!(c.extend(u32::MAX - 5), u64::from(u32::MAX) - 5);
        assert_eq!(c.extend(4), (1u64 << 32) + 4);
        // A retransmission from before the wrap stays before it.
        assert_eq!(c.extend(u32::MAX - 1), u64::from(u32::MAX) - 1);
        assert_eq!(
            c.delivery_time((1u64 << 32) + 4),
            t0 + Duration::from_micros(15)
        );
    }

    #[test]
    fn drift_moves_the_base_after_enough_samples() {
        let t0 = Instant::now();
        let mut c = Tsbpd::new(t0, t0, 0, Duration::ZERO);
        // The peer's clock runs 8 ms behind ours for every ACKACK.
        for i in 0..DRIFT_SAMPLES {
            let ts = i * 10_000;
            c.on_ackack(t0 + Duration::from_micros(u64::from(ts) + 8_000), ts);
        }
        assert_eq!(c.delivery_time(0), t0 + Duration::from_millis(8));
        // Small drift does not move it.
        for i in 0..DRIFT_SAMPLES {
            let ts = i * 10_000;
            c.on_ackack(t0 + Duration::from_micros(u64::from(ts) + 9_000), ts);
        }
        assert_eq!(c.delivery_time(0), t0 + Duration::from_millis(8));
    }
}
