//! MPEG-4 Audio (RFC 3640) depacketizer: the input is split into RTP payloads; each chunk is pushed to the
//! depacketizer as one packet, and every frame is pulled.
#![no_main]

use bytes::Bytes;
use ferromtx_codec::rtp::Packet;
use ferromtx_codec::{Format, depacketizer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let format = Format::Mpeg4Audio {
        payload_type: 96,
        config: Bytes::from_static(&[0x11, 0x90]),
        size_length: 13,
        index_length: 3,
        index_delta_length: 3,
    };
    let mut d = depacketizer(&format);
    // Chunk layout: [flags, len, payload...]; flags bit 0 = marker, bits 1-2 = seq skip,
    // bit 3 = new timestamp.
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
            payload_type: 96,
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
});
