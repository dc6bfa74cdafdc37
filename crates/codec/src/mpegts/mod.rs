//! MPEG transport stream (ISO/IEC 13818-1): a demuxer for SRT and UDP ingest and a muxer
//! for SRT readers, the HLS `mpegts` variant and recording. Pure code, no I/O.
//!
//! [`Demuxer`]: [`Demuxer::push`] bytes of any chunking, then [`Demuxer::pull`] until it
//! returns `None`. Anomalies (garbage, continuity gaps, broken PES or codec data) are
//! counted and handed out by [`Demuxer::take_anomalies`], never logged per packet.
//! [`Muxer`]: [`Muxer::write`] one access unit, get whole 188-byte packets appended to a
//! buffer.
//!
//! Access units use the [`crate::Frame::parts`] convention: H264/H265 NAL units without
//! start codes, one AAC access unit per part, one Opus packet per part, and so on (see
//! [`Codec`]), with 90 kHz PTS/DTS that grow past the 33 bits of the wire.
//!
//! ## Why not the `mpeg2ts-reader` crate
//!
//! `mpeg2ts-reader` 0.18 parses packets, PSI and PES headers well, but: its `push` takes
//! only whole 188-byte packets and stops at the first packet without a sync byte (the rest
//! of the buffer is dropped, no resync after garbage); it reports problems through the
//! `log` crate, one warning per packet, where we count anomalies and return them as
//! values; it hands PES data to callbacks registered through a trait-and-macro context,
//! while the crate's other parsers are push/pull; and what we need on top of it (PES
//! reassembly with a size cap, continuity handling that drops the broken PES, timestamp
//! unwrapping, the codec payload formats, and a muxer, which it does not have) is most of
//! the work anyway. The packet, PSI and PES layers here are a few hundred lines, written
//! against the standard, and fuzzed like every other parser of the crate.

mod ac3;
mod adts;
mod annexb;
mod crc;
mod demuxer;
mod es;
mod klv;
mod latm;
mod mpeg1audio;
mod muxer;
mod opus;
pub mod packet;
mod pes;
pub mod psi;
mod timestamp;

pub use demuxer::{AccessUnit, Anomalies, DemuxError, Demuxer, Event, MAX_PES_SIZE};
pub use es::EsError;
pub use muxer::{FIRST_TRACK_PID, MuxError, Muxer, PMT_PID, TABLE_INTERVAL};
pub use pes::PesError;
pub use timestamp::{DISCONTINUITY_THRESHOLD, TimestampUnwrapper};

use crate::format::Format;
use crate::mpeg4audio::AudioSpecificConfig;

/// One elementary stream of the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// Packet identifier. For the muxer, 0 means "choose one" (256, 257, ... in order).
    pub pid: u16,
    pub codec: Codec,
}

/// The codecs MPEG-TS carries that ferromtx understands, with what an access unit's
/// `parts` hold for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Codec {
    /// Stream type 0x1b. Parts: NAL units without start codes (a leading access unit
    /// delimiter is dropped by the demuxer and added by the muxer).
    H264,
    /// Stream type 0x24. Parts as for H264.
    H265,
    /// Stream type 0x0f, AAC in ADTS. Parts: raw access units (ADTS headers removed).
    /// The demuxer takes the config from the first ADTS header.
    Mpeg4Audio { config: AudioSpecificConfig },
    /// Stream type 0x11, AAC in LATM/LOAS. Parts: AudioMuxElements (LOAS sync layer
    /// removed).
    Mpeg4AudioLatm,
    /// Stream type 0x06 with an `Opus` registration descriptor. Parts: Opus packets
    /// (control headers removed).
    Opus { channel_count: u8 },
    /// MPEG-1/2 audio layers I-III, stream types 0x03/0x04. Parts: audio frames.
    Mpeg1Audio,
    /// AC-3, stream type 0x81 or 0x06 with an AC-3 descriptor. Parts: syncframes. The
    /// demuxer takes the parameters from the first syncframe.
    Ac3 { sample_rate: u32, channel_count: u8 },
    /// MPEG-1/2 video, stream types 0x01/0x02. One part: the whole frame.
    Mpeg1Video,
    /// MPEG-4 part 2 video, stream type 0x10. One part: the whole frame.
    Mpeg4Video,
    /// KLV metadata (SMPTE 336M, MISB ST 1402), passed through as one part.
    /// `synchronous`: stream type 0x15 with a metadata descriptor, PTS on every unit and
    /// metadata AU cells around the data; otherwise stream type 0x06 with a `KLVA`
    /// registration, no PTS of its own (the demuxer gives it the last PTS of the stream).
    Klv { synchronous: bool },
}

impl Codec {
    /// The codec name MediaMTX uses in logs and in the API.
    pub fn name(&self) -> &'static str {
        match self {
            Codec::H264 => "H264",
            Codec::H265 => "H265",
            Codec::Mpeg4Audio { .. } | Codec::Mpeg4AudioLatm => "MPEG-4 Audio",
            Codec::Opus { .. } => "Opus",
            Codec::Mpeg1Audio => "MPEG-1/2 Audio",
            Codec::Ac3 { .. } => "AC-3",
            Codec::Mpeg1Video => "MPEG-1/2 Video",
            Codec::Mpeg4Video => "MPEG-4 Video",
            Codec::Klv { .. } => "KLV",
        }
    }

    pub fn is_video(&self) -> bool {
        matches!(
            self,
            Codec::H264 | Codec::H265 | Codec::Mpeg1Video | Codec::Mpeg4Video
        )
    }

    /// The RTP-side [`Format`] of this codec, for the codecs [`Format`] has (H264, H265,
    /// Opus, AAC in ADTS); `None` for the others.
    pub fn to_format(&self, payload_type: u8) -> Option<Format> {
        Some(match self {
            Codec::H264 => Format::H264 {
                payload_type,
                sps: None,
                pps: None,
                packetization_mode: 1,
            },
            Codec::H265 => Format::H265 {
                payload_type,
                vps: None,
                sps: None,
                pps: None,
            },
            Codec::Opus { channel_count } => Format::Opus {
                payload_type,
                channels: *channel_count,
            },
            Codec::Mpeg4Audio { config } => Format::Mpeg4Audio {
                payload_type,
                config: config.marshal(),
                size_length: 13,
                index_length: 3,
                index_delta_length: 3,
            },
            _ => return None,
        })
    }

    /// The codec that carries a [`Format`] in MPEG-TS, when there is one (AAC goes as
    /// ADTS, so its config must parse).
    pub fn from_format(format: &Format) -> Option<Codec> {
        match format {
            Format::H264 { .. } => Some(Codec::H264),
            Format::H265 { .. } => Some(Codec::H265),
            Format::Opus { channels, .. } => Some(Codec::Opus {
                channel_count: *channels,
            }),
            Format::Mpeg4Audio { config, .. } => AudioSpecificConfig::parse(config)
                .ok()
                .map(|config| Codec::Mpeg4Audio { config }),
            _ => None,
        }
    }
}

/// Stream types of the PMT (ISO/IEC 13818-1 table 2-34, ATSC A/52 for AC-3).
pub mod stream_type {
    pub const MPEG1_VIDEO: u8 = 0x01;
    pub const MPEG2_VIDEO: u8 = 0x02;
    pub const MPEG1_AUDIO: u8 = 0x03;
    pub const MPEG2_AUDIO: u8 = 0x04;
    pub const PRIVATE_DATA: u8 = 0x06;
    pub const AAC_ADTS: u8 = 0x0f;
    pub const MPEG4_VIDEO: u8 = 0x10;
    pub const AAC_LATM: u8 = 0x11;
    pub const METADATA: u8 = 0x15;
    pub const H264: u8 = 0x1b;
    pub const H265: u8 = 0x24;
    pub const AC3: u8 = 0x81;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_convert_both_ways() {
        let aac = Codec::Mpeg4Audio {
            config: AudioSpecificConfig::parse(&[0x12, 0x10]).expect("valid"),
        };
        for codec in [
            Codec::H264,
            Codec::H265,
            Codec::Opus { channel_count: 2 },
            aac,
        ] {
            let format = codec.to_format(96).expect("has a format");
            assert_eq!(format.codec_name(), codec.name());
            assert_eq!(Codec::from_format(&format), Some(codec));
        }
        assert_eq!(Codec::Mpeg1Audio.to_format(96), None);
        assert_eq!(Codec::from_format(&Format::Vp8 { payload_type: 96 }), None);
    }
}
