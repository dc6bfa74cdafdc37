//! FLV audio and video tag bodies (the payload of RTMP audio and video messages), in
//! the legacy form and in Enhanced RTMP v1/v2 (FourCC codecs, sequence start/end, coded
//! frames, metadata, ModEx, multitrack), and the codec configuration records they carry.

pub mod ac3;
pub mod audio_tag;
pub mod av1c;
pub mod avcc;
pub mod flac;
pub mod hvcc;
pub mod mp3;
pub mod opus_head;
pub mod tag;
pub mod video_tag;
pub mod vpcc;

pub use tag::{FlvTag, TagItem, TagKind, TagReader, TagStyle};

use crate::media::{Codec, FourCc};

/// Why a tag body or a configuration record could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlvError {
    #[error("{what} truncated")]
    Truncated { what: &'static str },
    #[error("invalid {what}: {reason}")]
    Invalid {
        what: &'static str,
        reason: &'static str,
    },
    #[error("unsupported legacy audio format {0}")]
    AudioFormat(u8),
    #[error("unsupported legacy video codec id {0}")]
    VideoCodec(u8),
    #[error("unsupported FourCC '{}'", .0.as_string())]
    FourCc(FourCc),
    #[error("unsupported {kind} packet type {packet_type}")]
    PacketType { kind: &'static str, packet_type: u8 },
    #[error("cannot write {} as FLV: {reason}", .codec.name())]
    NotWritable { codec: Codec, reason: &'static str },
}

pub(crate) fn truncated(what: &'static str) -> FlvError {
    FlvError::Truncated { what }
}

pub(crate) fn invalid(what: &'static str, reason: &'static str) -> FlvError {
    FlvError::Invalid { what, reason }
}
