//! H265 (RFC 7798) depacketizer, fed RTP packets cut from the input (see `depacketize_chunks`).

use crate::depacketize_chunks;
use ferromtx_codec::Format;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let format = Format::H265 {
        payload_type: 96,
        vps: None,
        sps: None,
        pps: None,
    };
    depacketize_chunks(&format, data);
}
