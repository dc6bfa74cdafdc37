//! The RTSP pull source: server B's path `proxy` pulls from server A, where a raw client
//! publishes; a reader of B receives A's RTP payloads. Plus authentication failures.

mod server_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferromtx_rtsp::RtspSettings;
use ferromtx_rtsp::client::{Client as RtspClient, ClientError, ClientUrl};
use ferromtx_rtsp::message::{Method, Request, StatusCode};
use ferromtx_rtsp::server::SessionState;
use server_support::relay::{
    MAX_PACKETS, SDP, assert_consecutive, proxy_server, publish, read_proxy, video_packet,
    wait_ready,
};
use server_support::{OPEN_CONF, STEP, server_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

const AUTH_CONF: &str = "\
authInternalUsers:
- user: myuser
  pass: mypass
  ips: []
  permissions:
  - action: publish
  - action: read
paths:
  all_others:
";

/// `expected`: the transport server A sees.
async fn relay(transport: &str, on_demand: bool, a_settings: RtspSettings, expected: &str) {
    server_support::init_logs();
    let (a, _paths_a) = server_with(OPEN_CONF, a_settings).await;
    let a_addr = a.local_addrs().rtsp;
    let sending = publish(&format!("rtsp://{a_addr}/x"), a_addr, None).await;
    let mut path_conf = format!("    source: rtsp://{a_addr}/x\n    rtspTransport: {transport}\n");
    if on_demand {
        path_conf.push_str("    sourceOnDemand: yes\n");
    }
    let (b, paths_b) = proxy_server(&path_conf).await;
    if !on_demand {
        wait_ready(&paths_b, "proxy").await;
    }
    let got = read_proxy(b.local_addrs().rtsp).await;
    assert_consecutive(&got);
    // A sees the source as a reader session with the requested transport.
    let sessions = a.sessions();
    let read = sessions
        .iter()
        .find(|s| s.state == SessionState::Read)
        .expect("the source reads from A");
    assert_eq!(read.transport.as_deref(), Some(expected));
    assert!(read.rtp_packets_sent > 0);
    sending.abort();
    b.close().await;
    paths_b.close();
    a.close().await;
}

#[tokio::test]
async fn source_pulls_over_tcp() {
    relay("tcp", false, RtspSettings::loopback(), "TCP").await;
}

#[tokio::test]
async fn source_pulls_over_udp() {
    relay("udp", false, RtspSettings::loopback(), "UDP").await;
}

#[tokio::test]
async fn source_pulls_automatic_on_demand_with_udp_first() {
    relay("automatic", true, RtspSettings::loopback(), "UDP").await;
}

#[tokio::test]
async fn automatic_falls_back_to_tcp_when_udp_is_refused() {
    let tcp_only = RtspSettings {
        transports: vec![ferromtx_rtsp::server_session::TransportKind::Tcp],
        ..RtspSettings::loopback()
    };
    relay("automatic", false, tcp_only, "TCP").await;
}

async fn pull_with_credentials(method: ferromtx_rtsp::auth::AuthMethod) {
    let settings = RtspSettings {
        auth_methods: vec![method],
        ..RtspSettings::loopback()
    };
    let (a, _paths_a) = server_with(AUTH_CONF, settings).await;
    let a_addr = a.local_addrs().rtsp;
    let sending = publish(
        &format!("rtsp://{a_addr}/x"),
        a_addr,
        Some("Basic bXl1c2VyOm15cGFzcw=="),
    )
    .await;
    let (b, paths_b) = proxy_server(&format!(
        "    source: rtsp://myuser:mypass@{a_addr}/x\n    rtspTransport: tcp\n"
    ))
    .await;
    wait_ready(&paths_b, "proxy").await;
    assert_consecutive(&read_proxy(b.local_addrs().rtsp).await);
    sending.abort();
    b.close().await;
    paths_b.close();
    a.close().await;
}

#[tokio::test]
async fn source_with_basic_credentials_pulls_from_protected_server() {
    pull_with_credentials(ferromtx_rtsp::auth::AuthMethod::Basic).await;
}

#[tokio::test]
async fn source_with_digest_credentials_pulls_from_protected_server() {
    pull_with_credentials(ferromtx_rtsp::auth::AuthMethod::DigestMd5).await;
}

#[tokio::test]
async fn wrong_password_is_a_clear_error() {
    let settings = RtspSettings {
        auth_pause: Duration::from_millis(10),
        ..RtspSettings::loopback()
    };
    let (a, _paths_a) = server_with(AUTH_CONF, settings).await;
    let a_addr = a.local_addrs().rtsp;
    let url = ClientUrl::parse(&format!("rtsp://myuser:wrong@{a_addr}/x")).unwrap();
    let mut client = RtspClient::connect(&url, STEP, "").await.expect("connects");
    let err = client
        .request(Request::new(Method::Describe, url.request_url.clone()))
        .await
        .expect_err("refused");
    assert!(matches!(err, ClientError::Auth(_)), "{err:?}");
    assert_eq!(err.to_string(), "authentication failed: wrong credentials");

    let url = ClientUrl::parse(&format!("rtsp://{a_addr}/x")).unwrap();
    let mut client = RtspClient::connect(&url, STEP, "").await.expect("connects");
    let err = client
        .request(Request::new(Method::Describe, url.request_url.clone()))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, ClientError::Status(StatusCode::UNAUTHORIZED)),
        "{err:?}"
    );
    a.close().await;
}

/// A server that refuses every request with 401 and counts its connections.
async fn refusing_server() -> (SocketAddr, Arc<AtomicUsize>, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    let task = tokio::spawn(async move {
        for _ in 0..10 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut cseq = 0;
                for _ in 0..10 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    cseq += 1;
                    let res = format!(
                        "RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n\
                         WWW-Authenticate: Basic realm=\"mediamtx\"\r\n\r\n"
                    );
                    if socket.write_all(res.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, count, task)
}

#[tokio::test]
async fn refused_source_retries() {
    let (addr, count, task) = refusing_server().await;
    let (b, paths_b) = proxy_server(&format!(
        "    source: rtsp://u:wrong@{addr}/x\n    rtspTransport: tcp\n"
    ))
    .await;
    // The path retries after RETRY_PAUSE (5 s).
    for _ in 0..300 {
        if count.load(Ordering::SeqCst) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(count.load(Ordering::SeqCst) >= 2, "retried");
    assert!(!paths_b.path_info("proxy").is_some_and(|p| p.ready));
    task.abort();
    b.close().await;
    paths_b.close();
}

#[tokio::test]
async fn on_demand_source_stops_when_unused() {
    server_support::init_logs();
    let (a, _paths_a) = server_with(OPEN_CONF, RtspSettings::loopback()).await;
    let a_addr = a.local_addrs().rtsp;
    let sending = publish(&format!("rtsp://{a_addr}/x"), a_addr, None).await;
    let (b, paths_b) = proxy_server(&format!(
        "    source: rtsp://{a_addr}/x\n    rtspTransport: tcp\n    sourceOnDemand: yes\n    \
         sourceOnDemandCloseAfter: 1s\n"
    ))
    .await;
    assert!(a.sessions().iter().all(|s| s.state != SessionState::Read));
    assert_consecutive(&read_proxy(b.local_addrs().rtsp).await);
    assert!(a.sessions().iter().any(|s| s.state == SessionState::Read));
    // The reader is gone: after sourceOnDemandCloseAfter the source leaves A.
    let mut left = false;
    for _ in 0..200 {
        if a.sessions().iter().all(|s| s.state != SessionState::Read) {
            left = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(left, "the source still reads from A");
    assert!(!paths_b.path_info("proxy").is_some_and(|p| p.ready));
    sending.abort();
    b.close().await;
    paths_b.close();
    a.close().await;
}

/// How a fake camera sends over UDP.
#[derive(Debug, Clone, Copy)]
enum UdpMode {
    /// Announces `server_port=9-10`, never sends.
    Silent,
    /// Announces these server ports (or none) but sends RTP from another port.
    OtherPort(Option<(u16, u16)>),
}

/// A fake camera that streams over TCP, and over UDP as `mode` says. Records the
/// method and `Transport` of every request.
async fn camera(
    mode: UdpMode,
) -> (
    SocketAddr,
    Arc<std::sync::Mutex<Vec<String>>>,
    JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    let task = tokio::spawn(async move {
        for _ in 0..10 {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(serve_camera(socket, Arc::clone(&seen), mode));
        }
    });
    (addr, requests, task)
}

async fn serve_camera(
    mut socket: tokio::net::TcpStream,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
    mode: UdpMode,
) {
    use ferromtx_rtsp::message::{Decoder, Incoming, Message, Response};
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 4096];
    let mut tcp = false;
    let mut client_rtp = None;
    for _ in 0..100 {
        let n = match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        decoder.push(&buf[..n]);
        while let Some(Ok(Incoming::Message(Message::Request(req)))) = decoder.pull() {
            let mut res = Response::new(StatusCode::OK);
            res.headers
                .set("CSeq", req.headers.get("CSeq").unwrap_or("0"));
            res.headers.set("Session", "12345678");
            let t = req.headers.get("Transport").unwrap_or("").to_string();
            let scale = req.headers.get("Scale").map(|s| format!(" Scale={s}"));
            seen.lock()
                .unwrap()
                .push(format!("{} {t}{}", req.method, scale.unwrap_or_default()));
            let mut play = false;
            match req.method {
                Method::Describe => {
                    res.headers.set("Content-Type", "application/sdp");
                    res.headers.set("Content-Base", format!("{}/", req.uri));
                    res.body = Bytes::from_static(SDP);
                }
                Method::Setup => {
                    tcp = t.contains("TCP");
                    let parsed = ferromtx_rtsp::transport::Transport::parse(&t).ok();
                    if client_rtp.is_none() {
                        client_rtp = parsed.and_then(|p| p.client_port).map(|p| p.0);
                    }
                    let ports = match mode {
                        UdpMode::Silent => Some((9, 10)),
                        UdpMode::OtherPort(p) => p,
                    };
                    let reply = match ports {
                        Some((a, b)) if !tcp => format!("{t};server_port={a}-{b}"),
                        _ => t,
                    };
                    res.headers.set("Transport", reply);
                }
                Method::Play => play = true,
                _ => {}
            }
            if socket.write_all(&res.to_bytes()).await.is_err() {
                return;
            }
            if !play {
                continue;
            }
            let udp = match (tcp, mode, client_rtp) {
                (false, UdpMode::OtherPort(_), Some(port)) => {
                    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                    Some((s, SocketAddr::from(([127, 0, 0, 1], port))))
                }
                (false, _, _) => continue,
                (true, _, _) => None,
            };
            for i in 0..MAX_PACKETS {
                let sent = match &udp {
                    Some((s, to)) => s.send_to(&video_packet(i), to).await.is_ok(),
                    None => {
                        let frame = ferromtx_rtsp::Interleaved {
                            channel: 0,
                            payload: video_packet(i),
                        };
                        socket.write_all(&frame.to_bytes().unwrap()).await.is_ok()
                    }
                };
                if !sent {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            return;
        }
    }
}

/// Proxies a camera serving UDP in `mode`, with `conf` (path keys) after its `source`;
/// checks that the proxy's stream arrives whole and returns the SETUPs the camera got.
async fn setups_of_proxied_camera(mode: UdpMode, conf: &str) -> Vec<String> {
    let (addr, requests, task) = camera(mode).await;
    let (b, paths_b) = proxy_server(&format!("    source: rtsp://{addr}/x\n{conf}")).await;
    wait_ready(&paths_b, "proxy").await;
    assert_consecutive(&read_proxy(b.local_addrs().rtsp).await);
    let setups = setups_of(&requests);
    task.abort();
    b.close().await;
    paths_b.close();
    setups
}

/// The first SETUP asked for UDP, the last for TCP.
fn assert_udp_then_tcp(setups: &[String]) {
    assert!(
        setups.first().is_some_and(|t| t.contains("client_port=")),
        "{setups:?}"
    );
    assert!(
        setups.last().is_some_and(|t| t.contains("RTP/AVP/TCP")),
        "{setups:?}"
    );
}

#[tokio::test]
async fn automatic_switches_to_tcp_when_no_udp_packets_arrive() {
    assert_udp_then_tcp(&setups_of_proxied_camera(UdpMode::Silent, "").await);
}

fn setups_of(requests: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.starts_with("SETUP"))
        .cloned()
        .collect()
}

/// Without `rtspAnyPort`, packets from other ports than the announced ones are not the
/// server's: automatic mode gets none and goes to TCP.
#[tokio::test]
async fn packets_from_unannounced_ports_are_ignored() {
    let setups = setups_of_proxied_camera(UdpMode::OtherPort(Some((9, 10))), "").await;
    assert_udp_then_tcp(&setups);
}

/// With `rtspAnyPort`, the same camera works over UDP, even when it announces no ports.
#[tokio::test]
async fn rtsp_any_port_accepts_packets_from_other_ports() {
    for announced in [Some((9, 10)), None] {
        let setups = setups_of_proxied_camera(
            UdpMode::OtherPort(announced),
            "    rtspTransport: udp\n    rtspAnyPort: yes\n",
        )
        .await;
        assert!(
            setups.iter().all(|t| t.contains("client_port=")),
            "{announced:?}: {setups:?}"
        );
    }
}

/// `rtspUDPSourcePortRange` gives the client ports the source announces and receives on
/// (two media: the range's two pairs); `rtspScale` is asked in PLAY.
#[tokio::test]
async fn udp_source_ports_come_from_the_range_and_play_asks_the_scale() {
    let p = ferromtx_testkit::free_udp_pairs(2);
    let (addr, requests, task) = camera(UdpMode::OtherPort(Some((9, 10)))).await;
    let (b, paths_b) = proxy_server(&format!(
        "    source: rtsp://{addr}/x\n    rtspTransport: udp\n    rtspAnyPort: yes\n\
         \x20   rtspUDPSourcePortRange: [{p}, {}]\n    rtspScale: \"1.5\"\n",
        p + 3
    ))
    .await;
    wait_ready(&paths_b, "proxy").await;
    assert_consecutive(&read_proxy(b.local_addrs().rtsp).await);
    let seen = requests.lock().unwrap().clone();
    let setups: Vec<&String> = seen.iter().filter(|r| r.starts_with("SETUP")).collect();
    let pairs = [
        format!("client_port={p}-{}", p + 1),
        format!("client_port={}-{}", p + 2, p + 3),
    ];
    assert_eq!(setups.len(), 2, "{seen:?}");
    for pair in &pairs {
        assert!(setups.iter().any(|t| t.contains(pair.as_str())), "{seen:?}");
    }
    assert!(
        seen.iter()
            .any(|r| r.starts_with("PLAY") && r.ends_with(" Scale=1.5")),
        "{seen:?}"
    );
    task.abort();
    b.close().await;
    paths_b.close();
}

/// A server that gives no ports is refused without `rtspAnyPort`: no PLAY is sent.
#[tokio::test]
async fn missing_server_ports_need_rtsp_any_port() {
    let (addr, requests, task) = camera(UdpMode::OtherPort(None)).await;
    let (b, paths_b) = proxy_server(&format!(
        "    source: rtsp://{addr}/x\n    rtspTransport: udp\n"
    ))
    .await;
    for _ in 0..200 {
        if !setups_of(&requests).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!setups_of(&requests).is_empty(), "no SETUP");
    // The answer to SETUP is where the source stops; a PLAY would follow at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = requests.lock().unwrap().clone();
    assert!(seen.iter().all(|r| !r.starts_with("PLAY")), "{seen:?}");
    assert!(!paths_b.path_info("proxy").is_some_and(|p| p.ready));
    task.abort();
    b.close().await;
    paths_b.close();
}
