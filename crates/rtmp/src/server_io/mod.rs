//! The RTMP and RTMPS server driver (tokio): the listener, one task per connection on top
//! of the sans-IO [`ServerConnection`](crate::ServerConnection), publishing into and
//! reading from the paths of a [`PathManager`].

mod close;
mod conn;
mod info;
mod play;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ferromtx_conf::{Conf, IpNetwork};
use ferromtx_core::PathManager;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use close::CloseReason;
pub use info::{ConnInfo, ConnState};

use info::Registry;

/// What an RTMP or RTMPS server needs from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmpSettings {
    /// `rtmpAddress` (or `rtmpsAddress`), e.g. `:1935` or `127.0.0.1:0`.
    pub address: String,
    /// `readTimeout`: the handshake, `connect` and `publish`/`play` must arrive within
    /// it, then every read of a publisher.
    pub read_timeout: Duration,
    /// `writeTimeout`: a player that does not take our data within it is dropped.
    pub write_timeout: Duration,
    /// `runOnConnect`, `runOnConnectRestart`, `runOnDisconnect`.
    pub run_on_connect: String,
    pub run_on_connect_restart: bool,
    pub run_on_disconnect: String,
    /// `rtspAddress` (hooks get its port as `RTSP_PORT`).
    pub rtsp_address: String,
    /// `rtmpTrustedProxies`: when not empty, connections may start with a PROXY protocol
    /// header, whose client address counts when it comes from one of these.
    pub trusted_proxies: Vec<IpNetwork>,
}

impl RtmpSettings {
    /// The plain listener's settings.
    pub fn from_conf(conf: &Conf) -> RtmpSettings {
        RtmpSettings {
            address: conf.rtmp_address.clone(),
            read_timeout: conf.read_timeout,
            write_timeout: conf.write_timeout,
            run_on_connect: conf.run_on_connect.clone(),
            run_on_connect_restart: conf.run_on_connect_restart,
            run_on_disconnect: conf.run_on_disconnect.clone(),
            rtsp_address: conf.rtsp_address.clone(),
            trusted_proxies: conf.rtmp_trusted_proxies.clone(),
        }
    }

    /// The RTMPS listener's settings.
    pub fn secure_from_conf(conf: &Conf) -> RtmpSettings {
        RtmpSettings {
            address: conf.rtmps_address.clone(),
            ..RtmpSettings::from_conf(conf)
        }
    }

    /// Settings for tests: an ephemeral port on 127.0.0.1, MediaMTX's timeouts.
    pub fn loopback() -> RtmpSettings {
        RtmpSettings {
            address: "127.0.0.1:0".into(),
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            run_on_connect: String::new(),
            run_on_connect_restart: false,
            run_on_disconnect: String::new(),
            rtsp_address: ":8554".into(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// What every connection of a server shares.
pub(crate) struct ConnContext {
    pub settings: RtmpSettings,
    pub paths: Arc<PathManager>,
    pub tls: Option<TlsAcceptor>,
    pub registry: Arc<Registry>,
}

impl ConnContext {
    /// The log prefix: `RTMP` or `RTMPS`.
    pub fn label(&self) -> &'static str {
        if self.tls.is_some() { "RTMPS" } else { "RTMP" }
    }

    /// The kind of a connection in the API and hooks.
    pub fn kind(&self) -> &'static str {
        if self.tls.is_some() {
            "rtmpsConn"
        } else {
            "rtmpConn"
        }
    }
}

/// A running RTMP or RTMPS server.
#[derive(Debug)]
pub struct RtmpServer {
    local_addr: SocketAddr,
    registry: Arc<Registry>,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl RtmpServer {
    /// Binds the address and serves connections until [`RtmpServer::close`]; RTMPS when
    /// `tls` is given (every connection starts with a TLS handshake, within
    /// `readTimeout`).
    pub async fn start(
        settings: RtmpSettings,
        paths: Arc<PathManager>,
        tls: Option<Arc<ServerConfig>>,
    ) -> io::Result<RtmpServer> {
        let listener = ferromtx_net::bind_tcp(&settings.address).await?;
        let local_addr = listener.local_addr()?;
        let registry = Arc::new(Registry::default());
        let ctx = Arc::new(ConnContext {
            settings,
            paths,
            tls: tls.map(TlsAcceptor::from),
            registry: Arc::clone(&registry),
        });
        let (shutdown, stop) = oneshot::channel();
        let span = tracing::debug_span!("rtmp_listener", component = ctx.label());
        let task = tokio::spawn(accept_loop(listener, ctx, stop).instrument(span));
        Ok(RtmpServer {
            local_addr,
            registry,
            shutdown: Mutex::new(Some(shutdown)),
            task: Mutex::new(Some(task)),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The open connections (`/v3/rtmpconns/list`), oldest first.
    pub fn conns(&self) -> Vec<ConnInfo> {
        self.registry.conns()
    }

    /// Number of open connections.
    pub fn conn_count(&self) -> usize {
        self.registry.len()
    }

    /// Closes the connection `id` (`/v3/rtmpconns/kick/{id}`); false when none has it.
    pub fn kick(&self, id: &str) -> bool {
        self.registry.kick(id)
    }

    /// Stops listening and ends every connection; when it returns the port is free.
    /// Later calls return at once.
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

impl Drop for RtmpServer {
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
    let cancel = CancellationToken::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            (socket, peer) = ferromtx_net::accept(&listener, &mut backoff) => {
                next_id += 1;
                conns.spawn(conn::serve(Arc::clone(&ctx), socket, peer, next_id, cancel.clone()));
            }
        }
    }
    drop(listener);
    // Connections end on their own ("closed: terminated"); a stuck one is cut after a
    // while so that closing always returns.
    cancel.cancel();
    let joined = tokio::time::timeout(Duration::from_secs(5), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if joined.is_err() {
        conns.shutdown().await;
    }
}
