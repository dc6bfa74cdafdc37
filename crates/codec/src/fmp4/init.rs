//! The init segment: `ftyp` and `moov` (ISO/IEC 14496-12 8.2-8.8).

use super::boxes::{BoxWriter, Boxes, Fields, require};
use super::sample_entry;
use super::{
    Codec, DEFAULT_AUDIO_BITRATE, DEFAULT_VIDEO_BITRATE, MAX_TRACKS, ReadError, WriteError,
};

/// One track of an init segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitTrack {
    /// Track ID, from 1.
    pub id: u32,
    /// Media timescale (ticks per second of the track's timestamps).
    pub timescale: u32,
    pub codec: Codec,
}

/// An init segment: the tracks of the fragments that follow it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Init {
    pub tracks: Vec<InitTrack>,
}

const MATRIX: [u32; 9] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000];
/// ISO 639-2 "und" packed in three 5-bit letters.
const LANGUAGE_UND: u16 = 0x55c4;

impl Init {
    /// The init segment bytes, laid out as MediaMTX writes them.
    pub fn marshal(&self) -> Result<Vec<u8>, WriteError> {
        let mut w = BoxWriter::new();
        w.start(b"ftyp");
        w.bytes(b"mp42");
        w.u32(1);
        w.bytes(b"mp41mp42isomhlsf");
        w.end()?;

        w.start(b"moov");
        w.start_full(b"mvhd", 0, 0);
        w.u32(0); // creation_time
        w.u32(0); // modification_time
        w.u32(1000); // timescale
        w.u32(0); // duration
        w.u32(0x0001_0000); // rate
        w.u16(0x0100); // volume
        w.zeros(10);
        for m in MATRIX {
            w.u32(m);
        }
        w.zeros(24); // pre_defined
        w.u32(0xffff_ffff); // next_track_ID
        w.end()?;
        for track in &self.tracks {
            write_trak(&mut w, track)?;
        }
        w.start(b"mvex");
        for track in &self.tracks {
            w.start_full(b"trex", 0, 0);
            w.u32(track.id);
            w.u32(1); // default_sample_description_index
            w.zeros(12); // default duration, size, flags
            w.end()?;
        }
        w.end()?;
        w.end()?;
        Ok(w.buf)
    }

    /// Reads an init segment (`ftyp` is optional; `moov` with its `trak`s is required).
    pub fn parse(data: &[u8]) -> Result<Init, ReadError> {
        let moov = require(data, b"moov")?;
        let mut tracks = Vec::new();
        for b in Boxes::new(moov.body) {
            let b = b?;
            if &b.kind != b"trak" {
                continue;
            }
            if tracks.len() == MAX_TRACKS {
                return Err(ReadError::TooManyTracks);
            }
            tracks.push(read_trak(b.body)?);
        }
        Ok(Init { tracks })
    }
}

fn write_trak(w: &mut BoxWriter, track: &InitTrack) -> Result<(), WriteError> {
    let video = track.codec.is_video();
    let (width, height) = sample_entry::dimensions(&track.codec)?;
    w.start(b"trak");
    w.start_full(b"tkhd", 0, 3); // enabled, in movie
    w.u32(0); // creation_time
    w.u32(0); // modification_time
    w.u32(track.id);
    w.u32(0); // reserved
    w.u32(0); // duration
    w.zeros(8);
    w.u16(0); // layer
    w.u16(if video { 0 } else { 1 }); // alternate_group
    w.u16(if video { 0 } else { 0x0100 }); // volume
    w.u16(0);
    for m in MATRIX {
        w.u32(m);
    }
    w.u32(u32::from(width) << 16);
    w.u32(u32::from(height) << 16);
    w.end()?;

    w.start(b"mdia");
    w.start_full(b"mdhd", 0, 0);
    w.u32(0);
    w.u32(0);
    w.u32(track.timescale);
    w.u32(0);
    w.u16(LANGUAGE_UND);
    w.u16(0);
    w.end()?;
    w.start_full(b"hdlr", 0, 0);
    w.u32(0); // pre_defined
    w.bytes(if video { b"vide" } else { b"soun" });
    w.zeros(12);
    w.bytes(if video {
        b"VideoHandler\0"
    } else {
        b"SoundHandler\0"
    });
    w.end()?;

    w.start(b"minf");
    if video {
        w.start_full(b"vmhd", 0, 1);
        w.zeros(8);
    } else {
        w.start_full(b"smhd", 0, 0);
        w.zeros(4);
    }
    w.end()?;
    w.start(b"dinf");
    w.start_full(b"dref", 0, 0);
    w.u32(1);
    w.start_full(b"url ", 0, 1); // media in the same file
    w.end()?;
    w.end()?;
    w.end()?;

    w.start(b"stbl");
    w.start_full(b"stsd", 0, 0);
    w.u32(1);
    let bitrate = if video {
        DEFAULT_VIDEO_BITRATE
    } else {
        DEFAULT_AUDIO_BITRATE
    };
    sample_entry::write(w, &track.codec, track.id, (bitrate, bitrate))?;
    w.end()?;
    for kind in [b"stts", b"stsc"] {
        w.start_full(kind, 0, 0);
        w.u32(0);
        w.end()?;
    }
    w.start_full(b"stsz", 0, 0);
    w.u32(0); // sample_size
    w.u32(0); // sample_count
    w.end()?;
    w.start_full(b"stco", 0, 0);
    w.u32(0);
    w.end()?;
    w.end()?; // stbl
    w.end()?; // minf
    w.end()?; // mdia
    w.end() // trak
}

fn read_trak(trak: &[u8]) -> Result<InitTrack, ReadError> {
    let tkhd = require(trak, b"tkhd")?;
    let mut f = Fields::new(tkhd.body, "tkhd");
    let (version, _) = f.full_header()?;
    f.skip(if version == 1 { 16 } else { 8 })?;
    let id = f.u32()?;

    let mdia = require(trak, b"mdia")?;
    let mdhd = require(mdia.body, b"mdhd")?;
    let mut f = Fields::new(mdhd.body, "mdhd");
    let (version, _) = f.full_header()?;
    f.skip(if version == 1 { 16 } else { 8 })?;
    let timescale = f.u32()?;
    if timescale == 0 {
        return Err(ReadError::Invalid("mdhd timescale 0"));
    }

    let minf = require(mdia.body, b"minf")?;
    let stbl = require(minf.body, b"stbl")?;
    let stsd = require(stbl.body, b"stsd")?;
    let entry = sample_entry::first_entry(stsd.body)?;
    let codec = sample_entry::read(&entry, timescale)?;
    Ok(InitTrack {
        id,
        timescale,
        codec,
    })
}
