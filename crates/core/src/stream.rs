//! A stream: the media description of a publisher plus the ring its readers follow.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ferromtx_codec::Format;

use crate::keyframe::KeyframeRequests;
use crate::reader::{Position, Reader};
use crate::ring::Ring;
use crate::unit::Unit;
use crate::view::{View, ViewHandle, ViewSet};

/// One track (media) of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    pub format: Format,
}

/// `2 tracks (H264, Opus)`: how MediaMTX's log lines name a set of tracks.
pub fn tracks_info<S: AsRef<str>>(codecs: &[S]) -> String {
    let names: Vec<&str> = codecs.iter().map(AsRef::as_ref).collect();
    format!(
        "{} {} ({})",
        names.len(),
        if names.len() == 1 { "track" } else { "tracks" },
        names.join(", ")
    )
}

/// Why a unit could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("track {0} does not exist")]
    UnknownTrack(usize),
    #[error("stream is closed")]
    Closed,
}

/// The media of one publisher: its tracks and a bounded ring of shared units.
///
/// Exactly one writer (the publisher or static source) calls [`Stream::write`]; any number
/// of [`Reader`]s follow it, each holding only a cursor. The writer never waits for readers.
pub struct Stream {
    label: String,
    tracks: Vec<Track>,
    /// The tracks with the parameter sets seen in-band since the start (H264/H265).
    described: Mutex<Vec<Track>>,
    video_track: Option<usize>,
    pub(crate) ring: Ring,
    views: Mutex<ViewSet>,
    keyframes: KeyframeRequests,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
    readers: AtomicUsize,
    /// Where each reader is, so that the writer lets go of the units all have passed.
    positions: Mutex<Vec<Arc<Position>>>,
}

/// The writer looks at the readers' positions after this many units (a reader that keeps
/// up leaves at most this many units behind it).
const RELEASE_BATCH: u64 = 8;

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("label", &self.label)
            .field("tracks", &self.tracks)
            .finish_non_exhaustive()
    }
}

impl Stream {
    /// Creates a stream. `write_queue_size` is rounded up to a power of two. `label` names
    /// the stream in logs (the path name).
    pub fn new(
        label: impl Into<String>,
        tracks: Vec<Track>,
        write_queue_size: usize,
    ) -> Arc<Stream> {
        let video_track = tracks.iter().position(|t| t.format.is_video());
        Arc::new(Stream {
            label: label.into(),
            described: Mutex::new(tracks.clone()),
            tracks,
            video_track,
            ring: Ring::new(write_queue_size),
            views: Mutex::new(ViewSet::default()),
            keyframes: KeyframeRequests::default(),
            bytes_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            readers: AtomicUsize::new(0),
            positions: Mutex::new(Vec::new()),
        })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// The tracks as the publisher announced them.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// The tracks as readers should be told of them now: what was announced, with the
    /// latest parameter sets (H264 SPS/PPS, H265 VPS/SPS/PPS) carried in-band. A publisher
    /// that announces none (WebRTC, some cameras) still gets them into DESCRIBE answers.
    pub fn described_tracks(&self) -> Vec<Track> {
        self.described
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The track readers resynchronise on after falling behind (the first video track).
    pub fn video_track(&self) -> Option<usize> {
        self.video_track
    }

    /// Ring capacity in units.
    pub fn capacity(&self) -> usize {
        self.ring.capacity() as usize
    }

    /// Writes a unit: takes the parameter sets a random-access frame carries into the
    /// description, runs the derived views on it, then makes it visible to readers,
    /// overwriting the oldest unit when the ring is full. Never waits for readers.
    ///
    /// Without readers the unit is not kept: a reader starts at the live edge and never
    /// sees units written before it, so a camera nobody watches holds no media (MediaMTX
    /// keeps none either). A reader joining while this runs starts with the next unit.
    /// Units every reader has passed are let go too: the ring holds what the slowest
    /// reader has yet to read, up to its capacity.
    pub fn write(&self, mut unit: Unit) -> Result<(), StreamError> {
        if unit.track >= self.tracks.len() {
            return Err(StreamError::UnknownTrack(unit.track));
        }
        let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
        if self.ring.is_closed() {
            return Err(StreamError::Closed);
        }
        let mut described = self
            .described
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if unit.random_access
            && let Some(frame) = &unit.frame
            && self.tracks[unit.track].format.has_params()
        {
            described[unit.track].format.update_params(frame);
        }
        views.apply(&mut unit, &described);
        drop(described);
        self.bytes_received
            .fetch_add(unit.wire_len() as u64, Ordering::Relaxed);
        if self.readers.load(Ordering::Acquire) > 0 {
            self.ring.push(Arc::new(unit));
            if self.ring.unreleased() >= RELEASE_BATCH {
                self.release_passed();
            }
        }
        Ok(())
    }

    /// Lets go of the units every reader has read.
    fn release_passed(&self) {
        let positions = self
            .positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A reader joining takes this lock to read the head: it is at the head (past
        // everything released) or counted here.
        let slowest = positions
            .iter()
            .map(|p| p.get())
            .min()
            .unwrap_or_else(|| self.ring.head());
        drop(positions);
        self.ring.release_before(slowest);
    }

    /// A new reader positioned at the live edge: its first unit is the next one written.
    pub fn reader(self: &Arc<Self>) -> Reader {
        let mut positions = self
            .positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.readers.fetch_add(1, Ordering::AcqRel);
        let pos = self.ring.head();
        let position = Arc::new(Position::new(pos));
        positions.push(Arc::clone(&position));
        drop(positions);
        Reader::new(Arc::clone(self), pos, position)
    }

    /// Returns the derived view with this key, registering it on first demand. Units written
    /// from now on carry its output; readers asking for the same key share one instance.
    pub fn view<V: View>(&self, key: V::Key) -> ViewHandle<V> {
        let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
        views.register::<V>(key, &self.tracks)
    }

    /// The keyframe requests of the stream's readers, for its publisher.
    pub fn keyframes(&self) -> &KeyframeRequests {
        &self.keyframes
    }

    /// A reader asks the publisher for a keyframe at `now` (coalesced: at most one a
    /// second reaches it). Returns whether this one was forwarded.
    pub fn request_keyframe(&self, now: std::time::Instant) -> bool {
        self.keyframes.request(now)
    }

    /// Ends the stream: readers get `None`, units held by the ring are released.
    pub fn close(&self) {
        let _views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
        self.ring.close();
        self.ring.clear();
    }

    pub fn is_closed(&self) -> bool {
        self.ring.is_closed()
    }

    /// Bytes received from the publisher.
    pub fn bytes_received(&self) -> u64 {
        self.bytes_received.load(Ordering::Relaxed)
    }

    /// Bytes sent to all readers (as reported by them through [`Reader::add_bytes_sent`]).
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    pub(crate) fn add_bytes_sent(&self, n: u64) {
        self.bytes_sent.fetch_add(n, Ordering::Relaxed);
    }

    /// Number of live readers.
    pub fn reader_count(&self) -> usize {
        self.readers.load(Ordering::Relaxed)
    }

    /// The last reader gone, the units the ring still holds are released (under the lock
    /// the writer holds, so no push races the clearing; a reader joining meanwhile starts at
    /// the head, past every cleared slot).
    pub(crate) fn remove_reader(&self, position: &Arc<Position>) {
        self.positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|p| !Arc::ptr_eq(p, position));
        if self.readers.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
            if self.readers.load(Ordering::Acquire) == 0 {
                self.ring.clear();
            }
        }
    }
}
