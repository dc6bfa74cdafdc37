//! The RTSP server as a component of the binary: started, restarted on reload, closed.

use std::sync::Arc;

use ferromtx_conf::{Conf, Encryption};
use ferromtx_core::PathManager;
use ferromtx_rtsp::{RtspServer, RtspSettings};
use tracing::{info, warn};

/// The `listener opened` line, in MediaMTX's wording, from the configured addresses.
pub fn opened_line(conf: &Conf, settings: &RtspSettings) -> String {
    let mut parts = vec![format!("{} (TCP/RTSP)", conf.rtsp_address)];
    if settings
        .transports
        .contains(&ferromtx_rtsp::server_session::TransportKind::Udp)
    {
        parts.push(format!("{} (UDP/RTP)", conf.rtp_address));
        parts.push(format!("{} (UDP/RTCP)", conf.rtcp_address));
    }
    format!("[RTSP] listener opened on {}", parts.join(", "))
}

/// Whether a reload must restart the RTSP server.
pub fn changed(old: &Conf, new: &Conf) -> bool {
    old.rtsp != new.rtsp || RtspSettings::from_conf(old) != RtspSettings::from_conf(new)
}

pub async fn start(
    conf: &Conf,
    paths: Arc<PathManager>,
) -> Result<Option<Arc<RtspServer>>, String> {
    if !conf.rtsp {
        return Ok(None);
    }
    if conf.rtsp_encryption != Encryption::No {
        warn!("[RTSP] rtspEncryption is not supported yet: RTSPS is not served, plain RTSP is");
    }
    let settings = RtspSettings::from_conf(conf);
    let line = opened_line(conf, &settings);
    let server = RtspServer::start(settings, paths)
        .await
        .map_err(|e| format!("[RTSP] unable to listen on {}: {e}", conf.rtsp_address))?;
    info!("{line}");
    Ok(Some(Arc::new(server)))
}

pub async fn close(server: Arc<RtspServer>) {
    info!("[RTSP] listener is closing");
    // The API may hold a reference for a moment; dropping the last one aborts the server.
    if let Ok(s) = Arc::try_unwrap(server) {
        s.close().await;
    }
}
