//! H.264 / AVC (ITU-T H.264) and its RTP payload format (RFC 6184).

mod rfc6184;
pub mod sps;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

pub use rfc6184::{H264Depacketizer, H264Packetizer};
pub use sps::{Sps, SpsError};

use crate::format::Format;
use crate::frame::Frame;

/// Coded slice of a non-IDR picture.
pub const NAL_NON_IDR: u8 = 1;
/// Coded slice of an IDR picture.
pub const NAL_IDR: u8 = 5;
/// Supplemental enhancement information.
pub const NAL_SEI: u8 = 6;
/// Sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// Picture parameter set.
pub const NAL_PPS: u8 = 8;
/// Access unit delimiter.
pub const NAL_AUD: u8 = 9;
/// RFC 6184 single-time aggregation packet.
pub const NAL_STAP_A: u8 = 24;
/// RFC 6184 fragmentation unit.
pub const NAL_FU_A: u8 = 28;

/// The nal_unit_type of a NAL unit (0 for an empty one).
pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |h| h & 0x1f)
}

/// Whether an access unit can be decoded on its own: it holds an IDR slice.
pub fn is_random_access(parts: &[Bytes]) -> bool {
    parts.iter().any(|n| nal_type(n) == NAL_IDR)
}

/// Copies in-band SPS/PPS of `frame` into an H264 `format`. Returns whether the format
/// changed. Other formats are left alone.
pub fn update_params(format: &mut Format, frame: &Frame) -> bool {
    let Format::H264 { sps, pps, .. } = format else {
        return false;
    };
    let mut changed = false;
    for nal in &frame.parts {
        let slot = match nal_type(nal) {
            NAL_SPS => &mut *sps,
            NAL_PPS => &mut *pps,
            _ => continue,
        };
        if slot.as_ref() != Some(nal) {
            *slot = Some(nal.clone());
            changed = true;
        }
    }
    changed
}

/// A random-access frame with the format's SPS and PPS put in front when it carries none
/// of its own (a decoder joining at this frame needs them in-band; publishers that announce
/// them only in SDP never repeat them). `None`: the frame is fine as it is, or there is
/// nothing to add.
pub fn with_params(format: &Format, frame: &Frame) -> Option<Frame> {
    let Format::H264 {
        sps: Some(sps),
        pps: Some(pps),
        ..
    } = format
    else {
        return None;
    };
    if !frame.random_access || frame.parts.iter().any(|n| nal_type(n) == NAL_SPS) {
        return None;
    }
    Some(prepend(
        frame,
        |n| nal_type(n) == NAL_AUD,
        [sps.clone(), pps.clone()],
    ))
}

/// `frame` with `params` in front, after an access unit delimiter if it starts with one.
pub(crate) fn prepend(
    frame: &Frame,
    is_delimiter: impl Fn(&[u8]) -> bool,
    params: impl IntoIterator<Item = Bytes>,
) -> Frame {
    let skip = usize::from(frame.parts.first().is_some_and(|n| is_delimiter(n)));
    let mut parts: Vec<Bytes> = Vec::with_capacity(frame.parts.len() + 3);
    parts.extend(frame.parts[..skip].iter().cloned());
    parts.extend(params);
    parts.extend(frame.parts[skip..].iter().cloned());
    Frame {
        rtp_timestamp: frame.rtp_timestamp,
        random_access: frame.random_access,
        parts,
    }
}

/// Why an fmtp attribute value could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpropError {
    #[error("invalid base64 in parameter sets")]
    Base64,
}

/// Parses `sprop-parameter-sets` (comma-separated base64 NAL units) into SPS and PPS.
/// Units of other types are ignored; the last of each type wins.
pub fn parse_sprop_parameter_sets(
    value: &str,
) -> Result<(Option<Bytes>, Option<Bytes>), SpropError> {
    let mut sps = None;
    let mut pps = None;
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let nal = Bytes::from(BASE64.decode(item).map_err(|_| SpropError::Base64)?);
        match nal_type(&nal) {
            NAL_SPS => sps = Some(nal),
            NAL_PPS => pps = Some(nal),
            _ => {}
        }
    }
    Ok((sps, pps))
}

/// Formats `sprop-parameter-sets` from the known parameter sets.
pub fn format_sprop_parameter_sets(sps: Option<&[u8]>, pps: Option<&[u8]>) -> Option<String> {
    let items: Vec<String> = [sps, pps]
        .into_iter()
        .flatten()
        .map(|n| BASE64.encode(n))
        .collect();
    (!items.is_empty()).then(|| items.join(","))
}

/// The fmtp value MediaMTX announces for an H264 track.
pub(crate) fn fmtp(packetization_mode: u8, sps: Option<&Bytes>, pps: Option<&Bytes>) -> String {
    let mut params = vec![format!("packetization-mode={packetization_mode}")];
    if let Some(sprop) = format_sprop_parameter_sets(sps.map(|b| &b[..]), pps.map(|b| &b[..])) {
        params.push(format!("sprop-parameter-sets={sprop}"));
    }
    if let Some(sps) = sps.filter(|s| s.len() >= 4) {
        params.push(format!(
            "profile-level-id={:02X}{:02X}{:02X}",
            sps[1], sps[2], sps[3]
        ));
    }
    params.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sprop_round_trip() {
        let (sps, pps) =
            parse_sprop_parameter_sets("Z0LAKNkAeAIn5YQAAAMABAAAAwDwPGDJIA==,aM4yyA==")
                .expect("valid sprop");
        let sps = sps.expect("sps present");
        let pps = pps.expect("pps present");
        assert_eq!(&sps[..4], &[0x67, 0x42, 0xc0, 0x28]);
        assert_eq!(&pps[..], &[0x68, 0xce, 0x32, 0xc8]);
        assert_eq!(
            format_sprop_parameter_sets(Some(&sps), Some(&pps)).as_deref(),
            Some("Z0LAKNkAeAIn5YQAAAMABAAAAwDwPGDJIA==,aM4yyA==")
        );
        assert_eq!(parse_sprop_parameter_sets("!!!"), Err(SpropError::Base64));
        assert_eq!(format_sprop_parameter_sets(None, None), None);
    }

    #[test]
    fn params_go_in_front_of_keyframes_that_lack_them() {
        let sps = Bytes::from_static(&[0x67, 0x42, 0xc0, 0x1e]);
        let pps = Bytes::from_static(&[0x68, 0xce, 0x3c]);
        let format = Format::H264 {
            payload_type: 96,
            sps: Some(sps.clone()),
            pps: Some(pps.clone()),
            packetization_mode: 1,
        };
        let aud = Bytes::from_static(&[0x09, 0xf0]);
        let idr = Bytes::from_static(&[0x65, 0x88, 0x84]);
        let frame = |parts: Vec<Bytes>, random_access| Frame {
            rtp_timestamp: 90,
            random_access,
            parts,
        };
        let out = with_params(&format, &frame(vec![aud.clone(), idr.clone()], true))
            .expect("params added");
        assert_eq!(out.parts, vec![aud, sps.clone(), pps.clone(), idr.clone()]);
        assert_eq!((out.rtp_timestamp, out.random_access), (90, true));
        let out = with_params(&format, &frame(vec![idr.clone()], true)).expect("added");
        assert_eq!(out.parts, vec![sps.clone(), pps.clone(), idr.clone()]);
        // Already in-band, not a keyframe, or nothing known: unchanged.
        let inband = frame(vec![sps, pps, idr.clone()], true);
        assert_eq!(with_params(&format, &inband), None);
        let p_frame = frame(vec![Bytes::from_static(&[0x41, 0x9a])], false);
        assert_eq!(with_params(&format, &p_frame), None);
        let unknown = Format::H264 {
            payload_type: 96,
            sps: None,
            pps: None,
            packetization_mode: 1,
        };
        assert_eq!(with_params(&unknown, &frame(vec![idr], true)), None);
    }

    #[test]
    fn update_params_takes_in_band_sets() {
        let mut f = Format::H264 {
            payload_type: 96,
            sps: None,
            pps: None,
            packetization_mode: 1,
        };
        let frame = Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![
                Bytes::from_static(&[0x67, 0x42, 0xc0, 0x28]),
                Bytes::from_static(&[0x68, 0xce]),
                Bytes::from_static(&[0x65, 0x88]),
            ],
        };
        assert!(update_params(&mut f, &frame));
        assert!(!update_params(&mut f, &frame));
        let Format::H264 { sps, pps, .. } = &f else {
            panic!("format changed kind")
        };
        assert_eq!(sps.as_deref(), Some(&[0x67, 0x42, 0xc0, 0x28][..]));
        assert_eq!(pps.as_deref(), Some(&[0x68, 0xce][..]));
        assert!(is_random_access(&frame.parts));
        assert!(!is_random_access(&frame.parts[..2]));
    }
}
