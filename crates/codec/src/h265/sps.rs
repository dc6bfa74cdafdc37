//! H.265 sequence parameter set (ITU-T H.265 7.3.2.2.1), read up to the bit depths: the
//! fields an `hvcC` record, an RFC 6381 codec string and a picture size need.

use crate::bitstream::{BitReader, BitstreamError, remove_emulation_prevention};

/// Why an SPS could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpsError {
    #[error("not an H265 SPS NAL unit")]
    NotSps,
    #[error("H265 SPS truncated or invalid: {0}")]
    Bitstream(#[from] BitstreamError),
    #[error("H265 SPS field {0} out of range")]
    OutOfRange(&'static str),
}

/// Parsed H.265 SPS (general profile/tier/level, chroma format, size, bit depths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sps {
    pub general_profile_space: u8,
    pub general_tier_flag: bool,
    pub general_profile_idc: u8,
    /// general_profile_compatibility_flag[0..32], flag 0 in the most significant bit.
    pub general_profile_compatibility_flags: u32,
    /// The 48 bits after the compatibility flags (progressive_source_flag onwards).
    pub general_constraint_indicator_flags: [u8; 6],
    pub general_level_idc: u8,
    pub chroma_format_idc: u32,
    pub width: u32,
    pub height: u32,
    pub bit_depth_luma: u32,
    pub bit_depth_chroma: u32,
}

/// Largest picture dimension accepted (H.265 level 6.2 allows 8192 x 4320 and more; this is
/// only a guard against nonsense).
const MAX_DIMENSION: u32 = 16_888;

impl Sps {
    /// Parses an SPS NAL unit (starting with its 2-byte NAL header, no start code).
    pub fn parse(nal: &[u8]) -> Result<Sps, SpsError> {
        if super::nal_type(nal) != super::NAL_SPS || nal.len() < 2 {
            return Err(SpsError::NotSps);
        }
        let rbsp = remove_emulation_prevention(&nal[2..]);
        let mut r = BitReader::new(&rbsp);
        r.skip(4)?; // sps_video_parameter_set_id
        let max_sub_layers_minus1 = r.read_bits(3)?;
        r.skip(1)?; // sps_temporal_id_nesting_flag

        // profile_tier_level(1, sps_max_sub_layers_minus1), 7.3.3
        let general_profile_space = r.read_bits(2)? as u8;
        let general_tier_flag = r.read_bit()?;
        let general_profile_idc = r.read_bits(5)? as u8;
        let general_profile_compatibility_flags = r.read_bits(32)?;
        let mut general_constraint_indicator_flags = [0u8; 6];
        for b in &mut general_constraint_indicator_flags {
            *b = r.read_bits(8)? as u8;
        }
        let general_level_idc = r.read_bits(8)? as u8;
        let mut sub_layers = Vec::with_capacity(max_sub_layers_minus1 as usize);
        for _ in 0..max_sub_layers_minus1 {
            let profile_present = r.read_bit()?;
            let level_present = r.read_bit()?;
            sub_layers.push((profile_present, level_present));
        }
        if max_sub_layers_minus1 > 0 {
            for _ in max_sub_layers_minus1..8 {
                r.skip(2)?; // reserved_zero_2bits
            }
        }
        for (profile_present, level_present) in sub_layers {
            if profile_present {
                r.skip(88)?;
            }
            if level_present {
                r.skip(8)?;
            }
        }

        let sps_id = r.read_ue()?;
        if sps_id > 15 {
            return Err(SpsError::OutOfRange("sps_seq_parameter_set_id"));
        }
        let chroma_format_idc = r.read_ue()?;
        if chroma_format_idc > 3 {
            return Err(SpsError::OutOfRange("chroma_format_idc"));
        }
        let mut separate_colour_plane = false;
        if chroma_format_idc == 3 {
            separate_colour_plane = r.read_bit()?;
        }
        let pic_width = r.read_ue()?;
        let pic_height = r.read_ue()?;
        if pic_width == 0
            || pic_height == 0
            || pic_width > MAX_DIMENSION
            || pic_height > MAX_DIMENSION
        {
            return Err(SpsError::OutOfRange("pic_width/height_in_luma_samples"));
        }
        let (mut left, mut right, mut top, mut bottom) = (0u64, 0u64, 0u64, 0u64);
        if r.read_bit()? {
            left = u64::from(r.read_ue()?);
            right = u64::from(r.read_ue()?);
            top = u64::from(r.read_ue()?);
            bottom = u64::from(r.read_ue()?);
        }
        let chroma_array_type = if separate_colour_plane {
            0
        } else {
            chroma_format_idc
        };
        let (sub_width, sub_height) = match chroma_array_type {
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        let crop_w = sub_width * (left + right);
        let crop_h = sub_height * (top + bottom);
        if crop_w >= u64::from(pic_width) || crop_h >= u64::from(pic_height) {
            return Err(SpsError::OutOfRange("conformance_window"));
        }
        let bit_depth_luma = r.read_ue()? + 8;
        let bit_depth_chroma = r.read_ue()? + 8;
        if bit_depth_luma > 16 || bit_depth_chroma > 16 {
            return Err(SpsError::OutOfRange("bit_depth"));
        }
        Ok(Sps {
            general_profile_space,
            general_tier_flag,
            general_profile_idc,
            general_profile_compatibility_flags,
            general_constraint_indicator_flags,
            general_level_idc,
            chroma_format_idc,
            width: pic_width - crop_w as u32,
            height: pic_height - crop_h as u32,
            bit_depth_luma,
            bit_depth_chroma,
        })
    }

    /// The RFC 6381 / ISO 14496-15 E.3 codec string, e.g. `hvc1.1.6.L93.b0`.
    pub fn codec_string(&self) -> String {
        let space = match self.general_profile_space {
            1 => "A",
            2 => "B",
            3 => "C",
            _ => "",
        };
        let tier = if self.general_tier_flag { 'H' } else { 'L' };
        // Trailing zero bytes of the constraint flags are left out, at least one stays.
        let flags = &self.general_constraint_indicator_flags;
        let used = flags.iter().rposition(|b| *b != 0).map_or(1, |i| i + 1);
        let constraints: Vec<String> = flags[..used].iter().map(|b| format!("{b:x}")).collect();
        format!(
            "hvc1.{space}{}.{:x}.{tier}{}.{}",
            self.general_profile_idc,
            self.general_profile_compatibility_flags.reverse_bits(),
            self.general_level_idc,
            constraints.join(".")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // x265 Main, level 2.1 (63), 640x360 (coded 640x368 with a conformance window).
    pub(crate) const SPS_MAIN_360P: &[u8] = &[
        0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
        0x03, 0x00, 0x3f, 0xa0, 0x05, 0x02, 0x01, 0x69, 0x65, 0x95, 0x9a, 0x49, 0x32, 0xbc, 0x05,
        0xa0, 0x20, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x03, 0x03, 0x21,
    ];

    #[test]
    fn parses_main_profile() {
        let sps = Sps::parse(SPS_MAIN_360P).expect("valid SPS");
        assert_eq!(sps.general_profile_idc, 1);
        assert_eq!(sps.general_level_idc, 63);
        assert_eq!(sps.chroma_format_idc, 1);
        assert_eq!((sps.width, sps.height), (640, 360));
        assert_eq!((sps.bit_depth_luma, sps.bit_depth_chroma), (8, 8));
        assert_eq!(sps.codec_string(), "hvc1.1.6.L63.90");
    }

    #[test]
    fn rejects_other_nal_units_and_truncation() {
        assert_eq!(Sps::parse(&[0x40, 0x01, 0x0c]), Err(SpsError::NotSps));
        assert_eq!(Sps::parse(&[]), Err(SpsError::NotSps));
        for n in 2..20 {
            assert!(Sps::parse(&SPS_MAIN_360P[..n]).is_err(), "prefix {n}");
        }
    }
}
