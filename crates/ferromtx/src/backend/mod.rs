//! What the control plane (`/v3`, metrics) sees of the running server: the
//! [`ferromtx_api::Backend`] implementation over the path manager and the configuration.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use ferromtx_api::{Backend, Failure, Servers, dto};
use ferromtx_auth::Manager as AuthManager;
use ferromtx_conf::Conf;
use ferromtx_core::PathManager;
use ferromtx_core::path::PathInfo;
use ferromtx_rtsp::RtspServer;
use tokio::sync::mpsc;

mod rtsp_dto;
mod webrtc_dto;

pub struct ServerBackend {
    conf: RwLock<Arc<Conf>>,
    /// Configurations changed through the API, for the main loop to apply.
    apply: mpsc::UnboundedSender<Arc<Conf>>,
    auth: Arc<AuthManager>,
    paths: Arc<PathManager>,
    rtsp: RwLock<Option<Arc<RtspServer>>>,
    rtsps: RwLock<Option<Arc<RtspServer>>>,
    webrtc: RwLock<Option<Arc<crate::webrtc::Server>>>,
    started: DateTime<Utc>,
}

impl ServerBackend {
    pub fn new(
        conf: Arc<Conf>,
        apply: mpsc::UnboundedSender<Arc<Conf>>,
        auth: Arc<AuthManager>,
        paths: Arc<PathManager>,
    ) -> ServerBackend {
        ServerBackend {
            conf: RwLock::new(conf),
            apply,
            auth,
            paths,
            rtsp: RwLock::new(None),
            rtsps: RwLock::new(None),
            webrtc: RwLock::new(None),
            started: Utc::now(),
        }
    }

    /// Records the running RTSP and RTSPS servers.
    pub fn set_rtsp(&self, servers: &crate::rtsp::RtspServers) {
        *self.rtsp.write().unwrap_or_else(PoisonError::into_inner) = servers.plain.clone();
        *self.rtsps.write().unwrap_or_else(PoisonError::into_inner) = servers.secure.clone();
    }

    /// Records the running WebRTC server (None when off).
    pub fn set_webrtc(&self, server: Option<Arc<crate::webrtc::Server>>) {
        *self.webrtc.write().unwrap_or_else(PoisonError::into_inner) = server;
    }

    fn webrtc(&self) -> Option<Arc<crate::webrtc::Server>> {
        self.webrtc
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn rtsp(&self) -> Option<Arc<RtspServer>> {
        self.rtsp
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn rtsps(&self) -> Option<Arc<RtspServer>> {
        self.rtsps
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records the configuration in force (after a file reload).
    pub fn set_conf(&self, conf: Arc<Conf>) {
        *self.conf.write().unwrap_or_else(PoisonError::into_inner) = conf;
    }
}

impl Backend for ServerBackend {
    fn conf(&self) -> Arc<Conf> {
        self.conf
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Paths and authentication take the new configuration before the API answers, so
    /// a client that reads right after its change sees it; the main loop then restarts
    /// what else changed (listeners, logger). Both reloads are idempotent.
    fn apply_conf(&self, conf: Conf) -> Result<(), String> {
        let conf = Arc::new(conf);
        self.set_conf(conf.clone());
        self.auth.reload(&conf);
        self.paths.reload(conf.clone());
        self.apply
            .send(conf)
            .map_err(|_| "server is shutting down".to_string())
    }

    fn auth(&self) -> Arc<AuthManager> {
        self.auth.clone()
    }

    fn info(&self) -> dto::Info {
        dto::Info {
            started: dto::timestamp(self.started),
            version: crate::version::api(),
        }
    }

    /// The servers that run: metrics list zero blocks for these only.
    fn servers(&self) -> Servers {
        Servers {
            rtsp: self.rtsp().is_some(),
            rtsps: self.rtsps().is_some(),
            rtmp: false,
            rtmps: false,
            hls: false,
            webrtc: self.webrtc().is_some(),
            srt: false,
            moq: false,
        }
    }

    fn paths(&self) -> Vec<dto::Path> {
        self.paths.paths_info().iter().map(path_dto).collect()
    }

    fn rtsp_conns(&self) -> Vec<dto::RTSPConn> {
        rtsp_dto::conns(self.rtsp().as_deref())
    }

    fn rtsp_sessions(&self) -> Vec<dto::RTSPSession> {
        rtsp_dto::sessions(self.rtsp().as_deref())
    }

    fn rtsps_conns(&self) -> Vec<dto::RTSPConn> {
        rtsp_dto::conns(self.rtsps().as_deref())
    }

    fn rtsps_sessions(&self) -> Vec<dto::RTSPSession> {
        rtsp_dto::sessions(self.rtsps().as_deref())
    }

    fn kick_rtsps_session(&self, id: &str) -> Result<(), Failure> {
        match self.rtsps() {
            Some(r) if r.kick_session(id) => Ok(()),
            _ => Err(Failure::session_not_found()),
        }
    }

    fn webrtc_sessions(&self) -> Vec<dto::WebRTCSession> {
        self.webrtc()
            .map(|w| w.sessions().iter().map(webrtc_dto::session).collect())
            .unwrap_or_default()
    }

    fn kick_webrtc_session(&self, id: &str) -> Result<(), Failure> {
        match self.webrtc() {
            Some(w) if w.kick(id) => Ok(()),
            _ => Err(Failure::session_not_found()),
        }
    }

    fn kick_rtsp_session(&self, id: &str) -> Result<(), Failure> {
        match self.rtsp() {
            Some(r) if r.kick_session(id) => Ok(()),
            _ => Err(Failure::session_not_found()),
        }
    }
}

/// A time as the API writes it.
pub(crate) fn timestamp(t: SystemTime) -> String {
    dto::timestamp(DateTime::<Utc>::from(t))
}

fn time(t: Option<SystemTime>) -> Option<String> {
    t.map(timestamp)
}

/// A string kind (`rtspSession`, `webRTCSession`...) as the spec's enum; unknown kinds
/// (none today) fall back to the enum's default rather than failing the whole list.
fn kind<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or_default()
}

pub fn path_dto(p: &PathInfo) -> dto::Path {
    let codecs: Vec<dto::PathTrackCodec> = p
        .tracks
        .iter()
        .filter_map(|t| {
            serde_json::from_value(serde_json::Value::String(t.format.codec_name().to_owned())).ok()
        })
        .collect();
    dto::Path {
        name: p.name.clone(),
        conf_name: p.conf_name.clone(),
        source: p.source.as_ref().map(|s| dto::PathSource {
            id: s.id.clone(),
            kind: kind(&s.kind),
        }),
        ready: p.ready,
        ready_time: time(p.ready_time),
        available: p.available,
        available_time: time(p.available_time),
        online: p.online,
        online_time: time(p.online_time),
        tracks2: codecs
            .iter()
            .map(|c| dto::PathTrack {
                codec: *c,
                codec_props: None,
            })
            .collect(),
        tracks: codecs,
        inbound_bytes: p.inbound_bytes,
        inbound_frames_in_error: 0,
        outbound_bytes: p.outbound_bytes,
        bytes_received: p.inbound_bytes,
        bytes_sent: p.outbound_bytes,
        readers: p
            .readers
            .iter()
            .map(|r| dto::PathReader {
                id: r.id.clone(),
                kind: kind(&r.kind),
            })
            .collect(),
    }
}
