//! VP9 (RFC 9628) depacketizer, fed RTP packets cut from the input (see `depacketize_chunks`).

use crate::depacketize_chunks;
use ferromtx_codec::Format;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let format = Format::Vp9 { payload_type: 96 };
    depacketize_chunks(&format, data);
}
