//! A relay to test sources with: a raw publisher on server A sending numbered H264
//! packets, server B whose path `proxy` pulls from A, a reader of B checking it gets
//! A's payloads in order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferromtx_codec::rtp;
use ferromtx_core::{PathManager, SourceRegistry};
use ferromtx_rtsp::message::{Method, StatusCode};
use ferromtx_rtsp::{RtspServer, RtspSettings};
use tokio::task::JoinHandle;

use super::{Client, STEP};

pub const SDP: &[u8] = include_bytes!("../../testdata/ffmpeg_h264_opus.sdp");
/// Packets the publisher sends at most (one every 20 ms).
pub const MAX_PACKETS: usize = 1000;
/// Payloads a reader of B must receive.
pub const WANTED: usize = 10;

pub fn video_payload(i: usize) -> Bytes {
    let mut payload = vec![0x65, 0x88, 0x84];
    payload.extend_from_slice(format!("video-{i:04}").as_bytes());
    Bytes::from(payload)
}

pub fn video_packet(i: usize) -> Bytes {
    rtp::Packet {
        marker: true,
        payload_type: 96,
        sequence_number: 1000 + i as u16,
        timestamp: 90_000 + 3600 * i as u32,
        ssrc: 0x1111_1111,
        csrc: Vec::new(),
        extension: None,
        payload: video_payload(i),
    }
    .marshal()
}

/// Publishes to `url` on server A and keeps sending video packets in the background.
pub async fn publish(url: &str, addr: SocketAddr, auth: Option<&str>) -> JoinHandle<()> {
    publish_with(Client::connect(addr).await, url, auth).await
}

/// [`publish`] through a connected client (plain or TLS).
pub async fn publish_with(mut publisher: Client, url: &str, auth: Option<&str>) -> JoinHandle<()> {
    let extra: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    let res = publisher
        .request(
            Method::Announce,
            url,
            &extra,
            Some(("application/sdp", Bytes::from_static(SDP))),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    for (i, ch) in [(0, "0-1"), (1, "2-3")] {
        let transport = format!("RTP/AVP/TCP;unicast;interleaved={ch};mode=record");
        let mut headers = extra.clone();
        headers.push(("Transport", &transport));
        let res = publisher
            .request(
                Method::Setup,
                &format!("{url}/streamid={i}"),
                &headers,
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK);
    }
    let res = publisher.request(Method::Record, url, &extra, None).await;
    assert_eq!(res.status, StatusCode::OK);
    tokio::spawn(async move {
        for i in 0..MAX_PACKETS {
            publisher.send_frame(0, video_packet(i)).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// Server B, whose path `proxy` has the given configuration lines.
pub async fn proxy_server(path_conf: &str) -> (RtspServer, Arc<PathManager>) {
    let yaml = format!("paths:\n  proxy:\n{path_conf}");
    let conf = Arc::new(
        ferromtx_conf::load_from_str(&yaml, &|_| None)
            .expect("valid conf")
            .conf,
    );
    let auth = Arc::new(ferromtx_auth::Manager::new(&conf));
    let mut sources = SourceRegistry::new();
    ferromtx_rtsp::source::register(&mut sources);
    let paths = Arc::new(PathManager::with_sources(conf, auth, sources));
    let server = RtspServer::start(RtspSettings::loopback(), Arc::clone(&paths))
        .await
        .expect("server B starts");
    (server, paths)
}

pub async fn wait_ready(paths: &PathManager, name: &str) {
    for _ in 0..200 {
        if paths.path_info(name).is_some_and(|p| p.ready) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("path {name} not ready in time");
}

/// Reads `proxy` from server B over TCP; returns the numbers of the video payloads.
pub async fn read_proxy(addr: SocketAddr) -> Vec<usize> {
    let url = format!("rtsp://{addr}/proxy");
    let mut reader = Client::connect(addr).await;
    let res = reader.request(Method::Describe, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    let sdp = String::from_utf8_lossy(&res.body).to_string();
    assert!(sdp.contains("H264/90000"), "{sdp}");
    for (i, ch) in [(0, "0-1"), (1, "2-3")] {
        let res = reader
            .request(
                Method::Setup,
                &format!("{url}/trackID={i}"),
                &[(
                    "Transport",
                    &format!("RTP/AVP/TCP;unicast;interleaved={ch}"),
                )],
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK);
    }
    let res = reader.request(Method::Play, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    let mut got = Vec::new();
    for _ in 0..10 * WANTED {
        let frame = tokio::time::timeout(STEP, reader.frame())
            .await
            .expect("frames in time");
        if frame.channel != 0 {
            continue;
        }
        let pkt = rtp::Packet::unmarshal(&frame.payload).expect("valid RTP");
        let text = String::from_utf8_lossy(&pkt.payload[3..]).to_string();
        let n: usize = text
            .strip_prefix("video-")
            .and_then(|n| n.parse().ok())
            .expect("a payload of A");
        assert_eq!(pkt.payload, video_payload(n), "payload forwarded untouched");
        got.push(n);
        if got.len() == WANTED {
            break;
        }
    }
    got
}

pub fn assert_consecutive(got: &[usize]) {
    assert_eq!(got.len(), WANTED, "{got:?}");
    for w in got.windows(2) {
        assert_eq!(w[1], w[0] + 1, "in order, none lost: {got:?}");
    }
}
