//! The WebRTC server: the shared UDP mux, the live sessions and their tasks.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ferromtx_codec::Format;
use ferromtx_conf::Conf;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::auth::AccessRequest;
use crate::outbox::Outbox;
use crate::session::LocalCandidates;
use crate::session::{
    CloseReason, Output, Session, SessionConfig, SessionEvent, SessionStats, candidate_label,
};
use crate::source::{EgressSource, IngestSink};
use crate::udp_mux::{DatagramRx, MuxCounters, Router, UdpMux};
use str0m::net::Protocol;
use tracing::Instrument as _;

/// Datagrams queued per session before the mux drops.
const DATAGRAM_QUEUE: usize = 256;

/// Units a session takes from its stream in one turn at most (more wait for the next turn).
const MAX_UNITS_PER_TURN: usize = 16;

/// ICE-TCP connections one session keeps at most.
const MAX_TCP_CONNECTIONS: usize = 4;

/// Sends and forgets what `outbox` holds.
async fn send(udp: Option<&UdpMux>, outbox: &mut Outbox) {
    if outbox.is_empty() {
        return;
    }
    if let Some(udp) = udp {
        for (group, bytes) in outbox.groups() {
            udp.send(group.destination, group.source, bytes, group.segment)
                .await;
        }
    }
    outbox.clear();
}

/// How often a session task publishes its counters.
const STATS_PERIOD: std::time::Duration = std::time::Duration::from_millis(200);

/// An ICE server announced in `Link` headers (`webrtcICEServers2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Server settings (from `mediamtx.yml`'s `webrtc*` keys).
#[derive(Debug, Clone)]
pub struct WebrtcConfig {
    /// `webrtcLocalUDPAddress` (`None`: empty, no ICE/UDP).
    pub local_udp_address: Option<SocketAddr>,
    /// `webrtcLocalTCPAddress` (`None`: empty, no ICE-TCP).
    pub local_tcp_address: Option<SocketAddr>,
    /// Addresses announced as host candidates; each listener announces them with its own
    /// port. Empty: the listeners' own addresses (which must then not be unspecified).
    pub candidate_addrs: Vec<SocketAddr>,
    pub ice_servers: Vec<IceServer>,
    /// `webrtcAllowOrigins`.
    pub allow_origins: Vec<String>,
    /// `webrtcTrackGatherTimeout` (kept for the API; str0m sees every track in the offer).
    pub track_gather_timeout: Duration,
    /// `webrtcSTUNGatherTimeout` (kept for the API; ICE-lite gathers no STUN candidates).
    pub stun_gather_timeout: Duration,
    /// `udpReadBufferSize`: receive buffer of the ICE/UDP socket; 0 enlarges it as far as
    /// the system allows without asking (bursts of handshakes overflow the default).
    pub udp_read_buffer_size: usize,
    pub session: SessionConfig,
}

impl Default for WebrtcConfig {
    fn default() -> Self {
        WebrtcConfig {
            local_udp_address: Some(SocketAddr::from(([0, 0, 0, 0], 8189))),
            local_tcp_address: None,
            candidate_addrs: Vec::new(),
            ice_servers: Vec::new(),
            allow_origins: vec!["*".into()],
            track_gather_timeout: Duration::from_secs(2),
            stun_gather_timeout: Duration::from_secs(5),
            udp_read_buffer_size: 0,
            session: SessionConfig::default(),
        }
    }
}

impl WebrtcConfig {
    /// The settings of `mediamtx.yml`'s `webrtc*` keys (see [`WebrtcConfig::from_settings`]).
    pub fn from_conf(conf: &Conf) -> WebrtcConfig {
        WebrtcConfig::from_settings(&crate::component::WebrtcSettings::from_conf(conf))
    }

    /// The server's configuration from its settings. Host candidates are the interface
    /// addresses (`webrtcIPsFromInterfaces`, `webrtcIPsFromInterfacesList`) plus
    /// `webrtcAdditionalHosts` (names are resolved once, here), all on the port of
    /// `webrtcLocalUDPAddress`, in the address family of that socket.
    pub fn from_settings(conf: &crate::component::WebrtcSettings) -> WebrtcConfig {
        let default = WebrtcConfig::default();
        let listen = |key: &str, value: &str| {
            if value.is_empty() {
                return None;
            }
            let parsed = parse_listen_address(value);
            if parsed.is_none() {
                tracing::warn!("invalid {key} '{value}', not listening");
            }
            parsed
        };
        let local_udp_address = listen("webrtcLocalUDPAddress", &conf.local_udp_address);
        let local_tcp_address = listen("webrtcLocalTCPAddress", &conf.local_tcp_address);
        // Candidates take the family of the listeners (UDP's, else TCP's).
        let family_of = local_udp_address
            .or(local_tcp_address)
            .unwrap_or(SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 8189)));
        let mut ips: Vec<IpAddr> = Vec::new();
        if conf.ips_from_interfaces {
            match crate::interfaces::interface_ips(&conf.ips_from_interfaces_list) {
                Ok(found) => ips.extend(found),
                Err(e) => tracing::warn!("cannot list network interfaces: {e}"),
            }
        }
        for host in &conf.additional_hosts {
            ips.extend(resolve_host(host));
        }
        let port = family_of.port();
        let family_ok = |ip: &IpAddr| {
            let local = family_of.ip();
            // An unspecified IPv6 socket is dual-stack; anything else takes its family.
            (local.is_ipv6() && local.is_unspecified()) || ip.is_ipv4() == local.is_ipv4()
        };
        let mut candidate_addrs: Vec<SocketAddr> = Vec::new();
        for ip in ips.into_iter().filter(family_ok) {
            let addr = SocketAddr::new(ip, port);
            if !candidate_addrs.contains(&addr) {
                candidate_addrs.push(addr);
            }
        }
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let ice_servers = conf
            .ice_servers
            .iter()
            .map(|s| IceServer {
                url: s.url.clone(),
                username: non_empty(&s.username),
                password: non_empty(&s.password),
            })
            .collect();
        WebrtcConfig {
            local_udp_address,
            local_tcp_address,
            candidate_addrs,
            ice_servers,
            allow_origins: conf.http.allow_origins.clone(),
            track_gather_timeout: conf.track_gather_timeout,
            stun_gather_timeout: conf.stun_gather_timeout,
            udp_read_buffer_size: conf.udp_read_buffer_size,
            session: SessionConfig {
                handshake_timeout: conf.handshake_timeout,
                ..default.session
            },
        }
    }
}

/// A listen address without a name (`:8189` listens on every address of both families,
/// as Go does; names are not resolved here).
fn parse_listen_address(s: &str) -> Option<SocketAddr> {
    let addr: ferromtx_net::ListenAddr = s.parse().ok()?;
    let ip = match addr.host {
        ferromtx_net::addr::Host::Any => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        ferromtx_net::addr::Host::Ip(ip) => ip,
        ferromtx_net::addr::Host::Name(_) => return None,
    };
    Some(SocketAddr::new(ip, addr.port))
}

/// An additional host: an IP, or a name resolved now (skipped with a warning if it
/// can't be, as MediaMTX does).
fn resolve_host(host: &str) -> Vec<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return vec![ip];
    }
    match std::net::ToSocketAddrs::to_socket_addrs(&(host, 0)) {
        Ok(addrs) => addrs.map(|a| a.ip()).collect(),
        Err(e) => {
            tracing::warn!("cannot resolve additional host \"{host}\", skipping it: {e}");
            Vec::new()
        }
    }
}

/// Why a reader or publisher could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Nothing is published on the path (404).
    #[error("{0}")]
    NoStream(String),
    /// Anything else the path manager refuses (400).
    #[error("{0}")]
    Refused(String),
    /// Authentication failed (401; `WWW-Authenticate` when `ask_credentials`). `message`
    /// says why, for the log.
    #[error("authentication error")]
    Unauthorized {
        ask_credentials: bool,
        message: String,
    },
}

/// What the server needs from the path manager. Every method authenticates the request
/// first: nothing of a peer connection exists before one of them said yes.
pub trait Backend: Send + Sync + 'static {
    type Source: EgressSource;
    type Sink: IngestSink;
    /// A publisher admitted to a path (authenticated, path claimed) whose tracks are not
    /// known yet. Dropping it gives the path back.
    type Admitted: Send;

    /// Authenticates `req` without taking anything (the pages and OPTIONS).
    fn authenticate(
        &self,
        req: &AccessRequest,
    ) -> impl Future<Output = Result<(), OpenError>> + Send;

    /// Authenticates `req` and attaches a reader to its path.
    fn open_reader(
        &self,
        req: &AccessRequest,
    ) -> impl Future<Output = Result<Self::Source, OpenError>> + Send;

    /// Authenticates `req` and claims its path for a publisher.
    fn admit_publisher(
        &self,
        req: &AccessRequest,
    ) -> impl Future<Output = Result<Self::Admitted, OpenError>> + Send;

    /// Announces the tracks of an admitted publisher (from its accepted offer): the path
    /// becomes available.
    fn start_publisher(
        &self,
        admitted: Self::Admitted,
        tracks: &[Format],
        query: &str,
    ) -> Result<Self::Sink, OpenError>;
}

impl<T: Backend> Backend for Arc<T> {
    type Source = T::Source;
    type Sink = T::Sink;
    type Admitted = T::Admitted;

    fn authenticate(
        &self,
        req: &AccessRequest,
    ) -> impl Future<Output = Result<(), OpenError>> + Send {
        (**self).authenticate(req)
    }

    fn open_reader(
        &self,
        req: &AccessRequest,
    ) -> impl Future<Output = Result<Self::Source, OpenError>> + Send {
        (**self).open_reader(req)
    }

    fn admit_publisher(
        &self,
        req: &AccessRequest,
    ) -> impl Future<Output = Result<Self::Admitted, OpenError>> + Send {
        (**self).admit_publisher(req)
    }

    fn start_publisher(
        &self,
        admitted: Self::Admitted,
        tracks: &[Format],
        query: &str,
    ) -> Result<Self::Sink, OpenError> {
        (**self).start_publisher(admitted, tracks, query)
    }
}

/// Commands from the HTTP side to a session task.
#[derive(Debug)]
pub(crate) enum Command {
    Candidates(Vec<String>),
    Close,
}

/// A live session as the API (`/v3/webrtcsessions/list`) sees it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: String,
    /// When the offer was accepted (`created`).
    pub created: SystemTime,
    pub path: String,
    /// Raw query of the WHIP/WHEP request (`query`).
    pub query: String,
    pub publish: bool,
    /// The HTTP client (`remoteAddr`).
    pub remote: Option<SocketAddr>,
    /// Connection state and counters; `stats.local_candidate` / `remote_candidate`
    /// are labelled with [`crate::session::candidate_label`].
    pub stats: SessionStats,
}

impl SessionInfo {
    /// `state`: `read` or `publish`.
    pub fn state(&self) -> &'static str {
        if self.publish { "publish" } else { "read" }
    }
}

pub(crate) struct SessionHandle {
    pub id: String,
    pub created: SystemTime,
    pub path: String,
    pub query: String,
    pub publish: bool,
    pub remote: Option<SocketAddr>,
    pub commands: mpsc::Sender<Command>,
    pub stats: Arc<Mutex<SessionStats>>,
}

pub(crate) struct Shared<B> {
    pub backend: B,
    pub config: WebrtcConfig,
    pub candidates: LocalCandidates,
    pub router: Arc<Router>,
    pub udp: Option<Arc<UdpMux>>,
    pub tcp_local: Option<SocketAddr>,
    /// Keyed by the secret in the session URL.
    pub sessions: Mutex<HashMap<String, SessionHandle>>,
}

impl<B> Shared<B> {
    pub fn with_sessions<R>(&self, f: impl FnOnce(&mut HashMap<String, SessionHandle>) -> R) -> R {
        match self.sessions.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

/// The WebRTC server. Serve [`WebrtcServer::router`] over HTTP.
pub struct WebrtcServer<B> {
    pub(crate) shared: Arc<Shared<B>>,
    /// The UDP receive loop and the ICE-TCP accept loop.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl<B> Drop for WebrtcServer<B> {
    fn drop(&mut self) {
        for t in self
            .tasks
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            t.abort();
        }
    }
}

impl<B> WebrtcServer<B> {
    /// Closes every session, stops the ICE/UDP and ICE-TCP loops and releases their
    /// sockets: when it returns the ports are free, whoever still holds the server.
    pub async fn close(&self) {
        self.shared.with_sessions(|s| {
            for h in s.values() {
                let _ = h.commands.try_send(Command::Close);
            }
        });
        let tasks = std::mem::take(
            &mut *self
                .tasks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
        if let Some(udp) = &self.shared.udp {
            udp.close();
        }
    }
}

/// `addrs` with `port`, or `bound` when there are none (it must then be a real address).
fn candidates_on(
    addrs: &[SocketAddr],
    bound: SocketAddr,
    what: &str,
) -> io::Result<Vec<SocketAddr>> {
    if addrs.is_empty() {
        if bound.ip().is_unspecified() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no candidate address for an unspecified {what}"),
            ));
        }
        return Ok(vec![bound]);
    }
    Ok(addrs
        .iter()
        .map(|a| SocketAddr::new(a.ip(), bound.port()))
        .collect())
}

impl<B: Backend> WebrtcServer<B> {
    /// Binds the ICE/UDP socket and the ICE-TCP listener (those configured) and starts
    /// their loops.
    pub async fn start(config: WebrtcConfig, backend: B) -> io::Result<Self> {
        let router = Arc::new(Router::default());
        let mut candidates = LocalCandidates::default();
        let mut tasks = Vec::new();
        let udp = match config.local_udp_address {
            Some(addr) => {
                let mux =
                    UdpMux::bind(addr, config.udp_read_buffer_size, Arc::clone(&router)).await?;
                let local = mux.local_addr()?;
                candidates.udp =
                    candidates_on(&config.candidate_addrs, local, "webrtcLocalUDPAddress")?;
                tasks.push(mux.start());
                Some(mux)
            }
            None => None,
        };
        let tcp_local = match config.local_tcp_address {
            Some(addr) => {
                let listener = ferromtx_net::bind_tcp_addr(addr)?;
                let local = listener.local_addr()?;
                candidates.tcp =
                    candidates_on(&config.candidate_addrs, local, "webrtcLocalTCPAddress")?;
                let handshake = config.session.handshake_timeout;
                tasks.push(crate::tcp_mux::start(
                    listener,
                    Arc::clone(&router),
                    handshake,
                ));
                Some(local)
            }
            None => None,
        };
        if udp.is_none() && tcp_local.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "at least one of webrtcLocalUDPAddress and webrtcLocalTCPAddress must be set",
            ));
        }
        Ok(WebrtcServer {
            shared: Arc::new(Shared {
                backend,
                config,
                candidates,
                router,
                udp,
                tcp_local,
                sessions: Mutex::new(HashMap::new()),
            }),
            tasks: Mutex::new(tasks),
        })
    }

    /// The ICE/UDP socket's address.
    pub fn udp_local_addr(&self) -> io::Result<SocketAddr> {
        match &self.shared.udp {
            Some(u) => u.local_addr(),
            None => Err(io::Error::new(io::ErrorKind::NotFound, "no ICE/UDP socket")),
        }
    }

    /// The ICE-TCP listener's address.
    pub fn tcp_local_addr(&self) -> Option<SocketAddr> {
        self.shared.tcp_local
    }

    /// Sessions known to the ICE routing (none exist before an offer was authenticated).
    pub fn routed_sessions(&self) -> usize {
        self.shared.router.session_count()
    }

    pub fn mux_counters(&self) -> &MuxCounters {
        self.shared.router.counters()
    }

    /// Datagrams one send call carries at most (1 when the kernel has no UDP GSO).
    pub fn max_segments(&self) -> usize {
        self.shared.udp.as_ref().map_or(1, |u| u.max_segments())
    }

    /// The live sessions.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared.with_sessions(|s| {
            s.values()
                .map(|h| SessionInfo {
                    id: h.id.clone(),
                    created: h.created,
                    path: h.path.clone(),
                    query: h.query.clone(),
                    publish: h.publish,
                    remote: h.remote,
                    stats: match h.stats.lock() {
                        Ok(s) => *s,
                        Err(p) => *p.into_inner(),
                    },
                })
                .collect()
        })
    }

    /// Closes a session by id (API kick). Returns whether it existed.
    pub fn kick(&self, id: &str) -> bool {
        self.shared.with_sessions(|s| {
            s.values()
                .find(|h| h.id == id)
                .map(|h| h.commands.try_send(Command::Close).is_ok())
                .unwrap_or(false)
        })
    }
}

/// What a session task drives besides the peer.
pub(crate) enum Media<S, K> {
    Egress(S),
    Ingress(K),
}

/// Who a new session belongs to.
pub(crate) struct SessionMeta {
    pub id: String,
    pub secret: String,
    pub path: String,
    pub query: String,
    pub publish: bool,
    pub remote: Option<SocketAddr>,
    /// `2 tracks (H264, Opus)`, for the log line once connected.
    pub tracks_info: String,
    /// `[WebRTC] [session 1a2b3c4d]`: what the session's log lines (and those of the core
    /// on its behalf, like a slow reader's) are prefixed with.
    pub span: tracing::Span,
}

/// The span of a session's log lines, as MediaMTX prefixes them.
pub(crate) fn session_span(id: &str) -> tracing::Span {
    tracing::info_span!(
        parent: None,
        "webrtc_session",
        component = "WebRTC",
        session = short_id(id)
    )
}

/// Registers `session` with the mux and the session table, and spawns the task that
/// owns it and its media end.
pub(crate) fn spawn_session<B: Backend>(
    shared: Arc<Shared<B>>,
    meta: SessionMeta,
    session: Session,
    media: Media<B::Source, B::Sink>,
) {
    let (dgram_tx, dgram_rx) = mpsc::channel(DATAGRAM_QUEUE);
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let ufrag = session.local_ufrag().to_owned();
    shared.router.register(ufrag.clone(), dgram_tx);
    let stats = Arc::new(Mutex::new(SessionStats::default()));
    let SessionMeta {
        id,
        secret,
        path,
        query,
        publish,
        remote,
        tracks_info,
        span,
    } = meta;
    // MediaMTX 1.20 names a publisher's tracks in the path's `stream is available` line
    // only; a reader's line keeps them.
    let connected_line = if publish {
        format!("is publishing to path '{path}'")
    } else {
        format!("is reading from path '{path}', {tracks_info}")
    };
    let handle = SessionHandle {
        id: id.clone(),
        created: SystemTime::now(),
        path,
        query,
        publish,
        remote,
        commands: cmd_tx,
        stats: Arc::clone(&stats),
    };
    shared.with_sessions(|s| s.insert(secret.clone(), handle));
    // Boxed, the session (about 11 KB, most of it str0m's `Rtc`) lives once on the heap;
    // held by value, the task's future kept it two or three times over (the spawned block's
    // capture, `run_session`'s argument and its local), about 30 KB more per viewer.
    let session = Box::new(session);
    tokio::spawn(
        async move {
            let udp = shared.udp.clone();
            // Unregisters even if the task panics, so nothing routes to a dead session.
            let _registered = Registered {
                shared: &shared,
                ufrag: &ufrag,
                secret: &secret,
            };
            let log = SessionLog {
                connected_line: &connected_line,
            };
            let reason = run_session(session, media, dgram_rx, cmd_rx, udp, stats, &log).await;
            tracing::info!("closed: {reason}");
        }
        .instrument(span),
    );
}

/// A session's entries in the mux and the session table, removed on drop.
struct Registered<'a, B> {
    shared: &'a Shared<B>,
    ufrag: &'a str,
    secret: &'a str,
}

impl<B> Drop for Registered<'_, B> {
    fn drop(&mut self) {
        self.shared.router.unregister(self.ufrag);
        self.shared.with_sessions(|s| s.remove(self.secret));
    }
}

pub(crate) fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// What the media end of a session produced.
enum MediaEvent {
    Item(crate::source::EgressItem),
    /// The stream ended or the sink closed.
    Ended,
}

/// What a session task logs about itself.
struct SessionLog<'a> {
    /// `is reading from path 'x', 2 tracks (H264, Opus)`.
    connected_line: &'a str,
}

impl SessionLog<'_> {
    /// MediaMTX's lines once ICE and DTLS are up.
    fn connected(&self, stats: &SessionStats) {
        let label =
            |a: Option<SocketAddr>| a.map_or_else(String::new, |a| candidate_label(a, stats.tcp));
        tracing::info!(
            "peer connection established, local candidate: {}, remote candidate: {}",
            label(stats.local_candidate),
            label(stats.remote_candidate)
        );
        tracing::info!("{}", self.connected_line);
    }
}

async fn run_session<S: EgressSource, K: IngestSink>(
    mut session: Box<Session>,
    mut media: Media<S, K>,
    mut dgrams: DatagramRx,
    mut commands: mpsc::Receiver<Command>,
    udp: Option<Arc<UdpMux>>,
    stats: Arc<Mutex<SessionStats>>,
    log: &SessionLog<'_>,
) -> CloseReason {
    let mut outbox = Outbox::new(udp.as_ref().map_or(1, |u| u.max_segments()));
    // ICE-TCP connections of this peer, by its address.
    let mut tcp: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let publish_stats = |s: &Session, media: &Media<S, K>| {
        let mut now = s.stats();
        if let Media::Ingress(sink) = media {
            // The sink's ingest gives up on missing packets: its count is the session's.
            now.rtp_packets_lost = sink.lost();
        }
        match stats.lock() {
            Ok(mut g) => *g = now,
            Err(p) => *p.into_inner() = now,
        }
    };
    let mut last_publish = Instant::now();
    // One timer for the session's life, moved to each turn's deadline (cheaper than a new
    // one per turn).
    let timer = tokio::time::sleep_until(tokio::time::Instant::now());
    tokio::pin!(timer);
    loop {
        let now = Instant::now();
        if now.saturating_duration_since(last_publish) >= STATS_PERIOD {
            publish_stats(&session, &media);
            last_publish = now;
        }
        let deadline = loop {
            match session.poll_output(now) {
                Output::Transmit(t) if t.proto == Protocol::Tcp => {
                    let framed = crate::rfc4571::frame(&t.contents);
                    if let (Some(w), Some(f)) = (tcp.get(&t.destination), framed) {
                        // A full connection drops like UDP would; NACK repairs video.
                        let _ = w.try_send(f);
                    }
                }
                Output::Transmit(t) => outbox.push(t.destination, t.source, &t.contents),
                Output::Timeout(t) => break t,
                Output::Event(SessionEvent::Closed(reason)) => {
                    send(udp.as_deref(), &mut outbox).await;
                    publish_stats(&session, &media);
                    return reason;
                }
                Output::Event(SessionEvent::KeyframeRequest) => {
                    if let Media::Egress(source) = &mut media {
                        source.request_keyframe();
                    }
                }
                Output::Event(SessionEvent::Rtp { track, packet }) => {
                    if let Media::Ingress(sink) = &mut media {
                        sink.write(track, packet, now);
                    }
                }
                Output::Event(SessionEvent::Connected) => log.connected(&session.stats()),
            }
        };
        // Everything this turn produced leaves together: one call per peer and size.
        send(udp.as_deref(), &mut outbox).await;
        if let Media::Ingress(sink) = &mut media
            && sink.wants_keyframe()
        {
            session.request_keyframe();
        }
        let deadline = match &media {
            Media::Ingress(sink) => sink.deadline().map_or(deadline, |d| d.min(deadline)),
            Media::Egress(_) => deadline,
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        let connected = session.is_connected();
        let next_media = async {
            match &mut media {
                Media::Egress(source) if connected => match source.next().await {
                    Some(item) => MediaEvent::Item(item),
                    None => MediaEvent::Ended,
                },
                Media::Ingress(sink) => {
                    sink.closed().await;
                    MediaEvent::Ended
                }
                Media::Egress(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            d = dgrams.recv() => match d {
                Some(d) => match d.tcp {
                    Some(path) => {
                        if tcp.len() < MAX_TCP_CONNECTIONS || tcp.contains_key(&d.source) {
                            tcp.insert(d.source, path.writer);
                        }
                        session.handle_receive(d.received, Protocol::Tcp, d.source, path.local, &d.data);
                    }
                    None => session.handle_udp(d.received, d.source, d.destination, &d.data),
                },
                None => session.close(CloseReason::Local),
            },
            c = commands.recv() => match c {
                Some(Command::Candidates(lines)) => {
                    for l in lines {
                        if let Err(e) = session.add_remote_candidate(&l) {
                            tracing::debug!("{e}");
                        }
                    }
                }
                Some(Command::Close) | None => session.close(CloseReason::Local),
            },
            m = next_media => match m {
                MediaEvent::Item(item) => {
                    let now = Instant::now();
                    session.write(&item);
                    // Units already waiting (audio next to video) go in the same turn.
                    if let Media::Egress(source) = &mut media {
                        for _ in 0..MAX_UNITS_PER_TURN {
                            let Some(item) = source.try_next() else {
                                break;
                            };
                            session.write(&item);
                        }
                    }
                    session.handle_timeout(now);
                }
                MediaEvent::Ended => {
                    let reason = match &media {
                        Media::Egress(source) => source.end_reason(),
                        Media::Ingress(_) => None,
                    };
                    session.close(reason.map_or(CloseReason::Local, CloseReason::Error));
                }
            },
            () = &mut timer => {
                let now = Instant::now();
                if let Media::Ingress(sink) = &mut media {
                    sink.handle_timeout(now);
                }
                session.handle_timeout(now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(yaml: &str) -> Conf {
        ferromtx_conf::load_from_str(yaml, &|_| None).unwrap().conf
    }

    #[test]
    fn from_conf_reads_webrtc_keys() {
        let c = conf(concat!(
            "webrtcLocalUDPAddress: 127.0.0.1:8200\n",
            "webrtcIPsFromInterfaces: true\n",
            "webrtcIPsFromInterfacesList: [lo]\n",
            "webrtcAdditionalHosts: [192.0.2.7, '2001:db8::1', 192.0.2.7]\n",
            "webrtcICEServers2:\n",
            "- url: stun:stun.example:3478\n",
            "- url: turn:turn.example:3478\n  username: u\n  password: p\n",
            "webrtcAllowOrigins: ['https://a.example']\n",
            "webrtcHandshakeTimeout: 3s\n",
            "webrtcTrackGatherTimeout: 700ms\n",
            "webrtcSTUNGatherTimeout: 4s\n",
        ));
        let w = WebrtcConfig::from_conf(&c);
        assert_eq!(
            w.local_udp_address,
            Some(SocketAddr::from(([127, 0, 0, 1], 8200)))
        );
        assert_eq!(w.local_tcp_address, None);
        // IPv4 socket: IPv4 candidates only, on its port, without duplicates.
        assert!(
            w.candidate_addrs
                .iter()
                .all(|a| a.is_ipv4() && a.port() == 8200)
        );
        assert!(
            w.candidate_addrs
                .contains(&SocketAddr::from(([127, 0, 0, 1], 8200)))
        );
        assert_eq!(
            w.candidate_addrs
                .iter()
                .filter(|a| a.ip() == IpAddr::from([192, 0, 2, 7]))
                .count(),
            1
        );
        assert_eq!(
            w.ice_servers,
            vec![
                IceServer {
                    url: "stun:stun.example:3478".into(),
                    username: None,
                    password: None,
                },
                IceServer {
                    url: "turn:turn.example:3478".into(),
                    username: Some("u".into()),
                    password: Some("p".into()),
                },
            ]
        );
        assert_eq!(w.allow_origins, vec!["https://a.example".to_owned()]);
        assert_eq!(w.session.handshake_timeout, Duration::from_secs(3));
        assert_eq!(w.track_gather_timeout, Duration::from_millis(700));
        assert_eq!(w.stun_gather_timeout, Duration::from_secs(4));

        let w = WebrtcConfig::from_conf(&conf(
            "webrtcIPsFromInterfaces: false\nwebrtcAdditionalHosts: [192.0.2.9]\n",
        ));
        assert_eq!(
            w.local_udp_address,
            Some(SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 8189)))
        );
        assert_eq!(
            w.candidate_addrs,
            vec![SocketAddr::from(([192, 0, 2, 9], 8189))]
        );
        assert_eq!(w.allow_origins, vec!["*".to_owned()]);
        assert_eq!(w.session.handshake_timeout, Duration::from_secs(10));

        // ICE-TCP only: no UDP listener, candidates on the TCP listener's family.
        let w = WebrtcConfig::from_conf(&conf(
            "webrtcLocalUDPAddress: ''\nwebrtcLocalTCPAddress: 127.0.0.1:8190\n\
             webrtcIPsFromInterfaces: false\nwebrtcAdditionalHosts: [127.0.0.1, '::1']\n",
        ));
        assert_eq!(w.local_udp_address, None);
        assert_eq!(
            w.local_tcp_address,
            Some(SocketAddr::from(([127, 0, 0, 1], 8190)))
        );
        assert_eq!(
            w.candidate_addrs,
            vec![SocketAddr::from(([127, 0, 0, 1], 8190))]
        );
    }

    #[test]
    fn listen_address_forms() {
        assert_eq!(
            parse_listen_address(":8189"),
            Some(SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 8189)))
        );
        assert_eq!(
            parse_listen_address("[::1]:9"),
            Some("[::1]:9".parse().unwrap())
        );
        assert_eq!(parse_listen_address("nope"), None);
        assert_eq!(parse_listen_address(":99999"), None);
    }
}
