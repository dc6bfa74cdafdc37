//! The RTSP and RTSPS servers as components of the binary (started as `rtspEncryption`
//! asks: `no` RTSP, `strict` RTSPS, `optional` both; restarted when their settings change),
//! the `rtsp`/`rtsps` static source, and what the API shows of them.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use ferromtx_api::component::{BoxFuture, Registration};
use ferromtx_api::{Context, Failure, Server, Servers, Sessions, component, dto};
use ferromtx_conf::{Conf, Encryption};

use crate::server::{ConnInfo, SessionInfo, SessionState};
use crate::server_session::TransportKind;
use crate::{RtspServer, RtspSettings, RtspSource};

/// Registers the RTSP and RTSPS servers and the `rtsp`/`rtsps` source.
pub fn register(r: &mut Registration) {
    r.component(component::<Rtsp>());
    r.component(component::<Rtsps>());
    let source: Arc<RtspSource> = Arc::new(RtspSource);
    r.source("rtsp", source.clone());
    r.source("rtsps", source);
}

/// The `started with listeners` line of the RTSP server, in MediaMTX's wording, from the
/// configured addresses.
pub fn opened_line(settings: &RtspSettings) -> String {
    let mut parts = vec![(settings.rtsp_address.as_str(), "TCP/RTSP")];
    if settings.transports.contains(&TransportKind::Udp) {
        parts.push((&settings.rtp_address, "UDP/RTP"));
        parts.push((&settings.rtcp_address, "UDP/RTCP"));
    }
    ferromtx_api::started_line("[RTSP]", &parts)
}

/// The plain RTSP server (`rtsp`, `rtspEncryption` `no` or `optional`).
#[derive(Debug)]
pub struct Rtsp(Arc<RtspServer>);

impl Server for Rtsp {
    type Settings = RtspSettings;

    fn settings(conf: &Conf) -> Option<RtspSettings> {
        (conf.rtsp && conf.rtsp_encryption != Encryption::Strict)
            .then(|| RtspSettings::from_conf(conf))
    }

    fn start<'a>(
        settings: &'a RtspSettings,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Arc<Self>, String>> {
        Box::pin(async move {
            let server = RtspServer::start(settings.clone(), Arc::clone(&ctx.paths))
                .await
                .map_err(|e| {
                    format!("[RTSP] unable to listen on {}: {e}", settings.rtsp_address)
                })?;
            tracing::info!("{}", opened_line(settings));
            Ok(Arc::new(Rtsp(Arc::new(server))))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            tracing::info!("[RTSP] closing");
            self.0.close().await;
        })
    }

    fn sessions(self: &Arc<Self>) -> Option<Arc<dyn Sessions>> {
        Some(Arc::new(RtspApi {
            server: Arc::clone(&self.0),
            secure: false,
        }))
    }
}

/// The RTSPS server (`rtspEncryption` `strict` or `optional`): its settings with the
/// certificate files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtspsSettings {
    pub rtsp: RtspSettings,
    pub server_cert: String,
    pub server_key: String,
}

/// The RTSPS server.
#[derive(Debug)]
pub struct Rtsps(Arc<RtspServer>);

impl Server for Rtsps {
    type Settings = RtspsSettings;

    fn settings(conf: &Conf) -> Option<RtspsSettings> {
        (conf.rtsp && conf.rtsp_encryption != Encryption::No).then(|| RtspsSettings {
            rtsp: RtspSettings::secure_from_conf(conf),
            server_cert: conf.rtsp_server_cert.clone(),
            server_key: conf.rtsp_server_key.clone(),
        })
    }

    fn start<'a>(
        settings: &'a RtspsSettings,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Arc<Self>, String>> {
        Box::pin(async move {
            let tls = ferromtx_net::tls::server_config(
                Path::new(&settings.server_cert),
                Path::new(&settings.server_key),
                &[],
            )
            .map_err(|e| format!("[RTSPS] {e}"))?;
            let address = &settings.rtsp.rtsp_address;
            let server = RtspServer::start_with_tls(
                settings.rtsp.clone(),
                Arc::clone(&ctx.paths),
                Some(tls),
            )
            .await
            .map_err(|e| format!("[RTSPS] unable to listen on {address}: {e}"))?;
            tracing::info!(
                "{}",
                ferromtx_api::started_line("[RTSPS]", &[(address, "TCP/RTSPS")])
            );
            Ok(Arc::new(Rtsps(Arc::new(server))))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            tracing::info!("[RTSPS] closing");
            self.0.close().await;
        })
    }

    fn sessions(self: &Arc<Self>) -> Option<Arc<dyn Sessions>> {
        Some(Arc::new(RtspApi {
            server: Arc::clone(&self.0),
            secure: true,
        }))
    }
}

/// What the API shows of one RTSP or RTSPS server.
struct RtspApi {
    server: Arc<RtspServer>,
    secure: bool,
}

impl RtspApi {
    fn conns(&self) -> Vec<dto::RTSPConn> {
        self.server.conns().iter().map(conn).collect()
    }

    fn sessions(&self) -> Vec<dto::RTSPSession> {
        let conns = self.server.conns();
        self.server
            .sessions()
            .iter()
            .map(|s| session(s, &conns))
            .collect()
    }

    fn kick(&self, id: &str) -> Option<Result<(), Failure>> {
        self.server.kick_session(id).then_some(Ok(()))
    }
}

impl Sessions for RtspApi {
    fn servers(&self, running: &mut Servers) {
        if self.secure {
            running.rtsps = true;
        } else {
            running.rtsp = true;
        }
    }

    fn rtsp_conns(&self) -> Vec<dto::RTSPConn> {
        if self.secure {
            Vec::new()
        } else {
            self.conns()
        }
    }

    fn rtsp_sessions(&self) -> Vec<dto::RTSPSession> {
        if self.secure {
            Vec::new()
        } else {
            self.sessions()
        }
    }

    fn rtsps_conns(&self) -> Vec<dto::RTSPConn> {
        if self.secure {
            self.conns()
        } else {
            Vec::new()
        }
    }

    fn rtsps_sessions(&self) -> Vec<dto::RTSPSession> {
        if self.secure {
            self.sessions()
        } else {
            Vec::new()
        }
    }

    fn kick_rtsp_session(&self, id: &str) -> Option<Result<(), Failure>> {
        if self.secure { None } else { self.kick(id) }
    }

    fn kick_rtsps_session(&self, id: &str) -> Option<Result<(), Failure>> {
        if self.secure { self.kick(id) } else { None }
    }
}

fn time(t: SystemTime) -> String {
    dto::timestamp(DateTime::<Utc>::from(t))
}

fn conn(c: &ConnInfo) -> dto::RTSPConn {
    dto::RTSPConn {
        bytes_received: c.bytes_received,
        bytes_sent: c.bytes_sent,
        created: time(c.created),
        id: c.id.clone(),
        inbound_bytes: c.bytes_received,
        outbound_bytes: c.bytes_sent,
        remote_addr: c.remote_addr.to_string(),
        session: c.session.clone(),
        tunnel: "none".into(),
    }
}

fn session(s: &SessionInfo, conns: &[ConnInfo]) -> dto::RTSPSession {
    dto::RTSPSession {
        bytes_received: s.bytes_received,
        bytes_sent: s.bytes_sent,
        conns: conns
            .iter()
            .filter(|c| c.session.as_deref() == Some(s.id.as_str()))
            .map(|c| c.id.clone())
            .collect(),
        created: time(s.created),
        id: s.id.clone(),
        inbound_bytes: s.bytes_received,
        inbound_rtcp_packets: s.rtcp_packets_received,
        inbound_rtcp_packets_in_error: s.rtcp_packets_in_error,
        inbound_rtp_packets: s.rtp_packets_received,
        inbound_rtp_packets_in_error: s.rtp_packets_in_error,
        inbound_rtp_packets_jitter: s.rtp_packets_jitter,
        inbound_rtp_packets_lost: s.rtp_packets_lost,
        outbound_bytes: s.bytes_sent,
        outbound_rtcp_packets: s.rtcp_packets_sent,
        outbound_rtp_packets: s.rtp_packets_sent,
        outbound_rtp_packets_discarded: 0,
        outbound_rtp_packets_reported_lost: s.rtp_packets_reported_lost,
        path: s.path.clone(),
        profile: s.profile.clone(),
        query: s.query.clone(),
        remote_addr: s.remote_addr.to_string(),
        rtcp_packets_in_error: s.rtcp_packets_in_error,
        rtcp_packets_received: s.rtcp_packets_received,
        rtcp_packets_sent: s.rtcp_packets_sent,
        rtp_packets_in_error: s.rtp_packets_in_error,
        rtp_packets_jitter: s.rtp_packets_jitter,
        rtp_packets_lost: s.rtp_packets_lost,
        rtp_packets_received: s.rtp_packets_received,
        rtp_packets_sent: s.rtp_packets_sent,
        state: match s.state {
            SessionState::Idle => dto::RTSPSessionState::Idle,
            SessionState::Read => dto::RTSPSessionState::Read,
            SessionState::Publish => dto::RTSPSessionState::Publish,
        },
        transport: s.transport.clone(),
        user: s.user.clone(),
        user_agent: s.user_agent.clone(),
    }
}
