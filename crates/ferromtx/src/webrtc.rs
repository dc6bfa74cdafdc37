//! The WebRTC server (WHEP readers, WHIP publishers) as a component of the binary.

use std::net::SocketAddr;
use std::sync::Arc;

use ferromtx_conf::Conf;
use ferromtx_core::PathManager;
use ferromtx_webrtc::{AllowAll, CoreBackend, WebrtcConfig, WebrtcServer};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::listen::bind_tcp;

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
        conf.webrtc_local_udp_address.clone(),
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
) -> Result<Option<WebrtcComponent>, String> {
    if !conf.webrtc {
        return Ok(None);
    }
    if conf.webrtc_encryption {
        warn!(
            "[WebRTC] webrtcEncryption is not supported yet: the HTTP side is served without TLS"
        );
    }
    if !conf.webrtc_local_tcp_address.is_empty() {
        warn!("[WebRTC] webrtcLocalTCPAddress is not supported yet: ICE over TCP is off");
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
    .map_err(|e| {
        format!(
            "[WebRTC] unable to listen on {} (ICE/UDP): {e}",
            conf.webrtc_local_udp_address
        )
    })?;
    let server = Arc::new(server);
    let app = server
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    let stop = CancellationToken::new();
    let shutdown = stop.clone();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await });
        if let Err(e) = serve.await {
            error!("[WebRTC] {e}");
        }
    });
    info!(
        "[WebRTC] listener opened on {} (HTTP), {} (ICE/UDP)",
        conf.webrtc_address, conf.webrtc_local_udp_address
    );
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
