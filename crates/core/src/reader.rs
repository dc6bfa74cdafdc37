//! A reader of a stream: a cursor into the stream's ring.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::ring::Peek;
use crate::stream::Stream;
use crate::unit::Unit;

/// Discarded frames are reported at most this often per reader.
const DISCARD_REPORT_PERIOD: Duration = Duration::from_secs(1);

/// Result of a non-blocking read.
#[derive(Debug)]
pub enum TryNext {
    Unit(Arc<Unit>),
    /// Nothing new yet.
    Pending,
    /// The stream has ended.
    Closed,
}

/// Follows a stream. Holds a cursor, never a queue: adding a reader allocates nothing
/// per unit. A reader that falls a whole ring behind skips to the next random-access
/// unit of the video track (or the next unit when there is no video) and counts what it
/// discarded.
#[derive(Debug)]
pub struct Reader {
    stream: Arc<Stream>,
    cursor: Cursor,
    bytes_sent: u64,
}

/// A reader's cursor as the stream's writer sees it (to let go of the units every reader
/// has passed). On a cache line of its own: readers on different threads write theirs at
/// every unit.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct Position(AtomicU64);

impl Position {
    pub(crate) fn new(pos: u64) -> Position {
        Position(AtomicU64::new(pos))
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// A reader's position and loss accounting, apart from the stream it follows so the
/// stream can be borrowed while the cursor moves.
#[derive(Debug)]
struct Cursor {
    pos: u64,
    /// `pos` as last told to the writer (never ahead of `pos`).
    shared: Arc<Position>,
    resyncing: bool,
    discarded: u64,
    unreported: u64,
    last_report: Option<Instant>,
}

impl Reader {
    pub(crate) fn new(stream: Arc<Stream>, pos: u64, shared: Arc<Position>) -> Reader {
        Reader {
            stream,
            cursor: Cursor {
                pos,
                shared,
                resyncing: false,
                discarded: 0,
                unreported: 0,
                last_report: None,
            },
            bytes_sent: 0,
        }
    }

    pub fn stream(&self) -> &Arc<Stream> {
        &self.stream
    }

    /// Units discarded so far because the reader was too slow.
    pub fn discarded(&self) -> u64 {
        self.cursor.discarded
    }

    /// Moves to the live edge: the next unit returned is the next one written. What was
    /// written before is skipped without counting as discarded (a reader that starts
    /// playing late, not one that fell behind).
    pub fn seek_live(&mut self) {
        self.cursor.pos = self.stream.ring.head();
        self.cursor.resyncing = false;
        self.cursor.publish();
    }

    /// Records bytes the reader's protocol sent to its client.
    pub fn add_bytes_sent(&mut self, n: u64) {
        self.bytes_sent += n;
        self.stream.add_bytes_sent(n);
    }

    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// Returns the next unit if one is ready. `now` rate-limits the "too slow" warning.
    pub fn try_next(&mut self, now: Instant) -> TryNext {
        let res = self.cursor.poll(&self.stream);
        self.cursor.report(|| now);
        res
    }

    /// Waits for the next unit; `None` once the stream has ended. Cancel-safe: a unit is
    /// consumed only when it is returned.
    pub async fn next(&mut self) -> Option<Arc<Unit>> {
        loop {
            match self.cursor.poll(&self.stream) {
                TryNext::Unit(unit) => {
                    self.cursor.report(Instant::now);
                    return Some(unit);
                }
                TryNext::Closed => return None,
                TryNext::Pending => {}
            }
            // Register for the wake-up before looking again, so a write in between is
            // not missed.
            let notified = self.stream.ring.notify().notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let res = self.cursor.poll(&self.stream);
            self.cursor.report(Instant::now);
            match res {
                TryNext::Unit(unit) => return Some(unit),
                TryNext::Closed => return None,
                TryNext::Pending => notified.await,
            }
        }
    }
}

impl Cursor {
    fn poll(&mut self, stream: &Stream) -> TryNext {
        let res = self.walk(stream);
        self.publish();
        res
    }

    /// Tells the writer where the cursor is (after the unit returned was taken).
    fn publish(&mut self) {
        if self.shared.0.load(Ordering::Relaxed) != self.pos {
            self.shared.0.store(self.pos, Ordering::Release);
        }
    }

    fn walk(&mut self, stream: &Stream) -> TryNext {
        let ring = &stream.ring;
        // Each pass either returns or advances the cursor; a full ring is the most it can
        // walk before catching up with the writer, plus one resync after a lag.
        for _ in 0..(2 * ring.capacity() + 2) {
            if ring.is_closed() {
                return TryNext::Closed;
            }
            match ring.peek(self.pos) {
                Peek::Empty => return TryNext::Pending,
                Peek::Lagged { oldest } => {
                    let lost = oldest.saturating_sub(self.pos);
                    self.discarded += lost;
                    self.unreported += lost;
                    self.pos = oldest.max(self.pos);
                    self.resyncing = true;
                }
                Peek::Unit(unit) => {
                    self.pos += 1;
                    if !self.resyncing || is_resync_point(stream, &unit) {
                        self.resyncing = false;
                        return TryNext::Unit(unit);
                    }
                    self.discarded += 1;
                    self.unreported += 1;
                }
            }
        }
        TryNext::Pending
    }

    /// Logs the frames discarded since the last report, at most once per period.
    fn report(&mut self, now: impl FnOnce() -> Instant) {
        if self.unreported == 0 {
            return;
        }
        let now = now();
        let due = self
            .last_report
            .is_none_or(|last| now.saturating_duration_since(last) >= DISCARD_REPORT_PERIOD);
        if !due {
            return;
        }
        let n = self.unreported;
        // The reader's own span (its session or connection) prefixes the line.
        tracing::warn!(
            "reader is too slow, discarding {n} {}",
            if n == 1 { "frame" } else { "frames" }
        );
        self.unreported = 0;
        self.last_report = Some(now);
    }
}

fn is_resync_point(stream: &Stream, unit: &Unit) -> bool {
    match stream.video_track() {
        Some(video) => unit.track == video && unit.random_access,
        None => true,
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stream.remove_reader(&self.cursor.shared);
    }
}
