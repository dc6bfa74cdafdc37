//! H.264 SPS parsing: any bytes give an SPS or an error.
#![no_main]

use ferromtx_codec::h264::Sps;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sps) = Sps::parse(data) {
        let _ = sps.may_have_b_frames();
        let _ = sps.profile_level_id();
    }
});
