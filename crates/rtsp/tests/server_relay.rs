//! A raw-TCP client publishes a synthetic H264 + Opus stream; readers over TCP and UDP
//! receive the same RTP payloads, in order.

mod server_support;

use bytes::Bytes;
use ferromtx_codec::rtp;
use ferromtx_rtsp::message::{Method, StatusCode};
use server_support::{Client, OPEN_CONF, STEP, server};
use tokio::net::UdpSocket;

const SDP: &[u8] = include_bytes!("../testdata/ffmpeg_h264_opus.sdp");
const UNITS: usize = 40;

fn video_packet(i: usize) -> Bytes {
    // One IDR slice per packet (NAL type 5), so every unit is a random-access point.
    let mut payload = vec![0x65, 0x88, 0x84];
    payload.extend_from_slice(format!("video-{i:04}").as_bytes());
    rtp::Packet {
        marker: true,
        payload_type: 96,
        sequence_number: 1000 + i as u16,
        timestamp: 90_000 + 3600 * i as u32,
        ssrc: 0x1111_1111,
        csrc: Vec::new(),
        extension: None,
        payload: Bytes::from(payload),
    }
    .marshal()
}

fn audio_packet(i: usize) -> Bytes {
    let mut payload = vec![0xfc];
    payload.extend_from_slice(format!("audio-{i:04}").as_bytes());
    rtp::Packet {
        marker: true,
        payload_type: 97,
        sequence_number: 5000 + i as u16,
        timestamp: 960 * i as u32,
        ssrc: 0x2222_2222,
        csrc: Vec::new(),
        extension: None,
        payload: Bytes::from(payload),
    }
    .marshal()
}

fn expected(track: usize) -> Vec<Bytes> {
    (0..UNITS)
        .map(|i| {
            let pkt = if track == 0 {
                video_packet(i)
            } else {
                audio_packet(i)
            };
            rtp::Packet::unmarshal(&pkt).expect("valid").payload
        })
        .collect()
}

async fn publish_setup(url: &str, addr: std::net::SocketAddr) -> Client {
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

async fn read_setup(url: &str, addr: std::net::SocketAddr, transports: [String; 2]) -> Client {
    let mut reader = Client::connect(addr).await;
    let res = reader.request(Method::Describe, url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    let sdp = String::from_utf8_lossy(&res.body).to_string();
    assert!(sdp.contains("H264/90000"), "{sdp}");
    assert!(sdp.to_lowercase().contains("opus/48000"), "{sdp}");
    for (i, t) in transports.iter().enumerate() {
        let res = reader.setup(url, i, t).await;
        assert_eq!(res.status, StatusCode::OK, "reader setup {i}");
    }
    let res = reader.request(Method::Play, url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    reader
}

/// A reader over UDP: RTP and RTCP sockets for both tracks (video's, then audio's), set up
/// and playing.
async fn udp_read_setup(url: &str, addr: std::net::SocketAddr) -> (Vec<UdpSocket>, Client) {
    let mut socks = Vec::new();
    for _ in 0..4 {
        socks.push(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    }
    let port = |i: usize| socks[i].local_addr().expect("addr").port();
    let reader = read_setup(
        url,
        addr,
        [
            format!("RTP/AVP;unicast;client_port={}-{}", port(0), port(1)),
            format!("RTP/AVP;unicast;client_port={}-{}", port(2), port(3)),
        ],
    )
    .await;
    (socks, reader)
}

#[tokio::test]
async fn tcp_publisher_to_tcp_and_udp_readers() {
    let (server, _paths) = server(OPEN_CONF).await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/relay");
    let mut publisher = publish_setup(&url, addr).await;

    let mut tcp_reader = read_setup(
        &url,
        addr,
        [
            "RTP/AVP/TCP;unicast;interleaved=0-1".into(),
            "RTP/AVP/TCP;unicast;interleaved=2-3".into(),
        ],
    )
    .await;

    let (udp_socks, _udp_reader) = udp_read_setup(&url, addr).await;

    for i in 0..UNITS {
        publisher.send_frame(0, video_packet(i)).await;
        publisher.send_frame(2, audio_packet(i)).await;
    }

    // TCP reader: channel 0 video, channel 2 audio, RTCP on odd channels.
    let mut got: [Vec<Bytes>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..(UNITS * 4) {
        if got[0].len() == UNITS && got[1].len() == UNITS {
            break;
        }
        let f = tcp_reader.frame().await;
        let track = match f.channel {
            0 => 0,
            2 => 1,
            _ => continue,
        };
        let pkt = rtp::Packet::unmarshal(&f.payload).expect("valid RTP");
        got[track].push(pkt.payload);
    }
    assert_eq!(got[0], expected(0), "TCP video");
    assert_eq!(got[1], expected(1), "TCP audio");

    // UDP reader.
    for (track, sock) in [(0usize, &udp_socks[0]), (1, &udp_socks[2])] {
        let mut payloads = Vec::new();
        let mut buf = vec![0u8; 2048];
        for _ in 0..UNITS {
            let n = tokio::time::timeout(STEP, sock.recv(&mut buf))
                .await
                .expect("datagram in time")
                .expect("recv");
            let pkt = rtp::Packet::unmarshal(&Bytes::copy_from_slice(&buf[..n])).expect("RTP");
            payloads.push(pkt.payload);
        }
        assert_eq!(payloads, expected(track), "UDP track {track}");
    }
    server.close().await;
}

#[tokio::test]
async fn malformed_request_gets_400_and_connection_stays() {
    let (server, _paths) = server(OPEN_CONF).await;
    let mut c = Client::connect(server.local_addrs().rtsp).await;
    c.send_raw(b"THIS IS NOT RTSP\r\n\r\n").await;
    let res = c.response().await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = c
        .request(
            Method::Options,
            &format!("rtsp://{}/x", server.local_addrs().rtsp),
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.headers
            .get("Public")
            .is_some_and(|p| p.contains("DESCRIBE"))
    );
    server.close().await;
}

#[tokio::test]
async fn describe_without_publisher_is_404() {
    let (server, _paths) = server(OPEN_CONF).await;
    let addr = server.local_addrs().rtsp;
    let mut c = Client::connect(addr).await;
    let res = c
        .request(
            Method::Describe,
            &format!("rtsp://{addr}/nothing"),
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    server.close().await;
}

#[tokio::test]
async fn second_publisher_is_refused_without_override() {
    let (server, _paths) = server("paths:\n  all_others:\n    overridePublisher: no\n").await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/busy");
    let _first = publish_setup(&url, addr).await;
    let mut second = Client::connect(addr).await;
    let res = second
        .request(
            Method::Announce,
            &url,
            &[],
            Some(("application/sdp", Bytes::from_static(SDP))),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(second.closed_by_server().await);
    server.close().await;
}

#[tokio::test]
async fn reader_ends_when_publisher_leaves() {
    let (server, _paths) = server(OPEN_CONF).await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/leaving");
    let publisher = publish_setup(&url, addr).await;
    let mut reader = read_setup(
        &url,
        addr,
        [
            "RTP/AVP/TCP;unicast;interleaved=0-1".into(),
            "RTP/AVP/TCP;unicast;interleaved=2-3".into(),
        ],
    )
    .await;
    drop(publisher);
    assert!(reader.closed_by_server().await);
    server.close().await;
}

#[tokio::test]
async fn second_publisher_overrides_the_first() {
    let (server, paths) = server(OPEN_CONF).await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/taken");
    let mut first = publish_setup(&url, addr).await;
    let _second = publish_setup(&url, addr).await;
    assert!(first.closed_by_server().await);
    assert!(paths.path_info("taken").is_some_and(|p| p.ready));
    server.close().await;
}

#[tokio::test]
async fn close_drops_connections() {
    let (server, _paths) = server(OPEN_CONF).await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/closing");
    let mut publisher = publish_setup(&url, addr).await;
    server.close().await;
    assert!(publisher.closed_by_server().await);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// A big IDR slice in one packet, as a publisher over TCP may send.
fn big_video_packet(i: usize, size: usize) -> (Bytes, Bytes) {
    let nal: Vec<u8> = std::iter::once(0x65)
        .chain((0..size - 1).map(|k| (k + i) as u8))
        .collect();
    let nal = Bytes::from(nal);
    let pkt = rtp::Packet {
        marker: true,
        payload_type: 96,
        sequence_number: 1000 + i as u16,
        timestamp: 90_000 + 3600 * i as u32,
        ssrc: 0x1111_1111,
        csrc: Vec::new(),
        extension: None,
        payload: nal.clone(),
    };
    (pkt.marshal(), nal)
}

/// Packets bigger than `udpMaxPayloadSize` are cut to size for readers (FU-A), with the
/// publisher's SSRC and sequence numbers going on; the frames stay the same.
#[tokio::test]
async fn oversized_packets_are_repacketized_for_udp_readers() {
    use ferromtx_codec::{Format, depacketizer};
    let (server, _paths) = server(OPEN_CONF).await;
    let addr = server.local_addrs().rtsp;
    let url = format!("rtsp://{addr}/big");
    let mut publisher = publish_setup(&url, addr).await;
    let (udp_socks, _reader) = udp_read_setup(&url, addr).await;

    // A packet that fits, then frames of 4000 and 9000 bytes in single packets.
    let (small, small_nal) = big_video_packet(0, 1000);
    publisher.send_frame(0, small).await;
    let mut nals = vec![small_nal];
    for (i, size) in [(1, 4000), (2, 9000), (3, 4000)] {
        let (pkt, nal) = big_video_packet(i, size);
        publisher.send_frame(0, pkt).await;
        nals.push(nal);
    }

    let mut d = depacketizer(&Format::H264 {
        payload_type: 96,
        sps: None,
        pps: None,
        packetization_mode: 1,
    });
    let mut frames = Vec::new();
    let mut seqs = Vec::new();
    let mut buf = vec![0u8; 65_536];
    for _ in 0..100 {
        if frames.len() == nals.len() {
            break;
        }
        let n = tokio::time::timeout(STEP, udp_socks[0].recv(&mut buf))
            .await
            .expect("datagram in time")
            .expect("recv");
        assert!(n <= 1452, "datagram of {n} bytes exceeds udpMaxPayloadSize");
        let pkt = rtp::Packet::unmarshal(&Bytes::copy_from_slice(&buf[..n])).expect("RTP");
        assert_eq!(pkt.ssrc, 0x1111_1111);
        seqs.push(pkt.sequence_number);
        d.push(&pkt).expect("valid H264 packets");
        while let Some(f) = d.pull() {
            frames.push(f.parts.concat());
        }
    }
    let expected: Vec<Vec<u8>> = nals.iter().map(|n| n.to_vec()).collect();
    assert_eq!(frames, expected, "same frames after re-packetization");
    assert!(seqs.len() > nals.len(), "big frames were split: {seqs:?}");
    for w in seqs.windows(2) {
        assert_eq!(
            w[1],
            w[0].wrapping_add(1),
            "consecutive sequence numbers: {seqs:?}"
        );
    }
    assert_eq!(
        seqs[0], 1000,
        "the packet that fits is forwarded as it came"
    );
    server.close().await;
}

/// A request that cannot be delimited (headers beyond the 64 KiB limit) gets 400 and
/// the connection is closed; other clients are still served.
#[tokio::test]
async fn oversized_request_gets_400_and_a_clean_close() {
    let (server, _paths) = server(OPEN_CONF).await;
    let addr = server.local_addrs().rtsp;
    let mut c = Client::connect(addr).await;
    let mut junk = b"OPTIONS rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\nX-Junk: ".to_vec();
    junk.extend(std::iter::repeat_n(b'a', 70 * 1024));
    c.send_raw(&junk).await;
    let res = c.response().await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(c.closed_by_server().await);
    let mut other = Client::connect(addr).await;
    let res = other
        .request(Method::Options, &format!("rtsp://{addr}/x"), &[], None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    server.close().await;
}
