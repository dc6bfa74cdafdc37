//! HLS sessions, as MediaMTX keeps them: a multivariant playlist request that passes
//! authentication becomes a session (a reader of the path, listed by `/v3/hlssessions`);
//! the player's later requests carry its secret (the `hlsSession` cookie or the `session`
//! query parameter) and must come from the same IP. A session without requests for
//! [`SESSION_CLOSE_AFTER`] is closed.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use ferromtx_core::ReaderHandle;
use tokio::time::Instant;

/// Name of the session cookie.
pub(crate) const COOKIE_NAME: &str = "hlsSession";
/// Name of the session query parameter (when the browser takes no cookie).
pub(crate) const QUERY_NAME: &str = "session";
/// A session without requests for this long is closed.
pub(crate) const SESSION_CLOSE_AFTER: Duration = Duration::from_secs(30);
/// How often idle sessions are looked for.
pub(crate) const SESSION_CLEANUP_PERIOD: Duration = Duration::from_secs(10);

/// One HLS session.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) secret: String,
    pub(crate) ip: IpAddr,
    pub(crate) remote: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) user: String,
    pub(crate) user_agent: String,
    pub(crate) is_cdn: bool,
    pub(crate) created: SystemTime,
    pub(crate) span: tracing::Span,
    last_request: Mutex<Instant>,
    bytes_sent: AtomicU64,
    /// The session as a reader of the path (dropping it removes the reader).
    reader: Mutex<Option<ReaderHandle>>,
}

/// What a new session is made of.
#[derive(Debug)]
pub(crate) struct NewSession {
    pub(crate) id: String,
    pub(crate) ip: IpAddr,
    pub(crate) remote: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) user_agent: String,
    pub(crate) is_cdn: bool,
    pub(crate) span: tracing::Span,
}

impl Session {
    pub(crate) fn new(s: NewSession, user: String, reader: ReaderHandle) -> Session {
        Session {
            id: s.id,
            secret: super::new_uuid(),
            ip: s.ip,
            remote: s.remote,
            path: s.path,
            query: s.query,
            user,
            user_agent: s.user_agent,
            is_cdn: s.is_cdn,
            created: SystemTime::now(),
            span: s.span,
            last_request: Mutex::new(Instant::now()),
            bytes_sent: AtomicU64::new(0),
            reader: Mutex::new(Some(reader)),
        }
    }

    pub(crate) fn touch(&self) {
        *self
            .last_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    pub(crate) fn idle_since(&self, now: Instant) -> Duration {
        now.saturating_duration_since(
            *self
                .last_request
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Counts bytes sent to the session (and to the path's readers).
    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes_sent.fetch_add(n, Ordering::Relaxed);
        if let Some(r) = self
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            r.reader().add_bytes_sent(n);
        }
    }

    pub(crate) fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    /// Ends the session: it stops reading the path. Logs `closed: <reason>` once.
    pub(crate) fn close(&self, reason: &str) {
        let reader = self
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if reader.is_some() {
            drop(reader);
            self.span.in_scope(|| tracing::info!("closed: {reason}"));
        }
    }
}

/// The short id of log lines (`[session 9020846b]`).
pub(crate) fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
