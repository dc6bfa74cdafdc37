//! Media fragments: `moof` (`mfhd`, then per track `traf` with `tfhd`, `tfdt`, `trun`) and
//! the `mdat` holding the samples of every track, one track after the other.

use bytes::Bytes;

use super::boxes::{BoxWriter, Boxes, Fields, require};
use super::{ReadError, WriteError};

/// One sample (access unit) of a track.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sample {
    /// Duration in the track's timescale (the next sample's DTS minus this one's).
    pub duration: u32,
    /// PTS minus DTS in the track's timescale.
    pub pts_offset: i32,
    /// The sample cannot be decoded on its own (`sample_is_non_sync_sample`).
    pub non_sync: bool,
    pub payload: Bytes,
}

/// The samples of one track in a fragment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartTrack {
    pub id: u32,
    /// DTS of the first sample (`tfdt` baseMediaDecodeTime).
    pub base_time: u64,
    pub samples: Vec<Sample>,
}

/// One fragment: a `moof` and its `mdat`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Part {
    /// `mfhd` sequence_number.
    pub sequence_number: u32,
    pub tracks: Vec<PartTrack>,
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

/// `sample_is_non_sync_sample` in sample flags.
const SAMPLE_NON_SYNC: u32 = 0x0001_0000;

impl Part {
    /// Total payload bytes of every sample.
    pub fn payload_len(&self) -> usize {
        self.tracks
            .iter()
            .flat_map(|t| &t.samples)
            .map(|s| s.payload.len())
            .sum()
    }

    /// Appends the fragment to `out`, laid out as MediaMTX writes it.
    pub fn marshal(&self, out: &mut Vec<u8>) -> Result<(), WriteError> {
        let mut w = BoxWriter::new();
        w.start(b"moof");
        w.start_full(b"mfhd", 0, 0);
        w.u32(self.sequence_number);
        w.end()?;
        let mut offset_slots = Vec::with_capacity(self.tracks.len());
        for track in &self.tracks {
            w.start(b"traf");
            w.start_full(b"tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF);
            w.u32(track.id);
            w.end()?;
            w.start_full(b"tfdt", 1, 0);
            w.u64(track.base_time);
            w.end()?;
            let mut flags = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE;
            if track.samples.iter().any(|s| s.non_sync) {
                flags |= TRUN_FLAGS;
            }
            if track.samples.iter().any(|s| s.pts_offset != 0) {
                flags |= TRUN_CTS;
            }
            w.start_full(b"trun", 1, flags);
            w.u32(u32::try_from(track.samples.len()).map_err(|_| WriteError::TooLarge)?);
            offset_slots.push(w.len());
            w.u32(0); // data_offset, patched below
            for s in &track.samples {
                w.u32(s.duration);
                w.u32(u32::try_from(s.payload.len()).map_err(|_| WriteError::TooLarge)?);
                if flags & TRUN_FLAGS != 0 {
                    w.u32(if s.non_sync { SAMPLE_NON_SYNC } else { 0 });
                }
                if flags & TRUN_CTS != 0 {
                    w.u32(s.pts_offset as u32);
                }
            }
            w.end()?;
            w.end()?;
        }
        w.end()?;
        // Sample data starts after the moof and the 8-byte mdat header.
        let mut data_offset = w.len() + 8;
        for (track, slot) in self.tracks.iter().zip(offset_slots) {
            let v = i32::try_from(data_offset).map_err(|_| WriteError::TooLarge)?;
            w.patch_u32(slot, v as u32)?;
            data_offset += track.samples.iter().map(|s| s.payload.len()).sum::<usize>();
        }
        let mdat_size = u32::try_from(8 + self.payload_len()).map_err(|_| WriteError::TooLarge)?;
        out.reserve(w.len() + mdat_size as usize);
        out.extend_from_slice(&w.buf);
        out.extend_from_slice(&mdat_size.to_be_bytes());
        out.extend_from_slice(b"mdat");
        for s in self.tracks.iter().flat_map(|t| &t.samples) {
            out.extend_from_slice(&s.payload);
        }
        Ok(())
    }
}

/// Reads every fragment (`moof` and the data it points to) in `data`, e.g. a segment or a
/// part; other top-level boxes (`styp`, `sidx`, `mdat`, `free`...) are skipped. Payloads are
/// slices of `data`.
pub fn read_parts(data: &Bytes) -> Result<Vec<Part>, ReadError> {
    let mut parts = Vec::new();
    for b in Boxes::new(data) {
        let b = b?;
        if &b.kind == b"moof" {
            parts.push(read_moof(data, b.offset, b.body)?);
        }
    }
    Ok(parts)
}

#[derive(Default, Clone, Copy)]
struct Defaults {
    duration: u32,
    size: u32,
    flags: u32,
}

fn read_moof(data: &Bytes, moof_offset: usize, moof: &[u8]) -> Result<Part, ReadError> {
    let mfhd = require(moof, b"mfhd")?;
    let mut f = Fields::new(mfhd.body, "mfhd");
    f.full_header()?;
    let sequence_number = f.u32()?;
    let mut tracks = Vec::new();
    // Without default-base-is-moof, a traf's data continues where the previous one's ended.
    let mut previous_end = moof_offset;
    for b in Boxes::new(moof) {
        let b = b?;
        if &b.kind != b"traf" {
            continue;
        }
        if tracks.len() == super::MAX_TRACKS {
            return Err(ReadError::TooManyTracks);
        }
        let (track, end) = read_traf(data, moof_offset, previous_end, b.body)?;
        previous_end = end;
        tracks.push(track);
    }
    Ok(Part {
        sequence_number,
        tracks,
    })
}

fn read_traf(
    data: &Bytes,
    moof_offset: usize,
    previous_end: usize,
    traf: &[u8],
) -> Result<(PartTrack, usize), ReadError> {
    let tfhd = require(traf, b"tfhd")?;
    let mut f = Fields::new(tfhd.body, "tfhd");
    let (_, flags) = f.full_header()?;
    let id = f.u32()?;
    let base = if flags & TFHD_BASE_DATA_OFFSET != 0 {
        usize::try_from(f.u64()?).map_err(|_| ReadError::DataOutOfRange)?
    } else if flags & TFHD_DEFAULT_BASE_IS_MOOF != 0 {
        moof_offset
    } else {
        previous_end
    };
    if flags & TFHD_SAMPLE_DESCRIPTION_INDEX != 0 {
        f.u32()?;
    }
    let mut defaults = Defaults::default();
    if flags & TFHD_DEFAULT_DURATION != 0 {
        defaults.duration = f.u32()?;
    }
    if flags & TFHD_DEFAULT_SIZE != 0 {
        defaults.size = f.u32()?;
    }
    if flags & TFHD_DEFAULT_FLAGS != 0 {
        defaults.flags = f.u32()?;
    }

    let base_time = match super::boxes::find(traf, b"tfdt")? {
        Some(tfdt) => {
            let mut f = Fields::new(tfdt.body, "tfdt");
            let (version, _) = f.full_header()?;
            if version == 1 {
                f.u64()?
            } else {
                u64::from(f.u32()?)
            }
        }
        None => 0,
    };

    let mut samples = Vec::new();
    let mut next_data = base;
    for b in Boxes::new(traf) {
        let b = b?;
        if &b.kind == b"trun" {
            next_data = read_trun(data, base, next_data, defaults, b.body, &mut samples)?;
        }
    }
    Ok((
        PartTrack {
            id,
            base_time,
            samples,
        },
        next_data,
    ))
}

fn read_trun(
    data: &Bytes,
    base: usize,
    mut pos: usize,
    defaults: Defaults,
    trun: &[u8],
    samples: &mut Vec<Sample>,
) -> Result<usize, ReadError> {
    let mut f = Fields::new(trun, "trun");
    let (_, flags) = f.full_header()?;
    let count = f.u32()? as usize;
    if flags & TRUN_DATA_OFFSET != 0 {
        let offset = f.u32()? as i32;
        pos = base
            .checked_add_signed(offset as isize)
            .ok_or(ReadError::DataOutOfRange)?;
    }
    let first_flags = if flags & TRUN_FIRST_SAMPLE_FLAGS != 0 {
        Some(f.u32()?)
    } else {
        None
    };
    let entry_len = 4 * [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTS]
        .iter()
        .filter(|bit| flags & **bit != 0)
        .count();
    // Bound the allocation by what the box can describe (and by the data for empty entries).
    let describable = f.remaining().checked_div(entry_len).unwrap_or(data.len());
    if count > describable {
        return Err(ReadError::Truncated("trun"));
    }
    samples.reserve(count);
    for i in 0..count {
        let duration = if flags & TRUN_DURATION != 0 {
            f.u32()?
        } else {
            defaults.duration
        };
        let size = if flags & TRUN_SIZE != 0 {
            f.u32()?
        } else {
            defaults.size
        } as usize;
        let sample_flags = if flags & TRUN_FLAGS != 0 {
            f.u32()?
        } else if i == 0 {
            first_flags.unwrap_or(defaults.flags)
        } else {
            defaults.flags
        };
        let pts_offset = if flags & TRUN_CTS != 0 {
            f.u32()? as i32
        } else {
            0
        };
        let end = pos.checked_add(size).ok_or(ReadError::DataOutOfRange)?;
        if end > data.len() {
            return Err(ReadError::DataOutOfRange);
        }
        samples.push(Sample {
            duration,
            pts_offset,
            non_sync: sample_flags & SAMPLE_NON_SYNC != 0,
            payload: data.slice(pos..end),
        });
        pos = end;
    }
    Ok(pos)
}
