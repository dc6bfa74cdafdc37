//! RTSPS: a server behind TLS takes a publisher and serves readers over TCP inside TLS,
//! refuses UDP with 461 and plain RTSP; a pull source reads it with `rtsps://` when the
//! certificate has the configured `sourceFingerprint` and refuses it otherwise.

mod server_support;

use std::time::Duration;

use ferromtx_rtsp::client::{Client as RtspClient, ClientError, ClientUrl};
use ferromtx_rtsp::message::{Method, Request, StatusCode};
use ferromtx_rtsp::server::SessionState;
use ferromtx_rtsp::{RtspServer, RtspSettings};
use server_support::relay::{
    assert_consecutive, proxy_server, publish_with, read_proxy, wait_ready,
};
use server_support::{Client, OPEN_CONF, STEP, manager, self_signed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn secure_server() -> (
    RtspServer,
    std::sync::Arc<ferromtx_core::PathManager>,
    String,
) {
    server_support::init_logs();
    let (tls, fingerprint) = self_signed();
    let paths = manager(OPEN_CONF);
    let server = RtspServer::start_with_tls(
        RtspSettings::loopback(),
        std::sync::Arc::clone(&paths),
        Some(tls),
    )
    .await
    .expect("RTSPS server starts");
    (server, paths, fingerprint)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_pull_over_rtsps_with_fingerprint() {
    let (a, paths_a, fingerprint) = secure_server().await;
    let addr = a.local_addrs().rtsp;
    assert!(a.local_addrs().udp.is_none(), "no UDP listeners for RTSPS");
    let url = format!("rtsps://{addr}/cam");
    let sending = publish_with(Client::connect_tls(addr, &fingerprint).await, &url, None).await;
    wait_ready(&paths_a, "cam").await;
    let source = paths_a
        .path_info("cam")
        .and_then(|p| p.source)
        .expect("a source");
    assert_eq!(source.kind, "rtspsSession");

    // Server B pulls with the right fingerprint (uppercase works as well) and serves it.
    let (b, paths_b) = proxy_server(&format!(
        "    source: {url}\n    sourceFingerprint: {}\n",
        fingerprint.to_ascii_uppercase()
    ))
    .await;
    wait_ready(&paths_b, "proxy").await;
    assert_consecutive(&read_proxy(b.local_addrs().rtsp).await);
    let sessions = a.sessions();
    let read = sessions
        .iter()
        .find(|s| s.state == SessionState::Read)
        .expect("the source reads from A");
    assert_eq!(read.transport.as_deref(), Some("TCP"));
    assert!(!a.conns().is_empty());

    sending.abort();
    b.close().await;
    paths_b.close();
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_fingerprint_is_refused_with_a_clear_error() {
    let (a, _paths_a, fingerprint) = secure_server().await;
    let addr = a.local_addrs().rtsp;
    let url = ClientUrl::parse(&format!("rtsps://{addr}/cam")).expect("URL");
    let wrong = "0".repeat(64);
    let err = match RtspClient::connect(&url, STEP, &wrong).await {
        Ok(_) => panic!("a certificate with another fingerprint was accepted"),
        Err(e) => e,
    };
    assert!(matches!(err, ClientError::Tls(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "source fingerprint does not match: expected {wrong}, got {fingerprint}"
        )),
        "{text}"
    );
    // Without a fingerprint a self-signed certificate is not trusted either.
    assert!(RtspClient::connect(&url, STEP, "").await.is_err());
    // The right one works.
    let mut client = RtspClient::connect(&url, STEP, &fingerprint)
        .await
        .expect("right fingerprint");
    client
        .request(Request::new(Method::Options, url.request_url.clone()))
        .await
        .expect("OPTIONS over TLS");
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_is_refused_and_plain_rtsp_is_not_served() {
    let (a, paths_a, fingerprint) = secure_server().await;
    let addr = a.local_addrs().rtsp;
    let url = format!("rtsps://{addr}/cam");
    let sending = publish_with(Client::connect_tls(addr, &fingerprint).await, &url, None).await;
    wait_ready(&paths_a, "cam").await;

    let mut reader = Client::connect_tls(addr, &fingerprint).await;
    let res = reader.request(Method::Describe, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    for transport in ["RTP/AVP;unicast;client_port=5000-5001", "RTP/AVP;multicast"] {
        let res = reader.setup(&url, 0, transport).await;
        assert_eq!(res.status, StatusCode::UNSUPPORTED_TRANSPORT, "{transport}");
    }

    // A plain RTSP request on the RTSPS port ends the connection (failed handshake)...
    let mut plain = tokio::net::TcpStream::connect(addr).await.expect("connect");
    plain
        .write_all(b"OPTIONS rtsp://127.0.0.1/cam RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 4096];
    let mut answer = Vec::new();
    for _ in 0..100 {
        match tokio::time::timeout(STEP, plain.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => panic!("connection still open"),
        }
    }
    assert!(!answer.starts_with(b"RTSP/1.0"), "plain RTSP answered");
    // ... and the server goes on serving TLS clients.
    let res = reader
        .setup(&url, 0, "RTP/AVP/TCP;unicast;interleaved=0-1")
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = reader.request(Method::Play, &url, &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    let frame = tokio::time::timeout(STEP, reader.frame())
        .await
        .expect("media over TLS");
    assert_eq!(frame.channel, 0);

    sending.abort();
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_handshake_is_dropped_after_read_timeout() {
    let (tls, _) = self_signed();
    let settings = RtspSettings {
        read_timeout: Duration::from_millis(300),
        ..RtspSettings::loopback()
    };
    let server = RtspServer::start_with_tls(settings, manager(OPEN_CONF), Some(tls))
        .await
        .expect("RTSPS server starts");
    let mut silent = tokio::net::TcpStream::connect(server.local_addrs().rtsp)
        .await
        .expect("connect");
    let mut buf = [0u8; 16];
    let res = tokio::time::timeout(STEP, silent.read(&mut buf)).await;
    assert!(
        matches!(res, Ok(Ok(0)) | Ok(Err(_))),
        "silent client not dropped: {res:?}"
    );
    for _ in 0..100 {
        if server.conns().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.conns().is_empty());
    server.close().await;
}
