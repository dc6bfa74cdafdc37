mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromtx_codec::rtp::Packet;
use ferromtx_rtsp::rtcp::{
    Fir, Goodbye, Nack, Pli, ReceiverReport, ReportBlock, RtcpError, RtcpPacket, RtcpReceiver,
    RtcpSender, SdesChunk, SenderReport, marshal_compound, ntp_from_unix, parse_compound,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// SR + SDES CNAME as ffmpeg sends when publishing.
const SR_SDES: &str = "80c80006 12345678 e90b6a21 80000000 00000bb8 00000001 00000010 \
                       81ca0005 12345678 010c6666 6d706567 2d686f73 74310000";

#[test]
fn parses_sender_report_with_sdes() {
    let pkts = parse_compound(&hex(SR_SDES)).unwrap();
    assert_eq!(
        pkts,
        vec![
            RtcpPacket::SenderReport(SenderReport {
                ssrc: 0x1234_5678,
                ntp_time: 0xe90b_6a21_8000_0000,
                rtp_time: 3000,
                packet_count: 1,
                octet_count: 16,
                reports: vec![],
            }),
            RtcpPacket::SourceDescription(vec![SdesChunk {
                source: 0x1234_5678,
                items: vec![(1, Bytes::from_static(b"ffmpeg-host1"))],
            }]),
        ]
    );
    assert_eq!(marshal_compound(&pkts).unwrap().to_vec(), hex(SR_SDES));
}

#[test]
fn every_packet_kind_round_trips() {
    let block = ReportBlock {
        ssrc: 7,
        fraction_lost: 25,
        cumulative_lost: -3,
        extended_highest_seq: 0x0001_0005,
        jitter: 99,
        last_sr: 0x6a21_8000,
        delay_since_last_sr: 65536,
    };
    let pkts = vec![
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            reports: vec![block, ReportBlock { ssrc: 8, ..block }],
        }),
        RtcpPacket::SenderReport(SenderReport {
            ssrc: 2,
            ntp_time: 1,
            rtp_time: 2,
            packet_count: 3,
            octet_count: 4,
            reports: vec![block],
        }),
        RtcpPacket::SourceDescription(vec![
            SdesChunk {
                source: 1,
                items: vec![
                    (1, Bytes::from_static(b"abc")),
                    (2, Bytes::from_static(b"x")),
                ],
            },
            SdesChunk {
                source: 2,
                items: vec![],
            },
        ]),
        RtcpPacket::Goodbye(Goodbye {
            sources: vec![1, 2],
            reason: Some(Bytes::from_static(b"bye")),
        }),
        RtcpPacket::Goodbye(Goodbye {
            sources: vec![3],
            reason: None,
        }),
        RtcpPacket::Nack(Nack {
            sender_ssrc: 1,
            media_ssrc: 2,
            pairs: vec![(100, 0b101), (65535, 0)],
        }),
        RtcpPacket::Pli(Pli {
            sender_ssrc: 1,
            media_ssrc: 2,
        }),
        RtcpPacket::Fir(Fir {
            sender_ssrc: 1,
            entries: vec![(2, 9), (3, 10)],
        }),
        RtcpPacket::Unknown {
            packet_type: 204,
            count: 3,
            body: Bytes::from_static(b"APPname!"),
        },
    ];
    let bytes = marshal_compound(&pkts).unwrap();
    assert_eq!(bytes.len() % 4, 0);
    assert_eq!(parse_compound(&bytes).unwrap(), pkts);
}

#[test]
fn pli_wire_format() {
    let b = marshal_compound(&[RtcpPacket::Pli(Pli {
        sender_ssrc: 0x0102_0304,
        media_ssrc: 0x0506_0708,
    })])
    .unwrap();
    assert_eq!(b.to_vec(), hex("81ce0002 01020304 05060708"));
}

#[test]
fn nack_pairs_from_lost_list() {
    let n = Nack::from_lost(1, 2, &[10, 11, 13, 26, 27, 65535, 0]);
    assert_eq!(
        n.pairs,
        vec![(10, 0b1000_0000_0000_0101), (27, 0), (65535, 1)]
    );
    assert_eq!(n.lost(), vec![10, 11, 13, 26, 27, 65535, 0]);
}

#[test]
fn padded_packet_is_accepted() {
    // RR with no blocks, padded by 4 bytes.
    let pkts = parse_compound(&hex("a0c90002 00000001 00000004")).unwrap();
    assert_eq!(
        pkts,
        vec![RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            reports: vec![]
        })]
    );
}

#[test]
fn malformed_packets_are_errors() {
    let cases: &[(&str, RtcpError)] = &[
        ("80c8", RtcpError::TooShort(2)),
        ("40c90001 00000001", RtcpError::Version(1)),
        (
            "80c90005 00000001",
            RtcpError::Length {
                length: 5,
                available: 8,
            },
        ),
        ("81c90001 00000001", RtcpError::Body("RR")),
        ("80c80001 00000001", RtcpError::Body("SR")),
        ("a0c90001 00000009", RtcpError::Padding),
        ("a0c90001 00000000", RtcpError::Padding),
        ("81ca0001 00000001", RtcpError::Body("SDES")),
        ("81ca0002 00000001 010a6162", RtcpError::Body("SDES")),
        ("82cb0001 00000001", RtcpError::Body("BYE")),
        ("81cb0002 00000001 05616263", RtcpError::Body("BYE")),
        ("81cd0001 00000001", RtcpError::Body("NACK")),
        ("81ce0001 00000001", RtcpError::Body("PLI")),
        (
            "84ce0003 00000001 00000000 00000002",
            RtcpError::Body("FIR"),
        ),
        ("80c90001 00000001 80", RtcpError::TooShort(1)),
    ];
    for (input, want) in cases {
        assert_eq!(parse_compound(&hex(input)), Err(want.clone()), "{input}");
    }
}

#[test]
fn too_many_report_blocks_is_an_error() {
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 1,
        reports: vec![ReportBlock::default(); 32],
    });
    assert_eq!(marshal_compound(&[rr]), Err(RtcpError::TooMany(32)));
}

fn rtp(seq: u16, ts: u32) -> Packet {
    Packet {
        marker: false,
        payload_type: 96,
        sequence_number: seq,
        timestamp: ts,
        ssrc: 0xabcd,
        csrc: vec![],
        extension: None,
        payload: Bytes::from_static(&[0; 100]),
    }
}

fn rr_block(pkts: &[RtcpPacket]) -> ReportBlock {
    match &pkts[0] {
        RtcpPacket::ReceiverReport(rr) => rr.reports[0],
        other => panic!("{other:?}"),
    }
}

#[test]
fn receiver_report_counts_loss_per_interval() {
    let t0 = Instant::now();
    let mut r = RtcpReceiver::new(90_000, 0x1111).with_cname("ferromtx");
    assert_eq!(r.report(t0), None);
    // 10 packets, 2 missing (seq 3 and 7), 33 ms apart with matching timestamps.
    for i in 0..10u16 {
        if i == 3 || i == 7 {
            continue;
        }
        let at = t0 + Duration::from_millis(u64::from(i) * 33);
        r.process_packet(&rtp(1000 + i, u32::from(i) * 2970), at);
    }
    let pkts = r.report(t0 + Duration::from_secs(1)).unwrap();
    let b = rr_block(&pkts);
    assert_eq!(b.ssrc, 0xabcd);
    assert_eq!(b.cumulative_lost, 2);
    assert_eq!(b.fraction_lost, (2 * 256 / 10) as u8);
    assert_eq!(b.extended_highest_seq, 1009);
    assert_eq!(b.jitter, 0);
    assert!(matches!(&pkts[1], RtcpPacket::SourceDescription(c) if c[0].source == 0x1111));

    // Next interval: nothing lost; cumulative stays.
    for i in 10..20u16 {
        let at = t0 + Duration::from_millis(u64::from(i) * 33);
        r.process_packet(&rtp(1000 + i, u32::from(i) * 2970), at);
    }
    let b = rr_block(&r.report(t0 + Duration::from_secs(2)).unwrap());
    assert_eq!(b.fraction_lost, 0);
    assert_eq!(b.cumulative_lost, 2);
    assert_eq!(b.extended_highest_seq, 1019);
}

#[test]
fn receiver_report_handles_sequence_wrap() {
    let t0 = Instant::now();
    let mut r = RtcpReceiver::new(90_000, 1);
    for (i, seq) in [65534u16, 65535, 0, 1].into_iter().enumerate() {
        r.process_packet(
            &rtp(seq, i as u32 * 3000),
            t0 + Duration::from_millis(i as u64 * 33),
        );
    }
    let b = rr_block(&r.report(t0).unwrap());
    assert_eq!(b.extended_highest_seq, 65536 + 1);
    assert_eq!(b.cumulative_lost, 0);
}

#[test]
fn receiver_jitter_follows_a8() {
    let t0 = Instant::now();
    let mut r = RtcpReceiver::new(90_000, 1);
    // Same timestamp spacing (3000 ticks = 33.33 ms) but arrival alternates 23/43 ms.
    let mut at = t0;
    for i in 0..200u16 {
        r.process_packet(&rtp(i, u32::from(i) * 3000), at);
        at += Duration::from_millis(if i % 2 == 0 { 23 } else { 43 });
    }
    let b = rr_block(&r.report(at).unwrap());
    // |D| is about 10 ms = 900 ticks each time; the estimate converges to it.
    assert!((850..=950).contains(&b.jitter), "jitter {}", b.jitter);
}

#[test]
fn receiver_report_carries_lsr_and_dlsr() {
    let t0 = Instant::now();
    let mut r = RtcpReceiver::new(90_000, 1);
    r.process_packet(&rtp(1, 0), t0);
    r.process_sender_report(
        &SenderReport {
            ssrc: 0xabcd,
            ntp_time: 0xe90b_6a21_8000_0000,
            rtp_time: 0,
            packet_count: 0,
            octet_count: 0,
            reports: vec![],
        },
        t0,
    );
    let b = rr_block(&r.report(t0 + Duration::from_millis(500)).unwrap());
    assert_eq!(b.last_sr, 0x6a21_8000);
    assert_eq!(b.delay_since_last_sr, 32768);
}

#[test]
fn sender_report_extrapolates_times() {
    let t0 = Instant::now();
    let mut s = RtcpSender::new(90_000);
    assert_eq!(s.report(t0), None);
    let ntp = ntp_from_unix(Duration::from_secs(1_700_000_000));
    s.process_packet(&rtp(1, 90_000), Some(ntp), t0);
    s.process_packet(&rtp(2, 93_000), None, t0);
    let sr = s.report(t0 + Duration::from_millis(500)).unwrap();
    assert_eq!(sr.ssrc, 0xabcd);
    assert_eq!(sr.packet_count, 2);
    assert_eq!(sr.octet_count, 200);
    assert_eq!(sr.rtp_time, 90_000 + 45_000);
    assert_eq!(sr.ntp_time, ntp + (1 << 31));
    assert_eq!(ntp >> 32, 1_700_000_000 + 2_208_988_800);
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = common::XorShift::new(0xabc);
    let seed = hex(SR_SDES);
    for i in 0..2000 {
        let input = if i % 2 == 0 {
            rng.mutate(&seed)
        } else {
            rng.bytes(64)
        };
        if let Ok(pkts) = parse_compound(&input) {
            let again = marshal_compound(&pkts).unwrap();
            assert_eq!(parse_compound(&again).unwrap(), pkts);
        }
    }
}
