//! RFC 7798 packetization, depacketization and robustness.

mod common;

use bytes::Bytes;
use common::{depacketize_all, feed_garbage, filler, packet, round_trip};
use ferromtx_codec::{DepacketizeError, Format, Frame, packetizer};

fn format() -> Format {
    Format::H265 {
        payload_type: 96,
        vps: None,
        sps: None,
        pps: None,
    }
}

/// A NAL unit of `nal_type` (layer 0, TID 1) and `len` bytes.
fn nal(nal_type: u8, len: usize) -> Bytes {
    let mut v = filler(len, nal_type);
    v[0] = nal_type << 1;
    v[1] = 0x01;
    Bytes::from(v)
}

#[test]
fn round_trip_keeps_frames() {
    let frames = vec![
        Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![nal(32, 24), nal(33, 40), nal(34, 8), nal(19, 6000)],
        },
        Frame {
            rtp_timestamp: 3000,
            random_access: false,
            parts: vec![nal(1, 1188), nal(1, 1187), nal(1, 1189), nal(1, 2)],
        },
    ];
    for max in [1188, 1460, 50, 4] {
        assert_eq!(round_trip(&format(), &frames, max), frames, "max {max}");
    }
}

#[test]
fn packetizer_layouts() {
    let mut p = packetizer(&format(), 1188, 1, 0);
    let idr = nal(19, 3000);
    let pkts = p
        .packetize(&Frame {
            rtp_timestamp: 0,
            random_access: true,
            parts: vec![nal(32, 10), nal(33, 10), idr],
        })
        .expect("packetize");
    assert_eq!(pkts.len(), 4);
    // AP header: type 48, TID 1.
    assert_eq!(pkts[0].payload[..2], [0x60, 0x01]);
    assert_eq!(pkts[0].payload[2..4], [0x00, 10]);
    // FU header: type 49 then S/E + type 19.
    assert_eq!(pkts[1].payload[..3], [0x62, 0x01, 0x80 | 19]);
    assert_eq!(pkts[2].payload[2], 19);
    assert_eq!(pkts[3].payload[2], 0x40 | 19);
    assert!(pkts[3].marker && !pkts[2].marker);

    let single = nal(1, 100);
    let pkts = p
        .packetize(&Frame {
            rtp_timestamp: 1,
            random_access: false,
            parts: vec![single.clone()],
        })
        .expect("packetize");
    assert_eq!(pkts[0].payload.as_ptr(), single.as_ptr());
}

#[test]
fn depacketizes_rfc_layouts() {
    let mut ap = vec![0x60, 0x01];
    for n in [
        &[0x40, 0x01, 0x0c][..],
        &[0x42, 0x01, 0x01],
        &[0x44, 0x01, 0xc1],
    ] {
        ap.extend_from_slice(&(n.len() as u16).to_be_bytes());
        ap.extend_from_slice(n);
    }
    let packets = vec![
        packet(1, 0, false, &ap),
        packet(2, 0, false, &[0x62, 0x01, 0x93, 1, 2]),
        packet(3, 0, true, &[0x62, 0x01, 0x53, 3]),
        packet(4, 3000, true, &[0x02, 0x01, 0xd0]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(frames.len(), 2);
    assert!(frames[0].random_access);
    assert_eq!(frames[0].parts.len(), 4);
    assert_eq!(
        frames[0].parts[3],
        Bytes::from_static(&[0x26, 0x01, 1, 2, 3])
    );
    assert!(!frames[1].random_access);
}

#[test]
fn loss_drops_the_partial_frame_and_the_next_frame_decodes() {
    let packets = vec![
        packet(1, 0, false, &[0x62, 0x01, 0x93, 1, 2]),
        packet(3, 0, true, &[0x62, 0x01, 0x53, 3]),
        packet(4, 3000, true, &[0x02, 0x01, 0xd0]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert_eq!(errors, vec![DepacketizeError::PacketsLost { count: 1 }]);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].rtp_timestamp, 3000);
}

#[test]
fn malformed_packets_are_errors() {
    let cases: &[&[u8]] = &[
        &[],
        &[0x02],
        &[0x82, 0x01, 0],             // forbidden bit
        &[0x60, 0x01, 0x00],          // AP size truncated
        &[0x60, 0x01, 0x00, 0x09, 1], // AP unit truncated
        &[0x60, 0x01, 0x00, 0x01, 1], // AP unit shorter than header
        &[0x62, 0x01, 0x93],          // FU without body
        &[0x62, 0x01, 0x13, 1],       // FU continuation without start
        &[0x64, 0x01, 0, 0],          // PACI
        &[0x7e, 0x01, 0],             // reserved 63
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
            &[0x60, 0x01, 0x00, 0x03, 0x40, 0x01, 0x0c],
            &[0x62, 0x01, 0x93, 1, 2],
            &[0x62, 0x01, 0x53, 3],
        ],
        7798,
    );
}
