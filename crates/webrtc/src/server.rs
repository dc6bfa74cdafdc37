//! The WebRTC server: the shared UDP mux, the live sessions and their tasks.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ferromtx_codec::Format;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::auth::{AccessRequest, AuthHook};
use crate::session::{CloseReason, Output, Session, SessionConfig, SessionEvent, SessionStats};
use crate::source::{EgressSource, IngestSink};
use crate::udp_mux::{Datagram, MuxCounters, UdpMux};

/// Datagrams queued per session before the mux drops.
const DATAGRAM_QUEUE: usize = 256;

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
    /// `webrtcLocalUDPAddress`.
    pub local_udp_address: SocketAddr,
    /// Addresses announced as host candidates. Empty: the UDP socket's own address
    /// (which must then not be unspecified).
    pub candidate_addrs: Vec<SocketAddr>,
    pub ice_servers: Vec<IceServer>,
    /// `webrtcAllowOrigins`.
    pub allow_origins: Vec<String>,
    pub session: SessionConfig,
}

impl Default for WebrtcConfig {
    fn default() -> Self {
        WebrtcConfig {
            local_udp_address: SocketAddr::from(([0, 0, 0, 0], 8189)),
            candidate_addrs: Vec::new(),
            ice_servers: Vec::new(),
            allow_origins: vec!["*".into()],
            session: SessionConfig::default(),
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
}

/// What the server needs from the path manager.
pub trait Backend: Send + Sync + 'static {
    type Source: EgressSource;
    type Sink: IngestSink;

    fn open_reader(
        &self,
        req: &AccessRequest,
    ) -> impl Future<Output = Result<Self::Source, OpenError>> + Send;

    fn open_publisher(
        &self,
        req: &AccessRequest,
        tracks: &[Format],
    ) -> impl Future<Output = Result<Self::Sink, OpenError>> + Send;
}

impl<T: Backend> Backend for Arc<T> {
    type Source = T::Source;
    type Sink = T::Sink;

    fn open_reader(
        &self,
        req: &AccessRequest,
    ) -> impl Future<Output = Result<Self::Source, OpenError>> + Send {
        (**self).open_reader(req)
    }

    fn open_publisher(
        &self,
        req: &AccessRequest,
        tracks: &[Format],
    ) -> impl Future<Output = Result<Self::Sink, OpenError>> + Send {
        (**self).open_publisher(req, tracks)
    }
}

/// Commands from the HTTP side to a session task.
#[derive(Debug)]
pub(crate) enum Command {
    Candidates(Vec<String>),
    Close,
}

/// A live session as the HTTP side and the API see it.
#[derive(Debug)]
pub struct SessionInfo {
    pub id: String,
    pub path: String,
    pub publish: bool,
    pub remote: Option<SocketAddr>,
    pub stats: SessionStats,
}

pub(crate) struct SessionHandle {
    pub id: String,
    pub path: String,
    pub publish: bool,
    pub remote: Option<SocketAddr>,
    pub commands: mpsc::Sender<Command>,
    pub stats: Arc<Mutex<SessionStats>>,
}

pub(crate) struct Shared<B> {
    pub backend: B,
    pub auth: Arc<dyn AuthHook>,
    pub config: WebrtcConfig,
    pub candidates: Vec<SocketAddr>,
    pub mux: Arc<UdpMux>,
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
    mux_task: JoinHandle<()>,
}

impl<B> Drop for WebrtcServer<B> {
    fn drop(&mut self) {
        self.mux_task.abort();
    }
}

impl<B: Backend> WebrtcServer<B> {
    /// Binds the ICE/UDP socket and starts its receive loop.
    pub async fn start(
        config: WebrtcConfig,
        backend: B,
        auth: Arc<dyn AuthHook>,
    ) -> io::Result<Self> {
        let mux = UdpMux::bind(config.local_udp_address).await?;
        let local = mux.local_addr()?;
        let candidates = if config.candidate_addrs.is_empty() {
            if local.ip().is_unspecified() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "no candidate address for an unspecified webrtcLocalUDPAddress",
                ));
            }
            vec![local]
        } else {
            config.candidate_addrs.clone()
        };
        let mux_task = mux.start();
        tracing::debug!("ICE/UDP listener opened on {local}");
        Ok(WebrtcServer {
            shared: Arc::new(Shared {
                backend,
                auth,
                config,
                candidates,
                mux,
                sessions: Mutex::new(HashMap::new()),
            }),
            mux_task,
        })
    }

    pub fn udp_local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.mux.local_addr()
    }

    pub fn mux_counters(&self) -> &MuxCounters {
        self.shared.mux.counters()
    }

    /// The live sessions.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared.with_sessions(|s| {
            s.values()
                .map(|h| SessionInfo {
                    id: h.id.clone(),
                    path: h.path.clone(),
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
    pub publish: bool,
    pub remote: Option<SocketAddr>,
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
    shared.mux.register(ufrag.clone(), dgram_tx);
    let stats = Arc::new(Mutex::new(SessionStats::default()));
    let SessionMeta {
        id,
        secret,
        path,
        publish,
        remote,
    } = meta;
    let handle = SessionHandle {
        id: id.clone(),
        path,
        publish,
        remote,
        commands: cmd_tx,
        stats: Arc::clone(&stats),
    };
    shared.with_sessions(|s| s.insert(secret.clone(), handle));
    tokio::spawn(async move {
        let socket = Arc::clone(shared.mux.socket());
        let reason = run_session(session, media, dgram_rx, cmd_rx, socket, stats).await;
        shared.mux.unregister(&ufrag);
        shared.with_sessions(|s| s.remove(&secret));
        tracing::info!("[WebRTC] [session {}] closed: {reason}", short_id(&id));
    });
}

pub(crate) fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

async fn run_session<S: EgressSource, K: IngestSink>(
    mut session: Session,
    mut media: Media<S, K>,
    mut dgrams: mpsc::Receiver<Datagram>,
    mut commands: mpsc::Receiver<Command>,
    socket: Arc<UdpSocket>,
    stats: Arc<Mutex<SessionStats>>,
) -> CloseReason {
    let publish_stats = |s: &Session| match stats.lock() {
        Ok(mut g) => *g = s.stats(),
        Err(p) => *p.into_inner() = s.stats(),
    };
    let mut last_publish = Instant::now();
    loop {
        let now = Instant::now();
        if now.saturating_duration_since(last_publish) >= STATS_PERIOD {
            publish_stats(&session);
            last_publish = now;
        }
        let deadline = loop {
            match session.poll_output(Instant::now()) {
                Output::Transmit(t) => {
                    if let Err(e) = socket.send_to(&t.contents, t.destination).await {
                        tracing::debug!("ICE/UDP send to {} failed: {e}", t.destination);
                    }
                }
                Output::Timeout(t) => break t,
                Output::Event(SessionEvent::Closed(reason)) => {
                    publish_stats(&session);
                    return reason;
                }
                Output::Event(SessionEvent::KeyframeRequest) => {
                    if let Media::Egress(source) = &mut media {
                        source.request_keyframe();
                    }
                }
                Output::Event(SessionEvent::Rtp { track, packet }) => {
                    if let Media::Ingress(sink) = &mut media {
                        sink.write(track, packet);
                    }
                }
                Output::Event(SessionEvent::Connected) => {}
            }
        };
        if let Media::Ingress(sink) = &mut media
            && sink.wants_keyframe()
        {
            session.request_keyframe();
        }
        let connected = session.is_connected();
        let next_item = async {
            match &mut media {
                Media::Egress(source) if connected => source.next().await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            d = dgrams.recv() => match d {
                Some(d) => session.handle_datagram(d.received, d.source, &d.data),
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
            item = next_item => match item {
                Some(item) => session.write(Instant::now(), &item),
                None => session.close(CloseReason::Local),
            },
            () = tokio::time::sleep_until(deadline.into()) => {
                session.handle_timeout(Instant::now());
            }
        }
    }
}
