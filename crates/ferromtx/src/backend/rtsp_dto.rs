//! RTSP connections and sessions as the API's DTOs.

use ferromtx_api::dto;
use ferromtx_rtsp::RtspServer;
use ferromtx_rtsp::server::{ConnInfo, SessionInfo, SessionState};

use super::timestamp as time;

/// The connections of a server (none when it does not run).
pub fn conns(server: Option<&RtspServer>) -> Vec<dto::RTSPConn> {
    server
        .map(|r| r.conns().iter().map(conn).collect())
        .unwrap_or_default()
}

/// The sessions of a server (none when it does not run).
pub fn sessions(server: Option<&RtspServer>) -> Vec<dto::RTSPSession> {
    server
        .map(|r| {
            let conns = r.conns();
            r.sessions().iter().map(|s| session(s, &conns)).collect()
        })
        .unwrap_or_default()
}

pub fn conn(c: &ConnInfo) -> dto::RTSPConn {
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

pub fn session(s: &SessionInfo, conns: &[ConnInfo]) -> dto::RTSPSession {
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
        user: String::new(),
        user_agent: String::new(),
    }
}
