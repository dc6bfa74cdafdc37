//! H.265 / HEVC (ITU-T H.265) and its RTP payload format (RFC 7798).

mod rfc7798;
pub mod sps;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

pub use rfc7798::{H265Depacketizer, H265Packetizer};
pub use sps::{Sps, SpsError};

use crate::format::Format;
use crate::frame::Frame;

/// Video parameter set.
pub const NAL_VPS: u8 = 32;
/// Sequence parameter set.
pub const NAL_SPS: u8 = 33;
/// Picture parameter set.
pub const NAL_PPS: u8 = 34;
/// Access unit delimiter.
pub const NAL_AUD: u8 = 35;
/// RFC 7798 aggregation packet.
pub const NAL_AP: u8 = 48;
/// RFC 7798 fragmentation unit.
pub const NAL_FU: u8 = 49;
/// RFC 7798 PACI packet.
pub const NAL_PACI: u8 = 50;

/// The nal_unit_type of a NAL unit (0 for an empty one).
pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |h| (h >> 1) & 0x3f)
}

/// Whether a NAL unit type is an IRAP picture (BLA, IDR, CRA: 16..=23).
pub fn is_irap(nal_type: u8) -> bool {
    (16..=23).contains(&nal_type)
}

/// Whether an access unit can be decoded on its own: it holds an IRAP slice.
pub fn is_random_access(parts: &[Bytes]) -> bool {
    parts.iter().any(|n| is_irap(nal_type(n)))
}

/// Copies in-band VPS/SPS/PPS of `frame` into an H265 `format`. Returns whether the
/// format changed. Other formats are left alone.
pub fn update_params(format: &mut Format, frame: &Frame) -> bool {
    let Format::H265 { vps, sps, pps, .. } = format else {
        return false;
    };
    let mut changed = false;
    for nal in &frame.parts {
        let slot = match nal_type(nal) {
            NAL_VPS => &mut *vps,
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

/// A random-access frame with the format's VPS, SPS and PPS put in front when it carries
/// no SPS of its own (see [`crate::h264::with_params`]). `None`: nothing to change.
pub fn with_params(format: &Format, frame: &Frame) -> Option<Frame> {
    let Format::H265 {
        vps: Some(vps),
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
    Some(crate::h264::prepend(
        frame,
        |n| nal_type(n) == NAL_AUD,
        [vps.clone(), sps.clone(), pps.clone()],
    ))
}

/// Decodes one `sprop-vps` / `sprop-sps` / `sprop-pps` value (base64; with a list, the
/// first unit).
pub fn parse_sprop(value: &str) -> Option<Bytes> {
    let first = value.split(',').next()?.trim();
    BASE64
        .decode(first)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Bytes::from)
}

/// The fmtp value announced for an H265 track.
pub(crate) fn fmtp(
    vps: Option<&Bytes>,
    sps: Option<&Bytes>,
    pps: Option<&Bytes>,
) -> Option<String> {
    let params: Vec<String> = [("sprop-vps", vps), ("sprop-sps", sps), ("sprop-pps", pps)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", BASE64.encode(v))))
        .collect();
    (!params.is_empty()).then(|| params.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nal_types_and_irap() {
        assert_eq!(nal_type(&[0x40, 0x01]), NAL_VPS);
        assert_eq!(nal_type(&[0x42, 0x01]), NAL_SPS);
        assert_eq!(nal_type(&[0x44, 0x01]), NAL_PPS);
        assert_eq!(nal_type(&[0x26, 0x01]), 19); // IDR_W_RADL
        assert!(is_random_access(&[Bytes::from_static(&[0x26, 0x01, 0xaf])]));
        assert!(is_random_access(&[Bytes::from_static(&[0x2a, 0x01, 0xaf])])); // CRA
        assert!(!is_random_access(&[Bytes::from_static(&[
            0x02, 0x01, 0xd0
        ])])); // TRAIL_R
    }

    #[test]
    fn params_go_in_front_of_irap_frames_that_lack_them() {
        let (vps, sps, pps) = (
            Bytes::from_static(&[0x40, 0x01, 0x0c]),
            Bytes::from_static(&[0x42, 0x01, 0x01]),
            Bytes::from_static(&[0x44, 0x01, 0xc1]),
        );
        let format = Format::H265 {
            payload_type: 96,
            vps: Some(vps.clone()),
            sps: Some(sps.clone()),
            pps: Some(pps.clone()),
        };
        let aud = Bytes::from_static(&[0x46, 0x01, 0x10]);
        let idr = Bytes::from_static(&[0x26, 0x01, 0xaf]);
        let frame = Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![aud.clone(), idr.clone()],
        };
        let out = with_params(&format, &frame).expect("params added");
        assert_eq!(out.parts, vec![aud, vps, sps, pps, idr]);
        assert_eq!(with_params(&format, &out), None);
    }

    #[test]
    fn params_update_and_sprop() {
        let mut f = Format::H265 {
            payload_type: 96,
            vps: None,
            sps: None,
            pps: None,
        };
        let frame = Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![
                Bytes::from_static(&[0x40, 0x01, 0x0c]),
                Bytes::from_static(&[0x42, 0x01, 0x01]),
                Bytes::from_static(&[0x44, 0x01, 0xc1]),
                Bytes::from_static(&[0x26, 0x01, 0xaf]),
            ],
        };
        assert!(update_params(&mut f, &frame));
        assert!(!update_params(&mut f, &frame));
        let Format::H265 { vps, sps, pps, .. } = &f else {
            panic!("format changed kind")
        };
        let fmtp = fmtp(vps.as_ref(), sps.as_ref(), pps.as_ref()).expect("fmtp");
        assert_eq!(fmtp, "sprop-vps=QAEM; sprop-sps=QgEB; sprop-pps=RAHB");
        assert_eq!(
            parse_sprop("QAEM").as_deref(),
            Some(&[0x40, 0x01, 0x0c][..])
        );
        assert_eq!(parse_sprop("%%"), None);
    }
}
