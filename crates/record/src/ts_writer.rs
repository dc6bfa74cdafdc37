//! MPEG-TS segments through the shared muxer (`ferromtx_codec::mpegts::Muxer`): packets
//! are buffered and written out every `recordPartDuration` (or when the 64 KiB buffer
//! fills, as MediaMTX's buffered writer does); a segment ends on a random-access unit (of
//! a video track, or any unit without video) once `recordSegmentDuration` has passed.

use std::time::SystemTime;

use ferromtx_codec::mpegts::{Codec, Muxer, Track as TsTrack};

use crate::mp4::ticks_to_ns;
use crate::path_format;
use crate::segment::{Clock, Output, Settings, WriteError, local_time, ns_duration};
use crate::track::AccessUnit;

/// Bytes buffered before they are written out regardless of the part duration.
pub const BUFFER_SIZE: usize = 64 * 1024;

const TS_CLOCK: i64 = 90_000;

#[derive(Debug)]
struct TrackState {
    pid: u16,
    clock_rate: u32,
    is_video: bool,
    clock: Clock,
}

#[derive(Debug)]
struct Segment {
    start_dts: i64,
    start_ntp: SystemTime,
    path: Option<String>,
    last_flush: i64,
    last_dts: i64,
}

/// The MPEG-TS segment writer of one recorder run.
#[derive(Debug)]
pub struct TsWriter {
    settings: Settings,
    muxer: Muxer,
    tracks: Vec<TrackState>,
    has_video: bool,
    segment: Option<Segment>,
    buffer: Vec<u8>,
}

impl TsWriter {
    /// A writer for tracks of these codecs and clock rates, in that order.
    pub(crate) fn new(settings: Settings, tracks: &[(Codec, u32)]) -> Result<TsWriter, WriteError> {
        let muxer = Muxer::new(
            tracks
                .iter()
                .map(|(codec, _)| TsTrack {
                    pid: 0,
                    codec: codec.clone(),
                })
                .collect(),
        )?;
        let pids: Vec<u16> = muxer.tracks().map(|t| t.pid).collect();
        Ok(TsWriter {
            settings,
            tracks: tracks
                .iter()
                .zip(pids)
                .map(|((codec, clock_rate), pid)| TrackState {
                    pid,
                    clock_rate: (*clock_rate).max(1),
                    is_video: codec.is_video(),
                    clock: Clock::default(),
                })
                .collect(),
            muxer,
            has_video: false,
            segment: None,
            buffer: Vec::with_capacity(BUFFER_SIZE),
        })
    }

    /// Writes one access unit of track `index`.
    pub(crate) fn write(
        &mut self,
        index: usize,
        au: AccessUnit,
        out: &mut Vec<Output>,
    ) -> Result<(), WriteError> {
        let Some(track) = self.tracks.get_mut(index) else {
            return Ok(());
        };
        let (pid, clock_rate, is_video) = (track.pid, track.clock_rate, track.is_video);
        if is_video {
            self.has_video = true;
        }
        let dts = ticks_to_ns(au.dts, clock_rate);
        track.clock.check(dts, au.ntp)?;
        match &mut self.segment {
            None => self.segment = Some(Segment::new(dts, au.ntp)),
            Some(segment)
                if (!self.has_video || is_video)
                    && au.random_access
                    && ns_duration(dts - segment.start_dts) >= self.settings.segment_duration =>
            {
                segment.last_dts = dts;
                self.close(out);
                self.segment = Some(Segment::new(dts, au.ntp));
            }
            Some(segment)
                if ns_duration(dts - segment.last_flush) >= self.settings.part_duration =>
            {
                segment.last_flush = dts;
                self.flush(out);
            }
            Some(_) => {}
        }
        if let Some(segment) = &mut self.segment {
            segment.last_dts = dts;
        }
        let to_90k = |t: i64| {
            if i64::from(clock_rate) == TS_CLOCK {
                t
            } else {
                (t / i64::from(clock_rate)) * TS_CLOCK
                    + (t % i64::from(clock_rate)) * TS_CLOCK / i64::from(clock_rate)
            }
        };
        self.muxer.write(
            pid,
            to_90k(au.pts),
            to_90k(au.dts),
            au.random_access,
            &au.parts,
            &mut self.buffer,
        )?;
        if self.buffer.len() >= BUFFER_SIZE {
            self.flush(out);
        }
        Ok(())
    }

    /// Writes out what is buffered and ends the segment; called when a segment ends or the
    /// recording stops.
    pub(crate) fn close(&mut self, out: &mut Vec<Output>) {
        self.flush(out);
        if let Some(segment) = self.segment.take()
            && let Some(path) = segment.path
        {
            out.push(Output::Close {
                path,
                duration: ns_duration(segment.last_dts - segment.start_dts),
                mvhd: None,
            });
        }
    }

    fn flush(&mut self, out: &mut Vec<Output>) {
        if self.buffer.is_empty() {
            return;
        }
        let Some(segment) = &mut self.segment else {
            return;
        };
        let bytes = std::mem::replace(&mut self.buffer, Vec::with_capacity(BUFFER_SIZE));
        match &segment.path {
            Some(_) => out.push(Output::Append(bytes)),
            None => {
                let path = path_format::encode(
                    &self.settings.template,
                    "",
                    &local_time(segment.start_ntp),
                );
                segment.path = Some(path.clone());
                out.push(Output::Create { path, bytes });
            }
        }
    }
}

impl Segment {
    fn new(start_dts: i64, start_ntp: SystemTime) -> Segment {
        Segment {
            start_dts,
            start_ntp,
            path: None,
            last_flush: start_dts,
            last_dts: start_dts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ferromtx_codec::mpegts::{Demuxer, Event};
    use std::time::Duration;

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn au(pts: i64, clock: i64, key: bool, parts: Vec<Bytes>) -> AccessUnit {
        AccessUnit {
            pts,
            dts: pts,
            random_access: key,
            parts,
            ntp: t0() + Duration::from_nanos((pts * 1_000_000_000 / clock) as u64),
        }
    }

    #[test]
    fn segments_are_cut_on_keyframes_and_demux() {
        let settings = Settings {
            template: "/rec/cam/%s.ts".into(),
            part_duration: Duration::from_secs(1),
            max_part_size: 1 << 20,
            segment_duration: Duration::from_secs(2),
        };
        let mut w = TsWriter::new(
            settings,
            &[
                (Codec::H264, 90_000),
                (Codec::Opus { channel_count: 2 }, 48_000),
            ],
        )
        .expect("writer");
        let sps = Bytes::from_static(&[0x67, 0x42, 0xc0, 0x1e, 0xd9]);
        let pps = Bytes::from_static(&[0x68, 0xce]);
        let idr = Bytes::from(vec![0x65; 300]);
        let p = Bytes::from(vec![0x41; 200]);
        let mut out = Vec::new();
        for i in 0..250i64 {
            // 50 Opus packets and 25 frames a second, a keyframe a second, for 5 s.
            w.write(
                1,
                au(
                    i * 960,
                    48_000,
                    true,
                    vec![Bytes::from_static(&[0xf8, 1, 2])],
                ),
                &mut out,
            )
            .expect("audio");
            if i % 2 == 0 {
                let f = i / 2;
                let parts = if f % 25 == 0 {
                    vec![sps.clone(), pps.clone(), idr.clone()]
                } else {
                    vec![p.clone()]
                };
                w.write(0, au(f * 3600, 90_000, f % 25 == 0, parts), &mut out)
                    .expect("video");
            }
        }
        w.close(&mut out);
        let files: Vec<(&String, Duration)> = out
            .iter()
            .filter_map(|o| match o {
                Output::Close { path, duration, .. } => Some((path, *duration)),
                _ => None,
            })
            .collect();
        assert_eq!(files.len(), 3, "{files:?}");
        assert_eq!(files[0].0, "/rec/cam/1800000000.ts");
        assert_eq!(files[1].0, "/rec/cam/1800000002.ts");
        assert_eq!(files[0].1, Duration::from_secs(2));
        // Data goes out once a second (and when the segment ends): a create, then appends.
        let first: Vec<&Output> = out
            .iter()
            .take_while(|o| !matches!(o, Output::Close { .. }))
            .collect();
        assert!(matches!(first[0], Output::Create { .. }));
        assert!(first[1..].iter().all(|o| matches!(o, Output::Append(_))));
        assert_eq!(first.len(), 3);
        let mut bytes = Vec::new();
        for o in first {
            match o {
                Output::Create { bytes: b, .. } | Output::Append(b) => bytes.extend_from_slice(b),
                Output::Close { .. } => {}
            }
        }
        assert_eq!(bytes.len() % 188, 0);
        let mut d = Demuxer::new();
        d.push(&bytes);
        d.flush();
        let mut video = 0;
        let mut audio = 0;
        while let Some(ev) = d.pull() {
            if let Event::AccessUnit(au) = ev {
                if au.pid == 0x100 {
                    video += 1;
                } else {
                    audio += 1;
                }
            }
        }
        // The audio packet written just before the keyframe that ends the segment is in it.
        assert_eq!((video, audio), (50, 101));
    }
}
