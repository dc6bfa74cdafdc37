//! The muxer: access units in, segments, parts and playlists out (as MediaMTX's HLS muxer
//! cuts them). No clock and no I/O: times come with the units, answers are values.

use std::collections::BTreeSet;
use std::time::SystemTime;

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_codec::fmp4::{self, Init, InitTrack, Sample};

use crate::config::{Config, ConfigError, Variant};
use crate::mpegts::{TsError, TsWriter};
use crate::stream::{Entry, OpenPart, OpenSegment, Part, Segment, Stream};

mod serve;
use crate::track::{FMP4_CODECS, MPEGTS_CODECS, TrackCodec};

/// fMP4 timestamps start 10 s in, so that a first unit with a small negative DTS (B-frames)
/// still has a non-negative `tfdt`, as MediaMTX does.
const START_OFFSET_SECS: i64 = 10;
/// LL-HLS starts with this many gap segments (iOS needs a full playlist to start).
const INITIAL_GAPS: usize = 7;
/// Longest part duration tried when fitting parts to sample durations.
const MAX_PART_NS: i64 = 5_000_000_000;

/// Why a unit could not be written. The muxer stays usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("track {0} does not exist")]
    UnknownTrack(usize),
    #[error("reached maximum segment size")]
    SegmentTooLarge,
    #[error("sample timestamp is impossible to handle")]
    NegativeTimestamp,
    #[error("unable to write the init segment: {0}")]
    Init(#[from] fmp4::WriteError),
    #[error("unable to write a part: {0}")]
    Part(fmp4::WriteError),
    #[error(transparent)]
    Ts(#[from] TsError),
}

/// A file the driver can send: its bytes (chunks to send one after the other, shared, never
/// copied per request) and its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub body: Vec<Bytes>,
    pub content_type: &'static str,
}

impl Resource {
    fn new(body: Vec<Bytes>, content_type: &'static str) -> Resource {
        Resource { body, content_type }
    }

    fn text(s: String) -> Resource {
        Resource::new(vec![Bytes::from(s)], "application/vnd.apple.mpegurl")
    }

    pub fn len(&self) -> usize {
        self.body.iter().map(Bytes::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The body in one piece (copies when there are several chunks).
    pub fn to_bytes(&self) -> Bytes {
        match self.body.as_slice() {
            [one] => one.clone(),
            chunks => Bytes::from(chunks.concat()),
        }
    }
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Ready(Resource),
    /// A segment the driver stores itself (see [`Muxer::mark_stored`]): send its copy, with
    /// this content type.
    Stored(&'static str),
    /// Not there yet: ask again when [`Muxer::generation`] changes (blocking playlist
    /// reload, the preload-hinted part, or the first playlist before the first segment).
    Wait,
    /// Answer 400 (a malformed or too-far delivery directive).
    BadRequest,
    /// Answer 404.
    NotFound,
}

/// The answer to a media playlist request.
pub type PlaylistAnswer = Answer;

#[derive(Debug)]
struct Pending {
    dts: i64,
    ntp: SystemTime,
    random_access: bool,
    sample: Sample,
}

#[derive(Debug)]
struct Track {
    codec: TrackCodec,
    clock_rate: u32,
    stream: usize,
    slot: usize,
    leading: bool,
    started: bool,
    pending: Option<Pending>,
}

/// The HLS muxer of one path: shared by every HLS client of the path.
pub struct Muxer {
    config: Config,
    prefix: String,
    tracks: Vec<Option<Track>>,
    streams: Vec<Stream>,
    leading_stream: usize,
    ts_writer: Option<Box<dyn TsWriter>>,
    generation: u64,
    sample_durations: BTreeSet<i64>,
    part_ns: i64,
    part_frozen: bool,
    /// Stored segments gone from the playlists, for [`Muxer::take_evicted`].
    evicted: Vec<String>,
}

impl std::fmt::Debug for Muxer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Muxer")
            .field("variant", &self.config.variant)
            .field("prefix", &self.prefix)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

fn ticks_to_ns(ticks: i64, clock_rate: u32) -> i64 {
    (i128::from(ticks) * 1_000_000_000 / i128::from(clock_rate.max(1))) as i64
}

/// Whether parts of `part_ns` suit samples of `sample_ns`: a part is a whole number of
/// samples, and the longest part stays within 1/0.85 of the shortest.
fn part_fits(part_ns: i64, sample_ns: i64) -> bool {
    if sample_ns > part_ns {
        return false;
    }
    let whole = (part_ns + sample_ns - 1) / sample_ns * sample_ns;
    part_ns > whole * 85 / 100
}

impl Muxer {
    /// A muxer for the fMP4 variants (`lowLatency`, `fmp4`) over a stream's tracks.
    /// `prefix` (random, e.g. 12 hex digits, chosen by the driver) starts every file name so
    /// that players never mix files of two muxers. Tracks HLS cannot carry are skipped (see
    /// [`Muxer::skipped_tracks`]); only the first video track is kept.
    pub fn new(config: Config, tracks: &[Format], prefix: &str) -> Result<Muxer, ConfigError> {
        Self::build(config, tracks, prefix, None)
    }

    /// A muxer for the `mpegts` variant; `writer` turns units into TS packets.
    pub fn with_mpegts(
        config: Config,
        tracks: &[Format],
        prefix: &str,
        writer: Box<dyn TsWriter>,
    ) -> Result<Muxer, ConfigError> {
        Self::build(config, tracks, prefix, Some(writer))
    }

    fn build(
        mut config: Config,
        formats: &[Format],
        prefix: &str,
        ts_writer: Option<Box<dyn TsWriter>>,
    ) -> Result<Muxer, ConfigError> {
        if ts_writer.is_some() {
            config.variant = Variant::MpegTs;
        } else if config.variant == Variant::MpegTs {
            config.variant = Variant::Fmp4;
        }
        config.validate()?;
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::Prefix);
        }
        let mpegts = config.variant == Variant::MpegTs;
        let (mut has_video, mut has_audio) = (false, false);
        let mut codecs: Vec<Option<TrackCodec>> = Vec::with_capacity(formats.len());
        for format in formats {
            let codec = TrackCodec::from_format(format).filter(|c| {
                let keep = (!mpegts || c.in_mpegts())
                    && !(c.is_video() && has_video)
                    && !(mpegts && !c.is_video() && has_audio);
                if keep {
                    has_video |= c.is_video();
                    has_audio |= !c.is_video();
                }
                keep
            });
            codecs.push(codec);
        }
        let leading = codecs
            .iter()
            .position(|c| c.as_ref().is_some_and(TrackCodec::is_video))
            .or_else(|| codecs.iter().position(Option::is_some))
            .ok_or(ConfigError::NoSupportedTrack(if mpegts {
                MPEGTS_CODECS
            } else {
                FMP4_CODECS
            }))?;
        let supported = codecs.iter().flatten().count();
        let first_id = if config.variant == Variant::LowLatency {
            INITIAL_GAPS as u64
        } else {
            0
        };
        let new_stream = |id: String, leading: bool| Stream {
            id,
            tracks: Vec::new(),
            leading,
            rendition: false,
            default: false,
            all_audio: true,
            entries: Default::default(),
            next_segment: None,
            next_part: None,
            next_segment_id: first_id,
            next_part_id: 0,
            init: None,
            deleted: 0,
            target_duration: 0,
            part_target_ns: 0,
        };
        let mut streams: Vec<Stream> = Vec::new();
        let mut tracks = Vec::with_capacity(codecs.len());
        let mut default_chosen = false;
        for (i, codec) in codecs.into_iter().enumerate() {
            let Some(codec) = codec else {
                tracks.push(None);
                continue;
            };
            let is_leading = i == leading;
            let video = codec.is_video();
            let stream = if mpegts {
                if streams.is_empty() {
                    streams.push(new_stream("main".into(), true));
                }
                0
            } else {
                let kind = if video { "video" } else { "audio" };
                let mut s = new_stream(format!("{kind}{}", i + 1), is_leading);
                s.rendition = !is_leading || (!video && supported > 1);
                if s.rendition && !default_chosen {
                    default_chosen = true;
                    s.default = true;
                }
                streams.push(s);
                streams.len() - 1
            };
            let s = &mut streams[stream];
            s.all_audio &= !video;
            s.tracks.push(i);
            tracks.push(Some(Track {
                codec,
                clock_rate: formats[i].clock_rate(),
                stream,
                slot: s.tracks.len() - 1,
                leading: is_leading,
                started: false,
                pending: None,
            }));
        }
        let leading_stream = streams.iter().position(|s| s.leading).unwrap_or(0);
        let part_ns = config.part_duration.as_nanos() as i64;
        Ok(Muxer {
            config,
            prefix: prefix.to_string(),
            tracks,
            streams,
            leading_stream,
            ts_writer,
            generation: 0,
            sample_durations: BTreeSet::new(),
            part_ns,
            part_frozen: false,
            evicted: Vec::new(),
        })
    }

    /// Indexes of the tracks given to `new` that the muxer leaves out.
    pub fn skipped_tracks(&self) -> Vec<usize> {
        (0..self.tracks.len())
            .filter(|i| self.tracks[*i].is_none())
            .collect()
    }

    pub fn variant(&self) -> Variant {
        self.config.variant
    }

    /// Changes whenever a part or a segment is finished: a driver holding requests that
    /// got [`Answer::Wait`] asks again when it changes.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Writes one access unit of `track` (an index into the tracks given to `new`).
    /// `pts`/`dts` are in the track's clock rate on the stream's common timeline; `ntp` is
    /// the unit's wall-clock time (for EXT-X-PROGRAM-DATE-TIME). `parts` follow
    /// `ferromtx_codec::Frame`. Units of skipped tracks are ignored.
    pub fn write_unit(
        &mut self,
        track: usize,
        pts: i64,
        dts: i64,
        random_access: bool,
        parts: &[Bytes],
        ntp: SystemTime,
    ) -> Result<(), WriteError> {
        let t = match self.tracks.get_mut(track) {
            None => return Err(WriteError::UnknownTrack(track)),
            Some(None) => return Ok(()),
            Some(Some(t)) => t,
        };
        let stream_has_init = self.streams[t.stream].init.is_some();
        if !stream_has_init {
            t.codec.learn(parts);
        }
        let random_access = random_access || !t.codec.is_video();
        if !t.started {
            if !random_access {
                return Ok(());
            }
            t.started = true;
        }
        if self.config.variant == Variant::MpegTs {
            return self.write_ts(track, pts, dts, random_access, parts, ntp);
        }
        let clock = t.clock_rate;
        let offset = START_OFFSET_SECS * i64::from(clock);
        let samples = t.codec.samples(parts);
        let video = t.codec.is_video();
        let mut result = Ok(());
        for (i, (at, payload)) in samples.into_iter().enumerate() {
            let pending = Pending {
                dts: dts + at + offset,
                ntp: ntp + std::time::Duration::from_nanos(ticks_to_ns(at, clock).max(0) as u64),
                random_access: random_access && (i == 0 || !video),
                sample: Sample {
                    duration: 0,
                    pts_offset: if video {
                        (pts - dts).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
                    } else {
                        0
                    },
                    non_sync: !random_access,
                    payload,
                },
            };
            if pending.dts < 0 {
                return Err(WriteError::NegativeTimestamp);
            }
            if let Err(e) = self.write_sample(track, pending) {
                result = Err(e);
            }
        }
        result
    }

    fn write_sample(&mut self, ti: usize, mut new: Pending) -> Result<(), WriteError> {
        let Some(Some(t)) = self.tracks.get_mut(ti) else {
            return Err(WriteError::UnknownTrack(ti));
        };
        let Some(mut prev) = t.pending.take() else {
            t.pending = Some(new);
            return Ok(());
        };
        let mut duration = new.dts - prev.dts;
        if duration < 0 {
            new.dts = prev.dts;
            duration = 0;
        }
        prev.sample.duration = duration.min(i64::from(u32::MAX)) as u32;
        let (clock, stream, slot, leading) = (t.clock_rate, t.stream, t.slot, t.leading);
        let new_ns = ticks_to_ns(new.dts, clock);
        let new_ra = new.random_access;
        let new_ntp = new.ntp;
        t.pending = Some(new);

        if self.streams[stream].next_segment.is_none() {
            if !leading {
                return Ok(());
            }
            self.create_first_segment(ticks_to_ns(prev.dts, clock), prev.ntp);
        }
        if leading {
            self.adjust_part_duration(ticks_to_ns(duration, clock));
        }
        let result = self.add_sample(stream, slot, leading, prev);
        if leading {
            let (seg_start, part_start) = {
                let s = &self.streams[stream];
                (
                    s.next_segment.as_ref().map_or(new_ns, |x| x.start_ns),
                    s.next_part.as_ref().map_or(new_ns, |x| x.start_ns),
                )
            };
            let segment_ns = self.config.segment_duration.as_nanos() as i64;
            if new_ra && new_ns - seg_start >= segment_ns {
                self.rotate_segments(new_ns, new_ntp)?;
                self.part_frozen = true;
            } else if self.config.variant == Variant::LowLatency
                && new_ns - part_start >= self.part_ns
            {
                self.rotate_parts(new_ns)?;
            }
        }
        result
    }

    fn add_sample(
        &mut self,
        stream: usize,
        slot: usize,
        leading: bool,
        p: Pending,
    ) -> Result<(), WriteError> {
        let max = self.config.segment_max_size;
        let s = &mut self.streams[stream];
        let single = s.tracks.len() == 1;
        let (Some(seg), Some(part)) = (s.next_segment.as_mut(), s.next_part.as_mut()) else {
            return Ok(());
        };
        let size = p.sample.payload.len() as u64;
        if seg.size + size > max {
            return Err(WriteError::SegmentTooLarge);
        }
        seg.size += size;
        if (leading || single) && !p.sample.non_sync {
            part.independent = true;
        }
        if let Some(entry) = part.tracks.get_mut(slot) {
            entry
                .get_or_insert_with(|| (p.dts.max(0) as u64, Vec::new()))
                .1
                .push(p.sample);
        }
        Ok(())
    }

    /// iOS rejects parts shorter than 85% of the part target: the part duration grows
    /// until every sample duration seen fits it (until the first segment is cut).
    fn adjust_part_duration(&mut self, sample_ns: i64) {
        if self.config.variant != Variant::LowLatency || self.part_frozen || sample_ns <= 0 {
            return;
        }
        if !self.sample_durations.insert(sample_ns) {
            return;
        }
        let mut part = self.config.part_duration.as_nanos() as i64;
        while part < MAX_PART_NS && !self.sample_durations.iter().all(|d| part_fits(part, *d)) {
            part += 5_000_000;
        }
        self.part_ns = part;
    }

    fn new_part(&self, stream: &Stream, start_ns: i64) -> Option<OpenPart> {
        (self.config.variant != Variant::MpegTs).then(|| OpenPart {
            id: stream.next_part_id,
            start_ns,
            independent: false,
            tracks: vec![None; stream.tracks.len()],
        })
    }

    fn create_first_segment(&mut self, start_ns: i64, ntp: SystemTime) {
        for i in 0..self.streams.len() {
            let part = self.new_part(&self.streams[i], start_ns);
            let s = &mut self.streams[i];
            s.next_segment = Some(OpenSegment {
                id: s.next_segment_id,
                start_ns,
                start_ntp: ntp,
                parts: Vec::new(),
                size: 0,
                ts: Vec::new(),
            });
            s.next_part = part;
        }
        if let Some(w) = self.ts_writer.as_mut() {
            w.segment_started();
        }
    }

    /// Streams with the leading one first (it sets the target durations the others copy).
    fn stream_order(&self) -> Vec<usize> {
        std::iter::once(self.leading_stream)
            .chain((0..self.streams.len()).filter(|i| *i != self.leading_stream))
            .collect()
    }

    /// Finishes the open part of `stream` at `end_ns` into its open segment.
    fn finish_part(&mut self, stream: usize, end_ns: i64) -> Result<(), WriteError> {
        let prefix = &self.prefix;
        let s = &mut self.streams[stream];
        let Some(open) = s.next_part.take() else {
            return Ok(());
        };
        s.next_part_id += 1;
        let part = fmp4::Part {
            sequence_number: open.id as u32,
            tracks: open
                .tracks
                .into_iter()
                .enumerate()
                .filter_map(|(slot, t)| {
                    t.map(|(base_time, samples)| fmp4::PartTrack {
                        id: slot as u32 + 1,
                        base_time,
                        samples,
                    })
                })
                .collect(),
        };
        let mut bytes = Vec::with_capacity(part.payload_len() + 256);
        part.marshal(&mut bytes).map_err(WriteError::Part)?;
        if let Some(seg) = s.next_segment.as_mut() {
            seg.parts.push(Part {
                name: format!("{prefix}_{}_part{}.mp4", s.id, open.id),
                duration_ns: end_ns - open.start_ns,
                independent: open.independent,
                bytes: Bytes::from(bytes),
            });
        }
        Ok(())
    }

    fn rotate_parts(&mut self, next_ns: i64) -> Result<(), WriteError> {
        let mut part_target = 0;
        for i in self.stream_order() {
            self.finish_part(i, next_ns)?;
            let part = self.new_part(&self.streams[i], next_ns);
            let s = &mut self.streams[i];
            s.next_part = part;
            if s.leading {
                part_target = s.compute_part_target_ns();
            }
            s.part_target_ns = part_target;
        }
        self.generation += 1;
        Ok(())
    }

    fn rotate_segments(&mut self, next_ns: i64, ntp: SystemTime) -> Result<(), WriteError> {
        let (mut target, mut part_target) = (0, 0);
        let mut result = Ok(());
        for i in self.stream_order() {
            if self.config.variant != Variant::MpegTs {
                self.finish_part(i, next_ns)?;
            }
            let ll = self.config.variant == Variant::LowLatency;
            let ext = if self.config.variant == Variant::MpegTs {
                "ts"
            } else {
                "mp4"
            };
            let prefix = self.prefix.clone();
            let s = &mut self.streams[i];
            if let Some(open) = s.next_segment.take() {
                let chunks = if open.parts.is_empty() {
                    vec![Bytes::from(open.ts)]
                } else {
                    open.parts.iter().map(|p| p.bytes.clone()).collect()
                };
                let size = chunks.iter().map(|c| c.len() as u64).sum();
                let seg = Segment {
                    name: format!("{prefix}_{}_seg{}.{ext}", s.id, open.id),
                    start_ntp: open.start_ntp,
                    duration_ns: next_ns - open.start_ns,
                    parts: open.parts,
                    chunks,
                    size,
                    stored: false,
                };
                if ll && s.entries.is_empty() {
                    for _ in 0..INITIAL_GAPS {
                        s.entries.push_back(Entry::Gap {
                            duration_ns: seg.duration_ns,
                        });
                    }
                }
                s.entries.push_back(Entry::Segment(seg));
                s.next_segment_id += 1;
                while s.entries.len() > self.config.segment_count {
                    if let Some(Entry::Segment(gone)) = s.entries.pop_front()
                        && gone.stored
                    {
                        self.evicted.push(gone.name);
                    }
                    s.deleted += 1;
                }
            }
            if ext == "mp4" && s.init.is_none() && result.is_ok() {
                result = init_segment(s, &self.tracks).map(|b| s.init = Some(b));
            }
            s.next_segment = Some(OpenSegment {
                id: s.next_segment_id,
                start_ns: next_ns,
                start_ntp: ntp,
                parts: Vec::new(),
                size: 0,
                ts: Vec::new(),
            });
            if s.leading {
                let t = s.compute_target_duration();
                if s.target_duration != 0 && t > s.target_duration {
                    tracing::warn!(
                        from = s.target_duration,
                        to = t,
                        "segment duration changed - this will cause an error in iOS clients"
                    );
                }
                target = t.max(s.target_duration);
                part_target = s.part_target_ns;
            }
            s.target_duration = target;
            s.part_target_ns = part_target;
            let part = self.new_part(&self.streams[i], next_ns);
            self.streams[i].next_part = part;
        }
        if let Some(w) = self.ts_writer.as_mut() {
            w.segment_started();
        }
        self.generation += 1;
        result
    }

    fn write_ts(
        &mut self,
        track: usize,
        pts: i64,
        dts: i64,
        random_access: bool,
        parts: &[Bytes],
        ntp: SystemTime,
    ) -> Result<(), WriteError> {
        let Some(Some(t)) = self.tracks.get(track) else {
            return Err(WriteError::UnknownTrack(track));
        };
        let ns = ticks_to_ns(dts, t.clock_rate);
        let video = t.codec.is_video();
        if t.leading {
            match self.streams[0].next_segment.as_ref() {
                None => self.create_first_segment(ns, ntp),
                Some(seg)
                    if (random_access || !video)
                        && ns - seg.start_ns >= self.config.segment_duration.as_nanos() as i64 =>
                {
                    self.rotate_segments(ns, ntp)?;
                }
                Some(_) => {}
            }
        }
        let max = self.config.segment_max_size;
        let (Some(seg), Some(writer)) = (
            self.streams[0].next_segment.as_mut(),
            self.ts_writer.as_mut(),
        ) else {
            return Ok(());
        };
        let size: u64 = parts.iter().map(|p| p.len() as u64).sum();
        if seg.ts.len() as u64 + size > max {
            return Err(WriteError::SegmentTooLarge);
        }
        writer.write(track, pts, dts, random_access, parts, &mut seg.ts)?;
        Ok(())
    }
}

/// The init segment of a stream's tracks, once their parameters are known.
fn init_segment(s: &Stream, tracks: &[Option<Track>]) -> Result<Bytes, WriteError> {
    let mut init = Init::default();
    for (slot, i) in s.tracks.iter().enumerate() {
        let Some(Some(t)) = tracks.get(*i) else {
            continue;
        };
        let codec = t
            .codec
            .fmp4_codec()
            .ok_or(fmp4::WriteError::InvalidParams {
                codec: "track",
                reason: "parameters not received yet",
            })?;
        init.tracks.push(InitTrack {
            id: slot as u32 + 1,
            timescale: t.clock_rate,
            codec,
        });
    }
    Ok(Bytes::from(init.marshal()?))
}
