//! H.264 SPS parsing: any bytes give an SPS or an error.

use ferromtx_codec::h264::Sps;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    if let Ok(sps) = Sps::parse(data) {
        let _ = sps.may_have_b_frames();
        let _ = sps.profile_level_id();
    }
}
