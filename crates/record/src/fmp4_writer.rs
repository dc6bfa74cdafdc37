//! fMP4 segments laid out as MediaMTX writes them: an init (`ftyp`, `moov` with
//! `udta/mtxi`), then one `moof`/`mdat` part every `recordPartDuration` (or sooner when
//! `recordMaxPartSize` would be exceeded, which is an error that restarts the recording, as
//! in MediaMTX), so a crash loses at most the part being filled. A segment ends on a
//! keyframe (of the video track, or any sample without video) once
//! `recordSegmentDuration` has passed; its duration is then written in `mvhd`.
//!
//! Each track holds back one sample, whose duration is known when the next one arrives.
//! Times on the segment timeline are nanoseconds, converted to each track's timescale
//! for `tfdt`, as MediaMTX does.

use std::time::{Duration, SystemTime};

use ferromtx_codec::fmp4::{Init, InitTrack, Part, PartTrack, Sample as Mp4Sample};

use crate::mp4::{Mtxi, mvhd_duration_offset, ns_to_ticks, ticks_to_ns, with_user_data};
use crate::path_format;
use crate::segment::{Clock, Output, Settings, WriteError, local_time, ns_duration, unix_nanos};
use crate::track::{Sample, Track};

/// Segments start on the oldest pending sample of a track at most this far behind the
/// newest one (MediaMTX's concatenation tolerance).
const MAX_BASE_TIME: i64 = 1_000_000_000;

#[derive(Debug)]
struct TrackState {
    id: u32,
    timescale: u32,
    is_video: bool,
    next: Option<Sample>,
    clock: Clock,
}

#[derive(Debug)]
struct PartBuilder {
    number: u32,
    start_dts: i64,
    end_dts: i64,
    size: u64,
    tracks: Vec<PartTrack>,
}

#[derive(Debug)]
struct Segment {
    start_dts: i64,
    start_ntp: SystemTime,
    number: u64,
    path: Option<String>,
    mvhd: Option<usize>,
    end_dts: i64,
    part: Option<PartBuilder>,
    next_part: u32,
}

/// The fMP4 segment writer of one recorder run.
#[derive(Debug)]
pub struct Fmp4Writer {
    settings: Settings,
    stream_id: [u8; 16],
    tracks: Vec<TrackState>,
    has_video: bool,
    segment: Option<Segment>,
    next_segment: u64,
}

impl Fmp4Writer {
    /// A writer for `tracks` (track IDs from 1 in that order); `stream_id` identifies the
    /// run in every segment's `mtxi`.
    pub(crate) fn new(settings: Settings, stream_id: [u8; 16], tracks: &[Track]) -> Fmp4Writer {
        Fmp4Writer {
            settings,
            stream_id,
            tracks: tracks
                .iter()
                .enumerate()
                .map(|(i, t)| TrackState {
                    id: i as u32 + 1,
                    timescale: t.clock_rate.max(1),
                    is_video: t.input.is_video(),
                    next: None,
                    clock: Clock::default(),
                })
                .collect(),
            has_video: false,
            segment: None,
            next_segment: 0,
        }
    }

    /// Writes one sample of track `index` (`inputs` give the codecs when an init is due).
    pub(crate) fn write(
        &mut self,
        inputs: &[Track],
        index: usize,
        sample: Sample,
        out: &mut Vec<Output>,
    ) -> Result<(), WriteError> {
        let Some(track) = self.tracks.get_mut(index) else {
            return Ok(());
        };
        // A video track counts once its first sample came.
        if track.is_video {
            self.has_video = true;
        }
        let Some(mut sample) = track.next.replace(sample) else {
            return Ok(());
        };
        let (id, timescale, is_video) = (track.id, track.timescale, track.is_video);
        let next = track
            .next
            .as_mut()
            .ok_or(WriteError::Mp4("no sample".into()))?;
        let mut duration = next.dts - sample.dts;
        if duration < 0 {
            next.dts = sample.dts;
            duration = 0;
        }
        let (next_dts, next_sync) = (next.dts, !next.non_sync);
        let dts = ticks_to_ns(sample.dts, timescale);
        track.clock.check(dts, sample.ntp)?;

        let segment = match &mut self.segment {
            Some(s) => {
                if dts < s.start_dts {
                    // A negative base time cannot be written in fMP4.
                    tracing::warn!("sample of track {id} received too late, discarding");
                    return Ok(());
                }
                s
            }
            None => {
                let number = self.next_segment;
                self.next_segment += 1;
                self.segment.insert(Segment::new(dts, sample.ntp, number))
            }
        };
        let duration = u32::try_from(duration).unwrap_or(u32::MAX);
        let end = dts + ticks_to_ns(i64::from(duration), timescale);
        segment.end_dts = segment.end_dts.max(end);
        let part_due = segment
            .part
            .as_ref()
            .is_some_and(|p| ns_duration(p.end_dts - p.start_dts) >= self.settings.part_duration);
        if part_due {
            self.flush_part(inputs, out)?;
        }
        let segment = self
            .segment
            .as_mut()
            .ok_or(WriteError::Mp4("no segment".into()))?;
        let seg_start = segment.start_dts;
        let part = match &mut segment.part {
            Some(p) => p,
            None => {
                let number = segment.next_part;
                segment.next_part += 1;
                segment.part.insert(PartBuilder {
                    number,
                    start_dts: dts,
                    end_dts: dts,
                    size: 0,
                    tracks: Vec::new(),
                })
            }
        };
        let size = sample.payload.len() as u64;
        if part.size + size > self.settings.max_part_size {
            return Err(WriteError::PartTooLarge);
        }
        part.size += size;
        let base_time = ns_to_ticks(dts - seg_start, timescale).max(0) as u64;
        let part_track = match part.tracks.iter().position(|t| t.id == id) {
            Some(i) => &mut part.tracks[i],
            None => {
                part.tracks.push(PartTrack {
                    id,
                    base_time,
                    samples: Vec::new(),
                });
                part.tracks.sort_by_key(|t| t.id);
                let i = part.tracks.iter().position(|t| t.id == id).unwrap_or(0);
                &mut part.tracks[i]
            }
        };
        part_track.samples.push(Mp4Sample {
            duration,
            pts_offset: sample.pts_offset,
            non_sync: sample.non_sync,
            payload: std::mem::take(&mut sample.payload),
        });
        part.end_dts = part.end_dts.max(end);

        let next_ns = ticks_to_ns(next_dts, timescale);
        if (!self.has_video || is_video)
            && next_sync
            && ns_duration(next_ns - seg_start) >= self.settings.segment_duration
        {
            self.close_segment(inputs, out)?;
            let (ntp, start) = self.next_segment_start();
            let number = self.next_segment;
            self.next_segment += 1;
            self.segment = Some(Segment::new(start, ntp, number));
        }
        Ok(())
    }

    /// Ends the current segment (flushing its part); called when the recording stops.
    pub(crate) fn close(
        &mut self,
        inputs: &[Track],
        out: &mut Vec<Output>,
    ) -> Result<(), WriteError> {
        self.close_segment(inputs, out)
    }

    /// The start of the next segment: the oldest pending sample among tracks at most
    /// [`MAX_BASE_TIME`] behind the newest (no negative base times, no large ones).
    fn next_segment_start(&self) -> (SystemTime, i64) {
        let pending = || {
            self.tracks.iter().filter_map(|t| {
                t.next
                    .as_ref()
                    .map(|s| (ticks_to_ns(s.dts, t.timescale), s.ntp))
            })
        };
        let newest = pending().map(|(d, _)| d).max().unwrap_or(0);
        let mut best = (SystemTime::UNIX_EPOCH, newest);
        for (dts, ntp) in pending() {
            if newest - dts <= MAX_BASE_TIME && dts <= best.1 {
                best = (ntp, dts);
            }
        }
        best
    }

    fn flush_part(&mut self, inputs: &[Track], out: &mut Vec<Output>) -> Result<(), WriteError> {
        let Some(segment) = &mut self.segment else {
            return Ok(());
        };
        let Some(part) = segment.part.take() else {
            return Ok(());
        };
        let mut bytes = Vec::with_capacity(part.size as usize + 1024);
        if segment.path.is_none() {
            let init = Init {
                tracks: self
                    .tracks
                    .iter()
                    .zip(inputs)
                    .map(|(t, input)| {
                        input.input.fmp4_codec().map(|codec| InitTrack {
                            id: t.id,
                            timescale: t.timescale,
                            codec,
                        })
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| WriteError::Mp4("codec parameters are missing".into()))?,
            };
            let mtxi = Mtxi {
                stream_id: self.stream_id,
                segment_number: segment.number,
                dts: segment.start_dts,
                ntp: unix_nanos(segment.start_ntp),
            };
            let init = init.marshal().map_err(|e| WriteError::Mp4(e.to_string()))?;
            let init =
                with_user_data(init, &mtxi.udta()).map_err(|e| WriteError::Mp4(e.to_string()))?;
            segment.mvhd =
                Some(mvhd_duration_offset(&init).map_err(|e| WriteError::Mp4(e.to_string()))?);
            bytes.extend_from_slice(&init);
        }
        Part {
            sequence_number: part.number,
            tracks: part.tracks,
        }
        .marshal(&mut bytes)
        .map_err(|e| WriteError::Mp4(e.to_string()))?;
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
        Ok(())
    }

    fn close_segment(&mut self, inputs: &[Track], out: &mut Vec<Output>) -> Result<(), WriteError> {
        let flushed = self.flush_part(inputs, out);
        if let Some(segment) = self.segment.take()
            && let Some(path) = segment.path
        {
            out.push(Output::Close {
                path,
                duration: ns_duration(segment.end_dts - segment.start_dts),
                mvhd: segment.mvhd,
            });
        }
        flushed
    }
}

impl Segment {
    fn new(start_dts: i64, start_ntp: SystemTime, number: u64) -> Segment {
        Segment {
            start_dts,
            start_ntp,
            number,
            path: None,
            mvhd: None,
            end_dts: start_dts,
            part: None,
            next_part: 0,
        }
    }
}

/// The duration written in `mvhd`: milliseconds, as MediaMTX writes it.
pub(crate) fn mvhd_millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ferromtx_codec::Format;
    use ferromtx_codec::fmp4::read_parts;

    use crate::track::Input;

    const SPS: &[u8] = &[
        0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40,
        0x00, 0x00, 0x0c, 0xa3, 0xc5, 0x0a, 0xa8,
    ];

    fn tracks() -> Vec<Track> {
        let h264 = Format::H264 {
            payload_type: 96,
            sps: Some(Bytes::from_static(SPS)),
            pps: Some(Bytes::from_static(&[0x68, 0xce, 0x0f, 0xc8])),
            packetization_mode: 1,
        };
        let opus = Format::Opus {
            payload_type: 97,
            channels: 2,
        };
        vec![
            Track::new(Input::for_fmp4(&h264).expect("h264"), 90_000),
            Track::new(Input::for_fmp4(&opus).expect("opus"), 48_000),
        ]
    }

    fn settings() -> Settings {
        Settings {
            template: "/rec/cam/%s-%f.mp4".into(),
            part_duration: Duration::from_secs(1),
            max_part_size: 1 << 20,
            segment_duration: Duration::from_secs(4),
        }
    }

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn sample(dts: i64, clock: i64, key: bool) -> Sample {
        Sample {
            dts,
            pts_offset: 0,
            non_sync: !key,
            payload: Bytes::from(vec![0u8; 100]),
            ntp: t0() + Duration::from_nanos((dts * 1_000_000_000 / clock) as u64),
        }
    }

    /// 25 fps video with a keyframe a second, 50 Opus packets a second, for `secs`.
    fn record(w: &mut Fmp4Writer, inputs: &[Track], secs: i64) -> Vec<Output> {
        let mut out = Vec::new();
        for i in 0..secs * 50 {
            w.write(inputs, 1, sample(i * 960, 48_000, true), &mut out)
                .expect("audio");
            if i % 2 == 0 {
                let f = i / 2;
                w.write(inputs, 0, sample(f * 3600, 90_000, f % 25 == 0), &mut out)
                    .expect("video");
            }
        }
        out
    }

    #[test]
    fn segments_and_parts_follow_the_settings() {
        let inputs = tracks();
        let mut w = Fmp4Writer::new(settings(), [9; 16], &inputs);
        let mut out = record(&mut w, &inputs, 10);
        w.close(&inputs, &mut out).expect("closed");
        let creates: Vec<&String> = out
            .iter()
            .filter_map(|o| match o {
                Output::Create { path, .. } => Some(path),
                _ => None,
            })
            .collect();
        // Segments of 4 s starting on keyframes: 0, 4, 8 s.
        assert_eq!(
            creates,
            vec![
                "/rec/cam/1800000000-000000.mp4",
                "/rec/cam/1800000004-000000.mp4",
                "/rec/cam/1800000008-000000.mp4"
            ]
        );
        let durations: Vec<Duration> = out
            .iter()
            .filter_map(|o| match o {
                Output::Close { duration, .. } => Some(*duration),
                _ => None,
            })
            .collect();
        assert_eq!(
            durations[..2],
            [Duration::from_secs(4), Duration::from_secs(4)]
        );
        // The last segment ends with the last sample that had a successor.
        assert!(durations[2] >= Duration::from_millis(1900), "{durations:?}");

        // The first segment: init with mtxi, then 4 parts of 1 s numbered from 0.
        let mut file = Vec::new();
        for o in &out {
            match o {
                Output::Create { bytes, .. } if file.is_empty() => file.extend_from_slice(bytes),
                Output::Append(bytes) => file.extend_from_slice(bytes),
                Output::Close { .. } => break,
                _ => {}
            }
        }
        let moov = crate::mp4::find(&file, b"moov")
            .expect("box")
            .expect("moov");
        let header = crate::mp4::Header::parse(moov.body).expect("header");
        let mtxi = header.mtxi.expect("mtxi");
        assert_eq!(
            (mtxi.segment_number, mtxi.dts, mtxi.stream_id),
            (0, 0, [9; 16])
        );
        assert_eq!(mtxi.ntp, 1_800_000_000_000_000_000);
        let parts = read_parts(&Bytes::from(file)).expect("parts");
        // Parts of a second or a little more (cut between samples), numbered from 0.
        assert!((4..=5).contains(&parts.len()), "{} parts", parts.len());
        assert!(parts.iter().zip(0..).all(|(p, n)| p.sequence_number == n));
        // Parts are cut once they span a second; each track's base time continues where
        // its previous samples ended.
        let mut video_end = 0;
        for p in &parts {
            assert_eq!(p.tracks[0].base_time, video_end);
            video_end += p.tracks[0]
                .samples
                .iter()
                .map(|s| u64::from(s.duration))
                .sum::<u64>();
        }
        assert_eq!(video_end, 4 * 90_000);
        let audio: usize = parts.iter().map(|p| p.tracks[1].samples.len()).sum();
        assert_eq!(audio, 200);
        assert!(!parts[0].tracks[0].samples[0].non_sync);
        assert!(parts[0].tracks[0].samples[1].non_sync);
        assert_eq!(parts[0].tracks[1].samples[0].duration, 960);
        // The second segment's mtxi continues the run.
        let second = out
            .iter()
            .filter_map(|o| match o {
                Output::Create { bytes, .. } => Some(bytes),
                _ => None,
            })
            .nth(1)
            .expect("second");
        let moov = crate::mp4::find(second, b"moov")
            .expect("box")
            .expect("moov");
        let mtxi = crate::mp4::Header::parse(moov.body)
            .expect("h")
            .mtxi
            .expect("mtxi");
        assert_eq!((mtxi.segment_number, mtxi.dts), (1, 4_000_000_000));
    }

    #[test]
    fn oversized_parts_and_drift_are_errors() {
        let inputs = tracks();
        let mut s = settings();
        s.max_part_size = 250;
        let mut w = Fmp4Writer::new(s, [0; 16], &inputs);
        let mut out = Vec::new();
        let mut result = Ok(());
        for f in 0..5 {
            result = w.write(&inputs, 0, sample(f * 3600, 90_000, f == 0), &mut out);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(WriteError::PartTooLarge));

        let mut w = Fmp4Writer::new(settings(), [0; 16], &inputs);
        let mut late = sample(3600, 90_000, false);
        late.ntp += Duration::from_secs(6);
        w.write(&inputs, 0, sample(0, 90_000, true), &mut out)
            .expect("first");
        w.write(&inputs, 0, late.clone(), &mut out)
            .expect("held back");
        assert_eq!(
            w.write(&inputs, 0, sample(7200, 90_000, false), &mut out),
            Err(WriteError::Drift)
        );
    }
}
