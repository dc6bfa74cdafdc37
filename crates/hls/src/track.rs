//! What the muxer knows about one track's codec: the parameters the init segment and the
//! CODECS attribute need (learned in-band until the init segment exists) and how an access
//! unit becomes fMP4 sample payloads.

use bytes::{BufMut, Bytes, BytesMut};
use ferromtx_codec::fmp4::Codec;
use ferromtx_codec::{Format, av1, h264, h265, mpeg4audio, opus, vp9};

/// A track codec HLS can carry, with its parameters so far.
#[derive(Debug, Clone)]
pub(crate) enum TrackCodec {
    H264 {
        sps: Option<Bytes>,
        pps: Option<Bytes>,
    },
    H265 {
        vps: Option<Bytes>,
        sps: Option<Bytes>,
        pps: Option<Bytes>,
    },
    Av1 {
        sequence_header: Option<Bytes>,
    },
    Vp9 {
        header: Option<(u8, vp9::KeyFrameInfo)>,
    },
    Opus {
        channels: u8,
    },
    Mpeg4Audio {
        config: Bytes,
        samples_per_au: i64,
        object_type: u8,
    },
}

/// Codecs of the fMP4 variants, in MediaMTX's words.
pub(crate) const FMP4_CODECS: &str = "AV1, VP9, H265, H264, Opus, MPEG-4 Audio";
/// Codecs of the MPEG-TS variant.
pub(crate) const MPEGTS_CODECS: &str = "H264, MPEG-4 Audio";

impl TrackCodec {
    /// The codec of a stream track, `None` when HLS cannot carry it.
    pub(crate) fn from_format(format: &Format) -> Option<TrackCodec> {
        Some(match format {
            Format::H264 { sps, pps, .. } => TrackCodec::H264 {
                sps: sps.clone(),
                pps: pps.clone(),
            },
            Format::H265 { vps, sps, pps, .. } => TrackCodec::H265 {
                vps: vps.clone(),
                sps: sps.clone(),
                pps: pps.clone(),
            },
            Format::Av1 { .. } => TrackCodec::Av1 {
                sequence_header: None,
            },
            Format::Vp9 { .. } => TrackCodec::Vp9 { header: None },
            Format::Opus { channels, .. } => TrackCodec::Opus {
                channels: *channels,
            },
            Format::Mpeg4Audio { config, .. } => {
                let c = mpeg4audio::AudioSpecificConfig::parse(config).ok()?;
                TrackCodec::Mpeg4Audio {
                    config: config.clone(),
                    samples_per_au: i64::from(c.samples_per_access_unit()),
                    object_type: c.object_type,
                }
            }
            _ => return None,
        })
    }

    pub(crate) fn is_video(&self) -> bool {
        matches!(
            self,
            TrackCodec::H264 { .. }
                | TrackCodec::H265 { .. }
                | TrackCodec::Av1 { .. }
                | TrackCodec::Vp9 { .. }
        )
    }

    /// Whether the MPEG-TS variant (as MediaMTX) carries the codec.
    pub(crate) fn in_mpegts(&self) -> bool {
        matches!(
            self,
            TrackCodec::H264 { .. } | TrackCodec::Mpeg4Audio { .. }
        )
    }

    /// Takes parameters carried by a unit (SPS/PPS/VPS, an AV1 sequence header, a VP9 key
    /// frame header). Called until the init segment is written.
    pub(crate) fn learn(&mut self, parts: &[Bytes]) {
        match self {
            TrackCodec::H264 { sps, pps } => {
                for nal in parts {
                    match h264::nal_type(nal) {
                        h264::NAL_SPS => *sps = Some(nal.clone()),
                        h264::NAL_PPS => *pps = Some(nal.clone()),
                        _ => {}
                    }
                }
            }
            TrackCodec::H265 { vps, sps, pps } => {
                for nal in parts {
                    match h265::nal_type(nal) {
                        h265::NAL_VPS => *vps = Some(nal.clone()),
                        h265::NAL_SPS => *sps = Some(nal.clone()),
                        h265::NAL_PPS => *pps = Some(nal.clone()),
                        _ => {}
                    }
                }
            }
            TrackCodec::Av1 { sequence_header } => {
                if let Some(obu) = parts
                    .iter()
                    .find(|o| av1::obu_type(o) == Some(av1::OBU_SEQUENCE_HEADER))
                {
                    *sequence_header = Some(obu.clone());
                }
            }
            TrackCodec::Vp9 { header } => {
                if let Some(frame) = parts.first()
                    && let Ok(h) = vp9::Header::parse(frame)
                    && let Some(key) = h.key_frame
                {
                    *header = Some((h.profile, key));
                }
            }
            TrackCodec::Opus { .. } | TrackCodec::Mpeg4Audio { .. } => {}
        }
    }

    /// The fMP4 codec for the init segment, `None` while parameters are missing.
    pub(crate) fn fmp4_codec(&self) -> Option<Codec> {
        Some(match self {
            TrackCodec::H264 { sps, pps } => Codec::H264 {
                sps: sps.clone()?,
                pps: pps.clone()?,
            },
            TrackCodec::H265 { vps, sps, pps } => Codec::H265 {
                vps: vps.clone()?,
                sps: sps.clone()?,
                pps: pps.clone()?,
            },
            TrackCodec::Av1 { sequence_header } => Codec::Av1 {
                sequence_header: sequence_header.clone()?,
            },
            TrackCodec::Vp9 { header } => {
                let (profile, key) = header.as_ref()?;
                Codec::Vp9 {
                    width: key.width.min(0xffff) as u16,
                    height: key.height.min(0xffff) as u16,
                    profile: *profile,
                    bit_depth: key.bit_depth,
                    chroma_subsampling: key.chroma_subsampling,
                    color_range: key.color_range,
                }
            }
            TrackCodec::Opus { channels } => Codec::Opus {
                channel_count: *channels,
            },
            TrackCodec::Mpeg4Audio { config, .. } => Codec::Mpeg4Audio {
                config: config.clone(),
            },
        })
    }

    /// RFC 6381 codec string for the CODECS attribute ("" when unknown yet).
    pub(crate) fn codec_string(&self) -> String {
        match self {
            TrackCodec::H264 { sps: Some(sps), .. } if sps.len() >= 4 => {
                format!("avc1.{:02x}{:02x}{:02x}", sps[1], sps[2], sps[3])
            }
            TrackCodec::H265 { sps: Some(sps), .. } => h265::Sps::parse(sps)
                .map(|s| s.codec_string())
                .unwrap_or_default(),
            TrackCodec::Av1 {
                sequence_header: Some(sh),
            } => av1::SequenceHeader::parse(sh)
                .map(|s| s.codec_string())
                .unwrap_or_default(),
            TrackCodec::Vp9 {
                header: Some((profile, key)),
            } => format!("vp09.{profile:02}.10.{:02}", key.bit_depth),
            TrackCodec::Opus { .. } => "opus".into(),
            TrackCodec::Mpeg4Audio { object_type, .. } => format!("mp4a.40.{object_type}"),
            _ => String::new(),
        }
    }

    /// Picture size and frame rate for RESOLUTION and FRAME-RATE.
    pub(crate) fn picture(&self) -> Option<((u32, u32), Option<f64>)> {
        match self {
            TrackCodec::H264 { sps: Some(sps), .. } => {
                let s = h264::Sps::parse(sps).ok()?;
                Some(((s.width, s.height), s.frame_rate()))
            }
            TrackCodec::H265 { sps: Some(sps), .. } => {
                let s = h265::Sps::parse(sps).ok()?;
                Some(((s.width, s.height), None))
            }
            TrackCodec::Av1 {
                sequence_header: Some(sh),
            } => {
                let s = av1::SequenceHeader::parse(sh).ok()?;
                Some(((s.max_frame_width, s.max_frame_height), None))
            }
            TrackCodec::Vp9 {
                header: Some((_, key)),
            } => Some(((key.width, key.height), None)),
            _ => None,
        }
    }

    /// The fMP4 samples of one unit: `(pts offset from the unit's pts, payload)`.
    /// Video gives one sample; Opus one per packet, MPEG-4 audio one per access unit.
    pub(crate) fn samples(&self, parts: &[Bytes]) -> Vec<(i64, Bytes)> {
        match self {
            TrackCodec::H264 { .. } | TrackCodec::H265 { .. } => {
                let mut out = BytesMut::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
                for nal in parts.iter().filter(|n| !n.is_empty()) {
                    out.put_u32(nal.len() as u32);
                    out.put_slice(nal);
                }
                vec![(0, out.freeze())]
            }
            TrackCodec::Av1 { .. } => vec![(0, av1_sample(parts))],
            TrackCodec::Vp9 { .. } => parts
                .first()
                .map(|f| vec![(0, f.clone())])
                .unwrap_or_default(),
            TrackCodec::Opus { .. } => {
                let mut offset = 0i64;
                parts
                    .iter()
                    .map(|p| {
                        let at = offset;
                        offset += i64::from(opus::packet_duration(p).unwrap_or(960));
                        (at, p.clone())
                    })
                    .collect()
            }
            TrackCodec::Mpeg4Audio { samples_per_au, .. } => parts
                .iter()
                .enumerate()
                .map(|(i, au)| (i as i64 * samples_per_au, au.clone()))
                .collect(),
        }
    }
}

/// An AV1 sample: the temporal unit's OBUs without temporal delimiters, each with
/// `obu_has_size_field` set (AV1 ISOBMFF binding 2.4).
fn av1_sample(obus: &[Bytes]) -> Bytes {
    let mut out = BytesMut::with_capacity(obus.iter().map(|o| o.len() + 8).sum());
    for obu in obus {
        let Some(&header) = obu.first() else { continue };
        if av1::obu_type(obu) == Some(av1::OBU_TEMPORAL_DELIMITER) {
            continue;
        }
        if header & 0x02 != 0 {
            out.put_slice(obu);
            continue;
        }
        let header_len = (1 + usize::from(header & 0x04 != 0)).min(obu.len());
        out.put_u8(header | 0x02);
        out.put_slice(&obu[1..header_len]);
        av1::write_leb128(&mut out, (obu.len() - header_len) as u64);
        out.put_slice(&obu[header_len..]);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn av1_samples_get_size_fields_and_lose_temporal_delimiters() {
        let td = Bytes::from_static(&[0x12, 0x00]);
        let frame = Bytes::from_static(&[0x30, 0xaa, 0xbb]); // OBU_FRAME without size
        let sized = Bytes::from_static(&[0x32, 0x01, 0xcc]);
        assert_eq!(
            &av1_sample(&[td, frame, sized])[..],
            &[0x32, 0x02, 0xaa, 0xbb, 0x32, 0x01, 0xcc]
        );
    }

    #[test]
    fn audio_units_split_into_samples() {
        let aac = TrackCodec::from_format(&Format::Mpeg4Audio {
            payload_type: 96,
            config: Bytes::from_static(&[0x11, 0x90]),
            size_length: 13,
            index_length: 3,
            index_delta_length: 3,
        })
        .expect("AAC is supported");
        let aus = [Bytes::from_static(&[1]), Bytes::from_static(&[2])];
        let offsets: Vec<i64> = aac.samples(&aus).iter().map(|s| s.0).collect();
        assert_eq!(offsets, vec![0, 1024]);
        assert_eq!(aac.codec_string(), "mp4a.40.2");
        let opus = TrackCodec::Opus { channels: 2 };
        // TOC config 31 (20 ms CELT), code 0: 960 samples each.
        let packets = [
            Bytes::from_static(&[0xf8, 1]),
            Bytes::from_static(&[0xf8, 2]),
        ];
        let offsets: Vec<i64> = opus.samples(&packets).iter().map(|s| s.0).collect();
        assert_eq!(offsets, vec![0, 960]);
        assert!(TrackCodec::from_format(&Format::G722 { payload_type: 9 }).is_none());
    }
}
