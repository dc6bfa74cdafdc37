//! The tokio server on a real socket, with the project's own client as publisher and
//! players: a stalled player never slows a normal one, a thousand idle connections are
//! held while media flows, garbage closes only its own connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromtx_core::PathManager;
use ferromtx_rtmp::flv::avcc::AvcConfig;
use ferromtx_rtmp::{
    ClientConfig, ClientConnection, ClientEvent, ClientMode, ClientOutput, ClientUrl, Codec,
    CodecParams, FlvTag, Media, RtmpServer, RtmpSettings, TagItem, TagStyle, TrackConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STEP: Duration = Duration::from_secs(20);

fn manager(yaml: &str) -> Arc<PathManager> {
    let conf = Arc::new(
        ferromtx_conf::load_from_str(yaml, &|_| None)
            .expect("valid conf")
            .conf,
    );
    let auth = Arc::new(ferromtx_auth::Manager::new(&conf));
    Arc::new(PathManager::new(conf, auth))
}

async fn server(yaml: &str, settings: RtmpSettings) -> (RtmpServer, Arc<PathManager>) {
    let paths = manager(yaml);
    let server = RtmpServer::start(settings, Arc::clone(&paths), None)
        .await
        .expect("server starts");
    (server, paths)
}

async fn flush(client: &mut ClientConnection, sock: &mut TcpStream, events: &mut Vec<ClientEvent>) {
    while let Some(out) = client.poll_output() {
        match out {
            ClientOutput::Transmit(b) => sock.write_all(&b).await.expect("send"),
            ClientOutput::Event(e) => events.push(e),
        }
    }
}

/// A client publishing or playing on `sock`, once the server accepted.
async fn open(sock: TcpStream, url: &str, mode: ClientMode) -> (ClientConnection, TcpStream) {
    let mut sock = sock;
    let config = ClientConfig::new(ClientUrl::parse(url).expect("url"), mode);
    let mut client = ClientConnection::new(config, Instant::now());
    let mut events = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        flush(&mut client, &mut sock, &mut events).await;
        if events
            .iter()
            .any(|e| matches!(e, ClientEvent::Publishing | ClientEvent::Playing))
        {
            return (client, sock);
        }
        let n = tokio::time::timeout(STEP, sock.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "closed by the server");
        client
            .handle_input(Instant::now(), &buf[..n])
            .expect("valid input");
    }
}

fn config_tag() -> FlvTag {
    let sps = Bytes::from_static(&[0x67, 0x42, 0xc0, 0x1e, 0x8c, 0x8d, 0x40, 0x50, 0x1e, 0x90]);
    let pps = Bytes::from_static(&[0x68, 0xce, 0x3c, 0x80]);
    let config = TrackConfig {
        track: 0,
        params: CodecParams::H264(AvcConfig::from_parameter_sets(sps, pps).expect("avcC")),
    };
    FlvTag::config(&config, 0, TagStyle::Classic)
        .expect("config")
        .expect("a tag")
}

/// Frame `n`: an IDR every 25 frames, its number in the first bytes after the NAL
/// header, `size` bytes in all.
fn frame_tag(n: u32, size: usize) -> FlvTag {
    let key = n.is_multiple_of(25);
    let mut nal = vec![if key { 0x65 } else { 0x41 }];
    nal.extend_from_slice(&n.to_be_bytes());
    nal.resize(size, 0xab);
    let m = Media {
        track: 0,
        codec: Codec::H264,
        timestamp_ms: n * 40,
        composition_ms: 0,
        keyframe: key,
        parts: vec![Bytes::from(nal)],
    };
    FlvTag::frame(&m, TagStyle::Classic).expect("frame")
}

/// Publishes `count` frames of `size` bytes, `per_tick` of them every 10 ms; returns the
/// connection, still open (closing it ends the stream).
async fn publish(
    port: u16,
    path: &str,
    count: u32,
    size: usize,
    per_tick: u32,
) -> (ClientConnection, TcpStream) {
    let sock = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let url = format!("rtmp://127.0.0.1:{port}/{path}");
    let (mut client, mut sock) = open(sock, &url, ClientMode::Publish).await;
    let mut events = Vec::new();
    client.write_tag(&config_tag()).expect("write");
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for n in 0..count {
        if n.is_multiple_of(per_tick) {
            tick.tick().await;
        }
        client.write_tag(&frame_tag(n, size)).expect("write");
        flush(&mut client, &mut sock, &mut events).await;
    }
    (client, sock)
}

/// Plays until frame `last` arrives; returns the frame numbers received.
async fn play_until(port: u16, path: &str, last: u32) -> Vec<u32> {
    let sock = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let url = format!("rtmp://127.0.0.1:{port}/{path}");
    let (mut client, mut sock) = open(sock, &url, ClientMode::Play).await;
    let mut events = Vec::new();
    let mut numbers = Vec::new();
    let mut buf = vec![0u8; 65536];
    while numbers.last() != Some(&last) {
        let n = tokio::time::timeout(STEP, sock.read(&mut buf))
            .await
            .expect("media in time")
            .expect("read");
        assert!(n > 0, "closed by the server after {numbers:?}");
        client
            .handle_input(Instant::now(), &buf[..n])
            .expect("valid input");
        flush(&mut client, &mut sock, &mut events).await;
        for e in events.drain(..) {
            if let ClientEvent::Media(TagItem::Frame(m)) = e {
                let nal = &m.parts[0];
                numbers.push(u32::from_be_bytes([nal[1], nal[2], nal[3], nal[4]]));
            }
        }
    }
    numbers
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP;
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_player_never_slows_a_normal_one() {
    let settings = RtmpSettings {
        write_timeout: Duration::from_secs(2),
        ..RtmpSettings::loopback()
    };
    let (server, paths) = server("writeQueueSize: 4096\npaths:\n  all_others:\n", settings).await;
    let port = server.local_addr().port();
    let count = 1500;
    let publisher = tokio::spawn(publish(port, "cam", count, 8 * 1024, 2));
    wait_until("the path becomes available", || {
        paths.path_info("cam").is_some_and(|p| p.available)
    })
    .await;

    // The stalled player: a tiny receive window, and it never reads after PLAY.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let stalled = socket
        .connect(([127, 0, 0, 1], port).into())
        .await
        .expect("connect");
    let url = format!("rtmp://127.0.0.1:{port}/cam");
    let (_stalled_client, _stalled_sock) = open(stalled, &url, ClientMode::Play).await;

    let numbers = play_until(port, "cam", count - 1).await;
    let _publishing = publisher.await.expect("publisher");
    let first = numbers[0];
    assert!(first.is_multiple_of(25), "starts on a key frame");
    let expected: Vec<u32> = (first..count).collect();
    assert_eq!(numbers, expected, "the normal player lost frames");

    // The stalled one is dropped once it holds our data longer than writeTimeout.
    wait_until("the stalled player is closed", || {
        server
            .conns()
            .iter()
            .all(|c| c.state != ferromtx_rtmp::ConnState::Read)
    })
    .await;
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_are_held_while_media_flows() {
    let limit = ferromtx_net::sys::raise_fd_limit().unwrap_or(1024);
    assert!(limit >= 2200, "open-file limit {limit}");
    let settings = RtmpSettings {
        read_timeout: Duration::from_secs(120),
        ..RtmpSettings::loopback()
    };
    let (server, paths) = server("paths:\n  all_others:\n", settings).await;
    let port = server.local_addr().port();
    let mut idle = Vec::new();
    for _ in 0..1000 {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        // C0 and C1: a plain handshake, left unfinished.
        let mut c0c1 = vec![3u8];
        c0c1.extend_from_slice(&[0u8; 1536]);
        s.write_all(&c0c1).await.expect("send");
        idle.push(s);
    }
    wait_until("1000 connections are listed", || {
        server.conn_count() == 1000
    })
    .await;
    let publisher = tokio::spawn(publish(port, "cam", 300, 1024, 1));
    wait_until("the path becomes available", || {
        paths.path_info("cam").is_some_and(|p| p.available)
    })
    .await;
    let numbers = play_until(port, "cam", 299).await;
    assert!(numbers.len() >= 25, "{numbers:?}");
    drop(publisher.await.expect("publisher"));
    assert!(server.conn_count() >= 1000);
    drop(idle);
    wait_until("idle connections go away", || server.conn_count() == 0).await;
    server.close().await;
}

#[tokio::test]
async fn garbage_closes_only_its_own_connection() {
    let (server, _paths) = server("paths:\n  all_others:\n", RtmpSettings::loopback()).await;
    let port = server.local_addr().port();
    let good = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (_client, _good) = open(
        good,
        &format!("rtmp://127.0.0.1:{port}/cam"),
        ClientMode::Publish,
    )
    .await;
    let mut bad = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    // A version byte no RTMP speaks.
    bad.write_all(&[0x47; 1537]).await.expect("send");
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(STEP, bad.read(&mut buf))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    assert_eq!(n, 0, "the server closes a connection that sends garbage");
    wait_until("only the publisher remains", || server.conn_count() == 1).await;
    assert_eq!(
        server.conns()[0].path,
        "",
        "the publisher is still detecting its tracks"
    );
    server.close().await;
}
