//! Keyframe detection on RTP payloads, without decoding: the NAL unit types of H264
//! (RFC 6184) and H265 (RFC 7798) packets.

/// Video codecs whose keyframes are recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyframeCodec {
    H264,
    H265,
}

impl KeyframeCodec {
    /// From an SDP `rtpmap` encoding name.
    pub fn from_encoding(name: &str) -> Option<KeyframeCodec> {
        if name.eq_ignore_ascii_case("H264") {
            Some(KeyframeCodec::H264)
        } else if name.eq_ignore_ascii_case("H265") {
            Some(KeyframeCodec::H265)
        } else {
            None
        }
    }

    /// Whether this payload starts (or is) a keyframe.
    pub fn is_keyframe(self, payload: &[u8]) -> bool {
        match self {
            KeyframeCodec::H264 => h264_idr(payload),
            KeyframeCodec::H265 => h265_irap(payload),
        }
    }
}

const H264_IDR: u8 = 5;
const H264_STAP_A: u8 = 24;
const H264_FU_A: u8 = 28;

/// An H264 IDR slice: a single NAL unit of type 5, a STAP-A holding one, or the first
/// fragment (S bit) of an FU-A of one.
pub fn h264_idr(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else {
        return false;
    };
    match header & 0x1f {
        H264_IDR => true,
        H264_STAP_A => aggregated(&payload[1..], |nal| {
            nal.first().is_some_and(|b| b & 0x1f == H264_IDR)
        }),
        H264_FU_A => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && fu & 0x1f == H264_IDR),
        _ => false,
    }
}

const H265_AP: u8 = 48;
const H265_FU: u8 = 49;

fn h265_type(first: u8) -> u8 {
    (first >> 1) & 0x3f
}

fn h265_is_irap(t: u8) -> bool {
    (16..=21).contains(&t)
}

/// An H265 IRAP picture (BLA, IDR, CRA: types 16 to 21), single, aggregated (AP, without
/// DONL) or the first fragment of an FU.
pub fn h265_irap(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    match h265_type(first) {
        H265_AP => aggregated(payload.get(2..).unwrap_or(&[]), |nal| {
            nal.first().is_some_and(|b| h265_is_irap(h265_type(*b)))
        }),
        H265_FU => payload
            .get(2)
            .is_some_and(|fu| fu & 0x80 != 0 && h265_is_irap(fu & 0x3f)),
        t => h265_is_irap(t),
    }
}

/// Whether any unit of an aggregation (16-bit size, then the unit) matches.
fn aggregated(mut rest: &[u8], matches: impl Fn(&[u8]) -> bool) -> bool {
    while rest.len() >= 2 {
        let size = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let Some(unit) = rest.get(2..2 + size) else {
            return false;
        };
        if matches(unit) {
            return true;
        }
        rest = &rest[2 + size..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_single_nal_units() {
        assert!(h264_idr(&[0x65, 0x88, 0x84]));
        assert!(!h264_idr(&[0x41, 0x9a])); // non-IDR slice
        assert!(!h264_idr(&[0x67, 0x42])); // SPS alone
        assert!(!h264_idr(&[]));
    }

    #[test]
    fn h264_stap_a() {
        // SPS (3 bytes), PPS (2 bytes), IDR (2 bytes).
        let stap = [
            0x78, 0x00, 0x03, 0x67, 0x42, 0x1f, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x65, 0x88,
        ];
        assert!(h264_idr(&stap));
        // SPS and PPS only.
        assert!(!h264_idr(&stap[..11]));
        // A size running past the end is not trusted.
        assert!(!h264_idr(&[0x78, 0x00, 0x09, 0x65]));
    }

    #[test]
    fn h264_fu_a() {
        assert!(h264_idr(&[0x7c, 0x85, 0x88])); // start of an IDR
        assert!(!h264_idr(&[0x7c, 0x05, 0x88])); // middle fragment
        assert!(!h264_idr(&[0x7c, 0x81, 0x9a])); // start of a non-IDR slice
        assert!(!h264_idr(&[0x7c]));
    }

    #[test]
    fn h265_units() {
        // IDR_W_RADL (19): 0x26 0x01.
        assert!(h265_irap(&[0x26, 0x01, 0xaf]));
        // TRAIL_R (1): 0x02 0x01.
        assert!(!h265_irap(&[0x02, 0x01, 0xaf]));
        // FU (49 << 1 = 0x62), start of a CRA (21).
        assert!(h265_irap(&[0x62, 0x01, 0x95, 0x00]));
        assert!(!h265_irap(&[0x62, 0x01, 0x15, 0x00]));
        // AP (48 << 1 = 0x60) with a VPS (32) and an IDR_N_LP (20).
        let ap = [0x60, 0x01, 0x00, 0x02, 0x40, 0x01, 0x00, 0x02, 0x28, 0x01];
        assert!(h265_irap(&ap));
        assert!(!h265_irap(&ap[..6]));
    }

    #[test]
    fn codec_names() {
        assert_eq!(
            KeyframeCodec::from_encoding("h264"),
            Some(KeyframeCodec::H264)
        );
        assert_eq!(
            KeyframeCodec::from_encoding("H265"),
            Some(KeyframeCodec::H265)
        );
        assert_eq!(KeyframeCodec::from_encoding("VP8"), None);
        assert!(KeyframeCodec::H264.is_keyframe(&[0x65]));
    }
}
