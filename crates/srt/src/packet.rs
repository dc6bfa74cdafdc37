//! SRT packets: the 16-byte header, data packets and control packets
//! (draft-sharabayko-srt section "Packet Structure").
//!
//! Parsing takes one UDP payload and never panics; writing appends to a `Vec`.

use bytes::Bytes;

use crate::handshake::{Handshake, HandshakeError};
use crate::loss_list::{self, LossListError, LossRange};
use crate::seq::{MsgNumber, SeqNumber};

/// Size of the SRT header.
pub const HEADER_LEN: usize = 16;
/// IPv4 + UDP headers, which count against the MTU (libsrt's MSS).
pub const UDP_IPV4_OVERHEAD: usize = 28;

const CT_HANDSHAKE: u16 = 0x0000;
const CT_KEEPALIVE: u16 = 0x0001;
const CT_ACK: u16 = 0x0002;
const CT_NAK: u16 = 0x0003;
const CT_CONGESTION: u16 = 0x0004;
const CT_SHUTDOWN: u16 = 0x0005;
const CT_ACKACK: u16 = 0x0006;
const CT_DROPREQ: u16 = 0x0007;
const CT_PEERERROR: u16 = 0x0008;
const CT_USER: u16 = 0x7FFF;
/// Subtypes of the user-defined control type that carry key material (SRT_CMD_KMREQ/KMRSP).
const SUB_KMREQ: u16 = 3;
const SUB_KMRSP: u16 = 4;

/// A packet that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// Shorter than the 16-byte header.
    #[error("datagram of {0} bytes is shorter than the SRT header")]
    Truncated(usize),
    /// A data packet whose key flags say "both keys", which only key material may say.
    #[error("data packet {0} has both encryption key flags set")]
    BadKeyFlags(u32),
    /// A control packet's information field is too short for its type.
    #[error("{kind} control packet has {len} bytes of control information, needs {need}")]
    ShortControl {
        /// The control type.
        kind: &'static str,
        /// Bytes present.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// A malformed NAK loss list.
    #[error("NAK: {0}")]
    LossList(#[from] LossListError),
    /// A malformed handshake.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
}

/// Where a data packet lies in its message (the PP field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketPosition {
    /// A packet in the middle of a message (00).
    Middle,
    /// The last packet of a message (01).
    Last,
    /// The first packet of a message (10).
    First,
    /// A message of one packet (11), what live mode sends.
    Only,
}

impl PacketPosition {
    fn bits(self) -> u32 {
        match self {
            Self::Middle => 0,
            Self::Last => 1,
            Self::First => 2,
            Self::Only => 3,
        }
    }

    fn from_bits(b: u32) -> Self {
        match b & 3 {
            0 => Self::Middle,
            1 => Self::Last,
            2 => Self::First,
            _ => Self::Only,
        }
    }
}

/// Which stream encrypting key protects a data packet's payload (the KK field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataKey {
    /// Not encrypted (00).
    #[default]
    None,
    /// Encrypted with the even key (01).
    Even,
    /// Encrypted with the odd key (10).
    Odd,
}

/// A data packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPacket {
    /// Packet sequence number.
    pub seq: SeqNumber,
    /// Position in the message.
    pub position: PacketPosition,
    /// The O flag: deliver in order.
    pub in_order: bool,
    /// Which key encrypts the payload.
    pub key: DataKey,
    /// The R flag: this is a retransmission.
    pub retransmitted: bool,
    /// Message number.
    pub msg: MsgNumber,
    /// Origin time, microseconds since the sender's connection start (wraps every ~71 min).
    pub timestamp: u32,
    /// The receiver's socket id.
    pub dest_socket_id: u32,
    /// The payload (encrypted when `key` is not `None`).
    pub payload: Bytes,
}

/// Statistics a full or small ACK carries after the acknowledged sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckStats {
    /// Smoothed RTT, microseconds.
    pub rtt: u32,
    /// RTT variance, microseconds.
    pub rtt_var: u32,
    /// Free space in the receiver buffer, packets.
    pub available_buffer: u32,
    /// Rates, present in a full ACK.
    pub rates: Option<AckRates>,
}

/// The rate fields of a full ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckRates {
    /// Packets received per second.
    pub packet_rate: u32,
    /// Estimated link capacity, packets per second.
    pub link_capacity: u32,
    /// Bytes received per second.
    pub byte_rate: u32,
}

/// An acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// Full ACK number (from 1); 0 for light and small ACKs.
    pub number: u32,
    /// The first sequence number not yet received (everything before is acknowledged).
    pub last_ack: SeqNumber,
    /// RTT and buffer statistics; absent in a light ACK.
    pub stats: Option<AckStats>,
}

/// The body of a control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Connection setup.
    Handshake(Handshake),
    /// Sent when nothing else was sent for a second.
    KeepAlive,
    /// Acknowledgement.
    Ack(Ack),
    /// Loss report.
    Nak(Vec<LossRange>),
    /// Reserved; ignored.
    CongestionWarning,
    /// The peer closes the connection.
    Shutdown,
    /// Acknowledges the full ACK with this number.
    AckAck(u32),
    /// The sender cannot retransmit these packets; stop waiting for them.
    DropRequest {
        /// Message number, 0 when unknown.
        msg: u32,
        /// First packet of the dropped range.
        first: SeqNumber,
        /// Last packet of the dropped range.
        last: SeqNumber,
    },
    /// File-mode error report; ignored in live mode.
    PeerError(u32),
    /// Key material refresh request (user-defined type, subtype KMREQ), raw KM message.
    KeyMaterialRequest(Vec<u8>),
    /// Key material refresh response (user-defined type, subtype KMRSP), raw KM message.
    KeyMaterialResponse(Vec<u8>),
    /// Any other control type, kept so it can be ignored.
    Unknown {
        /// Control type.
        control_type: u16,
        /// Subtype.
        subtype: u16,
        /// Type-specific information.
        info: u32,
        /// Control information field.
        cif: Vec<u8>,
    },
}

/// A control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPacket {
    /// Microseconds since the sender's connection start.
    pub timestamp: u32,
    /// The receiver's socket id (0 for connection requests).
    pub dest_socket_id: u32,
    /// Type and contents.
    pub control: Control,
}

/// Any SRT packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Payload.
    Data(DataPacket),
    /// Control.
    Control(ControlPacket),
}

/// The destination socket id of a datagram, read without parsing the rest: how a driver
/// routes datagrams (0 means "to the listener").
pub fn destination_socket_id(datagram: &[u8]) -> Option<u32> {
    datagram
        .get(12..16)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be32(b: &[u8], at: usize) -> u32 {
    // Callers check lengths first; a short slice reads as zeros rather than panicking.
    match b.get(at..at + 4) {
        Some(w) => u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
        None => 0,
    }
}

fn need(kind: &'static str, cif: &[u8], need: usize) -> Result<(), PacketError> {
    if cif.len() < need {
        Err(PacketError::ShortControl {
            kind,
            len: cif.len(),
            need,
        })
    } else {
        Ok(())
    }
}

impl Packet {
    /// Parses one datagram.
    pub fn parse(b: &[u8]) -> Result<Self, PacketError> {
        if b.len() < HEADER_LEN {
            return Err(PacketError::Truncated(b.len()));
        }
        let w0 = be32(b, 0);
        let w1 = be32(b, 4);
        let timestamp = be32(b, 8);
        let dest_socket_id = be32(b, 12);
        let body = &b[HEADER_LEN..];
        if w0 & 0x8000_0000 == 0 {
            let key = match (w1 >> 27) & 3 {
                0 => DataKey::None,
                1 => DataKey::Even,
                2 => DataKey::Odd,
                _ => return Err(PacketError::BadKeyFlags(w0)),
            };
            return Ok(Self::Data(DataPacket {
                seq: SeqNumber::new(w0),
                position: PacketPosition::from_bits(w1 >> 30),
                in_order: w1 & (1 << 29) != 0,
                key,
                retransmitted: w1 & (1 << 26) != 0,
                msg: MsgNumber::new(w1),
                timestamp,
                dest_socket_id,
                payload: Bytes::copy_from_slice(body),
            }));
        }
        let control_type = ((w0 >> 16) & 0x7FFF) as u16;
        let subtype = (w0 & 0xFFFF) as u16;
        let control = match control_type {
            CT_HANDSHAKE => Control::Handshake(Handshake::parse(body)?),
            CT_KEEPALIVE => Control::KeepAlive,
            CT_ACK => {
                need("ACK", body, 4)?;
                let last_ack = SeqNumber::new(be32(body, 0));
                let stats = (body.len() >= 16).then(|| AckStats {
                    rtt: be32(body, 4),
                    rtt_var: be32(body, 8),
                    available_buffer: be32(body, 12),
                    rates: (body.len() >= 28).then(|| AckRates {
                        packet_rate: be32(body, 16),
                        link_capacity: be32(body, 20),
                        byte_rate: be32(body, 24),
                    }),
                });
                Control::Ack(Ack {
                    number: w1,
                    last_ack,
                    stats,
                })
            }
            CT_NAK => Control::Nak(loss_list::parse(body)?),
            CT_CONGESTION => Control::CongestionWarning,
            CT_SHUTDOWN => Control::Shutdown,
            CT_ACKACK => Control::AckAck(w1),
            CT_DROPREQ => {
                need("DROPREQ", body, 8)?;
                Control::DropRequest {
                    msg: w1,
                    first: SeqNumber::new(be32(body, 0)),
                    last: SeqNumber::new(be32(body, 4)),
                }
            }
            CT_PEERERROR => Control::PeerError(w1),
            CT_USER if subtype == SUB_KMREQ => Control::KeyMaterialRequest(body.to_vec()),
            CT_USER if subtype == SUB_KMRSP => Control::KeyMaterialResponse(body.to_vec()),
            _ => Control::Unknown {
                control_type,
                subtype,
                info: w1,
                cif: body.to_vec(),
            },
        };
        Ok(Self::Control(ControlPacket {
            timestamp,
            dest_socket_id,
            control,
        }))
    }

    /// Appends the wire form to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Data(d) => d.write(out),
            Self::Control(c) => c.write(out),
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

impl DataPacket {
    /// Appends the wire form to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let key = match self.key {
            DataKey::None => 0,
            DataKey::Even => 1,
            DataKey::Odd => 2,
        };
        let w1 = (self.position.bits() << 30)
            | (u32::from(self.in_order) << 29)
            | (key << 27)
            | (u32::from(self.retransmitted) << 26)
            | self.msg.value();
        out.reserve(HEADER_LEN + self.payload.len());
        out.extend_from_slice(&self.seq.value().to_be_bytes());
        out.extend_from_slice(&w1.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.dest_socket_id.to_be_bytes());
        out.extend_from_slice(&self.payload);
    }
}

impl ControlPacket {
    /// Appends the wire form to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let (ty, sub, info) = match &self.control {
            Control::Handshake(_) => (CT_HANDSHAKE, 0, 0),
            Control::KeepAlive => (CT_KEEPALIVE, 0, 0),
            Control::Ack(a) => (CT_ACK, 0, a.number),
            Control::Nak(_) => (CT_NAK, 0, 0),
            Control::CongestionWarning => (CT_CONGESTION, 0, 0),
            Control::Shutdown => (CT_SHUTDOWN, 0, 0),
            Control::AckAck(n) => (CT_ACKACK, 0, *n),
            Control::DropRequest { msg, .. } => (CT_DROPREQ, 0, *msg),
            Control::PeerError(code) => (CT_PEERERROR, 0, *code),
            Control::KeyMaterialRequest(_) => (CT_USER, SUB_KMREQ, 0),
            Control::KeyMaterialResponse(_) => (CT_USER, SUB_KMRSP, 0),
            Control::Unknown {
                control_type,
                subtype,
                info,
                ..
            } => (*control_type & 0x7FFF, *subtype, *info),
        };
        let w0 = 0x8000_0000 | (u32::from(ty) << 16) | u32::from(sub);
        out.extend_from_slice(&w0.to_be_bytes());
        out.extend_from_slice(&info.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.dest_socket_id.to_be_bytes());
        match &self.control {
            Control::Handshake(h) => h.write(out),
            // libsrt pads bodiless control packets with one zero word; so do we.
            Control::KeepAlive | Control::Shutdown | Control::AckAck(_) => {
                out.extend_from_slice(&[0; 4]);
            }
            Control::CongestionWarning | Control::PeerError(_) => {}
            Control::Ack(a) => {
                out.extend_from_slice(&a.last_ack.value().to_be_bytes());
                if let Some(s) = &a.stats {
                    for w in [s.rtt, s.rtt_var, s.available_buffer] {
                        out.extend_from_slice(&w.to_be_bytes());
                    }
                    if let Some(r) = &s.rates {
                        for w in [r.packet_rate, r.link_capacity, r.byte_rate] {
                            out.extend_from_slice(&w.to_be_bytes());
                        }
                    }
                }
            }
            Control::Nak(ranges) => loss_list::write(ranges, usize::MAX, out),
            Control::DropRequest { first, last, .. } => {
                out.extend_from_slice(&first.value().to_be_bytes());
                out.extend_from_slice(&last.value().to_be_bytes());
            }
            Control::KeyMaterialRequest(km) | Control::KeyMaterialResponse(km) => {
                out.extend_from_slice(km);
            }
            Control::Unknown { cif, .. } => out.extend_from_slice(cif),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn round_trip(wire: &[u8]) -> Packet {
        let p = Packet::parse(wire).unwrap();
        assert_eq!(p.to_bytes(), wire, "{p:?}");
        p
    }

    #[test]
    fn libsrt_encrypted_data_packet() {
        // First data packet of ffmpeg (libsrt 1.5.1) publishing with a passphrase.
        let wire = hex("0fe25427 e8000001 0000df94 024adefe e8ed108e06f2fd78");
        let Packet::Data(d) = round_trip(&wire) else {
            panic!("not data")
        };
        assert_eq!(d.seq, SeqNumber::new(0x0fe2_5427));
        assert_eq!(d.position, PacketPosition::Only);
        assert!(d.in_order);
        assert_eq!(d.key, DataKey::Even);
        assert!(!d.retransmitted);
        assert_eq!(d.msg.value(), 1);
        assert_eq!(d.timestamp, 0xdf94);
        assert_eq!(d.dest_socket_id, 0x024a_defe);
        assert_eq!(d.payload.len(), 8);
    }

    #[test]
    fn libsrt_full_ack_and_ackack() {
        let ack = hex(
            "80020000 00000001 0000e6f7 003139a9 0fe25428 000186a0 0000c350 00001ffe
             00000001 000003e8 000005dc",
        );
        let Packet::Control(c) = round_trip(&ack) else {
            panic!("not control")
        };
        assert_eq!(
            c.control,
            Control::Ack(Ack {
                number: 1,
                last_ack: SeqNumber::new(0x0fe2_5428),
                stats: Some(AckStats {
                    rtt: 100_000,
                    rtt_var: 50_000,
                    available_buffer: 8190,
                    rates: Some(AckRates {
                        packet_rate: 1,
                        link_capacity: 1000,
                        byte_rate: 1500
                    }),
                }),
            })
        );
        let ackack = hex("80060000 00000001 0000ee94 024adefe 00000000");
        let Packet::Control(c) = round_trip(&ackack) else {
            panic!("not control")
        };
        assert_eq!(c.control, Control::AckAck(1));
        let shutdown = hex("80050000 00000000 001ec826 024adefe 00000000");
        assert!(matches!(
            round_trip(&shutdown),
            Packet::Control(ControlPacket {
                control: Control::Shutdown,
                ..
            })
        ));
    }

    #[test]
    fn light_ack_nak_dropreq_keepalive_round_trip() {
        let packets = [
            Control::Ack(Ack {
                number: 0,
                last_ack: SeqNumber::new(77),
                stats: None,
            }),
            Control::Ack(Ack {
                number: 0,
                last_ack: SeqNumber::new(77),
                stats: Some(AckStats {
                    rtt: 1,
                    rtt_var: 2,
                    available_buffer: 3,
                    rates: None,
                }),
            }),
            Control::Nak(vec![
                LossRange::single(SeqNumber::new(3)),
                LossRange {
                    first: SeqNumber::new(5),
                    last: SeqNumber::new(9),
                },
            ]),
            Control::DropRequest {
                msg: 0,
                first: SeqNumber::new(10),
                last: SeqNumber::new(12),
            },
            Control::KeepAlive,
            Control::CongestionWarning,
            Control::PeerError(4000),
            Control::KeyMaterialRequest(vec![1, 2, 3, 4]),
            Control::KeyMaterialResponse(vec![5, 6, 7, 8]),
            Control::Unknown {
                control_type: 0x7FFF,
                subtype: 9,
                info: 1,
                cif: vec![9],
            },
        ];
        for control in packets {
            let p = Packet::Control(ControlPacket {
                timestamp: 1234,
                dest_socket_id: 42,
                control,
            });
            assert_eq!(Packet::parse(&p.to_bytes()).unwrap(), p);
        }
    }

    #[test]
    fn malformed_packets_are_errors() {
        assert_eq!(Packet::parse(&[0; 15]), Err(PacketError::Truncated(15)));
        // Data packet with KK = 11.
        let bad = hex("00000001 18000001 00000000 00000000");
        assert!(matches!(
            Packet::parse(&bad),
            Err(PacketError::BadKeyFlags(1))
        ));
        let short_ack = hex("80020000 00000001 00000000 00000000 0000");
        assert!(matches!(
            Packet::parse(&short_ack),
            Err(PacketError::ShortControl { kind: "ACK", .. })
        ));
        let short_drop = hex("80070000 00000001 00000000 00000000 00000001");
        assert!(matches!(
            Packet::parse(&short_drop),
            Err(PacketError::ShortControl {
                kind: "DROPREQ",
                ..
            })
        ));
        assert_eq!(destination_socket_id(&short_drop), Some(0));
        assert_eq!(destination_socket_id(&[0; 8]), None);
    }
}
