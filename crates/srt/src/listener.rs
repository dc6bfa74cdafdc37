//! The listener's side of the HSv5 caller-listener handshake, for any number of callers on
//! one UDP socket.
//!
//! A driver hands it every datagram whose destination socket id is 0 (see
//! [`crate::packet::destination_socket_id`]); everything else goes to the [`Connection`]
//! registered under (peer address, destination socket id).
//!
//! Inductions are answered statelessly with a SYN cookie (HMAC-SHA1 of the peer address
//! and the minute, keyed from the seed; the previous minute is still accepted). A valid
//! conclusion becomes a [`ConnectionRequest`] that waits, holding no more than its
//! handshake, until the driver calls [`Listener::accept`] or [`Listener::reject`] — so
//! authentication may take its time. Repeated conclusions while pending are ignored; once
//! answered they get the same answer again for a while.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha1::Sha1;

use crate::caller::{LIVE_FLAGS, Negotiated, SRT_VERSION};
use crate::config::Settings;
use crate::connection::{Connection, random_socket_id};
use crate::crypto::{CryptoError, StreamCrypto};
use crate::handshake::{
    EXT_HSREQ, EXT_KMREQ, Extension, FLAG_STREAM, FLAG_TSBPDRCV, FLAG_TSBPDSND, Handshake,
    HandshakeType, MAX_STREAM_ID_LEN, SRT_MAGIC, SrtHs, peer_ip_bytes,
};
use crate::key_material::{KeyMaterial, KeyMaterialError};
use crate::packet::{Control, ControlPacket, Packet};
use crate::reject::RejectReason;
use crate::tsbpd::Tsbpd;

/// How long an answered conclusion is remembered to repeat the answer.
const ANSWER_TTL: Duration = Duration::from_secs(10);
/// Datagrams queued for the driver before new ones are dropped.
const MAX_QUEUED: usize = 4096;
/// Answered handshakes remembered at most; beyond, rejections are not remembered (a repeated
/// conclusion is then judged again), so a flood of callers cannot grow memory.
const MAX_REMEMBERED: usize = 1 << 16;
/// Listener events queued before automatic-rejection notices are dropped.
const MAX_EVENTS: usize = 4096;
/// Smallest MTU a caller may announce.
const MIN_MTU: u32 = 576;

/// Listener settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Settings of accepted connections.
    pub settings: Settings,
    /// Requests waiting for a decision before new ones are rejected with
    /// [`RejectReason::Backlog`]. Default 256.
    pub max_pending: usize,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            max_pending: 256,
        }
    }
}

/// A datagram for the driver to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: SocketAddr,
    /// What.
    pub payload: Vec<u8>,
}

/// Identifies a pending request; it is also the socket id the connection will have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub u32);

/// A caller waiting for a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRequest {
    /// Pass to [`Listener::accept`] or [`Listener::reject`].
    pub id: RequestId,
    /// The caller's address.
    pub peer: SocketAddr,
    /// The stream id (empty when none was sent).
    pub stream_id: String,
    /// Key length when the caller encrypts (16, 24 or 32).
    pub key_len: Option<usize>,
    /// The caller's SRT version.
    pub peer_version: u32,
}

/// What the listener tells the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerEvent {
    /// A caller passed the handshake checks and waits for accept or reject.
    Request(ConnectionRequest),
    /// A caller was rejected by the listener itself (bad handshake, backlog...).
    Rejected {
        /// The caller's address.
        peer: SocketAddr,
        /// The code sent.
        reason: RejectReason,
    },
}

/// Why [`Listener::accept`] could not accept. The request stays pending, so the driver
/// can [`Listener::reject`] it with the code of its choice
/// ([`AcceptError::reject_reason`] gives libsrt's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// No such pending request.
    #[error("no pending request {0:?}")]
    UnknownRequest(RequestId),
    /// The caller's key does not unwrap with the passphrase.
    #[error("invalid passphrase")]
    BadPassphrase,
    /// A passphrase is required and the caller does not encrypt.
    #[error("passphrase not provided by client")]
    MissingEncryption,
    /// The caller encrypts and no passphrase is set.
    #[error("client is encrypted but no passphrase is set")]
    UnexpectedEncryption,
    /// Malformed key material or other crypto failure.
    #[error("key material: {0}")]
    Crypto(CryptoError),
}

impl AcceptError {
    /// The rejection code libsrt would send for this.
    pub fn reject_reason(&self) -> RejectReason {
        match self {
            Self::UnknownRequest(_) | Self::Crypto(_) => RejectReason::Rogue,
            Self::BadPassphrase => RejectReason::BadSecret,
            Self::MissingEncryption | Self::UnexpectedEncryption => RejectReason::Unsecure,
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    peer: SocketAddr,
    hs: Handshake,
    timestamp: u32,
    arrival: Instant,
}

#[derive(Debug, Clone)]
enum PeerEntry {
    Pending,
    Answered { response: Vec<u8>, at: Instant },
}

/// The listener state machine.
#[derive(Debug, Clone)]
pub struct Listener {
    config: ListenerConfig,
    epoch: Instant,
    rng: ChaCha20Rng,
    cookie_key: [u8; 32],
    pending: HashMap<RequestId, Pending>,
    peers: HashMap<(SocketAddr, u32), PeerEntry>,
    out: VecDeque<Transmit>,
    events: VecDeque<ListenerEvent>,
    last_cleanup: Instant,
}

impl Listener {
    /// A listener. `seed` keys the cookies and socket ids (give it 32 bytes from the OS).
    pub fn new(now: Instant, config: ListenerConfig, seed: [u8; 32]) -> Self {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let mut cookie_key = [0u8; 32];
        rng.fill_bytes(&mut cookie_key);
        Self {
            config: ListenerConfig {
                settings: config.settings.clamped(),
                ..config
            },
            epoch: now,
            rng,
            cookie_key,
            pending: HashMap::new(),
            peers: HashMap::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            last_cleanup: now,
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ListenerEvent> {
        self.events.pop_front()
    }

    /// Requests waiting for a decision.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn timestamp(&self, now: Instant) -> u32 {
        now.saturating_duration_since(self.epoch).as_micros() as u32
    }

    fn cookie(&self, peer: SocketAddr, minute: u64) -> u32 {
        let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(&self.cookie_key) else {
            return 0;
        };
        match peer.ip() {
            std::net::IpAddr::V4(v4) => mac.update(&v4.octets()),
            std::net::IpAddr::V6(v6) => mac.update(&v6.octets()),
        }
        mac.update(&peer.port().to_be_bytes());
        mac.update(&minute.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        u32::from_be_bytes([tag[0], tag[1], tag[2], tag[3]])
    }

    fn minute(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_secs() / 60
    }

    fn send(&mut self, destination: SocketAddr, payload: Vec<u8>) {
        if self.out.len() >= MAX_QUEUED {
            tracing::warn!("SRT listener transmit queue full, dropping a datagram");
            return;
        }
        self.out.push_back(Transmit {
            destination,
            payload,
        });
    }

    fn cleanup(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_cleanup) < Duration::from_secs(1)
            && self.peers.len() < MAX_REMEMBERED
        {
            return;
        }
        self.last_cleanup = now;
        self.peers.retain(|_, e| match e {
            PeerEntry::Pending => true,
            PeerEntry::Answered { at, .. } => now.saturating_duration_since(*at) < ANSWER_TTL,
        });
    }

    /// Handles a datagram addressed to socket id 0 (a connection request).
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.cleanup(now);
        let c = match Packet::parse(datagram) {
            Ok(Packet::Control(c)) => c,
            Ok(Packet::Data(_)) => return,
            Err(e) => {
                tracing::debug!(peer = %from, error = %e, "malformed SRT handshake");
                return;
            }
        };
        let Control::Handshake(hs) = c.control else {
            return;
        };
        match hs.kind {
            HandshakeType::Induction => self.on_induction(now, from, hs),
            HandshakeType::Conclusion => self.on_conclusion(now, from, c.timestamp, hs),
            other => tracing::debug!(peer = %from, kind = ?other, "unexpected SRT handshake"),
        }
    }

    fn on_induction(&mut self, now: Instant, from: SocketAddr, req: Handshake) {
        let rsp = Handshake {
            version: 5,
            encryption: 0,
            extension_field: SRT_MAGIC,
            syn_cookie: self.cookie(from, self.minute(now)),
            peer_ip: peer_ip_bytes(from.ip()),
            extensions: Vec::new(),
            ..req
        };
        let p = Packet::Control(ControlPacket {
            timestamp: self.timestamp(now),
            dest_socket_id: rsp.socket_id,
            control: Control::Handshake(rsp),
        });
        self.send(from, p.to_bytes());
    }

    fn reject_now(
        &mut self,
        now: Instant,
        from: SocketAddr,
        req: &Handshake,
        reason: RejectReason,
    ) {
        tracing::debug!(peer = %from, %reason, "SRT handshake rejected");
        let rsp = self.rejection(now, req, 0, reason);
        self.remember(now, (from, req.socket_id), &rsp, false);
        self.send(from, rsp);
        if self.events.len() < MAX_EVENTS {
            self.events
                .push_back(ListenerEvent::Rejected { peer: from, reason });
        }
    }

    /// Remembers the answer to a conclusion so a repeat gets it again. Acceptances always
    /// are (a repeat must not open a second connection); rejections only while there is room.
    fn remember(&mut self, now: Instant, key: (SocketAddr, u32), response: &[u8], must: bool) {
        if !must && self.peers.len() >= MAX_REMEMBERED {
            self.cleanup(now);
            if self.peers.len() >= MAX_REMEMBERED {
                return;
            }
        }
        self.peers.insert(
            key,
            PeerEntry::Answered {
                response: response.to_vec(),
                at: now,
            },
        );
    }

    fn rejection(
        &self,
        now: Instant,
        req: &Handshake,
        local_id: u32,
        reason: RejectReason,
    ) -> Vec<u8> {
        let rsp = Handshake {
            kind: HandshakeType::Rejection(reason.code()),
            socket_id: local_id,
            extensions: Vec::new(),
            ..req.clone()
        };
        Packet::Control(ControlPacket {
            timestamp: self.timestamp(now),
            dest_socket_id: req.socket_id,
            control: Control::Handshake(rsp),
        })
        .to_bytes()
    }

    fn check(&self, now: Instant, from: SocketAddr, hs: &Handshake) -> Result<(), RejectReason> {
        if hs.version < 5 {
            return Err(RejectReason::Version);
        }
        let minute = self.minute(now);
        let valid = [minute, minute.saturating_sub(1)]
            .iter()
            .any(|m| self.cookie(from, *m) == hs.syn_cookie);
        if !valid {
            return Err(RejectReason::Rogue);
        }
        let Some(req) = hs.hs_req() else {
            return Err(RejectReason::Rogue);
        };
        for ext in &hs.extensions {
            match ext {
                Extension::Congestion(cc) if cc != "live" => return Err(RejectReason::Congestion),
                Extension::Filter(_) => return Err(RejectReason::Filter),
                Extension::Group(_) => return Err(RejectReason::Group),
                Extension::StreamId(s) if s.len() > MAX_STREAM_ID_LEN => {
                    return Err(RejectReason::Rogue);
                }
                _ => {}
            }
        }
        if req.flags & FLAG_STREAM != 0 {
            return Err(RejectReason::MessageApi);
        }
        if req.flags & (FLAG_TSBPDSND | FLAG_TSBPDRCV) == 0 {
            return Err(RejectReason::MessageApi);
        }
        if hs.mtu < MIN_MTU {
            return Err(RejectReason::Rogue);
        }
        if let Some(km) = hs.km_req() {
            match KeyMaterial::parse(km) {
                Ok(_) => {}
                Err(KeyMaterialError::UnsupportedCipher(_)) => return Err(RejectReason::Crypto),
                Err(_) => return Err(RejectReason::Rogue),
            }
        }
        if self.pending.len() >= self.config.max_pending {
            return Err(RejectReason::Backlog);
        }
        Ok(())
    }

    fn on_conclusion(&mut self, now: Instant, from: SocketAddr, timestamp: u32, hs: Handshake) {
        match self.peers.get(&(from, hs.socket_id)) {
            Some(PeerEntry::Pending) => return,
            Some(PeerEntry::Answered { response, .. }) => {
                let r = response.clone();
                self.send(from, r);
                return;
            }
            None => {}
        }
        if let Err(reason) = self.check(now, from, &hs) {
            self.reject_now(now, from, &hs, reason);
            return;
        }
        let mut id = random_socket_id(&mut self.rng);
        while self.pending.contains_key(&RequestId(id)) {
            id = random_socket_id(&mut self.rng);
        }
        let id = RequestId(id);
        let key_len = hs
            .km_req()
            .and_then(|km| KeyMaterial::parse(km).ok())
            .map(|km| km.key_len);
        let request = ConnectionRequest {
            id,
            peer: from,
            stream_id: hs.stream_id().unwrap_or_default().to_owned(),
            key_len,
            peer_version: hs.hs_req().map(|h| h.version).unwrap_or_default(),
        };
        self.peers.insert((from, hs.socket_id), PeerEntry::Pending);
        self.pending.insert(
            id,
            Pending {
                peer: from,
                hs,
                timestamp,
                arrival: now,
            },
        );
        self.events.push_back(ListenerEvent::Request(request));
    }

    /// Accepts a pending request, with the passphrase its path requires (if any). On
    /// success the returned connection has the conclusion response queued: register it
    /// under (peer, its local socket id) and drain its transmits.
    pub fn accept(
        &mut self,
        now: Instant,
        id: RequestId,
        passphrase: Option<&str>,
    ) -> Result<Connection, AcceptError> {
        let p = self
            .pending
            .get(&id)
            .ok_or(AcceptError::UnknownRequest(id))?;
        let crypto = match (p.hs.km_req(), passphrase) {
            (None, None) => None,
            (Some(_), None) => return Err(AcceptError::UnexpectedEncryption),
            (None, Some(_)) => return Err(AcceptError::MissingEncryption),
            (Some(km), Some(pass)) => match StreamCrypto::from_key_material(pass, km) {
                Ok(c) => Some(c),
                Err(CryptoError::BadSecret) => return Err(AcceptError::BadPassphrase),
                Err(e) => return Err(AcceptError::Crypto(e)),
            },
        };
        let Some(p) = self.pending.remove(&id) else {
            return Err(AcceptError::UnknownRequest(id));
        };
        let s = self.config.settings.clone();
        let req = p.hs.hs_req().copied().unwrap_or(SrtHs {
            version: 0,
            flags: 0,
            recv_delay_ms: 0,
            send_delay_ms: 0,
        });
        // Our receiving latency: the larger of ours and what the caller proposes for us.
        let recv_ms = s.latency_ms().max(req.send_delay_ms);
        let send_ms = s.peer_latency_ms().max(req.recv_delay_ms);
        let mtu = s.mtu.min(p.hs.mtu);
        let mut extensions = vec![Extension::HsRsp(SrtHs {
            version: SRT_VERSION,
            flags: LIVE_FLAGS,
            recv_delay_ms: recv_ms,
            send_delay_ms: send_ms,
        })];
        let mut extension_field = EXT_HSREQ;
        if let Some(c) = &crypto {
            extension_field |= EXT_KMREQ;
            extensions.push(Extension::KmRsp(c.key_material().to_vec()));
        }
        let rsp = Handshake {
            version: 5,
            encryption: p.hs.encryption,
            extension_field,
            initial_seq: p.hs.initial_seq,
            mtu,
            flow_window: s.flow_window,
            kind: HandshakeType::Conclusion,
            socket_id: id.0,
            syn_cookie: p.hs.syn_cookie,
            peer_ip: peer_ip_bytes(p.peer.ip()),
            extensions,
        };
        // The connection's clock starts when the conclusion arrived.
        let response = Packet::Control(ControlPacket {
            timestamp: now.saturating_duration_since(p.arrival).as_micros() as u32,
            dest_socket_id: p.hs.socket_id,
            control: Control::Handshake(rsp),
        })
        .to_bytes();
        self.remember(now, (p.peer, p.hs.socket_id), &response, true);
        let recv_latency = Duration::from_millis(u64::from(recv_ms));
        let neg = Negotiated {
            peer_id: p.hs.socket_id,
            initial_seq: p.hs.initial_seq,
            recv_latency,
            send_latency: Duration::from_millis(u64::from(send_ms)),
            max_payload: s.max_payload.min(Settings::mtu_payload(mtu)),
            crypto,
            stream_id: p.hs.stream_id().unwrap_or_default().to_owned(),
        };
        let tsbpd = Tsbpd::new(p.arrival, p.arrival, p.timestamp, recv_latency);
        tracing::debug!(peer = %p.peer, socket = id.0, "SRT connection accepted");
        Ok(Connection::accepted(
            now, p.arrival, s, id.0, neg, tsbpd, response,
        ))
    }

    /// Rejects a pending request with `reason`.
    pub fn reject(&mut self, now: Instant, id: RequestId, reason: RejectReason) {
        let Some(p) = self.pending.remove(&id) else {
            return;
        };
        tracing::debug!(peer = %p.peer, %reason, "SRT connection rejected");
        let rsp = self.rejection(now, &p.hs, id.0, reason);
        self.peers.remove(&(p.peer, p.hs.socket_id));
        self.remember(now, (p.peer, p.hs.socket_id), &rsp, false);
        self.send(p.peer, rsp);
    }
}
