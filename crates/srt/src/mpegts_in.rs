//! `to_stream` for MPEG-TS publishers (SRT publishers and the `srt://`, `udp+mpegts://`
//! and `unix+mpegts://` sources): the demuxer's access units into the core's
//! [`UnitIngest`], with timestamps counted from the first one and converted to each
//! track's clock rate, as MediaMTX does.
//!
//! Sans-IO: [`TsIngest::push`] bytes in any chunking; the first time the program is known
//! it returns the tracks, the caller starts its publisher (or sets its source ready) and
//! hands the stream to [`TsIngest::start`], which writes what was held back.

use std::sync::Arc;

use ferromtx_codec::mpegts::{self, AccessUnit, Codec, Demuxer, Event};
use ferromtx_codec::{Format, Frame};
use ferromtx_core::{Anomalies, Stream, StreamError, Track, UnitIngest};

/// Payload type given to the first track; the next ones count up.
const FIRST_PAYLOAD_TYPE: u8 = 96;

/// Why an MPEG-TS publisher stops.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsError {
    #[error(
        "the stream doesn't contain any supported codec, which are currently H265, H264, \
         Opus, MPEG-4 Audio"
    )]
    NoSupportedCodecs,
    #[error("the program's tracks changed, which is not supported")]
    TracksChanged,
    #[error(transparent)]
    Stream(#[from] StreamError),
}

/// One track of the program that goes into the stream.
#[derive(Debug, Clone)]
struct Mapped {
    pid: u16,
    index: usize,
    clock_rate: u32,
    opus: bool,
}

/// A publisher's MPEG-TS into its stream.
#[derive(Debug)]
pub struct TsIngest {
    demuxer: Demuxer,
    /// The program's tracks as first announced (to notice changes).
    program: Option<Vec<mpegts::Track>>,
    mapped: Vec<Mapped>,
    ingest: Option<UnitIngest>,
    /// The first PTS, 90 kHz: every track's timestamps count from it.
    origin: Option<i64>,
    /// Access units dropped (not a known track, or written before the start).
    anomalies: Anomalies,
}

impl Default for TsIngest {
    fn default() -> Self {
        Self::new()
    }
}

impl TsIngest {
    pub fn new() -> TsIngest {
        TsIngest {
            demuxer: Demuxer::new(),
            program: None,
            mapped: Vec::new(),
            ingest: None,
            origin: None,
            anomalies: Anomalies::default(),
        }
    }

    /// Feeds bytes. Returns the stream's tracks once, when the program becomes known and
    /// no stream was given yet; the caller then calls [`TsIngest::start`].
    pub fn push(&mut self, data: &[u8]) -> Result<Option<Vec<Track>>, TsError> {
        self.demuxer.push(data);
        self.drain()
    }

    /// Input was lost before the next [`TsIngest::push`]: the access units in progress
    /// are dropped rather than written with a hole.
    pub fn lost_input(&mut self) {
        self.demuxer.lost_input();
    }

    /// The stream to write into; writes the access units held since the tracks were
    /// announced.
    pub fn start(&mut self, stream: Arc<Stream>) -> Result<(), TsError> {
        self.ingest = Some(UnitIngest::new(stream));
        self.drain().map(|_| ())
    }

    /// Whether [`TsIngest::start`] was called.
    pub fn is_started(&self) -> bool {
        self.ingest.is_some()
    }

    /// The codec names of the tracks (for `stream is available and online, 2 tracks (...)`).
    pub fn codecs(&self) -> Vec<&'static str> {
        self.ingest
            .as_ref()
            .map(|i| {
                i.stream()
                    .tracks()
                    .iter()
                    .map(|t| t.format.codec_name())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The problems since the previous call, as MediaMTX's `decode error` lines.
    pub fn take_log_lines(&mut self) -> Vec<String> {
        let a = self.demuxer.take_anomalies();
        let mut mine = std::mem::take(&mut self.anomalies);
        let errors = a.continuity_errors
            + a.dropped_packets
            + a.dropped_pes
            + a.malformed_access_units
            + a.bad_sections;
        if errors > 0 {
            mine.decode_errors += errors;
            mine.last_error = a.last_error.map(|e| e.to_string()).or(mine.last_error);
        }
        if a.skipped_bytes > 0 && mine.decode_errors == 0 {
            mine.decode_error(format!("{} bytes skipped to find packets", a.skipped_bytes));
        }
        mine.log_lines()
    }

    fn drain(&mut self) -> Result<Option<Vec<Track>>, TsError> {
        loop {
            if self.program.is_some() && self.ingest.is_none() {
                // Announced, not started: the rest waits in the demuxer's queue.
                return Ok(None);
            }
            let Some(event) = self.demuxer.pull() else {
                return Ok(None);
            };
            match event {
                Event::Tracks(tracks) => {
                    if let Some(program) = &self.program {
                        if *program != tracks {
                            return Err(TsError::TracksChanged);
                        }
                        continue;
                    }
                    let formats = self.map(&tracks)?;
                    self.program = Some(tracks);
                    return Ok(Some(ferromtx_core::ingest::tracks_of(&formats)));
                }
                Event::AccessUnit(au) => self.write(au)?,
            }
        }
    }

    fn map(&mut self, tracks: &[mpegts::Track]) -> Result<Vec<Format>, TsError> {
        let mut formats = Vec::new();
        for (n, t) in tracks.iter().enumerate() {
            let pt = FIRST_PAYLOAD_TYPE.saturating_add(formats.len() as u8);
            match t.codec.to_format(pt) {
                Some(format) => {
                    self.mapped.push(Mapped {
                        pid: t.pid,
                        index: formats.len(),
                        clock_rate: format.clock_rate().max(1),
                        opus: matches!(t.codec, Codec::Opus { .. }),
                    });
                    formats.push(format);
                }
                None => tracing::warn!("skipping track {} (unsupported codec)", n + 1),
            }
        }
        if formats.is_empty() {
            return Err(TsError::NoSupportedCodecs);
        }
        Ok(formats)
    }

    fn write(&mut self, au: AccessUnit) -> Result<(), TsError> {
        let Some(ingest) = self.ingest.as_mut() else {
            self.anomalies.decode_error("access unit before the tracks");
            return Ok(());
        };
        let Some(track) = self.mapped.iter().find(|m| m.pid == au.pid) else {
            return Ok(());
        };
        let origin = *self.origin.get_or_insert(au.pts);
        let rate = i64::from(track.clock_rate);
        let pts = rescale(au.pts - origin, rate);
        let dts = rescale(au.dts - origin, rate);
        if track.opus {
            // One unit per Opus packet, each after the previous one's duration.
            let mut pts = pts;
            for packet in au.parts {
                let duration = ferromtx_codec::opus::packet_duration(&packet).unwrap_or(960);
                let frame = Frame {
                    rtp_timestamp: 0,
                    random_access: true,
                    parts: vec![packet],
                };
                ingest.write(track.index, pts, None, None, frame)?;
                pts += i64::from(duration);
            }
            return Ok(());
        }
        let frame = Frame {
            rtp_timestamp: 0,
            random_access: au.random_access,
            parts: au.parts,
        };
        ingest.write(track.index, pts, Some(dts), None, frame)?;
        Ok(())
    }
}

/// A 90 kHz duration in another clock rate.
pub(crate) fn rescale(v: i64, rate: i64) -> i64 {
    if rate == 90_000 {
        return v;
    }
    let secs = v.div_euclid(90_000);
    let rem = v.rem_euclid(90_000);
    secs * rate + rem * rate / 90_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ferromtx_codec::mpegts::Muxer;

    #[test]
    fn rescales_both_signs() {
        assert_eq!(rescale(90_000, 48_000), 48_000);
        assert_eq!(rescale(1_800, 48_000), 960);
        assert_eq!(rescale(-1_800, 48_000), -960);
        assert_eq!(rescale(123, 90_000), 123);
    }

    fn ts_with_h264_and_opus() -> Vec<u8> {
        let mut muxer = Muxer::new(vec![
            mpegts::Track {
                pid: 0,
                codec: Codec::H264,
            },
            mpegts::Track {
                pid: 0,
                codec: Codec::Opus { channel_count: 2 },
            },
            mpegts::Track {
                pid: 0,
                codec: Codec::Mpeg1Audio,
            },
        ])
        .expect("muxer");
        let sps = Bytes::from_static(&[0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47]);
        let pps = Bytes::from_static(&[0x68, 0xce, 0x3c, 0x80]);
        let idr = Bytes::from_static(&[0x65, 0x88, 0x84, 0x00, 0x33]);
        let mut out = Vec::new();
        let base = 1_000_000;
        muxer
            .write(256, base, base, true, &[sps, pps, idr], &mut out)
            .expect("video");
        // Two 20 ms Opus packets in one PES.
        let opus = Bytes::from_static(&[0xfc, 0x01, 0x02]);
        muxer
            .write(
                257,
                base + 900,
                base + 900,
                true,
                &[opus.clone(), opus],
                &mut out,
            )
            .expect("opus");
        let p = Bytes::from_static(&[0x41, 0x9a, 0x01]);
        muxer
            .write(
                256,
                base + 3_600,
                base + 3_600,
                false,
                std::slice::from_ref(&p),
                &mut out,
            )
            .expect("video");
        muxer
            .write(256, base + 7_200, base + 7_200, false, &[p], &mut out)
            .expect("video");
        out
    }

    #[test]
    fn announces_supported_tracks_then_writes_units_from_the_first_pts() {
        let data = ts_with_h264_and_opus();
        let mut ingest = TsIngest::new();
        let mut stream = None;
        let mut reader = None;
        // Any chunking.
        for chunk in data.chunks(100) {
            if let Some(tracks) = ingest.push(chunk).expect("push") {
                assert!(stream.is_none(), "announced once");
                let names: Vec<_> = tracks.iter().map(|t| t.format.codec_name()).collect();
                assert_eq!(names, ["H264", "Opus"]);
                let s = Stream::new("test", tracks, 64);
                reader = Some(s.reader());
                ingest.start(Arc::clone(&s)).expect("start");
                stream = Some(s);
            }
        }
        let mut reader = reader.expect("tracks announced");
        assert_eq!(ingest.codecs(), ["H264", "Opus"]);
        let now = tokio::time::Instant::now();
        let mut seen = Vec::new();
        while let ferromtx_core::TryNext::Unit(u) = reader.try_next(now) {
            seen.push((u.track, u.pts, u.random_access));
        }
        // Opus is split in two 20 ms units at 48 kHz.
        assert_eq!(
            seen,
            [
                (0, 0, true),
                (1, 480, true),
                (1, 1_440, true),
                (0, 3_600, false),
                (0, 7_200, false)
            ]
        );
        assert!(ingest.take_log_lines().is_empty());
    }

    #[test]
    fn a_program_without_supported_codecs_is_refused() {
        let mut muxer = Muxer::new(vec![mpegts::Track {
            pid: 0,
            codec: Codec::Mpeg1Audio,
        }])
        .expect("muxer");
        let frame = Bytes::from_static(&[0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0]);
        let mut out = Vec::new();
        for i in 0..3 {
            muxer
                .write(
                    256,
                    i * 2_000,
                    i * 2_000,
                    true,
                    std::slice::from_ref(&frame),
                    &mut out,
                )
                .expect("write");
        }
        let mut ingest = TsIngest::new();
        assert_eq!(ingest.push(&out), Err(TsError::NoSupportedCodecs));
    }
}
