//! Fragmented MP4 (ISO/IEC 14496-12 with the codec bindings of 14496-15, the AV1 and VP9
//! ISOBMFF bindings, Opus, ETSI TS 102 366 and FLAC-in-MP4): the init segment (`ftyp` +
//! `moov` with one `trak` per track and `mvex`/`trex`) and media fragments (`moof` with
//! `mfhd` and one `traf` per track holding `tfhd`, `tfdt`, `trun`, then one `mdat`), laid out
//! byte for byte as MediaMTX writes them, and a reader of both.
//!
//! # Why the boxes are written by hand, not with `mp4-atom`
//!
//! `mp4-atom` covers the boxes but went through nine breaking 0.x releases in a year, decodes
//! `mdat` into an owned `Vec` (a copy of every payload when reading back recordings), and
//! would still need hand-written layout to match MediaMTX (4-byte descriptor sizes in `esds`,
//! `ipcm`/`pcmC` LPCM, `btrt` in every sample entry, empty `stts`/`stsc`/`stsz`/`stco`).
//! The set of boxes an fMP4 writer needs is small and stable, so they live here: about 700
//! lines, no dependency, and the reader hands out payloads as `Bytes` slices of its input.
//!
//! # Bounds
//!
//! The reader trusts no size: every box must fit in its parent, a `trun` may not announce
//! more samples than its body can describe, sample data must lie inside the input, and an
//! init segment may declare at most [`MAX_TRACKS`] tracks. It never panics on any input.

mod boxes;
mod fragment;
mod init;
mod sample_entry;

use bytes::Bytes;

pub use fragment::{Part, PartTrack, Sample, read_parts};
pub use init::{Init, InitTrack};

/// Most tracks an init segment may declare when read.
pub const MAX_TRACKS: usize = 64;

/// Default `btrt` bit rates, as MediaMTX writes them.
pub const DEFAULT_VIDEO_BITRATE: u32 = 1_000_000;
pub const DEFAULT_AUDIO_BITRATE: u32 = 128_825;

/// A track's codec and what its sample entry needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Codec {
    /// `avc1` + `avcC`. Samples are NAL units with 4-byte length prefixes.
    H264 { sps: Bytes, pps: Bytes },
    /// `hvc1` + `hvcC`. Samples are NAL units with 4-byte length prefixes.
    H265 { vps: Bytes, sps: Bytes, pps: Bytes },
    /// `av01` + `av1C`; `sequence_header` is the whole sequence header OBU.
    Av1 { sequence_header: Bytes },
    /// `vp09` + `vpcC`.
    Vp9 {
        width: u16,
        height: u16,
        profile: u8,
        bit_depth: u8,
        chroma_subsampling: u8,
        color_range: bool,
    },
    /// `Opus` + `dOps`.
    Opus { channel_count: u8 },
    /// `mp4a` + `esds` (object type 0x40); `config` is the AudioSpecificConfig.
    Mpeg4Audio { config: Bytes },
    /// MPEG-1/2 audio (MP3): `mp4a` + `esds` with object type 0x6B, as MediaMTX and ffmpeg
    /// write it; `.mp3` sample entries are read too.
    Mpeg1Audio { sample_rate: u32, channel_count: u8 },
    /// `ac-3` + `dac3`.
    Ac3 {
        sample_rate: u32,
        channel_count: u8,
        bsid: u8,
        bsmod: u8,
        acmod: u8,
        lfe_on: bool,
        bit_rate_code: u8,
    },
    /// `fLaC` + `dfLa`; `stream_info` is the 34-byte STREAMINFO metadata block body.
    Flac { stream_info: Bytes },
    /// `ipcm` + `pcmC` (ISO/IEC 23003-5), as MediaMTX writes LPCM.
    Lpcm {
        little_endian: bool,
        bit_depth: u8,
        sample_rate: u32,
        channel_count: u8,
    },
}

impl Codec {
    pub fn is_video(&self) -> bool {
        matches!(
            self,
            Codec::H264 { .. } | Codec::H265 { .. } | Codec::Av1 { .. } | Codec::Vp9 { .. }
        )
    }

    /// The name MediaMTX uses for the codec.
    pub fn name(&self) -> &'static str {
        match self {
            Codec::H264 { .. } => "H264",
            Codec::H265 { .. } => "H265",
            Codec::Av1 { .. } => "AV1",
            Codec::Vp9 { .. } => "VP9",
            Codec::Opus { .. } => "Opus",
            Codec::Mpeg4Audio { .. } => "MPEG-4 Audio",
            Codec::Mpeg1Audio { .. } => "MPEG-1/2 Audio",
            Codec::Ac3 { .. } => "AC-3",
            Codec::Flac { .. } => "FLAC",
            Codec::Lpcm { .. } => "LPCM",
        }
    }
}

/// The fields of a FLAC STREAMINFO block (FLAC format 8.2) a sample entry needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlacStreamInfo {
    pub sample_rate: u32,
    pub channel_count: u8,
    pub bits_per_sample: u8,
}

impl FlacStreamInfo {
    /// Parses the 34-byte STREAMINFO body.
    pub fn parse(stream_info: &[u8]) -> Option<FlacStreamInfo> {
        if stream_info.len() != 34 {
            return None;
        }
        // Bytes 10..13: sample rate (20 bits), channels - 1 (3), bits per sample - 1 (5).
        let v = u32::from_be_bytes([
            stream_info[10],
            stream_info[11],
            stream_info[12],
            stream_info[13],
        ]);
        Some(FlacStreamInfo {
            sample_rate: v >> 12,
            channel_count: ((v >> 9) & 0x07) as u8 + 1,
            bits_per_sample: ((v >> 4) & 0x1f) as u8 + 1,
        })
    }
}

/// Why an init segment or a fragment could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("invalid {codec} parameters: {reason}")]
    InvalidParams {
        codec: &'static str,
        reason: &'static str,
    },
    #[error("a box would exceed 4 GiB")]
    TooLarge,
    #[error("fMP4 writer bug: {0}")]
    Internal(&'static str),
}

/// Why bytes could not be read as fMP4.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("box {0} has an invalid size")]
    BadSize(String),
    #[error("{0} truncated")]
    Truncated(&'static str),
    #[error("box {0} missing")]
    Missing(String),
    #[error("unsupported sample entry {0}")]
    UnsupportedCodec(String),
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("more than {MAX_TRACKS} tracks")]
    TooManyTracks,
    #[error("sample data outside the fragment")]
    DataOutOfRange,
}

#[cfg(test)]
mod tests;
