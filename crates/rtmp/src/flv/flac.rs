//! FLAC stream information (FLAC format, METADATA_BLOCK_STREAMINFO): what a FLAC sequence
//! start (`fLaC` and the metadata blocks) says about the stream.

use super::{FlvError, invalid, truncated};

const WHAT: &str = "FLAC sequence header";

/// The stream-wide parameters of a FLAC stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamInfo {
    pub sample_rate: u32,
    pub channels: u8,
    pub bits_per_sample: u8,
}

impl StreamInfo {
    /// Reads the STREAMINFO block that must follow `fLaC`.
    pub fn parse(header: &[u8]) -> Result<Self, FlvError> {
        let h = header.get(..4 + 4 + 18).ok_or(truncated(WHAT))?;
        if &h[..4] != b"fLaC" {
            return Err(invalid(WHAT, "no fLaC signature"));
        }
        if h[4] & 0x7f != 0 {
            return Err(invalid(WHAT, "first metadata block is not STREAMINFO"));
        }
        let s = &h[8..];
        let sample_rate =
            (u32::from(s[10]) << 12) | (u32::from(s[11]) << 4) | (u32::from(s[12]) >> 4);
        let channels = ((s[12] >> 1) & 0x07) + 1;
        let bits_per_sample = (((s[12] & 1) << 4) | (s[13] >> 4)) + 1;
        Ok(StreamInfo {
            sample_rate,
            channels,
            bits_per_sample,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn ffmpeg_stream_info() {
        // ffmpeg's flac encoder, 44100 Hz stereo 16-bit.
        let data = hex(
            "664c6143 00 000022 1200 1200 000005 0b0005 0ac442f0000011 3aebdb2936452041767281a82e059dbf7b",
        );
        let info = StreamInfo::parse(&data).expect("parses");
        assert_eq!(
            info,
            StreamInfo {
                sample_rate: 44_100,
                channels: 2,
                bits_per_sample: 16
            }
        );
        assert_eq!(StreamInfo::parse(&data[..10]), Err(truncated(WHAT)));
        let mut other = data.clone();
        other[4] = 0x04;
        assert_eq!(
            StreamInfo::parse(&other),
            Err(invalid(WHAT, "first metadata block is not STREAMINFO"))
        );
    }
}
