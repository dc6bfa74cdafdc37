//! Per-connection counters, named after libsrt's statistics so `/v3/srtconns` can be
//! filled from them.

use std::time::Duration;

/// Counters and gauges of one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Data packets sent, retransmissions included.
    pub packets_sent: u64,
    /// Data packets sent for the first time.
    pub packets_sent_unique: u64,
    /// Data packets received, duplicates and late ones included.
    pub packets_received: u64,
    /// Data packets received and stored for the first time.
    pub packets_received_unique: u64,
    /// Packets the peer reported lost (from NAKs).
    pub packets_send_loss: u64,
    /// Packets found missing here (gaps).
    pub packets_received_loss: u64,
    /// Retransmissions sent.
    pub packets_retransmitted: u64,
    /// Retransmissions received.
    pub packets_received_retransmitted: u64,
    /// ACKs sent / received.
    pub packets_sent_ack: u64,
    /// ACKs received.
    pub packets_received_ack: u64,
    /// NAKs sent.
    pub packets_sent_nak: u64,
    /// NAKs received.
    pub packets_received_nak: u64,
    /// Key material messages sent.
    pub packets_sent_km: u64,
    /// Key material messages received.
    pub packets_received_km: u64,
    /// Packets dropped by the sender (too old, or buffer full) before being acknowledged.
    pub packets_send_drop: u64,
    /// Packets the receiver gave up on (too late, or dropped on request).
    pub packets_received_drop: u64,
    /// Packets received after their sequence number was delivered or skipped.
    pub packets_received_belated: u64,
    /// Packets that could not be decrypted.
    pub packets_received_undecrypt: u64,
    /// Datagrams that did not parse.
    pub packets_received_malformed: u64,
    /// Payload bytes sent, retransmissions included.
    pub bytes_sent: u64,
    /// Payload bytes sent for the first time.
    pub bytes_sent_unique: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
    /// Payload bytes received and stored for the first time.
    pub bytes_received_unique: u64,
    /// Payload bytes retransmitted.
    pub bytes_retransmitted: u64,
    /// Payload bytes dropped by the sender.
    pub bytes_send_drop: u64,
    /// Smoothed RTT.
    pub rtt: Duration,
    /// Packets waiting in the send buffer for acknowledgement.
    pub send_buffer_packets: u64,
    /// Bytes waiting in the send buffer.
    pub send_buffer_bytes: u64,
    /// Packets held or awaited in the receive buffer.
    pub receive_buffer_packets: u64,
    /// Free room in the receive buffer, packets.
    pub receive_buffer_available: u64,
    /// Negotiated latency of our receiving.
    pub receive_latency: Duration,
    /// Negotiated latency of the peer's receiving.
    pub send_latency: Duration,
    /// Largest payload per packet.
    pub max_payload: u64,
}
