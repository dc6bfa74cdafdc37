//! WebRTC sessions as the API's DTOs.

use ferromtx_api::dto;
use ferromtx_webrtc::SessionInfo;
use ferromtx_webrtc::session::candidate_label;

pub fn session(s: &SessionInfo) -> dto::WebRTCSession {
    let st = &s.stats;
    dto::WebRTCSession {
        bytes_received: st.bytes_received,
        bytes_sent: st.bytes_sent,
        created: super::timestamp(s.created),
        id: s.id.clone(),
        inbound_bytes: st.bytes_received,
        inbound_rtcp_packets: st.rtcp_packets_received,
        inbound_rtp_packets: st.rtp_packets_received,
        inbound_rtp_packets_jitter: st.rtp_packets_jitter,
        inbound_rtp_packets_lost: st.rtp_packets_lost,
        local_candidate: st
            .local_candidate
            .map(|a| candidate_label(a, st.tcp))
            .unwrap_or_default(),
        outbound_bytes: st.bytes_sent,
        outbound_frames_discarded: 0,
        outbound_rtcp_packets: st.rtcp_packets_sent,
        outbound_rtp_packets: st.rtp_packets_written,
        path: s.path.clone(),
        peer_connection_established: st.peer_connection_established,
        query: s.query.clone(),
        remote_addr: s.remote.map(|r| r.to_string()).unwrap_or_default(),
        remote_candidate: st
            .remote_candidate
            .map(|a| candidate_label(a, st.tcp))
            .unwrap_or_default(),
        rtcp_packets_received: st.rtcp_packets_received,
        rtcp_packets_sent: st.rtcp_packets_sent,
        rtp_packets_jitter: st.rtp_packets_jitter,
        rtp_packets_lost: st.rtp_packets_lost,
        rtp_packets_received: st.rtp_packets_received,
        rtp_packets_sent: st.rtp_packets_written,
        state: if s.publish {
            dto::WebRTCSessionState::Publish
        } else {
            dto::WebRTCSessionState::Read
        },
        user: String::new(),
        user_agent: String::new(),
    }
}
