//! AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1, the MP4 `avcC` body): what
//! an AVC sequence header carries.

use bytes::{BufMut, Bytes, BytesMut};

use super::{FlvError, invalid, truncated};

const WHAT: &str = "AVC decoder configuration record";

/// An AVCDecoderConfigurationRecord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    pub profile: u8,
    pub compatibility: u8,
    pub level: u8,
    /// Bytes in each NAL unit length prefix of the frames (1, 2 or 4).
    pub length_size: u8,
    pub sps: Vec<Bytes>,
    pub pps: Vec<Bytes>,
    /// What follows the PPS list (the high-profile chroma/bit depth fields), kept as is.
    pub extension: Bytes,
}

impl AvcConfig {
    /// A record for one SPS and one PPS, profile and level taken from the SPS.
    pub fn from_parameter_sets(sps: Bytes, pps: Bytes) -> Result<Self, FlvError> {
        let (profile, compatibility, level) = match sps.get(1..4) {
            Some(p) => (p[0], p[1], p[2]),
            None => return Err(invalid(WHAT, "SPS shorter than 4 bytes")),
        };
        Ok(AvcConfig {
            profile,
            compatibility,
            level,
            length_size: 4,
            sps: vec![sps],
            pps: vec![pps],
            extension: Bytes::new(),
        })
    }

    pub fn parse(data: &Bytes) -> Result<Self, FlvError> {
        let h = data.get(..6).ok_or(truncated(WHAT))?;
        if h[0] != 1 {
            return Err(invalid(WHAT, "configuration version is not 1"));
        }
        let length_size = (h[4] & 0x03) + 1;
        if length_size == 3 {
            return Err(invalid(WHAT, "NAL unit length size 3"));
        }
        let mut pos = 5;
        let sps_count = usize::from(h[5] & 0x1f);
        pos += 1;
        let sps = read_units(data, &mut pos, sps_count, WHAT)?;
        let pps_count = usize::from(*data.get(pos).ok_or(truncated(WHAT))?);
        pos += 1;
        let pps = read_units(data, &mut pos, pps_count, WHAT)?;
        Ok(AvcConfig {
            profile: h[1],
            compatibility: h[2],
            level: h[3],
            length_size,
            sps,
            pps,
            extension: data.slice(pos..),
        })
    }

    pub fn encode(&self, out: &mut BytesMut) -> Result<(), FlvError> {
        if self.sps.len() > 31 || self.pps.len() > 255 {
            return Err(invalid(WHAT, "too many parameter sets"));
        }
        let length_bits = match self.length_size {
            1 | 2 | 4 => self.length_size - 1,
            _ => return Err(invalid(WHAT, "NAL unit length size not 1, 2 or 4")),
        };
        out.put_u8(1);
        out.put_u8(self.profile);
        out.put_u8(self.compatibility);
        out.put_u8(self.level);
        out.put_u8(0xfc | length_bits);
        out.put_u8(0xe0 | self.sps.len() as u8);
        write_units(out, &self.sps, WHAT)?;
        out.put_u8(self.pps.len() as u8);
        write_units(out, &self.pps, WHAT)?;
        out.put_slice(&self.extension);
        Ok(())
    }

    pub fn to_bytes(&self) -> Result<Bytes, FlvError> {
        let mut out = BytesMut::new();
        self.encode(&mut out)?;
        Ok(out.freeze())
    }
}

/// `count` parameter sets, each with a 16-bit length.
pub(crate) fn read_units(
    data: &Bytes,
    pos: &mut usize,
    count: usize,
    what: &'static str,
) -> Result<Vec<Bytes>, FlvError> {
    let mut units = Vec::new();
    for _ in 0..count {
        let len = data.get(*pos..*pos + 2).ok_or(truncated(what))?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let start = *pos + 2;
        if data.len() < start + len {
            return Err(truncated(what));
        }
        units.push(data.slice(start..start + len));
        *pos = start + len;
    }
    Ok(units)
}

pub(crate) fn write_units(
    out: &mut BytesMut,
    units: &[Bytes],
    what: &'static str,
) -> Result<(), FlvError> {
    for u in units {
        let len = u16::try_from(u.len()).map_err(|_| invalid(what, "parameter set too long"))?;
        out.put_u16(len);
        out.put_slice(u);
    }
    Ok(())
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

    // As ffmpeg's libx264 output puts it in an FLV sequence header (High profile, level
    // 3.0, 4-byte lengths, then the high-profile extension fields).
    const FFMPEG_AVCC: &str =
        "01 64 00 1e ff e1 0019 6764001eacd940a02ff9610000030001000003003c8f162d96
                               01 0006 68ebe3cb22c0 fdf8f800";

    #[test]
    fn parses_an_ffmpeg_record() {
        let data = hex(FFMPEG_AVCC);
        let c = AvcConfig::parse(&data).expect("parses");
        assert_eq!((c.profile, c.compatibility, c.level), (0x64, 0, 0x1e));
        assert_eq!(c.length_size, 4);
        assert_eq!(c.sps.len(), 1);
        assert_eq!(c.sps[0][0], 0x67);
        assert_eq!(&c.pps[0][..], &hex("68ebe3cb22c0")[..]);
        assert_eq!(&c.extension[..], &hex("fdf8f800")[..]);
        assert_eq!(c.to_bytes().expect("encodes"), data);
    }

    #[test]
    fn built_from_parameter_sets_round_trips() {
        let sps = hex("6742c01e d9 00 a0");
        let pps = hex("68ce3c80");
        let c = AvcConfig::from_parameter_sets(sps.clone(), pps.clone()).expect("builds");
        let bytes = c.to_bytes().expect("encodes");
        assert_eq!(&bytes[..6], &hex("01 42 c0 1e ff e1")[..]);
        assert_eq!(AvcConfig::parse(&bytes).expect("parses"), c);
        assert!(AvcConfig::from_parameter_sets(hex("67"), pps).is_err());
    }

    #[test]
    fn malformed_records_are_errors() {
        assert_eq!(AvcConfig::parse(&hex("01 64")), Err(truncated(WHAT)));
        assert_eq!(
            AvcConfig::parse(&hex("00 64 00 1e ff e1")),
            Err(invalid(WHAT, "configuration version is not 1"))
        );
        assert_eq!(
            AvcConfig::parse(&hex("01 64 00 1e ff e1 0010 67")),
            Err(truncated(WHAT))
        );
        assert_eq!(
            AvcConfig::parse(&hex("01 64 00 1e ff e1 0001 67")),
            Err(truncated(WHAT))
        );
        assert_eq!(
            AvcConfig::parse(&hex("01 64 00 1e fe e0 00")),
            Err(invalid(WHAT, "NAL unit length size 3"))
        );
    }
}
