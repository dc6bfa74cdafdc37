//! Single-packet audio payloads: Opus (RFC 7587), G711, G722, LPCM, and generic.

mod common;

use bytes::Bytes;
use common::{depacketize_all, feed_garbage, filler, packet, round_trip};
use ferromtx_codec::opus::packet_duration;
use ferromtx_codec::{DepacketizeError, Format, Frame, PacketizeError, packetizer};

fn frame(ts: u32, data: Vec<u8>) -> Frame {
    Frame {
        rtp_timestamp: ts,
        random_access: true,
        parts: vec![Bytes::from(data)],
    }
}

fn opus() -> Format {
    Format::Opus {
        payload_type: 111,
        channels: 2,
    }
}

#[test]
fn opus_round_trip_and_no_marker() {
    let frames = vec![frame(0, filler(120, 0xfc)), frame(960, filler(1188, 0x78))];
    assert_eq!(round_trip(&opus(), &frames, 1188), frames);
    let mut p = packetizer(&opus(), 1188, 1, 0);
    let pkts = p.packetize(&frames[0]).expect("packetize");
    assert_eq!(pkts.len(), 1);
    assert!(!pkts[0].marker);
    assert_eq!(pkts[0].payload.as_ptr(), frames[0].parts[0].as_ptr());
}

#[test]
fn opus_never_fragments() {
    let mut p = packetizer(&opus(), 100, 1, 0);
    assert_eq!(
        p.packetize(&frame(0, filler(101, 1))),
        Err(PacketizeError::TooLarge {
            codec: "Opus",
            size: 101,
            max: 100
        })
    );
    assert_eq!(
        p.packetize(&frame(0, Vec::new())),
        Err(PacketizeError::EmptyFrame)
    );
}

#[test]
fn opus_toc_durations() {
    // config 31 (CELT 20 ms), code 0: one frame of 960 samples.
    assert_eq!(packet_duration(&[0xf8]), Some(960));
    // config 1 (SILK 20 ms), code 1: two frames.
    assert_eq!(packet_duration(&[0x09]), Some(1920));
    // config 16 (CELT 2.5 ms), code 3 with 4 frames.
    assert_eq!(packet_duration(&[0x83, 0x04]), Some(480));
    assert_eq!(packet_duration(&[0x83]), None);
    assert_eq!(packet_duration(&[]), None);
}

#[test]
fn audio_loss_is_reported_and_packets_still_decode() {
    let packets = vec![
        packet(1, 0, false, &[1, 2]),
        packet(3, 1920, false, &[3, 4]),
        packet(2, 960, false, &[5, 6]),
    ];
    let (frames, errors) = depacketize_all(&opus(), &packets);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].rtp_timestamp, 1920);
    assert_eq!(
        errors,
        vec![
            DepacketizeError::PacketsLost { count: 1 },
            DepacketizeError::OutOfOrder {
                sequence_number: 2,
                expected: 4
            }
        ]
    );
}

#[test]
fn g711_splits_on_sample_boundaries() {
    let f = Format::G711 {
        payload_type: 0,
        mu_law: true,
        sample_rate: 8000,
        channels: 2,
    };
    let mut p = packetizer(&f, 101, 1, 10);
    let pkts = p.packetize(&frame(500, filler(250, 3))).expect("packetize");
    // 101 bytes hold 50 stereo samples = 100 bytes.
    assert_eq!(
        pkts.iter().map(|p| p.payload.len()).collect::<Vec<_>>(),
        vec![100, 100, 50]
    );
    assert_eq!(
        pkts.iter().map(|p| p.timestamp).collect::<Vec<_>>(),
        vec![500, 550, 600]
    );
    assert_eq!(
        p.packetize(&frame(0, filler(3, 1))),
        Err(PacketizeError::Invalid {
            codec: "LPCM",
            reason: "payload is not a whole number of samples"
        })
    );
    let small = vec![frame(0, filler(160, 9))];
    assert_eq!(round_trip(&f, &small, 1460), small);
}

#[test]
fn lpcm_l24_and_g722_split() {
    let l24 = Format::Lpcm {
        payload_type: 97,
        bit_depth: 24,
        sample_rate: 48000,
        channels: 2,
    };
    let mut p = packetizer(&l24, 1460, 1, 0);
    let pkts = p
        .packetize(&frame(0, filler(6 * 500, 1)))
        .expect("packetize");
    // 1460 / 6 = 243 samples per packet.
    assert_eq!(
        pkts.iter().map(|p| p.payload.len()).collect::<Vec<_>>(),
        vec![1458, 1458, 84]
    );
    assert_eq!(
        pkts.iter().map(|p| p.timestamp).collect::<Vec<_>>(),
        vec![0, 243, 486]
    );
    let mut p = packetizer(&l24, 5, 1, 0);
    assert_eq!(
        p.packetize(&frame(0, filler(6, 1))),
        Err(PacketizeError::MaxPayloadTooSmall(5))
    );

    let small = vec![frame(10, filler(1458, 4)), frame(253, filler(6, 5))];
    assert_eq!(round_trip(&l24, &small, 1460), small);

    let g722 = Format::G722 { payload_type: 9 };
    let small = vec![frame(0, filler(160, 6))];
    assert_eq!(round_trip(&g722, &small, 1188), small);
    let mut p = packetizer(&g722, 100, 1, 0);
    let pkts = p.packetize(&frame(0, filler(160, 1))).expect("packetize");
    assert_eq!(
        pkts.iter().map(|p| p.timestamp).collect::<Vec<_>>(),
        vec![0, 100]
    );
}

#[test]
fn generic_passes_through() {
    let f = Format::Generic {
        payload_type: 98,
        clock_rate: 90000,
        rtpmap: Some("X-TEST/90000".to_string()),
        fmtp: None,
    };
    let frames = vec![frame(7, filler(50, 1))];
    assert_eq!(round_trip(&f, &frames, 1188), frames);
    let mut p = packetizer(&f, 10, 1, 0);
    assert!(p.packetize(&frame(0, filler(11, 1))).is_err());
}

#[test]
fn audio_prefixes_and_garbage_never_panic() {
    feed_garbage(&opus(), &[&[0xfc, 1, 2, 3]], 7587);
}
