//! MPEG-4 Audio (RFC 3640) depacketizer, fed RTP packets cut from the input (see `depacketize_chunks`).

use crate::depacketize_chunks;
use bytes::Bytes;
use ferromtx_codec::Format;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let format = Format::Mpeg4Audio {
        payload_type: 96,
        config: Bytes::from_static(&[0x11, 0x90]),
        size_length: 13,
        index_length: 3,
        index_delta_length: 3,
    };
    depacketize_chunks(&format, data);
}
