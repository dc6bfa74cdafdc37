//! The description of one track's media: codec and its parameters.

use bytes::Bytes;

/// A track's codec and parameters, as learned from SDP, an RTMP header or in-band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    H264 {
        payload_type: u8,
        sps: Option<Bytes>,
        pps: Option<Bytes>,
        packetization_mode: u8,
    },
    H265 {
        payload_type: u8,
        vps: Option<Bytes>,
        sps: Option<Bytes>,
        pps: Option<Bytes>,
    },
    Av1 {
        payload_type: u8,
    },
    Vp8 {
        payload_type: u8,
    },
    Vp9 {
        payload_type: u8,
    },
    Opus {
        payload_type: u8,
        channels: u8,
    },
    /// MPEG-4 audio (AAC) in RFC 3640 "generic" mode; `config` is the AudioSpecificConfig.
    Mpeg4Audio {
        payload_type: u8,
        config: Bytes,
        size_length: u8,
        index_length: u8,
        index_delta_length: u8,
    },
    G711 {
        payload_type: u8,
        mu_law: bool,
        sample_rate: u32,
        channels: u8,
    },
    G722 {
        payload_type: u8,
    },
    Lpcm {
        payload_type: u8,
        bit_depth: u8,
        sample_rate: u32,
        channels: u8,
    },
    /// Anything else: passed through untouched.
    Generic {
        payload_type: u8,
        clock_rate: u32,
        rtpmap: Option<String>,
        fmtp: Option<String>,
    },
}

impl Format {
    /// The codec name MediaMTX uses in logs and in the API (`tracks`).
    pub fn codec_name(&self) -> &'static str {
        match self {
            Format::H264 { .. } => "H264",
            Format::H265 { .. } => "H265",
            Format::Av1 { .. } => "AV1",
            Format::Vp8 { .. } => "VP8",
            Format::Vp9 { .. } => "VP9",
            Format::Opus { .. } => "Opus",
            Format::Mpeg4Audio { .. } => "MPEG-4 Audio",
            Format::G711 { .. } => "G711",
            Format::G722 { .. } => "G722",
            Format::Lpcm { .. } => "LPCM",
            generic @ Format::Generic { .. } if crate::mpeg1audio::is_rfc2250(generic) => {
                crate::mpeg1audio::CODEC
            }
            Format::Generic { .. } => "Generic",
        }
    }

    /// RTP clock rate in Hz.
    pub fn clock_rate(&self) -> u32 {
        match self {
            Format::H264 { .. }
            | Format::H265 { .. }
            | Format::Av1 { .. }
            | Format::Vp8 { .. }
            | Format::Vp9 { .. } => 90_000,
            Format::Opus { .. } => 48_000,
            Format::Mpeg4Audio { config, .. } => mpeg4_audio_sample_rate(config).unwrap_or(48_000),
            Format::G711 { sample_rate, .. } | Format::Lpcm { sample_rate, .. } => *sample_rate,
            // RFC 3551: G722's RTP clock is 8000 although it samples at 16000.
            Format::G722 { .. } => 8_000,
            Format::Generic { clock_rate, .. } => *clock_rate,
        }
    }

    /// RTP payload type in the stream's own SDP.
    pub fn payload_type(&self) -> u8 {
        match self {
            Format::H264 { payload_type, .. }
            | Format::H265 { payload_type, .. }
            | Format::Av1 { payload_type }
            | Format::Vp8 { payload_type }
            | Format::Vp9 { payload_type }
            | Format::Opus { payload_type, .. }
            | Format::Mpeg4Audio { payload_type, .. }
            | Format::G711 { payload_type, .. }
            | Format::G722 { payload_type }
            | Format::Lpcm { payload_type, .. }
            | Format::Generic { payload_type, .. } => *payload_type,
        }
    }

    /// Whether the track carries video.
    pub fn is_video(&self) -> bool {
        matches!(
            self,
            Format::H264 { .. }
                | Format::H265 { .. }
                | Format::Av1 { .. }
                | Format::Vp8 { .. }
                | Format::Vp9 { .. }
        )
    }
}

impl Format {
    /// Takes in-band parameter sets (H264 SPS/PPS, H265 VPS/SPS/PPS) carried by
    /// `frame` into the format. Returns whether the format changed.
    pub fn update_params(&mut self, frame: &crate::Frame) -> bool {
        match self {
            Format::H264 { .. } => crate::h264::update_params(self, frame),
            Format::H265 { .. } => crate::h265::update_params(self, frame),
            _ => false,
        }
    }

    /// Whether random-access frames of this codec need in-band parameter sets.
    pub fn has_params(&self) -> bool {
        matches!(self, Format::H264 { .. } | Format::H265 { .. })
    }

    /// `frame` with the format's parameter sets in front when it is a random-access frame
    /// that carries none (see [`crate::h264::with_params`]); `None` when nothing changes.
    pub fn with_params(&self, frame: &crate::Frame) -> Option<crate::Frame> {
        match self {
            Format::H264 { .. } => crate::h264::with_params(self, frame),
            Format::H265 { .. } => crate::h265::with_params(self, frame),
            _ => None,
        }
    }
}

/// Sample rate from an MPEG-4 AudioSpecificConfig (ISO 14496-3 1.6.2.1).
fn mpeg4_audio_sample_rate(config: &[u8]) -> Option<u32> {
    const RATES: [u32; 13] = [
        96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025,
        8_000, 7_350,
    ];
    let b0 = *config.first()?;
    let b1 = *config.get(1)?;
    let index = ((b0 & 0x07) << 1) | (b1 >> 7);
    if index == 0x0f {
        let b2 = *config.get(2)?;
        let b3 = *config.get(3)?;
        let b4 = *config.get(4)?;
        let rate = (u32::from(b1 & 0x7f) << 17)
            | (u32::from(b2) << 9)
            | (u32::from(b3) << 1)
            | u32::from(b4 >> 7);
        return Some(rate);
    }
    RATES.get(usize::from(index)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aac_clock_rate_comes_from_config() {
        // AAC-LC, 44100 Hz (index 4), stereo: 0x12 0x10
        let f = Format::Mpeg4Audio {
            payload_type: 96,
            config: Bytes::from_static(&[0x12, 0x10]),
            size_length: 13,
            index_length: 3,
            index_delta_length: 3,
        };
        assert_eq!(f.clock_rate(), 44_100);
        // 48000 Hz (index 3), stereo: 0x11 0x90
        let f = Format::Mpeg4Audio {
            payload_type: 96,
            config: Bytes::from_static(&[0x11, 0x90]),
            size_length: 13,
            index_length: 3,
            index_delta_length: 3,
        };
        assert_eq!(f.clock_rate(), 48_000);
    }

    #[test]
    fn names_match_mediamtx() {
        assert_eq!(Format::Vp8 { payload_type: 96 }.codec_name(), "VP8");
        assert_eq!(
            Format::Opus {
                payload_type: 111,
                channels: 2
            }
            .codec_name(),
            "Opus"
        );
    }
}
