//! The crate's codec-neutral media: what an FLV audio or video tag means once its
//! legacy or Enhanced RTMP header is taken off, and what a writer turns back into tags.
//!
//! Parts per codec: H264/H265 NAL units without length prefixes or start codes; AV1 OBUs
//! as they were in the tag (with their size fields); one whole frame for VP8, VP9, MP3,
//! AC-3, E-AC-3, FLAC; one packet for Opus; one raw access unit for AAC; samples for
//! G711; big-endian samples for LPCM (FLV carries them little-endian, RTP big-endian).

use bytes::Bytes;

use crate::flv::av1c::Av1Config;
use crate::flv::avcc::AvcConfig;
use crate::flv::hvcc::HevcConfig;
use crate::flv::vpcc::VpcConfig;

/// A four-character code of Enhanced RTMP, big-endian as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FourCc(pub [u8; 4]);

impl FourCc {
    pub const AVC: FourCc = FourCc(*b"avc1");
    pub const HEVC: FourCc = FourCc(*b"hvc1");
    pub const AV1: FourCc = FourCc(*b"av01");
    pub const VP8: FourCc = FourCc(*b"vp08");
    pub const VP9: FourCc = FourCc(*b"vp09");
    pub const AAC: FourCc = FourCc(*b"mp4a");
    pub const MP3: FourCc = FourCc(*b".mp3");
    pub const OPUS: FourCc = FourCc(*b"Opus");
    pub const FLAC: FourCc = FourCc(*b"fLaC");
    pub const AC3: FourCc = FourCc(*b"ac-3");
    pub const EAC3: FourCc = FourCc(*b"ec-3");

    /// The code as a number, as `onMetaData`'s `videocodecid`/`audiocodecid` carry it.
    pub fn as_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    /// The code as text (`"avc1"`); non-ASCII bytes are escaped.
    pub fn as_string(self) -> String {
        self.0.escape_ascii().to_string()
    }
}

/// Audio or video. FLV numbers the tracks of each kind separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    Audio,
    Video,
}

/// A track: its kind and its Enhanced RTMP track id (0 for classic single-track FLV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackId {
    pub kind: MediaKind,
    pub id: u8,
}

impl TrackId {
    pub fn video(id: u8) -> Self {
        TrackId {
            kind: MediaKind::Video,
            id,
        }
    }

    pub fn audio(id: u8) -> Self {
        TrackId {
            kind: MediaKind::Audio,
            id,
        }
    }
}

/// A codec, with the parameters that legacy FLV audio headers carry in every tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    H264,
    H265,
    Av1,
    Vp8,
    Vp9,
    Aac,
    Mp3,
    Opus,
    Flac,
    Ac3,
    Eac3,
    /// G.711 at 8000 Hz.
    G711 {
        mu_law: bool,
        stereo: bool,
    },
    Lpcm {
        sample_rate: u32,
        bit_depth: u8,
        stereo: bool,
    },
}

impl Codec {
    pub fn kind(self) -> MediaKind {
        match self {
            Codec::H264 | Codec::H265 | Codec::Av1 | Codec::Vp8 | Codec::Vp9 => MediaKind::Video,
            _ => MediaKind::Audio,
        }
    }

    /// The Enhanced RTMP code, for codecs that have one.
    pub fn fourcc(self) -> Option<FourCc> {
        Some(match self {
            Codec::H264 => FourCc::AVC,
            Codec::H265 => FourCc::HEVC,
            Codec::Av1 => FourCc::AV1,
            Codec::Vp8 => FourCc::VP8,
            Codec::Vp9 => FourCc::VP9,
            Codec::Aac => FourCc::AAC,
            Codec::Mp3 => FourCc::MP3,
            Codec::Opus => FourCc::OPUS,
            Codec::Flac => FourCc::FLAC,
            Codec::Ac3 => FourCc::AC3,
            Codec::Eac3 => FourCc::EAC3,
            Codec::G711 { .. } | Codec::Lpcm { .. } => return None,
        })
    }

    /// The codec of an Enhanced RTMP code.
    pub fn from_fourcc(code: FourCc) -> Option<Codec> {
        Some(match code {
            FourCc::AVC => Codec::H264,
            FourCc::HEVC => Codec::H265,
            FourCc::AV1 => Codec::Av1,
            FourCc::VP8 => Codec::Vp8,
            FourCc::VP9 => Codec::Vp9,
            FourCc::AAC => Codec::Aac,
            FourCc::MP3 => Codec::Mp3,
            FourCc::OPUS => Codec::Opus,
            FourCc::FLAC => Codec::Flac,
            FourCc::AC3 => Codec::Ac3,
            FourCc::EAC3 => Codec::Eac3,
            _ => return None,
        })
    }

    /// The name MediaMTX gives the codec in logs and in the API.
    pub fn name(self) -> &'static str {
        match self {
            Codec::H264 => "H264",
            Codec::H265 => "H265",
            Codec::Av1 => "AV1",
            Codec::Vp8 => "VP8",
            Codec::Vp9 => "VP9",
            Codec::Aac => "MPEG-4 Audio",
            Codec::Mp3 => "MPEG-1/2 Audio",
            Codec::Opus => "Opus",
            Codec::Flac => "FLAC",
            Codec::Ac3 => "AC-3",
            Codec::Eac3 => "E-AC-3",
            Codec::G711 { .. } => "G711",
            Codec::Lpcm { .. } => "LPCM",
        }
    }
}

/// One frame of one track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Track id within the codec's kind (0 unless multitrack).
    pub track: u8,
    pub codec: Codec,
    /// Decoding timestamp: the RTMP message timestamp, milliseconds, wrapping at 2^32.
    pub timestamp_ms: u32,
    /// Presentation minus decoding time in milliseconds (H264/H265 composition time).
    pub composition_ms: i32,
    /// A key frame (always true for audio).
    pub keyframe: bool,
    pub parts: Vec<Bytes>,
}

impl Media {
    pub fn track_id(&self) -> TrackId {
        TrackId {
            kind: self.codec.kind(),
            id: self.track,
        }
    }

    /// Presentation timestamp in milliseconds (may be below the decoding timestamp's
    /// range when the composition offset is negative).
    pub fn pts_ms(&self) -> i64 {
        i64::from(self.timestamp_ms) + i64::from(self.composition_ms)
    }

    /// Total payload bytes.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(Bytes::is_empty)
    }
}

/// Codec parameters from a sequence header / sequence start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecParams {
    H264(AvcConfig),
    H265(HevcConfig),
    Av1(Av1Config),
    Vp8(VpcConfig),
    Vp9(VpcConfig),
    /// The MPEG-4 AudioSpecificConfig.
    Aac(Bytes),
    /// The Opus identification header (RFC 7845 5.1, "OpusHead"); may be empty.
    Opus(Bytes),
    /// `fLaC` and the metadata blocks, STREAMINFO first.
    Flac(Bytes),
    /// Sequence starts that carry nothing.
    Mp3,
    Ac3,
    Eac3,
}

impl CodecParams {
    pub fn codec(&self) -> Codec {
        match self {
            CodecParams::H264(_) => Codec::H264,
            CodecParams::H265(_) => Codec::H265,
            CodecParams::Av1(_) => Codec::Av1,
            CodecParams::Vp8(_) => Codec::Vp8,
            CodecParams::Vp9(_) => Codec::Vp9,
            CodecParams::Aac(_) => Codec::Aac,
            CodecParams::Opus(_) => Codec::Opus,
            CodecParams::Flac(_) => Codec::Flac,
            CodecParams::Mp3 => Codec::Mp3,
            CodecParams::Ac3 => Codec::Ac3,
            CodecParams::Eac3 => Codec::Eac3,
        }
    }
}

/// A track's parameters as a sequence header announces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackConfig {
    pub track: u8,
    pub params: CodecParams,
}

impl TrackConfig {
    pub fn track_id(&self) -> TrackId {
        TrackId {
            kind: self.params.codec().kind(),
            id: self.track,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourccs_map_both_ways() {
        for codec in [
            Codec::H264,
            Codec::H265,
            Codec::Av1,
            Codec::Vp8,
            Codec::Vp9,
            Codec::Aac,
            Codec::Mp3,
            Codec::Opus,
            Codec::Flac,
            Codec::Ac3,
            Codec::Eac3,
        ] {
            let code = codec.fourcc().expect("has a code");
            assert_eq!(Codec::from_fourcc(code), Some(codec));
        }
        assert_eq!(Codec::from_fourcc(FourCc(*b"vvc1")), None);
        assert_eq!(FourCc::OPUS.as_u32(), 1_332_770_163);
        assert_eq!(FourCc::AV1.as_u32(), 1_635_135_537);
        assert_eq!(FourCc::EAC3.as_string(), "ec-3");
    }

    #[test]
    fn timestamps() {
        let m = Media {
            track: 0,
            codec: Codec::H264,
            timestamp_ms: 100,
            composition_ms: -40,
            keyframe: true,
            parts: vec![Bytes::from_static(b"ab"), Bytes::from_static(b"c")],
        };
        assert_eq!(m.pts_ms(), 60);
        assert_eq!(m.len(), 3);
        assert_eq!(m.track_id(), TrackId::video(0));
    }
}
