//! What the server provides to the API, metrics and HTTP servers.
//!
//! The binary implements [`Backend`] on top of the path manager and the protocol
//! servers; this crate never depends on them. Every protocol method has a default
//! (empty list, "not found"), so a server that is not running needs no code.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ferromtx_conf::Conf;

use crate::component::BoxFuture;
use crate::dto;
use crate::sessions::Sessions;

/// A request the backend could not satisfy, mapped to an HTTP status by the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// 404, e.g. `path not found`, `session not found`.
    #[error("{0}")]
    NotFound(String),
    /// 400, e.g. an invalid configuration.
    #[error("{0}")]
    Invalid(String),
    /// 500.
    #[error("{0}")]
    Internal(String),
}

impl Failure {
    pub fn path_not_found() -> Self {
        Self::NotFound("path not found".into())
    }
    pub fn conn_not_found() -> Self {
        Self::NotFound("connection not found".into())
    }
    pub fn session_not_found() -> Self {
        Self::NotFound("session not found".into())
    }
    pub fn muxer_not_found() -> Self {
        Self::NotFound("muxer not found".into())
    }
    pub fn forward_dest_not_found() -> Self {
        Self::NotFound("forward destination not found".into())
    }
}

/// Which protocol servers are running; metrics list only those (as MediaMTX does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Servers {
    pub rtsp: bool,
    pub rtsps: bool,
    pub rtmp: bool,
    pub rtmps: bool,
    pub hls: bool,
    pub webrtc: bool,
    pub srt: bool,
    pub moq: bool,
}

impl Servers {
    /// No server running.
    pub const NONE: Servers = Servers {
        rtsp: false,
        rtsps: false,
        rtmp: false,
        rtmps: false,
        hls: false,
        webrtc: false,
        srt: false,
        moq: false,
    };

    /// Every server running.
    pub const ALL: Servers = Servers {
        rtsp: true,
        rtsps: true,
        rtmp: true,
        rtmps: true,
        hls: true,
        webrtc: true,
        srt: true,
        moq: true,
    };
}

fn find<T: Clone>(items: Vec<T>, pred: impl Fn(&T) -> bool, none: Failure) -> Result<T, Failure> {
    items.into_iter().find(|i| pred(i)).ok_or(none)
}

/// The server seen from the control plane.
///
/// Ids passed to `*_get`/`kick_*` are canonical lower-case UUIDs.
pub trait Backend: Send + Sync + 'static {
    /// The configuration in force.
    fn conf(&self) -> Arc<Conf>;
    /// Applies `conf` (already validated) live, like a reload; the file is not written.
    /// Resolves once it is in force. The `Err` text is answered with 400.
    fn apply_conf(&self, conf: Conf) -> BoxFuture<'_, Result<(), String>>;
    /// The authentication manager in force.
    fn auth(&self) -> Arc<ferromtx_auth::Manager>;
    /// Version and start time.
    fn info(&self) -> dto::Info;

    /// The running protocol servers' views (connections, sessions, kicks). The protocol
    /// methods below ask each of them; an implementation may also answer them itself.
    fn sessions(&self) -> Vec<Arc<dyn Sessions>> {
        Vec::new()
    }

    /// Which protocol servers are running.
    fn servers(&self) -> Servers {
        let mut running = Servers::NONE;
        for s in self.sessions() {
            s.servers(&mut running);
        }
        running
    }

    /// Live paths, sorted by name.
    fn paths(&self) -> Vec<dto::Path>;
    fn path(&self, name: &str) -> Result<dto::Path, Failure> {
        find(self.paths(), |p| p.name == name, Failure::path_not_found())
    }
    /// Forward destinations of a path; `NotFound` when the path does not exist.
    fn forward_dests(&self, path: &str) -> Result<Vec<dto::ForwardDest>, Failure> {
        self.path(path).map(|_| Vec::new())
    }
    fn forward_dest(&self, path: &str, id: &str) -> Result<dto::ForwardDest, Failure> {
        find(
            self.forward_dests(path)?,
            |d| d.id == id,
            Failure::forward_dest_not_found(),
        )
    }

    fn rtsp_conns(&self) -> Vec<dto::RTSPConn> {
        self.sessions()
            .iter()
            .flat_map(|s| s.rtsp_conns())
            .collect()
    }
    fn rtsp_conn(&self, id: &str) -> Result<dto::RTSPConn, Failure> {
        find(self.rtsp_conns(), |c| c.id == id, Failure::conn_not_found())
    }
    fn rtsp_sessions(&self) -> Vec<dto::RTSPSession> {
        self.sessions()
            .iter()
            .flat_map(|s| s.rtsp_sessions())
            .collect()
    }
    fn rtsp_session(&self, id: &str) -> Result<dto::RTSPSession, Failure> {
        find(
            self.rtsp_sessions(),
            |c| c.id == id,
            Failure::session_not_found(),
        )
    }
    fn kick_rtsp_session(&self, id: &str) -> Result<(), Failure> {
        self.sessions()
            .iter()
            .find_map(|s| s.kick_rtsp_session(id))
            .unwrap_or_else(|| Err(Failure::session_not_found()))
    }

    fn rtsps_conns(&self) -> Vec<dto::RTSPConn> {
        self.sessions()
            .iter()
            .flat_map(|s| s.rtsps_conns())
            .collect()
    }
    fn rtsps_conn(&self, id: &str) -> Result<dto::RTSPConn, Failure> {
        find(
            self.rtsps_conns(),
            |c| c.id == id,
            Failure::conn_not_found(),
        )
    }
    fn rtsps_sessions(&self) -> Vec<dto::RTSPSession> {
        self.sessions()
            .iter()
            .flat_map(|s| s.rtsps_sessions())
            .collect()
    }
    fn rtsps_session(&self, id: &str) -> Result<dto::RTSPSession, Failure> {
        find(
            self.rtsps_sessions(),
            |c| c.id == id,
            Failure::session_not_found(),
        )
    }
    fn kick_rtsps_session(&self, id: &str) -> Result<(), Failure> {
        self.sessions()
            .iter()
            .find_map(|s| s.kick_rtsps_session(id))
            .unwrap_or_else(|| Err(Failure::session_not_found()))
    }

    fn rtmp_conns(&self) -> Vec<dto::RTMPConn> {
        self.sessions()
            .iter()
            .flat_map(|s| s.rtmp_conns())
            .collect()
    }
    fn rtmp_conn(&self, id: &str) -> Result<dto::RTMPConn, Failure> {
        find(self.rtmp_conns(), |c| c.id == id, Failure::conn_not_found())
    }
    fn kick_rtmp_conn(&self, id: &str) -> Result<(), Failure> {
        self.sessions()
            .iter()
            .find_map(|s| s.kick_rtmp_conn(id))
            .unwrap_or_else(|| Err(Failure::conn_not_found()))
    }

    fn rtmps_conns(&self) -> Vec<dto::RTMPConn> {
        self.sessions()
            .iter()
            .flat_map(|s| s.rtmps_conns())
            .collect()
    }
    fn rtmps_conn(&self, id: &str) -> Result<dto::RTMPConn, Failure> {
        find(
            self.rtmps_conns(),
            |c| c.id == id,
            Failure::conn_not_found(),
        )
    }
    fn kick_rtmps_conn(&self, id: &str) -> Result<(), Failure> {
        self.sessions()
            .iter()
            .find_map(|s| s.kick_rtmps_conn(id))
            .unwrap_or_else(|| Err(Failure::conn_not_found()))
    }

    fn srt_conns(&self) -> Vec<dto::SRTConn> {
        self.sessions().iter().flat_map(|s| s.srt_conns()).collect()
    }
    fn srt_conn(&self, id: &str) -> Result<dto::SRTConn, Failure> {
        find(self.srt_conns(), |c| c.id == id, Failure::conn_not_found())
    }
    fn kick_srt_conn(&self, id: &str) -> Result<(), Failure> {
        self.sessions()
            .iter()
            .find_map(|s| s.kick_srt_conn(id))
            .unwrap_or_else(|| Err(Failure::conn_not_found()))
    }

    fn webrtc_sessions(&self) -> Vec<dto::WebRTCSession> {
        self.sessions()
            .iter()
            .flat_map(|s| s.webrtc_sessions())
            .collect()
    }
    fn webrtc_session(&self, id: &str) -> Result<dto::WebRTCSession, Failure> {
        find(
            self.webrtc_sessions(),
            |c| c.id == id,
            Failure::session_not_found(),
        )
    }
    fn kick_webrtc_session(&self, id: &str) -> Result<(), Failure> {
        self.sessions()
            .iter()
            .find_map(|s| s.kick_webrtc_session(id))
            .unwrap_or_else(|| Err(Failure::session_not_found()))
    }

    fn hls_muxers(&self) -> Vec<dto::HLSMuxer> {
        self.sessions()
            .iter()
            .flat_map(|s| s.hls_muxers())
            .collect()
    }
    fn hls_muxer(&self, path: &str) -> Result<dto::HLSMuxer, Failure> {
        find(
            self.hls_muxers(),
            |m| m.path == path,
            Failure::muxer_not_found(),
        )
    }
    fn hls_sessions(&self) -> Vec<dto::HLSSession> {
        self.sessions()
            .iter()
            .flat_map(|s| s.hls_sessions())
            .collect()
    }
    fn hls_session(&self, id: &str) -> Result<dto::HLSSession, Failure> {
        find(
            self.hls_sessions(),
            |c| c.id == id,
            Failure::session_not_found(),
        )
    }
    fn kick_hls_session(&self, id: &str) -> Result<(), Failure> {
        self.sessions()
            .iter()
            .find_map(|s| s.kick_hls_session(id))
            .unwrap_or_else(|| Err(Failure::session_not_found()))
    }

    fn moq_sessions(&self) -> Vec<dto::MoQSession> {
        self.sessions()
            .iter()
            .flat_map(|s| s.moq_sessions())
            .collect()
    }
    fn moq_session(&self, id: &str) -> Result<dto::MoQSession, Failure> {
        find(
            self.moq_sessions(),
            |c| c.id == id,
            Failure::session_not_found(),
        )
    }
    fn kick_moq_session(&self, id: &str) -> Result<(), Failure> {
        self.sessions()
            .iter()
            .find_map(|s| s.kick_moq_session(id))
            .unwrap_or_else(|| Err(Failure::session_not_found()))
    }

    /// Paths that have recorded segments, sorted by name, with their segments.
    fn recordings(&self) -> Vec<dto::Recording> {
        Vec::new()
    }
    /// Segments of one path; `Invalid` when no path configuration matches the name
    /// (MediaMTX answers 400 there).
    fn recording(&self, name: &str) -> Result<dto::Recording, Failure> {
        find(
            self.recordings(),
            |r| r.name == name,
            Failure::path_not_found(),
        )
    }
    /// Deletes the segment of `path` that starts at `start`.
    fn delete_recording_segment(&self, _path: &str, _start: DateTime<Utc>) -> Result<(), Failure> {
        Err(Failure::Invalid("recording segment not found".into()))
    }
}
