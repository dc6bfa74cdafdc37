//! The RTSP server driver (tokio): listeners, connections and sessions on top of the
//! sans-IO [`ServerSession`](crate::server_session::ServerSession), publishing into and
//! reading from the paths of a [`PathManager`].

mod close;
mod conn;
pub(crate) mod info;
pub(crate) mod multicast;
mod read;
pub(crate) mod request;
mod settings;
pub(crate) mod udp;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use ferromtx_core::PathManager;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tracing::Instrument;

pub use crate::rtcp::REPORT_PERIOD;
pub use crate::rtp_in::DEFAULT_UDP_MAX_PAYLOAD_SIZE;
pub use crate::transport::MULTICAST_TTL;
pub use close::CloseReason;
pub use info::{ConnInfo, SessionInfo, SessionState};
pub use multicast::MulticastConfig;
pub use settings::RtspSettings;

use conn::ConnContext;
use info::Registry;
use multicast::Multicast;
use udp::UdpServer;

use crate::server_session::{SessionConfig, TransportKind};

/// A fresh client nonce for Digest answers.
pub(crate) fn cnonce() -> String {
    crate::secret::hex(16)
}

/// Addresses the server listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalAddrs {
    pub rtsp: SocketAddr,
    /// RTP and RTCP, when UDP is enabled.
    pub udp: Option<(SocketAddr, SocketAddr)>,
}

/// A running RTSP server.
#[derive(Debug)]
pub struct RtspServer {
    addrs: LocalAddrs,
    registry: Arc<Registry>,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl RtspServer {
    /// Binds `rtspAddress` (TCP) and, when UDP is among the transports, `rtpAddress` and
    /// `rtcpAddress`; then serves connections until [`RtspServer::close`].
    pub async fn start(settings: RtspSettings, paths: Arc<PathManager>) -> io::Result<RtspServer> {
        RtspServer::start_with_tls(settings, paths, None).await
    }

    /// [`RtspServer::start`], serving RTSPS when `tls` is given: every connection starts
    /// with a TLS handshake (within `readTimeout`), logs and API kinds say `RTSPS`, and
    /// media travel only interleaved in the TLS stream (UDP and multicast would need
    /// SRTP: their SETUP gets 461).
    pub async fn start_with_tls(
        mut settings: RtspSettings,
        paths: Arc<PathManager>,
        tls: Option<Arc<ServerConfig>>,
    ) -> io::Result<RtspServer> {
        if tls.is_some() {
            settings.transports.retain(|t| *t == TransportKind::Tcp);
        }
        let multicast = if settings.multicast_enabled() {
            let config = MulticastConfig::parse(
                &settings.multicast_ip_range,
                settings.multicast_rtp_port,
                settings.multicast_rtcp_port,
            )
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            Some(Arc::new(Multicast::new(
                config,
                settings.report_period,
                settings.udp_max_payload_size,
            )))
        } else {
            None
        };
        let listener = ferromtx_net::bind_tcp(&settings.rtsp_address).await?;
        let udp = if settings.udp_enabled() {
            Some(Arc::new(
                UdpServer::bind(
                    &settings.rtp_address,
                    &settings.rtcp_address,
                    settings.udp_read_buffer_size,
                )
                .await?,
            ))
        } else {
            None
        };
        let addrs = LocalAddrs {
            rtsp: listener.local_addr()?,
            udp: udp.as_ref().map(|u| u.local_addrs()).transpose()?,
        };
        let session_config = SessionConfig {
            transports: settings.transports.clone(),
            idle_timeout: settings.idle_timeout,
            read_timeout: settings.read_timeout,
            udp_server_ports: addrs
                .udp
                .map_or((0, 0), |(rtp, rtcp)| (rtp.port(), rtcp.port())),
            multicast_ports: (settings.multicast_rtp_port, settings.multicast_rtcp_port),
            multicast_ttl: MULTICAST_TTL as u8,
        };
        let registry = Arc::new(Registry::default());
        let secure = tls.is_some();
        let ctx = Arc::new(ConnContext {
            registry: Arc::clone(&registry),
            settings,
            paths,
            udp,
            multicast,
            tls: tls.map(TlsAcceptor::from),
            session_config,
        });
        let (shutdown, stop) = oneshot::channel();
        let span = tracing::debug_span!(
            "rtsp_listener",
            component = if secure { "RTSPS" } else { "RTSP" }
        );
        let task = tokio::spawn(accept_loop(listener, ctx, stop).instrument(span));
        Ok(RtspServer {
            addrs,
            registry,
            shutdown: Mutex::new(Some(shutdown)),
            task: Mutex::new(Some(task)),
        })
    }

    pub fn local_addrs(&self) -> LocalAddrs {
        self.addrs
    }

    /// The open connections (`/v3/rtspconns/list`), oldest first.
    pub fn conns(&self) -> Vec<ConnInfo> {
        self.registry.conns()
    }

    /// The sessions (`/v3/rtspsessions/list`), oldest connection first.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.registry.sessions()
    }

    /// Closes the session `id` and its connection (`/v3/rtspsessions/kick/{id}`).
    /// Returns false when no such session exists.
    pub fn kick_session(&self, id: &str) -> bool {
        self.registry.kick_session(id)
    }

    /// Stops listening and drops every connection (no TEARDOWN is sent); when it returns
    /// the ports are free. Later calls return at once.
    pub async fn close(&self) {
        if let Some(s) = self
            .shutdown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = s.send(());
        }
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        if let Some(t) = self
            .task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            t.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<ConnContext>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut conns = JoinSet::new();
    let mut next_id: u64 = 0;
    let mut backoff = ferromtx_net::Backoff::default();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            (socket, peer) = ferromtx_net::accept(&listener, &mut backoff) => {
                next_id += 1;
                conns.spawn(conn::serve(Arc::clone(&ctx), socket, peer, next_id));
            }
        }
    }
    conns.shutdown().await;
    if let Some(udp) = &ctx.udp {
        udp.stop().await;
    }
}
