//! RFC 6184 packetization, depacketization and robustness.

mod common;

use bytes::Bytes;
use common::{depacketize_all, feed_garbage, filler, packet, round_trip};
use ferromtx_codec::{DepacketizeError, Format, Frame, packetizer};

fn format() -> Format {
    Format::H264 {
        payload_type: 96,
        sps: None,
        pps: None,
        packetization_mode: 1,
    }
}

const SPS: &[u8] = &[
    0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04,
    0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20,
];
const PPS: &[u8] = &[0x68, 0xce, 0x32, 0xc8];

fn nal(header: u8, len: usize) -> Bytes {
    let mut v = filler(len, header);
    v[0] = header;
    Bytes::from(v)
}

#[test]
fn round_trip_keeps_frames() {
    let frames = vec![
        Frame {
            rtp_timestamp: 1000,
            random_access: true,
            parts: vec![
                Bytes::from_static(SPS),
                Bytes::from_static(PPS),
                nal(0x65, 5000),
            ],
        },
        Frame {
            rtp_timestamp: 4600,
            random_access: false,
            parts: vec![nal(0x41, 300)],
        },
        Frame {
            rtp_timestamp: 8200,
            random_access: false,
            parts: vec![
                nal(0x06, 20),
                nal(0x41, 1188),
                nal(0x41, 1187),
                nal(0x41, 1189),
            ],
        },
    ];
    for max in [1188, 1460, 100, 3] {
        assert_eq!(round_trip(&format(), &frames, max), frames, "max {max}");
    }
}

#[test]
fn packetizer_uses_single_stap_a_and_fu_a() {
    let mut p = packetizer(&format(), 1188, 7, 0xffff);
    let idr = nal(0x65, 3000);
    let frame = Frame {
        rtp_timestamp: 90,
        random_access: true,
        parts: vec![
            Bytes::from_static(SPS),
            Bytes::from_static(PPS),
            idr.clone(),
        ],
    };
    let pkts = p.packetize(&frame).expect("packetize");
    // STAP-A with SPS and PPS, then 3 FU-A.
    assert_eq!(pkts.len(), 4);
    assert_eq!(pkts[0].payload[0] & 0x1f, 24);
    assert_eq!(
        &pkts[0].payload[1..3],
        &(SPS.len() as u16).to_be_bytes()[..]
    );
    assert_eq!(pkts[1].payload[..2], [0x7c, 0x85]);
    assert_eq!(pkts[2].payload[..2], [0x7c, 0x05]);
    assert_eq!(pkts[3].payload[..2], [0x7c, 0x45]);
    assert_eq!(
        pkts.iter().map(|p| p.sequence_number).collect::<Vec<_>>(),
        vec![0xffff, 0, 1, 2]
    );
    assert_eq!(
        pkts.iter().map(|p| p.marker).collect::<Vec<_>>(),
        vec![false, false, false, true]
    );

    // A NAL unit that fits goes out as a slice of the frame, not a copy.
    let small = nal(0x41, 500);
    let pkts = p
        .packetize(&Frame {
            rtp_timestamp: 180,
            random_access: false,
            parts: vec![small.clone()],
        })
        .expect("packetize");
    assert_eq!(pkts.len(), 1);
    assert_eq!(pkts[0].payload.as_ptr(), small.as_ptr());
    assert!(pkts[0].marker);
    assert_eq!(pkts[0].sequence_number, 3);
}

#[test]
fn packetizer_rejects_empty_frames_and_tiny_payloads() {
    let mut p = packetizer(&format(), 1188, 7, 0);
    let empty = Frame {
        rtp_timestamp: 0,
        random_access: false,
        parts: vec![Bytes::new()],
    };
    assert!(p.packetize(&empty).is_err());
    let mut p = packetizer(&format(), 2, 7, 0);
    let f = Frame {
        rtp_timestamp: 0,
        random_access: false,
        parts: vec![nal(0x41, 10)],
    };
    assert!(p.packetize(&f).is_err());
}

#[test]
fn depacketizes_rfc_layouts() {
    // STAP-A (RFC 6184 5.7.1) with SPS and PPS, then an IDR as a single NAL unit packet.
    let mut stap = vec![0x18];
    for unit in [SPS, PPS] {
        stap.extend_from_slice(&(unit.len() as u16).to_be_bytes());
        stap.extend_from_slice(unit);
    }
    // FU-A (5.8): indicator NRI=3 type 28, FU header S/E + type 5.
    let packets = vec![
        packet(10, 3000, false, &stap),
        packet(11, 3000, true, &[0x65, 0x88, 0x84]),
        packet(12, 6000, false, &[0x7c, 0x85, 1, 2]),
        packet(13, 6000, false, &[0x7c, 0x05, 3]),
        packet(14, 6000, true, &[0x7c, 0x45, 4]),
        packet(15, 9000, true, &[0x41, 0x9a]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].rtp_timestamp, 3000);
    assert!(frames[0].random_access);
    assert_eq!(
        frames[0].parts,
        vec![
            Bytes::from_static(SPS),
            Bytes::from_static(PPS),
            Bytes::from_static(&[0x65, 0x88, 0x84])
        ]
    );
    assert_eq!(
        frames[1].parts,
        vec![Bytes::from_static(&[0x65, 1, 2, 3, 4])]
    );
    assert!(frames[1].random_access);
    assert!(!frames[2].random_access);
}

#[test]
fn format_learns_in_band_parameter_sets() {
    let mut f = format();
    let (frames, _) = depacketize_all(
        &f,
        &[
            packet(1, 0, false, SPS),
            packet(2, 0, false, PPS),
            packet(3, 0, true, &[0x65, 0x88]),
        ],
    );
    assert_eq!(frames.len(), 1);
    assert!(frames[0].random_access);
    assert!(f.update_params(&frames[0]));
    assert_eq!(
        f.fmtp().as_deref(),
        Some(
            "packetization-mode=1; sprop-parameter-sets=Z0LAKNkAeAIn5YQAAAMABAAAAwDwPGDJIA==,aM4yyA==; profile-level-id=42C028"
        )
    );
}

#[test]
fn missing_marker_is_ended_by_the_next_timestamp() {
    let packets = vec![
        packet(1, 100, false, &[0x41, 1]),
        packet(2, 200, true, &[0x41, 2]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert!(errors.is_empty());
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].rtp_timestamp, 100);
}

#[test]
fn loss_drops_the_partial_frame_and_the_next_frame_decodes() {
    let packets = vec![
        packet(1, 100, false, &[0x7c, 0x85, 1, 2]),
        // packets 2 and 3 lost: the end of the fragmented IDR.
        packet(4, 100, true, &[0x7c, 0x45, 9]),
        packet(5, 200, true, &[0x41, 0x9a]),
        // packet 6 lost, 7 is a whole frame on its own.
        packet(7, 300, true, &[0x41, 0x9b]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert_eq!(
        errors,
        vec![
            DepacketizeError::PacketsLost { count: 2 },
            DepacketizeError::PacketsLost { count: 1 }
        ]
    );
    assert_eq!(
        frames.iter().map(|f| f.rtp_timestamp).collect::<Vec<_>>(),
        vec![200, 300]
    );
}

#[test]
fn packets_of_a_damaged_frame_are_not_assembled() {
    let packets = vec![
        packet(1, 100, false, &[0x41, 1]),
        // packet 2 lost: the rest of frame 100 must not make a frame.
        packet(3, 100, false, &[0x41, 3]),
        packet(4, 100, true, &[0x41, 4]),
        packet(5, 200, true, &[0x41, 5]),
    ];
    let (frames, errors) = depacketize_all(&format(), &packets);
    assert_eq!(errors, vec![DepacketizeError::PacketsLost { count: 1 }]);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].parts, vec![Bytes::from_static(&[0x41, 5])]);
}

#[test]
fn malformed_packets_are_errors() {
    let cases: &[&[u8]] = &[
        &[],
        &[0x80, 1],                // forbidden bit
        &[0x18, 0x00, 0x05, 0x67], // STAP-A truncated unit
        &[0x18, 0x00],             // STAP-A truncated size
        &[0x18, 0x00, 0x00],       // STAP-A empty unit
        &[0x7c, 0x85],             // FU-A without body
        &[0x7c, 0x05, 1],          // FU-A continuation without start
        &[0x00, 1],                // reserved type 0
        &[0x1e, 1],                // reserved type 30
        &[0x19, 1, 2],             // STAP-B unsupported
    ];
    for (i, payload) in cases.iter().enumerate() {
        let (frames, errors) = depacketize_all(&format(), &[packet(i as u16, 0, true, payload)]);
        assert_eq!(errors.len(), 1, "case {i}: {payload:?}");
        assert!(frames.is_empty(), "case {i}");
    }
}

#[test]
fn prefixes_and_garbage_never_panic() {
    let mut stap = vec![0x18];
    for unit in [SPS, PPS] {
        stap.extend_from_slice(&(unit.len() as u16).to_be_bytes());
        stap.extend_from_slice(unit);
    }
    feed_garbage(
        &format(),
        &[&stap, &[0x7c, 0x85, 1, 2], &[0x7c, 0x45, 3], &[0x65, 0x88]],
        0x6184,
    );
}

#[test]
fn sps_prefixes_and_garbage_never_panic() {
    use ferromtx_codec::h264::Sps;
    for n in 0..=SPS.len() {
        let _ = Sps::parse(&SPS[..n]);
    }
    let mut rng = common::XorShift(0x5b5);
    for _ in 0..2000 {
        let mut b = rng.bytes(48);
        if let Some(first) = b.first_mut() {
            *first = 0x67;
        }
        let _ = Sps::parse(&b);
    }
}
