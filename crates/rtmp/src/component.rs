//! The RTMP and RTMPS servers as components of the binary (started as `rtmpEncryption`
//! asks: `no` RTMP, `strict` RTMPS, `optional` both; restarted when their settings
//! change), the `rtmp`/`rtmps` static source, and what the API shows of them.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use ferromtx_api::component::{BoxFuture, Registration};
use ferromtx_api::{Context, Failure, Server, Servers, Sessions, component, dto};
use ferromtx_conf::{Conf, Encryption};

use crate::server_io::{ConnInfo, ConnState, RtmpServer, RtmpSettings};
use crate::source::RtmpSource;

/// Registers the RTMP and RTMPS servers and the `rtmp`/`rtmps` source.
pub fn register(r: &mut Registration) {
    r.component(component::<Rtmp>());
    r.component(component::<Rtmps>());
    let source: Arc<RtmpSource> = Arc::new(RtmpSource);
    r.source("rtmp", source.clone());
    r.source("rtmps", source);
}

/// The plain RTMP server (`rtmp`, `rtmpEncryption` `no` or `optional`).
#[derive(Debug)]
pub struct Rtmp(Arc<RtmpServer>);

impl Server for Rtmp {
    type Settings = RtmpSettings;

    fn settings(conf: &Conf) -> Option<RtmpSettings> {
        (conf.rtmp && conf.rtmp_encryption != Encryption::Strict)
            .then(|| RtmpSettings::from_conf(conf))
    }

    fn start<'a>(
        settings: &'a RtmpSettings,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Arc<Self>, String>> {
        Box::pin(async move {
            let address = &settings.address;
            let server = RtmpServer::start(settings.clone(), Arc::clone(&ctx.paths), None)
                .await
                .map_err(|e| format!("[RTMP] unable to listen on {address}: {e}"))?;
            tracing::info!(
                "{}",
                ferromtx_api::started_line("[RTMP]", &[(address, "TCP/RTMP")])
            );
            Ok(Arc::new(Rtmp(Arc::new(server))))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            tracing::info!("[RTMP] closing");
            self.0.close().await;
        })
    }

    fn sessions(self: &Arc<Self>) -> Option<Arc<dyn Sessions>> {
        Some(Arc::new(RtmpApi {
            server: Arc::clone(&self.0),
            secure: false,
        }))
    }
}

/// The RTMPS server's settings: the listener's and the certificate files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmpsSettings {
    pub rtmp: RtmpSettings,
    pub server_cert: String,
    pub server_key: String,
}

/// The RTMPS server (`rtmpEncryption` `strict` or `optional`).
#[derive(Debug)]
pub struct Rtmps(Arc<RtmpServer>);

impl Server for Rtmps {
    type Settings = RtmpsSettings;

    fn settings(conf: &Conf) -> Option<RtmpsSettings> {
        (conf.rtmp && conf.rtmp_encryption != Encryption::No).then(|| RtmpsSettings {
            rtmp: RtmpSettings::secure_from_conf(conf),
            server_cert: conf.rtmp_server_cert.clone(),
            server_key: conf.rtmp_server_key.clone(),
        })
    }

    fn start<'a>(
        settings: &'a RtmpsSettings,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Arc<Self>, String>> {
        Box::pin(async move {
            let tls = ferromtx_net::tls::server_config(
                Path::new(&settings.server_cert),
                Path::new(&settings.server_key),
                &[],
            )
            .map_err(|e| format!("[RTMPS] {e}"))?;
            let address = &settings.rtmp.address;
            let server =
                RtmpServer::start(settings.rtmp.clone(), Arc::clone(&ctx.paths), Some(tls))
                    .await
                    .map_err(|e| format!("[RTMPS] unable to listen on {address}: {e}"))?;
            tracing::info!(
                "{}",
                ferromtx_api::started_line("[RTMPS]", &[(address, "TCP/RTMPS")])
            );
            Ok(Arc::new(Rtmps(Arc::new(server))))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            tracing::info!("[RTMPS] closing");
            self.0.close().await;
        })
    }

    fn sessions(self: &Arc<Self>) -> Option<Arc<dyn Sessions>> {
        Some(Arc::new(RtmpApi {
            server: Arc::clone(&self.0),
            secure: true,
        }))
    }
}

/// What the API shows of one RTMP or RTMPS server.
struct RtmpApi {
    server: Arc<RtmpServer>,
    secure: bool,
}

impl RtmpApi {
    fn conns(&self, secure: bool) -> Vec<dto::RTMPConn> {
        if secure == self.secure {
            self.server.conns().iter().map(conn).collect()
        } else {
            Vec::new()
        }
    }

    fn kick(&self, secure: bool, id: &str) -> Option<Result<(), Failure>> {
        (secure == self.secure && self.server.kick(id)).then_some(Ok(()))
    }
}

impl Sessions for RtmpApi {
    fn servers(&self, running: &mut Servers) {
        if self.secure {
            running.rtmps = true;
        } else {
            running.rtmp = true;
        }
    }

    fn rtmp_conns(&self) -> Vec<dto::RTMPConn> {
        self.conns(false)
    }

    fn rtmps_conns(&self) -> Vec<dto::RTMPConn> {
        self.conns(true)
    }

    fn kick_rtmp_conn(&self, id: &str) -> Option<Result<(), Failure>> {
        self.kick(false, id)
    }

    fn kick_rtmps_conn(&self, id: &str) -> Option<Result<(), Failure>> {
        self.kick(true, id)
    }
}

fn time(t: SystemTime) -> String {
    dto::timestamp(DateTime::<Utc>::from(t))
}

fn conn(c: &ConnInfo) -> dto::RTMPConn {
    dto::RTMPConn {
        bytes_received: c.bytes_received,
        bytes_sent: c.bytes_sent,
        created: time(c.created),
        id: c.id.clone(),
        inbound_bytes: c.bytes_received,
        outbound_bytes: c.bytes_sent,
        outbound_frames_discarded: c.outbound_frames_discarded,
        path: c.path.clone(),
        query: c.query.clone(),
        remote_addr: c.remote_addr.to_string(),
        state: match c.state {
            ConnState::Idle => dto::RTMPConnState::Idle,
            ConnState::Read => dto::RTMPConnState::Read,
            ConnState::Publish => dto::RTMPConnState::Publish,
        },
        user: c.user.clone(),
        user_agent: c.user_agent.clone(),
    }
}
