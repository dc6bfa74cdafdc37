//! A reader that stops reading is dropped after `writeTimeout`; a UDP publisher that
//! vanishes is dropped after `readTimeout`.

mod server_support;

use std::time::Duration;

use bytes::Bytes;
use ferromtx_codec::rtp;
use ferromtx_rtsp::RtspSettings;
use ferromtx_rtsp::message::{Method, StatusCode};
use server_support::{Client, OPEN_CONF, STEP, server_with};
use tokio::net::UdpSocket;

const SDP: &[u8] = include_bytes!("../testdata/ffmpeg_h264_opus.sdp");

/// The `i`th RTP packet, of `size` payload bytes numbered `i` (big-endian after the first
/// byte).
fn packet(pt: u8, i: u32, size: usize) -> Bytes {
    numbered_packet(pt, i, i, size)
}

/// The `i`th RTP packet with the number `number` in its payload.
fn numbered_packet(pt: u8, i: u32, number: u32, size: usize) -> Bytes {
    let mut payload = vec![0x65u8; size];
    payload[0] = if pt == 96 { 0x65 } else { 0xfc };
    payload[1..5].copy_from_slice(&number.to_be_bytes());
    rtp::Packet {
        marker: true,
        payload_type: pt,
        sequence_number: i as u16,
        timestamp: 3600u32.wrapping_mul(i),
        ssrc: 7,
        csrc: Vec::new(),
        extension: None,
        payload: Bytes::from(payload),
    }
    .marshal()
}

async fn announce(c: &mut Client, url: &str) {
    let res = c
        .request(
            Method::Announce,
            url,
            &[],
            Some(("application/sdp", Bytes::from_static(SDP))),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

async fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..400 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The number a [`packet`] carries in its payload (after the NAL header byte).
fn packet_number(frame: &Bytes) -> u32 {
    let pkt = rtp::Packet::unmarshal(frame).expect("valid RTP");
    u32::from_be_bytes(pkt.payload[1..5].try_into().expect("numbered payload"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_that_stops_reading_is_dropped_after_write_timeout() {
    const WRITE_TIMEOUT: Duration = Duration::from_millis(300);
    let settings = RtspSettings {
        write_timeout: WRITE_TIMEOUT,
        ..RtspSettings::loopback()
    };
    let (server, paths) = server_with(OPEN_CONF, settings).await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/stall");

    let mut publisher = Client::connect(addr).await;
    announce(&mut publisher, &url).await;
    publisher.record_setup_tcp(&url).await;
    let res = publisher.request(Method::Record, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);

    // A reader that keeps reading, beside the one that stops: it must get every packet, in
    // order, before, while and after the other one stalls. It stops at the `LAST` packet.
    const LAST: u32 = u32::MAX;
    let mut normal = Client::connect(addr).await;
    normal.play_first_track_tcp(&url).await;
    let mut stalled = Client::connect_small_buffer(addr).await;
    stalled.play_first_track_tcp(&url).await;
    let readers = || paths.path_info("stall").map_or(0, |p| p.readers.len());
    assert_eq!(readers(), 2);
    let normal_reader = tokio::spawn(async move {
        let mut got = Vec::new();
        for _ in 0..100_000 {
            let frame = normal.frame().await;
            if frame.channel != 0 {
                continue;
            }
            let n = packet_number(&frame.payload);
            if n == LAST {
                return got;
            }
            got.push(n);
        }
        panic!("no last packet among 100000 frames");
    });

    // The stalled reader never reads again; the publisher keeps sending (each write fails
    // the test after `STEP` if the server stops reading it) until the server gives up on
    // the stalled reader: at most 200 batches of 100 packets of 1.2 kB.
    let stopped_reading = tokio::time::Instant::now();
    let mut sent = 0u32;
    let mut dropped_after = None;
    for _ in 0..200 {
        for _ in 0..100 {
            publisher.send_frame(0, packet(96, sent, 1200)).await;
            sent += 1;
        }
        if readers() == 1 {
            dropped_after = Some(stopped_reading.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dropped_after = dropped_after.expect("stalled reader still attached");
    // It cannot have been found stalled before its writes had blocked for writeTimeout.
    assert!(
        dropped_after >= WRITE_TIMEOUT,
        "dropped {dropped_after:?} after it stopped reading, before writeTimeout"
    );
    assert!(
        stalled.closed_by_server().await,
        "stalled reader's connection closed"
    );

    // The publisher and the other reader go on.
    for _ in 0..100 {
        publisher.send_frame(0, packet(96, sent, 1200)).await;
        sent += 1;
    }
    publisher
        .send_frame(0, numbered_packet(96, sent, LAST, 100))
        .await;
    let got = tokio::time::timeout(STEP, normal_reader)
        .await
        .expect("the normal reader gets the last packet in time")
        .expect("normal reader");
    let want: Vec<u32> = (0..sent).collect();
    assert!(
        got == want,
        "normal reader got {} of {sent} packets, in order: first gap at {:?}",
        got.len(),
        got.iter().zip(&want).position(|(a, b)| a != b)
    );
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_publisher_is_relayed_then_times_out() {
    let settings = RtspSettings {
        read_timeout: Duration::from_millis(500),
        ..RtspSettings::loopback()
    };
    let (server, paths) = server_with(OPEN_CONF, settings).await;
    let addrs = server.local_addrs();
    let (server_rtp, _) = addrs.udp.expect("UDP enabled");
    let url = format!("rtsp://{}/udp", addrs.rtsp);

    let mut socks = Vec::new();
    for _ in 0..4 {
        socks.push(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    }
    let port = |i: usize| socks[i].local_addr().expect("addr").port();
    let mut publisher = Client::connect(addrs.rtsp).await;
    announce(&mut publisher, &url).await;
    for i in 0..2 {
        let t = format!(
            "RTP/AVP;unicast;client_port={}-{};mode=record",
            port(2 * i),
            port(2 * i + 1)
        );
        let res = publisher
            .request(
                Method::Setup,
                &format!("{url}/streamid={i}"),
                &[("Transport", &t)],
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK);
        let th = res.headers.get("Transport").unwrap_or_default().to_string();
        assert!(
            th.contains(&format!("server_port={}", server_rtp.port())),
            "{th}"
        );
    }
    let res = publisher.request(Method::Record, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);

    let mut reader = Client::connect(addrs.rtsp).await;
    reader.play_first_track_tcp(&url).await;

    // Packets from the announced client port reach the reader in order.
    let mut sent = Vec::new();
    for i in 0..10 {
        let pkt = packet(96, i, 100 + i as usize);
        sent.push(rtp::Packet::unmarshal(&pkt).expect("rtp").payload);
        socks[0].send_to(&pkt, server_rtp).await.expect("send");
    }
    let mut got = Vec::new();
    for _ in 0..100 {
        if got.len() == sent.len() {
            break;
        }
        let f = reader.frame().await;
        if f.channel == 0 {
            got.push(rtp::Packet::unmarshal(&f.payload).expect("rtp").payload);
        }
    }
    assert_eq!(got, sent);

    // Then the publisher goes silent: its session times out and the path is released.
    assert!(
        wait_for(|| paths.path_info("udp").is_none_or(|p| !p.ready)).await,
        "UDP publisher did not time out"
    );
    assert!(
        tokio::time::timeout(STEP, reader.closed_by_server())
            .await
            .unwrap_or(false)
    );
    server.close().await;
}
