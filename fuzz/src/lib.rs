//! What the depacketizer fuzz targets share: the input is split into RTP payloads, each chunk
//! pushed to the depacketizer as one packet, and every frame pulled.

use bytes::Bytes;
use ferromtx_codec::rtp::Packet;
use ferromtx_codec::{Format, depacketizer};

/// Chunk layout: `[flags, len, payload...]`; flags bit 0 = marker, bits 1-2 = sequence
/// numbers skipped, bit 3 = new timestamp.
pub fn depacketize_chunks(format: &Format, data: &[u8]) {
    let mut d = depacketizer(format);
    let mut rest = data;
    let mut seq = 0u16;
    let mut ts = 0u32;
    while let [flags, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        seq = seq.wrapping_add(1 + u16::from((flags >> 1) & 0x03));
        if flags & 0x08 != 0 {
            ts = ts.wrapping_add(3000);
        }
        let pkt = Packet {
            marker: flags & 0x01 != 0,
            payload_type: format.payload_type(),
            sequence_number: seq,
            timestamp: ts,
            ssrc: 1,
            csrc: Vec::new(),
            extension: None,
            payload: Bytes::copy_from_slice(payload),
        };
        let _ = d.push(&pkt);
        while let Some(frame) = d.pull() {
            assert!(!frame.parts.is_empty());
        }
    }
}
