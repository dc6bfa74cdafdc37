//! Keyframe requests (a viewer's PLI/FIR, a reader joining): coalesced per stream into at
//! most one request per second to its publisher, whatever protocol reads or publishes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

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

/// The keyframe requests of one stream's readers, as its publisher sees them. Owned by the
/// stream: it ends with the publisher, nothing to prune.
#[derive(Debug, Default)]
pub struct KeyframeRequests {
    gate: Mutex<KeyframeGate>,
    forwarded: AtomicU64,
    pending: AtomicBool,
    notify: Notify,
}

impl KeyframeRequests {
    /// A reader asks for a keyframe at `now`; returns whether it was forwarded (at most
    /// one per [`KEYFRAME_REQUEST_INTERVAL`]).
    pub fn request(&self, now: Instant) -> bool {
        let allowed = match self.gate.lock() {
            Ok(mut g) => g.allow(now),
            Err(p) => p.into_inner().allow(now),
        };
        if !allowed {
            return false;
        }
        self.forwarded.fetch_add(1, Ordering::Relaxed);
        self.pending.store(true, Ordering::Release);
        self.notify.notify_waiters();
        true
    }

    /// Requests forwarded so far.
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }

    /// Takes the forwarded request not yet acted on, if any (for the publisher).
    pub fn take_pending(&self) -> bool {
        self.pending.swap(false, Ordering::AcqRel)
    }

    /// Resolves at the next forwarded request (for a publisher that waits for them).
    pub async fn requested(&self) {
        self.notify.notified().await;
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
    fn requests_of_many_readers_coalesce() {
        let t0 = Instant::now();
        let r = KeyframeRequests::default();
        let forwarded = (0..64)
            .filter(|i| r.request(t0 + Duration::from_millis(*i)))
            .count();
        assert_eq!(forwarded, 1);
        assert_eq!(r.forwarded(), 1);
        assert!(r.take_pending());
        assert!(!r.take_pending());
        assert!(r.request(t0 + Duration::from_secs(1)));
        assert_eq!(r.forwarded(), 2);
    }
}
