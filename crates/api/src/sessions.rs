//! What one protocol server shows the API: its connections, sessions and muxers, and the
//! kicks it takes. A server implements only the lists of its protocol; the API asks every
//! running server and joins the answers.

use crate::backend::{Failure, Servers};
use crate::dto;

/// The API's view of one running protocol server.
pub trait Sessions: Send + Sync {
    /// Marks the servers this one is (metrics list only running servers).
    fn servers(&self, running: &mut Servers);

    fn rtsp_conns(&self) -> Vec<dto::RTSPConn> {
        Vec::new()
    }
    fn rtsp_sessions(&self) -> Vec<dto::RTSPSession> {
        Vec::new()
    }
    fn rtsps_conns(&self) -> Vec<dto::RTSPConn> {
        Vec::new()
    }
    fn rtsps_sessions(&self) -> Vec<dto::RTSPSession> {
        Vec::new()
    }
    fn rtmp_conns(&self) -> Vec<dto::RTMPConn> {
        Vec::new()
    }
    fn rtmps_conns(&self) -> Vec<dto::RTMPConn> {
        Vec::new()
    }
    fn srt_conns(&self) -> Vec<dto::SRTConn> {
        Vec::new()
    }
    fn webrtc_sessions(&self) -> Vec<dto::WebRTCSession> {
        Vec::new()
    }
    fn hls_muxers(&self) -> Vec<dto::HLSMuxer> {
        Vec::new()
    }
    fn hls_sessions(&self) -> Vec<dto::HLSSession> {
        Vec::new()
    }
    fn moq_sessions(&self) -> Vec<dto::MoQSession> {
        Vec::new()
    }

    /// Kicks return `None` when the id is not one of this server's.
    fn kick_rtsp_session(&self, _id: &str) -> Option<Result<(), Failure>> {
        None
    }
    fn kick_rtsps_session(&self, _id: &str) -> Option<Result<(), Failure>> {
        None
    }
    fn kick_rtmp_conn(&self, _id: &str) -> Option<Result<(), Failure>> {
        None
    }
    fn kick_rtmps_conn(&self, _id: &str) -> Option<Result<(), Failure>> {
        None
    }
    fn kick_srt_conn(&self, _id: &str) -> Option<Result<(), Failure>> {
        None
    }
    fn kick_webrtc_session(&self, _id: &str) -> Option<Result<(), Failure>> {
        None
    }
    fn kick_hls_session(&self, _id: &str) -> Option<Result<(), Failure>> {
        None
    }
    fn kick_moq_session(&self, _id: &str) -> Option<Result<(), Failure>> {
        None
    }
}
