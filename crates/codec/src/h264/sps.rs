//! H.264 sequence parameter set (ITU-T H.264 7.3.2.1.1), the fields a server needs:
//! profile, level, picture size and whether frames may be reordered (B-frames).

use crate::bitstream::{BitReader, BitstreamError, remove_emulation_prevention};

/// Why an SPS could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpsError {
    #[error("not an SPS NAL unit")]
    NotSps,
    #[error("SPS truncated or invalid: {0}")]
    Bitstream(#[from] BitstreamError),
    #[error("SPS field {0} out of range")]
    OutOfRange(&'static str),
}

/// Parsed H.264 SPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sps {
    pub profile_idc: u8,
    /// constraint_set0..5 flags and reserved bits, as in the second byte of the SPS.
    pub constraint_flags: u8,
    pub level_idc: u8,
    pub seq_parameter_set_id: u32,
    pub chroma_format_idc: u32,
    pub width: u32,
    pub height: u32,
    pub frame_mbs_only: bool,
    /// VUI `max_num_reorder_frames`, when the stream signals it.
    pub max_num_reorder_frames: Option<u32>,
    /// VUI timing: `num_units_in_tick` and `time_scale`, when the stream signals them.
    pub timing: Option<(u32, u32)>,
}

const PROFILES_WITH_CHROMA_INFO: [u8; 13] =
    [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];

impl Sps {
    /// Parses an SPS NAL unit (starting with its NAL header byte, no start code).
    pub fn parse(nal: &[u8]) -> Result<Sps, SpsError> {
        match nal.first() {
            Some(h) if h & 0x1f == super::NAL_SPS => {}
            _ => return Err(SpsError::NotSps),
        }
        let rbsp = remove_emulation_prevention(&nal[1..]);
        let mut r = BitReader::new(&rbsp);
        let profile_idc = r.read_bits(8)? as u8;
        let constraint_flags = r.read_bits(8)? as u8;
        let level_idc = r.read_bits(8)? as u8;
        let seq_parameter_set_id = r.read_ue()?;
        if seq_parameter_set_id > 31 {
            return Err(SpsError::OutOfRange("seq_parameter_set_id"));
        }
        let mut chroma_format_idc = 1;
        let mut separate_colour_plane = false;
        if PROFILES_WITH_CHROMA_INFO.contains(&profile_idc) {
            chroma_format_idc = r.read_ue()?;
            if chroma_format_idc > 3 {
                return Err(SpsError::OutOfRange("chroma_format_idc"));
            }
            if chroma_format_idc == 3 {
                separate_colour_plane = r.read_bit()?;
            }
            let _bit_depth_luma = r.read_ue()?;
            let _bit_depth_chroma = r.read_ue()?;
            let _qpprime_y_zero_transform_bypass = r.read_bit()?;
            if r.read_bit()? {
                let lists = if chroma_format_idc == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.read_bit()? {
                        skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }
        let _log2_max_frame_num_minus4 = r.read_ue()?;
        match r.read_ue()? {
            0 => {
                let _log2_max_poc_lsb_minus4 = r.read_ue()?;
            }
            1 => {
                let _delta_pic_order_always_zero = r.read_bit()?;
                let _offset_for_non_ref_pic = r.read_se()?;
                let _offset_for_top_to_bottom_field = r.read_se()?;
                let cycle = r.read_ue()?;
                if cycle > 255 {
                    return Err(SpsError::OutOfRange(
                        "num_ref_frames_in_pic_order_cnt_cycle",
                    ));
                }
                for _ in 0..cycle {
                    r.read_se()?;
                }
            }
            2 => {}
            _ => return Err(SpsError::OutOfRange("pic_order_cnt_type")),
        }
        let _max_num_ref_frames = r.read_ue()?;
        let _gaps_in_frame_num_allowed = r.read_bit()?;
        let width_mbs = u64::from(r.read_ue()?) + 1;
        let height_map_units = u64::from(r.read_ue()?) + 1;
        let frame_mbs_only = r.read_bit()?;
        if !frame_mbs_only {
            let _mb_adaptive_frame_field = r.read_bit()?;
        }
        let _direct_8x8_inference = r.read_bit()?;
        let (mut crop_left, mut crop_right, mut crop_top, mut crop_bottom) = (0, 0, 0, 0);
        if r.read_bit()? {
            crop_left = u64::from(r.read_ue()?);
            crop_right = u64::from(r.read_ue()?);
            crop_top = u64::from(r.read_ue()?);
            crop_bottom = u64::from(r.read_ue()?);
        }
        // A damaged VUI does not make the picture size unusable: MediaMTX-era encoders
        // and test fixtures ship SPSs cut inside the VUI, so its errors only lose the
        // reordering hint.
        let mut vui = Vui::default();
        if r.read_bit()? {
            // Fields read before an error are kept.
            let _ = read_vui(&mut r, &mut vui);
        }

        let chroma_array_type = if separate_colour_plane {
            0
        } else {
            chroma_format_idc
        };
        let field_factor = if frame_mbs_only { 1 } else { 2 };
        let (crop_unit_x, crop_unit_y) = match chroma_array_type {
            0 => (1, field_factor),
            1 => (2, 2 * field_factor),
            2 => (2, field_factor),
            _ => (1, field_factor),
        };
        let full_w = width_mbs * 16;
        let full_h = height_map_units * 16 * field_factor;
        let crop_w = crop_unit_x * (crop_left + crop_right);
        let crop_h = crop_unit_y * (crop_top + crop_bottom);
        if crop_w >= full_w || crop_h >= full_h {
            return Err(SpsError::OutOfRange("frame_crop"));
        }
        let width = u32::try_from(full_w - crop_w).map_err(|_| SpsError::OutOfRange("width"))?;
        let height = u32::try_from(full_h - crop_h).map_err(|_| SpsError::OutOfRange("height"))?;
        Ok(Sps {
            profile_idc,
            constraint_flags,
            level_idc,
            seq_parameter_set_id,
            chroma_format_idc,
            width,
            height,
            frame_mbs_only,
            max_num_reorder_frames: vui.max_num_reorder_frames,
            timing: vui.timing,
        })
    }

    /// Whether frames may arrive in an order other than presentation order.
    /// Baseline-family profiles have no B-slices; otherwise the VUI tells, and
    /// without it the answer is yes.
    pub fn may_have_b_frames(&self) -> bool {
        if self.profile_idc == 66 {
            return false;
        }
        self.max_num_reorder_frames != Some(0)
    }

    /// Frames per second from the VUI timing (`time_scale / (2 * num_units_in_tick)`).
    pub fn frame_rate(&self) -> Option<f64> {
        let (units, scale) = self.timing?;
        (units != 0 && scale != 0).then(|| f64::from(scale) / (2.0 * f64::from(units)))
    }

    /// `profile-level-id` for SDP: profile, constraint flags and level in hex.
    pub fn profile_level_id(&self) -> String {
        format!(
            "{:02x}{:02x}{:02x}",
            self.profile_idc, self.constraint_flags, self.level_idc
        )
    }
}

fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), BitstreamError> {
    let mut last: i32 = 8;
    let mut next: i32 = 8;
    for _ in 0..size {
        if next != 0 {
            let delta = r.read_se()?;
            next = (last + delta).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// What the VUI tells a server.
#[derive(Default)]
struct Vui {
    timing: Option<(u32, u32)>,
    max_num_reorder_frames: Option<u32>,
}

/// Reads the VUI (Annex E.1.1) up to `max_num_reorder_frames`.
fn read_vui(r: &mut BitReader<'_>, vui: &mut Vui) -> Result<(), SpsError> {
    if r.read_bit()? {
        let aspect_ratio_idc = r.read_bits(8)?;
        if aspect_ratio_idc == 255 {
            r.skip(32)?;
        }
    }
    if r.read_bit()? {
        r.skip(1)?; // overscan_appropriate_flag
    }
    if r.read_bit()? {
        r.skip(4)?; // video_format, video_full_range_flag
        if r.read_bit()? {
            r.skip(24)?; // colour primaries, transfer, matrix
        }
    }
    if r.read_bit()? {
        r.read_ue()?;
        r.read_ue()?;
    }
    if r.read_bit()? {
        let num_units_in_tick = r.read_bits(32)?;
        let time_scale = r.read_bits(32)?;
        r.skip(1)?; // fixed_frame_rate_flag
        vui.timing = Some((num_units_in_tick, time_scale));
    }
    let nal_hrd = r.read_bit()?;
    if nal_hrd {
        skip_hrd(r)?;
    }
    let vcl_hrd = r.read_bit()?;
    if vcl_hrd {
        skip_hrd(r)?;
    }
    if nal_hrd || vcl_hrd {
        r.skip(1)?; // low_delay_hrd_flag
    }
    r.skip(1)?; // pic_struct_present_flag
    if !r.read_bit()? {
        return Ok(());
    }
    r.skip(1)?; // motion_vectors_over_pic_boundaries_flag
    for _ in 0..4 {
        r.read_ue()?; // max bytes/bits denominators, log2 max mv lengths
    }
    vui.max_num_reorder_frames = Some(r.read_ue()?);
    Ok(())
}

fn skip_hrd(r: &mut BitReader<'_>) -> Result<(), SpsError> {
    let cpb_cnt = r.read_ue()? + 1;
    if cpb_cnt > 32 {
        return Err(SpsError::OutOfRange("cpb_cnt_minus1"));
    }
    r.skip(8)?;
    for _ in 0..cpb_cnt {
        r.read_ue()?;
        r.read_ue()?;
        r.skip(1)?;
    }
    r.skip(20)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // 1920x1080 constrained baseline, with VUI (from MediaMTX's tests).
    const SPS_1080P_BASELINE: &[u8] = &[
        0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00,
        0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20,
    ];

    // High profile, level 3.2, 1920x1080, cut inside the VUI (from MediaMTX's tests).
    const SPS_HIGH: &[u8] = &[
        0x67, 0x64, 0x00, 0x20, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0x9a, 0x80, 0x80, 0x80,
        0xa0,
    ];

    #[test]
    fn parses_high_profile() {
        let sps = Sps::parse(SPS_HIGH).expect("valid SPS");
        assert_eq!(sps.profile_idc, 100);
        assert_eq!(sps.level_idc, 32);
        assert_eq!((sps.width, sps.height), (1920, 1080));
        assert_eq!(sps.profile_level_id(), "640020");
        assert!(sps.may_have_b_frames());
    }

    #[test]
    fn parses_baseline_without_b_frames() {
        let sps = Sps::parse(SPS_1080P_BASELINE).expect("valid SPS");
        assert_eq!(sps.profile_idc, 66);
        assert_eq!(sps.level_idc, 40);
        assert_eq!((sps.width, sps.height), (1920, 1080));
        assert!(!sps.may_have_b_frames());
    }

    // x264, High 3.0, 640x360, 25 fps (timing 1/50), captured from an ffmpeg publish.
    const SPS_X264_360P25: &[u8] = &[
        0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03,
        0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x32, 0x0f, 0x16, 0x2d, 0x96,
    ];

    #[test]
    fn frame_rate_comes_from_vui_timing() {
        let sps = Sps::parse(SPS_X264_360P25).expect("valid SPS");
        assert_eq!((sps.width, sps.height), (640, 360));
        assert_eq!(sps.timing, Some((1, 50)));
        assert_eq!(sps.frame_rate(), Some(25.0));
        // Cut inside the VUI: no timing, still a picture size.
        let high = Sps::parse(SPS_HIGH).expect("valid SPS");
        assert_eq!(high.frame_rate(), None);
    }

    #[test]
    fn rejects_non_sps_and_truncated() {
        assert_eq!(Sps::parse(&[0x68, 0xce]), Err(SpsError::NotSps));
        assert_eq!(Sps::parse(&[]), Err(SpsError::NotSps));
        for n in 1..8 {
            assert!(Sps::parse(&SPS_1080P_BASELINE[..n]).is_err(), "prefix {n}");
        }
    }
}
