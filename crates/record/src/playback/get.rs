//! `/get`: the covering segments joined into one file, timestamps moved so that the file
//! starts at the requested time, fragments renumbered. Runs on a blocking thread and hands
//! the answer out in pieces through a bounded channel, so memory does not grow with the
//! requested duration (fMP4: about a second of samples at a time; MP4: the sample tables,
//! see [`super::mp4_out`]).

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use tokio::sync::mpsc;

use super::fmp4_out;
use super::list::{add, can_concatenate};
use super::mp4_out::Progressive;
use super::segment::SegmentFile;
use super::window::{OutRun, OutSample, Window};
use crate::mp4::{ns_to_ticks, ticks_to_ns};
use crate::store::Segment;

/// Output formats of `/get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Fmp4,
    Mp4,
}

/// Why nothing could be answered. Texts are MediaMTX's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GetError {
    #[error("no recording segments found")]
    NoSegments,
    #[error("{0}")]
    Other(String),
}

impl From<String> for GetError {
    fn from(s: String) -> Self {
        GetError::Other(s)
    }
}

/// One message of the answer: bytes, or the error that ends it.
pub(crate) type Piece = Result<Bytes, GetError>;

/// Pieces of an MP4 answer's `mdat` are at least this large.
const COPY_CHUNK: usize = 256 * 1024;

/// Where a sample's payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SampleRef {
    segment: usize,
    offset: u64,
}

/// The segment files a request reads, opened on demand; the current one and the one
/// before it stay open (a part can span two segments).
struct Files<'a> {
    names: &'a [PathBuf],
    open: Vec<(usize, SegmentFile)>,
}

impl Files<'_> {
    fn get(&mut self, index: usize) -> Result<&SegmentFile, String> {
        if let Some(pos) = self.open.iter().position(|(i, _)| *i == index) {
            return Ok(&self.open[pos].1);
        }
        let name = self.names.get(index).ok_or("no such segment")?;
        let f = SegmentFile::open(name)?;
        if self.open.len() >= 2 {
            self.open.remove(0);
        }
        self.open.push((index, f));
        Ok(&self.open[self.open.len() - 1].1)
    }

    fn read(&mut self, r: SampleRef, size: u32) -> Result<Bytes, String> {
        self.get(r.segment)?.read_at(r.offset, size)
    }
}

enum Sink {
    Fmp4 {
        init: Option<Vec<u8>>,
        sequence: u32,
    },
    Mp4(Progressive<SampleRef>),
}

/// Sends a piece; false when the client went away.
fn send(tx: &mpsc::Sender<Piece>, piece: Piece) -> bool {
    tx.blocking_send(piece).is_ok()
}

impl Sink {
    /// Hands out a part (fMP4) or takes note of it (MP4).
    fn part(
        &mut self,
        runs: Vec<OutRun<SampleRef>>,
        files: &mut Files<'_>,
        tx: &mpsc::Sender<Piece>,
    ) -> Result<bool, GetError> {
        if runs.is_empty() {
            return Ok(true);
        }
        match self {
            Sink::Fmp4 { init, sequence } => {
                let mut loaded = Vec::with_capacity(runs.len());
                for r in runs {
                    let mut samples = Vec::with_capacity(r.samples.len());
                    for s in r.samples {
                        let payload = files.read(s.payload, s.size)?;
                        samples.push(OutSample {
                            duration: s.duration,
                            pts_offset: s.pts_offset,
                            non_sync: s.non_sync,
                            size: s.size,
                            payload,
                        });
                    }
                    loaded.push(OutRun {
                        id: r.id,
                        base_time: r.base_time,
                        samples,
                    });
                }
                let mut bytes = init.take().unwrap_or_default();
                bytes.extend_from_slice(&fmp4_out::part(*sequence, loaded)?);
                *sequence += 1;
                Ok(send(tx, Ok(Bytes::from(bytes))))
            }
            Sink::Mp4(p) => {
                p.add(runs)?;
                Ok(true)
            }
        }
    }
}

/// Answers a `/get` of `duration` from `start` over `segments` (as found for the window,
/// sorted), sending the pieces to `tx`. Blocking. The first piece is an error when nothing
/// could be answered.
pub(crate) fn get(
    segments: &[Segment],
    start: DateTime<FixedOffset>,
    duration: Duration,
    format: Format,
    tx: &mpsc::Sender<Piece>,
) {
    if let Err(e) = answer(segments, start, duration, format, tx) {
        // After the first piece the client sees the answer cut short; the error goes to
        // the log either way (by the receiver).
        let _ = tx.blocking_send(Err(e));
    }
}

fn answer(
    segments: &[Segment],
    start: DateTime<FixedOffset>,
    duration: Duration,
    format: Format,
    tx: &mpsc::Sender<Piece>,
) -> Result<(), GetError> {
    let names: Vec<PathBuf> = segments.iter().map(|s| s.file.clone()).collect();
    let mut files = Files {
        names: &names,
        open: Vec::new(),
    };
    let first = SegmentFile::open(&names[0])?.header;
    let duration_ns = i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX);
    let tracks: Vec<(u32, u32)> = first.tracks.iter().map(|t| (t.id, t.timescale)).collect();
    let mut window: Window<SampleRef> = Window::new(&tracks, duration_ns);
    let mut sink = match format {
        Format::Fmp4 => Sink::Fmp4 {
            init: Some(fmp4_out::init(&first)?),
            sequence: 0,
        },
        Format::Mp4 => Sink::Mp4(Progressive::new(&first)),
    };
    let ns_between = |a: DateTime<FixedOffset>, b: DateTime<FixedOffset>| {
        (b - a)
            .num_nanoseconds()
            .unwrap_or(if b > a { i64::MAX } else { i64::MIN })
    };
    // Where the first segment starts on the answer's timeline (negative: before it).
    let start_offset = ns_between(start, segments[0].start);
    let mut prev: Option<(crate::mp4::Header, DateTime<FixedOffset>)> = None;
    for (index, seg) in segments.iter().enumerate() {
        let file = SegmentFile::open(&seg.file)?;
        let header = file.header.clone();
        if let Some((prev_header, prev_end)) = &prev
            && !can_concatenate(prev_header, *prev_end, &header, seg.start)
        {
            break;
        }
        let base_ns = match (index, &first.mtxi, &header.mtxi) {
            (0, _, _) => start_offset,
            (_, Some(a), Some(b)) => b.dts.saturating_sub(a.dts).saturating_add(start_offset),
            _ => ns_between(start, seg.start),
        };
        let mut elapsed = 0i64;
        let mut done = false;
        for part in file.parts() {
            let part = part?;
            for run in part.runs {
                let timescale = first
                    .track(run.track_id)
                    .ok_or_else(|| format!("invalid track ID: {}", run.track_id))?
                    .timescale;
                let offset = ns_to_ticks(base_ns, timescale);
                let end = window.end(run.track_id).unwrap_or(0);
                let mut dts = i64::try_from(run.base_time)
                    .unwrap_or(i64::MAX)
                    .saturating_add(offset);
                for s in &run.samples {
                    if dts >= end {
                        done = true;
                        break;
                    }
                    let sample = OutSample {
                        duration: s.duration,
                        pts_offset: s.pts_offset,
                        non_sync: s.non_sync,
                        size: s.size,
                        payload: SampleRef {
                            segment: index,
                            offset: s.offset,
                        },
                    };
                    if window.sample(run.track_id, dts, sample) {
                        let runs = window.take_part(false);
                        if !sink.part(runs, &mut files, tx)? {
                            return Ok(());
                        }
                    }
                    dts = dts.saturating_add(i64::from(s.duration));
                }
                window.final_dts(run.track_id, dts);
                elapsed = elapsed.max(ticks_to_ns(dts - offset, timescale));
            }
            if done {
                break;
            }
        }
        prev = Some((
            header,
            add(seg.start, Duration::from_nanos(elapsed.max(0) as u64)),
        ));
        if done {
            break;
        }
    }
    let runs = window.take_part(true);
    if !sink.part(runs, &mut files, tx)? {
        return Ok(());
    }
    if !window.wrote_anything() {
        return Err(GetError::NoSegments);
    }
    if let Sink::Mp4(p) = sink {
        if p.is_empty() {
            return Err(GetError::NoSegments);
        }
        let (head, payloads) = p.finish()?;
        let mut piece = head;
        for (r, size) in payloads {
            piece.extend_from_slice(&files.read(r, size)?);
            if piece.len() >= COPY_CHUNK && !send(tx, Ok(Bytes::from(std::mem::take(&mut piece)))) {
                return Ok(());
            }
        }
        if !piece.is_empty() {
            send(tx, Ok(Bytes::from(piece)));
        }
    }
    Ok(())
}

/// Parses `duration`: seconds (`12.5`), or a Go duration (`1m30s`, deprecated).
pub(crate) fn parse_duration(raw: &str) -> Result<Duration, String> {
    if let Ok(secs) = raw.trim().parse::<f64>() {
        if !secs.is_finite() {
            return Err(format!("time: invalid duration \"{raw}\""));
        }
        return Ok(Duration::from_secs_f64(secs.clamp(0.0, 1e12)));
    }
    ferromtx_conf::parse_duration(raw).map_err(|_| format!("time: invalid duration \"{raw}\""))
}
