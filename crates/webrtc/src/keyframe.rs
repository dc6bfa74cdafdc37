//! Coalescing of keyframe requests (PLI/FIR): at most one per interval.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Default interval between two keyframe requests forwarded to a publisher.
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_secs(1);

/// Lets a keyframe request through at most once per `interval` (sans-IO).
#[derive(Debug, Clone)]
pub struct KeyframeGate {
    interval: Duration,
    last: Option<Instant>,
}

impl KeyframeGate {
    pub fn new(interval: Duration) -> Self {
        KeyframeGate {
            interval,
            last: None,
        }
    }

    /// Whether a request arriving at `now` is forwarded.
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.interval => false,
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}

impl Default for KeyframeGate {
    fn default() -> Self {
        KeyframeGate::new(KEYFRAME_REQUEST_INTERVAL)
    }
}

/// A [`KeyframeGate`] shared by all viewers of one publisher.
#[derive(Debug, Default)]
pub struct SharedKeyframeGate {
    inner: Mutex<KeyframeGate>,
}

impl SharedKeyframeGate {
    pub fn new(interval: Duration) -> Self {
        SharedKeyframeGate {
            inner: Mutex::new(KeyframeGate::new(interval)),
        }
    }

    /// Whether a request arriving at `now` is forwarded.
    pub fn allow(&self, now: Instant) -> bool {
        match self.inner.lock() {
            Ok(mut gate) => gate.allow(now),
            Err(poisoned) => poisoned.into_inner().allow(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_lets_one_request_per_interval() {
        let t0 = Instant::now();
        let mut gate = KeyframeGate::default();
        assert!(gate.allow(t0));
        assert!(!gate.allow(t0 + Duration::from_millis(10)));
        assert!(!gate.allow(t0 + Duration::from_millis(999)));
        assert!(gate.allow(t0 + Duration::from_millis(1000)));
        assert!(!gate.allow(t0 + Duration::from_millis(1500)));
    }

    #[test]
    fn shared_gate_coalesces_across_viewers() {
        let t0 = Instant::now();
        let gate = SharedKeyframeGate::new(Duration::from_secs(1));
        let allowed = (0..64)
            .filter(|i| gate.allow(t0 + Duration::from_millis(*i)))
            .count();
        assert_eq!(allowed, 1);
    }
}
