//! The RTSP and RTSPS servers as components of the binary: started as `rtspEncryption`
//! asks (`no`: RTSP, `strict`: RTSPS, `optional`: both), restarted on reload, closed.

use std::path::Path;
use std::sync::Arc;

use ferromtx_conf::{Conf, Encryption};
use ferromtx_core::PathManager;
use ferromtx_rtsp::server_session::TransportKind;
use ferromtx_rtsp::{RtspServer, RtspSettings};
use tracing::info;

/// The running servers.
#[derive(Default)]
pub struct RtspServers {
    pub plain: Option<Arc<RtspServer>>,
    pub secure: Option<Arc<RtspServer>>,
}

fn plain_wanted(conf: &Conf) -> bool {
    conf.rtsp && conf.rtsp_encryption != Encryption::Strict
}

fn secure_wanted(conf: &Conf) -> bool {
    conf.rtsp && conf.rtsp_encryption != Encryption::No
}

/// The `listener opened` line of the RTSP server, in MediaMTX's wording, from the
/// configured addresses.
pub fn opened_line(conf: &Conf, settings: &RtspSettings) -> String {
    let mut parts = vec![format!("{} (TCP/RTSP)", conf.rtsp_address)];
    if settings.transports.contains(&TransportKind::Udp) {
        parts.push(format!("{} (UDP/RTP)", conf.rtp_address));
        parts.push(format!("{} (UDP/RTCP)", conf.rtcp_address));
    }
    format!("[RTSP] listener opened on {}", parts.join(", "))
}

/// The `listener opened` line of the RTSPS server: TCP only (no SRTP listeners).
pub fn secure_opened_line(conf: &Conf) -> String {
    format!(
        "[RTSPS] listener opened on {} (TCP/RTSPS)",
        conf.rtsps_address
    )
}

/// Whether a reload must restart the RTSP servers.
pub fn changed(old: &Conf, new: &Conf) -> bool {
    plain_wanted(old) != plain_wanted(new)
        || secure_wanted(old) != secure_wanted(new)
        || RtspSettings::from_conf(old) != RtspSettings::from_conf(new)
        || (secure_wanted(new)
            && (RtspSettings::secure_from_conf(old) != RtspSettings::secure_from_conf(new)
                || old.rtsp_server_cert != new.rtsp_server_cert
                || old.rtsp_server_key != new.rtsp_server_key))
}

pub async fn start(conf: &Conf, paths: Arc<PathManager>) -> Result<RtspServers, String> {
    let mut servers = RtspServers::default();
    if plain_wanted(conf) {
        let settings = RtspSettings::from_conf(conf);
        let line = opened_line(conf, &settings);
        let server = RtspServer::start(settings, Arc::clone(&paths))
            .await
            .map_err(|e| format!("[RTSP] unable to listen on {}: {e}", conf.rtsp_address))?;
        info!("{line}");
        servers.plain = Some(Arc::new(server));
    }
    if secure_wanted(conf) {
        let tls = ferromtx_api::http::tls::reloading_server_config(
            Path::new(&conf.rtsp_server_cert),
            Path::new(&conf.rtsp_server_key),
        )
        .map_err(|e| format!("[RTSPS] {e}"))?;
        let server =
            RtspServer::start_with_tls(RtspSettings::secure_from_conf(conf), paths, Some(tls))
                .await
                .map_err(|e| format!("[RTSPS] unable to listen on {}: {e}", conf.rtsps_address))?;
        info!("{}", secure_opened_line(conf));
        servers.secure = Some(Arc::new(server));
    }
    Ok(servers)
}

async fn close_one(label: &str, server: Arc<RtspServer>) {
    info!("[{label}] listener is closing");
    // The API may hold a reference for a moment; dropping the last one aborts the server.
    if let Ok(s) = Arc::try_unwrap(server) {
        s.close().await;
    }
}

pub async fn close(servers: RtspServers) {
    if let Some(s) = servers.secure {
        close_one("RTSPS", s).await;
    }
    if let Some(s) = servers.plain {
        close_one("RTSP", s).await;
    }
}
