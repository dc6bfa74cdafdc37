//! From a publisher's tags to a stream, sans-IO: which tracks it sends and their formats
//! ([`TrackDetector`]), then every frame as a unit of the stream ([`ToStream`]).
//!
//! Track detection is MediaMTX's: tags are held until their timestamps span
//! [`ANALYZE_PERIOD_MS`] (2 s), then the tracks are those that announced a configuration
//! (H264, H265, AV1, VP8, VP9, AAC, Opus...) or whose frames describe themselves (MP3,
//! G711, LPCM), video first, each kind by track id; the held tags are then replayed into
//! the stream. What is held is bounded ([`MAX_HELD_TAGS`], [`MAX_HELD_BYTES`]): past
//! either bound detection ends early.

use std::collections::BTreeMap;

use bytes::Bytes;
use ferromtx_codec::mpeg4audio::AudioSpecificConfig;
use ferromtx_codec::{Format, Frame};
use ferromtx_core::{StreamError, Track, UnitIngest};

use crate::flv::TagItem;
use crate::media::{Codec, CodecParams, Media, MediaKind, TrackConfig, TrackId};

/// How much stream time track detection looks at (MediaMTX's `analyzePeriod`).
pub const ANALYZE_PERIOD_MS: i64 = 2_000;
/// Tags held during detection, at most.
pub const MAX_HELD_TAGS: usize = 8_192;
/// Bytes of frames held during detection, at most.
pub const MAX_HELD_BYTES: usize = 64 * 1024 * 1024;

/// The payload type formats of publishers get (dynamic, as MediaMTX gives them).
const PAYLOAD_TYPE: u8 = 96;

/// Why detection found nothing usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    #[error("no tracks found")]
    NoTracks,
    #[error(
        "the stream doesn't contain any supported codec, which are currently AV1, VP8, VP9, \
         H265, H264, Opus, MPEG-4 Audio (AAC), MPEG-1/2 Audio (MP3), G711, LPCM"
    )]
    NoSupportedCodecs,
}

/// What defines a detected track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    /// A configuration record (sequence header / sequence start).
    Config(TrackConfig),
    /// Frames that carry their parameters (legacy MP3, G711, LPCM; AC-3...).
    Codec(Codec),
}

impl Detected {
    pub fn codec(&self) -> Codec {
        match self {
            Detected::Config(c) => c.params.codec(),
            Detected::Codec(c) => *c,
        }
    }

    /// The stream format, `None` for codecs the core has no format for.
    pub fn format(&self) -> Option<Format> {
        match self {
            Detected::Config(c) => c.format(PAYLOAD_TYPE),
            Detected::Codec(c) => c.format(PAYLOAD_TYPE),
        }
    }
}

/// Whether a codec's frames need a configuration record before they mean anything.
fn needs_config(codec: Codec) -> bool {
    matches!(
        codec,
        Codec::H264
            | Codec::H265
            | Codec::Av1
            | Codec::Vp8
            | Codec::Vp9
            | Codec::Aac
            | Codec::Opus
            | Codec::Flac
    )
}

/// What track detection found: the tracks (video first, then audio, each by track id)
/// and the tags held meanwhile, to be written first.
#[derive(Debug)]
pub struct Detection {
    pub tracks: Vec<(TrackId, Detected)>,
    pub held: Vec<TagItem>,
}

/// Holds a publisher's first tags until its tracks are known.
#[derive(Debug, Default)]
pub struct TrackDetector {
    held: Vec<TagItem>,
    held_bytes: usize,
    tracks: BTreeMap<TrackId, Detected>,
    first_ms: Option<u32>,
    span_ms: i64,
}

impl TrackDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one tag; returns true once detection is over (call [`Self::finish`]).
    pub fn push(&mut self, item: TagItem) -> bool {
        match &item {
            TagItem::Config(config) => {
                self.tracks
                    .entry(config.track_id())
                    .or_insert_with(|| Detected::Config(config.clone()));
            }
            TagItem::Frame(m) => {
                if !needs_config(m.codec) {
                    self.tracks
                        .entry(m.track_id())
                        .or_insert(Detected::Codec(m.codec));
                }
                let first = *self.first_ms.get_or_insert(m.timestamp_ms);
                // Wrapping difference: a timestamp slightly before the first counts as 0.
                self.span_ms = self
                    .span_ms
                    .max(i64::from(m.timestamp_ms.wrapping_sub(first) as i32));
                self.held_bytes += m.len();
            }
            TagItem::SequenceEnd(_) | TagItem::VideoMetadata { .. } => {}
        }
        self.held.push(item);
        self.span_ms >= ANALYZE_PERIOD_MS
            || self.held.len() >= MAX_HELD_TAGS
            || self.held_bytes >= MAX_HELD_BYTES
    }

    /// The detected tracks and the held tags.
    pub fn finish(self) -> Result<Detection, DetectError> {
        if self.tracks.is_empty() {
            return Err(DetectError::NoTracks);
        }
        let mut tracks: Vec<(TrackId, Detected)> = self.tracks.into_iter().collect();
        tracks.sort_by_key(|(id, _)| (id.kind != MediaKind::Video, id.id));
        Ok(Detection {
            tracks,
            held: self.held,
        })
    }
}

/// Where frames of one publisher track go.
#[derive(Debug)]
struct Target {
    index: usize,
    codec: Codec,
    clock_rate: i64,
    /// Samples per AAC access unit.
    samples_per_au: i64,
    /// Parameter sets announced after the start, put in front of the next key frame so
    /// the stream's description follows.
    pending_params: Vec<Bytes>,
}

/// Extends 32-bit millisecond timestamps (which wrap after 49 days, and may step back a
/// little between tracks) into a growing timeline.
#[derive(Debug, Default)]
struct Timeline {
    last: Option<u32>,
    value: i64,
}

impl Timeline {
    fn extend(&mut self, ts: u32) -> i64 {
        if let Some(last) = self.last {
            self.value += i64::from(ts.wrapping_sub(last) as i32);
        } else {
            self.value = i64::from(ts);
        }
        self.last = Some(ts);
        self.value
    }
}

/// Writes a publisher's frames into its stream.
#[derive(Debug)]
pub struct ToStream {
    targets: BTreeMap<TrackId, Target>,
    timeline: Timeline,
}

impl ToStream {
    /// The stream's tracks for the detected ones (codecs without a stream format are
    /// skipped: the names of those are returned for a warning).
    pub fn new(detected: &[(TrackId, Detected)]) -> (ToStream, Vec<Track>, Vec<&'static str>) {
        let mut targets = BTreeMap::new();
        let mut tracks = Vec::new();
        let mut skipped = Vec::new();
        for (id, d) in detected {
            let Some(format) = d.format() else {
                skipped.push(d.codec().name());
                continue;
            };
            let samples_per_au = match &format {
                Format::Mpeg4Audio { config, .. } => AudioSpecificConfig::parse(config)
                    .map_or(1024, |c| i64::from(c.samples_per_access_unit())),
                _ => 0,
            };
            targets.insert(
                *id,
                Target {
                    index: tracks.len(),
                    codec: d.codec(),
                    clock_rate: i64::from(format.clock_rate().max(1)),
                    samples_per_au,
                    pending_params: Vec::new(),
                },
            );
            tracks.push(Track { format });
        }
        (
            ToStream {
                targets,
                timeline: Timeline::default(),
            },
            tracks,
            skipped,
        )
    }

    /// Writes one tag's meaning into the stream (frames of tracks that were not detected
    /// are dropped, as MediaMTX drops them).
    pub fn write(&mut self, item: TagItem, ingest: &mut UnitIngest) -> Result<(), StreamError> {
        match item {
            TagItem::Frame(m) => self.write_frame(m, ingest),
            TagItem::Config(config) => {
                self.on_config(&config);
                Ok(())
            }
            TagItem::SequenceEnd(_) | TagItem::VideoMetadata { .. } => Ok(()),
        }
    }

    fn on_config(&mut self, config: &TrackConfig) {
        let Some(target) = self.targets.get_mut(&config.track_id()) else {
            return;
        };
        target.pending_params = match &config.params {
            CodecParams::H264(c) => c.sps.iter().chain(&c.pps).cloned().collect(),
            CodecParams::H265(c) => [c.vps(), c.sps(), c.pps()]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
    }

    fn write_frame(&mut self, m: Media, ingest: &mut UnitIngest) -> Result<(), StreamError> {
        let dts_ms = self.timeline.extend(m.timestamp_ms);
        let Some(target) = self.targets.get_mut(&m.track_id()) else {
            return Ok(());
        };
        if target.codec != m.codec {
            tracing::debug!(
                "frame of {} on a {} track, dropped",
                m.codec.name(),
                target.codec.name()
            );
            return Ok(());
        }
        let clock = target.clock_rate;
        let to_clock = |ms: i64| ms * clock / 1000;
        let pts_ms = dts_ms + i64::from(m.composition_ms);
        let index = target.index;
        match m.codec {
            Codec::H264 | Codec::H265 => {
                let random_access = if m.codec == Codec::H264 {
                    ferromtx_codec::h264::is_random_access(&m.parts)
                } else {
                    ferromtx_codec::h265::is_random_access(&m.parts)
                } || m.keyframe;
                let mut parts = m.parts;
                if random_access && !target.pending_params.is_empty() {
                    let mut with = std::mem::take(&mut target.pending_params);
                    with.append(&mut parts);
                    parts = with;
                }
                let frame = Frame {
                    rtp_timestamp: 0,
                    random_access,
                    parts,
                };
                ingest.write(index, to_clock(pts_ms), Some(to_clock(dts_ms)), None, frame)
            }
            Codec::Aac => {
                // One unit per access unit, each a frame's duration after the previous.
                let mut pts = to_clock(pts_ms);
                for au in m.parts {
                    let frame = Frame {
                        rtp_timestamp: 0,
                        random_access: true,
                        parts: vec![au],
                    };
                    ingest.write(index, pts, None, None, frame)?;
                    pts += target.samples_per_au;
                }
                Ok(())
            }
            codec => {
                let random_access = match codec {
                    Codec::Av1 => ferromtx_codec::av1::is_random_access(&m.parts),
                    Codec::Vp8 | Codec::Vp9 => m.keyframe,
                    _ => true,
                };
                let frame = Frame {
                    rtp_timestamp: 0,
                    random_access,
                    parts: m.parts,
                };
                ingest.write(index, to_clock(pts_ms), None, None, frame)
            }
        }
    }
}

/// MediaMTX's track list of a publisher for its log line (`H264`, `MPEG-4 Audio`...).
pub fn codec_names(tracks: &[Track]) -> Vec<&'static str> {
    tracks.iter().map(|t| t.format.codec_name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::avcc::AvcConfig;
    use ferromtx_core::Stream;

    fn hex(s: &str) -> Bytes {
        let b: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect();
        Bytes::from(b)
    }

    fn sps() -> Bytes {
        hex("6742c01e8c8d40501e900f08846a")
    }

    fn h264_config() -> TrackConfig {
        TrackConfig {
            track: 0,
            params: CodecParams::H264(
                AvcConfig::from_parameter_sets(sps(), hex("68ce3c80")).expect("avcC"),
            ),
        }
    }

    fn aac_config() -> TrackConfig {
        TrackConfig {
            track: 0,
            params: CodecParams::Aac(hex("1190")),
        }
    }

    fn video(ts: u32, cts: i32, key: bool) -> TagItem {
        let nal = if key { hex("6588840021") } else { hex("41e0") };
        TagItem::Frame(Media {
            track: 0,
            codec: Codec::H264,
            timestamp_ms: ts,
            composition_ms: cts,
            keyframe: key,
            parts: vec![nal],
        })
    }

    fn audio(ts: u32, aus: usize) -> TagItem {
        TagItem::Frame(Media {
            track: 0,
            codec: Codec::Aac,
            timestamp_ms: ts,
            composition_ms: 0,
            keyframe: true,
            parts: vec![hex("2110"); aus],
        })
    }

    #[test]
    fn detection_waits_two_seconds_of_media_then_lists_video_first() {
        let mut d = TrackDetector::new();
        assert!(!d.push(TagItem::Config(aac_config())));
        assert!(!d.push(TagItem::Config(h264_config())));
        assert!(!d.push(video(1000, 0, true)));
        assert!(!d.push(audio(1500, 1)));
        assert!(!d.push(video(2999, 0, false)));
        assert!(d.push(video(3000, 0, false)));
        let found = d.finish().expect("tracks");
        assert_eq!(found.held.len(), 6);
        let codecs: Vec<Codec> = found.tracks.iter().map(|(_, t)| t.codec()).collect();
        assert_eq!(codecs, vec![Codec::H264, Codec::Aac]);
    }

    #[test]
    fn frames_without_configuration_make_no_track_and_nothing_is_an_error() {
        let mut d = TrackDetector::new();
        d.push(video(0, 0, true));
        assert_eq!(d.finish().err(), Some(DetectError::NoTracks));
        let mut d = TrackDetector::new();
        d.push(TagItem::Frame(Media {
            track: 0,
            codec: Codec::G711 {
                mu_law: true,
                stereo: false,
            },
            timestamp_ms: 0,
            composition_ms: 0,
            keyframe: true,
            parts: vec![hex("ff")],
        }));
        let found = d.finish().expect("a G711 track");
        assert_eq!(found.tracks.len(), 1);
    }

    #[test]
    fn held_tags_are_bounded() {
        let mut d = TrackDetector::new();
        let mut done = false;
        for _ in 0..MAX_HELD_TAGS {
            done = d.push(video(0, 0, false));
        }
        assert!(done);
    }

    #[test]
    fn frames_become_units_in_the_track_clock_with_dts_and_split_aac() {
        let detected = vec![
            (TrackId::video(0), Detected::Config(h264_config())),
            (TrackId::audio(0), Detected::Config(aac_config())),
        ];
        let (mut to, tracks, skipped) = ToStream::new(&detected);
        assert!(skipped.is_empty());
        assert_eq!(codec_names(&tracks), vec!["H264", "MPEG-4 Audio"]);
        let stream = Stream::new("t", tracks, 64);
        let mut reader = stream.reader();
        let mut ingest = UnitIngest::new(stream.clone());
        to.write(video(1000, 80, true), &mut ingest).expect("write");
        to.write(audio(1000, 2), &mut ingest).expect("write");
        let now = tokio::time::Instant::now();
        let mut units = Vec::new();
        while let ferromtx_core::TryNext::Unit(u) = reader.try_next(now) {
            units.push(u);
        }
        assert_eq!(units.len(), 3);
        assert_eq!(units[0].track, 0);
        assert_eq!(units[0].pts, 97_200);
        assert_eq!(units[0].dts, Some(90_000));
        assert!(units[0].random_access);
        // 48 kHz AAC: 1000 ms, then one access unit later.
        assert_eq!((units[1].track, units[1].pts), (1, 48_000));
        assert_eq!((units[2].track, units[2].pts), (1, 49_024));
    }

    #[test]
    fn a_new_configuration_goes_in_front_of_the_next_key_frame() {
        let detected = vec![(TrackId::video(0), Detected::Config(h264_config()))];
        let (mut to, tracks, _) = ToStream::new(&detected);
        let stream = Stream::new("t", tracks, 64);
        let mut reader = stream.reader();
        let mut ingest = UnitIngest::new(stream.clone());
        to.write(TagItem::Config(h264_config()), &mut ingest)
            .expect("config");
        to.write(video(0, 0, false), &mut ingest).expect("write");
        to.write(video(40, 0, true), &mut ingest).expect("write");
        let now = tokio::time::Instant::now();
        let mut parts = Vec::new();
        while let ferromtx_core::TryNext::Unit(u) = reader.try_next(now) {
            parts.push(u.frame.as_ref().map_or(0, |f| f.parts.len()));
        }
        assert_eq!(parts, vec![1, 3]);
    }

    #[test]
    fn timestamps_unwrap_past_32_bits() {
        let mut t = Timeline::default();
        assert_eq!(t.extend(u32::MAX - 10), i64::from(u32::MAX - 10));
        assert_eq!(t.extend(5), i64::from(u32::MAX) + 6);
        assert_eq!(t.extend(3), i64::from(u32::MAX) + 4);
    }
}
