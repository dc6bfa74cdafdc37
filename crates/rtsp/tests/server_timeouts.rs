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

fn packet(pt: u8, i: usize, size: usize) -> Bytes {
    let mut payload = vec![0x65u8; size];
    payload[0] = if pt == 96 { 0x65 } else { 0xfc };
    rtp::Packet {
        marker: true,
        payload_type: pt,
        sequence_number: i as u16,
        timestamp: 3600 * i as u32,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_that_stops_reading_is_dropped_after_write_timeout() {
    let settings = RtspSettings {
        write_timeout: Duration::from_millis(300),
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

    let mut reader = Client::connect_small_buffer(addr).await;
    reader.play_first_track_tcp(&url).await;
    let readers = || paths.path_info("stall").map_or(0, |p| p.readers.len());
    assert_eq!(readers(), 1);

    // The reader never reads again; the publisher keeps sending until the server
    // gives up on the reader (bounded: at most 200 batches of 100 packets of 1.2 kB).
    let mut dropped = false;
    for batch in 0..200 {
        for i in 0..100 {
            publisher
                .send_frame(0, packet(96, batch * 100 + i, 1200))
                .await;
        }
        if readers() == 0 {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(dropped, "stalled reader still attached");
    drop(reader);
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
        let pkt = packet(96, i, 100 + i);
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
