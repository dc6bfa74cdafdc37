//! The WebRTC audio transcoder (AAC-LC to Opus): the input's first two bytes pick the
//! AudioSpecificConfig's rate and channels, the rest is cut into access units at `0xA5`
//! bytes and pushed with growing timestamps. Every unit is decoded or dropped; no panic.

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_codec::frame::Frame;
use ferromtx_transcode::Transcoder;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let (Some(&rate), Some(&channels)) = (data.first(), data.get(1)) else {
        return;
    };
    // AAC-LC, sampling frequency index 0..=11, 1 or 2 channels.
    let index = rate % 12;
    let config = [
        0x10 | (index >> 1),
        ((index & 1) << 7) | ((channels % 2 + 1) << 3),
    ];
    let format = Format::Mpeg4Audio {
        payload_type: 96,
        config: Bytes::copy_from_slice(&config),
        size_length: 13,
        index_length: 3,
        index_delta_length: 3,
    };
    let Ok(mut transcoder) = Transcoder::new(&format) else {
        return;
    };
    let mut out = Vec::new();
    for (i, unit) in data[2..].split(|b| *b == 0xa5).enumerate() {
        let frame = Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![Bytes::copy_from_slice(unit)],
        };
        let _ = transcoder.push(i as i64 * 1024, &frame, &mut out);
        out.clear();
    }
}
