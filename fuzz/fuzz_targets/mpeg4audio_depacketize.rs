//! MPEG-4 Audio (RFC 3640) depacketizer, fed RTP packets cut from the input (see `depacketize_chunks`).
#![no_main]

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_fuzz::depacketize_chunks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let format = Format::Mpeg4Audio {
        payload_type: 96,
        config: Bytes::from_static(&[0x11, 0x90]),
        size_length: 13,
        index_length: 3,
        index_delta_length: 3,
    };
    depacketize_chunks(&format, data);
});
