//! VP8 (RFC 7741) depacketizer, fed RTP packets cut from the input (see `depacketize_chunks`).

use crate::depacketize_chunks;
use ferromtx_codec::Format;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let format = Format::Vp8 { payload_type: 96 };
    depacketize_chunks(&format, data);
}
