//! RFC 9628 (VP9) packetization, depacketization and robustness.

mod common;

use bytes::Bytes;
use common::{depacketize_all, feed_garbage, filler, packet, round_trip};
use ferromtx_codec::vp9::PayloadDescriptor;
use ferromtx_codec::{DepacketizeError, Format, Frame, packetizer};

fn format() -> Format {
    Format::Vp9 { payload_type: 98 }
}

fn vp9_frame(ts: u32, key: bool, len: usize) -> Frame {
    Frame {
        rtp_timestamp: ts,
        random_access: key,
        parts: vec![Bytes::from(filler(len, 9))],
    }
}

#[test]
fn round_trip_keeps_frames() {
    let frames = vec![
        vp9_frame(0, true, 5000),
        vp9_frame(3000, false, 400),
        vp9_frame(6000, false, 1185),
    ];
    for max in [1188, 4, 333] {
        assert_eq!(round_trip(&format(), &frames, max), frames, "max {max}");
    }
}

#[test]
fn packetizer_descriptor_layout() {
    let mut p = packetizer(&format(), 1188, 1, 0);
    let pkts = p.packetize(&vp9_frame(0, true, 2000)).expect("packetize");
    assert_eq!(pkts[0].payload[..3], [0x88, 0x80, 0x00]);
    assert_eq!(pkts[1].payload[..3], [0x84, 0x80, 0x00]);
    let pkts = p.packetize(&vp9_frame(1, false, 10)).expect("packetize");
    assert_eq!(pkts[0].payload[..3], [0xcc, 0x80, 0x01]);
}

#[test]
fn parses_descriptors() {
    // Flexible mode, P, two reference indices, 7-bit picture id, L.
    let d = PayloadDescriptor::parse(&[0xf8, 0x05, 0x00, 0x03, 0x02, 9]).expect("valid");
    assert!(d.inter_picture_predicted && d.start_of_frame && !d.end_of_frame);
    assert_eq!((d.picture_id, d.len), (Some(5), 5));
    // Non-flexible with L (two bytes) and scalability structure: 1 layer with size, one group.
    let d = PayloadDescriptor::parse(&[
        0xaa, 0x85, 0x00, 0x00, 0x00, 0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x04, 0x01, 9,
    ])
    .expect("valid");
    assert_eq!(d.picture_id, Some(0x500));
    assert_eq!(d.len, 13);
    assert!(PayloadDescriptor::parse(&[0xf8, 0x05, 0x00, 0x03, 0x03, 0x03, 9]).is_err());
    assert!(PayloadDescriptor::parse(&[0x88]).is_err());
}

#[test]
fn depacketizes_and_detects_key_frames() {
    let packets = vec![
        packet(1, 0, false, &[0x08, 1]),
        packet(2, 0, true, &[0x04, 2]),
        packet(3, 90, true, &[0x4c, 3]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert!(errors.is_empty());
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].parts, vec![Bytes::from_static(&[1, 2])]);
    assert!(frames[0].random_access);
    assert!(!frames[1].random_access);
}

#[test]
fn loss_drops_the_partial_frame_and_the_next_frame_decodes() {
    let packets = vec![
        packet(1, 0, false, &[0x08, 1]),
        packet(3, 0, true, &[0x04, 2]),
        packet(4, 90, true, &[0x0c, 3]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert_eq!(errors, vec![DepacketizeError::PacketsLost { count: 1 }]);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].rtp_timestamp, 90);
}

#[test]
fn prefixes_and_garbage_never_panic() {
    feed_garbage(
        &format(),
        &[
            &[
                0xaa, 0x85, 0x00, 0x00, 0x00, 0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x04, 0x01, 9,
            ],
            &[0xf8, 0x05, 0x00, 0x03, 0x02, 9],
        ],
        9628,
    );
}
