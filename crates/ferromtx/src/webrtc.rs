//! The WebRTC server (WHEP readers, WHIP publishers) as a component of the binary.

use std::sync::Arc;

use ferromtx_conf::Conf;
use ferromtx_core::PathManager;
use ferromtx_webrtc::{AllowAll, CoreBackend, WebrtcConfig, WebrtcServer};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::backend::ServerBackend;
use crate::listen::bind_tcp;
use ferromtx_api::HttpServerKind;
use ferromtx_api::settings::http_settings;

pub type Server = WebrtcServer<CoreBackend>;

pub struct WebrtcComponent {
    pub server: Arc<Server>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// The settings whose change restarts the server.
fn settings(conf: &Conf) -> impl PartialEq {
    (
        conf.webrtc,
        conf.webrtc_address.clone(),
        conf.webrtc_encryption,
        conf.webrtc_server_key.clone(),
        conf.webrtc_server_cert.clone(),
        conf.webrtc_allow_origins.clone(),
        (
            conf.webrtc_local_udp_address.clone(),
            conf.webrtc_local_tcp_address.clone(),
            conf.webrtc_trusted_proxies.clone(),
        ),
        conf.webrtc_ips_from_interfaces,
        conf.webrtc_ips_from_interfaces_list.clone(),
        conf.webrtc_additional_hosts.clone(),
        conf.webrtc_ice_servers2.clone(),
        (
            conf.webrtc_handshake_timeout,
            conf.webrtc_track_gather_timeout,
            conf.webrtc_stun_gather_timeout,
        ),
    )
}

pub fn changed(old: &Conf, new: &Conf) -> bool {
    settings(old) != settings(new)
}

pub async fn start(
    conf: &Conf,
    paths: Arc<PathManager>,
    backend: Arc<ServerBackend>,
) -> Result<Option<WebrtcComponent>, String> {
    if !conf.webrtc {
        return Ok(None);
    }
    let listener = bind_tcp(&conf.webrtc_address)
        .await
        .map_err(|e| format!("[WebRTC] unable to listen on {}: {e}", conf.webrtc_address))?;
    // The core authenticates every reader and publisher: the server's own hook lets all in.
    let server = WebrtcServer::start(
        WebrtcConfig::from_conf(conf),
        CoreBackend::new(paths),
        Arc::new(AllowAll),
    )
    .await
    .map_err(|e| format!("[WebRTC] unable to listen on the ICE sockets: {e}"))?;
    let server = Arc::new(server);
    // The shared HTTP server: TLS with webrtcEncryption, client addresses, graceful stop.
    let settings = http_settings(HttpServerKind::WebRtc, conf);
    if settings.encryption {
        ferromtx_api::http::check_tls(&settings).map_err(|e| format!("[WebRTC] {e}"))?;
    }
    let stop = CancellationToken::new();
    let shutdown = stop.clone();
    let backend: Arc<dyn ferromtx_api::Backend> = backend;
    let serve = ferromtx_api::serve_with(
        HttpServerKind::WebRtc,
        settings,
        listener,
        server.router(),
        backend,
        async move { shutdown.cancelled().await },
    );
    let task = tokio::spawn(async move {
        if let Err(e) = serve.await {
            error!("[WebRTC] {e}");
        }
    });
    let mut listeners = format!(
        "{} ({})",
        conf.webrtc_address,
        if conf.webrtc_encryption {
            "HTTPS"
        } else {
            "HTTP"
        }
    );
    if !conf.webrtc_local_udp_address.is_empty() {
        listeners.push_str(&format!(", {} (ICE/UDP)", conf.webrtc_local_udp_address));
    }
    if !conf.webrtc_local_tcp_address.is_empty() {
        listeners.push_str(&format!(", {} (ICE/TCP)", conf.webrtc_local_tcp_address));
    }
    info!("[WebRTC] listener opened on {listeners}");
    Ok(Some(WebrtcComponent { server, stop, task }))
}

impl WebrtcComponent {
    pub async fn close(self) {
        info!("[WebRTC] listener is closing");
        self.stop.cancel();
        // Sessions end with the server: dropping it stops the ICE socket and its tasks.
        for s in self.server.sessions() {
            self.server.kick(&s.id);
        }
        let _ = self.task.await;
    }
}
