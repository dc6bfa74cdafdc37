//! Helpers of the server tests: a core path manager, a server on 127.0.0.1, and a raw
//! RTSP client built on this crate's own message types.
#![allow(dead_code)]

pub mod relay;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferromtx_auth as auth;
use ferromtx_core::PathManager;
use ferromtx_rtsp::message::{Decoder, Incoming, Message, Method, Request, Response, StatusCode};
use ferromtx_rtsp::{Interleaved, RtspServer, RtspSettings};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// A connection to the server: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Longest wait for any single step of a test.
pub const STEP: Duration = Duration::from_secs(10);

/// Shows the server's logs in the output of a failing test.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_max_level(tracing::Level::INFO)
        .try_init();
}

pub fn manager(yaml: &str) -> Arc<PathManager> {
    let conf = Arc::new(
        ferromtx_conf::load_from_str(yaml, &|_| None)
            .expect("valid conf")
            .conf,
    );
    let auth = Arc::new(auth::Manager::new(&conf));
    Arc::new(PathManager::new(conf, auth))
}

/// A server with every path open to everyone, on loopback ports.
pub async fn server(yaml: &str) -> (RtspServer, Arc<PathManager>) {
    server_with(yaml, RtspSettings::loopback()).await
}

pub async fn server_with(yaml: &str, settings: RtspSettings) -> (RtspServer, Arc<PathManager>) {
    let paths = manager(yaml);
    let server = RtspServer::start(settings, Arc::clone(&paths))
        .await
        .expect("server starts");
    (server, paths)
}

pub const OPEN_CONF: &str = "paths:\n  all_others:\n";

/// A self-signed certificate for `127.0.0.1` and `localhost`: the server's TLS
/// configuration and the certificate's SHA-256 fingerprint (lowercase hex).
pub fn self_signed() -> (Arc<rustls::ServerConfig>, String) {
    use sha2::Digest;
    let c =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("certificate");
    let der = c.cert.der().clone();
    let fingerprint = sha2::Sha256::digest(der.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        c.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .expect("server config");
    (Arc::new(config), fingerprint)
}

/// A raw RTSP client.
pub struct Client {
    stream: Box<dyn Io>,
    decoder: Decoder,
    cseq: u32,
    pub session: Option<String>,
    pub frames: VecDeque<Interleaved>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::time::timeout(STEP, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        Client::over(Box::new(stream))
    }

    fn over(stream: Box<dyn Io>) -> Client {
        Client {
            stream,
            decoder: Decoder::new(),
            cseq: 0,
            session: None,
            frames: VecDeque::new(),
        }
    }

    /// Connects with TLS, accepting the certificate with this fingerprint only.
    pub async fn connect_tls(addr: SocketAddr, fingerprint: &str) -> Client {
        let stream = tokio::time::timeout(STEP, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let config = ferromtx_net::tls::client_config(fingerprint).expect("client config");
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
        let tls = tokio::time::timeout(STEP, connector.connect(name, stream))
            .await
            .expect("handshake in time")
            .expect("handshake");
        Client::over(Box::new(tls))
    }

    /// A client whose socket has a small receive buffer (to stall it on purpose).
    pub async fn connect_small_buffer(addr: SocketAddr) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("buffer size");
        let stream = tokio::time::timeout(STEP, socket.connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        Client::over(Box::new(stream))
    }

    /// Writes `data`; a server that stops reading for [`STEP`] fails the test instead of
    /// hanging it.
    pub async fn send_raw(&mut self, data: &[u8]) {
        tokio::time::timeout(STEP, async {
            self.stream.write_all(data).await.expect("write");
            self.stream.flush().await.expect("flush");
        })
        .await
        .expect("the server reads what is sent to it in time");
    }

    /// Sends a request (with CSeq and Session) and waits for its response.
    pub async fn request(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Bytes)>,
    ) -> Response {
        self.cseq += 1;
        let mut req = Request::new(method, uri);
        req.headers.set("CSeq", self.cseq.to_string());
        if let Some(s) = &self.session {
            req.headers.set("Session", s.clone());
        }
        for (k, v) in headers {
            req.headers.set(*k, *v);
        }
        if let Some((ct, b)) = body {
            req.headers.set("Content-Type", ct);
            req.headers.set("Content-Length", b.len().to_string());
            req.body = b;
        }
        self.send_raw(&req.to_bytes()).await;
        let res = self.response().await;
        if let Some(s) = res.headers.get("Session") {
            self.session = Some(s.split(';').next().unwrap_or(s).trim().to_string());
        }
        res
    }

    /// The next response; interleaved frames met on the way are kept.
    /// SETUP of track `i` of `url` (control `trackID=i`) with one `Transport`.
    pub async fn setup(&mut self, url: &str, i: usize, transport: &str) -> Response {
        let uri = format!("{url}/trackID={i}");
        self.request(Method::Setup, &uri, &[("Transport", transport)], None)
            .await
    }

    /// SETUP of the two streams of an announced `url` for recording over TCP (channels 0-1
    /// and 2-3), with FFmpeg's `streamid=` controls, each answered 200.
    pub async fn record_setup_tcp(&mut self, url: &str) {
        for (i, ch) in [(0, "0-1"), (1, "2-3")] {
            let uri = format!("{url}/streamid={i}");
            let t = format!("RTP/AVP/TCP;unicast;interleaved={ch};mode=record");
            let res = self
                .request(Method::Setup, &uri, &[("Transport", &t)], None)
                .await;
            assert_eq!(res.status, StatusCode::OK, "publisher SETUP {i} of {url}");
        }
    }

    /// DESCRIBE, SETUP of the first track over TCP (channels 0-1) and PLAY, each answered
    /// 200.
    pub async fn play_first_track_tcp(&mut self, url: &str) {
        let res = self.request(Method::Describe, url, &[], None).await;
        assert_eq!(res.status, StatusCode::OK, "DESCRIBE {url}");
        let res = self
            .setup(url, 0, "RTP/AVP/TCP;unicast;interleaved=0-1")
            .await;
        assert_eq!(res.status, StatusCode::OK, "SETUP {url}");
        let res = self.request(Method::Play, url, &[], None).await;
        assert_eq!(res.status, StatusCode::OK, "PLAY {url}");
    }

    pub async fn response(&mut self) -> Response {
        for _ in 0..100_000 {
            match self.pull().await {
                Incoming::Message(Message::Response(r)) => return r,
                Incoming::Message(Message::Request(r)) => panic!("unexpected request {r:?}"),
                Incoming::Interleaved(f) => self.frames.push_back(f),
            }
        }
        panic!("no response");
    }

    /// The next interleaved frame.
    pub async fn frame(&mut self) -> Interleaved {
        if let Some(f) = self.frames.pop_front() {
            return f;
        }
        for _ in 0..100_000 {
            if let Incoming::Interleaved(f) = self.pull().await {
                return f;
            }
        }
        panic!("no frame");
    }

    async fn pull(&mut self) -> Incoming {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        for _ in 0..100_000 {
            if let Some(item) = self.decoder.pull() {
                return item.expect("valid message from the server");
            }
            buf.clear();
            let n = tokio::time::timeout(STEP, self.stream.read_buf(&mut buf))
                .await
                .expect("server answers in time")
                .expect("read");
            assert!(n > 0, "server closed the connection");
            self.decoder.push(&buf);
        }
        panic!("nothing decoded");
    }

    /// Whether the server closed the connection (reads until EOF, bounded in time).
    pub async fn closed_by_server(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        for _ in 0..1000 {
            match tokio::time::timeout(STEP, self.stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
        false
    }

    /// Sends an interleaved frame.
    pub async fn send_frame(&mut self, channel: u8, payload: Bytes) {
        let data = Interleaved { channel, payload }
            .to_bytes()
            .expect("frame fits");
        self.send_raw(&data).await;
    }
}

#[allow(unused_imports)]
pub use ferromtx_testkit::free_udp_pair;

/// Skips (returns false) when a tool is missing, or fails in CI (`CI=true`).
pub fn require_tools(names: &[&str]) -> bool {
    ferromtx_testkit::require(names)
}

/// An `authHTTPAddress` service that allows requests whose JSON body carries
/// `"token":"<token>"`. Returns its URL and the bodies it received.
pub async fn token_auth_server(
    token: &str,
) -> (
    String,
    Arc<std::sync::Mutex<Vec<String>>>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/auth", listener.local_addr().expect("addr"));
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&bodies);
    let wanted = format!("\"token\":\"{token}\"");
    let task = tokio::spawn(async move {
        for _ in 0..1000 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let seen = Arc::clone(&seen);
            let wanted = wanted.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                let body = loop {
                    match tokio::time::timeout(STEP, socket.read(&mut buf)).await {
                        Ok(Ok(n)) if n > 0 => data.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                    let text = String::from_utf8_lossy(&data).to_string();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break body.to_string();
                    }
                    if data.len() > 1 << 20 {
                        return;
                    }
                };
                let ok = body.contains(&wanted);
                seen.lock().expect("lock").push(body);
                let status = if ok { "200 OK" } else { "401 Unauthorized" };
                let res =
                    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = socket.write_all(res.as_bytes()).await;
            });
        }
    });
    (url, bodies, task)
}
