//! MPEG-TS: the muxer's output demuxed back, and the demuxer facing broken streams.

use bytes::Bytes;
use ferromtx_codec::mpeg4audio::AudioSpecificConfig;
use ferromtx_codec::mpegts::psi::{Descriptor, Pmt, PmtStream};
use ferromtx_codec::mpegts::{
    AccessUnit, Anomalies, Codec, DemuxError, Demuxer, Event, Muxer, Track, stream_type,
};

const PACKET: usize = 188;

/// Deterministic bytes that are never zero (so no start code or trailing zero appears).
fn body(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 0x01)
        .collect()
}

fn nal(header: &[u8], len: usize, seed: u8) -> Bytes {
    let mut n = header.to_vec();
    n.extend(body(len, seed));
    Bytes::from(n)
}

fn aac_config() -> AudioSpecificConfig {
    AudioSpecificConfig::parse(&[0x12, 0x10]).expect("AAC-LC 44.1 kHz stereo")
}

/// One access unit to write: PID, PTS, DTS, random access, parts.
type Unit = (u16, i64, i64, bool, Vec<Bytes>);

fn mux(tracks: Vec<Track>, units: &[Unit]) -> Vec<u8> {
    let mut m = Muxer::new(tracks).expect("valid tracks");
    let mut out = Vec::new();
    for (pid, pts, dts, ra, parts) in units {
        m.write(*pid, *pts, *dts, *ra, parts, &mut out)
            .expect("written");
    }
    assert_eq!(out.len() % PACKET, 0);
    out
}

fn drain(d: &mut Demuxer, events: &mut Vec<Event>) {
    while let Some(e) = d.pull() {
        events.push(e);
    }
}

/// Pushes `ts` in `chunk`-byte pieces, flushes, returns every event and the anomalies.
fn demux_chunked(ts: &[u8], chunk: usize) -> (Vec<Event>, Anomalies) {
    let mut d = Demuxer::new();
    let mut events = Vec::new();
    for piece in ts.chunks(chunk.max(1)) {
        d.push(piece);
        drain(&mut d, &mut events);
    }
    d.flush();
    drain(&mut d, &mut events);
    (events, d.take_anomalies())
}

fn demux(ts: &[u8]) -> (Vec<Event>, Anomalies) {
    demux_chunked(ts, 1316)
}

fn units_of(events: &[Event]) -> Vec<AccessUnit> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::AccessUnit(au) => Some(au.clone()),
            Event::Tracks(_) => None,
        })
        .collect()
}

fn tracks_of(events: &[Event]) -> Vec<Vec<Track>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Tracks(t) => Some(t.clone()),
            Event::AccessUnit(_) => None,
        })
        .collect()
}

fn expected(units: &[Unit]) -> Vec<AccessUnit> {
    units
        .iter()
        .map(|(pid, pts, dts, ra, parts)| AccessUnit {
            pid: *pid,
            pts: *pts,
            dts: *dts,
            random_access: *ra,
            discontinuity: false,
            parts: parts.clone(),
        })
        .collect()
}

fn track(pid: u16, codec: Codec) -> Track {
    Track { pid, codec }
}

fn h264_idr(seed: u8) -> Vec<Bytes> {
    vec![
        nal(&[0x67, 0x42, 0xc0, 0x1e], 10, seed),
        nal(&[0x68, 0xce], 3, seed),
        nal(&[0x65, 0x88], 900, seed),
    ]
}

fn h264_p(seed: u8, len: usize) -> Vec<Bytes> {
    vec![nal(&[0x41, 0x9a], len, seed)]
}

fn ac3_frame(seed: u8) -> Bytes {
    // 48 kHz, 192 kbit/s: 768 bytes; bsid 8, acmod 7, LFE: 5.1.
    let mut f = vec![0x0b, 0x77, 0x00, 0x00, 0x14, 0x40, 0xe1];
    f.extend(body(768 - 7, seed));
    Bytes::from(f)
}

fn mp2_frame(seed: u8) -> Bytes {
    // MPEG-1 layer II, 128 kbit/s, 48 kHz: 384 bytes.
    let mut f = vec![0xff, 0xfd, 0x84, 0x00];
    f.extend(body(384 - 4, seed));
    Bytes::from(f)
}

#[test]
fn every_codec_round_trips() {
    let tracks = vec![
        track(0x100, Codec::H264),
        track(0x101, Codec::H265),
        track(
            0x102,
            Codec::Mpeg4Audio {
                config: aac_config(),
            },
        ),
        track(0x103, Codec::Mpeg4AudioLatm),
        track(0x104, Codec::Opus { channel_count: 2 }),
        track(0x105, Codec::Mpeg1Audio),
        track(
            0x106,
            Codec::Ac3 {
                sample_rate: 48_000,
                channel_count: 6,
            },
        ),
        track(0x107, Codec::Mpeg1Video),
        track(0x108, Codec::Mpeg4Video),
        track(0x109, Codec::Klv { synchronous: true }),
        track(0x10a, Codec::Klv { synchronous: false }),
    ];
    let h265_irap = vec![
        nal(&[0x40, 0x01], 20, 1),
        nal(&[0x42, 0x01], 30, 2),
        nal(&[0x44, 0x01], 5, 3),
        nal(&[0x26, 0x01], 2000, 4),
    ];
    let units: Vec<Unit> = vec![
        // H264 with B-frame reordering: PTS ahead of DTS.
        (0x100, 183_000, 180_000, true, h264_idr(1)),
        (0x100, 195_000, 183_000, false, h264_p(2, 300)),
        (0x101, 180_000, 180_000, true, h265_irap),
        (
            0x101,
            183_000,
            183_000,
            false,
            vec![nal(&[0x02, 0x01], 700, 5)],
        ),
        (
            0x102,
            180_000,
            180_000,
            true,
            vec![Bytes::from(body(371, 6)), Bytes::from(body(12, 7))],
        ),
        (
            0x103,
            181_000,
            181_000,
            true,
            vec![Bytes::from(body(200, 8))],
        ),
        (
            0x104,
            182_000,
            182_000,
            true,
            vec![Bytes::from(body(600, 9)), Bytes::from(body(3, 10))],
        ),
        (
            0x105,
            183_000,
            183_000,
            true,
            vec![mp2_frame(11), mp2_frame(12)],
        ),
        (0x106, 184_000, 184_000, true, vec![ac3_frame(13)]),
        (
            0x107,
            185_000,
            185_000,
            true,
            vec![Bytes::from([&[0, 0, 1, 0xb3][..], &body(500, 14)].concat())],
        ),
        (
            0x107,
            188_000,
            188_000,
            false,
            vec![Bytes::from([&[0, 0, 1, 0x00][..], &body(100, 15)].concat())],
        ),
        (
            0x108,
            186_000,
            186_000,
            true,
            vec![Bytes::from(
                [&[0, 0, 1, 0xb6, 0x10][..], &body(400, 16)].concat(),
            )],
        ),
        (
            0x108,
            189_000,
            189_000,
            false,
            vec![Bytes::from(
                [&[0, 0, 1, 0xb6, 0x50][..], &body(90, 17)].concat(),
            )],
        ),
        (
            0x109,
            187_000,
            187_000,
            true,
            vec![Bytes::from(body(70, 18))],
        ),
    ];
    let mut ts = mux(tracks.clone(), &units);
    // Asynchronous KLV carries no PTS: it gets the last PTS of the stream.
    let klv = Bytes::from(body(40, 19));
    let mut m = Muxer::new(tracks.clone()).expect("valid");
    let mut klv_ts = Vec::new();
    m.write(0x10a, 0, 0, true, std::slice::from_ref(&klv), &mut klv_ts)
        .expect("written");
    // Only its PES packet: the tables are already in `ts`.
    ts.extend_from_slice(&klv_ts[2 * PACKET..]);

    let (events, anomalies) = demux(&ts);
    assert_eq!(anomalies, Anomalies::default());
    assert_eq!(tracks_of(&events), vec![tracks]);
    let mut want = expected(&units);
    want.push(AccessUnit {
        pid: 0x10a,
        pts: 187_000,
        dts: 187_000,
        random_access: true,
        discontinuity: false,
        parts: vec![klv],
    });
    assert_eq!(units_of(&events), want);
    // The same, whatever the chunking.
    for chunk in [1, 7, 188, 189, 5000] {
        assert_eq!(demux_chunked(&ts, chunk).0, events, "chunk {chunk}");
    }
}

#[test]
fn timestamps_unwrap_past_33_bits() {
    let tracks = vec![
        track(0, Codec::H264),
        track(
            0,
            Codec::Mpeg4Audio {
                config: aac_config(),
            },
        ),
    ];
    let start = (1i64 << 33) - 2 * 90_000;
    let mut units = Vec::new();
    for i in 0..100i64 {
        let dts = start + i * 3_600;
        let parts = if i % 25 == 0 {
            h264_idr(1)
        } else {
            h264_p(2, 50)
        };
        units.push((0x100, dts + 7_200, dts, i % 25 == 0, parts));
        units.push((0x101, dts, dts, true, vec![Bytes::from(body(20, 3))]));
    }
    // What goes on the wire wraps: PTS written modulo 2^33.
    let (events, anomalies) = demux(&mux(tracks, &units));
    assert_eq!(anomalies, Anomalies::default());
    let got = units_of(&events);
    assert_eq!(got, expected(&units));
    assert!(got.last().is_some_and(|au| au.pts > 1i64 << 33));
}

#[test]
fn a_jump_rebases_the_timeline_and_is_reported() {
    let tracks = vec![track(0, Codec::H264)];
    let mut units: Vec<Unit> = (0..5i64)
        .map(|i| {
            (
                0x100,
                900_000 + i * 3_600,
                900_000 + i * 3_600,
                false,
                h264_p(1, 20),
            )
        })
        .collect();
    // Encoder restart: timestamps from 0 again.
    units.extend((0..3i64).map(|i| (0x100, i * 3_600, i * 3_600, false, h264_p(2, 20))));
    let (events, mut anomalies) = demux(&mux(tracks, &units));
    let got = units_of(&events);
    let pts: Vec<i64> = got.iter().map(|au| au.pts).collect();
    let last = 900_000 + 4 * 3_600;
    assert_eq!(
        pts,
        vec![
            900_000,
            903_600,
            907_200,
            910_800,
            last,
            last,
            last + 3_600,
            last + 7_200
        ]
    );
    let flags: Vec<bool> = got.iter().map(|au| au.discontinuity).collect();
    assert_eq!(
        flags,
        [false, false, false, false, false, true, false, false]
    );
    assert_eq!(anomalies.discontinuities, 1);
    assert_eq!(
        anomalies.last_error.take(),
        Some(DemuxError::Discontinuity { pid: 0x100 })
    );
}

#[test]
fn a_stream_starting_with_p_frames_reports_them_as_such() {
    let tracks = vec![track(0, Codec::H264)];
    let units: Vec<Unit> = vec![
        (0x100, 3_600, 3_600, false, h264_p(1, 100)),
        (0x100, 7_200, 7_200, false, h264_p(2, 100)),
        (0x100, 10_800, 10_800, true, h264_idr(3)),
        (0x100, 14_400, 14_400, false, h264_p(4, 100)),
    ];
    let (events, _) = demux(&mux(tracks, &units));
    let flags: Vec<bool> = units_of(&events)
        .iter()
        .map(|au| au.random_access)
        .collect();
    assert_eq!(flags, [false, false, true, false]);
}

fn av_units(count: i64) -> Vec<Unit> {
    let mut units = Vec::new();
    for i in 0..count {
        let parts = if i % 10 == 0 {
            h264_idr(i as u8)
        } else {
            h264_p(i as u8, 2_000)
        };
        units.push((
            0x100,
            90_000 + i * 3_600,
            90_000 + i * 3_600,
            i % 10 == 0,
            parts,
        ));
        units.push((
            0x101,
            90_000 + i * 3_600,
            90_000 + i * 3_600,
            true,
            vec![Bytes::from(body(300, 9))],
        ));
    }
    units
}

fn av_tracks() -> Vec<Track> {
    vec![
        track(0x100, Codec::H264),
        track(
            0x101,
            Codec::Mpeg4Audio {
                config: aac_config(),
            },
        ),
    ]
}

#[test]
fn garbage_between_packets_is_skipped_and_counted() {
    let units = av_units(20);
    let clean = mux(av_tracks(), &units);
    let mut dirty = Vec::new();
    // Joining mid-packet, then junk (without sync bytes) every 50 packets.
    dirty.extend_from_slice(&clean[PACKET + 1..PACKET + 100]);
    let mut junk = 0;
    for (i, pkt) in clean.chunks(PACKET).enumerate() {
        if i % 50 == 25 {
            let garbage: Vec<u8> = body(i % 300 + 1, i as u8)
                .into_iter()
                .map(|b| if b == 0x47 { 0x48 } else { b })
                .collect();
            junk += garbage.len();
            dirty.extend(garbage);
        }
        dirty.extend_from_slice(pkt);
    }
    let (clean_events, _) = demux(&clean);
    for chunk in [1, 100, 1316] {
        let (events, anomalies) = demux_chunked(&dirty, chunk);
        assert_eq!(events, clean_events, "chunk {chunk}");
        assert_eq!(anomalies.skipped_bytes, (99 + junk) as u64);
        assert_eq!(anomalies.continuity_errors, 0);
    }
}

#[test]
fn an_unknown_stream_type_next_to_h264_is_skipped() {
    let units: Vec<Unit> = (0..4i64)
        .map(|i| (0x100, i * 3_600, i * 3_600, false, h264_p(i as u8, 30)))
        .collect();
    let muxed = mux(vec![track(0x100, Codec::H264)], &units);
    // Our own PMT: SCTE-35 (0x86) and an unregistered private stream beside H264.
    let pmt = Pmt {
        program_number: 1,
        pcr_pid: 0x100,
        streams: vec![
            PmtStream {
                stream_type: 0x86,
                pid: 0x1f0,
                descriptors: vec![Descriptor {
                    tag: 0x05,
                    data: b"CUEI".to_vec(),
                }],
            },
            PmtStream {
                stream_type: stream_type::H264,
                pid: 0x100,
                descriptors: vec![],
            },
            PmtStream {
                stream_type: stream_type::PRIVATE_DATA,
                pid: 0x1f1,
                descriptors: vec![],
            },
        ],
    }
    .marshal();
    let mut pmt_packet = vec![0x47, 0x50, 0x00, 0x10, 0x00];
    pmt_packet.extend_from_slice(&pmt);
    pmt_packet.resize(PACKET, 0xff);
    let mut ts = Vec::new();
    for (i, pkt) in muxed.chunks(PACKET).enumerate() {
        if pkt[1] & 0x1f == 0x10 && pkt[2] == 0x00 {
            // Replace the muxer's PMT, keeping its continuity counter.
            let mut p = pmt_packet.clone();
            p[3] = pkt[3];
            ts.extend(p);
            // A packet on the unknown PID, which must not disturb anything.
            ts.extend([0x47, 0x41, 0xf0, 0x10 | (i as u8 & 0x0f)]);
            ts.extend([0xfc; PACKET - 4]);
        } else {
            ts.extend_from_slice(pkt);
        }
    }
    let (events, anomalies) = demux(&ts);
    assert_eq!(tracks_of(&events), vec![vec![track(0x100, Codec::H264)]]);
    assert_eq!(units_of(&events), expected(&units));
    assert_eq!(anomalies.unsupported_streams, 2);
    assert_eq!(anomalies.continuity_errors + anomalies.dropped_pes, 0);
}

/// Splits a TS into packets, applies `edit` to the list, joins them again.
fn edit_packets(ts: &[u8], edit: impl FnOnce(&mut Vec<Vec<u8>>)) -> Vec<u8> {
    let mut packets: Vec<Vec<u8>> = ts.chunks(PACKET).map(<[u8]>::to_vec).collect();
    edit(&mut packets);
    packets.concat()
}

/// Three H264 frames of `len` bytes muxed, and the indexes of the video packets.
fn three_frames(len: usize) -> (Vec<Unit>, Vec<u8>, Vec<usize>) {
    let units: Vec<Unit> = (0..3i64)
        .map(|i| (0x100, i * 3_600, i * 3_600, false, h264_p(i as u8, len)))
        .collect();
    let ts = mux(vec![track(0x100, Codec::H264)], &units);
    let video: Vec<usize> = ts
        .chunks(PACKET)
        .enumerate()
        .filter(|(_, p)| p[1] & 0x1f == 0x01 && p[2] == 0x00)
        .map(|(i, _)| i)
        .collect();
    (units, ts, video)
}

#[test]
fn a_continuity_gap_drops_only_the_pes_it_cuts() {
    // Three 50 kB frames: each PES spans ~270 packets.
    let (units, ts, video) = three_frames(50_000);
    let per_frame = video.len() / 3;
    // Lose one packet in the middle of frame 2, duplicate one of frame 3.
    let lost = video[per_frame + per_frame / 2];
    let duplicated = video[2 * per_frame + 10];
    let broken = edit_packets(&ts, |packets| {
        let dup = packets[duplicated].clone();
        packets.insert(duplicated, dup);
        packets.remove(lost);
    });
    let (events, anomalies) = demux(&broken);
    let want = expected(&units);
    assert_eq!(units_of(&events), vec![want[0].clone(), want[2].clone()]);
    assert_eq!(anomalies.continuity_errors, 1);
    assert_eq!(anomalies.dropped_pes, 1);
    assert!(matches!(
        anomalies.last_error,
        Some(DemuxError::Continuity { pid: 0x100, .. })
    ));
}

#[test]
fn lost_input_drops_the_pes_a_counter_wrap_would_hide() {
    // 100 kB frames: PES without a length, which only the next start ends.
    let (units, ts, video) = three_frames(100_000);
    let per_frame = video.len() / 3;
    // Sixteen packets of frame 2 vanish: the continuity counter comes round again.
    let from = video[per_frame + per_frame / 2];
    let to = video[per_frame + per_frame / 2 + 16];
    assert_eq!(to - from, 16, "only video packets in between");
    let (before, after) = (&ts[..from * PACKET], &ts[to * PACKET..]);
    let want = expected(&units);

    // Unnoticed, the frame comes out 16 packets short.
    let mut d = Demuxer::new();
    let mut events = Vec::new();
    d.push(before);
    d.push(after);
    d.flush();
    drain(&mut d, &mut events);
    let got = units_of(&events);
    assert_eq!(got.len(), 3);
    assert_ne!(got[1], want[1]);
    assert_eq!(d.take_anomalies().continuity_errors, 0);

    // Told, the demuxer drops it and counts it.
    let mut d = Demuxer::new();
    let mut events = Vec::new();
    d.push(before);
    d.lost_input();
    d.push(after);
    d.flush();
    drain(&mut d, &mut events);
    assert_eq!(units_of(&events), vec![want[0].clone(), want[2].clone()]);
    let anomalies = d.take_anomalies();
    assert_eq!(anomalies.dropped_pes, 1);
    assert_eq!(anomalies.continuity_errors, 0);
}

#[test]
fn unbounded_video_pes_ends_at_the_next_start_or_at_flush() {
    // 100 kB: too long for PES_packet_length, written as 0.
    let units: Vec<Unit> = (0..2i64)
        .map(|i| (0x100, i * 3_600, i * 3_600, false, h264_p(i as u8, 100_000)))
        .collect();
    let ts = mux(vec![track(0x100, Codec::H264)], &units);
    let mut d = Demuxer::new();
    let mut events = Vec::new();
    d.push(&ts);
    drain(&mut d, &mut events);
    assert_eq!(units_of(&events), expected(&units)[..1]);
    d.flush();
    drain(&mut d, &mut events);
    assert_eq!(units_of(&events), expected(&units));
}

#[test]
fn tracks_wait_for_the_first_adts_header() {
    // Video first: the AAC config is only known from the first ADTS frame, so the
    // tracks come when it arrives, followed by the units held back.
    let mut units: Vec<Unit> = (0..3i64)
        .map(|i| (0x100, i * 3_600, i * 3_600, false, h264_p(i as u8, 30)))
        .collect();
    units.push((0x101, 0, 0, true, vec![Bytes::from(body(10, 1))]));
    let (events, _) = demux(&mux(av_tracks(), &units));
    assert!(matches!(events.first(), Some(Event::Tracks(t)) if *t == av_tracks()));
    assert_eq!(units_of(&events), expected(&units));
    // An ADTS track that never sends anything is dropped after a while.
    let video_only: Vec<Unit> = (0..300i64)
        .map(|i| (0x100, i * 3_600, i * 3_600, false, h264_p(1, 10)))
        .collect();
    let (events, anomalies) = demux(&mux(av_tracks(), &video_only));
    assert_eq!(tracks_of(&events), vec![vec![track(0x100, Codec::H264)]]);
    assert_eq!(units_of(&events), expected(&video_only));
    assert_eq!(anomalies.unsupported_streams, 1);
}

#[test]
fn a_changed_pmt_announces_tracks_again() {
    let first = mux(
        vec![track(0x100, Codec::H264)],
        &[(0x100, 0, 0, true, h264_idr(1))],
    );
    let second = mux(
        vec![track(0x100, Codec::H264), track(0x101, Codec::Mpeg1Audio)],
        &[(0x101, 3_600, 3_600, true, vec![mp2_frame(2)])],
    );
    // The second muxer's counters restart: mark its first packets as discontinuous.
    let second = edit_packets(&second, |packets| {
        for p in packets.iter_mut().take(2) {
            p[3] |= 0x20;
            p.splice(4..4, [0x01, 0x80]);
            p.truncate(PACKET);
        }
    });
    let (events, _) = demux(&[first, second].concat());
    assert_eq!(
        tracks_of(&events),
        vec![
            vec![track(0x100, Codec::H264)],
            vec![track(0x100, Codec::H264), track(0x101, Codec::Mpeg1Audio)]
        ]
    );
    assert_eq!(units_of(&events).len(), 2);
}

#[test]
fn broken_packets_and_pes_are_counted_not_fatal() {
    let units: Vec<Unit> = (0..3i64)
        .map(|i| (0x100, i * 3_600, i * 3_600, false, h264_p(i as u8, 30)))
        .collect();
    let ts = mux(vec![track(0x100, Codec::H264)], &units);
    // Packet 2 (the first frame): transport_error_indicator. Packet 4 (the last frame):
    // its PES header loses the PTS flags.
    let broken = edit_packets(&ts, |packets| {
        packets[2][1] |= 0x80;
        let pes = packets[4]
            .windows(4)
            .position(|w| w == [0, 0, 1, 0xe0])
            .expect("PES start");
        packets[4][pes + 7] &= 0x3f;
    });
    let (events, anomalies) = demux(&broken);
    assert_eq!(units_of(&events), expected(&units)[1..2]);
    assert_eq!(anomalies.dropped_packets, 1);
    assert_eq!(anomalies.dropped_pes, 1);
    assert_eq!(anomalies.continuity_errors, 0);
    assert_eq!(
        anomalies.last_error,
        Some(DemuxError::MissingPts { pid: 0x100 })
    );
}

#[test]
fn pcr_is_read() {
    let ts = mux(
        vec![track(0x100, Codec::H264)],
        &[(0x100, 900_000, 900_000, true, h264_idr(1))],
    );
    let mut d = Demuxer::new();
    assert_eq!(d.last_pcr(), None);
    d.push(&ts);
    assert_eq!(d.last_pcr(), Some((900_000 - 9_000) * 300));
}

/// xorshift64: deterministic mutations without a rand crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn mutated_streams_never_panic_and_ignore_chunking() {
    let tracks = vec![
        track(0x100, Codec::H264),
        track(
            0x101,
            Codec::Mpeg4Audio {
                config: aac_config(),
            },
        ),
        track(0x102, Codec::Opus { channel_count: 2 }),
        track(
            0x103,
            Codec::Ac3 {
                sample_rate: 48_000,
                channel_count: 6,
            },
        ),
        track(0x104, Codec::Klv { synchronous: true }),
    ];
    let mut units = av_units(6);
    units.push((0x102, 90_000, 90_000, true, vec![Bytes::from(body(300, 1))]));
    units.push((0x103, 90_000, 90_000, true, vec![ac3_frame(2)]));
    units.push((0x104, 90_000, 90_000, true, vec![Bytes::from(body(30, 3))]));
    let clean = mux(tracks, &units);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..60 {
        let mut ts = clean.clone();
        for _ in 0..1 + rng.below(20) {
            let at = rng.below(ts.len());
            match rng.below(4) {
                0 => ts[at] ^= 1 << rng.below(8),
                1 => {
                    let end = (at + rng.below(400)).min(ts.len());
                    ts.drain(at..end);
                }
                2 => {
                    let junk: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
                    ts.splice(at..at, junk);
                }
                _ => {
                    let end = (at + rng.below(600)).min(ts.len());
                    let copy = ts[at..end].to_vec();
                    ts.splice(end..end, copy);
                }
            }
        }
        let whole = demux_chunked(&ts, ts.len());
        assert_eq!(demux_chunked(&ts, 1), whole);
        assert_eq!(demux_chunked(&ts, 1 + rng.below(1000)), whole);
    }
}

/// CRC-32/MPEG-2, to forge sections.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// A section with its header byte `index` changed by `edit`, CRC recomputed.
fn forge(mut section: Vec<u8>, index: usize, edit: impl FnOnce(&mut u8)) -> Vec<u8> {
    edit(&mut section[index]);
    let len = section.len();
    let crc = crc32(&section[..len - 4]);
    section[len - 4..].copy_from_slice(&crc.to_be_bytes());
    section
}

fn psi_packet(pid: u16, cc: u8, section: &[u8]) -> Vec<u8> {
    let mut p = vec![0x47, 0x40 | (pid >> 8) as u8, pid as u8, 0x10 | cc, 0x00];
    p.extend_from_slice(section);
    p.resize(PACKET, 0xff);
    p
}

#[test]
fn later_pat_sections_and_next_pmts_are_not_followed() {
    use ferromtx_codec::mpegts::psi::Pat;
    let units: Vec<Unit> = (0..2i64)
        .map(|i| (0x100, i * 3_600, i * 3_600, false, h264_p(i as u8, 30)))
        .collect();
    let ts = mux(vec![track(0x100, Codec::H264)], &units);
    let other_program = Pat {
        transport_stream_id: 1,
        programs: vec![(7, 0x1100)],
    }
    .marshal();
    // Section 1 of the PAT names another program: it must not replace program 1.
    let section_1 = forge(other_program.clone(), 6, |n| *n = 1);
    // A PMT "not yet in force" without the video.
    let next_pmt = Pmt {
        program_number: 1,
        pcr_pid: 0x100,
        streams: vec![],
    }
    .marshal();
    let next_pmt = forge(next_pmt, 5, |b| *b &= 0xfe);
    let (first, rest) = ts.split_at(3 * PACKET);
    let mut edited = first.to_vec();
    edited.extend(psi_packet(0, 1, &section_1));
    edited.extend(psi_packet(0x1000, 1, &next_pmt));
    edited.extend_from_slice(rest);
    let (events, anomalies) = demux(&edited);
    assert_eq!(tracks_of(&events), vec![vec![track(0x100, Codec::H264)]]);
    assert_eq!(units_of(&events), expected(&units));
    assert_eq!(anomalies, Anomalies::default());
}

#[test]
fn pes_in_progress_share_one_memory_budget() {
    use ferromtx_codec::mpegts::{MAX_PES_SIZE, PesError};
    // Three video PIDs, each with an unbounded 6 MiB PES still open (they end only at the
    // next start): together they would pass the 16 MiB budget, so the third is dropped.
    let tracks: Vec<Track> = (0..3).map(|i| track(0x100 + i, Codec::H264)).collect();
    let big = |seed| vec![nal(&[0x41, 0x9a], 6 << 20, seed)];
    let units: Vec<Unit> = (0..3u16)
        .map(|i| (0x100 + i, 0, 0, false, big(i as u8)))
        .collect();
    let (events, anomalies) = demux(&mux(tracks, &units));
    let got: Vec<u16> = units_of(&events).iter().map(|au| au.pid).collect();
    assert_eq!(got, vec![0x100, 0x101]);
    assert_eq!(anomalies.dropped_pes, 1);
    assert!(matches!(
        anomalies.last_error,
        Some(DemuxError::Pes {
            pid: 0x102,
            error: PesError::TooLarge { max }
        }) if max < MAX_PES_SIZE
    ));
}
