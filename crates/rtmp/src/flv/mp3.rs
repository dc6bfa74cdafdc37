//! MPEG-1/2 audio frame headers (ISO/IEC 11172-3 2.4.1.3): sample rate and channels of an
//! MP3 frame, for the legacy FLV audio header.

use super::{FlvError, invalid, truncated};

const WHAT: &str = "MPEG audio frame header";

/// What a frame header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// 1 (MPEG-1), 2 (MPEG-2) or 25 (MPEG-2.5).
    pub version: u8,
    pub layer: u8,
    pub sample_rate: u32,
    pub channels: u8,
}

impl FrameHeader {
    pub fn parse(frame: &[u8]) -> Result<Self, FlvError> {
        let h = frame.get(..4).ok_or(truncated(WHAT))?;
        if h[0] != 0xff || h[1] & 0xe0 != 0xe0 {
            return Err(invalid(WHAT, "no frame sync"));
        }
        let version = match (h[1] >> 3) & 0x03 {
            0 => 25,
            2 => 2,
            3 => 1,
            _ => return Err(invalid(WHAT, "reserved version")),
        };
        let layer = match (h[1] >> 1) & 0x03 {
            1 => 3,
            2 => 2,
            3 => 1,
            _ => return Err(invalid(WHAT, "reserved layer")),
        };
        let base = match (h[2] >> 2) & 0x03 {
            0 => 44_100,
            1 => 48_000,
            2 => 32_000,
            _ => return Err(invalid(WHAT, "reserved sample rate")),
        };
        let sample_rate = match version {
            1 => base,
            2 => base / 2,
            _ => base / 4,
        };
        let channels = if h[3] >> 6 == 3 { 1 } else { 2 };
        Ok(FrameHeader {
            version,
            layer,
            sample_rate,
            channels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        // libmp3lame, 44100 Hz stereo.
        let h = FrameHeader::parse(&[0xff, 0xfb, 0x50, 0x00]).expect("parses");
        assert_eq!(
            (h.version, h.layer, h.sample_rate, h.channels),
            (1, 3, 44_100, 2)
        );
        // MPEG-2 layer 3, 24000 Hz, mono.
        let h = FrameHeader::parse(&[0xff, 0xf3, 0x84, 0xc4]).expect("parses");
        assert_eq!((h.version, h.sample_rate, h.channels), (2, 24_000, 1));
        // MPEG-2.5, 8000 Hz.
        let h = FrameHeader::parse(&[0xff, 0xe3, 0x08, 0x00]).expect("parses");
        assert_eq!((h.version, h.sample_rate), (25, 8_000));
        assert_eq!(FrameHeader::parse(&[0xff]), Err(truncated(WHAT)));
        assert_eq!(
            FrameHeader::parse(&[0x00, 0xfb, 0x90, 0x64]),
            Err(invalid(WHAT, "no frame sync"))
        );
        assert_eq!(
            FrameHeader::parse(&[0xff, 0xfb, 0x9c, 0x64]),
            Err(invalid(WHAT, "reserved sample rate"))
        );
    }
}
