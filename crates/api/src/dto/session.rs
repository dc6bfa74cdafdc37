//! Protocol connections and sessions (RTSP, RTMP, SRT, WebRTC, HLS, MoQ).

use serde::{Deserialize, Serialize};

use super::kinds::{
    MoQSessionState, MoQVersion, RTMPConnState, RTSPSessionState, SRTConnState, WebRTCSessionState,
};

/// `HLSMuxer` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HLSMuxer {
    /// Deprecated.
    pub bytes_sent: u64,
    pub created: String,
    pub last_request: String,
    pub outbound_bytes: u64,
    pub outbound_frames_discarded: u64,
    pub path: String,
}

/// `HLSSession` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HLSSession {
    pub created: String,
    pub id: String,
    #[serde(rename = "isCDN")]
    pub is_cdn: bool,
    pub outbound_bytes: u64,
    pub path: String,
    pub query: String,
    pub remote_addr: String,
    pub user: String,
    pub user_agent: String,
}

/// `MoQSession` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoQSession {
    pub created: String,
    pub id: String,
    pub inbound_bytes: u64,
    pub outbound_bytes: u64,
    pub path: String,
    pub query: String,
    pub remote_addr: String,
    pub state: MoQSessionState,
    pub transport: String,
    pub user_agent: String,
    pub version: MoQVersion,
}

/// `RTMPConn` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RTMPConn {
    /// Deprecated.
    pub bytes_received: u64,
    /// Deprecated.
    pub bytes_sent: u64,
    pub created: String,
    pub id: String,
    pub inbound_bytes: u64,
    pub outbound_bytes: u64,
    pub outbound_frames_discarded: u64,
    pub path: String,
    pub query: String,
    pub remote_addr: String,
    pub state: RTMPConnState,
    pub user: String,
    pub user_agent: String,
}

/// `RTSPConn` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RTSPConn {
    /// Deprecated.
    pub bytes_received: u64,
    /// Deprecated.
    pub bytes_sent: u64,
    pub created: String,
    pub id: String,
    pub inbound_bytes: u64,
    pub outbound_bytes: u64,
    pub remote_addr: String,
    pub session: Option<String>,
    pub tunnel: String,
}

/// `RTSPSession` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RTSPSession {
    /// Deprecated.
    pub bytes_received: u64,
    /// Deprecated.
    pub bytes_sent: u64,
    pub conns: Vec<String>,
    pub created: String,
    pub id: String,
    pub inbound_bytes: u64,
    #[serde(rename = "inboundRTCPPackets")]
    pub inbound_rtcp_packets: u64,
    #[serde(rename = "inboundRTCPPacketsInError")]
    pub inbound_rtcp_packets_in_error: u64,
    #[serde(rename = "inboundRTPPackets")]
    pub inbound_rtp_packets: u64,
    #[serde(rename = "inboundRTPPacketsInError")]
    pub inbound_rtp_packets_in_error: u64,
    #[serde(rename = "inboundRTPPacketsJitter")]
    pub inbound_rtp_packets_jitter: f64,
    #[serde(rename = "inboundRTPPacketsLost")]
    pub inbound_rtp_packets_lost: u64,
    pub outbound_bytes: u64,
    #[serde(rename = "outboundRTCPPackets")]
    pub outbound_rtcp_packets: u64,
    #[serde(rename = "outboundRTPPackets")]
    pub outbound_rtp_packets: u64,
    #[serde(rename = "outboundRTPPacketsDiscarded")]
    pub outbound_rtp_packets_discarded: u64,
    #[serde(rename = "outboundRTPPacketsReportedLost")]
    pub outbound_rtp_packets_reported_lost: u64,
    pub path: String,
    pub profile: Option<String>,
    pub query: String,
    pub remote_addr: String,
    /// Deprecated.
    pub rtcp_packets_in_error: u64,
    /// Deprecated.
    pub rtcp_packets_received: u64,
    /// Deprecated.
    pub rtcp_packets_sent: u64,
    /// Deprecated.
    pub rtp_packets_in_error: u64,
    /// Deprecated.
    pub rtp_packets_jitter: f64,
    /// Deprecated.
    pub rtp_packets_lost: u64,
    /// Deprecated.
    pub rtp_packets_received: u64,
    /// Deprecated.
    pub rtp_packets_sent: u64,
    pub state: RTSPSessionState,
    pub transport: Option<String>,
    pub user: String,
    pub user_agent: String,
}

/// `SRTConn` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SRTConn {
    /// Maximum Segment Size (MSS), in bytes
    #[serde(rename = "byteMSS")]
    pub byte_mss: u64,
    /// The available space in the receiver's buffer, in bytes
    pub bytes_avail_receive_buf: u64,
    /// The available space in the sender's buffer, in bytes
    pub bytes_avail_send_buf: u64,
    /// Instantaneous (current) value of packetsRcvBuf, expressed in bytes, including payload and all headers (IP, TCP, SRT)
    pub bytes_receive_buf: u64,
    /// Same as packetsReceived, but expressed in bytes, including payload and all the headers (IP, TCP, SRT)
    pub bytes_received: u64,
    /// Same as PacketsReceivedBelated, but expressed in bytes, including payload and all the headers (IP, TCP, SRT)
    pub bytes_received_belated: u64,
    /// Same as packetsReceivedDrop, but expressed in bytes, including payload and all the headers (IP, TCP, SRT)
    pub bytes_received_drop: u64,
    /// Same as packetsReceivedLoss, but expressed in bytes, including payload and all the headers (IP, TCP, SRT), bytes for the presently missing (either reordered or lost) packets' payloads are estimated based on the average packet size
    pub bytes_received_loss: u64,
    /// Same as packetsReceivedRetrans, but expressed in bytes, including payload and all the headers (IP, TCP, SRT)
    pub bytes_received_retrans: u64,
    /// Same as packetsReceivedUndecrypt, but expressed in bytes, including payload and all the headers (IP, TCP, SRT)
    pub bytes_received_undecrypt: u64,
    /// Same as packetsReceivedUnique, but expressed in bytes, including payload and all the headers (IP, TCP, SRT)
    pub bytes_received_unique: u64,
    /// Same as packetsRetrans, but expressed in bytes, including payload and all the headers (IP, TCP, SRT)
    pub bytes_retrans: u64,
    /// Instantaneous (current) value of packetsSndBuf, but expressed in bytes, including payload and all headers (IP, TCP, SRT)
    pub bytes_send_buf: u64,
    /// Same as packetsSendDrop, but expressed in bytes, including payload and all the headers (IP, TCP, SRT)
    pub bytes_send_drop: u64,
    /// Same as packetsSent, but expressed in bytes, including payload and all the headers (IP, TCP, SRT)
    pub bytes_sent: u64,
    /// Same as packetsSentUnique, but expressed in bytes, including payload and all the headers (IP, TCP, SRT)
    pub bytes_sent_unique: u64,
    pub created: String,
    pub id: String,
    /// Estimated capacity of the network link, in Mbps
    pub mbps_link_capacity: f64,
    /// Transmission bandwidth limit, in Mbps
    #[serde(rename = "mbpsMaxBW")]
    pub mbps_max_bw: f64,
    /// Current receiving bandwidth, in Mbps
    pub mbps_receive_rate: f64,
    /// Current transmission bandwidth, in Mbps
    pub mbps_send_rate: f64,
    /// Smoothed round-trip time (SRTT), an exponentially-weighted moving average (EWMA) of an endpoint's RTT samples, in milliseconds
    #[serde(rename = "msRTT")]
    pub ms_rtt: f64,
    /// The timespan (msec) of acknowledged packets in the receiver's buffer
    pub ms_receive_buf: u64,
    /// Timestamp-based Packet Delivery Delay value set on the socket via SRTO_RCVLATENCY or SRTO_LATENCY
    pub ms_receive_tsb_pd_delay: u64,
    /// The timespan (msec) of packets in the sender's buffer (unacknowledged packets)
    pub ms_send_buf: u64,
    /// Timestamp-based Packet Delivery Delay value of the peer
    pub ms_send_tsb_pd_delay: u64,
    pub outbound_frames_discarded: u64,
    /// The number of packets in flight
    pub packets_flight_size: u64,
    /// The maximum number of packets that can be "in flight"
    pub packets_flow_window: u64,
    /// The number of acknowledged packets in receiver's buffer
    pub packets_receive_buf: u64,
    /// The total number of received DATA packets, including retransmitted packets
    pub packets_received: u64,
    /// The total number of received ACK (Acknowledgement) control packets
    #[serde(rename = "packetsReceivedACK")]
    pub packets_received_ack: u64,
    /// Accumulated difference between the current time and the time-to-play of a packet that is received late
    pub packets_received_avg_belated_time: u64,
    pub packets_received_belated: u64,
    /// The total number of dropped by the SRT receiver and, as a result, not delivered to the upstream application DATA packets
    pub packets_received_drop: u64,
    /// The total number of received KM (Key Material) control packets
    #[serde(rename = "packetsReceivedKM")]
    pub packets_received_km: u64,
    /// The total number of SRT DATA packets detected as presently missing (either reordered or lost) at the receiver side
    pub packets_received_loss: u64,
    /// Percentage of retransmitted data vs. received data
    pub packets_received_loss_rate: f64,
    /// The total number of received NAK (Negative Acknowledgement) control packets
    #[serde(rename = "packetsReceivedNAK")]
    pub packets_received_nak: u64,
    /// The total number of retransmitted packets registered at the receiver side
    pub packets_received_retrans: u64,
    /// The total number of packets that failed to be decrypted at the receiver side
    pub packets_received_undecrypt: u64,
    /// The total number of unique original, retransmitted or recovered by the packet filter DATA packets received in time, decrypted without errors and, as a result, scheduled for delivery to the upstream application by the SRT receiver.
    pub packets_received_unique: u64,
    /// Instant value of the packet reorder tolerance
    pub packets_reorder_tolerance: u64,
    /// The total number of retransmitted packets sent by the SRT sender
    pub packets_retrans: u64,
    /// The number of packets in the sender's buffer that are already scheduled for sending or even possibly sent, but not yet acknowledged
    pub packets_send_buf: u64,
    /// The total number of dropped by the SRT sender DATA packets that have no chance to be delivered in time
    pub packets_send_drop: u64,
    /// The total number of data packets considered or reported as lost at the sender side. Does not correspond to the packets detected as lost at the receiver side.
    pub packets_send_loss: u64,
    /// Percentage of resent data vs. sent data
    pub packets_send_loss_rate: f64,
    /// The total number of sent DATA packets, including retransmitted packets
    pub packets_sent: u64,
    /// The total number of sent ACK (Acknowledgement) control packets
    #[serde(rename = "packetsSentACK")]
    pub packets_sent_ack: u64,
    /// The total number of sent KM (Key Material) control packets
    #[serde(rename = "packetsSentKM")]
    pub packets_sent_km: u64,
    /// The total number of sent NAK (Negative Acknowledgement) control packets
    #[serde(rename = "packetsSentNAK")]
    pub packets_sent_nak: u64,
    /// The total number of unique DATA packets sent by the SRT sender
    pub packets_sent_unique: u64,
    pub path: String,
    pub query: String,
    pub remote_addr: String,
    pub state: SRTConnState,
    /// Current minimum time interval between which consecutive packets are sent, in microseconds
    pub us_packets_send_period: f64,
    /// The total accumulated time in microseconds, during which the SRT sender has some data to transmit, including packets that have been sent, but not yet acknowledged
    pub us_snd_duration: u64,
    pub user: String,
}

/// `WebRTCSession` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebRTCSession {
    /// Deprecated.
    pub bytes_received: u64,
    /// Deprecated.
    pub bytes_sent: u64,
    pub created: String,
    pub id: String,
    pub inbound_bytes: u64,
    #[serde(rename = "inboundRTCPPackets")]
    pub inbound_rtcp_packets: u64,
    #[serde(rename = "inboundRTPPackets")]
    pub inbound_rtp_packets: u64,
    #[serde(rename = "inboundRTPPacketsJitter")]
    pub inbound_rtp_packets_jitter: f64,
    #[serde(rename = "inboundRTPPacketsLost")]
    pub inbound_rtp_packets_lost: u64,
    pub local_candidate: String,
    pub outbound_bytes: u64,
    pub outbound_frames_discarded: u64,
    #[serde(rename = "outboundRTCPPackets")]
    pub outbound_rtcp_packets: u64,
    #[serde(rename = "outboundRTPPackets")]
    pub outbound_rtp_packets: u64,
    pub path: String,
    pub peer_connection_established: bool,
    pub query: String,
    pub remote_addr: String,
    pub remote_candidate: String,
    /// Deprecated.
    pub rtcp_packets_received: u64,
    /// Deprecated.
    pub rtcp_packets_sent: u64,
    /// Deprecated.
    pub rtp_packets_jitter: f64,
    /// Deprecated.
    pub rtp_packets_lost: u64,
    /// Deprecated.
    pub rtp_packets_received: u64,
    /// Deprecated.
    pub rtp_packets_sent: u64,
    pub state: WebRTCSessionState,
    pub user: String,
    pub user_agent: String,
}
