//! Accepting connections. A failed `accept` (too many open files, no buffer space) is
//! retried after a pause that doubles from 5 ms up to 1 s, as Go's HTTP server does, and
//! is logged once per run of failures instead of once per attempt.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// First pause after a failed accept.
pub const MIN_DELAY: Duration = Duration::from_millis(5);
/// Longest pause.
pub const MAX_DELAY: Duration = Duration::from_secs(1);

/// The pause before the next accept after failures (sans-IO).
#[derive(Debug, Default, Clone)]
pub struct Backoff {
    delay: Option<Duration>,
    failures: u64,
}

impl Backoff {
    /// An accept succeeded: the next failure starts a new run. Returns how many failures
    /// the run that ended had.
    pub fn success(&mut self) -> u64 {
        self.delay = None;
        std::mem::take(&mut self.failures)
    }

    /// An accept failed: the pause before the next one.
    pub fn failure(&mut self) -> Duration {
        self.failures += 1;
        let next = match self.delay {
            None => MIN_DELAY,
            Some(d) => (d * 2).min(MAX_DELAY),
        };
        self.delay = Some(next);
        next
    }

    /// Failures in the current run.
    pub fn failures(&self) -> u64 {
        self.failures
    }
}

/// Accepts the next connection, pausing after errors (see the module's documentation).
/// The peer address is [canonical](crate::canonical). Cancel-safe.
pub async fn accept(listener: &TcpListener, backoff: &mut Backoff) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                let failed = backoff.success();
                if failed > 1 {
                    tracing::warn!("accept works again after {failed} failures");
                }
                return (socket, crate::canonical(peer));
            }
            Err(e) => {
                let pause = backoff.failure();
                log_failure(&e, backoff.failures(), pause);
                tokio::time::sleep(pause).await;
            }
        }
    }
}

fn log_failure(e: &io::Error, failures: u64, pause: Duration) {
    if failures == 1 {
        tracing::warn!("accept error: {e}; retrying with a growing pause (up to {MAX_DELAY:?})");
    } else {
        tracing::debug!("accept error: {e}; retrying in {pause:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_doubles_up_to_a_second_and_resets() {
        let mut b = Backoff::default();
        let pauses: Vec<u128> = (0..10).map(|_| b.failure().as_millis()).collect();
        assert_eq!(pauses, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        assert_eq!(b.failures(), 10);
        assert_eq!(b.success(), 10);
        assert_eq!(b.failure(), MIN_DELAY);
        assert_eq!(b.success(), 1);
        assert_eq!(b.success(), 0);
    }
}
