//! Test peers: a str0m client, a test backend, an in-memory (sans-IO) pair and a
//! networked client over 127.0.0.1.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromtx_codec::{Format, rtp};
use ferromtx_webrtc::session::{Output, SessionEvent};
use ferromtx_webrtc::{
    AccessRequest, Backend, EgressItem, EgressSource, IngestSink, LocalCandidates, OpenError,
    Session, SessionConfig, WebrtcConfig, WebrtcServer,
};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

pub fn h264() -> Format {
    Format::H264 {
        payload_type: 96,
        sps: Some(Bytes::from_static(&[0x67, 0x42, 0xe0, 0x1f])),
        pps: None,
        packetization_mode: 1,
    }
}

pub fn opus() -> Format {
    Format::Opus {
        payload_type: 111,
        channels: 2,
    }
}

pub fn aac() -> Format {
    Format::Mpeg4Audio {
        payload_type: 97,
        config: Bytes::from_static(&[0x12, 0x10]),
        size_length: 13,
        index_length: 3,
        index_delta_length: 3,
    }
}

/// A client peer (full ICE, controlling) in RTP mode.
pub fn client_rtc(now: Instant) -> Rtc {
    str0m::crypto::from_feature_flags().install_process_default();
    Rtc::builder().set_rtp_mode(true).build(now)
}

/// A WHEP offer: receive one video and one audio track.
pub fn whep_offer(rtc: &mut Rtc, local: SocketAddr) -> (String, SdpPendingOffer) {
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    let (offer, pending) = api.apply().unwrap();
    (offer.to_sdp_string(), pending)
}

/// A WHIP offer: send one video track.
pub fn whip_offer(rtc: &mut Rtc, local: SocketAddr) -> (String, SdpPendingOffer, Mid) {
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let mut api = rtc.sdp_api();
    let mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, pending) = api.apply().unwrap();
    (offer.to_sdp_string(), pending, mid)
}

pub fn accept_answer(rtc: &mut Rtc, pending: SdpPendingOffer, answer: &str) {
    let answer = SdpAnswer::from_sdp_string(answer).unwrap();
    rtc.sdp_api().accept_answer(pending, answer).unwrap();
}

/// Payload of packet `n` of a test stream.
pub fn payload(n: usize, len: usize) -> Arc<[u8]> {
    (0..len)
        .map(|i| (n.wrapping_mul(31).wrapping_add(i) % 251) as u8)
        .collect::<Vec<_>>()
        .into()
}

/// Server session and client in one process, datagrams passed in memory, time simulated.
pub struct Pair {
    pub server: Session,
    pub client: Rtc,
    pub server_addr: SocketAddr,
    pub client_addr: SocketAddr,
    pub now: Instant,
    pub client_events: Vec<Event>,
    pub server_events: Vec<SessionEvent>,
    /// Drops every datagram from server to client when true.
    pub cut: bool,
    /// Drops every datagram from client to server when true (a vanished peer).
    pub mute_client: bool,
    /// Drops the client's datagrams for which it returns true (loss on the way in).
    pub lose_to_server: Option<DropFilter>,
}

impl Pair {
    pub fn whep(now: Instant, tracks: &[Format], port: u16) -> Pair {
        Pair::whep_with(now, tracks, port, SessionConfig::default())
    }

    pub fn whep_with(now: Instant, tracks: &[Format], port: u16, config: SessionConfig) -> Pair {
        let (server_addr, client_addr) = Pair::addrs(port);
        let mut client = client_rtc(now);
        let (offer, pending) = whep_offer(&mut client, client_addr);
        let accepted = Session::accept_whep(
            now,
            &offer,
            tracks,
            &LocalCandidates::udp(vec![server_addr]),
            config,
        )
        .unwrap();
        accept_answer(&mut client, pending, &accepted.answer);
        Pair::negotiated(accepted.session, client, now, port)
    }

    /// A WHIP pair: the client sends one video track (returned with the pair).
    pub fn whip(now: Instant, port: u16) -> (Pair, Mid) {
        let (server_addr, client_addr) = Pair::addrs(port);
        let mut client = client_rtc(now);
        let (offer, pending, mid) = whip_offer(&mut client, client_addr);
        let accepted = Session::accept_whip(
            now,
            &offer,
            &LocalCandidates::udp(vec![server_addr]),
            SessionConfig::default(),
        )
        .unwrap();
        accept_answer(&mut client, pending, &accepted.answer);
        (Pair::negotiated(accepted.session, client, now, port), mid)
    }

    /// The server's and client's addresses of a pair whose client uses `port`.
    fn addrs(port: u16) -> (SocketAddr, SocketAddr) {
        (
            SocketAddr::from(([10, 0, 0, 1], 8189)),
            SocketAddr::from(([10, 0, 0, 2], port)),
        )
    }

    /// A pair whose offer and answer have been exchanged, nothing else yet.
    fn negotiated(server: Session, client: Rtc, now: Instant, port: u16) -> Pair {
        let (server_addr, client_addr) = Pair::addrs(port);
        Pair {
            server,
            client,
            server_addr,
            client_addr,
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
            cut: false,
            mute_client: false,
            lose_to_server: None,
        }
    }

    /// Polls the server until it waits; returns what it transmits.
    fn drain_server(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for _ in 0..100_000 {
            match self.server.poll_output(self.now) {
                Output::Transmit(t) => out.push(t.contents.to_vec()),
                Output::Event(e) => self.server_events.push(e),
                Output::Timeout(t) if t <= self.now && !self.server.is_closed() => {
                    self.server.handle_timeout(self.now);
                }
                Output::Timeout(_) => break,
            }
        }
        out
    }

    /// Polls the client until it waits; returns what it transmits.
    fn drain_client(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for _ in 0..100_000 {
            match self.client.poll_output().unwrap() {
                str0m::Output::Transmit(t) => out.push(t.contents.to_vec()),
                str0m::Output::Event(e) => self.client_events.push(e),
                str0m::Output::Timeout(t) if t <= self.now && self.client.is_alive() => {
                    self.client.handle_input(Input::Timeout(self.now)).unwrap();
                }
                str0m::Output::Timeout(_) => break,
            }
        }
        out
    }

    /// Exchanges everything both sides have to say at the current time. Each side is
    /// polled after every input, as str0m requires.
    pub fn exchange(&mut self) {
        let mut to_client = self.drain_server();
        let mut to_server = self.drain_client();
        for _ in 0..10_000 {
            if to_client.is_empty() && to_server.is_empty() {
                return;
            }
            for data in std::mem::take(&mut to_client) {
                if self.cut {
                    continue;
                }
                let input = Input::Receive(
                    self.now,
                    Receive {
                        proto: Protocol::Udp,
                        source: self.server_addr,
                        destination: self.client_addr,
                        contents: (&data[..]).try_into().unwrap(),
                    },
                );
                self.client.handle_input(input).unwrap();
                to_server.extend(self.drain_client());
            }
            for data in std::mem::take(&mut to_server) {
                if self.mute_client {
                    continue;
                }
                if let Some(lose) = self.lose_to_server.as_mut()
                    && lose(&data)
                {
                    continue;
                }
                self.server
                    .handle_datagram(self.now, self.client_addr, &data);
                to_client.extend(self.drain_server());
            }
        }
        panic!("pair never settled");
    }

    /// Advances simulated time by `d`, then exchanges.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.server.handle_timeout(self.now);
        if self.client.is_alive() {
            self.client.handle_input(Input::Timeout(self.now)).unwrap();
        }
        self.exchange();
    }

    /// Splits into the server session and the client.
    pub fn into_parts(self) -> (Session, Rtc) {
        (self.server, self.client)
    }

    /// Runs until both sides are connected (bounded).
    pub fn connect(&mut self) {
        for _ in 0..500 {
            self.advance(Duration::from_millis(10));
            if self.server.is_connected() && self.client.is_connected() {
                return;
            }
        }
        panic!("pair did not connect");
    }
}

// ---------------------------------------------------------------------------------
// Networked: a backend, the server on 127.0.0.1, and a client over UDP.

pub struct TestSource {
    pub tracks: Vec<Format>,
    pub rx: mpsc::Receiver<EgressItem>,
    pub keyframe_requests: Arc<Mutex<u32>>,
}

impl EgressSource for TestSource {
    fn tracks(&self) -> Vec<Format> {
        self.tracks.clone()
    }

    async fn next(&mut self) -> Option<EgressItem> {
        self.rx.recv().await
    }

    fn request_keyframe(&mut self) {
        *self.keyframe_requests.lock().unwrap() += 1;
    }
}

pub struct TestSink {
    pub tx: mpsc::UnboundedSender<(usize, rtp::Packet)>,
}

impl IngestSink for TestSink {
    fn write(&mut self, track: usize, packet: rtp::Packet, _now: Instant) {
        let _ = self.tx.send((track, packet));
    }
}

/// One stream on path "cam" (or none); publishers go to a channel.
pub struct TestBackend {
    pub tracks: Vec<Format>,
    pub readers: Mutex<Vec<mpsc::Sender<EgressItem>>>,
    pub keyframe_requests: Arc<Mutex<u32>>,
    pub ingest: mpsc::UnboundedSender<(usize, rtp::Packet)>,
    pub published: Mutex<Vec<Vec<Format>>>,
    /// The user and password every request must carry (none: anyone).
    pub credentials: Option<(String, String)>,
}

impl TestBackend {
    fn check(&self, req: &AccessRequest) -> Result<(), OpenError> {
        match &self.credentials {
            Some((u, p)) if req.credentials.user != *u || req.credentials.pass != *p => {
                Err(OpenError::Unauthorized {
                    ask_credentials: req.credentials.is_empty(),
                    message: "failed to authenticate: wrong credentials".into(),
                })
            }
            _ => Ok(()),
        }
    }
}

impl Backend for TestBackend {
    type Source = TestSource;
    type Sink = TestSink;
    type Admitted = ();

    async fn authenticate(&self, req: &AccessRequest) -> Result<(), OpenError> {
        self.check(req)
    }

    async fn open_reader(&self, req: &AccessRequest) -> Result<TestSource, OpenError> {
        self.check(req)?;
        if req.path != "cam" && req.path != "a/b/cam" {
            return Err(OpenError::NoStream(format!(
                "no stream is available on path '{}'",
                req.path
            )));
        }
        let (tx, rx) = mpsc::channel(4096);
        self.readers.lock().unwrap().push(tx);
        Ok(TestSource {
            tracks: self.tracks.clone(),
            rx,
            keyframe_requests: Arc::clone(&self.keyframe_requests),
        })
    }

    async fn admit_publisher(&self, req: &AccessRequest) -> Result<(), OpenError> {
        self.check(req)
    }

    fn start_publisher(
        &self,
        _admitted: (),
        tracks: &[Format],
        _query: &str,
    ) -> Result<TestSink, OpenError> {
        self.published.lock().unwrap().push(tracks.to_vec());
        Ok(TestSink {
            tx: self.ingest.clone(),
        })
    }
}

pub struct TestServer {
    pub server: WebrtcServer<Arc<TestBackend>>,
    pub backend: Arc<TestBackend>,
    pub http: SocketAddr,
    pub ingest: mpsc::UnboundedReceiver<(usize, rtp::Packet)>,
    http_task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.http_task.abort();
    }
}

pub async fn start_server(tracks: Vec<Format>) -> TestServer {
    start_server_with(tracks, None, SessionConfig::default()).await
}

/// A server whose every request must carry `user` and `pass`.
pub async fn start_server_with_credentials(
    tracks: Vec<Format>,
    user: &str,
    pass: &str,
) -> TestServer {
    let creds = Some((user.to_owned(), pass.to_owned()));
    start_server_with(tracks, creds, SessionConfig::default()).await
}

pub async fn start_server_with(
    tracks: Vec<Format>,
    credentials: Option<(String, String)>,
    session: SessionConfig,
) -> TestServer {
    let (itx, irx) = mpsc::unbounded_channel();
    let backend = Arc::new(TestBackend {
        tracks,
        readers: Mutex::new(Vec::new()),
        keyframe_requests: Arc::new(Mutex::new(0)),
        ingest: itx,
        published: Mutex::new(Vec::new()),
        credentials,
    });
    let config = WebrtcConfig {
        local_udp_address: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        session,
        ..Default::default()
    };
    let server = WebrtcServer::start(config, Arc::clone(&backend))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let app = server
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    let http_task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    TestServer {
        server,
        backend,
        http,
        ingest: irx,
        http_task,
    }
}

/// Decides whether the client drops an incoming datagram.
pub type DropFilter = Box<dyn FnMut(&[u8]) -> bool + Send>;

/// A client peer on a real UDP socket.
pub struct NetClient {
    pub rtc: Rtc,
    pub socket: UdpSocket,
    pub local: SocketAddr,
    pub events: Vec<Event>,
    pub filter: Option<DropFilter>,
}

impl NetClient {
    pub async fn new() -> NetClient {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = socket.local_addr().unwrap();
        NetClient {
            rtc: client_rtc(Instant::now()),
            socket,
            local,
            events: Vec::new(),
            filter: None,
        }
    }

    /// Drives the peer until `done` holds or `limit` passes; returns whether `done` held.
    pub async fn drive_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&mut NetClient) -> bool,
    ) -> bool {
        let end = tokio::time::Instant::now() + limit;
        let mut buf = vec![0u8; 2048];
        while tokio::time::Instant::now() < end {
            let timeout = loop {
                match self.rtc.poll_output().unwrap() {
                    str0m::Output::Transmit(t) => {
                        let _ = self.socket.send_to(&t.contents, t.destination).await;
                    }
                    str0m::Output::Event(e) => self.events.push(e),
                    str0m::Output::Timeout(t) => break t,
                }
            };
            if done(self) {
                return true;
            }
            let wait = timeout
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50));
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => {
                    let Ok((n, source)) = r else { continue };
                    let data = &buf[..n];
                    if let Some(f) = self.filter.as_mut()
                        && f(data)
                    {
                        continue;
                    }
                    let input = Input::Receive(Instant::now(), Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: self.local,
                        contents: data.try_into().unwrap(),
                    });
                    self.rtc.handle_input(input).unwrap();
                }
                () = tokio::time::sleep(wait) => {
                    self.rtc.handle_input(Input::Timeout(Instant::now())).unwrap();
                }
            }
        }
        done(self)
    }

    pub fn rtp_received(&self) -> Vec<&str0m::rtp::RtpPacket> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::RtpPacket(p) => Some(p),
                _ => None,
            })
            .collect()
    }
}

/// POSTs an SDP offer; returns (status, headers, body).
pub async fn post_offer(
    http: SocketAddr,
    path: &str,
    offer: &str,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, String) {
    let res = reqwest::Client::new()
        .post(format!("http://{http}{path}"))
        .header("Content-Type", "application/sdp")
        .body(offer.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}
