//! The AV1 sequence header OBU (AV1 bitstream specification 5.5): profile, level, tier,
//! maximum frame size and colour configuration, as an `av1C` record, an RFC 6381 codec
//! string and a picture size need them.

use crate::bitstream::{BitReader, BitstreamError};

/// Why a sequence header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SequenceHeaderError {
    #[error("not an AV1 sequence header OBU")]
    NotSequenceHeader,
    #[error("AV1 sequence header truncated or invalid: {0}")]
    Bitstream(#[from] BitstreamError),
    #[error("AV1 sequence header field {0} out of range")]
    OutOfRange(&'static str),
}

/// Parsed AV1 sequence header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceHeader {
    pub seq_profile: u8,
    pub still_picture: bool,
    /// seq_level_idx[0] and seq_tier[0]: the first operating point.
    pub seq_level_idx0: u8,
    pub seq_tier0: bool,
    pub max_frame_width: u32,
    pub max_frame_height: u32,
    pub high_bitdepth: bool,
    pub twelve_bit: bool,
    pub mono_chrome: bool,
    /// (colour_primaries, transfer_characteristics, matrix_coefficients) when signalled.
    pub color_description: Option<(u8, u8, u8)>,
    pub color_range: bool,
    pub subsampling_x: bool,
    pub subsampling_y: bool,
    pub chroma_sample_position: u8,
}

/// `uvlc()` (4.10.3).
fn read_uvlc(r: &mut BitReader<'_>) -> Result<u32, BitstreamError> {
    let mut zeros = 0u32;
    while !r.read_bit()? {
        zeros += 1;
        if zeros >= 32 {
            return Ok(u32::MAX);
        }
    }
    if zeros == 0 {
        return Ok(0);
    }
    let rest = r.read_bits(zeros)?;
    Ok(((1u64 << zeros) - 1 + u64::from(rest)).min(u64::from(u32::MAX)) as u32)
}

impl SequenceHeader {
    /// Parses a whole sequence header OBU (header byte, optional extension byte, optional
    /// LEB128 size, payload).
    pub fn parse(obu: &[u8]) -> Result<SequenceHeader, SequenceHeaderError> {
        let header = *obu.first().ok_or(SequenceHeaderError::NotSequenceHeader)?;
        if super::obu_type(obu) != Some(super::OBU_SEQUENCE_HEADER) {
            return Err(SequenceHeaderError::NotSequenceHeader);
        }
        let mut pos = 1 + usize::from(header & 0x04 != 0);
        if header & 0x02 != 0 {
            let (_, len) = super::read_leb128(obu.get(pos..).unwrap_or_default())
                .ok_or(BitstreamError::EndOfData)?;
            pos += len;
        }
        let payload = obu.get(pos..).ok_or(BitstreamError::EndOfData)?;
        Self::parse_payload(payload)
    }

    fn parse_payload(payload: &[u8]) -> Result<SequenceHeader, SequenceHeaderError> {
        let mut r = BitReader::new(payload);
        let seq_profile = r.read_bits(3)? as u8;
        if seq_profile > 2 {
            return Err(SequenceHeaderError::OutOfRange("seq_profile"));
        }
        let still_picture = r.read_bit()?;
        let reduced = r.read_bit()?;
        let (seq_level_idx0, seq_tier0);
        if reduced {
            seq_level_idx0 = r.read_bits(5)? as u8;
            seq_tier0 = false;
        } else {
            let mut buffer_delay_length = 0;
            let mut decoder_model_info_present = false;
            if r.read_bit()? {
                // timing_info()
                r.skip(64)?; // num_units_in_display_tick, time_scale
                if r.read_bit()? {
                    read_uvlc(&mut r)?; // num_ticks_per_picture_minus_1
                }
                decoder_model_info_present = r.read_bit()?;
                if decoder_model_info_present {
                    buffer_delay_length = r.read_bits(5)? + 1;
                    r.skip(32 + 5 + 5)?;
                }
            }
            let initial_display_delay_present = r.read_bit()?;
            let count = r.read_bits(5)? + 1;
            let mut first = None;
            for _ in 0..count {
                r.skip(12)?; // operating_point_idc
                let level = r.read_bits(5)? as u8;
                let tier = level > 7 && r.read_bit()?;
                if decoder_model_info_present && r.read_bit()? {
                    r.skip(2 * buffer_delay_length as usize + 1)?;
                }
                if initial_display_delay_present && r.read_bit()? {
                    r.skip(4)?;
                }
                first.get_or_insert((level, tier));
            }
            (seq_level_idx0, seq_tier0) = first.unwrap_or_default();
        }
        let width_bits = r.read_bits(4)? + 1;
        let height_bits = r.read_bits(4)? + 1;
        let max_frame_width = r.read_bits(width_bits)? + 1;
        let max_frame_height = r.read_bits(height_bits)? + 1;
        if !reduced && r.read_bit()? {
            r.skip(4 + 3)?; // frame id lengths
        }
        r.skip(3)?; // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
        if !reduced {
            r.skip(4)?; // interintra, masked compound, warped motion, dual filter
            let enable_order_hint = r.read_bit()?;
            if enable_order_hint {
                r.skip(2)?; // enable_jnt_comp, enable_ref_frame_mvs
            }
            let force_screen_content_tools = if r.read_bit()? { 2 } else { r.read_bits(1)? };
            if force_screen_content_tools > 0 && !r.read_bit()? {
                r.skip(1)?; // seq_force_integer_mv
            }
            if enable_order_hint {
                r.skip(3)?; // order_hint_bits_minus_1
            }
        }
        r.skip(3)?; // enable_superres, enable_cdef, enable_restoration

        // color_config() (5.5.2)
        let high_bitdepth = r.read_bit()?;
        let twelve_bit = seq_profile == 2 && high_bitdepth && r.read_bit()?;
        let mono_chrome = seq_profile != 1 && r.read_bit()?;
        let color_description = if r.read_bit()? {
            Some((
                r.read_bits(8)? as u8,
                r.read_bits(8)? as u8,
                r.read_bits(8)? as u8,
            ))
        } else {
            None
        };
        let (color_range, subsampling_x, subsampling_y, chroma_sample_position);
        if mono_chrome {
            color_range = r.read_bit()?;
            (subsampling_x, subsampling_y, chroma_sample_position) = (true, true, 0);
        } else if color_description == Some((1, 13, 0)) {
            // BT.709 primaries, sRGB transfer, identity matrix: 4:4:4 full range.
            color_range = true;
            (subsampling_x, subsampling_y, chroma_sample_position) = (false, false, 0);
        } else {
            color_range = r.read_bit()?;
            (subsampling_x, subsampling_y) = match seq_profile {
                0 => (true, true),
                1 => (false, false),
                _ if twelve_bit => {
                    let x = r.read_bit()?;
                    (x, x && r.read_bit()?)
                }
                _ => (true, false),
            };
            chroma_sample_position = if subsampling_x && subsampling_y {
                r.read_bits(2)? as u8
            } else {
                0
            };
        }
        Ok(SequenceHeader {
            seq_profile,
            still_picture,
            seq_level_idx0,
            seq_tier0,
            max_frame_width,
            max_frame_height,
            high_bitdepth,
            twelve_bit,
            mono_chrome,
            color_description,
            color_range,
            subsampling_x,
            subsampling_y,
            chroma_sample_position,
        })
    }

    /// Bits per sample: 8, 10 or 12.
    pub fn bit_depth(&self) -> u8 {
        match (self.high_bitdepth, self.twelve_bit) {
            (true, true) => 12,
            (true, false) => 10,
            _ => 8,
        }
    }

    /// The codec string of the AV1 ISOBMFF binding (`av01.P.LLT.DD.M.CCC.cp.tc.mc.F`).
    pub fn codec_string(&self) -> String {
        let (cp, tc, mc) = self.color_description.unwrap_or((1, 1, 1));
        format!(
            "av01.{}.{:02}{}.{:02}.{}.{}{}{}.{:02}.{:02}.{:02}.{}",
            self.seq_profile,
            self.seq_level_idx0,
            if self.seq_tier0 { 'H' } else { 'M' },
            self.bit_depth(),
            u8::from(self.mono_chrome),
            u8::from(self.subsampling_x),
            u8::from(self.subsampling_y),
            self.chroma_sample_position,
            cp,
            tc,
            mc,
            u8::from(self.color_range),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // libaom, 640x360 4:2:0 8-bit, main profile, level 1 (idx 1): the sequence header OBU.
    const SEQ_360P: &[u8] = &[
        0x0a, 0x0b, 0x00, 0x00, 0x00, 0x0c, 0xc4, 0xff, 0x67, 0x36, 0xbe, 0x40, 0x10,
    ];

    #[test]
    fn parses_libaom_header() {
        let sh = SequenceHeader::parse(SEQ_360P).expect("valid sequence header");
        assert_eq!(sh.seq_profile, 0);
        assert_eq!((sh.max_frame_width, sh.max_frame_height), (640, 360));
        assert_eq!(sh.bit_depth(), 8);
        assert!(sh.subsampling_x && sh.subsampling_y);
        assert!(!sh.mono_chrome);
        assert_eq!(sh.seq_level_idx0, 1);
        assert_eq!(sh.codec_string(), "av01.0.01M.08.0.110.01.01.01.0");
    }

    #[test]
    fn rejects_other_obus_and_truncation() {
        assert_eq!(
            SequenceHeader::parse(&[0x12, 0x00]),
            Err(SequenceHeaderError::NotSequenceHeader)
        );
        for n in 0..SEQ_360P.len() - 1 {
            assert!(SequenceHeader::parse(&SEQ_360P[..n]).is_err(), "prefix {n}");
        }
    }
}
