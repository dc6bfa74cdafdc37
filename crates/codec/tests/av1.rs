//! AV1 RTP payload format packetization, depacketization and robustness.

mod common;

use bytes::{Bytes, BytesMut};
use common::{depacketize_all, feed_garbage, filler, packet, round_trip};
use ferromtx_codec::av1::{leb128_len, read_leb128, write_leb128};
use ferromtx_codec::{DepacketizeError, Format, Frame, packetizer};

fn format() -> Format {
    Format::Av1 { payload_type: 45 }
}

/// An OBU of `obu_type` without size field.
fn obu(obu_type: u8, len: usize) -> Bytes {
    let mut v = filler(len, obu_type);
    v[0] = obu_type << 3;
    Bytes::from(v)
}

#[test]
fn leb128() {
    for v in [0u64, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX)] {
        let mut b = BytesMut::new();
        write_leb128(&mut b, v);
        assert_eq!(b.len(), leb128_len(v));
        assert_eq!(read_leb128(&b), Some((v, b.len())));
    }
    assert_eq!(read_leb128(&[0x80, 0x80]), None);
    assert_eq!(read_leb128(&[0xac, 0x02]), Some((300, 2)));
}

#[test]
fn round_trip_keeps_frames() {
    let frames = vec![
        Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![obu(1, 12), obu(6, 4000)],
        },
        Frame {
            rtp_timestamp: 3000,
            random_access: false,
            parts: vec![obu(6, 300), obu(6, 1186), obu(6, 200)],
        },
        Frame {
            rtp_timestamp: 6000,
            random_access: false,
            parts: vec![obu(6, 20000)],
        },
    ];
    for max in [1188, 3, 200, 129, 130] {
        assert_eq!(round_trip(&format(), &frames, max), frames, "max {max}");
    }
}

#[test]
fn packetizer_sets_aggregation_header() {
    let mut p = packetizer(&format(), 1188, 1, 0);
    let pkts = p
        .packetize(&Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![obu(1, 10), obu(6, 2000)],
        })
        .expect("packetize");
    assert_eq!(pkts.len(), 2);
    // N on the first packet, Y as the frame OBU continues; Z on the second.
    assert_eq!(pkts[0].payload[0], 0x48);
    assert_eq!(pkts[0].payload[1], 10);
    assert_eq!(pkts[1].payload[0], 0x80);
    assert!(pkts[1].marker && !pkts[0].marker);
}

#[test]
fn temporal_delimiters_are_not_sent() {
    let mut p = packetizer(&format(), 1188, 1, 0);
    let pkts = p
        .packetize(&Frame {
            rtp_timestamp: 0,
            random_access: false,
            parts: vec![obu(2, 1), obu(6, 5)],
        })
        .expect("packetize");
    assert_eq!(pkts.len(), 1);
    assert_eq!(pkts[0].payload[..3], [0x00, 0x05, 0x30]);
}

#[test]
fn depacketizes_w_counted_elements() {
    // W=2: first element length-prefixed, the last takes the rest.
    let packets = vec![packet(1, 0, true, &[0x20, 0x02, 0x08, 0xaa, 0x30, 1, 2])];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        frames[0].parts,
        vec![
            Bytes::from_static(&[0x08, 0xaa]),
            Bytes::from_static(&[0x30, 1, 2])
        ]
    );
    assert!(frames[0].random_access);
}

#[test]
fn loss_drops_the_partial_frame_and_the_next_frame_decodes() {
    let packets = vec![
        packet(1, 0, false, &[0x50, 0x03, 0x30, 1, 2]),
        packet(3, 0, true, &[0x90, 0x01, 3]),
        packet(4, 90, true, &[0x10, 0x30, 4]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert_eq!(errors, vec![DepacketizeError::PacketsLost { count: 1 }]);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].rtp_timestamp, 90);
    assert!(!frames[0].random_access);
}

#[test]
fn malformed_packets_are_errors() {
    let cases: &[&[u8]] = &[
        &[],
        &[0x00],
        &[0x00, 0x05, 1],    // element truncated
        &[0x00, 0x80],       // leb128 truncated
        &[0x30, 0x01, 0x30], // W=3 but 2 elements
        &[0x80, 0x01, 0x30], // Z without a previous fragment
    ];
    for (i, payload) in cases.iter().enumerate() {
        let (frames, errors) = depacketize_all(&format(), &[packet(i as u16, 0, true, payload)]);
        assert_eq!(errors.len(), 1, "case {i}");
        assert!(frames.is_empty(), "case {i}");
    }
}

#[test]
fn prefixes_and_garbage_never_panic() {
    feed_garbage(
        &format(),
        &[
            &[0x50, 0x03, 0x30, 1, 2],
            &[0x90, 0x01, 3],
            &[0x20, 0x02, 0x08, 0xaa, 0x30, 1, 2],
        ],
        0xa1,
    );
}
