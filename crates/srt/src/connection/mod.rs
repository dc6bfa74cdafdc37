//! One SRT connection in live mode, either side: a sans-IO state machine.
//!
//! Feed it with [`Connection::handle_datagram`] and [`Connection::handle_timeout`]; drain
//! [`Connection::poll_transmit`] and [`Connection::poll_event`]; sleep until
//! [`Connection::poll_timeout`]. Data goes out with [`Connection::send`].
//!
//! Receiving: packets are stored by sequence number, gaps are NAKed at once and then
//! periodically, full ACKs go out every 10 ms (light ACKs every 64 packets), ACKACKs give
//! the RTT, and payloads are released in order at their TSBPD time; a hole whose
//! successor is due is skipped (too-late drop). Sending: packets are kept in a bounded
//! buffer until acknowledged or too old, NAKed ones are retransmitted, and a NAK for a
//! packet no longer held gets a DROPREQ. Keepalives go out after 1 s of silence; the peer
//! is declared gone after the idle timeout.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::caller::{CallerHandshake, HANDSHAKE_RESEND, Negotiated, Step};
use crate::config::{CallerConfig, ConfigError, Settings};
use crate::crypto::StreamCrypto;
use crate::packet::{AckRates, Control, ControlPacket, Packet};
use crate::receive_buffer::ReceiveBuffer;
use crate::reject::RejectReason;
use crate::rtt::Rtt;
use crate::send_buffer::SendBuffer;
use crate::seq::{MsgNumber, SeqNumber};
use crate::stats::Stats;
use crate::tsbpd::Tsbpd;

mod receiver;
mod sender;

/// Full ACK period (the "SYN" interval).
const ACK_PERIOD: Duration = Duration::from_millis(10);
/// Packets between light ACKs.
const LIGHT_ACK_PACKETS: u32 = 64;
/// Silence after which a keepalive goes out.
const KEEPALIVE_PERIOD: Duration = Duration::from_secs(1);
/// Full ACKs remembered to match ACKACKs.
const ACK_HISTORY: usize = 64;
/// Datagrams queued for the driver before new ones are dropped.
const MAX_QUEUED_DATAGRAMS: usize = 1 << 16;
/// Events queued for the application before the oldest data is dropped.
const MAX_QUEUED_EVENTS: usize = 1 << 16;
/// KM state "bad secret" / "no secret" in a one-word KMRSP.
const KM_S_BADSECRET: u32 = 4;
const KM_S_NOSECRET: u32 = 3;

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer sent SHUTDOWN.
    Shutdown,
    /// [`Connection::close`] was called.
    Local,
    /// Nothing heard from the peer for the idle timeout.
    PeerIdle,
    /// The caller's handshake got no answer in time.
    ConnectTimeout,
    /// The handshake was refused (by the listener, or locally after its answer).
    Rejected(RejectReason),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Shutdown => f.write_str("closed by peer"),
            Self::Local => f.write_str("closed"),
            Self::PeerIdle => f.write_str("peer idle timeout"),
            Self::ConnectTimeout => f.write_str("connection timed out"),
            Self::Rejected(r) => write!(f, "rejected: {r}"),
        }
    }
}

/// What the application learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake finished; the stream id the caller sent (empty when none).
    Connected {
        /// The stream id.
        stream_id: String,
    },
    /// A payload, in order, at its delivery time.
    Data(Bytes),
    /// This many packets were given up on (too late, or dropped by the sender) between the
    /// payload before and the one after: a reader drops what it was assembling.
    Gap(u32),
    /// The connection is over; nothing more will happen.
    Closed(CloseReason),
}

/// Why [`Connection::send`] refused a payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The handshake has not finished.
    #[error("not connected yet")]
    NotConnected,
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
    /// Live mode sends one packet per message.
    #[error("payload of {len} bytes exceeds the {max}-byte maximum")]
    TooLarge {
        /// Offered length.
        len: usize,
        /// Largest accepted.
        max: usize,
    },
}

/// State of an established connection.
#[derive(Debug, Clone)]
struct Link {
    peer_id: u32,
    stream_id: String,
    crypto: Option<StreamCrypto>,
    max_payload: usize,
    send: SendBuffer,
    next_msg: MsgNumber,
    send_latency: Duration,
    recv: ReceiveBuffer,
    tsbpd: Tsbpd,
    ack_number: u32,
    sent_acks: VecDeque<(u32, Instant, SeqNumber)>,
    last_full_ack: Option<(SeqNumber, Instant)>,
    ackacked: SeqNumber,
    since_light_ack: u32,
    next_ack: Instant,
    next_nak: Instant,
    rtt: Rtt,
    rate_packets: u32,
    rate_bytes: u64,
    rate_since: Instant,
    rates: AckRates,
    /// When data (new or retransmitted) last went out, for the tail-loss probe.
    last_data_sent: Instant,
}

#[derive(Debug, Clone)]
enum State {
    Connecting(Box<CallerHandshake>),
    Connected(Box<Link>),
    Closed,
}

/// An SRT connection.
#[derive(Debug, Clone)]
pub struct Connection {
    settings: Settings,
    epoch: Instant,
    local_id: u32,
    state: State,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    stats: Stats,
    last_sent: Instant,
    last_recv: Instant,
}

/// A socket id as libsrt makes them: random, non-zero, below 2^30.
pub(crate) fn random_socket_id(rng: &mut impl RngCore) -> u32 {
    (rng.next_u32() & 0x3FFF_FFFF).max(1)
}

impl Connection {
    /// Starts a caller's handshake towards `remote`. `seed` feeds the socket id, initial
    /// sequence number and stream key (give it 32 bytes from the OS).
    pub fn connect(
        now: Instant,
        remote: SocketAddr,
        config: CallerConfig,
        seed: [u8; 32],
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut rng = ChaCha20Rng::from_seed(seed);
        let local_id = random_socket_id(&mut rng);
        let isn = SeqNumber::new(rng.next_u32());
        let isn = config.initial_seq.map(SeqNumber::new).unwrap_or(isn);
        let crypto = match &config.passphrase {
            Some(p) => Some(StreamCrypto::generate(p, config.key_len, &mut rng)?),
            None => None,
        };
        let settings = config.settings.clone().clamped();
        let hs = CallerHandshake::new(
            now,
            remote,
            CallerConfig {
                settings: settings.clone(),
                ..config
            },
            local_id,
            isn,
            crypto,
        );
        let mut me = Self::new(now, settings, local_id, State::Connecting(Box::new(hs)));
        me.handle_timeout(now);
        Ok(me)
    }

    fn new(epoch: Instant, settings: Settings, local_id: u32, state: State) -> Self {
        Self {
            settings,
            epoch,
            local_id,
            state,
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            last_sent: epoch,
            last_recv: epoch,
        }
    }

    /// A listener-side connection, its conclusion response queued.
    pub(crate) fn accepted(
        now: Instant,
        epoch: Instant,
        settings: Settings,
        local_id: u32,
        neg: Negotiated,
        tsbpd: Tsbpd,
        response: Vec<u8>,
    ) -> Self {
        let mut me = Self::new(epoch, settings, local_id, State::Closed);
        me.establish(now, neg, tsbpd);
        me.out.push_back(response);
        me.last_sent = now;
        me.last_recv = now;
        me
    }

    fn establish(&mut self, now: Instant, neg: Negotiated, tsbpd: Tsbpd) {
        let s = &self.settings;
        self.events.push_back(Event::Connected {
            stream_id: neg.stream_id.clone(),
        });
        self.state = State::Connected(Box::new(Link {
            peer_id: neg.peer_id,
            stream_id: neg.stream_id,
            crypto: neg.crypto,
            max_payload: neg.max_payload,
            send: SendBuffer::new(neg.initial_seq, s.send_buffer_packets),
            next_msg: MsgNumber::new(1),
            send_latency: neg.send_latency,
            recv: ReceiveBuffer::new(neg.initial_seq, s.recv_buffer_packets),
            tsbpd,
            ack_number: 0,
            sent_acks: VecDeque::with_capacity(ACK_HISTORY),
            last_full_ack: None,
            ackacked: neg.initial_seq,
            since_light_ack: 0,
            next_ack: now + ACK_PERIOD,
            next_nak: now,
            rtt: Rtt::default(),
            rate_packets: 0,
            rate_bytes: 0,
            rate_since: now,
            rates: AckRates {
                packet_rate: 0,
                link_capacity: 0,
                byte_rate: 0,
            },
            last_data_sent: now,
        }));
    }

    /// Our socket id: the destination of every packet the peer sends us.
    pub fn local_socket_id(&self) -> u32 {
        self.local_id
    }

    /// The peer's socket id, once connected.
    pub fn peer_socket_id(&self) -> Option<u32> {
        match &self.state {
            State::Connected(l) => Some(l.peer_id),
            _ => None,
        }
    }

    /// The stream id, once connected.
    pub fn stream_id(&self) -> Option<&str> {
        match &self.state {
            State::Connected(l) => Some(&l.stream_id),
            _ => None,
        }
    }

    /// Whether the handshake finished and the connection is not closed.
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected(_))
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Whether payloads are encrypted.
    pub fn is_encrypted(&self) -> bool {
        matches!(&self.state, State::Connected(l) if l.crypto.is_some())
    }

    /// Counters and gauges.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        if let State::Connected(l) = &self.state {
            s.rtt = l.rtt.rtt();
            s.send_buffer_packets = l.send.len() as u64;
            s.send_buffer_bytes = l.send.bytes() as u64;
            s.receive_buffer_packets = l.recv.len() as u64;
            s.receive_buffer_available = l.recv.available() as u64;
            s.receive_latency = l.tsbpd.latency();
            s.send_latency = l.send_latency;
            s.max_payload = l.max_payload as u64;
        }
        s
    }

    /// The next datagram to send to the peer.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn timestamp(&self, now: Instant) -> u32 {
        // Microseconds since our start, wrapping at 2^32 as on the wire.
        now.saturating_duration_since(self.epoch).as_micros() as u32
    }

    fn queue(&mut self, now: Instant, p: &Packet) {
        if self.out.len() >= MAX_QUEUED_DATAGRAMS {
            tracing::warn!(
                conn = self.local_id,
                "SRT transmit queue full, dropping a datagram"
            );
            return;
        }
        self.out.push_back(p.to_bytes());
        self.last_sent = now;
    }

    fn queue_control(&mut self, now: Instant, dest: u32, control: Control) {
        let p = Packet::Control(ControlPacket {
            timestamp: self.timestamp(now),
            dest_socket_id: dest,
            control,
        });
        self.queue(now, &p);
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() >= MAX_QUEUED_EVENTS {
            self.events.pop_front();
            self.stats.packets_received_drop += 1;
        }
        self.events.push_back(e);
    }

    fn finish(&mut self, reason: CloseReason) {
        if !self.is_closed() {
            tracing::debug!(conn = self.local_id, %reason, "SRT connection closed");
            self.state = State::Closed;
            self.events.push_back(Event::Closed(reason));
        }
    }

    /// Closes the connection, telling the peer.
    pub fn close(&mut self, now: Instant) {
        if let State::Connected(l) = &self.state {
            let peer = l.peer_id;
            self.queue_control(now, peer, Control::Shutdown);
        }
        self.finish(CloseReason::Local);
    }

    /// Handles one datagram from the peer.
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        if self.is_closed() {
            return;
        }
        let packet = match Packet::parse(datagram) {
            Ok(p) => p,
            Err(e) => {
                self.stats.packets_received_malformed += 1;
                tracing::debug!(conn = self.local_id, error = %e, "malformed SRT packet");
                return;
            }
        };
        let dest = match &packet {
            Packet::Data(d) => d.dest_socket_id,
            Packet::Control(c) => c.dest_socket_id,
        };
        if dest != self.local_id {
            tracing::trace!(conn = self.local_id, dest, "SRT packet for another socket");
            return;
        }
        self.last_recv = now;
        match packet {
            Packet::Data(d) => self.on_data(now, d),
            Packet::Control(c) => self.on_control(now, c),
        }
        self.deliver(now);
    }

    fn on_control(&mut self, now: Instant, c: ControlPacket) {
        if let State::Connecting(hs) = &mut self.state {
            let Control::Handshake(h) = &c.control else {
                return;
            };
            let ts = now.saturating_duration_since(self.epoch).as_micros() as u32;
            match hs.on_handshake(now, ts, h) {
                Step::Send(p) => self.queue(now, &p),
                Step::Connected(neg) => {
                    let tsbpd = Tsbpd::new(self.epoch, now, c.timestamp, neg.recv_latency);
                    self.establish(now, *neg, tsbpd);
                }
                Step::Failed(reason, p) => {
                    if let Some(p) = p {
                        self.queue(now, &p);
                    }
                    self.finish(CloseReason::Rejected(reason));
                }
                Step::Ignore => {}
            }
            return;
        }
        let State::Connected(link) = &mut self.state else {
            return;
        };
        let peer = link.peer_id;
        match c.control {
            Control::Ack(ack) => {
                self.stats.packets_received_ack += 1;
                if ack.number != 0 {
                    self.queue_control(now, peer, Control::AckAck(ack.number));
                }
                let State::Connected(link) = &mut self.state else {
                    return;
                };
                if let Some(s) = ack.stats {
                    link.rtt.on_report(s.rtt, s.rtt_var);
                }
                link.send.acknowledge(ack.last_ack);
            }
            Control::AckAck(number) => {
                if let Some(pos) = link.sent_acks.iter().position(|(n, ..)| *n == number) {
                    let (_, sent, seq) = link.sent_acks[pos];
                    link.sent_acks.drain(..=pos);
                    let sample = now.saturating_duration_since(sent).as_micros();
                    link.rtt
                        .on_sample(u32::try_from(sample).unwrap_or(u32::MAX));
                    link.tsbpd.on_ackack(now, c.timestamp);
                    if seq.diff(link.ackacked) > 0 {
                        link.ackacked = seq;
                    }
                }
            }
            Control::Nak(ranges) => {
                self.stats.packets_received_nak += 1;
                self.on_nak(now, &ranges);
            }
            Control::DropRequest { first, last, .. } => {
                // Counted when the delivery point passes them.
                link.recv.drop_range(first, last);
            }
            Control::Shutdown => self.finish(CloseReason::Shutdown),
            Control::KeyMaterialRequest(km) => {
                self.stats.packets_received_km += 1;
                let reply = match &mut link.crypto {
                    Some(crypto) => match crypto.apply_key_material(&km) {
                        Ok(()) => km,
                        Err(e) => {
                            tracing::warn!(conn = self.local_id, error = %e, "SRT key refresh failed");
                            KM_S_BADSECRET.to_be_bytes().to_vec()
                        }
                    },
                    None => KM_S_NOSECRET.to_be_bytes().to_vec(),
                };
                self.stats.packets_sent_km += 1;
                self.queue_control(now, peer, Control::KeyMaterialResponse(reply));
            }
            Control::KeepAlive
            | Control::Handshake(_)
            | Control::KeyMaterialResponse(_)
            | Control::CongestionWarning
            | Control::PeerError(_)
            | Control::Unknown { .. } => {}
        }
    }

    /// When [`Connection::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Closed => None,
            State::Connecting(hs) => Some(hs.deadline.min(hs.next_send)),
            State::Connected(l) => {
                let mut t = (self.last_recv + self.settings.peer_idle_timeout)
                    .min(self.last_sent + KEEPALIVE_PERIOD);
                let mut consider = |x: Option<Instant>| {
                    if let Some(x) = x {
                        t = t.min(x);
                    }
                };
                consider(l.recv.next_release(&l.tsbpd));
                consider(l.send.next_drop(Self::drop_threshold(l.send_latency)));
                if !l.send.is_empty() {
                    consider(Some(l.last_data_sent + Self::tail_timeout(&l.rtt)));
                }
                if l.recv.ack_seq() != l.ackacked {
                    consider(Some(l.next_ack));
                }
                if l.recv.has_loss() {
                    consider(Some(l.next_nak));
                }
                Some(t)
            }
        }
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let ts = self.timestamp(now);
        match &mut self.state {
            State::Closed => {}
            State::Connecting(hs) => {
                if now >= hs.deadline {
                    self.finish(CloseReason::ConnectTimeout);
                } else if now >= hs.next_send {
                    hs.next_send = now + HANDSHAKE_RESEND;
                    let p = hs.request(ts);
                    self.queue(now, &p);
                }
            }
            State::Connected(_) => {
                if now >= self.last_recv + self.settings.peer_idle_timeout {
                    self.finish(CloseReason::PeerIdle);
                    return;
                }
                self.deliver(now);
                self.sender_drop(now);
                self.tail_probe(now);
                self.ack_timer(now);
                self.nak_timer(now);
                if now >= self.last_sent + KEEPALIVE_PERIOD
                    && let State::Connected(l) = &self.state
                {
                    let peer = l.peer_id;
                    self.queue_control(now, peer, Control::KeepAlive);
                }
            }
        }
    }
}
