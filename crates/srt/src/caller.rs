//! The caller's side of the HSv5 caller-listener handshake: induction request, then a
//! conclusion request with the listener's cookie and the HSREQ, SID and KMREQ extensions,
//! repeated every 250 ms (as libsrt) until the listener answers or the connect timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::config::{CallerConfig, Settings};
use crate::crypto::StreamCrypto;
use crate::handshake::{
    EXT_CONFIG, EXT_HSREQ, EXT_KMREQ, Extension, FLAG_CRYPT, FLAG_PERIODICNAK, FLAG_REXMITFLG,
    FLAG_TLPKTDROP, FLAG_TSBPDRCV, FLAG_TSBPDSND, Handshake, HandshakeType, SRT_MAGIC, SrtHs,
    peer_ip_bytes,
};
use crate::packet::{Control, ControlPacket, Packet};
use crate::reject::RejectReason;
use crate::seq::SeqNumber;

/// SRT version we announce (1.5.1, what Debian's libsrt speaks).
pub const SRT_VERSION: u32 = 0x0001_0501;
/// The HSREQ/HSRSP flags of a live-mode peer.
pub const LIVE_FLAGS: u32 =
    FLAG_TSBPDSND | FLAG_TSBPDRCV | FLAG_CRYPT | FLAG_TLPKTDROP | FLAG_PERIODICNAK | FLAG_REXMITFLG;
/// How often an unanswered handshake request is repeated.
pub const HANDSHAKE_RESEND: Duration = Duration::from_millis(250);

/// KM states a one-word KMRSP may carry.
const KM_S_UNSECURED: u32 = 0;
const KM_S_NOSECRET: u32 = 3;
const KM_S_BADSECRET: u32 = 4;

/// What the handshake settled on.
#[derive(Debug, Clone)]
pub(crate) struct Negotiated {
    pub peer_id: u32,
    pub initial_seq: SeqNumber,
    pub recv_latency: Duration,
    pub send_latency: Duration,
    pub max_payload: usize,
    pub crypto: Option<StreamCrypto>,
    pub stream_id: String,
}

/// The outcome of a handshake packet.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send this now.
    Send(Packet),
    /// Done.
    Connected(Box<Negotiated>),
    /// Refused; send the packet if any (a SHUTDOWN to a listener that accepted).
    Failed(RejectReason, Option<Packet>),
    /// Not for us, or a duplicate.
    Ignore,
}

/// The caller's handshake in progress.
#[derive(Debug, Clone)]
pub(crate) struct CallerHandshake {
    config: CallerConfig,
    remote: SocketAddr,
    local_id: u32,
    initial_seq: SeqNumber,
    crypto: Option<StreamCrypto>,
    cookie: Option<u32>,
    pub deadline: Instant,
    pub next_send: Instant,
}

impl CallerHandshake {
    pub fn new(
        now: Instant,
        remote: SocketAddr,
        config: CallerConfig,
        local_id: u32,
        initial_seq: SeqNumber,
        crypto: Option<StreamCrypto>,
    ) -> Self {
        Self {
            deadline: now + config.connect_timeout.min(Duration::from_secs(86_400)),
            next_send: now,
            config,
            remote,
            local_id,
            initial_seq,
            crypto,
            cookie: None,
        }
    }

    fn base(&self, kind: HandshakeType) -> Handshake {
        let s = &self.config.settings;
        Handshake {
            version: 5,
            encryption: 0,
            extension_field: 0,
            initial_seq: self.initial_seq,
            mtu: s.mtu,
            flow_window: s.flow_window,
            kind,
            socket_id: self.local_id,
            syn_cookie: 0,
            peer_ip: peer_ip_bytes(self.remote.ip()),
            extensions: Vec::new(),
        }
    }

    /// The request to (re)send now: induction until a cookie is known, then conclusion.
    pub fn request(&self, timestamp: u32) -> Packet {
        let hs = match self.cookie {
            None => Handshake {
                version: 4,
                extension_field: 2,
                ..self.base(HandshakeType::Induction)
            },
            Some(cookie) => {
                let s = &self.config.settings;
                let mut hs = self.base(HandshakeType::Conclusion);
                hs.syn_cookie = cookie;
                hs.extension_field = EXT_HSREQ;
                hs.extensions.push(Extension::HsReq(SrtHs {
                    version: SRT_VERSION,
                    flags: LIVE_FLAGS,
                    recv_delay_ms: s.latency_ms(),
                    send_delay_ms: s.peer_latency_ms(),
                }));
                if let Some(sid) = &self.config.stream_id {
                    hs.extension_field |= EXT_CONFIG;
                    hs.extensions.push(Extension::StreamId(sid.clone()));
                }
                if let Some(c) = &self.crypto {
                    hs.extension_field |= EXT_KMREQ;
                    hs.encryption = u16::try_from(c.key_len() / 8).unwrap_or(2);
                    hs.extensions
                        .push(Extension::KmReq(c.key_material().to_vec()));
                }
                hs
            }
        };
        Packet::Control(ControlPacket {
            timestamp,
            dest_socket_id: 0,
            control: Control::Handshake(hs),
        })
    }

    /// Handles a handshake addressed to us.
    pub fn on_handshake(&mut self, now: Instant, timestamp: u32, hs: &Handshake) -> Step {
        match hs.kind {
            HandshakeType::Rejection(code) => Step::Failed(RejectReason::from_code(code), None),
            HandshakeType::Induction if self.cookie.is_none() => {
                if hs.version < 5 {
                    return Step::Failed(RejectReason::Version, None);
                }
                if hs.extension_field != SRT_MAGIC {
                    return Step::Failed(RejectReason::Rogue, None);
                }
                self.cookie = Some(hs.syn_cookie);
                self.next_send = now + HANDSHAKE_RESEND;
                Step::Send(self.request(timestamp))
            }
            HandshakeType::Conclusion if self.cookie.is_some() => self.on_conclusion(hs),
            _ => Step::Ignore,
        }
    }

    fn on_conclusion(&mut self, hs: &Handshake) -> Step {
        let shutdown = Some(Packet::Control(ControlPacket {
            timestamp: 0,
            dest_socket_id: hs.socket_id,
            control: Control::Shutdown,
        }));
        let Some(rsp) = hs.hs_rsp() else {
            return Step::Failed(RejectReason::Rogue, shutdown);
        };
        let crypto = match (self.crypto.take(), hs.km_rsp()) {
            (None, None) => None,
            (Some(c), Some(km)) if km == c.key_material() => Some(c),
            (Some(_), Some(km)) if km.len() == 4 => {
                let state = u32::from_be_bytes([km[0], km[1], km[2], km[3]]);
                let reason = match state {
                    KM_S_BADSECRET => RejectReason::BadSecret,
                    KM_S_NOSECRET | KM_S_UNSECURED => RejectReason::Unsecure,
                    _ => RejectReason::Crypto,
                };
                return Step::Failed(reason, shutdown);
            }
            (Some(_), Some(_)) => return Step::Failed(RejectReason::BadSecret, shutdown),
            (Some(_), None) | (None, Some(_)) => {
                return Step::Failed(RejectReason::Unsecure, shutdown);
            }
        };
        let s = &self.config.settings;
        let mtu = s.mtu.min(hs.mtu);
        Step::Connected(Box::new(Negotiated {
            peer_id: hs.socket_id,
            initial_seq: self.initial_seq,
            // HSRSP is from the listener's view: its receiving is our sending.
            recv_latency: Duration::from_millis(u64::from(rsp.send_delay_ms)).max(s.latency),
            send_latency: Duration::from_millis(u64::from(rsp.recv_delay_ms)).max(s.peer_latency),
            max_payload: s.max_payload.min(Settings::mtu_payload(mtu)),
            crypto,
            stream_id: self.config.stream_id.clone().unwrap_or_default(),
        }))
    }
}
