//! The core's ingest: RTP of every protocol into units (reordering, loss policy, timeline,
//! packetizing again), access units of the others, and what the stream keeps of them
//! (parameter sets, keyframe requests). Sans-IO: time is an argument.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromtx_codec::{Format, Frame, rtp};
use ferromtx_core::ingest::{Timeline, tracks_of};
use ferromtx_core::{IngestOptions, Reader, RtpIngest, Stream, TryNext, Unit, UnitIngest};

fn h264() -> Format {
    Format::H264 {
        payload_type: 96,
        sps: None,
        pps: None,
        packetization_mode: 1,
    }
}

fn packet(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> rtp::Packet {
    rtp::Packet {
        marker,
        payload_type: 96,
        sequence_number: seq,
        timestamp: ts,
        ssrc: 0x1234_5678,
        csrc: Vec::new(),
        extension: None,
        payload: Bytes::copy_from_slice(payload),
    }
}

fn setup(options: IngestOptions) -> (RtpIngest, Reader) {
    let stream = Stream::new("test", tracks_of(&[h264()]), 64);
    let reader = stream.reader();
    (RtpIngest::new(stream, options), reader)
}

const ORDERED: IngestOptions = IngestOptions {
    reorder: None,
    max_payload: None,
};

fn drain(reader: &mut Reader) -> Vec<Arc<Unit>> {
    let mut out = Vec::new();
    while let TryNext::Unit(u) = reader.try_next(tokio::time::Instant::now()) {
        out.push(u);
    }
    out
}

#[test]
fn fragments_make_one_unit_with_their_packets_and_the_pts_counts_from_zero() {
    let (mut ingest, mut reader) = setup(ORDERED);
    let t = Instant::now();
    ingest
        .push(0, packet(10, 3000, false, &[0x7c, 0x85, 1, 2]), t)
        .unwrap();
    ingest
        .push(0, packet(11, 3000, true, &[0x7c, 0x45, 3]), t)
        .unwrap();
    ingest
        .push(0, packet(12, 6600, true, &[0x41, 9]), t)
        .unwrap();
    let units = drain(&mut reader);
    assert_eq!(units.len(), 2);
    assert_eq!(units[0].rtp_packets.len(), 2);
    assert!(units[0].random_access);
    assert_eq!(units[0].pts, 0);
    assert_eq!(
        units[0].frame.as_ref().unwrap().parts,
        [Bytes::from_static(&[0x65, 1, 2, 3])]
    );
    assert!(!units[1].random_access);
    assert_eq!(units[1].pts, 3600);
}

#[test]
fn a_frame_cut_by_loss_still_reaches_rtp_readers_and_the_loss_is_counted() {
    let (mut ingest, mut reader) = setup(ORDERED);
    let t = Instant::now();
    // Start of a frame, its end lost, then the next frame.
    ingest
        .push(0, packet(1, 0, false, &[0x7c, 0x85, 1]), t)
        .unwrap();
    ingest
        .push(0, packet(3, 3000, true, &[0x41, 2]), t)
        .unwrap();
    let units = drain(&mut reader);
    assert_eq!(units.len(), 2);
    // The incomplete frame's packet, as it came, without a frame.
    assert!(units[0].frame.is_none());
    assert_eq!(units[0].rtp_packets[0].sequence_number, 1);
    assert_eq!(units[1].frame.as_ref().unwrap().parts[0][..], [0x41, 2]);
    let a = ingest.take_anomalies();
    assert_eq!(a.lost, 1);
    assert_eq!(ingest.lost(), 1);
    assert_eq!(a.log_lines(), ["1 RTP packet lost"]);
    assert!(ingest.take_anomalies().is_empty());
}

#[test]
fn decode_errors_name_the_packet() {
    let (mut ingest, _reader) = setup(ORDERED);
    // A FU-A without its start bit after nothing: a fragment without a start.
    ingest
        .push(0, packet(7, 900, true, &[0x7c, 0x45, 3]), Instant::now())
        .unwrap();
    let a = ingest.take_anomalies();
    assert_eq!(a.decode_errors, 1);
    let line = &a.log_lines()[0];
    assert!(
        line.contains("SSRC 12345678, sequence number 7, timestamp 900"),
        "{line}"
    );
}

#[test]
fn reordering_puts_a_late_packet_in_its_place_and_gives_up_after_the_wait() {
    let wait = Duration::from_millis(200);
    let (mut ingest, mut reader) = setup(IngestOptions {
        reorder: Some(wait),
        max_payload: None,
    });
    let t = Instant::now();
    ingest.push(0, packet(1, 0, true, &[0x65, 1]), t).unwrap();
    // 3 arrives before 2 (a retransmission): held until 2 comes.
    ingest
        .push(0, packet(3, 6000, true, &[0x41, 3]), t)
        .unwrap();
    assert_eq!(drain(&mut reader).len(), 1);
    assert_eq!(ingest.deadline(), Some(t + wait));
    ingest
        .push(
            0,
            packet(2, 3000, true, &[0x41, 2]),
            t + Duration::from_millis(50),
        )
        .unwrap();
    let pts: Vec<i64> = drain(&mut reader).iter().map(|u| u.pts).collect();
    assert_eq!(pts, [3000, 6000]);
    assert_eq!(ingest.lost(), 0);

    // 5 without 4: released when the wait is over, 4 counted lost.
    ingest
        .push(0, packet(5, 12000, true, &[0x41, 5]), t)
        .unwrap();
    assert!(drain(&mut reader).is_empty());
    ingest
        .handle_timeout(t + Duration::from_millis(100))
        .unwrap();
    assert!(drain(&mut reader).is_empty());
    ingest.handle_timeout(t + wait).unwrap();
    assert_eq!(drain(&mut reader).len(), 1);
    assert_eq!(ingest.lost(), 1);
    assert_eq!(ingest.deadline(), None);
}

#[test]
fn packets_too_big_for_readers_are_cut_down_from_then_on() {
    let (mut ingest, mut reader) = setup(IngestOptions {
        reorder: None,
        max_payload: Some(100),
    });
    let t = Instant::now();
    let mut big = vec![0x65u8];
    big.extend(std::iter::repeat_n(7u8, 250));
    ingest.push(0, packet(1, 0, true, &big), t).unwrap();
    ingest
        .push(0, packet(2, 3000, true, &[0x41, 1]), t)
        .unwrap();
    let units = drain(&mut reader);
    assert_eq!(units.len(), 2);
    assert_eq!(units[0].rtp_packets.len(), 3);
    assert!(units[0].rtp_packets.iter().all(|p| p.payload.len() <= 100));
    assert!(units[0].rtp_packets.last().unwrap().marker);
    // Consecutive sequence numbers across units: one packetizer per track.
    let first = units[0].rtp_packets[0].sequence_number;
    assert_eq!(
        units[1].rtp_packets[0].sequence_number,
        first.wrapping_add(3)
    );
}

#[test]
fn access_units_are_written_without_packets_and_parameter_sets_reach_the_description() {
    let stream = Stream::new("test", tracks_of(&[h264()]), 16);
    let mut reader = stream.reader();
    let mut ingest = UnitIngest::new(Arc::clone(&stream));
    let sps = Bytes::from_static(&[0x67, 0x42, 0xc0, 0x1e, 0xd9]);
    let pps = Bytes::from_static(&[0x68, 0xce, 0x3c, 0x80]);
    let idr = Bytes::from_static(&[0x65, 0x88]);
    ingest
        .write(
            0,
            1 << 33,
            Some(1 << 33),
            None,
            Frame {
                rtp_timestamp: 0,
                random_access: true,
                parts: vec![sps.clone(), pps.clone(), idr],
            },
        )
        .unwrap();
    let units = drain(&mut reader);
    assert_eq!(units.len(), 1);
    assert!(units[0].rtp_packets.is_empty() && units[0].random_access);
    assert_eq!(units[0].pts, 1 << 33);
    // A DTS equal to the PTS says nothing.
    assert_eq!(units[0].dts, None);
    // The RTP timestamp is the PTS modulo 2^32.
    assert_eq!(units[0].frame.as_ref().unwrap().rtp_timestamp, 0);
    match &stream.described_tracks()[0].format {
        Format::H264 { sps: s, pps: p, .. } => {
            assert_eq!(s.as_ref(), Some(&sps));
            assert_eq!(p.as_ref(), Some(&pps));
        }
        other => panic!("{other:?}"),
    }
    // What was announced stays as it was.
    assert_eq!(stream.tracks()[0].format, h264());
}

#[test]
fn keyframe_requests_belong_to_the_stream() {
    let stream = Stream::new("test", tracks_of(&[h264()]), 16);
    let t = Instant::now();
    assert!(stream.request_keyframe(t));
    assert!(!stream.request_keyframe(t + Duration::from_millis(10)));
    assert!(stream.keyframes().take_pending());
    assert!(!stream.keyframes().take_pending());
}

#[test]
fn seek_live_skips_what_was_written_without_counting_it_lost() {
    let stream = Stream::new("test", tracks_of(&[h264()]), 4);
    let mut reader = stream.reader();
    for i in 0..10 {
        stream
            .write(Unit {
                pts: i,
                random_access: true,
                ..Unit::default()
            })
            .unwrap();
    }
    reader.seek_live();
    assert!(matches!(
        reader.try_next(tokio::time::Instant::now()),
        TryNext::Pending
    ));
    assert_eq!(reader.discarded(), 0);
    stream
        .write(Unit {
            pts: 10,
            ..Unit::default()
        })
        .unwrap();
    match reader.try_next(tokio::time::Instant::now()) {
        TryNext::Unit(u) => assert_eq!(u.pts, 10),
        other => panic!("{other:?}"),
    }
}

#[test]
fn timestamps_wrap_into_a_growing_pts() {
    let mut t = Timeline::default();
    assert_eq!(t.pts(u32::MAX - 99), 0);
    assert_eq!(t.pts(100), 200);
    assert_eq!(t.pts(50), 150);
}
