//! SDP media attributes (RFC 8866 `a=rtpmap`, `a=fmtp`) to [`Format`] and back.

use crate::format::Format;
use crate::{h264, h265, mpeg4audio};

/// Splits an fmtp value (`key=value; key=value`) into pairs; keys are lower-cased.
pub fn parse_fmtp(fmtp: &str) -> Vec<(String, String)> {
    fmtp.split(';')
        .filter_map(|item| {
            let item = item.trim();
            if item.is_empty() {
                return None;
            }
            let (k, v) = item.split_once('=').unwrap_or((item, ""));
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

fn fmtp_value<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn fmtp_u8(params: &[(String, String)], key: &str) -> Option<u8> {
    fmtp_value(params, key).and_then(|v| v.parse().ok())
}

impl Format {
    /// The format described by an SDP media's `rtpmap` (without the payload type, e.g.
    /// `H264/90000`; empty for static payload types) and `fmtp` (the part after the
    /// payload type). Unknown or unusable descriptions become [`Format::Generic`].
    pub fn from_rtpmap(payload_type: u8, rtpmap: &str, fmtp: Option<&str>) -> Format {
        let params = fmtp.map(parse_fmtp).unwrap_or_default();
        let rtpmap = rtpmap.trim();
        let (encoding, clock_rate, channels) = if rtpmap.is_empty() {
            match payload_type {
                0 => ("pcmu".to_string(), Some(8000), None),
                8 => ("pcma".to_string(), Some(8000), None),
                9 => ("g722".to_string(), Some(8000), None),
                10 => ("l16".to_string(), Some(44100), Some(2)),
                11 => ("l16".to_string(), Some(44100), Some(1)),
                _ => (String::new(), None, None),
            }
        } else {
            let mut it = rtpmap.split('/');
            let encoding = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let clock_rate: Option<u32> = it.next().and_then(|c| c.trim().parse().ok());
            let channels: Option<u8> = it.next().and_then(|c| c.trim().parse().ok());
            (encoding, clock_rate, channels)
        };
        let generic = || Format::Generic {
            payload_type,
            clock_rate: clock_rate.unwrap_or(90_000),
            rtpmap: (!rtpmap.is_empty()).then(|| rtpmap.to_string()),
            fmtp: fmtp.map(|f| f.trim().to_string()).filter(|f| !f.is_empty()),
        };
        match (encoding.as_str(), clock_rate) {
            ("h264", Some(90_000)) => {
                let (sps, pps) = fmtp_value(&params, "sprop-parameter-sets")
                    .and_then(|v| h264::parse_sprop_parameter_sets(v).ok())
                    .unwrap_or((None, None));
                Format::H264 {
                    payload_type,
                    sps,
                    pps,
                    packetization_mode: fmtp_u8(&params, "packetization-mode").unwrap_or(0),
                }
            }
            ("h265", Some(90_000)) => Format::H265 {
                payload_type,
                vps: fmtp_value(&params, "sprop-vps").and_then(h265::parse_sprop),
                sps: fmtp_value(&params, "sprop-sps").and_then(h265::parse_sprop),
                pps: fmtp_value(&params, "sprop-pps").and_then(h265::parse_sprop),
            },
            ("av1", Some(90_000)) => Format::Av1 { payload_type },
            ("vp8", Some(90_000)) => Format::Vp8 { payload_type },
            ("vp9", Some(90_000)) => Format::Vp9 { payload_type },
            ("opus", Some(48_000)) => Format::Opus {
                payload_type,
                channels: match fmtp_value(&params, "sprop-stereo") {
                    Some("0") => 1,
                    _ => 2,
                },
            },
            ("pcmu" | "pcma", Some(rate)) if rate > 0 => Format::G711 {
                payload_type,
                mu_law: encoding == "pcmu",
                sample_rate: rate,
                channels: channels.unwrap_or(1).max(1),
            },
            ("g722", Some(8000)) => Format::G722 { payload_type },
            ("l8" | "l16" | "l24", Some(rate)) if rate > 0 => Format::Lpcm {
                payload_type,
                bit_depth: match encoding.as_str() {
                    "l8" => 8,
                    "l16" => 16,
                    _ => 24,
                },
                sample_rate: rate,
                channels: channels.unwrap_or(1).max(1),
            },
            ("mpeg4-generic", Some(_)) => {
                let aac_hbr =
                    fmtp_value(&params, "mode").is_some_and(|m| m.eq_ignore_ascii_case("aac-hbr"));
                let config = fmtp_value(&params, "config")
                    .and_then(|c| mpeg4audio::parse_config_hex(c).ok())
                    .filter(|c| mpeg4audio::AudioSpecificConfig::parse(c).is_ok());
                match config {
                    Some(config) if aac_hbr => Format::Mpeg4Audio {
                        payload_type,
                        config,
                        size_length: fmtp_u8(&params, "sizelength").unwrap_or(13),
                        index_length: fmtp_u8(&params, "indexlength").unwrap_or(3),
                        index_delta_length: fmtp_u8(&params, "indexdeltalength").unwrap_or(3),
                    },
                    _ => generic(),
                }
            }
            _ => generic(),
        }
    }

    /// The `rtpmap` value (without payload type) to announce, e.g. `H264/90000`.
    pub fn rtpmap(&self) -> Option<String> {
        let channels_suffix = |c: u8| {
            if c > 1 {
                format!("/{c}")
            } else {
                String::new()
            }
        };
        Some(match self {
            Format::H264 { .. } => "H264/90000".to_string(),
            Format::H265 { .. } => "H265/90000".to_string(),
            Format::Av1 { .. } => "AV1/90000".to_string(),
            Format::Vp8 { .. } => "VP8/90000".to_string(),
            Format::Vp9 { .. } => "VP9/90000".to_string(),
            // RFC 7587 6.1: always two channels in rtpmap.
            Format::Opus { .. } => "opus/48000/2".to_string(),
            Format::Mpeg4Audio { config, .. } => {
                let channels = mpeg4audio::AudioSpecificConfig::parse(config)
                    .map(|c| c.channel_count)
                    .unwrap_or(2);
                format!("mpeg4-generic/{}/{channels}", self.clock_rate())
            }
            Format::G711 {
                mu_law,
                sample_rate,
                channels,
                ..
            } => format!(
                "{}/{sample_rate}{}",
                if *mu_law { "PCMU" } else { "PCMA" },
                channels_suffix(*channels)
            ),
            Format::G722 { .. } => "G722/8000".to_string(),
            Format::Lpcm {
                bit_depth,
                sample_rate,
                channels,
                ..
            } => format!("L{bit_depth}/{sample_rate}{}", channels_suffix(*channels)),
            Format::Generic { rtpmap, .. } => return rtpmap.clone(),
        })
    }

    /// The `fmtp` value (without payload type) to announce, if the format has one.
    pub fn fmtp(&self) -> Option<String> {
        match self {
            Format::H264 {
                sps,
                pps,
                packetization_mode,
                ..
            } => Some(h264::fmtp(*packetization_mode, sps.as_ref(), pps.as_ref())),
            Format::H265 { vps, sps, pps, .. } => {
                h265::fmtp(vps.as_ref(), sps.as_ref(), pps.as_ref())
            }
            Format::Opus { channels, .. } => Some(format!(
                "sprop-stereo={}",
                if *channels >= 2 { 1 } else { 0 }
            )),
            Format::Mpeg4Audio {
                config,
                size_length,
                index_length,
                index_delta_length,
                ..
            } => Some(format!(
                "streamtype=5; profile-level-id=1; mode=AAC-hbr; sizelength={size_length}; \
                 indexlength={index_length}; indexdeltalength={index_delta_length}; config={}",
                mpeg4audio::format_config_hex(config)
            )),
            Format::Generic { fmtp, .. } => fmtp.clone(),
            Format::Av1 { .. }
            | Format::Vp8 { .. }
            | Format::Vp9 { .. }
            | Format::G711 { .. }
            | Format::G722 { .. }
            | Format::Lpcm { .. } => None,
        }
    }
}
