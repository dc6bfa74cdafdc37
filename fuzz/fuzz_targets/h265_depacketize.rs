//! H265 (RFC 7798) depacketizer, fed RTP packets cut from the input (see `depacketize_chunks`).
#![no_main]

use ferromtx_codec::Format;
use ferromtx_fuzz::depacketize_chunks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let format = Format::H265 {
        payload_type: 96,
        vps: None,
        sps: None,
        pps: None,
    };
    depacketize_chunks(&format, data);
});
