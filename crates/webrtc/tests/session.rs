//! Session behaviour in simulated time (sans-IO pair): lifetime, keyframe coalescing,
//! garbage input, shared payloads.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ferromtx_webrtc::session::{CloseReason, SessionEvent};
use ferromtx_webrtc::{EgressItem, EgressPacket};
use str0m::media::KeyframeRequestKind;

fn closed(p: &Pair) -> Option<CloseReason> {
    p.server_events.iter().find_map(|e| match e {
        SessionEvent::Closed(r) => Some(r.clone()),
        _ => None,
    })
}

#[test]
fn handshake_timeout_closes_session() {
    let mut p = Pair::whep(Instant::now(), &[h264()], 5000);
    p.cut = true;
    p.mute_client = true;
    for _ in 0..9 {
        p.advance(Duration::from_secs(1));
    }
    assert_eq!(closed(&p), None, "closed before webrtcHandshakeTimeout");
    for _ in 0..2 {
        p.advance(Duration::from_secs(1));
    }
    assert_eq!(closed(&p), Some(CloseReason::HandshakeTimeout));
    assert!(p.server.is_closed());
}

#[test]
fn vanished_peer_is_detected() {
    let mut p = Pair::whep(Instant::now(), &[h264()], 5001);
    p.connect();
    // A live peer keeps the session open (consent checks, RTCP).
    for _ in 0..60 {
        p.advance(Duration::from_millis(500));
    }
    assert_eq!(closed(&p), None, "live peer was dropped");
    // Then it vanishes.
    p.mute_client = true;
    for _ in 0..16 {
        p.advance(Duration::from_millis(500));
    }
    assert_eq!(closed(&p), None, "closed too early");
    for _ in 0..10 {
        p.advance(Duration::from_millis(500));
    }
    assert_eq!(closed(&p), Some(CloseReason::IceTimeout));
}

#[test]
fn publishers_are_asked_for_a_keyframe_every_two_seconds() {
    let (mut p, mid) = Pair::whip(Instant::now(), 5003);
    p.connect();
    let pt = p.client.media(mid).unwrap().remote_pts()[0];
    let plis = |p: &Pair| {
        p.client_events
            .iter()
            .filter(|e| matches!(e, str0m::Event::KeyframeRequest(_)))
            .count()
    };
    // One packet every 100 ms for 7 s of simulated time.
    let mut counts = Vec::new();
    for n in 0..70u32 {
        let now = p.now;
        let mut api = p.client.direct_api();
        let tx = api.stream_tx_by_mid(mid, None).unwrap();
        tx.write_rtp(
            str0m::rtp::RtpWrite::new(pt, u64::from(n).into(), n * 9000, now, payload(0, 100))
                .marker(true),
        );
        p.advance(Duration::from_millis(100));
        counts.push(plis(&p));
    }
    // The first packet gets one at once (the receive stream exists from then on), then one
    // comes every 2 s after the connection.
    assert!(counts[0] >= 1, "no keyframe request for the first packet");
    let last = counts[counts.len() - 1];
    assert_eq!(last - counts[0], 3, "{counts:?}");
}

#[test]
fn a_publishers_lost_packets_are_nacked_and_retransmitted() {
    let (mut p, mid) = Pair::whip(Instant::now(), 5004);
    p.connect();
    let pt = p.client.media(mid).unwrap().remote_pts()[0];
    // Every 20th RTP datagram from the publisher is lost (retransmissions included).
    let lost = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut rtp_seen = 0u32;
    let counted = Arc::clone(&lost);
    p.lose_to_server = Some(Box::new(move |d: &[u8]| {
        let rtp = d.len() > 12 && d[0] >> 6 == 2 && !(192..=223).contains(&d[1]);
        if rtp {
            rtp_seen += 1;
        }
        let drop = rtp && rtp_seen.is_multiple_of(20);
        if drop {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        drop
    }));
    for n in 0..200u32 {
        let now = p.now;
        let mut api = p.client.direct_api();
        let tx = api.stream_tx_by_mid(mid, None).unwrap();
        tx.write_rtp(
            str0m::rtp::RtpWrite::new(
                pt,
                u64::from(n).into(),
                n * 3600,
                now,
                payload(n as usize, 900),
            )
            .marker(true)
            .nackable(true),
        );
        p.advance(Duration::from_millis(10));
    }
    for _ in 0..50 {
        p.advance(Duration::from_millis(20));
    }
    let got: Vec<u16> = p
        .server_events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Rtp { packet, .. } => Some(packet.sequence_number),
            _ => None,
        })
        .collect();
    // All 200, although ten never arrived the first time: their retransmissions come late,
    // and the sink's ingest puts them back in place (crates/core/tests/ingest.rs).
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..200u16).collect::<Vec<_>>());
    assert_ne!(got, sorted, "retransmissions arrive after later packets");
    assert!(lost.load(std::sync::atomic::Ordering::Relaxed) >= 10);
}

#[test]
fn keyframe_requests_are_coalesced() {
    let mut p = Pair::whep(Instant::now(), &[h264()], 5002);
    p.connect();
    // Media first, so the viewer has a receive stream to send PLI on.
    for n in 0..5 {
        let item = EgressItem {
            track: 0,
            wallclock: p.now,
            packets: Arc::from(vec![EgressPacket {
                marker: true,
                timestamp: n * 3000,
                payload: payload(n as usize, 100),
            }]),
        };
        p.server.write(&item);
        p.advance(Duration::from_millis(20));
    }
    let mut ssrcs = Vec::new();
    for e in &p.client_events {
        if let str0m::Event::RtpPacket(r) = e {
            ssrcs.push(r.header.ssrc);
        }
    }
    assert_eq!(ssrcs.len(), 5, "viewer got no media");
    let request = |p: &mut Pair| {
        let mut api = p.client.direct_api();
        let rx = api.stream_rx(&ssrcs[0]).unwrap();
        rx.request_keyframe(KeyframeRequestKind::Pli);
    };
    for _ in 0..10 {
        request(&mut p);
        p.advance(Duration::from_millis(50));
    }
    let count = |p: &Pair| {
        p.server_events
            .iter()
            .filter(|e| matches!(e, SessionEvent::KeyframeRequest))
            .count()
    };
    assert_eq!(count(&p), 1);
    p.advance(Duration::from_millis(600));
    request(&mut p);
    p.advance(Duration::from_millis(50));
    assert_eq!(count(&p), 2);
}

#[test]
fn garbage_datagrams_do_not_break_a_connected_session() {
    let mut p = Pair::whep(Instant::now(), &[h264()], 5003);
    p.connect();
    let mut seed = 0x2545_f491_u32;
    for i in 0..1000usize {
        let len = i % 400;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        // Every class of first byte: STUN, DTLS, RTP/RTCP and unknown.
        let mut data = data;
        if let Some(first) = data.first_mut() {
            *first = [0u8, 23, 128, 200, 255][i % 5];
        }
        let now = p.now;
        p.server.handle_datagram(now, p.client_addr, &data);
    }
    p.advance(Duration::from_millis(10));
    assert!(!p.server.is_closed());
    let item = EgressItem {
        track: 0,
        wallclock: p.now,
        packets: Arc::from(vec![EgressPacket {
            marker: true,
            timestamp: 0,
            payload: payload(1, 300),
        }]),
    };
    p.server.write(&item);
    p.advance(Duration::from_millis(10));
    let got: Vec<_> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            str0m::Event::RtpPacket(r) => Some(r.payload.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0][..], &payload(1, 300)[..]);
    assert!(p.server.stats().rejected_datagrams > 0);
}

#[test]
fn payloads_are_shared_not_copied_per_viewer() {
    let now = Instant::now();
    let mut viewers: Vec<Pair> = (0..3)
        .map(|i| {
            let mut p = Pair::whep(now, &[h264()], 5100 + i);
            p.connect();
            p
        })
        .collect();
    let shared = payload(7, 1200);
    let item = EgressItem {
        track: 0,
        wallclock: viewers[0].now,
        packets: Arc::from(vec![EgressPacket {
            marker: true,
            timestamp: 0,
            payload: Arc::clone(&shared),
        }]),
    };
    for p in &mut viewers {
        p.server.write(&item);
        p.advance(Duration::from_millis(10));
    }
    drop(item);
    // Each viewer's retransmission cache holds a reference to the one payload.
    assert_eq!(Arc::strong_count(&shared), 1 + viewers.len());
    for p in &viewers {
        assert!(p.client_events.iter().any(|e| matches!(
            e,
            str0m::Event::RtpPacket(r) if r.payload[..] == shared[..]
        )));
    }
}

#[test]
fn a_turn_larger_than_a_feed_leaves_whole_and_in_order() {
    // A 40-packet keyframe and an audio frame written in one turn: str0m is handed them a few
    // at a time, and the turn still sends every packet, in order, before it ends.
    let mut p = Pair::whep(Instant::now(), &[h264(), opus()], 5200);
    p.connect();
    p.client_events.clear();
    let video: Vec<EgressPacket> = (0..40)
        .map(|i| EgressPacket {
            marker: i == 39,
            timestamp: 9000,
            payload: payload(i, 1100),
        })
        .collect();
    let unit = |track, packets: Vec<EgressPacket>| EgressItem {
        track,
        wallclock: p.now,
        packets: Arc::from(packets),
    };
    let keyframe = unit(0, video);
    let audio = unit(
        1,
        vec![EgressPacket {
            marker: true,
            timestamp: 960,
            payload: payload(99, 120),
        }],
    );
    p.server.write(&keyframe);
    p.server.write(&audio);
    p.advance(Duration::from_millis(1));
    let received: Vec<&str0m::rtp::RtpPacket> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            str0m::Event::RtpPacket(r) => Some(r),
            _ => None,
        })
        .collect();
    let video: Vec<_> = received
        .iter()
        .filter(|r| r.payload.len() == 1100)
        .collect();
    assert_eq!(video.len(), 40);
    for (i, r) in video.iter().enumerate() {
        assert_eq!(
            r.payload[..],
            payload(i, 1100)[..],
            "packet {i} out of order"
        );
        assert_eq!(*r.seq_no, *video[0].seq_no + i as u64);
    }
    assert!(video[39].header.marker);
    assert_eq!(
        received
            .iter()
            .filter(|r| r.payload[..] == payload(99, 120)[..])
            .count(),
        1
    );
    assert_eq!(p.server.stats().rtp_packets_written, 41);
}
