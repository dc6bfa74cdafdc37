//! Codec negotiation: which of a stream's tracks a browser can take, how they are
//! offered to str0m, and how a publisher's negotiated codecs map back to [`Format`]s.

use ferromtx_codec::Format;
use str0m::RtcConfig;
use str0m::format::{Codec, CodecConfig, FormatParams, PayloadParams};
use str0m::media::{Frequency, Pt};

/// MediaMTX's message when nothing in the stream can be sent over WebRTC.
pub const NO_SUPPORTED_CODECS: &str = "the stream doesn't contain any supported codec, which are currently AV1, VP9, VP8, H265, H264, Opus, G722, G711, LPCM";

/// Default H264 profile-level-id (Constrained Baseline 3.1) when the SPS is unknown.
const DEFAULT_H264_PROFILE_LEVEL_ID: u32 = 0x42e01f;

/// Why a track is left out of a WebRTC session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackRejection {
    #[error("codec {0} is not supported by WebRTC")]
    Codec(&'static str),
    #[error("WebRTC doesn't support H264 with packetization-mode {0}")]
    H264PacketizationMode(u8),
    #[error("unsupported clock rate: {0}")]
    ClockRate(u32),
    #[error("unsupported channel count: {0}")]
    Channels(u8),
}

/// Whether a browser can take this track as-is.
pub fn check_playable(format: &Format) -> Result<(), TrackRejection> {
    match format {
        Format::H264 {
            packetization_mode, ..
        } => {
            // Mode 0 streams are still sent: single NAL units are valid in mode 1.
            if *packetization_mode > 1 {
                return Err(TrackRejection::H264PacketizationMode(*packetization_mode));
            }
            Ok(())
        }
        Format::H265 { .. } | Format::Av1 { .. } | Format::Vp8 { .. } | Format::Vp9 { .. } => {
            Ok(())
        }
        Format::Opus { channels, .. } => {
            if *channels > 2 {
                return Err(TrackRejection::Channels(*channels));
            }
            Ok(())
        }
        Format::G711 {
            sample_rate,
            channels,
            ..
        } => {
            if *sample_rate != 8000 {
                return Err(TrackRejection::ClockRate(*sample_rate));
            }
            if *channels != 1 {
                return Err(TrackRejection::Channels(*channels));
            }
            Ok(())
        }
        Format::G722 { .. } => Ok(()),
        other => Err(TrackRejection::Codec(other.codec_name())),
    }
}

/// The str0m codec a track is sent as.
pub fn str0m_codec(format: &Format) -> Option<Codec> {
    Some(match format {
        Format::H264 { .. } => Codec::H264,
        Format::H265 { .. } => Codec::H265,
        Format::Av1 { .. } => Codec::Av1,
        Format::Vp8 { .. } => Codec::Vp8,
        Format::Vp9 { .. } => Codec::Vp9,
        Format::Opus { .. } => Codec::Opus,
        Format::G711 { mu_law: true, .. } => Codec::PCMU,
        Format::G711 { mu_law: false, .. } => Codec::PCMA,
        Format::G722 { .. } => Codec::G722,
        _ => return None,
    })
}

/// H264 profile-level-id from the SPS (bytes 1..4), when known.
pub fn h264_profile_level_id(format: &Format) -> Option<u32> {
    match format {
        Format::H264 { sps: Some(sps), .. } if sps.len() >= 4 => {
            Some((u32::from(sps[1]) << 16) | (u32::from(sps[2]) << 8) | u32::from(sps[3]))
        }
        _ => None,
    }
}

/// The H264 profile a `profile-level-id` names (RFC 6184 table 5), as a comparable key:
/// profile_idc plus the profile-iop bits that tell constrained variants apart. Levels are
/// left out: two payload types that differ only in level match the same remote one.
fn h264_profile(profile_level_id: u32) -> (u8, u8) {
    let idc = (profile_level_id >> 16) as u8;
    let iop = (profile_level_id >> 8) as u8;
    const CONSTRAINED_BASELINE: (u8, u8) = (0x42, 0x40);
    match idc {
        0x42 if iop & 0x40 != 0 => CONSTRAINED_BASELINE,
        0x4d if iop & 0x80 != 0 => CONSTRAINED_BASELINE,
        0x58 if iop & 0xc0 == 0xc0 => CONSTRAINED_BASELINE,
        0x58 if iop & 0x80 != 0 => (0x42, 0),
        0x42 | 0x4d | 0x58 => (idc, 0),
        0x64 => (idc, iop & 0x0c),
        _ => (idc, iop & 0x10),
    }
}

/// Configures `config` to offer exactly what the playable `tracks` need.
pub fn configure_egress(mut config: RtcConfig, tracks: &[&Format]) -> RtcConfig {
    config = config.clear_codecs();
    let mut next_pt: u8 = 96;
    let mut alloc = |video: bool| {
        let pt = next_pt;
        next_pt = next_pt.saturating_add(if video { 2 } else { 1 });
        (Pt::from(pt), video.then(|| Pt::from(pt + 1)))
    };
    for format in tracks {
        let codecs = config.codec_config();
        match format {
            Format::H264 { .. } => {
                let ours = h264_profile_level_id(format).unwrap_or(DEFAULT_H264_PROFILE_LEVEL_ID);
                let (pt, rtx) = alloc(true);
                codecs.add_h264(pt, rtx, true, ours);
                // The fallback only when it is another profile: two local payload types
                // of one profile would both claim the same remote one (str0m panics).
                if h264_profile(ours) != h264_profile(DEFAULT_H264_PROFILE_LEVEL_ID) {
                    let (pt, rtx) = alloc(true);
                    codecs.add_h264(pt, rtx, true, DEFAULT_H264_PROFILE_LEVEL_ID);
                }
            }
            Format::H265 { .. } => {
                let (pt, rtx) = alloc(true);
                codecs.add_h265(pt, rtx, 1, 0, 180);
            }
            Format::Vp8 { .. } | Format::Av1 { .. } => {
                let (pt, rtx) = alloc(true);
                let codec = if matches!(format, Format::Vp8 { .. }) {
                    Codec::Vp8
                } else {
                    Codec::Av1
                };
                codecs.add_config(
                    pt,
                    rtx,
                    codec,
                    Frequency::NINETY_KHZ,
                    None,
                    FormatParams::default(),
                );
            }
            Format::Vp9 { .. } => {
                let (pt, rtx) = alloc(true);
                let params = FormatParams {
                    profile_id: Some(0),
                    ..Default::default()
                };
                codecs.add_config(pt, rtx, Codec::Vp9, Frequency::NINETY_KHZ, None, params);
            }
            Format::Opus { .. } => codecs.enable_opus(true, false),
            Format::G711 { mu_law: true, .. } => codecs.enable_pcmu(true, false),
            Format::G711 { mu_law: false, .. } => codecs.enable_pcma(true, false),
            Format::G722 { .. } => codecs.enable_g722(true, false),
            _ => {}
        }
    }
    // No transport-cc (the server does not adapt a viewer's bitrate, and TWCC costs
    // memory per session) and no REMB: announce neither.
    let params: Vec<PayloadParams> = config
        .codec_config()
        .params()
        .iter()
        .cloned()
        .map(|mut p| {
            p.set_fb_transport_cc(false);
            p.set_fb_remb(false);
            p
        })
        .collect();
    *config.codec_config() = CodecConfig::new_from_payload_params(params);
    config
}

/// Picks, among the payload types negotiated for one m-line, the one to send `format` with.
pub fn pick_payload<'a>(
    format: &Format,
    negotiated: impl Iterator<Item = &'a PayloadParams>,
) -> Option<&'a PayloadParams> {
    let codec = str0m_codec(format)?;
    let ours = h264_profile_level_id(format);
    let mut best: Option<(u8, &PayloadParams)> = None;
    for p in negotiated {
        let spec = p.spec();
        if spec.codec != codec {
            continue;
        }
        let score = match (codec, ours, spec.format.profile_level_id) {
            (Codec::H264, _, _) if spec.format.packetization_mode != Some(1) => 0,
            (Codec::H264, Some(ours), Some(theirs)) if ours == theirs => 3,
            (Codec::H264, Some(ours), Some(theirs)) if ours >> 16 == theirs >> 16 => 2,
            _ => 1,
        };
        if score > 0 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, p));
        }
    }
    best.map(|(_, p)| p)
}

/// The encoding names (lower case, e.g. `opus`, `pcmu`) a WHEP offer lists on its audio
/// m-lines: what the browser can play.
pub fn offered_audio_codecs(offer: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for section in offer.split("\nm=").skip(1) {
        if !section.starts_with("audio") {
            continue;
        }
        for line in section.lines() {
            let Some(rtpmap) = line.trim_end().strip_prefix("a=rtpmap:") else {
                continue;
            };
            let Some(name) = rtpmap
                .split_once(' ')
                .and_then(|(_, enc)| enc.split('/').next())
            else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            if !out.contains(&name) && out.len() < 64 {
                out.push(name);
            }
        }
    }
    out
}

/// One payload type a publisher offers on an m-line it sends, as the offer describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedCodec {
    pub pt: u8,
    /// The RTX payload type whose `apt` is `pt`.
    pub rtx: Option<u8>,
    /// The format, from `rtpmap` and `fmtp`.
    pub format: Format,
    /// The `fmtp` parameters (after the payload type), empty if none.
    pub fmtp: String,
}

/// Whether a publisher's codec can be ingested.
fn ingestible(format: &Format) -> bool {
    match format {
        // Packetization-mode 1 only: mode 0 can't carry NAL units larger than a packet.
        Format::H264 {
            packetization_mode, ..
        } => *packetization_mode == 1,
        Format::Opus { channels, .. } => *channels <= 2,
        Format::G711 {
            sample_rate: 8000,
            channels: 1,
            ..
        } => true,
        other => str0m_codec(other).is_some(),
    }
}

/// For each m-line a publisher sends on, the first codec of its preference order that can
/// be ingested. Answering with exactly these leaves the browser no other choice, so the
/// stream's description is what it actually sends.
pub fn ingest_choices(offer: &str) -> Vec<OfferedCodec> {
    let mut out: Vec<OfferedCodec> = Vec::new();
    for section in offer.split("\nm=").skip(1) {
        let mut lines = section.lines().map(str::trim_end);
        let Some(m_line) = lines.next() else {
            continue;
        };
        let mut fields = m_line.split_whitespace();
        if !matches!(fields.next(), Some("audio" | "video")) {
            continue;
        }
        let pts: Vec<u8> = fields.skip(2).filter_map(|p| p.parse().ok()).collect();
        let attrs: Vec<&str> = lines.filter_map(|l| l.strip_prefix("a=")).collect();
        if attrs.iter().any(|a| matches!(*a, "recvonly" | "inactive")) {
            continue;
        }
        let attr_of = |name: &str, pt: u8| {
            let prefix = format!("{name}:{pt} ");
            attrs
                .iter()
                .find_map(|a| a.strip_prefix(prefix.as_str()))
                .map(str::trim)
        };
        let choice = pts.iter().find_map(|&pt| {
            let rtpmap = attr_of("rtpmap", pt).unwrap_or_default();
            let fmtp = attr_of("fmtp", pt).unwrap_or_default();
            let format = Format::from_rtpmap(pt, rtpmap, Some(fmtp));
            if !ingestible(&format) {
                return None;
            }
            let apt = format!("apt={pt}");
            let rtx = pts.iter().copied().find(|&r| {
                attr_of("rtpmap", r).is_some_and(|m| m.to_ascii_lowercase().starts_with("rtx/"))
                    && attr_of("fmtp", r).is_some_and(|f| f.split(';').any(|kv| kv.trim() == apt))
            });
            Some(OfferedCodec {
                pt,
                rtx,
                format,
                fmtp: fmtp.to_owned(),
            })
        });
        if let Some(c) = choice
            && !out.iter().any(|o| o.pt == c.pt)
        {
            out.push(c);
        }
    }
    out
}

/// Codecs a WHIP publisher may send: exactly the chosen ones, with the offer's payload
/// types.
pub fn configure_ingest(mut config: RtcConfig, choices: &[OfferedCodec]) -> RtcConfig {
    config = config.clear_codecs();
    let codecs = config.codec_config();
    for c in choices {
        let Some(codec) = str0m_codec(&c.format) else {
            continue;
        };
        // str0m keeps G722 at its 16 kHz sampling rate (the RTP clock says 8000).
        let clock = if codec == Codec::G722 {
            Frequency::SIXTEEN_KHZ
        } else {
            Frequency::new(c.format.clock_rate()).unwrap_or(Frequency::NINETY_KHZ)
        };
        let channels = match c.format {
            Format::Opus { channels, .. } => Some(channels.max(2)),
            _ => None,
        };
        codecs.add_config(
            c.pt.into(),
            c.rtx.map(Pt::from),
            codec,
            clock,
            channels,
            FormatParams::parse_line(&c.fmtp),
        );
    }
    config
}

/// The [`Format`] a publisher's negotiated payload type describes.
pub fn format_from_params(p: &PayloadParams) -> Option<Format> {
    let pt = *p.pt();
    let spec = p.spec();
    Some(match spec.codec {
        Codec::H264 => Format::H264 {
            payload_type: pt,
            sps: None,
            pps: None,
            packetization_mode: spec.format.packetization_mode.unwrap_or(0),
        },
        Codec::H265 => Format::H265 {
            payload_type: pt,
            vps: None,
            sps: None,
            pps: None,
        },
        Codec::Av1 => Format::Av1 { payload_type: pt },
        Codec::Vp8 => Format::Vp8 { payload_type: pt },
        Codec::Vp9 => Format::Vp9 { payload_type: pt },
        Codec::Opus => Format::Opus {
            payload_type: pt,
            channels: spec.channels.unwrap_or(2),
        },
        Codec::PCMU | Codec::PCMA => Format::G711 {
            payload_type: pt,
            mu_law: spec.codec == Codec::PCMU,
            sample_rate: 8000,
            channels: 1,
        },
        Codec::G722 => Format::G722 { payload_type: pt },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn h264(sps: Option<&'static [u8]>) -> Format {
        Format::H264 {
            payload_type: 96,
            sps: sps.map(Bytes::from_static),
            pps: None,
            packetization_mode: 1,
        }
    }

    #[test]
    fn aac_and_lpcm_are_not_playable() {
        let aac = Format::Mpeg4Audio {
            payload_type: 97,
            config: Bytes::from_static(&[0x12, 0x10]),
            size_length: 13,
            index_length: 3,
            index_delta_length: 3,
        };
        assert_eq!(
            check_playable(&aac),
            Err(TrackRejection::Codec("MPEG-4 Audio"))
        );
        assert!(check_playable(&h264(None)).is_ok());
        let g711_16k = Format::G711 {
            payload_type: 96,
            mu_law: true,
            sample_rate: 16000,
            channels: 1,
        };
        assert_eq!(
            check_playable(&g711_16k),
            Err(TrackRejection::ClockRate(16000))
        );
    }

    #[test]
    fn profile_level_id_from_sps() {
        let f = h264(Some(&[0x67, 0x64, 0x00, 0x1f, 0xac]));
        assert_eq!(h264_profile_level_id(&f), Some(0x64001f));
        assert_eq!(h264_profile_level_id(&h264(Some(&[0x67]))), None);
    }

    #[test]
    fn ingest_takes_the_first_usable_codec_of_each_sending_m_line() {
        let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 35 102 103 96\r\n\
            a=sendonly\r\n\
            a=rtpmap:35 H264/90000\r\n\
            a=fmtp:35 packetization-mode=0;profile-level-id=42e01f\r\n\
            a=rtpmap:102 H264/90000\r\n\
            a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
            a=rtpmap:103 rtx/90000\r\n\
            a=fmtp:103 apt=102\r\n\
            a=rtpmap:96 VP8/90000\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 97 111 0\r\n\
            a=rtpmap:97 L16/48000/2\r\n\
            a=rtpmap:111 opus/48000/2\r\n\
            a=fmtp:111 minptime=10;useinbandfec=1\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\n\
            a=recvonly\r\n\
            a=rtpmap:96 VP8/90000\r\n";
        let choices = ingest_choices(offer);
        let picked: Vec<(u8, Option<u8>, &str)> = choices
            .iter()
            .map(|c| (c.pt, c.rtx, c.format.codec_name()))
            .collect();
        // Mode 0 H264 and L16 are passed over; the receive-only m-line is not a publisher's.
        assert_eq!(picked, [(102, Some(103), "H264"), (111, None, "Opus")]);
        assert_eq!(
            choices[0].fmtp,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
        );
        assert!(
            ingest_choices("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n")
                .is_empty()
        );
    }

    #[test]
    fn h264_profiles_ignore_levels_and_tell_constrained_ones_apart() {
        // Constrained Baseline, whatever the level or the way it is spelled.
        assert_eq!(h264_profile(0x42e01f), h264_profile(0x42c01e));
        assert_eq!(h264_profile(0x42e01f), h264_profile(0x4d8028));
        assert_ne!(h264_profile(0x42e01f), h264_profile(0x42001f));
        assert_ne!(h264_profile(0x4d001f), h264_profile(0x64001f));
        assert_ne!(h264_profile(0x64001f), h264_profile(0x640c1f));
        assert_eq!(h264_profile(0x640028), h264_profile(0x64001f));
        assert_ne!(h264_profile(0xf4001f), h264_profile(0x64001f));
    }

    #[test]
    fn pick_prefers_matching_h264_profile() {
        let mk = |pt: u8, pm: u8, plid: u32| {
            let spec = str0m::format::CodecSpec {
                codec: Codec::H264,
                clock_rate: Frequency::NINETY_KHZ,
                channels: None,
                format: FormatParams {
                    packetization_mode: Some(pm),
                    profile_level_id: Some(plid),
                    ..Default::default()
                },
            };
            PayloadParams::new(pt.into(), None, spec)
        };
        let offered = [
            mk(100, 0, 0x64001f),
            mk(102, 1, 0x42e01f),
            mk(104, 1, 0x640032),
        ];
        let f = h264(Some(&[0x67, 0x64, 0x00, 0x1f]));
        let picked = pick_payload(&f, offered.iter()).map(|p| *p.pt());
        assert_eq!(picked, Some(104));
        let picked = pick_payload(&h264(None), offered.iter()).map(|p| *p.pt());
        assert_eq!(picked, Some(102));
        let vp8 = Format::Vp8 { payload_type: 96 };
        assert!(pick_payload(&vp8, offered.iter()).is_none());
    }
}
