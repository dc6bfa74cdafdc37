//! UDP multicast, kept on the loopback: the server sends a stream's groups through the
//! interface its readers connected on (127.0.0.1 here, TTL 16 but loopback only), a raw
//! reader joins the groups on 127.0.0.1, and a pull source with `rtspTransport:
//! multicast` reads them.

mod server_support;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

use ferromtx_codec::rtp;
use ferromtx_rtsp::message::{Method, StatusCode};
use ferromtx_rtsp::server::SessionState;
use ferromtx_rtsp::server_session::TransportKind;
use ferromtx_rtsp::transport::Transport;
use ferromtx_rtsp::{RtspServer, RtspSettings};
use server_support::relay::{
    assert_consecutive, proxy_server, publish, read_proxy, video_payload, wait_ready,
};
use server_support::{Client, OPEN_CONF, STEP, free_udp_pair, server_with};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// A server with multicast in `range` on free ports.
async fn multicast_server(
    range: &str,
) -> (RtspServer, Arc<ferromtx_core::PathManager>, (u16, u16)) {
    server_support::init_logs();
    let ports = free_udp_pair();
    let settings = RtspSettings {
        transports: vec![
            TransportKind::Udp,
            TransportKind::Multicast,
            TransportKind::Tcp,
        ],
        multicast_ip_range: range.into(),
        multicast_rtp_port: ports.0,
        multicast_rtcp_port: ports.1,
        ..RtspSettings::loopback()
    };
    let (server, paths) = server_with(OPEN_CONF, settings).await;
    (server, paths, ports)
}

/// A socket that joined `group` on the loopback, bound to `group:port`.
fn join(group: Ipv4Addr, port: u16) -> UdpSocket {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("socket");
    s.set_reuse_address(true).expect("reuse");
    s.bind(&SocketAddr::V4(SocketAddrV4::new(group, port)).into())
        .expect("bind group");
    s.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
        .expect("join on lo");
    s.set_nonblocking(true).expect("nonblocking");
    UdpSocket::from_std(s.into()).expect("tokio socket")
}

/// Sets up both medias of `url` with multicast; returns the groups and the ports.
async fn setup_multicast(reader: &mut Client, url: &str) -> Vec<Transport> {
    let res = reader.request(Method::Describe, url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    let mut out = Vec::new();
    for i in 0..2 {
        let res = reader.setup(url, i, "RTP/AVP;multicast").await;
        assert_eq!(res.status, StatusCode::OK);
        let th = Transport::parse(res.headers.get("Transport").expect("Transport"))
            .expect("valid Transport");
        out.push(th);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_share_one_group_per_media() {
    let (server, paths, ports) = multicast_server("239.255.41.0/24").await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/cam");
    let sending = publish(&url, addr, None).await;
    wait_ready(&paths, "cam").await;

    let mut reader = Client::connect(addr).await;
    let medias = setup_multicast(&mut reader, &url).await;
    let groups: Vec<Ipv4Addr> = medias
        .iter()
        .map(|t| {
            t.destination
                .as_deref()
                .expect("destination")
                .parse()
                .expect("IPv4")
        })
        .collect();
    assert_eq!(groups[0], Ipv4Addr::new(239, 255, 41, 1));
    assert_eq!(groups[1], Ipv4Addr::new(239, 255, 41, 2));
    for t in &medias {
        assert_eq!(t.port, Some(ports));
        assert_eq!(t.ttl, Some(16));
    }
    let socket = join(groups[0], ports.0);
    let res = reader.request(Method::Play, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);

    // A second reader gets the same groups: the stream is sent once.
    let mut second = Client::connect(addr).await;
    let again = setup_multicast(&mut second, &url).await;
    assert_eq!(again[0].destination, medias[0].destination);
    assert_eq!(again[1].destination, medias[1].destination);

    let mut got = Vec::new();
    let mut buf = vec![0u8; 2048];
    for _ in 0..1000 {
        let (n, from) = tokio::time::timeout(STEP, socket.recv_from(&mut buf))
            .await
            .expect("multicast packets in time")
            .expect("recv");
        assert_eq!(
            from,
            SocketAddr::from(([127, 0, 0, 1], ports.0)),
            "sent from the RTP port"
        );
        let pkt = rtp::Packet::unmarshal(&bytes::Bytes::copy_from_slice(&buf[..n])).expect("RTP");
        let text = String::from_utf8_lossy(&pkt.payload[3..]).to_string();
        let i: usize = text
            .strip_prefix("video-")
            .and_then(|n| n.parse().ok())
            .expect("a payload of the publisher");
        assert_eq!(pkt.payload, video_payload(i));
        got.push(i);
        if got.len() == 10 {
            break;
        }
    }
    for w in got.windows(2) {
        assert_eq!(w[1], w[0] + 1, "in order: {got:?}");
    }
    let sessions = server.sessions();
    assert_eq!(
        sessions
            .iter()
            .filter(|s| s.state == SessionState::Read
                && s.transport.as_deref() == Some("UDP-multicast"))
            .count(),
        2,
        "{sessions:?}"
    );
    sending.abort();
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_reads_a_multicast_stream() {
    let (a, paths_a, _) = multicast_server("239.255.42.0/24").await;
    let a_addr = a.local_addrs().rtsp;
    let sending = publish(&format!("rtsp://{a_addr}/x"), a_addr, None).await;
    wait_ready(&paths_a, "x").await;
    let (b, paths_b) = proxy_server(&format!(
        "    source: rtsp://{a_addr}/x\n    rtspTransport: multicast\n"
    ))
    .await;
    wait_ready(&paths_b, "proxy").await;
    assert_consecutive(&read_proxy(b.local_addrs().rtsp).await);
    let sessions = a.sessions();
    let read = sessions
        .iter()
        .find(|s| s.state == SessionState::Read)
        .expect("the source reads from A");
    assert_eq!(read.transport.as_deref(), Some("UDP-multicast"));
    sending.abort();
    b.close().await;
    paths_b.close();
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multicast_is_refused_when_not_enabled() {
    let (server, paths) = server_with(OPEN_CONF, RtspSettings::loopback()).await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/cam");
    let sending = publish(&url, addr, None).await;
    wait_ready(&paths, "cam").await;
    let mut reader = Client::connect(addr).await;
    let res = reader.request(Method::Describe, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    let res = reader.setup(&url, 0, "RTP/AVP;multicast").await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_TRANSPORT);
    sending.abort();
    server.close().await;
}
