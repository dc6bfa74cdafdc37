//! The HTTP server shared by the API, metrics, pprof and playback endpoints:
//! plain TCP or TLS, authentication, CORS, trusted proxies, graceful shutdown.

mod body_deadline;
mod client_ip;
mod cors;
mod guard;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use ferromtx_conf::AuthAction;
use ferromtx_net::tls;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tower_service::Service;
use tracing::Instrument;

pub use client_ip::{InvalidNetwork, IpNetwork, canonical, client_ip};
pub use cors::allowed_origin;
pub use ferromtx_net::tls::TlsError;
pub use guard::ClientIp;

use crate::backend::Backend;

/// How long in-flight requests may run after shutdown is asked (as MediaMTX).
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// What sets one HTTP server apart: its log prefix, its CORS preflight answer and how its
/// requests are authenticated. The control plane's servers are constants here; a protocol
/// serving HTTP (WHIP/WHEP, HLS) defines its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HttpServerKind {
    /// Prefix of log lines, as MediaMTX writes them (`[API]`).
    pub log_prefix: &'static str,
    /// `Access-Control-Allow-Methods` and `-Headers` of a preflight answer.
    pub preflight: (&'static str, &'static str),
    /// The action every request is authenticated for; `None` when the router
    /// authenticates per path itself (playback, WebRTC, HLS).
    pub auth: Option<AuthAction>,
    /// The router reads the client's address from `ConnectInfo`: it gets the one a
    /// trusted proxy tells instead of the connection's.
    pub client_in_connect_info: bool,
}

const GET_ONLY: (&str, &str) = ("OPTIONS, GET", "Authorization");

impl HttpServerKind {
    pub const API: HttpServerKind = HttpServerKind {
        log_prefix: "[API]",
        preflight: (
            "OPTIONS, GET, POST, PATCH, DELETE",
            "Authorization, Content-Type",
        ),
        auth: Some(AuthAction::Api),
        client_in_connect_info: false,
    };
    pub const METRICS: HttpServerKind = HttpServerKind {
        log_prefix: "[metrics]",
        preflight: GET_ONLY,
        auth: Some(AuthAction::Metrics),
        client_in_connect_info: false,
    };
    pub const PPROF: HttpServerKind = HttpServerKind {
        log_prefix: "[pprof]",
        preflight: GET_ONLY,
        auth: Some(AuthAction::Pprof),
        client_in_connect_info: false,
    };
    pub const PLAYBACK: HttpServerKind = HttpServerKind {
        log_prefix: "[playback]",
        preflight: GET_ONLY,
        auth: None,
        client_in_connect_info: true,
    };

    /// `Access-Control-Allow-Methods` and `-Headers` of a preflight answer.
    pub fn preflight(self) -> (&'static str, &'static str) {
        self.preflight
    }

    /// Prefix of log lines, as MediaMTX writes them.
    pub fn log_prefix(self) -> &'static str {
        self.log_prefix
    }
}

/// Settings of one HTTP server (`api*`, `metrics*`, `pprof*`, `playback*` keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// `*Encryption`.
    pub encryption: bool,
    /// `*ServerKey`, PEM file.
    pub server_key: PathBuf,
    /// `*ServerCert`, PEM file.
    pub server_cert: PathBuf,
    /// `*AllowOrigins`.
    pub allow_origins: Vec<String>,
    /// `*TrustedProxies`.
    pub trusted_proxies: Vec<IpNetwork>,
    /// `readTimeout`: limit for reading request headers and the TLS handshake.
    pub read_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            encryption: false,
            server_key: PathBuf::new(),
            server_cert: PathBuf::new(),
            allow_origins: vec!["*".into()],
            trusted_proxies: Vec::new(),
            read_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Fails if the TLS key or certificate of `settings` can't be used (call before serving, so
/// the error shows at start).
pub fn check_tls(settings: &HttpSettings) -> Result<(), TlsError> {
    tls::acceptor(&settings.server_cert, &settings.server_key, tls::ALPN_HTTP).map(drop)
}

/// Serves `router` on `listener` with the settings of `kind` taken from the
/// configuration in force, until `shutdown` completes.
pub async fn serve(
    kind: HttpServerKind,
    listener: TcpListener,
    router: Router,
    backend: Arc<dyn Backend>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let settings = crate::settings::http_settings(kind, &backend.conf()).unwrap_or_default();
    serve_with(kind, settings, listener, router, backend, shutdown).await
}

/// [`serve`] with explicit settings.
pub async fn serve_with(
    kind: HttpServerKind,
    settings: HttpSettings,
    listener: TcpListener,
    router: Router,
    backend: Arc<dyn Backend>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let acceptor = if settings.encryption {
        Some(tls::acceptor(
            &settings.server_cert,
            &settings.server_key,
            tls::ALPN_HTTP,
        )?)
    } else {
        None
    };
    let read_timeout = settings.read_timeout;
    let guard = Arc::new(guard::Guard {
        kind,
        settings,
        backend,
    });
    let router = router.layer(axum::middleware::from_fn_with_state(guard, guard::guard));

    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = ferromtx_net::Backoff::default();
    let span = tracing::info_span!(
        "http",
        component = kind.log_prefix().trim_matches(['[', ']'])
    );
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = ferromtx_net::accept(&listener, &mut backoff).instrument(span.clone()) => accepted,
        };
        let router = router.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => serve_conn(stream, peer, router, read_timeout, watcher).await,
                Some(acceptor) => {
                    match tokio::time::timeout(read_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => serve_conn(tls, peer, router, read_timeout, watcher).await,
                        Ok(Err(e)) => tracing::debug!(
                            "{} [conn {peer}] TLS handshake failed: {e}",
                            kind.log_prefix()
                        ),
                        Err(_) => tracing::debug!(
                            "{} [conn {peer}] TLS handshake timed out",
                            kind.log_prefix()
                        ),
                    }
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!(
            "{} connections still open after shutdown timeout",
            kind.log_prefix()
        );
    }
    Ok(())
}

async fn serve_conn<S>(
    stream: S,
    peer: SocketAddr,
    router: Router,
    read_timeout: Duration,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        // The head is in; the body must follow within readTimeout too.
        let mut req =
            req.map(|b| axum::body::Body::new(body_deadline::DeadlineBody::new(b, read_timeout)));
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move { router.call(req).await }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(read_timeout);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::debug!("[conn {peer}] {e}");
    }
}
