//! Between this crate's track configurations and codecs and `ferromtx_codec::Format`,
//! for the layer that turns a publisher's tracks into stream formats and a stream's
//! formats into what a player is sent.

use ferromtx_codec::Format;
use ferromtx_codec::mpeg4audio::AudioSpecificConfig;

use crate::flv::avcc::AvcConfig;
use crate::flv::hvcc::HevcConfig;
use crate::flv::opus_head::OpusHead;
use crate::flv::vpcc::VpcConfig;
use crate::media::{Codec, CodecParams, TrackConfig};

/// RTP payload type MPEG audio has in RFC 3551.
const PAYLOAD_TYPE_MPA: u8 = 14;

impl TrackConfig {
    /// The stream format a configuration describes; `None` for FLAC, AC-3 and E-AC-3
    /// (no format of their own: the frames tell more) and for unusable records.
    pub fn format(&self, payload_type: u8) -> Option<Format> {
        Some(match &self.params {
            CodecParams::H264(c) => Format::H264 {
                payload_type,
                sps: c.sps.first().cloned(),
                pps: c.pps.first().cloned(),
                packetization_mode: 1,
            },
            CodecParams::H265(c) => Format::H265 {
                payload_type,
                vps: c.vps().cloned(),
                sps: c.sps().cloned(),
                pps: c.pps().cloned(),
            },
            CodecParams::Av1(_) => Format::Av1 { payload_type },
            CodecParams::Vp8(_) => Format::Vp8 { payload_type },
            CodecParams::Vp9(_) => Format::Vp9 { payload_type },
            CodecParams::Opus(head) => Format::Opus {
                payload_type,
                channels: OpusHead::parse(head).map_or(2, |h| h.channels),
            },
            CodecParams::Aac(config) => {
                AudioSpecificConfig::parse(config).ok()?;
                Format::Mpeg4Audio {
                    payload_type,
                    config: config.clone(),
                    size_length: 13,
                    index_length: 3,
                    index_delta_length: 3,
                }
            }
            CodecParams::Mp3 => Codec::Mp3.format(payload_type)?,
            CodecParams::Flac(_) | CodecParams::Ac3 | CodecParams::Eac3 => return None,
        })
    }

    /// The configuration a player is sent for a stream format (track `track`); `None`
    /// when the format has none (G711, LPCM), lacks what it needs (H264/H265 without
    /// parameter sets, AV1 without a sequence header: build it from an in-band one with
    /// `Av1Config::from_sequence_header`) or has no FLV form.
    pub fn from_format(track: u8, format: &Format) -> Option<TrackConfig> {
        let params = match format {
            Format::H264 {
                sps: Some(sps),
                pps: Some(pps),
                ..
            } => CodecParams::H264(AvcConfig::from_parameter_sets(sps.clone(), pps.clone()).ok()?),
            Format::H265 {
                vps: Some(vps),
                sps: Some(sps),
                pps: Some(pps),
                ..
            } => CodecParams::H265(
                HevcConfig::from_parameter_sets(vps.clone(), sps.clone(), pps.clone()).ok()?,
            ),
            Format::Vp8 { .. } => CodecParams::Vp8(VpcConfig::with_profile(0)),
            Format::Vp9 { .. } => CodecParams::Vp9(VpcConfig::with_profile(0)),
            Format::Opus { channels, .. } => {
                CodecParams::Opus(OpusHead::for_channels(*channels).to_bytes())
            }
            Format::Mpeg4Audio { config, .. } => CodecParams::Aac(config.clone()),
            _ => return None,
        };
        Some(TrackConfig { track, params })
    }
}

impl Codec {
    /// The stream format of a codec whose parameters travel in every legacy tag (G711,
    /// LPCM) or nowhere (MP3, as MPEG audio: `MPA/90000`, static payload type 14, whatever
    /// `payload_type` says); `None` for the others, whose
    /// format comes from their configuration.
    pub fn format(self, payload_type: u8) -> Option<Format> {
        let channels = |stereo: bool| if stereo { 2 } else { 1 };
        Some(match self {
            Codec::G711 { mu_law, stereo } => Format::G711 {
                payload_type,
                mu_law,
                sample_rate: 8_000,
                channels: channels(stereo),
            },
            Codec::Lpcm {
                sample_rate,
                bit_depth,
                stereo,
            } => Format::Lpcm {
                payload_type,
                bit_depth,
                sample_rate,
                channels: channels(stereo),
            },
            Codec::Mp3 => Format::Generic {
                payload_type: PAYLOAD_TYPE_MPA,
                clock_rate: 90_000,
                rtpmap: Some("MPA/90000".to_owned()),
                fmtp: None,
            },
            _ => return None,
        })
    }

    /// The codec frames of a stream format are written as; `None` for formats FLV cannot
    /// carry (G722, generic ones) and G711/LPCM that FLV's legacy header cannot describe
    /// (other than 8 kHz G711 and mono/stereo; LPCM at 5512, 11025, 22050 or 44100 Hz, 8
    /// or 16 bits).
    pub fn from_format(format: &Format) -> Option<Codec> {
        Some(match format {
            Format::H264 { .. } => Codec::H264,
            Format::H265 { .. } => Codec::H265,
            Format::Av1 { .. } => Codec::Av1,
            Format::Vp8 { .. } => Codec::Vp8,
            Format::Vp9 { .. } => Codec::Vp9,
            Format::Opus { .. } => Codec::Opus,
            Format::Mpeg4Audio { .. } => Codec::Aac,
            Format::G711 {
                mu_law,
                sample_rate: 8_000,
                channels: channels @ (1 | 2),
                ..
            } => Codec::G711 {
                mu_law: *mu_law,
                stereo: *channels == 2,
            },
            Format::Lpcm {
                bit_depth: bit_depth @ (8 | 16),
                sample_rate: sample_rate @ (5_512 | 11_025 | 22_050 | 44_100),
                channels: channels @ (1 | 2),
                ..
            } => Codec::Lpcm {
                sample_rate: *sample_rate,
                bit_depth: *bit_depth,
                stereo: *channels == 2,
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::flv::av1c::Av1Config;

    fn hex(s: &str) -> Bytes {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    const SPS: &str = "6742c00ad90426c044000003000400000300c83c489920";
    const PPS: &str = "68cb83cb20";

    #[test]
    fn configurations_become_formats_and_back() {
        let formats = [
            Format::H264 {
                payload_type: 96,
                sps: Some(hex(SPS)),
                pps: Some(hex(PPS)),
                packetization_mode: 1,
            },
            Format::H265 {
                payload_type: 96,
                vps: Some(hex("40010c01ffff01600000030090000003000003001e959809")),
                sps: Some(hex(
                    "42010101600000030090000003000003001ea020810596566924caf0168080000003008000000c84",
                )),
                pps: Some(hex("4401c172b42240")),
            },
            Format::Vp9 { payload_type: 96 },
            Format::Vp8 { payload_type: 96 },
            Format::Opus {
                payload_type: 96,
                channels: 2,
            },
            Format::Mpeg4Audio {
                payload_type: 96,
                config: hex("1190"),
                size_length: 13,
                index_length: 3,
                index_delta_length: 3,
            },
        ];
        for f in formats {
            let config = TrackConfig::from_format(0, &f).expect("has a configuration");
            assert_eq!(config.format(96), Some(f.clone()));
            assert_eq!(Codec::from_format(&f), Some(config.params.codec()));
        }
        let av1 = TrackConfig {
            track: 1,
            params: CodecParams::Av1(
                Av1Config::from_sequence_header(&hex("0a0a00000002afff9b5f2008")).expect("av1C"),
            ),
        };
        assert_eq!(av1.format(97), Some(Format::Av1 { payload_type: 97 }));
        assert_eq!(
            TrackConfig::from_format(0, &Format::Av1 { payload_type: 96 }),
            None
        );
        let no_params = Format::H264 {
            payload_type: 96,
            sps: None,
            pps: None,
            packetization_mode: 1,
        };
        assert_eq!(TrackConfig::from_format(0, &no_params), None);
        let ac3 = TrackConfig {
            track: 0,
            params: CodecParams::Ac3,
        };
        assert_eq!(ac3.format(96), None);
    }

    #[test]
    fn legacy_audio_codecs_and_formats() {
        let g711 = Codec::G711 {
            mu_law: true,
            stereo: false,
        };
        let f = g711.format(0).expect("a format");
        assert_eq!(f.clock_rate(), 8_000);
        assert_eq!(Codec::from_format(&f), Some(g711));
        let lpcm = Codec::Lpcm {
            sample_rate: 44_100,
            bit_depth: 16,
            stereo: true,
        };
        let f = lpcm.format(96).expect("a format");
        assert_eq!(Codec::from_format(&f), Some(lpcm));
        let f48 = Format::Lpcm {
            payload_type: 96,
            bit_depth: 16,
            sample_rate: 48_000,
            channels: 2,
        };
        assert_eq!(Codec::from_format(&f48), None);
        assert_eq!(Codec::Mp3.format(96).map(|f| f.clock_rate()), Some(90_000));
        assert_eq!(Codec::H264.format(96), None);
        assert_eq!(Codec::from_format(&Format::G722 { payload_type: 9 }), None);
    }
}
