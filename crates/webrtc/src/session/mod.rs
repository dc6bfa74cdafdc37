//! One peer connection (sans-IO): a str0m [`Rtc`] in RTP mode, ICE-lite, plus the
//! per-viewer header rewrite for egress and the track mapping for ingress.
//! Sockets and clocks belong to the driver; every call takes `now`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromtx_codec::{Format, rtp};
use rand::Rng;
use rand::distributions::Alphanumeric;
use str0m::change::SdpOffer;
use str0m::config::DtlsCert;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::rtp::{Extension, RtpWrite, Ssrc};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Input, Rtc, RtcConfig};

use crate::negotiation::{self, NO_SUPPORTED_CODECS};
use crate::source::EgressItem;
use ferromtx_core::KeyframeGate;

/// Egress packets handed to str0m between two of its timeout passes at most. str0m queues
/// what it is handed until it is polled out, in a queue that keeps its largest size; fed all
/// at once, a keyframe (tens of packets of ~450 bytes each in that queue) left every viewer
/// holding its size. A turn of audio and a P-frame fits in one feed.
const FEED_PACKETS: usize = 8;

/// Units a viewer keeps room for between turns.
const KEPT_PENDING: usize = 4;

/// Timeouts and cache sizes of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `webrtcHandshakeTimeout`: from the answer to ICE+DTLS connected.
    pub handshake_timeout: Duration,
    /// A connected peer that sends nothing (no consent check, no RTCP) for this long
    /// has vanished.
    pub ice_timeout: Duration,
    /// Retransmission cache: at most this many packets per video track...
    pub rtx_cache_packets: usize,
    /// ...and none older than this (about one RTT budget).
    pub rtx_cache_age: Duration,
    /// RTCP sender/receiver report period.
    pub report_interval: Duration,
    /// At most one keyframe request forwarded per this interval.
    pub keyframe_interval: Duration,
    /// Ingress: a keyframe is asked of the publisher this often, so readers joining at
    /// any time (RTSP, recorders) start decoding soon (MediaMTX: 2 s).
    pub publisher_keyframe_interval: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            handshake_timeout: Duration::from_secs(10),
            ice_timeout: Duration::from_secs(10),
            rtx_cache_packets: 128,
            rtx_cache_age: Duration::from_secs(1),
            report_interval: Duration::from_secs(1),
            keyframe_interval: Duration::from_secs(1),
            publisher_keyframe_interval: Duration::from_secs(2),
        }
    }
}

/// Errors while setting a session up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    #[error("invalid SDP: {0}")]
    InvalidSdp(String),
    #[error("{0}")]
    Negotiation(String),
    #[error("{NO_SUPPORTED_CODECS}")]
    NoSupportedCodecs,
    #[error("codecs not supported by client")]
    CodecsNotSupportedByClient,
    #[error("no valid tracks found")]
    NoValidTracks,
    #[error("invalid candidate: {0}")]
    InvalidCandidate(String),
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    HandshakeTimeout,
    IceTimeout,
    /// The peer closed DTLS or ICE failed.
    PeerClosed,
    /// Closed locally (DELETE, stream ended, server shutdown).
    Local,
    Error(String),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::HandshakeTimeout => {
                f.write_str("deadline exceeded while waiting connection")
            }
            CloseReason::IceTimeout => f.write_str("ICE connection timed out"),
            CloseReason::PeerClosed => f.write_str("peer connection closed"),
            CloseReason::Local => f.write_str("terminated"),
            CloseReason::Error(e) => f.write_str(e),
        }
    }
}

/// What the session wants the driver to know.
#[derive(Debug)]
pub enum SessionEvent {
    Connected,
    /// A viewer asked for a keyframe (already coalesced).
    KeyframeRequest,
    /// Ingress: one RTP packet of track `track`.
    Rtp {
        track: usize,
        packet: rtp::Packet,
    },
    Closed(CloseReason),
}

/// Output of [`Session::poll_output`].
#[derive(Debug)]
pub enum Output {
    Transmit(Transmit),
    Event(SessionEvent),
    /// Call [`Session::handle_timeout`] at this instant (or earlier with input).
    Timeout(Instant),
}

/// Counters and connection state of one session (`/v3/webrtcsessions/list`).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct SessionStats {
    /// ICE and DTLS are up (`peerConnectionEstablished`).
    pub peer_connection_established: bool,
    /// Our address the peer reaches (`localCandidate`, see [`candidate_label`]).
    pub local_candidate: Option<SocketAddr>,
    /// The peer's address (`remoteCandidate`).
    pub remote_candidate: Option<SocketAddr>,
    /// The pair is ICE-TCP rather than UDP.
    pub tcp: bool,
    /// RTCP datagrams (compound packets) received and sent.
    pub rtcp_packets_received: u64,
    pub rtcp_packets_sent: u64,
    /// Ingress: RTP packets never received, from sequence-number gaps.
    pub rtp_packets_lost: u64,
    /// Ingress interarrival jitter (not measured yet: always 0).
    pub rtp_packets_jitter: f64,
    pub rtp_packets_written: u64,
    pub rtp_packets_received: u64,
    /// RTX packets sent in answer to NACKs.
    pub retransmitted_packets: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Datagrams str0m refused (malformed, wrong keys).
    pub rejected_datagrams: u64,
}

/// A selected candidate as MediaMTX labels it: `host/udp/<ip>/<port>` (`host/tcp/...` for
/// ICE-TCP).
pub fn candidate_label(addr: SocketAddr, tcp: bool) -> String {
    let proto = if tcp { "tcp" } else { "udp" };
    format!("host/{proto}/{}/{}", addr.ip(), addr.port())
}

/// Whether a datagram is RTCP (RFC 5761 demultiplexing; SRTCP keeps the header clear).
fn is_rtcp(data: &[u8]) -> bool {
    data.len() >= 8 && (128..192).contains(&data[0]) && (192..224).contains(&data[1])
}

/// Per-track state of an egress session: the header rewrite.
#[derive(Debug)]
struct TrackOut {
    ssrc: Ssrc,
    pt: Pt,
    video: bool,
    next_seq: u64,
    ts_offset: u32,
}

#[derive(Debug)]
enum Direction2 {
    Egress {
        tracks: Vec<Option<TrackOut>>,
        /// Units written but not yet handed to str0m, and how many of the first one's packets
        /// have been (see [`FEED_PACKETS`]).
        pending: VecDeque<EgressItem>,
        fed: usize,
    },
    Ingress {
        mids: Vec<Mid>,
        by_ssrc: HashMap<Ssrc, usize>,
    },
}

/// One WebRTC peer connection.
#[derive(Debug)]
pub struct Session {
    rtc: Rtc,
    dir: Direction2,
    config: SessionConfig,
    local_ufrag: String,
    local: LocalCandidates,
    created: Instant,
    last_received: Instant,
    /// Remote and local address of the last accepted packet, and whether over ICE-TCP.
    last_path: Option<(SocketAddr, SocketAddr, bool)>,
    connected: bool,
    closed: Option<CloseReason>,
    close_reported: bool,
    keyframes: KeyframeGate,
    /// Ingress: when the next periodic keyframe request (PLI) is due.
    next_publisher_keyframe: Option<Instant>,
    /// Payload types of RTX (RFC 4588) retransmissions.
    rtx_pts: Vec<u8>,
    stats: SessionStats,
}

mod accept;

pub use accept::{Accepted, LocalCandidates};

impl Session {
    /// Our ICE ufrag: the UDP mux routes binding requests by it.
    pub fn local_ufrag(&self) -> &str {
        &self.local_ufrag
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Adds a trickled remote candidate (`candidate:...` or `a=candidate:...`).
    pub fn add_remote_candidate(&mut self, line: &str) -> Result<(), SessionError> {
        let line = line.trim().trim_start_matches("a=");
        let c = Candidate::from_sdp_string(line)
            .map_err(|e| SessionError::InvalidCandidate(e.to_string()))?;
        self.rtc.add_remote_candidate(c);
        Ok(())
    }

    /// One UDP datagram from the peer.
    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, data: &[u8]) {
        self.handle_udp(now, source, None, data);
    }

    /// One UDP datagram from the peer, sent to our address `to` when the socket tells
    /// (a socket bound to an unspecified address serves several candidates).
    pub fn handle_udp(
        &mut self,
        now: Instant,
        source: SocketAddr,
        to: Option<std::net::IpAddr>,
        data: &[u8],
    ) {
        let destination = to
            .and_then(|ip| self.local.udp.iter().find(|a| a.ip() == ip).copied())
            .unwrap_or_else(|| self.local.destination_for(source, false));
        self.handle_receive(now, Protocol::Udp, source, destination, data);
    }

    /// One packet from the peer: a UDP datagram, or an ICE-TCP frame (RFC 4571) of the
    /// connection from `source` to our `destination`.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        if self.closed.is_some() {
            return;
        }
        self.stats.bytes_received += data.len() as u64;
        let Ok(contents) = data.try_into() else {
            self.stats.rejected_datagrams += 1;
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto,
                source,
                destination,
                contents,
            },
        );
        if !self.rtc.accepts(&input) {
            self.stats.rejected_datagrams += 1;
            return;
        }
        self.last_received = now;
        if is_rtcp(data) {
            self.stats.rtcp_packets_received += 1;
        }
        let path = (source, destination, proto == Protocol::Tcp);
        if self.last_path != Some(path) {
            self.last_path = Some(path);
            if self.connected {
                self.note_candidates();
            }
        }
        if let Err(e) = self.rtc.handle_input(input) {
            tracing::debug!("rejected datagram from {source}: {e}");
            self.stats.rejected_datagrams += 1;
        }
    }

    fn note_candidates(&mut self) {
        if let Some((remote, local, tcp)) = self.last_path {
            self.stats.remote_candidate = Some(remote);
            self.stats.local_candidate = Some(local);
            self.stats.tcp = tcp;
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed.is_some() {
            return;
        }
        if let Some(due) = self.next_publisher_keyframe
            && now >= due
        {
            self.request_keyframe();
            self.next_publisher_keyframe = Some(now + self.config.publisher_keyframe_interval);
        }
        self.feed();
        if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
            self.close(CloseReason::Error(e.to_string()));
        }
    }

    /// Closes the session; the next [`Session::poll_output`] reports it.
    pub fn close(&mut self, reason: CloseReason) {
        if self.closed.is_none() {
            self.rtc.disconnect();
            self.closed = Some(reason);
        }
        if let Direction2::Egress { pending, fed, .. } = &mut self.dir {
            *pending = VecDeque::new();
            *fed = 0;
        }
    }

    /// Egress: queues one unit for the viewer. Only SSRC, sequence number, timestamp
    /// offset and payload type change; payloads are shared. Dropped before connection.
    /// The packets leave at the next [`Session::handle_timeout`] (one call for all the units
    /// written in a turn) and the [`Session::poll_output`] calls after it.
    pub fn write(&mut self, item: &EgressItem) {
        if !self.connected || self.closed.is_some() {
            return;
        }
        if let Direction2::Egress { pending, .. } = &mut self.dir {
            pending.push_back(item.clone());
        }
    }

    /// Hands str0m the next [`FEED_PACKETS`] pending packets at most; false if there were none.
    fn feed(&mut self) -> bool {
        let Direction2::Egress {
            tracks,
            pending,
            fed,
        } = &mut self.dir
        else {
            return false;
        };
        let mut budget = FEED_PACKETS;
        let mut any = false;
        while budget > 0
            && let Some(item) = pending.front()
        {
            let end = item.packets.len().min(*fed + budget);
            let packets = &item.packets[*fed..end];
            budget -= packets.len();
            any |= !packets.is_empty();
            let mut api = self.rtc.direct_api();
            if let Some(Some(t)) = tracks.get_mut(item.track)
                && let Some(tx) = api.stream_tx(&t.ssrc)
            {
                for p in packets {
                    let seq = t.next_seq;
                    t.next_seq += 1;
                    let write = RtpWrite::new(
                        t.pt,
                        seq.into(),
                        p.timestamp.wrapping_add(t.ts_offset),
                        item.wallclock,
                        p.payload.clone(),
                    )
                    .marker(p.marker)
                    .nackable(t.video);
                    tx.write_rtp(write);
                    self.stats.rtp_packets_written += 1;
                }
            }
            if end == item.packets.len() {
                pending.pop_front();
                *fed = 0;
            } else {
                *fed = end;
            }
        }
        if pending.is_empty() && pending.capacity() > KEPT_PENDING {
            pending.shrink_to(KEPT_PENDING);
        }
        any
    }

    /// Ingress: asks the publisher for a keyframe (PLI) on every video track.
    pub fn request_keyframe(&mut self) {
        let Direction2::Ingress { mids, .. } = &self.dir else {
            return;
        };
        for mid in mids.clone() {
            let video = self
                .rtc
                .media(mid)
                .is_some_and(|m| m.kind() == MediaKind::Video);
            if !video {
                continue;
            }
            // In RTP mode the writer API is off limits; go through the receive stream.
            if let Some(rx) = self.rtc.direct_api().stream_rx_by_mid(mid, None) {
                rx.request_keyframe(KeyframeRequestKind::Pli);
            }
        }
    }

    fn liveness_deadline(&self) -> Instant {
        if self.connected {
            self.last_received + self.config.ice_timeout
        } else {
            self.created + self.config.handshake_timeout
        }
    }

    /// Drives the session: call until it returns [`Output::Timeout`].
    pub fn poll_output(&mut self, now: Instant) -> Output {
        if let Some(reason) = &self.closed {
            if !self.close_reported {
                self.close_reported = true;
                return Output::Event(SessionEvent::Closed(reason.clone()));
            }
            return Output::Timeout(now + Duration::from_secs(3600));
        }
        if now >= self.liveness_deadline() {
            let reason = if self.connected {
                CloseReason::IceTimeout
            } else {
                CloseReason::HandshakeTimeout
            };
            self.close(reason);
            return self.poll_output(now);
        }
        loop {
            let out = match self.rtc.poll_output() {
                Ok(o) => o,
                Err(e) => {
                    self.close(CloseReason::Error(e.to_string()));
                    return self.poll_output(now);
                }
            };
            match out {
                str0m::Output::Timeout(t) => {
                    // The rest of a turn's packets, a feed at a time.
                    if self.feed() {
                        if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
                            self.close(CloseReason::Error(e.to_string()));
                            return self.poll_output(now);
                        }
                        continue;
                    }
                    if !self.rtc.is_alive() {
                        self.close(CloseReason::PeerClosed);
                        return self.poll_output(now);
                    }
                    let mut t = t.min(self.liveness_deadline());
                    if let Some(k) = self.next_publisher_keyframe {
                        t = t.min(k);
                    }
                    return Output::Timeout(t);
                }
                str0m::Output::Transmit(t) => {
                    self.count_transmit(&t);
                    return Output::Transmit(t);
                }
                str0m::Output::Event(e) => {
                    if let Some(ev) = self.handle_event(now, e) {
                        return Output::Event(ev);
                    }
                }
            }
        }
    }

    fn count_transmit(&mut self, t: &Transmit) {
        let data: &[u8] = &t.contents;
        self.stats.bytes_sent += data.len() as u64;
        if is_rtcp(data) {
            self.stats.rtcp_packets_sent += 1;
        }
        // RTP (not RTCP: second byte 192..=223) with an RTX payload type; SRTP leaves
        // the header in the clear.
        if data.len() >= 12 && (128..192).contains(&data[0]) && !(192..224).contains(&data[1]) {
            let pt = data[1] & 0x7f;
            // Padding-only probes also use RTX; only count packets with a payload.
            if self.rtx_pts.contains(&pt) && data[0] & 0x20 == 0 {
                self.stats.retransmitted_packets += 1;
            }
        }
    }

    fn handle_event(&mut self, now: Instant, e: Event) -> Option<SessionEvent> {
        match e {
            Event::Connected => {
                self.connected = true;
                self.stats.peer_connection_established = true;
                self.note_candidates();
                self.last_received = now;
                if matches!(self.dir, Direction2::Ingress { .. }) {
                    self.request_keyframe();
                    self.next_publisher_keyframe =
                        Some(now + self.config.publisher_keyframe_interval);
                }
                Some(SessionEvent::Connected)
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.close(CloseReason::PeerClosed);
                None
            }
            Event::Closed => {
                self.close(CloseReason::PeerClosed);
                None
            }
            Event::KeyframeRequest(_) => self
                .keyframes
                .allow(now)
                .then_some(SessionEvent::KeyframeRequest),
            Event::RtpPacket(p) => self.on_rtp(p),
            _ => None,
        }
    }

    /// Ingress: one packet from the publisher, for the sink (whose ingest puts packets back
    /// in order).
    fn on_rtp(&mut self, p: str0m::rtp::RtpPacket) -> Option<SessionEvent> {
        let Direction2::Ingress { mids, by_ssrc, .. } = &mut self.dir else {
            return None;
        };
        let ssrc = p.header.ssrc;
        let (track, first) = match by_ssrc.get(&ssrc) {
            Some(t) => (*t, false),
            None => {
                let mid = self.rtc.direct_api().stream_rx(&ssrc).map(|s| s.mid())?;
                let t = mids.iter().position(|m| *m == mid)?;
                by_ssrc.insert(ssrc, t);
                (t, true)
            }
        };
        if first {
            // The receive stream exists now: ask for a keyframe to start decoding.
            self.request_keyframe();
        }
        self.stats.rtp_packets_received += 1;
        let packet = rtp::Packet {
            marker: p.header.marker,
            payload_type: *p.header.payload_type,
            sequence_number: p.header.sequence_number,
            timestamp: p.header.timestamp,
            ssrc: *ssrc,
            csrc: Vec::new(),
            extension: None,
            payload: Bytes::from_owner(p.payload),
        };
        Some(SessionEvent::Rtp { track, packet })
    }
}
