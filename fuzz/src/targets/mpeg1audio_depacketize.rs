//! MPEG-1/2 audio (MP3) in RFC 2250 payloads: the input is cut into payloads (`[flags, len,
//! payload...]`; flags bit 0 = new timestamp), each pushed to the depacketizer, whose frames
//! must be whole and bounded, and to the WebRTC transcoder (reassembly, symphonia's MP3
//! decoder, libopus). Every payload is used or dropped; no panic.

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_codec::frame::Frame;
use ferromtx_codec::mpeg1audio::{MAX_FRAME_LEN, Rfc2250Depacketizer};
use ferromtx_transcode::Transcoder;

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let format = Format::from_rtpmap(14, "", None);
    let Ok(mut transcoder) = Transcoder::new(&format) else {
        return;
    };
    let mut depacketizer = Rfc2250Depacketizer::new(90_000);
    let mut out = Vec::new();
    let mut rest = data;
    let mut pts = 0i64;
    while let [flags, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        if flags & 0x01 != 0 {
            pts += 2351;
        }
        let payload = Bytes::copy_from_slice(payload);
        let _ = depacketizer.push(pts, &payload);
        while let Some(f) = depacketizer.pull() {
            assert_eq!(f.data.len(), f.header.length);
            assert!(f.data.len() <= MAX_FRAME_LEN);
        }
        let frame = Frame {
            rtp_timestamp: pts as u32,
            random_access: true,
            parts: vec![payload],
        };
        let _ = transcoder.push(pts, &frame, &mut out);
        out.clear();
    }
}
