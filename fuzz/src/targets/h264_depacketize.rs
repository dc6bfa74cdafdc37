//! H264 (RFC 6184) depacketizer, fed RTP packets cut from the input (see `depacketize_chunks`).

use crate::depacketize_chunks;
use ferromtx_codec::Format;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let format = Format::H264 {
        payload_type: 96,
        sps: None,
        pps: None,
        packetization_mode: 1,
    };
    depacketize_chunks(&format, data);
}
