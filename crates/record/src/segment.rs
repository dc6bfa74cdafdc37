//! What the two segment writers share: their settings, what they ask the driver to do
//! with files, their errors, and the clock checks of MediaMTX's recorder.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, FixedOffset, Local};

/// Segment and part timing of a recorder (`recordPartDuration`, `recordMaxPartSize`,
/// `recordSegmentDuration`) and where segments go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `recordPath` with `%path` replaced and the extension added.
    pub template: String,
    pub part_duration: Duration,
    pub max_part_size: u64,
    pub segment_duration: Duration,
}

/// A file operation asked of the driver, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Create `path` (and its directories), run the segment-create hook, write `bytes`.
    Create { path: String, bytes: Vec<u8> },
    /// Append to the file created last.
    Append(Vec<u8>),
    /// The segment ended: write its duration in milliseconds as a big-endian `u32` at
    /// `mvhd` (fMP4), close the file, run the segment-complete hook.
    Close {
        path: String,
        duration: Duration,
        mvhd: Option<usize>,
    },
}

/// Why a recorder stops (and starts again after a pause). Texts are MediaMTX's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("detected drift between recording duration and absolute time, resetting")]
    Drift,
    #[error("reached maximum part size")]
    PartTooLarge,
    #[error("{0}")]
    Mp4(String),
    #[error("{0}")]
    Mpegts(#[from] ferromtx_codec::mpegts::MuxError),
}

/// How far the wall clock may drift from the media clock before the recording restarts.
pub const DRIFT_TOLERANCE: Duration = Duration::from_secs(5);

/// The first DTS (ns) and wall-clock time of a track, to check the drift between them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Clock {
    start: Option<(i64, SystemTime)>,
}

impl Clock {
    /// Fails when the media clock and the wall clock have drifted apart.
    pub(crate) fn check(&mut self, dts_ns: i64, ntp: SystemTime) -> Result<(), WriteError> {
        let Some((start_dts, start_ntp)) = self.start else {
            self.start = Some((dts_ns, ntp));
            return Ok(());
        };
        let wall = signed_ns_between(start_ntp, ntp);
        let media = dts_ns.saturating_sub(start_dts);
        let tolerance = DRIFT_TOLERANCE.as_nanos() as i64;
        if (wall.saturating_sub(media)).abs() > tolerance {
            return Err(WriteError::Drift);
        }
        Ok(())
    }
}

/// `to - from` in nanoseconds, negative when `to` is earlier.
pub(crate) fn signed_ns_between(from: SystemTime, to: SystemTime) -> i64 {
    match to.duration_since(from) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn unix_nanos(t: SystemTime) -> i64 {
    signed_ns_between(SystemTime::UNIX_EPOCH, t)
}

/// A wall-clock time in the server's zone, as segment names are written.
pub(crate) fn local_time(t: SystemTime) -> DateTime<FixedOffset> {
    DateTime::<Local>::from(t).fixed_offset()
}

/// A non-negative duration from nanoseconds.
pub(crate) fn ns_duration(ns: i64) -> Duration {
    Duration::from_nanos(ns.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_beyond_five_seconds_is_an_error() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut c = Clock::default();
        c.check(0, t0).expect("first");
        c.check(10_000_000_000, t0 + Duration::from_secs(14))
            .expect("4 s of drift");
        assert_eq!(
            c.check(10_000_000_000, t0 + Duration::from_secs(16)),
            Err(WriteError::Drift)
        );
        assert_eq!(
            c.check(20_000_000_000, t0 + Duration::from_secs(14)),
            Err(WriteError::Drift)
        );
        assert_eq!(
            signed_ns_between(t0, SystemTime::UNIX_EPOCH),
            -1_000_000_000_000
        );
    }
}
