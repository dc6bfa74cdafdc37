//! HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1, the MP4 `hvcC` body): what
//! an H265 sequence start carries.

use bytes::{BufMut, Bytes, BytesMut};
use ferromtx_codec::bitstream::{BitReader, BitstreamError, remove_emulation_prevention};
use ferromtx_codec::h265;

use super::avcc::{read_units, write_units};
use super::{FlvError, invalid, truncated};

const WHAT: &str = "HEVC decoder configuration record";
/// Bytes before the array count.
pub const HEADER_LEN: usize = 22;

/// One array of NAL units of a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaluArray {
    pub completeness: bool,
    pub nal_type: u8,
    pub units: Vec<Bytes>,
}

/// An HEVCDecoderConfigurationRecord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HevcConfig {
    /// Profile, tier, level, constraint flags, chroma format, bit depths, frame rate,
    /// temporal layers and NAL unit length size, as on the wire.
    pub header: [u8; HEADER_LEN],
    pub arrays: Vec<NaluArray>,
}

impl HevcConfig {
    /// Bytes in each NAL unit length prefix of the frames.
    pub fn length_size(&self) -> u8 {
        (self.header[21] & 0x03) + 1
    }

    pub fn set_length_size(&mut self, size: u8) {
        self.header[21] = (self.header[21] & 0xfc) | (size.clamp(1, 4) - 1);
    }

    /// The first NAL unit of a type (VPS 32, SPS 33, PPS 34).
    pub fn unit(&self, nal_type: u8) -> Option<&Bytes> {
        self.arrays
            .iter()
            .filter(|a| a.nal_type == nal_type)
            .flat_map(|a| a.units.first())
            .next()
    }

    pub fn vps(&self) -> Option<&Bytes> {
        self.unit(h265::NAL_VPS)
    }

    pub fn sps(&self) -> Option<&Bytes> {
        self.unit(h265::NAL_SPS)
    }

    pub fn pps(&self) -> Option<&Bytes> {
        self.unit(h265::NAL_PPS)
    }

    /// A record for one VPS, SPS and PPS, its header filled from the SPS.
    pub fn from_parameter_sets(vps: Bytes, sps: Bytes, pps: Bytes) -> Result<Self, FlvError> {
        let header = header_from_sps(&sps)
            .map_err(|_| invalid(WHAT, "SPS cannot be parsed for the record header"))?;
        let array = |nal_type, unit| NaluArray {
            completeness: true,
            nal_type,
            units: vec![unit],
        };
        Ok(HevcConfig {
            header,
            arrays: vec![
                array(h265::NAL_VPS, vps),
                array(h265::NAL_SPS, sps),
                array(h265::NAL_PPS, pps),
            ],
        })
    }

    pub fn parse(data: &Bytes) -> Result<Self, FlvError> {
        let h = data.get(..HEADER_LEN + 1).ok_or(truncated(WHAT))?;
        if h[0] != 1 {
            return Err(invalid(WHAT, "configuration version is not 1"));
        }
        if h[21] & 0x03 == 2 {
            return Err(invalid(WHAT, "NAL unit length size 3"));
        }
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&h[..HEADER_LEN]);
        let count = usize::from(h[HEADER_LEN]);
        let mut pos = HEADER_LEN + 1;
        let mut arrays = Vec::new();
        for _ in 0..count {
            let t = data.get(pos..pos + 3).ok_or(truncated(WHAT))?;
            let units_count = usize::from(u16::from_be_bytes([t[1], t[2]]));
            pos += 3;
            arrays.push(NaluArray {
                completeness: t[0] & 0x80 != 0,
                nal_type: t[0] & 0x3f,
                units: read_units(data, &mut pos, units_count, WHAT)?,
            });
        }
        Ok(HevcConfig { header, arrays })
    }

    pub fn encode(&self, out: &mut BytesMut) -> Result<(), FlvError> {
        let count =
            u8::try_from(self.arrays.len()).map_err(|_| invalid(WHAT, "too many arrays"))?;
        out.put_slice(&self.header);
        out.put_u8(count);
        for a in &self.arrays {
            let n = u16::try_from(a.units.len()).map_err(|_| invalid(WHAT, "too many units"))?;
            out.put_u8((u8::from(a.completeness) << 7) | (a.nal_type & 0x3f));
            out.put_u16(n);
            write_units(out, &a.units, WHAT)?;
        }
        Ok(())
    }

    pub fn to_bytes(&self) -> Result<Bytes, FlvError> {
        let mut out = BytesMut::new();
        self.encode(&mut out)?;
        Ok(out.freeze())
    }
}

/// The record header from an SPS (H.265 7.3.2.2): profile_tier_level, chroma format and
/// bit depths; 4-byte NAL unit lengths.
fn header_from_sps(sps: &[u8]) -> Result<[u8; HEADER_LEN], BitstreamError> {
    let rbsp = remove_emulation_prevention(sps.get(2..).ok_or(BitstreamError::EndOfData)?);
    let mut r = BitReader::new(&rbsp);
    r.skip(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.read_bits(3)?;
    let temporal_id_nesting = r.read_bit()?;
    let mut h = [0u8; HEADER_LEN];
    h[0] = 1;
    // general_profile_space, tier, profile_idc; compatibility flags; constraint flags;
    // level: twelve bytes copied as they are.
    for b in &mut h[1..13] {
        *b = r.read_bits(8)? as u8;
    }
    let mut present = Vec::new();
    for _ in 0..max_sub_layers_minus1 {
        present.push((r.read_bit()?, r.read_bit()?));
    }
    if max_sub_layers_minus1 > 0 {
        r.skip(2 * (8 - max_sub_layers_minus1 as usize))?;
    }
    for (profile, level) in present {
        if profile {
            r.skip(88)?;
        }
        if level {
            r.skip(8)?;
        }
    }
    r.read_ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = r.read_ue()?;
    if chroma_format_idc == 3 {
        r.skip(1)?;
    }
    r.read_ue()?; // pic_width_in_luma_samples
    r.read_ue()?; // pic_height_in_luma_samples
    if r.read_bit()? {
        for _ in 0..4 {
            r.read_ue()?;
        }
    }
    let luma = r.read_ue()?;
    let chroma = r.read_ue()?;
    h[13] = 0xf0;
    h[14] = 0x00;
    h[15] = 0xfc;
    h[16] = 0xfc | (chroma_format_idc & 0x03) as u8;
    h[17] = 0xf8 | (luma & 0x07) as u8;
    h[18] = 0xf8 | (chroma & 0x07) as u8;
    h[19] = 0;
    h[20] = 0;
    h[21] = (((max_sub_layers_minus1 + 1) as u8) << 3) | (u8::from(temporal_id_nesting) << 2) | 3;
    Ok(h)
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

    // libx265 (64x64, yuv420p) parameter sets, and the record header ffmpeg's MP4 muxer
    // wrote for them.
    const VPS: &str = "40010c01ffff01600000030090000003000003001e959809";
    const SPS: &str =
        "42010101600000030090000003000003001ea020810596566924caf0168080000003008000000c84";
    const PPS: &str = "4401c172b42240";
    const FFMPEG_HEADER: &str = "01 01 60000000 900000000000 1e f000 fc fd f8 f8 0000 0f";

    #[test]
    fn header_from_sps_matches_ffmpeg() {
        let c = HevcConfig::from_parameter_sets(hex(VPS), hex(SPS), hex(PPS)).expect("builds");
        assert_eq!(&c.header[..], &hex(FFMPEG_HEADER)[..]);
        assert_eq!(c.length_size(), 4);
        assert_eq!(c.vps(), Some(&hex(VPS)));
        assert_eq!(c.sps(), Some(&hex(SPS)));
        assert_eq!(c.pps(), Some(&hex(PPS)));
    }

    #[test]
    fn ffmpeg_record_round_trips() {
        // ffmpeg's record with its three parameter set arrays and a small SEI array.
        let data = hex(&format!(
            "{FFMPEG_HEADER} 04 20 0001 0018 {VPS} 21 0001 0028 {SPS} 22 0001 0007 {PPS}
             27 0001 0003 4e0105"
        ));
        let c = HevcConfig::parse(&data).expect("parses");
        assert_eq!(c.arrays.len(), 4);
        assert!(!c.arrays[0].completeness);
        assert_eq!(c.arrays[3].nal_type, 39);
        assert_eq!(c.sps(), Some(&hex(SPS)));
        assert_eq!(c.to_bytes().expect("encodes"), data);
    }

    #[test]
    fn length_size_is_settable() {
        let mut c = HevcConfig::parse(&hex(&format!("{FFMPEG_HEADER} 00"))).expect("parses");
        c.set_length_size(2);
        assert_eq!(c.length_size(), 2);
        assert_eq!(c.header[21], 0x0d);
    }

    #[test]
    fn malformed_records_are_errors() {
        assert_eq!(HevcConfig::parse(&hex("01 01")), Err(truncated(WHAT)));
        assert_eq!(
            HevcConfig::parse(&hex(&format!("{FFMPEG_HEADER} 01 20 0001 0018 4001"))),
            Err(truncated(WHAT))
        );
        assert_eq!(
            HevcConfig::parse(&hex(&format!("{FFMPEG_HEADER} 02 20 0000"))),
            Err(truncated(WHAT))
        );
        assert!(HevcConfig::from_parameter_sets(hex(VPS), hex("4201"), hex(PPS)).is_err());
    }
}
