//! The handshake control information field and its HSv5 extensions
//! (draft-sharabayko-srt "Handshake", "Handshake Extension Message", "Stream ID").
//!
//! Wire quirks of libsrt kept here: string extensions (stream id, congestion controller,
//! packet filter) travel as little-endian 32-bit words, i.e. each group of four bytes is
//! reversed; key material travels in its natural byte order; the peer IP is a host-order
//! `in_addr` per word, so 127.0.0.1 is `01 00 00 7f`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::seq::SeqNumber;

/// Size of the fixed part of the handshake CIF.
pub const HANDSHAKE_LEN: usize = 48;
/// The value a listener puts in the extension field of its induction response.
pub const SRT_MAGIC: u16 = 0x4A17;
/// Longest stream id the draft allows (512 bytes).
pub const MAX_STREAM_ID_LEN: usize = 512;

/// Extension-field flag: the handshake carries HSREQ/HSRSP.
pub const EXT_HSREQ: u16 = 0x1;
/// Extension-field flag: the handshake carries KMREQ/KMRSP.
pub const EXT_KMREQ: u16 = 0x2;
/// Extension-field flag: the handshake carries configuration strings (SID, congestion...).
pub const EXT_CONFIG: u16 = 0x4;

/// HSREQ/HSRSP flag: the sender side uses TSBPD.
pub const FLAG_TSBPDSND: u32 = 0x01;
/// HSREQ/HSRSP flag: the receiver side uses TSBPD.
pub const FLAG_TSBPDRCV: u32 = 0x02;
/// HSREQ/HSRSP flag: understands the KK field (always set).
pub const FLAG_CRYPT: u32 = 0x04;
/// HSREQ/HSRSP flag: too-late packet drop.
pub const FLAG_TLPKTDROP: u32 = 0x08;
/// HSREQ/HSRSP flag: sends periodic NAK reports.
pub const FLAG_PERIODICNAK: u32 = 0x10;
/// HSREQ/HSRSP flag: understands the R field (always set).
pub const FLAG_REXMITFLG: u32 = 0x20;
/// HSREQ/HSRSP flag: buffer (stream) mode instead of message mode, i.e. file transfer.
pub const FLAG_STREAM: u32 = 0x40;
/// HSREQ/HSRSP flag: supports packet filters.
pub const FLAG_PACKET_FILTER: u32 = 0x80;

const EXT_TYPE_HSREQ: u16 = 1;
const EXT_TYPE_HSRSP: u16 = 2;
const EXT_TYPE_KMREQ: u16 = 3;
const EXT_TYPE_KMRSP: u16 = 4;
const EXT_TYPE_SID: u16 = 5;
const EXT_TYPE_CONGESTION: u16 = 6;
const EXT_TYPE_FILTER: u16 = 7;
const EXT_TYPE_GROUP: u16 = 8;

/// A malformed handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Shorter than the fixed 48 bytes.
    #[error("handshake of {0} bytes is shorter than 48")]
    Truncated(usize),
    /// An extension claims more words than the packet has.
    #[error("handshake extension {kind} claims {words} words, {available} bytes left")]
    ExtensionOverrun {
        /// Extension type.
        kind: u16,
        /// Claimed length in 32-bit words.
        words: u16,
        /// Bytes left in the packet.
        available: usize,
    },
    /// An HSREQ/HSRSP shorter than its three words.
    #[error("HSREQ/HSRSP extension of {0} words, needs 3")]
    ShortSrtHs(u16),
    /// Bytes after the last extension that do not form an extension header.
    #[error("{0} stray bytes after the handshake extensions")]
    Trailing(usize),
}

/// The handshake type field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeType {
    /// Rendezvous: done.
    Done,
    /// Rendezvous: agreement.
    Agreement,
    /// Conclusion request or response.
    Conclusion,
    /// Rendezvous: wave-a-hand.
    WaveAHand,
    /// Induction request or response.
    Induction,
    /// A rejection, with its reason code (1000 and up).
    Rejection(u32),
    /// Anything else.
    Other(u32),
}

impl HandshakeType {
    /// The wire value.
    pub fn value(self) -> u32 {
        match self {
            Self::Done => 0xFFFF_FFFD,
            Self::Agreement => 0xFFFF_FFFE,
            Self::Conclusion => 0xFFFF_FFFF,
            Self::WaveAHand => 0,
            Self::Induction => 1,
            Self::Rejection(c) | Self::Other(c) => c,
        }
    }

    /// From the wire value.
    pub fn from_value(v: u32) -> Self {
        match v {
            0xFFFF_FFFD => Self::Done,
            0xFFFF_FFFE => Self::Agreement,
            0xFFFF_FFFF => Self::Conclusion,
            0 => Self::WaveAHand,
            1 => Self::Induction,
            1000..=0xFFFF_FFFC => Self::Rejection(v),
            _ => Self::Other(v),
        }
    }
}

/// The HSREQ/HSRSP extension: version, capabilities and TSBPD delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrtHs {
    /// SRT library version, major * 0x10000 + minor * 0x100 + patch.
    pub version: u32,
    /// `FLAG_*` bits.
    pub flags: u32,
    /// Latency the sender of this extension wants as a receiver, milliseconds.
    pub recv_delay_ms: u16,
    /// Latency the sender of this extension proposes for the peer's receiving, milliseconds.
    pub send_delay_ms: u16,
}

/// One handshake extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extension {
    /// SRT_CMD_HSREQ.
    HsReq(SrtHs),
    /// SRT_CMD_HSRSP.
    HsRsp(SrtHs),
    /// SRT_CMD_KMREQ: a key material message.
    KmReq(Vec<u8>),
    /// SRT_CMD_KMRSP: the echoed key material, or one word of KM state on failure.
    KmRsp(Vec<u8>),
    /// SRT_CMD_SID: the stream id.
    StreamId(String),
    /// SRT_CMD_CONGESTION: congestion controller name ("live" or "file").
    Congestion(String),
    /// SRT_CMD_FILTER: packet filter configuration.
    Filter(String),
    /// SRT_CMD_GROUP: bonding group membership, raw.
    Group(Vec<u8>),
    /// Anything else, raw.
    Unknown {
        /// Extension type.
        kind: u16,
        /// Contents.
        data: Vec<u8>,
    },
}

/// A handshake control information field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// 4 in an induction request, 5 otherwise.
    pub version: u32,
    /// Advertised key length: 0 none, 2/3/4 for AES-128/192/256.
    pub encryption: u16,
    /// `EXT_*` flags in a conclusion, `SRT_MAGIC` in an induction response, 2 in a request.
    pub extension_field: u16,
    /// First sequence number the initiator sends (and, in HSv5, both sides use).
    pub initial_seq: SeqNumber,
    /// MTU, bytes.
    pub mtu: u32,
    /// Flow window, packets.
    pub flow_window: u32,
    /// The handshake type.
    pub kind: HandshakeType,
    /// The sender's socket id.
    pub socket_id: u32,
    /// The listener's SYN cookie.
    pub syn_cookie: u32,
    /// The peer address as libsrt writes it; see [`peer_ip_bytes`].
    pub peer_ip: [u8; 16],
    /// Extensions (conclusion messages of HSv5 only).
    pub extensions: Vec<Extension>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(w) => u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
        None => 0,
    }
}

/// Decodes a libsrt configuration string: words byte-reversed, zero padded.
fn decode_string(data: &[u8]) -> String {
    let mut bytes: Vec<u8> = data
        .chunks(4)
        .flat_map(|w| w.iter().rev().copied())
        .collect();
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn encode_string(s: &str, out: &mut Vec<u8>) {
    for chunk in s.as_bytes().chunks(4) {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        w.reverse();
        out.extend_from_slice(&w);
    }
}

/// The wire form of an address in the handshake's peer IP field.
pub fn peer_ip_bytes(ip: IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    let raw: Vec<u8> = match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    for (dst, src) in out.chunks_mut(4).zip(raw.chunks(4)) {
        for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
            *d = *s;
        }
    }
    out
}

/// Reads the peer IP field back (IPv4 when the last 12 bytes are zero).
pub fn peer_ip_addr(b: &[u8; 16]) -> IpAddr {
    let mut raw = [0u8; 16];
    for (dst, src) in raw.chunks_mut(4).zip(b.chunks(4)) {
        for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
            *d = *s;
        }
    }
    if raw[4..].iter().all(|&x| x == 0) {
        IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(raw))
    }
}

impl Handshake {
    /// Parses a handshake CIF. Extensions are read only in HSv5 conclusions.
    pub fn parse(b: &[u8]) -> Result<Self, HandshakeError> {
        if b.len() < HANDSHAKE_LEN {
            return Err(HandshakeError::Truncated(b.len()));
        }
        let version = be32(b, 0);
        let w1 = be32(b, 4);
        let kind = HandshakeType::from_value(be32(b, 20));
        let mut peer_ip = [0u8; 16];
        peer_ip.copy_from_slice(&b[32..48]);
        let mut hs = Self {
            version,
            encryption: (w1 >> 16) as u16,
            extension_field: (w1 & 0xFFFF) as u16,
            initial_seq: SeqNumber::new(be32(b, 8)),
            mtu: be32(b, 12),
            flow_window: be32(b, 16),
            kind,
            socket_id: be32(b, 24),
            syn_cookie: be32(b, 28),
            peer_ip,
            extensions: Vec::new(),
        };
        if version >= 5 && kind == HandshakeType::Conclusion {
            hs.extensions = parse_extensions(&b[HANDSHAKE_LEN..])?;
        }
        Ok(hs)
    }

    /// Appends the wire form.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.encryption.to_be_bytes());
        out.extend_from_slice(&self.extension_field.to_be_bytes());
        for w in [
            self.initial_seq.value(),
            self.mtu,
            self.flow_window,
            self.kind.value(),
            self.socket_id,
            self.syn_cookie,
        ] {
            out.extend_from_slice(&w.to_be_bytes());
        }
        out.extend_from_slice(&self.peer_ip);
        for ext in &self.extensions {
            write_extension(ext, out);
        }
    }

    /// The HSREQ extension, if any.
    pub fn hs_req(&self) -> Option<&SrtHs> {
        self.extensions.iter().find_map(|e| match e {
            Extension::HsReq(h) => Some(h),
            _ => None,
        })
    }

    /// The HSRSP extension, if any.
    pub fn hs_rsp(&self) -> Option<&SrtHs> {
        self.extensions.iter().find_map(|e| match e {
            Extension::HsRsp(h) => Some(h),
            _ => None,
        })
    }

    /// The KMREQ extension, if any.
    pub fn km_req(&self) -> Option<&[u8]> {
        self.extensions.iter().find_map(|e| match e {
            Extension::KmReq(k) => Some(k.as_slice()),
            _ => None,
        })
    }

    /// The KMRSP extension, if any.
    pub fn km_rsp(&self) -> Option<&[u8]> {
        self.extensions.iter().find_map(|e| match e {
            Extension::KmRsp(k) => Some(k.as_slice()),
            _ => None,
        })
    }

    /// The stream id extension, if any.
    pub fn stream_id(&self) -> Option<&str> {
        self.extensions.iter().find_map(|e| match e {
            Extension::StreamId(s) => Some(s.as_str()),
            _ => None,
        })
    }
}

fn parse_extensions(mut b: &[u8]) -> Result<Vec<Extension>, HandshakeError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 4 {
            return Err(HandshakeError::Trailing(b.len()));
        }
        let kind = u16::from_be_bytes([b[0], b[1]]);
        let words = u16::from_be_bytes([b[2], b[3]]);
        let len = usize::from(words) * 4;
        let data = b.get(4..4 + len).ok_or(HandshakeError::ExtensionOverrun {
            kind,
            words,
            available: b.len() - 4,
        })?;
        let ext = match kind {
            EXT_TYPE_HSREQ | EXT_TYPE_HSRSP => {
                if words < 3 {
                    return Err(HandshakeError::ShortSrtHs(words));
                }
                let delays = be32(data, 8);
                let h = SrtHs {
                    version: be32(data, 0),
                    flags: be32(data, 4),
                    recv_delay_ms: (delays >> 16) as u16,
                    send_delay_ms: (delays & 0xFFFF) as u16,
                };
                if kind == EXT_TYPE_HSREQ {
                    Extension::HsReq(h)
                } else {
                    Extension::HsRsp(h)
                }
            }
            EXT_TYPE_KMREQ => Extension::KmReq(data.to_vec()),
            EXT_TYPE_KMRSP => Extension::KmRsp(data.to_vec()),
            EXT_TYPE_SID => Extension::StreamId(decode_string(data)),
            EXT_TYPE_CONGESTION => Extension::Congestion(decode_string(data)),
            EXT_TYPE_FILTER => Extension::Filter(decode_string(data)),
            EXT_TYPE_GROUP => Extension::Group(data.to_vec()),
            _ => Extension::Unknown {
                kind,
                data: data.to_vec(),
            },
        };
        out.push(ext);
        b = &b[4 + len..];
    }
    Ok(out)
}

fn write_extension(ext: &Extension, out: &mut Vec<u8>) {
    let header_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let kind = match ext {
        Extension::HsReq(h) | Extension::HsRsp(h) => {
            out.extend_from_slice(&h.version.to_be_bytes());
            out.extend_from_slice(&h.flags.to_be_bytes());
            out.extend_from_slice(&h.recv_delay_ms.to_be_bytes());
            out.extend_from_slice(&h.send_delay_ms.to_be_bytes());
            if matches!(ext, Extension::HsReq(_)) {
                EXT_TYPE_HSREQ
            } else {
                EXT_TYPE_HSRSP
            }
        }
        Extension::KmReq(k) | Extension::KmRsp(k) => {
            out.extend_from_slice(k);
            if matches!(ext, Extension::KmReq(_)) {
                EXT_TYPE_KMREQ
            } else {
                EXT_TYPE_KMRSP
            }
        }
        Extension::StreamId(s) => {
            encode_string(s, out);
            EXT_TYPE_SID
        }
        Extension::Congestion(s) => {
            encode_string(s, out);
            EXT_TYPE_CONGESTION
        }
        Extension::Filter(s) => {
            encode_string(s, out);
            EXT_TYPE_FILTER
        }
        Extension::Group(d) => {
            out.extend_from_slice(d);
            EXT_TYPE_GROUP
        }
        Extension::Unknown { kind, data } => {
            out.extend_from_slice(data);
            *kind
        }
    };
    // Pad raw contents to whole words.
    while !(out.len() - header_at).is_multiple_of(4) {
        out.push(0);
    }
    let words = u16::try_from((out.len() - header_at - 4) / 4).unwrap_or(u16::MAX);
    out[header_at..header_at + 2].copy_from_slice(&kind.to_be_bytes());
    out[header_at + 2..header_at + 4].copy_from_slice(&words.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// ffmpeg 5.1 / libsrt 1.5.1 caller, `streamid=publish:test&passphrase=...&pbkeylen=16`,
    /// conclusion request CIF (after the 16-byte header).
    const LIBSRT_CONCLUSION: &str = "00000005 00020007 0fe25427 000005dc 00002000 ffffffff
        003139a9 8227c55f 0100007f 00000000 00000000 00000000
        00010003 00010501 000000bf 00960096
        00050003 6c627570 3a687369 74736574
        0003000e 12202901 00000000 02000200 00000404
        b24d49f4 151dee2e 9b297a3b 37a7b130 a155032b b31cc5fc d2cbee93 d29ee32c
        04387774 049c70a4";

    #[test]
    fn libsrt_conclusion_request() {
        let wire = hex(LIBSRT_CONCLUSION);
        let hs = Handshake::parse(&wire).unwrap();
        assert_eq!(hs.version, 5);
        assert_eq!(hs.encryption, 2);
        assert_eq!(hs.extension_field, EXT_HSREQ | EXT_KMREQ | EXT_CONFIG);
        assert_eq!(hs.initial_seq, SeqNumber::new(0x0fe2_5427));
        assert_eq!(hs.mtu, 1500);
        assert_eq!(hs.flow_window, 8192);
        assert_eq!(hs.kind, HandshakeType::Conclusion);
        assert_eq!(hs.socket_id, 0x0031_39a9);
        assert_eq!(hs.syn_cookie, 0x8227_c55f);
        assert_eq!(peer_ip_addr(&hs.peer_ip), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            hs.hs_req(),
            Some(&SrtHs {
                version: 0x0001_0501,
                flags: 0xbf,
                recv_delay_ms: 150,
                send_delay_ms: 150
            })
        );
        assert_eq!(hs.stream_id(), Some("publish:test"));
        assert_eq!(hs.km_req().map(<[u8]>::len), Some(56));
        let mut out = Vec::new();
        hs.write(&mut out);
        assert_eq!(out, wire);
    }

    #[test]
    fn libsrt_induction_and_rejection() {
        let induction = hex("00000004 00000002 0fe25427 000005dc 00002000 00000001
             003139a9 00000000 0100007f 00000000 00000000 00000000");
        let hs = Handshake::parse(&induction).unwrap();
        assert_eq!(hs.kind, HandshakeType::Induction);
        assert_eq!(hs.extension_field, 2);
        let reject = hex("00000005 00030007 728be1e3 000005dc 00002000 000003f2
             0e18dafc c8be8e5e 0100007f 00000000 00000000 00000000");
        let hs = Handshake::parse(&reject).unwrap();
        assert_eq!(hs.kind, HandshakeType::Rejection(1010));
        let mut out = Vec::new();
        hs.write(&mut out);
        assert_eq!(out, reject);
    }

    #[test]
    fn strings_round_trip_with_padding() {
        for sid in ["", "a", "abcd", "abcde", "#!::r=live/cam,m=publish"] {
            let hs = Handshake {
                version: 5,
                encryption: 0,
                extension_field: EXT_HSREQ | EXT_CONFIG,
                initial_seq: SeqNumber::new(1),
                mtu: 1500,
                flow_window: 8192,
                kind: HandshakeType::Conclusion,
                socket_id: 9,
                syn_cookie: 7,
                peer_ip: peer_ip_bytes("::1".parse().unwrap()),
                extensions: vec![
                    Extension::StreamId(sid.into()),
                    Extension::Congestion("live".into()),
                    Extension::Unknown {
                        kind: 99,
                        data: vec![1, 2, 3],
                    },
                ],
            };
            let mut out = Vec::new();
            hs.write(&mut out);
            let back = Handshake::parse(&out).unwrap();
            assert_eq!(back.stream_id(), Some(sid));
            assert_eq!(
                back.extensions[2],
                Extension::Unknown {
                    kind: 99,
                    data: vec![1, 2, 3, 0]
                }
            );
            assert_eq!(
                peer_ip_addr(&back.peer_ip),
                "::1".parse::<IpAddr>().unwrap()
            );
        }
    }

    #[test]
    fn malformed_extensions_are_errors() {
        let mut wire = hex(LIBSRT_CONCLUSION);
        wire.truncate(wire.len() - 4);
        assert!(matches!(
            Handshake::parse(&wire),
            Err(HandshakeError::ExtensionOverrun { kind: 3, .. })
        ));
        let mut wire = hex(LIBSRT_CONCLUSION);
        wire.extend_from_slice(&[1, 2]);
        assert_eq!(Handshake::parse(&wire), Err(HandshakeError::Trailing(2)));
        let mut wire = hex(LIBSRT_CONCLUSION)[..48].to_vec();
        wire.extend_from_slice(&hex("00010002 00010501 000000bf"));
        assert_eq!(Handshake::parse(&wire), Err(HandshakeError::ShortSrtHs(2)));
        assert_eq!(
            Handshake::parse(&[0; 47]),
            Err(HandshakeError::Truncated(47))
        );
    }
}
