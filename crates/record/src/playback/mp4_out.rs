//! The MP4 answer of `/get` (`format=mp4`): a progressive file, `moov` first. Its sample
//! tables need every sample, so the answer is built in two passes: the first collects the
//! samples' timing, sizes and where their payloads are (about 32 bytes a sample, bounded
//! by [`MAX_SAMPLES`]), the second copies the payloads into `mdat`, one chunk per track
//! and part (about a second), interleaved. The tracks' sample entries are the segment's.

use super::window::OutRun;
use crate::mp4::{Header, HeaderTrack, RawBox, boxes, find, write_box};

/// Most samples an MP4 answer may have (about 15 hours of 25 fps video and 48 kHz AAC).
pub const MAX_SAMPLES: usize = 4 * 1024 * 1024;

const MOVIE_TIMESCALE: u64 = 1000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    duration: u32,
    pts_offset: i32,
    non_sync: bool,
    size: u32,
}

#[derive(Debug)]
struct Track {
    source: HeaderTrack,
    base: Option<u64>,
    entries: Vec<Entry>,
    /// Global chunk index and sample count of each of the track's chunks.
    chunks: Vec<(usize, u32)>,
}

/// The payloads to copy into `mdat`, in order.
pub(crate) type Payloads<P> = Vec<(P, u32)>;

/// An MP4 answer being collected.
#[derive(Debug)]
pub(crate) struct Progressive<P> {
    tracks: Vec<Track>,
    chunk_sizes: Vec<u64>,
    payloads: Payloads<P>,
}

impl<P> Progressive<P> {
    pub(crate) fn new(header: &Header) -> Progressive<P> {
        Progressive {
            tracks: header
                .tracks
                .iter()
                .map(|t| Track {
                    source: t.clone(),
                    base: None,
                    entries: Vec::new(),
                    chunks: Vec::new(),
                })
                .collect(),
            chunk_sizes: Vec::new(),
            payloads: Vec::new(),
        }
    }

    /// Adds a part: one chunk per track.
    pub(crate) fn add(&mut self, runs: Vec<OutRun<P>>) -> Result<(), String> {
        for run in runs {
            let Some(t) = self.tracks.iter_mut().find(|t| t.source.id == run.id) else {
                return Err(format!("invalid track ID: {}", run.id));
            };
            if self.payloads.len() + run.samples.len() > MAX_SAMPLES {
                return Err("too many samples for the mp4 format".into());
            }
            t.base.get_or_insert(run.base_time);
            let chunk = self.chunk_sizes.len();
            let mut size = 0u64;
            let count = run.samples.len() as u32;
            for s in run.samples {
                t.entries.push(Entry {
                    duration: s.duration,
                    pts_offset: s.pts_offset,
                    non_sync: s.non_sync,
                    size: s.size,
                });
                size += u64::from(s.size);
                self.payloads.push((s.payload, s.size));
            }
            t.chunks.push((chunk, count));
            self.chunk_sizes.push(size);
        }
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.payloads.is_empty()
    }

    /// `ftyp`, `moov` and the `mdat` header; then the payloads to copy after them.
    pub(crate) fn finish(self) -> Result<(Vec<u8>, Payloads<P>), String> {
        let mut ftyp = Vec::new();
        let mut brands = Vec::new();
        brands.extend_from_slice(b"isom");
        brands.extend_from_slice(&512u32.to_be_bytes());
        for b in [b"isom", b"iso2", b"mp41"] {
            brands.extend_from_slice(b);
        }
        write_box(&mut ftyp, b"ftyp", &brands);
        // The moov's size does not depend on the chunk offsets (co64): build it once to
        // learn where mdat's data starts, then again with the offsets.
        let probe = self.moov(&vec![0; self.chunk_sizes.len()])?;
        let data_start = (ftyp.len() + probe.len() + 16) as u64;
        let mut offsets = Vec::with_capacity(self.chunk_sizes.len());
        let mut at = data_start;
        for size in &self.chunk_sizes {
            offsets.push(at);
            at += size;
        }
        let moov = self.moov(&offsets)?;
        let mut out = ftyp;
        out.extend_from_slice(&moov);
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(b"mdat");
        out.extend_from_slice(&(16 + at - data_start).to_be_bytes());
        Ok((out, self.payloads))
    }

    fn moov(&self, offsets: &[u64]) -> Result<Vec<u8>, String> {
        let durations: Vec<(u64, u64)> = self
            .tracks
            .iter()
            .map(|t| {
                let media: u64 = t.entries.iter().map(|e| u64::from(e.duration)).sum();
                (media, t.base.unwrap_or(0))
            })
            .collect();
        let movie = self
            .tracks
            .iter()
            .zip(&durations)
            .map(|(t, (media, base))| to_movie(media + base, t.source.timescale))
            .max()
            .unwrap_or(0);
        let mut body = Vec::new();
        let mut mvhd = Vec::with_capacity(100);
        mvhd.extend_from_slice(&[0, 0, 0, 0]);
        mvhd.extend_from_slice(&[0; 8]); // creation, modification
        mvhd.extend_from_slice(&(MOVIE_TIMESCALE as u32).to_be_bytes());
        mvhd.extend_from_slice(&u32::try_from(movie).unwrap_or(u32::MAX).to_be_bytes());
        mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate
        mvhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume
        mvhd.extend_from_slice(&[0; 10]);
        for m in [0x10000u32, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000] {
            mvhd.extend_from_slice(&m.to_be_bytes());
        }
        mvhd.extend_from_slice(&[0; 24]);
        let next_id = self.tracks.iter().map(|t| t.source.id).max().unwrap_or(0) + 1;
        mvhd.extend_from_slice(&next_id.to_be_bytes());
        write_box(&mut body, b"mvhd", &mvhd);
        for (t, (media, base)) in self.tracks.iter().zip(durations) {
            if t.entries.is_empty() {
                continue;
            }
            body.extend_from_slice(&trak(t, media, base, offsets)?);
        }
        let mut moov = Vec::with_capacity(body.len() + 8);
        write_box(&mut moov, b"moov", &body);
        Ok(moov)
    }
}

fn to_movie(ticks: u64, timescale: u32) -> u64 {
    ticks.saturating_mul(MOVIE_TIMESCALE) / u64::from(timescale.max(1))
}

fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> Result<RawBox<'a>, String> {
    find(body, kind)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} box not found", String::from_utf8_lossy(kind)))
}

/// A copy of a FullBox with the duration field after the times replaced (`tkhd` has a
/// track id and a reserved word before it, `mdhd` a timescale).
fn with_duration(b: RawBox<'_>, before_duration: usize, value: u64) -> Vec<u8> {
    let mut out = b.bytes.to_vec();
    let header = b.bytes.len() - b.body.len();
    let v1 = b.body.first() == Some(&1);
    let times = if v1 { 16 } else { 8 };
    let at = header + 4 + times + before_duration;
    if v1 {
        if let Some(slot) = out.get_mut(at..at + 8) {
            slot.copy_from_slice(&value.to_be_bytes());
        }
    } else if let Some(slot) = out.get_mut(at..at + 4) {
        slot.copy_from_slice(&u32::try_from(value).unwrap_or(u32::MAX).to_be_bytes());
    }
    out
}

fn full_box(out: &mut Vec<u8>, kind: &[u8; 4], version: u8, body: &[u8]) {
    let mut b = Vec::with_capacity(body.len() + 4);
    b.extend_from_slice(&[version, 0, 0, 0]);
    b.extend_from_slice(body);
    write_box(out, kind, &b);
}

fn trak(t: &Track, media: u64, base: u64, offsets: &[u64]) -> Result<Vec<u8>, String> {
    let src = child(&t.source.trak, b"trak")?;
    let timescale = t.source.timescale;
    let mut body = with_duration(
        child(src.body, b"tkhd")?,
        8,
        to_movie(media + base, timescale),
    );
    if base > 0 {
        // An empty edit delays a track that starts after the others.
        let mut elst = Vec::new();
        elst.extend_from_slice(&2u32.to_be_bytes());
        for (duration, media_time) in [
            (to_movie(base, timescale), -1i32),
            (to_movie(media, timescale), 0),
        ] {
            elst.extend_from_slice(&u32::try_from(duration).unwrap_or(u32::MAX).to_be_bytes());
            elst.extend_from_slice(&media_time.to_be_bytes());
            elst.extend_from_slice(&0x0001_0000u32.to_be_bytes());
        }
        let mut edts = Vec::new();
        full_box(&mut edts, b"elst", 0, &elst);
        write_box(&mut body, b"edts", &edts);
    }
    let mdia = child(src.body, b"mdia")?;
    let mut mdia_body = with_duration(child(mdia.body, b"mdhd")?, 4, media);
    mdia_body.extend_from_slice(child(mdia.body, b"hdlr")?.bytes);
    let minf = child(mdia.body, b"minf")?;
    let mut minf_body = Vec::new();
    for b in boxes(minf.body) {
        let b = b.map_err(|e| e.to_string())?;
        if &b.kind != b"stbl" {
            minf_body.extend_from_slice(b.bytes);
        }
    }
    let stsd = child(child(minf.body, b"stbl")?.body, b"stsd")?;
    let mut stbl = stsd.bytes.to_vec();
    sample_tables(&mut stbl, t, offsets);
    write_box(&mut minf_body, b"stbl", &stbl);
    write_box(&mut mdia_body, b"minf", &minf_body);
    write_box(&mut body, b"mdia", &mdia_body);
    let mut out = Vec::with_capacity(body.len() + 8);
    write_box(&mut out, b"trak", &body);
    Ok(out)
}

/// `stts`, `stss`, `ctts`, `stsc`, `stsz` and `co64`.
fn sample_tables(stbl: &mut Vec<u8>, t: &Track, offsets: &[u64]) {
    fn runs<T: PartialEq + Copy>(values: impl Iterator<Item = T>) -> Vec<(u32, T)> {
        let mut out: Vec<(u32, T)> = Vec::new();
        for v in values {
            match out.last_mut() {
                Some((n, last)) if *last == v => *n += 1,
                _ => out.push((1, v)),
            }
        }
        out
    }
    let mut b = Vec::new();
    let stts = runs(t.entries.iter().map(|e| e.duration));
    b.extend_from_slice(&(stts.len() as u32).to_be_bytes());
    for (n, d) in &stts {
        b.extend_from_slice(&n.to_be_bytes());
        b.extend_from_slice(&d.to_be_bytes());
    }
    full_box(stbl, b"stts", 0, &b);

    if t.entries.iter().any(|e| e.non_sync) {
        let sync: Vec<u32> = (1..)
            .zip(&t.entries)
            .filter(|(_, e)| !e.non_sync)
            .map(|(i, _)| i)
            .collect();
        let mut b = Vec::with_capacity(4 + 4 * sync.len());
        b.extend_from_slice(&(sync.len() as u32).to_be_bytes());
        for i in sync {
            b.extend_from_slice(&i.to_be_bytes());
        }
        full_box(stbl, b"stss", 0, &b);
    }

    if t.entries.iter().any(|e| e.pts_offset != 0) {
        let ctts = runs(t.entries.iter().map(|e| e.pts_offset));
        let mut b = Vec::with_capacity(4 + 8 * ctts.len());
        b.extend_from_slice(&(ctts.len() as u32).to_be_bytes());
        for (n, o) in &ctts {
            b.extend_from_slice(&n.to_be_bytes());
            b.extend_from_slice(&o.to_be_bytes());
        }
        full_box(stbl, b"ctts", 1, &b);
    }

    let mut stsc: Vec<(u32, u32)> = Vec::new();
    for (i, (_, count)) in t.chunks.iter().enumerate() {
        if stsc.last().is_none_or(|(_, c)| c != count) {
            stsc.push((i as u32 + 1, *count));
        }
    }
    let mut b = Vec::with_capacity(4 + 12 * stsc.len());
    b.extend_from_slice(&(stsc.len() as u32).to_be_bytes());
    for (first, count) in stsc {
        b.extend_from_slice(&first.to_be_bytes());
        b.extend_from_slice(&count.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
    }
    full_box(stbl, b"stsc", 0, &b);

    let mut b = Vec::with_capacity(8 + 4 * t.entries.len());
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(&(t.entries.len() as u32).to_be_bytes());
    for e in &t.entries {
        b.extend_from_slice(&e.size.to_be_bytes());
    }
    full_box(stbl, b"stsz", 0, &b);

    let mut b = Vec::with_capacity(4 + 8 * t.chunks.len());
    b.extend_from_slice(&(t.chunks.len() as u32).to_be_bytes());
    for (chunk, _) in &t.chunks {
        b.extend_from_slice(&offsets.get(*chunk).copied().unwrap_or(0).to_be_bytes());
    }
    full_box(stbl, b"co64", 0, &b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::Header;
    use crate::playback::window::OutSample;
    use ferromtx_codec::fmp4::{Codec, Init, InitTrack};

    #[test]
    fn tables_describe_the_samples_and_offsets_point_at_them() {
        let init = Init {
            tracks: vec![InitTrack {
                id: 1,
                timescale: 48_000,
                codec: Codec::Opus { channel_count: 2 },
            }],
        }
        .marshal()
        .expect("init");
        let moov = find(&init, b"moov").expect("box").expect("moov");
        let header = Header::parse(moov.body).expect("header");
        let mut p: Progressive<u8> = Progressive::new(&header);
        let sample = |payload: u8, size: u32| OutSample {
            duration: 960,
            pts_offset: 0,
            non_sync: false,
            size,
            payload,
        };
        p.add(vec![OutRun {
            id: 1,
            base_time: 0,
            samples: vec![sample(1, 3), sample(2, 4)],
        }])
        .expect("part");
        p.add(vec![OutRun {
            id: 1,
            base_time: 1920,
            samples: vec![sample(3, 5)],
        }])
        .expect("part");
        assert!(
            p.add(vec![OutRun {
                id: 9,
                base_time: 0,
                samples: vec![]
            }])
            .is_err()
        );
        let (head, payloads) = p.finish().expect("moov");
        assert_eq!(payloads, vec![(1, 3), (2, 4), (3, 5)]);
        let moov = find(&head, b"moov").expect("box").expect("moov");
        let trak = find(moov.body, b"trak").expect("box").expect("trak");
        let mdia = child(trak.body, b"mdia").expect("mdia");
        let minf = child(mdia.body, b"minf").expect("minf");
        let stbl = child(minf.body, b"stbl").expect("stbl");
        let co64 = child(stbl.body, b"co64").expect("co64");
        // Two chunks; the first right after the 16-byte mdat header.
        let mdat_at = head.len() as u64 - 16;
        assert_eq!(&co64.body[4..8], &2u32.to_be_bytes());
        assert_eq!(&co64.body[8..16], &(mdat_at + 16).to_be_bytes());
        assert_eq!(&co64.body[16..24], &(mdat_at + 16 + 7).to_be_bytes());
        let stsc = child(stbl.body, b"stsc").expect("stsc");
        // Chunk 1 has 2 samples, chunk 2 has 1.
        assert_eq!(&stsc.body[4..8], &2u32.to_be_bytes());
        let mvhd = child(moov.body, b"mvhd").expect("mvhd");
        // 3 samples of 20 ms.
        assert_eq!(&mvhd.body[16..20], &60u32.to_be_bytes());
        // The mdat announces exactly the payload bytes.
        assert_eq!(&head[head.len() - 8..], &(16u64 + 12).to_be_bytes());
    }
}
