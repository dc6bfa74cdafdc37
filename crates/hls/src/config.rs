//! Muxer settings: MediaMTX's `hlsVariant`, `hlsSegmentCount`, `hlsSegmentDuration`,
//! `hlsPartDuration` and `hlsSegmentMaxSize`.

use std::time::Duration;

/// `hlsVariant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    /// MPEG-TS segments (`mpegts`), for old players.
    MpegTs,
    /// fMP4 segments (`fmp4`).
    Fmp4,
    /// fMP4 segments and parts with blocking reload (`lowLatency`, the default).
    #[default]
    LowLatency,
}

/// Muxer settings; `Default` is MediaMTX's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub variant: Variant,
    /// Segments kept and listed (`hlsSegmentCount`, 7).
    pub segment_count: usize,
    /// Minimum segment duration; segments end on the first keyframe after it
    /// (`hlsSegmentDuration`, 1 s).
    pub segment_duration: Duration,
    /// Minimum part duration (`hlsPartDuration`, 200 ms); adjusted so that every part is at
    /// least 85% of the longest, as iOS requires.
    pub part_duration: Duration,
    /// Largest segment in bytes (`hlsSegmentMaxSize`, 50M): samples that would make a segment
    /// larger are dropped with an error.
    pub segment_max_size: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            variant: Variant::LowLatency,
            segment_count: 7,
            segment_duration: Duration::from_secs(1),
            part_duration: Duration::from_millis(200),
            segment_max_size: 50 * 1024 * 1024,
        }
    }
}

/// Why settings or tracks cannot make a muxer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("Low-Latency HLS requires at least 7 segments")]
    LowLatencySegmentCount,
    #[error("the minimum number of HLS segments is 3")]
    SegmentCount,
    #[error("segment and part durations must be positive")]
    Duration,
    #[error("the stream doesn't contain any supported codec, which are currently {0}")]
    NoSupportedTrack(&'static str),
    #[error("the segment prefix must be non-empty letters and digits")]
    Prefix,
}

impl Config {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match self.variant {
            Variant::LowLatency if self.segment_count < 7 => {
                return Err(ConfigError::LowLatencySegmentCount);
            }
            _ if self.segment_count < 3 => return Err(ConfigError::SegmentCount),
            _ => {}
        }
        if self.segment_duration.is_zero() || self.part_duration.is_zero() {
            return Err(ConfigError::Duration);
        }
        Ok(())
    }
}
