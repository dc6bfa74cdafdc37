//! VPCodecConfigurationRecord (VP Codec ISO Media File Format Binding, the MP4 `vpcC`
//! body, version 1 with its full-box version and flags): what a VP8/VP9 sequence start
//! carries.

use bytes::{BufMut, Bytes, BytesMut};

use super::{FlvError, invalid, truncated};

const WHAT: &str = "VP codec configuration record";

/// A VPCodecConfigurationRecord (version 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcConfig {
    pub profile: u8,
    pub level: u8,
    pub bit_depth: u8,
    /// 0: 4:2:0 vertical, 1: 4:2:0 colocated, 2: 4:2:2, 3: 4:4:4.
    pub chroma_subsampling: u8,
    pub full_range: bool,
    pub colour_primaries: u8,
    pub transfer_characteristics: u8,
    pub matrix_coefficients: u8,
    pub codec_initialization_data: Bytes,
}

impl VpcConfig {
    /// What a writer announces when it knows nothing better: 8-bit 4:2:0, BT.709 and
    /// the given profile, level 3.1.
    pub fn with_profile(profile: u8) -> Self {
        VpcConfig {
            profile,
            level: 31,
            bit_depth: 8,
            chroma_subsampling: 1,
            full_range: false,
            colour_primaries: 1,
            transfer_characteristics: 1,
            matrix_coefficients: 1,
            codec_initialization_data: Bytes::new(),
        }
    }

    pub fn parse(data: &Bytes) -> Result<Self, FlvError> {
        let h = data.get(..12).ok_or(truncated(WHAT))?;
        if h[0] != 1 {
            return Err(invalid(WHAT, "version is not 1"));
        }
        let init_len = usize::from(u16::from_be_bytes([h[10], h[11]]));
        let init = data.get(12..12 + init_len).ok_or(truncated(WHAT))?;
        Ok(VpcConfig {
            profile: h[4],
            level: h[5],
            bit_depth: h[6] >> 4,
            chroma_subsampling: (h[6] >> 1) & 0x07,
            full_range: h[6] & 1 != 0,
            colour_primaries: h[7],
            transfer_characteristics: h[8],
            matrix_coefficients: h[9],
            codec_initialization_data: data.slice_ref(init),
        })
    }

    pub fn encode(&self, out: &mut BytesMut) -> Result<(), FlvError> {
        let init_len = u16::try_from(self.codec_initialization_data.len())
            .map_err(|_| invalid(WHAT, "initialization data too long"))?;
        out.put_u32(0x0100_0000);
        out.put_u8(self.profile);
        out.put_u8(self.level);
        out.put_u8(
            (self.bit_depth << 4)
                | ((self.chroma_subsampling & 0x07) << 1)
                | u8::from(self.full_range),
        );
        out.put_u8(self.colour_primaries);
        out.put_u8(self.transfer_characteristics);
        out.put_u8(self.matrix_coefficients);
        out.put_u16(init_len);
        out.put_slice(&self.codec_initialization_data);
        Ok(())
    }

    pub fn to_bytes(&self) -> Result<Bytes, FlvError> {
        let mut out = BytesMut::new();
        self.encode(&mut out)?;
        Ok(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Bytes {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn ffmpeg_record_round_trips() {
        // libvpx-vp9, 64x64 yuv420p, as ffmpeg's MP4 muxer wrote it.
        let data = hex("01000000 00 0a 82 02 02 02 0000");
        let c = VpcConfig::parse(&data).expect("parses");
        assert_eq!((c.profile, c.level, c.bit_depth), (0, 10, 8));
        assert_eq!((c.chroma_subsampling, c.full_range), (1, false));
        assert_eq!(c.to_bytes().expect("encodes"), data);
        let d = VpcConfig::with_profile(2);
        assert_eq!(VpcConfig::parse(&d.to_bytes().expect("ok")).expect("ok"), d);
    }

    #[test]
    fn malformed_records_are_errors() {
        assert_eq!(VpcConfig::parse(&hex("01000000 00")), Err(truncated(WHAT)));
        assert_eq!(
            VpcConfig::parse(&hex("00000000 00 0a 82 02 02 02 0000")),
            Err(invalid(WHAT, "version is not 1"))
        );
        assert_eq!(
            VpcConfig::parse(&hex("01000000 00 0a 82 02 02 02 0002 aa")),
            Err(truncated(WHAT))
        );
    }
}
