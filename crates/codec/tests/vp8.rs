//! RFC 7741 (VP8) packetization, depacketization and robustness.

mod common;

use bytes::Bytes;
use common::{depacketize_all, feed_garbage, filler, packet, round_trip};
use ferromtx_codec::vp8::PayloadDescriptor;
use ferromtx_codec::{DepacketizeError, Format, Frame};

fn format() -> Format {
    Format::Vp8 { payload_type: 96 }
}

fn vp8_frame(ts: u32, key: bool, len: usize) -> Frame {
    let mut data = filler(len, 3);
    data[0] = if key { 0x10 } else { 0x11 };
    Frame {
        rtp_timestamp: ts,
        random_access: key,
        parts: vec![Bytes::from(data)],
    }
}

#[test]
fn round_trip_keeps_frames() {
    let frames = vec![
        vp8_frame(0, true, 4000),
        vp8_frame(3000, false, 500),
        vp8_frame(6000, false, 1187),
    ];
    for max in [1188, 2, 100] {
        assert_eq!(round_trip(&format(), &frames, max), frames, "max {max}");
    }
}

#[test]
fn parses_extended_descriptor() {
    // X, S, PID 0; I L T K; 15-bit picture id 0x1234; TL0PICIDX; TID/KEYIDX.
    let d = PayloadDescriptor::parse(&[0x90, 0xf0, 0x92, 0x34, 0x00, 0x00, 0x10]).expect("valid");
    assert!(d.start_of_partition);
    assert_eq!(d.partition_index, 0);
    assert_eq!(d.picture_id, Some(0x1234));
    assert_eq!(d.len, 6);
    // 7-bit picture id.
    let d = PayloadDescriptor::parse(&[0x90, 0x80, 0x05, 0x10]).expect("valid");
    assert_eq!((d.picture_id, d.len), (Some(5), 3));
    assert!(PayloadDescriptor::parse(&[0x90, 0x80, 0x85]).is_err());
    assert!(PayloadDescriptor::parse(&[0x10]).is_err());
}

#[test]
fn depacketizes_rfc_layout_and_detects_key_frames() {
    let packets = vec![
        packet(1, 0, false, &[0x90, 0x80, 0x05, 0x10, 1]),
        packet(2, 0, true, &[0x80, 0x80, 0x05, 2, 3]),
        packet(3, 90, true, &[0x10, 0x11, 4]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].parts, vec![Bytes::from_static(&[0x10, 1, 2, 3])]);
    assert!(frames[0].random_access);
    assert!(!frames[1].random_access);
}

#[test]
fn loss_drops_the_partial_frame_and_the_next_frame_decodes() {
    let packets = vec![
        packet(1, 0, false, &[0x10, 0x10, 1]),
        packet(3, 0, true, &[0x00, 3]),
        packet(4, 90, true, &[0x10, 0x11, 4]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert_eq!(errors, vec![DepacketizeError::PacketsLost { count: 1 }]);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].rtp_timestamp, 90);
}

#[test]
fn malformed_packets_are_errors() {
    for (i, payload) in [&[][..], &[0x10], &[0x90], &[0x00, 1]].iter().enumerate() {
        let (frames, errors) = depacketize_all(&format(), &[packet(i as u16, 0, true, payload)]);
        assert_eq!(errors.len(), 1, "case {i}");
        assert!(frames.is_empty());
    }
}

#[test]
fn prefixes_and_garbage_never_panic() {
    feed_garbage(
        &format(),
        &[
            &[0x90, 0xf0, 0x92, 0x34, 0x00, 0x00, 0x10, 1],
            &[0x00, 1, 2],
        ],
        7741,
    );
}
