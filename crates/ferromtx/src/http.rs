//! The HTTP servers of the control plane (API, metrics, pprof) as restartable components.

use std::sync::Arc;

use ferromtx_api::settings::http_settings;
use ferromtx_api::{Backend, HttpServerKind};
use ferromtx_conf::Conf;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::backend::ServerBackend;
use crate::listen::bind_tcp;

pub fn enabled(kind: HttpServerKind, conf: &Conf) -> bool {
    match kind {
        HttpServerKind::Api => conf.api,
        HttpServerKind::Metrics => conf.metrics,
        HttpServerKind::Pprof => conf.pprof,
        // Its own component (crate::webrtc).
        HttpServerKind::Playback | HttpServerKind::WebRtc => false,
    }
}

fn address(kind: HttpServerKind, conf: &Conf) -> &str {
    match kind {
        HttpServerKind::Api => &conf.api_address,
        HttpServerKind::Metrics => &conf.metrics_address,
        HttpServerKind::Pprof => &conf.pprof_address,
        HttpServerKind::Playback => &conf.playback_address,
        HttpServerKind::WebRtc => &conf.webrtc_address,
    }
}

/// Whether a reload must restart this server.
pub fn changed(kind: HttpServerKind, old: &Conf, new: &Conf) -> bool {
    enabled(kind, old) != enabled(kind, new)
        || address(kind, old) != address(kind, new)
        || http_settings(kind, old) != http_settings(kind, new)
}

pub struct HttpComponent {
    kind: HttpServerKind,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl HttpComponent {
    pub async fn start(
        kind: HttpServerKind,
        conf: &Conf,
        backend: Arc<ServerBackend>,
    ) -> Result<HttpComponent, String> {
        let addr = address(kind, conf);
        let listener = bind_tcp(addr)
            .await
            .map_err(|e| format!("{} unable to listen on {addr}: {e}", kind.log_prefix()))?;
        let router = match kind {
            HttpServerKind::Api => ferromtx_api::api_router(backend.clone()),
            HttpServerKind::Metrics => ferromtx_api::metrics_router(backend.clone()),
            HttpServerKind::Pprof => ferromtx_api::pprof::router(),
            HttpServerKind::Playback | HttpServerKind::WebRtc => axum::Router::new(),
        };
        let stop = CancellationToken::new();
        let backend: Arc<dyn Backend> = backend;
        let settings = http_settings(kind, conf);
        // Fail now, not in the background, if TLS files are unusable.
        let serve = ferromtx_api::serve_with(kind, settings, listener, router, backend, {
            let stop = stop.clone();
            async move { stop.cancelled().await }
        });
        info!("{} listener opened on {addr}", kind.log_prefix());
        let task = tokio::spawn(async move {
            if let Err(e) = serve.await {
                error!("{} {e}", kind.log_prefix());
            }
        });
        Ok(HttpComponent { kind, stop, task })
    }

    pub async fn close(self) {
        info!("{} listener is closing", self.kind.log_prefix());
        self.stop.cancel();
        let _ = self.task.await;
    }
}
