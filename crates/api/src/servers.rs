//! HTTP servers as components: [`HttpServer`] runs any router on a MediaMTX listen
//! address (protocols serving HTTP use it too), and the control plane's three servers
//! (`api`, `metrics`, `pprof`) are [`Server`]s built on it.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use ferromtx_conf::Conf;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::backend::Backend;
use crate::component::{BoxFuture, Context, Server};
use crate::http::{HttpServerKind, HttpSettings, check_tls, serve_with};
use crate::settings::http_settings;

/// A running HTTP server.
#[derive(Debug)]
pub struct HttpServer {
    kind: HttpServerKind,
    /// The address and protocol of its `started with listener` line.
    address: String,
    encryption: bool,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// MediaMTX's line for a server that started: `[RTSP] started with listeners on :8554
/// (TCP/RTSP), :8000 (UDP/RTP)`, with `listener` when there is one. `listeners` are
/// (address, protocol) pairs.
pub fn started_line(prefix: &str, listeners: &[(&str, &str)]) -> String {
    let list: Vec<String> = listeners
        .iter()
        .map(|(address, proto)| format!("{address} ({proto})"))
        .collect();
    let noun = if list.len() == 1 {
        "listener"
    } else {
        "listeners"
    };
    format!("{prefix} started with {noun} on {}", list.join(", "))
}

/// The protocol an HTTP listener is named with in [`started_line`].
pub fn http_proto(encryption: bool) -> &'static str {
    if encryption { "TCP/HTTPS" } else { "TCP/HTTP" }
}

impl HttpServer {
    /// `[HLS] started with listener on :8888 (TCP/HTTP)`: the line of a server that is
    /// this listener alone.
    pub fn started_line(&self) -> String {
        started_line(
            self.kind.log_prefix(),
            &[(&self.address, http_proto(self.encryption))],
        )
    }

    /// Binds `address` (a MediaMTX listen address), checks the TLS files when
    /// `settings.encryption` asks for TLS, and serves `router` until [`HttpServer::close`].
    /// Errors are whole log lines (`[API] unable to listen on :9997: ...`).
    pub async fn start(
        kind: HttpServerKind,
        address: &str,
        settings: HttpSettings,
        router: Router,
        backend: Arc<dyn Backend>,
    ) -> Result<HttpServer, String> {
        let prefix = kind.log_prefix();
        let encryption = settings.encryption;
        if settings.encryption {
            check_tls(&settings).map_err(|e| format!("{prefix} {e}"))?;
        }
        let listener = ferromtx_net::bind_tcp(address)
            .await
            .map_err(|e| format!("{prefix} unable to listen on {address}: {e}"))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = serve_with(kind, settings, listener, router, backend, async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::error!("{prefix} {e}");
            }
        });
        Ok(HttpServer {
            kind,
            address: address.to_owned(),
            encryption,
            stop: Mutex::new(Some(stop)),
            task: Mutex::new(Some(task)),
        })
    }

    /// Stops accepting, lets requests in flight finish (up to
    /// [`crate::http::SHUTDOWN_TIMEOUT`]) and returns once the port is free.
    pub async fn close(&self) {
        if let Some(stop) = self
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = stop.send(());
        }
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    pub fn kind(&self) -> HttpServerKind {
        self.kind
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(task) = self
            .task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            task.abort();
        }
    }
}

/// What sets the control plane's servers apart.
pub trait ControlKind: Send + Sync + 'static {
    const KIND: HttpServerKind;
    fn enabled(conf: &Conf) -> bool;
    fn address(conf: &Conf) -> &str;
    fn router(backend: Arc<dyn Backend>) -> Router;
}

/// One of the control plane's servers.
#[derive(Debug)]
pub struct ControlServer<K> {
    http: HttpServer,
    _kind: std::marker::PhantomData<fn() -> K>,
}

impl<K: ControlKind> Server for ControlServer<K> {
    type Settings = (String, HttpSettings);

    fn settings(conf: &Conf) -> Option<(String, HttpSettings)> {
        if !K::enabled(conf) {
            return None;
        }
        let settings = http_settings(K::KIND, conf)?;
        Some((K::address(conf).to_owned(), settings))
    }

    fn start<'a>(
        settings: &'a (String, HttpSettings),
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Arc<Self>, String>> {
        Box::pin(async move {
            let (address, http) = settings;
            let router = K::router(Arc::clone(&ctx.backend));
            let server = HttpServer::start(
                K::KIND,
                address,
                http.clone(),
                router,
                Arc::clone(&ctx.backend),
            )
            .await?;
            tracing::info!("{}", server.started_line());
            Ok(Arc::new(ControlServer {
                http: server,
                _kind: std::marker::PhantomData,
            }))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            tracing::info!("{} closing", K::KIND.log_prefix());
            self.http.close().await;
        })
    }
}

/// `api`, `apiAddress`: the `/v3` API.
#[derive(Debug)]
pub struct Api;

impl ControlKind for Api {
    const KIND: HttpServerKind = HttpServerKind::API;
    fn enabled(conf: &Conf) -> bool {
        conf.api
    }
    fn address(conf: &Conf) -> &str {
        &conf.api_address
    }
    fn router(backend: Arc<dyn Backend>) -> Router {
        crate::v3::api_router(backend)
    }
}

/// `metrics`, `metricsAddress`: Prometheus metrics.
#[derive(Debug)]
pub struct Metrics;

impl ControlKind for Metrics {
    const KIND: HttpServerKind = HttpServerKind::METRICS;
    fn enabled(conf: &Conf) -> bool {
        conf.metrics
    }
    fn address(conf: &Conf) -> &str {
        &conf.metrics_address
    }
    fn router(backend: Arc<dyn Backend>) -> Router {
        crate::metrics::metrics_router(backend)
    }
}

/// `pprof`, `pprofAddress`: the profiling endpoints.
#[derive(Debug)]
pub struct Pprof;

impl ControlKind for Pprof {
    const KIND: HttpServerKind = HttpServerKind::PPROF;
    fn enabled(conf: &Conf) -> bool {
        conf.pprof
    }
    fn address(conf: &Conf) -> &str {
        &conf.pprof_address
    }
    fn router(_backend: Arc<dyn Backend>) -> Router {
        crate::pprof::router()
    }
}
