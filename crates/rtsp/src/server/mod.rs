//! The RTSP server driver (tokio): listeners, connections and sessions on top of the
//! sans-IO [`ServerSession`](crate::server_session::ServerSession), publishing into and
//! reading from the paths of a [`PathManager`].

mod conn;
pub(crate) mod info;
pub(crate) mod multicast;
pub(crate) mod publish;
mod read;
pub(crate) mod request;
mod rtp_view;
mod secret;
mod settings;
pub(crate) mod udp;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferromtx_core::PathManager;
use ferromtx_core::listen::bind_tcp_listener;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tracing::Instrument;

pub use info::{ConnInfo, SessionInfo, SessionState};
pub use multicast::{MULTICAST_TTL, MulticastConfig};
pub use settings::{DEFAULT_UDP_MAX_PAYLOAD_SIZE, REPORT_PERIOD, RtspSettings};

use conn::ConnContext;
use info::Registry;
use multicast::Multicast;
use udp::UdpServer;

use crate::server_session::{SessionConfig, TransportKind};

/// Pause after a failed `accept` (e.g. too many open files), as mini-redis backs off.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A fresh client nonce for Digest answers.
pub(crate) fn cnonce() -> String {
    secret::hex(16)
}

/// A random SSRC for reports.
pub(crate) fn random_ssrc() -> u32 {
    secret::random_u64() as u32
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
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Resolves a MediaMTX listen address: `:8554` means every IPv4 interface.
async fn resolve(address: &str) -> io::Result<SocketAddr> {
    let full = if address.starts_with(':') {
        format!("0.0.0.0{address}")
    } else {
        address.to_string()
    };
    tokio::net::lookup_host(full.as_str())
        .await?
        .next()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid address '{address}'"),
            )
        })
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
        let listener = bind_tcp_listener(resolve(&settings.rtsp_address).await?)?;
        let udp = if settings.udp_enabled() {
            let rtp = resolve(&settings.rtp_address).await?;
            let rtcp = resolve(&settings.rtcp_address).await?;
            Some(Arc::new(UdpServer::bind(rtp, rtcp).await?))
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
            shutdown: Some(shutdown),
            task: Some(task),
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

    /// Stops listening and drops every connection (no TEARDOWN is sent).
    pub async fn close(mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
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
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    next_id += 1;
                    conns.spawn(conn::serve(Arc::clone(&ctx), socket, peer, next_id));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    conns.shutdown().await;
}
