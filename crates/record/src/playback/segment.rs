//! Reading an fMP4 segment from disk a box at a time: its header (`ftyp`, `moov`), its
//! duration (from `mvhd`, or from the last complete part of a segment still being written
//! or cut short by a crash), and its parts. Only complete parts (a `moof` followed by its
//! whole `mdat`) are read.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;

use crate::mp4::{Header, MAX_HEADER_SIZE, TrackRun, box_header, read_moof, ticks_to_duration};
use crate::recorder::go_error;

/// An open segment and its header.
#[derive(Debug)]
pub(crate) struct SegmentFile {
    file: File,
    name: String,
    len: u64,
    pub header: Header,
    /// Where the first part starts.
    body: u64,
}

/// One complete part: where its `moof` is and the samples it describes.
#[derive(Debug)]
pub(crate) struct PartRuns {
    pub runs: Vec<TrackRun>,
}

impl SegmentFile {
    pub(crate) fn open(path: &Path) -> Result<SegmentFile, String> {
        let name = path.to_string_lossy().into_owned();
        let mut file = File::open(path).map_err(|e| go_error("open", &name, &e))?;
        let len = file
            .metadata()
            .map_err(|e| go_error("stat", &name, &e))?
            .len();
        let mut head = [0u8; 8];
        file.read_exact(&mut head)
            .map_err(|e| read_error(&name, &e))?;
        if &head[4..] != b"ftyp" {
            return Err("ftyp box not found".into());
        }
        let ftyp = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
        let (kind, moov, header_len) = read_header(&file, ftyp).ok_or("moov box not found")?;
        if &kind != b"moov" {
            return Err("moov box not found".into());
        }
        if moov > MAX_HEADER_SIZE || moov < header_len as u64 || ftyp + moov > len {
            return Err("invalid moov box".into());
        }
        let mut body = vec![0u8; (moov - header_len as u64) as usize];
        file.read_exact_at(&mut body, ftyp + header_len as u64)
            .map_err(|e| read_error(&name, &e))?;
        let header = Header::parse(&body).map_err(|e| e.to_string())?;
        Ok(SegmentFile {
            file,
            name,
            len,
            header,
            body: ftyp + moov,
        })
    }

    /// The start of every complete part (`moof` followed by its whole `mdat`), in order.
    fn part_offsets(&self) -> Vec<(u64, u64)> {
        let mut parts = Vec::new();
        let mut pos = self.body;
        while let Some((kind, size, _)) = read_header(&self.file, pos) {
            if &kind != b"moof" || size < 8 || pos + size > self.len {
                break;
            }
            let Some((mdat_kind, mdat_size, _)) = read_header(&self.file, pos + size) else {
                break;
            };
            if &mdat_kind != b"mdat" || mdat_size < 8 || pos + size + mdat_size > self.len {
                break;
            }
            parts.push((pos, size));
            pos += size + mdat_size;
        }
        parts
    }

    /// Reads the `moof` of a part.
    fn read_part(&self, (offset, size): (u64, u64)) -> Result<PartRuns, String> {
        let header_len = 8u64;
        if size > MAX_HEADER_SIZE {
            return Err("invalid moof box".into());
        }
        let mut moof = vec![0u8; (size - header_len) as usize];
        self.file
            .read_exact_at(&mut moof, offset + header_len)
            .map_err(|e| read_error(&self.name, &e))?;
        let runs = read_moof(&moof, offset).map_err(|e| e.to_string())?;
        for r in &runs {
            if self.header.track(r.track_id).is_none() {
                return Err(format!("invalid track ID: {}", r.track_id));
            }
        }
        Ok(PartRuns { runs })
    }

    /// Every complete part, read one after the other.
    pub(crate) fn parts(&self) -> impl Iterator<Item = Result<PartRuns, String>> + '_ {
        self.part_offsets().into_iter().map(|p| self.read_part(p))
    }

    /// The duration: `mvhd`'s, or else the end of the last complete part.
    pub(crate) fn duration(&self) -> Result<Duration, String> {
        if !self.header.duration.is_zero() {
            return Ok(self.header.duration);
        }
        let Some(last) = self.part_offsets().last().copied() else {
            return Err("no moof boxes found".into());
        };
        let part = self.read_part(last)?;
        let mut max = Duration::ZERO;
        for run in &part.runs {
            let timescale = self.header.track(run.track_id).map_or(1, |t| t.timescale);
            let end = run.base_time.saturating_add(
                run.samples
                    .iter()
                    .map(|s| u64::from(s.duration))
                    .sum::<u64>(),
            );
            max = max.max(ticks_to_duration(end, timescale));
        }
        Ok(max)
    }

    /// `size` bytes at `offset`, which must lie in the file.
    pub(crate) fn read_at(&self, offset: u64, size: u32) -> Result<Bytes, String> {
        if offset.saturating_add(u64::from(size)) > self.len {
            return Err("sample data outside the file".into());
        }
        let mut buf = vec![0u8; size as usize];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(|e| read_error(&self.name, &e))?;
        Ok(Bytes::from(buf))
    }
}

/// The type, size and header length of the box at `offset`, if its header can be read.
fn read_header(file: &File, offset: u64) -> Option<([u8; 4], u64, usize)> {
    let mut buf = [0u8; 16];
    let n = file.read_at(&mut buf, offset).ok()?;
    let (kind, size, header_len) = box_header(&buf[..n])?;
    Some((kind, size, header_len))
}

fn read_error(name: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        return "unexpected EOF".into();
    }
    go_error("read", name, e)
}
