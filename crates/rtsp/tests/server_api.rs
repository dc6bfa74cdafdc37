//! What the API shows of RTSP connections and sessions, and kicking a session.

mod server_support;

use bytes::Bytes;
use ferromtx_rtsp::message::{Method, StatusCode};
use ferromtx_rtsp::server::SessionState;
use ferromtx_rtsp::server::{RtspServer, RtspSettings};
use server_support::{Client, OPEN_CONF, server, server_with};

const SDP: &[u8] = include_bytes!("../testdata/ffmpeg_h264_opus.sdp");

async fn publish(url: &str, addr: std::net::SocketAddr) -> Client {
    let mut publisher = Client::connect(addr).await;
    let res = publisher
        .request(
            Method::Announce,
            url,
            &[],
            Some(("application/sdp", Bytes::from_static(SDP))),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    publisher.record_setup_tcp(url).await;
    let res = publisher.request(Method::Record, url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    publisher
}

fn rtp(seq: u16) -> Bytes {
    ferromtx_codec::rtp::Packet {
        marker: true,
        payload_type: 96,
        sequence_number: seq,
        timestamp: 3600 * u32::from(seq),
        ssrc: 7,
        csrc: Vec::new(),
        extension: None,
        payload: Bytes::from_static(&[0x65, 1, 2, 3]),
    }
    .marshal()
}

#[tokio::test]
async fn lists_connections_and_sessions_with_counters() {
    let (server, _paths) = server(OPEN_CONF).await;
    let addr = server.local_addrs().rtsp;
    assert!(server.conns().is_empty());
    let mut publisher = publish(&format!("rtsp://{addr}/cam?key=1"), addr).await;
    for seq in 0..5 {
        publisher.send_frame(0, rtp(seq)).await;
    }
    // A request after the frames: once it is answered, the frames were handled.
    let res = publisher
        .request(
            Method::GetParameter,
            &format!("rtsp://{addr}/cam"),
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);

    let conns = server.conns();
    assert_eq!(conns.len(), 1);
    let sessions = server.sessions();
    assert_eq!(sessions.len(), 1);
    let (c, s) = (&conns[0], &sessions[0]);
    assert_eq!(c.session.as_deref(), Some(s.id.as_str()));
    assert_eq!(c.id.len(), 36, "uuid: {}", c.id);
    assert_ne!(c.id, s.id);
    assert!(c.remote_addr.ip().is_loopback());
    assert!(c.bytes_received > 0 && c.bytes_sent > 0);
    assert_eq!(s.state, SessionState::Publish);
    assert_eq!(s.state.as_str(), "publish");
    assert_eq!(s.path, "cam");
    assert_eq!(s.query, "key=1");
    assert_eq!(s.transport.as_deref(), Some("TCP"));
    assert_eq!(s.profile.as_deref(), Some("AVP"));
    assert_eq!(s.rtp_packets_received, 5);
    assert_eq!(s.rtp_packets_in_error, 0);
    assert!(s.bytes_received > 0);

    // A second connection without a session.
    let mut idle = Client::connect(addr).await;
    let res = idle
        .request(Method::Options, &format!("rtsp://{addr}/cam"), &[], None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let conns = server.conns();
    assert_eq!(conns.len(), 2);
    assert_eq!(conns.iter().filter(|c| c.session.is_none()).count(), 1);
    assert_eq!(server.sessions().len(), 1);
    drop(idle);
    server.close().await;
}

#[tokio::test]
async fn kick_closes_session_and_connection() {
    let (server, _paths) = server(OPEN_CONF).await;
    let addr = server.local_addrs().rtsp;
    let mut publisher = publish(&format!("rtsp://{addr}/cam"), addr).await;
    assert!(!server.kick_session("00000000-0000-0000-0000-000000000000"));
    let id = server.sessions()[0].id.clone();
    assert!(server.kick_session(&id));
    assert!(publisher.closed_by_server().await);
    // The connection task removes itself once closed.
    for _ in 0..100 {
        if server.conns().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(server.conns().is_empty());
    assert!(server.sessions().is_empty());
    assert!(!server.kick_session(&id));
    server.close().await;
}

fn rtp_at(seq: u16, ts: u32) -> Bytes {
    ferromtx_codec::rtp::Packet {
        marker: true,
        payload_type: 96,
        sequence_number: seq,
        timestamp: ts,
        ssrc: 7,
        csrc: Vec::new(),
        extension: None,
        payload: Bytes::from_static(&[0x65, 1, 2, 3]),
    }
    .marshal()
}

/// Lost publisher packets and their jitter, and what a reader reports it lost, are
/// shown by the API (`inboundRTPPacketsLost`, `inboundRTPPacketsJitter`,
/// `outboundRTPPacketsReportedLost`).
#[tokio::test]
async fn loss_jitter_and_reported_loss_are_shown() {
    use ferromtx_rtsp::rtcp::{self, ReceiverReport, ReportBlock, RtcpPacket};
    use std::time::Duration;
    let (server, _paths) = server(OPEN_CONF).await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/cam");
    let mut publisher = publish(&url, addr).await;

    let mut reader = Client::connect(addr).await;
    reader.play_first_track_tcp(&url).await;

    // Sequence numbers 3 and 4 never come; the timestamps say 40 ms apart but the
    // packets come in bursts, which is jitter.
    for (seq, pause) in [(0u16, 0u64), (1, 0), (2, 120), (5, 0), (6, 90)] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        publisher
            .send_frame(0, rtp_at(seq, 3600 * u32::from(seq)))
            .await;
    }
    let first = tokio::time::timeout(server_support::STEP, reader.frame())
        .await
        .expect("the reader gets packets");
    assert_eq!(first.channel, 0);
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 99,
        reports: vec![ReportBlock {
            ssrc: 7,
            fraction_lost: 0,
            cumulative_lost: 3,
            extended_highest_seq: 6,
            jitter: 0,
            last_sr: 0,
            delay_since_last_sr: 0,
        }],
    });
    reader
        .send_frame(1, rtcp::marshal_compound(&[rr]).expect("RTCP"))
        .await;

    let mut shown = None;
    for _ in 0..150 {
        let sessions = server.sessions();
        let publishing = sessions.iter().find(|s| s.state == SessionState::Publish);
        let reading = sessions.iter().find(|s| s.state == SessionState::Read);
        if let (Some(p), Some(r)) = (publishing, reading)
            && p.rtp_packets_jitter > 0.0
            && r.rtp_packets_reported_lost > 0
        {
            shown = Some((p.clone(), r.clone()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (p, r) = shown.expect("jitter and reported loss shown within 3 s");
    assert_eq!(p.rtp_packets_lost, 2);
    assert_eq!(p.rtp_packets_received, 5);
    assert_eq!(r.rtp_packets_reported_lost, 3);
    assert_eq!(r.rtcp_packets_received, 1);
    assert!(r.rtp_packets_sent >= 1);
    server.close().await;
}

/// A reload that changes `readTimeout` closes the RTSP server and starts it again on the
/// same ports at once: `close` returns only once the TCP listener and both UDP sockets are
/// free. (The differential test found a restart that failed with "address already in use"
/// while the UDP receive loops were still being cancelled.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_closed_server_frees_its_tcp_and_udp_ports_at_once() {
    let first = RtspSettings::loopback();
    let (server, paths) = server_with(OPEN_CONF, first.clone()).await;
    let addrs = server.local_addrs();
    let (rtp, rtcp) = addrs.udp.expect("UDP on");
    let mut same = first;
    same.rtsp_address = addrs.rtsp.to_string();
    same.rtp_address = rtp.to_string();
    same.rtcp_address = rtcp.to_string();
    let mut server = server;
    for round in 0..50 {
        // A client that set up UDP, so that a route exists when the server goes.
        let mut c = Client::connect(addrs.rtsp).await;
        let res = c
            .request(
                Method::Options,
                &format!("rtsp://{}/cam", addrs.rtsp),
                &[],
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK);
        server.close().await;
        // Bound again before anything else runs on this runtime: nothing may still hold
        // the ports once `close` has returned.
        let freed = (
            std::net::TcpListener::bind(addrs.rtsp),
            std::net::UdpSocket::bind(rtp),
            std::net::UdpSocket::bind(rtcp),
        );
        assert!(
            freed.0.is_ok() && freed.1.is_ok() && freed.2.is_ok(),
            "round {round}: ports still held after close: {freed:?}"
        );
        drop(freed);
        server = RtspServer::start(same.clone(), std::sync::Arc::clone(&paths))
            .await
            .unwrap_or_else(|e| panic!("round {round}: the ports were not free: {e}"));
    }
    server.close().await;
}
