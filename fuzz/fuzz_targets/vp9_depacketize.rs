//! VP9 (RFC 9628) depacketizer, fed RTP packets cut from the input (see `depacketize_chunks`).
#![no_main]

use ferromtx_codec::Format;
use ferromtx_fuzz::depacketize_chunks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let format = Format::Vp9 { payload_type: 96 };
    depacketize_chunks(&format, data);
});
