//! The ISO BMFF boxes recordings need beyond what `ferromtx_codec::fmp4` writes: the
//! `udta`/`mtxi` box MediaMTX puts in every segment's init (stream id, segment number,
//! start DTS and NTP, which tell the playback server which segments are contiguous), the
//! `mvhd` duration written when a segment ends, and a reader of segment headers and
//! `moof` boxes that keeps sample offsets instead of payloads (segments are read from
//! disk a fragment at a time).
//!
//! Every size read is checked against its parent; nothing here panics on any input.

use std::time::Duration;

/// Most bytes a `moov` or `moof` may have when read from a file.
pub const MAX_HEADER_SIZE: u64 = 16 * 1024 * 1024;

/// Why bytes are not a segment MediaMTX or ferromtx wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Mp4Error {
    #[error("{0} box not found")]
    Missing(&'static str),
    #[error("box {0} has an invalid size")]
    BadSize(String),
    #[error("{0} truncated")]
    Truncated(&'static str),
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("invalid track ID: {0}")]
    UnknownTrack(u32),
}

/// A box found in a buffer.
#[derive(Debug, Clone, Copy)]
pub struct RawBox<'a> {
    pub kind: [u8; 4],
    /// The whole box, header included.
    pub bytes: &'a [u8],
    /// The body, after the header.
    pub body: &'a [u8],
    /// Where the box starts in the buffer iterated over.
    pub offset: usize,
}

fn kind_name(kind: &[u8; 4]) -> String {
    String::from_utf8_lossy(kind).into_owned()
}

/// The size and header length of the box whose header starts `data`, if complete.
pub fn box_header(data: &[u8]) -> Option<([u8; 4], u64, usize)> {
    let size = u32::from_be_bytes(data.get(0..4)?.try_into().ok()?);
    let kind: [u8; 4] = data.get(4..8)?.try_into().ok()?;
    match size {
        1 => {
            let large = u64::from_be_bytes(data.get(8..16)?.try_into().ok()?);
            Some((kind, large, 16))
        }
        _ => Some((kind, u64::from(size), 8)),
    }
}

/// The boxes one after the other in `data`.
pub fn boxes(data: &[u8]) -> impl Iterator<Item = Result<RawBox<'_>, Mp4Error>> {
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pos >= data.len() {
            return None;
        }
        let rest = &data[pos..];
        let Some((kind, size, header)) = box_header(rest) else {
            failed = true;
            return Some(Err(Mp4Error::Truncated("box header")));
        };
        // Size 0: the box runs to the end of its parent.
        let size = if size == 0 { rest.len() as u64 } else { size };
        if size < header as u64 || size > rest.len() as u64 {
            failed = true;
            return Some(Err(Mp4Error::BadSize(kind_name(&kind))));
        }
        let size = size as usize;
        let b = RawBox {
            kind,
            bytes: &rest[..size],
            body: &rest[header..size],
            offset: pos,
        };
        pos += size;
        Some(Ok(b))
    })
}

/// The first box of `kind` in `data`.
pub fn find<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<Option<RawBox<'a>>, Mp4Error> {
    for b in boxes(data) {
        let b = b?;
        if &b.kind == kind {
            return Ok(Some(b));
        }
    }
    Ok(None)
}

fn require<'a>(
    data: &'a [u8],
    kind: &'static [u8; 4],
    name: &'static str,
) -> Result<RawBox<'a>, Mp4Error> {
    find(data, kind)?.ok_or(Mp4Error::Missing(name))
}

fn u32_at(data: &[u8], pos: usize, what: &'static str) -> Result<u32, Mp4Error> {
    data.get(pos..pos + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or(Mp4Error::Truncated(what))
}

fn u64_at(data: &[u8], pos: usize, what: &'static str) -> Result<u64, Mp4Error> {
    data.get(pos..pos + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or(Mp4Error::Truncated(what))
}

/// Appends a box of `kind` with `body`.
pub fn write_box(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    let size = u32::try_from(8 + body.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
}

/// MediaMTX's segment information (`moov/udta/mtxi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mtxi {
    /// Random per recorder run: segments of one run share it.
    pub stream_id: [u8; 16],
    /// 0 for the first segment of a run, then one more for each.
    pub segment_number: u64,
    /// DTS of the segment's start on the run's timeline, in nanoseconds.
    pub dts: i64,
    /// Absolute time of the segment's start, in nanoseconds since the Unix epoch.
    pub ntp: i64,
}

impl Mtxi {
    /// The `udta` box holding it.
    pub fn udta(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(44);
        body.extend_from_slice(&[0, 0, 0, 0]); // version, flags
        body.extend_from_slice(&self.stream_id);
        body.extend_from_slice(&self.segment_number.to_be_bytes());
        body.extend_from_slice(&self.dts.to_be_bytes());
        body.extend_from_slice(&self.ntp.to_be_bytes());
        let mut mtxi = Vec::with_capacity(52);
        write_box(&mut mtxi, b"mtxi", &body);
        let mut udta = Vec::with_capacity(60);
        write_box(&mut udta, b"udta", &mtxi);
        udta
    }

    fn parse(body: &[u8]) -> Result<Mtxi, Mp4Error> {
        let b = body.get(4..44).ok_or(Mp4Error::Truncated("mtxi"))?;
        let mut stream_id = [0u8; 16];
        stream_id.copy_from_slice(&b[..16]);
        Ok(Mtxi {
            stream_id,
            segment_number: u64_at(b, 16, "mtxi")?,
            dts: u64_at(b, 24, "mtxi")? as i64,
            ntp: u64_at(b, 32, "mtxi")? as i64,
        })
    }
}

/// `init` (`ftyp` + `moov`, as the codec writes it) with `udta` appended inside `moov`.
pub fn with_user_data(mut init: Vec<u8>, udta: &[u8]) -> Result<Vec<u8>, Mp4Error> {
    let moov = boxes(&init)
        .filter_map(Result::ok)
        .find(|b| &b.kind == b"moov")
        .map(|b| (b.offset, b.bytes.len()))
        .ok_or(Mp4Error::Missing("moov"))?;
    let (offset, len) = moov;
    if offset + len != init.len() {
        return Err(Mp4Error::Invalid("moov is not the last box"));
    }
    let size = u32::try_from(len + udta.len()).map_err(|_| Mp4Error::BadSize("moov".into()))?;
    init[offset..offset + 4].copy_from_slice(&size.to_be_bytes());
    init.extend_from_slice(udta);
    Ok(init)
}

/// Where the 32-bit `mvhd` duration lies in an init segment (version 0 `mvhd`, as
/// written), so it can be set when the segment ends.
pub fn mvhd_duration_offset(init: &[u8]) -> Result<usize, Mp4Error> {
    let moov = require(init, b"moov", "moov")?;
    let mvhd = require(moov.body, b"mvhd", "mvhd")?;
    if mvhd.body.first() != Some(&0) {
        return Err(Mp4Error::Invalid("mvhd version"));
    }
    let moov_body = moov.offset + (moov.bytes.len() - moov.body.len());
    let mvhd_body = moov_body + mvhd.offset + (mvhd.bytes.len() - mvhd.body.len());
    // version/flags, creation and modification times, timescale.
    Ok(mvhd_body + 16)
}

/// One track of a segment's init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderTrack {
    pub id: u32,
    pub timescale: u32,
    /// The sample entry's type (`avc1`, `Opus`, `mp4a`...).
    pub entry: [u8; 4],
    pub is_video: bool,
    /// The whole `trak` box, as found.
    pub trak: Vec<u8>,
}

/// What a segment's init says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub tracks: Vec<HeaderTrack>,
    /// The `mvhd` duration: zero while the segment is being written.
    pub duration: Duration,
    pub mtxi: Option<Mtxi>,
    /// The whole `mvex` box, as found.
    pub mvex: Vec<u8>,
}

/// Most tracks a segment may declare.
pub const MAX_TRACKS: usize = 64;

impl Header {
    /// Reads the `moov` box body.
    pub fn parse(moov: &[u8]) -> Result<Header, Mp4Error> {
        let mvhd = require(moov, b"mvhd", "mvhd")?;
        let (timescale, duration) = match mvhd.body.first() {
            Some(1) => (
                u32_at(mvhd.body, 20, "mvhd")?,
                u64_at(mvhd.body, 24, "mvhd")?,
            ),
            _ => (
                u32_at(mvhd.body, 12, "mvhd")?,
                u64::from(u32_at(mvhd.body, 16, "mvhd")?),
            ),
        };
        let duration = if timescale == 0 {
            Duration::ZERO
        } else {
            ticks_to_duration(duration, timescale)
        };
        let mut tracks = Vec::new();
        let mut mtxi = None;
        let mut mvex = Vec::new();
        for b in boxes(moov) {
            let b = b?;
            match &b.kind {
                b"trak" => {
                    if tracks.len() == MAX_TRACKS {
                        return Err(Mp4Error::Invalid("more than 64 tracks"));
                    }
                    tracks.push(read_trak(b)?);
                }
                b"mvex" => mvex = b.bytes.to_vec(),
                b"udta" => {
                    if let Some(m) = find(b.body, b"mtxi")? {
                        mtxi = Some(Mtxi::parse(m.body)?);
                    }
                }
                _ => {}
            }
        }
        if tracks.is_empty() {
            return Err(Mp4Error::Missing("trak"));
        }
        Ok(Header {
            tracks,
            duration,
            mtxi,
            mvex,
        })
    }

    pub fn track(&self, id: u32) -> Option<&HeaderTrack> {
        self.tracks.iter().find(|t| t.id == id)
    }

    /// Whether two inits describe the same tracks (id, timescale and codec).
    pub fn same_tracks(&self, other: &Header) -> bool {
        self.tracks.len() == other.tracks.len()
            && self
                .tracks
                .iter()
                .zip(&other.tracks)
                .all(|(a, b)| a.id == b.id && a.timescale == b.timescale && a.entry == b.entry)
    }
}

fn read_trak(trak: RawBox<'_>) -> Result<HeaderTrack, Mp4Error> {
    let tkhd = require(trak.body, b"tkhd", "tkhd")?;
    let id = match tkhd.body.first() {
        Some(1) => u32_at(tkhd.body, 20, "tkhd")?,
        _ => u32_at(tkhd.body, 12, "tkhd")?,
    };
    let mdia = require(trak.body, b"mdia", "mdia")?;
    let mdhd = require(mdia.body, b"mdhd", "mdhd")?;
    let timescale = match mdhd.body.first() {
        Some(1) => u32_at(mdhd.body, 20, "mdhd")?,
        _ => u32_at(mdhd.body, 12, "mdhd")?,
    };
    if timescale == 0 {
        return Err(Mp4Error::Invalid("mdhd timescale"));
    }
    let hdlr = require(mdia.body, b"hdlr", "hdlr")?;
    let is_video = hdlr.body.get(8..12) == Some(b"vide");
    let minf = require(mdia.body, b"minf", "minf")?;
    let stbl = require(minf.body, b"stbl", "stbl")?;
    let stsd = require(stbl.body, b"stsd", "stsd")?;
    let entry = stsd
        .body
        .get(12..16)
        .and_then(|k| <[u8; 4]>::try_from(k).ok())
        .ok_or(Mp4Error::Truncated("stsd"))?;
    Ok(HeaderTrack {
        id,
        timescale,
        entry,
        is_video,
        trak: trak.bytes.to_vec(),
    })
}

/// One sample of a fragment: its timing, flags and where its payload lies in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleInfo {
    pub duration: u32,
    pub pts_offset: i32,
    pub non_sync: bool,
    pub size: u32,
    /// Offset of the payload in the file.
    pub offset: u64,
}

/// The samples of one track in a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackRun {
    pub track_id: u32,
    /// `tfdt` baseMediaDecodeTime.
    pub base_time: u64,
    pub samples: Vec<SampleInfo>,
}

const TFHD_BASE_DATA_OFFSET: u32 = 0x00_0001;
const TFHD_SAMPLE_DESCRIPTION_INDEX: u32 = 0x00_0002;
const TFHD_DEFAULT_DURATION: u32 = 0x00_0008;
const TFHD_DEFAULT_SIZE: u32 = 0x00_0010;
const TFHD_DEFAULT_FLAGS: u32 = 0x00_0020;
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
const TRUN_DATA_OFFSET: u32 = 0x000_001;
const TRUN_FIRST_SAMPLE_FLAGS: u32 = 0x000_004;
const TRUN_DURATION: u32 = 0x000_100;
const TRUN_SIZE: u32 = 0x000_200;
const TRUN_FLAGS: u32 = 0x000_400;
const TRUN_CTS: u32 = 0x000_800;
/// Most samples a `trun` without per-sample fields may announce.
const MAX_DEFAULT_SAMPLES: usize = 1 << 16;
/// `sample_is_non_sync_sample` in sample flags.
pub const SAMPLE_NON_SYNC: u32 = 0x0001_0000;

/// Reads a `moof` body that starts at `moof_offset` in its file: the runs of each track,
/// in the order of the `traf` boxes. Samples are not bounds-checked against the file
/// (whoever reads them does).
pub fn read_moof(moof: &[u8], moof_offset: u64) -> Result<Vec<TrackRun>, Mp4Error> {
    let mut runs = Vec::new();
    let mut previous_end = moof_offset;
    for b in boxes(moof) {
        let b = b?;
        if &b.kind != b"traf" {
            continue;
        }
        if runs.len() == MAX_TRACKS {
            return Err(Mp4Error::Invalid("more than 64 tracks"));
        }
        let (run, end) = read_traf(b.body, moof_offset, previous_end)?;
        previous_end = end;
        runs.push(run);
    }
    Ok(runs)
}

fn read_traf(
    traf: &[u8],
    moof_offset: u64,
    previous_end: u64,
) -> Result<(TrackRun, u64), Mp4Error> {
    let tfhd = require(traf, b"tfhd", "tfhd")?;
    let flags = u32_at(tfhd.body, 0, "tfhd")? & 0x00ff_ffff;
    let track_id = u32_at(tfhd.body, 4, "tfhd")?;
    let mut pos = 8;
    let base = if flags & TFHD_BASE_DATA_OFFSET != 0 {
        pos += 8;
        u64_at(tfhd.body, 8, "tfhd")?
    } else if flags & TFHD_DEFAULT_BASE_IS_MOOF != 0 {
        moof_offset
    } else {
        previous_end
    };
    if flags & TFHD_SAMPLE_DESCRIPTION_INDEX != 0 {
        pos += 4;
    }
    let mut next = |bit: u32| -> Result<u32, Mp4Error> {
        if flags & bit == 0 {
            return Ok(0);
        }
        let v = u32_at(tfhd.body, pos, "tfhd")?;
        pos += 4;
        Ok(v)
    };
    let default_duration = next(TFHD_DEFAULT_DURATION)?;
    let default_size = next(TFHD_DEFAULT_SIZE)?;
    let default_flags = next(TFHD_DEFAULT_FLAGS)?;
    let base_time = match find(traf, b"tfdt")? {
        Some(tfdt) => match tfdt.body.first() {
            Some(1) => u64_at(tfdt.body, 4, "tfdt")?,
            _ => u64::from(u32_at(tfdt.body, 4, "tfdt")?),
        },
        None => 0,
    };
    let mut samples = Vec::new();
    let mut data = base;
    for b in boxes(traf) {
        let b = b?;
        if &b.kind != b"trun" {
            continue;
        }
        let t = b.body;
        let flags = u32_at(t, 0, "trun")? & 0x00ff_ffff;
        let count = u32_at(t, 4, "trun")? as usize;
        let mut pos = 8;
        if flags & TRUN_DATA_OFFSET != 0 {
            let offset = u32_at(t, pos, "trun")? as i32;
            pos += 4;
            data = base
                .checked_add_signed(i64::from(offset))
                .ok_or(Mp4Error::Invalid("trun data offset"))?;
        }
        let first_flags = if flags & TRUN_FIRST_SAMPLE_FLAGS != 0 {
            pos += 4;
            Some(u32_at(t, pos - 4, "trun")?)
        } else {
            None
        };
        let entry_len = 4 * [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTS]
            .iter()
            .filter(|bit| flags & **bit != 0)
            .count();
        // Bound the allocation by what the box can describe.
        let left = t.len().saturating_sub(pos);
        let describable = left.checked_div(entry_len).unwrap_or(MAX_DEFAULT_SAMPLES);
        if count > describable {
            return Err(Mp4Error::Truncated("trun"));
        }
        samples.reserve(count);
        for i in 0..count {
            let mut field = |bit: u32, default: u32| -> Result<u32, Mp4Error> {
                if flags & bit == 0 {
                    return Ok(default);
                }
                let v = u32_at(t, pos, "trun")?;
                pos += 4;
                Ok(v)
            };
            let duration = field(TRUN_DURATION, default_duration)?;
            let size = field(TRUN_SIZE, default_size)?;
            let sample_default = if i == 0 {
                first_flags.unwrap_or(default_flags)
            } else {
                default_flags
            };
            let sample_flags = field(TRUN_FLAGS, sample_default)?;
            let pts_offset = field(TRUN_CTS, 0)? as i32;
            samples.push(SampleInfo {
                duration,
                pts_offset,
                non_sync: sample_flags & SAMPLE_NON_SYNC != 0,
                size,
                offset: data,
            });
            data = data.saturating_add(u64::from(size));
        }
    }
    Ok((
        TrackRun {
            track_id,
            base_time,
            samples,
        },
        data,
    ))
}

/// `ticks` of a `timescale` clock as a duration, without overflow.
pub fn ticks_to_duration(ticks: u64, timescale: u32) -> Duration {
    let ts = u64::from(timescale.max(1));
    Duration::from_secs(ticks / ts) + Duration::from_nanos((ticks % ts) * 1_000_000_000 / ts)
}

/// A signed duration in nanoseconds as ticks of a `timescale` clock (truncated, as
/// MediaMTX converts).
pub fn ns_to_ticks(ns: i64, timescale: u32) -> i64 {
    let ts = i64::from(timescale);
    (ns / 1_000_000_000) * ts + (ns % 1_000_000_000) * ts / 1_000_000_000
}

/// Ticks of a `timescale` clock as signed nanoseconds (truncated).
pub fn ticks_to_ns(ticks: i64, timescale: u32) -> i64 {
    let ts = i64::from(timescale.max(1));
    (ticks / ts)
        .saturating_mul(1_000_000_000)
        .saturating_add((ticks % ts) * 1_000_000_000 / ts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ferromtx_codec::fmp4::{Codec, Init, InitTrack, Part, PartTrack, Sample};

    fn init() -> Init {
        Init {
            tracks: vec![
                InitTrack {
                    id: 1,
                    timescale: 90_000,
                    codec: Codec::H264 {
                        sps: Bytes::from_static(&[
                            0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00,
                            0x03, 0x00, 0x40, 0x00, 0x00, 0x0c, 0xa3, 0xc5, 0x0a, 0xa8,
                        ]),
                        pps: Bytes::from_static(&[0x68, 0xce, 0x0f, 0xc8]),
                    },
                },
                InitTrack {
                    id: 2,
                    timescale: 48_000,
                    codec: Codec::Opus { channel_count: 2 },
                },
            ],
        }
    }

    #[test]
    fn mtxi_and_duration_go_where_mediamtx_puts_them() {
        let mtxi = Mtxi {
            stream_id: [7; 16],
            segment_number: 3,
            dts: -5,
            ntp: 1_800_000_000_000_000_000,
        };
        let plain = init().marshal().expect("init");
        let with = with_user_data(plain.clone(), &mtxi.udta()).expect("udta added");
        assert_eq!(with.len(), plain.len() + 60);
        // The moov box grew by the udta box.
        let moov = find(&with, b"moov").expect("parses").expect("moov");
        assert_eq!(moov.offset + moov.bytes.len(), with.len());
        let h = Header::parse(moov.body).expect("header");
        assert_eq!(h.mtxi, Some(mtxi));
        assert_eq!(h.duration, Duration::ZERO);
        assert_eq!(
            h.tracks
                .iter()
                .map(|t| (t.id, t.timescale, t.entry, t.is_video))
                .collect::<Vec<_>>(),
            vec![(1, 90_000, *b"avc1", true), (2, 48_000, *b"Opus", false)]
        );
        // The mvhd duration (ms) is where MediaMTX's reader looks for it.
        let at = mvhd_duration_offset(&with).expect("mvhd");
        let mut done = with.clone();
        done[at..at + 4].copy_from_slice(&4000u32.to_be_bytes());
        let moov = find(&done, b"moov").expect("parses").expect("moov");
        let h = Header::parse(moov.body).expect("header");
        assert_eq!(h.duration, Duration::from_secs(4));
        assert!(h.same_tracks(&h.clone()));
        // The codec's own reader still reads the init.
        assert_eq!(Init::parse(&done).expect("codec reads it"), init());
    }

    #[test]
    fn moof_samples_point_into_the_mdat() {
        let part = Part {
            sequence_number: 4,
            tracks: vec![
                PartTrack {
                    id: 1,
                    base_time: 9000,
                    samples: vec![
                        Sample {
                            duration: 3600,
                            pts_offset: 0,
                            non_sync: false,
                            payload: Bytes::from_static(b"key"),
                        },
                        Sample {
                            duration: 3600,
                            pts_offset: -10,
                            non_sync: true,
                            payload: Bytes::from_static(b"delta"),
                        },
                    ],
                },
                PartTrack {
                    id: 2,
                    base_time: 4800,
                    samples: vec![Sample {
                        duration: 960,
                        pts_offset: 0,
                        non_sync: false,
                        payload: Bytes::from_static(b"op"),
                    }],
                },
            ],
        };
        let mut file = vec![0u8; 100]; // what comes before the fragment in the file
        part.marshal(&mut file).expect("part");
        let moof = find(&file[100..], b"moof").expect("parses").expect("moof");
        let runs = read_moof(moof.body, 100).expect("runs");
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[0].track_id, runs[0].base_time), (1, 9000));
        assert_eq!((runs[1].track_id, runs[1].base_time), (2, 4800));
        let payload =
            |s: &SampleInfo| &file[s.offset as usize..(s.offset + u64::from(s.size)) as usize];
        assert_eq!(payload(&runs[0].samples[0]), b"key");
        assert_eq!(payload(&runs[0].samples[1]), b"delta");
        assert_eq!(payload(&runs[1].samples[0]), b"op");
        assert!(!runs[0].samples[0].non_sync && runs[0].samples[1].non_sync);
        assert_eq!(runs[0].samples[1].pts_offset, -10);
    }

    #[test]
    fn bad_sizes_are_errors() {
        // A box claiming more than there is.
        let data = [0, 0, 0, 20, b'm', b'o', b'o', b'f', 0, 0];
        assert!(matches!(
            boxes(&data).next(),
            Some(Err(Mp4Error::BadSize(_)))
        ));
        // A trun announcing more samples than it holds.
        let mut traf = Vec::new();
        write_box(&mut traf, b"tfhd", &[0, 2, 0, 0, 0, 0, 0, 1]);
        write_box(
            &mut traf,
            b"trun",
            &[0, 0, 3, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
        );
        let mut moof = Vec::new();
        write_box(&mut moof, b"traf", &traf);
        assert_eq!(read_moof(&moof, 0), Err(Mp4Error::Truncated("trun")));
        assert_eq!(Header::parse(&[]), Err(Mp4Error::Missing("mvhd")));
    }

    #[test]
    fn time_conversions_truncate_like_mediamtx() {
        assert_eq!(
            ticks_to_duration(90_045, 90_000),
            Duration::from_nanos(1_000_500_000)
        );
        assert_eq!(ns_to_ticks(1_000_500_000, 90_000), 90_045);
        assert_eq!(ns_to_ticks(-1_000_500_000, 90_000), -90_045);
        assert_eq!(ticks_to_ns(-90_045, 90_000), -1_000_500_000);
        assert_eq!(ticks_to_ns(i64::MAX, 1), i64::MAX);
    }
}
