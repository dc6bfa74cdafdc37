//! RTCP (RFC 3550 section 6) compound packets: sender and receiver reports, source
//! descriptions, goodbyes, and the RFC 4585 / 5104 feedback messages NACK, PLI and FIR.
//! [`RtcpReceiver`] and [`RtcpSender`] generate the periodic reports.

/// Period of RTCP sender reports to readers and receiver reports to publishers, as
/// gortsplib's server and client.
pub const REPORT_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

mod receiver;
mod sender;

pub use receiver::RtcpReceiver;
pub use sender::{RtcpSender, ntp_from_unix};

use bytes::{BufMut, Bytes, BytesMut};

/// Packet types.
pub const PT_SR: u8 = 200;
pub const PT_RR: u8 = 201;
pub const PT_SDES: u8 = 202;
pub const PT_BYE: u8 = 203;
/// Transport-layer feedback (RFC 4585 6.2); FMT 1 is generic NACK.
pub const PT_RTPFB: u8 = 205;
/// Payload-specific feedback (RFC 4585 6.3); FMT 1 is PLI, FMT 4 (RFC 5104) is FIR.
pub const PT_PSFB: u8 = 206;

/// Errors from [`parse_compound`] and [`marshal_compound`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("RTCP packet too short ({0} bytes)")]
    TooShort(usize),
    #[error("unsupported RTCP version {0}")]
    Version(u8),
    #[error("RTCP length {length} words exceeds the {available} bytes left")]
    Length { length: usize, available: usize },
    #[error("RTCP padding invalid")]
    Padding,
    #[error("RTCP {0} packet body is malformed")]
    Body(&'static str),
    #[error("too many items for one RTCP packet ({0})")]
    TooMany(usize),
    #[error("RTCP packet too long to encode")]
    TooLong,
}

/// One reception report block (RFC 3550 6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    pub ssrc: u32,
    pub fraction_lost: u8,
    /// Signed 24-bit: duplicates can make it negative.
    pub cumulative_lost: i32,
    pub extended_highest_seq: u32,
    pub jitter: u32,
    pub last_sr: u32,
    pub delay_since_last_sr: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderReport {
    pub ssrc: u32,
    /// 64-bit NTP timestamp (32.32 fixed point seconds since 1900).
    pub ntp_time: u64,
    pub rtp_time: u32,
    pub packet_count: u32,
    pub octet_count: u32,
    pub reports: Vec<ReportBlock>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverReport {
    pub ssrc: u32,
    pub reports: Vec<ReportBlock>,
}

/// SDES item types.
pub const SDES_CNAME: u8 = 1;

/// One SDES chunk: a source and its items (type, text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk {
    pub source: u32,
    pub items: Vec<(u8, Bytes)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goodbye {
    pub sources: Vec<u32>,
    pub reason: Option<Bytes>,
}

/// Generic NACK (RFC 4585 6.2.1): each pair is a lost packet id and a bitmask of the
/// 16 following sequence numbers also lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    pub sender_ssrc: u32,
    pub media_ssrc: u32,
    pub pairs: Vec<(u16, u16)>,
}

impl Nack {
    /// Builds the pairs for a list of lost sequence numbers (in order, wrapping).
    pub fn from_lost(sender_ssrc: u32, media_ssrc: u32, lost: &[u16]) -> Nack {
        let mut pairs: Vec<(u16, u16)> = Vec::new();
        for &seq in lost {
            match pairs.last_mut() {
                Some((pid, blp)) if (1..=16).contains(&seq.wrapping_sub(*pid)) => {
                    *blp |= 1 << (seq.wrapping_sub(*pid) - 1);
                }
                _ => pairs.push((seq, 0)),
            }
        }
        Nack {
            sender_ssrc,
            media_ssrc,
            pairs,
        }
    }

    /// Every sequence number the NACK reports lost.
    pub fn lost(&self) -> Vec<u16> {
        let mut out = Vec::new();
        for &(pid, blp) in &self.pairs {
            out.push(pid);
            for bit in 0..16u16 {
                if blp & (1 << bit) != 0 {
                    out.push(pid.wrapping_add(bit + 1));
                }
            }
        }
        out
    }
}

/// Picture Loss Indication (RFC 4585 6.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pli {
    pub sender_ssrc: u32,
    pub media_ssrc: u32,
}

/// Full Intra Request (RFC 5104 4.3.1): entries of (ssrc, command sequence number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fir {
    pub sender_ssrc: u32,
    pub entries: Vec<(u32, u8)>,
}

/// One packet of a compound RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport(SenderReport),
    ReceiverReport(ReceiverReport),
    SourceDescription(Vec<SdesChunk>),
    Goodbye(Goodbye),
    Nack(Nack),
    Pli(Pli),
    Fir(Fir),
    /// Any other type, kept raw (body without the 4-byte header, padding removed).
    Unknown {
        packet_type: u8,
        count: u8,
        body: Bytes,
    },
}

/// Parses a compound packet (one or more RTCP packets back to back).
pub fn parse_compound(buf: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    if buf.len() < 4 {
        return Err(RtcpError::TooShort(buf.len()));
    }
    let mut out = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(RtcpError::TooShort(rest.len()));
        }
        let version = rest[0] >> 6;
        if version != 2 {
            return Err(RtcpError::Version(version));
        }
        let padding = rest[0] & 0x20 != 0;
        let count = rest[0] & 0x1f;
        let packet_type = rest[1];
        let words = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let total = 4 * (words + 1);
        if total > rest.len() {
            return Err(RtcpError::Length {
                length: words,
                available: rest.len(),
            });
        }
        let mut body = &rest[4..total];
        if padding {
            let pad = usize::from(*body.last().ok_or(RtcpError::Padding)?);
            if pad == 0 || pad > body.len() {
                return Err(RtcpError::Padding);
            }
            body = &body[..body.len() - pad];
        }
        out.push(parse_one(packet_type, count, body)?);
        rest = &rest[total..];
    }
    Ok(out)
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn parse_blocks(body: &[u8], count: u8, what: &'static str) -> Result<Vec<ReportBlock>, RtcpError> {
    let n = usize::from(count);
    if body.len() < 24 * n {
        return Err(RtcpError::Body(what));
    }
    Ok((0..n)
        .map(|i| {
            let b = &body[24 * i..24 * (i + 1)];
            // Sign-extend the 24-bit cumulative loss.
            let lost = (i32::from_be_bytes([b[5], b[6], b[7], 0])) >> 8;
            ReportBlock {
                ssrc: be32(b, 0),
                fraction_lost: b[4],
                cumulative_lost: lost,
                extended_highest_seq: be32(b, 8),
                jitter: be32(b, 12),
                last_sr: be32(b, 16),
                delay_since_last_sr: be32(b, 20),
            }
        })
        .collect())
}

fn parse_one(packet_type: u8, count: u8, body: &[u8]) -> Result<RtcpPacket, RtcpError> {
    Ok(match packet_type {
        PT_SR => {
            if body.len() < 24 {
                return Err(RtcpError::Body("SR"));
            }
            RtcpPacket::SenderReport(SenderReport {
                ssrc: be32(body, 0),
                ntp_time: (u64::from(be32(body, 4)) << 32) | u64::from(be32(body, 8)),
                rtp_time: be32(body, 12),
                packet_count: be32(body, 16),
                octet_count: be32(body, 20),
                reports: parse_blocks(&body[24..], count, "SR")?,
            })
        }
        PT_RR => {
            if body.len() < 4 {
                return Err(RtcpError::Body("RR"));
            }
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: be32(body, 0),
                reports: parse_blocks(&body[4..], count, "RR")?,
            })
        }
        PT_SDES => RtcpPacket::SourceDescription(parse_sdes(body, count)?),
        PT_BYE => {
            let n = usize::from(count);
            if body.len() < 4 * n {
                return Err(RtcpError::Body("BYE"));
            }
            let sources = (0..n).map(|i| be32(body, 4 * i)).collect();
            let rest = &body[4 * n..];
            let reason = match rest.first() {
                None => None,
                Some(&len) => {
                    let len = usize::from(len);
                    let text = rest.get(1..1 + len).ok_or(RtcpError::Body("BYE"))?;
                    Some(Bytes::copy_from_slice(text))
                }
            };
            RtcpPacket::Goodbye(Goodbye { sources, reason })
        }
        PT_RTPFB if count == 1 => {
            if body.len() < 8 || !(body.len() - 8).is_multiple_of(4) {
                return Err(RtcpError::Body("NACK"));
            }
            let pairs = body[8..]
                .chunks_exact(4)
                .map(|c| {
                    (
                        u16::from_be_bytes([c[0], c[1]]),
                        u16::from_be_bytes([c[2], c[3]]),
                    )
                })
                .collect();
            RtcpPacket::Nack(Nack {
                sender_ssrc: be32(body, 0),
                media_ssrc: be32(body, 4),
                pairs,
            })
        }
        PT_PSFB if count == 1 => {
            if body.len() < 8 {
                return Err(RtcpError::Body("PLI"));
            }
            RtcpPacket::Pli(Pli {
                sender_ssrc: be32(body, 0),
                media_ssrc: be32(body, 4),
            })
        }
        PT_PSFB if count == 4 => {
            if body.len() < 8 || !(body.len() - 8).is_multiple_of(8) {
                return Err(RtcpError::Body("FIR"));
            }
            let entries = body[8..]
                .chunks_exact(8)
                .map(|c| (be32(c, 0), c[4]))
                .collect();
            RtcpPacket::Fir(Fir {
                sender_ssrc: be32(body, 0),
                entries,
            })
        }
        _ => RtcpPacket::Unknown {
            packet_type,
            count,
            body: Bytes::copy_from_slice(body),
        },
    })
}

fn parse_sdes(body: &[u8], count: u8) -> Result<Vec<SdesChunk>, RtcpError> {
    let mut chunks = Vec::with_capacity(usize::from(count));
    let mut pos = 0;
    for _ in 0..count {
        if body.len() < pos + 4 {
            return Err(RtcpError::Body("SDES"));
        }
        let source = be32(body, pos);
        pos += 4;
        let mut items = Vec::new();
        loop {
            let Some(&kind) = body.get(pos) else {
                return Err(RtcpError::Body("SDES"));
            };
            if kind == 0 {
                // End of list, then padding to the next 32-bit boundary.
                pos = (pos + 4) & !3;
                break;
            }
            let len = usize::from(*body.get(pos + 1).ok_or(RtcpError::Body("SDES"))?);
            let text = body
                .get(pos + 2..pos + 2 + len)
                .ok_or(RtcpError::Body("SDES"))?;
            items.push((kind, Bytes::copy_from_slice(text)));
            pos += 2 + len;
        }
        chunks.push(SdesChunk { source, items });
    }
    Ok(chunks)
}

/// Serializes packets back to back as one compound packet.
pub fn marshal_compound(packets: &[RtcpPacket]) -> Result<Bytes, RtcpError> {
    let mut out = BytesMut::new();
    for p in packets {
        marshal_one(p, &mut out)?;
    }
    Ok(out.freeze())
}

fn count5(n: usize) -> Result<u8, RtcpError> {
    u8::try_from(n)
        .ok()
        .filter(|n| *n < 32)
        .ok_or(RtcpError::TooMany(n))
}

fn put_blocks(out: &mut BytesMut, blocks: &[ReportBlock]) {
    for b in blocks {
        out.put_u32(b.ssrc);
        let lost = b.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff);
        out.put_u32((u32::from(b.fraction_lost) << 24) | (lost as u32 & 0x00ff_ffff));
        out.put_u32(b.extended_highest_seq);
        out.put_u32(b.jitter);
        out.put_u32(b.last_sr);
        out.put_u32(b.delay_since_last_sr);
    }
}

fn marshal_one(packet: &RtcpPacket, out: &mut BytesMut) -> Result<(), RtcpError> {
    let mut body = BytesMut::new();
    let (packet_type, count) = match packet {
        RtcpPacket::SenderReport(sr) => {
            body.put_u32(sr.ssrc);
            body.put_u64(sr.ntp_time);
            body.put_u32(sr.rtp_time);
            body.put_u32(sr.packet_count);
            body.put_u32(sr.octet_count);
            put_blocks(&mut body, &sr.reports);
            (PT_SR, count5(sr.reports.len())?)
        }
        RtcpPacket::ReceiverReport(rr) => {
            body.put_u32(rr.ssrc);
            put_blocks(&mut body, &rr.reports);
            (PT_RR, count5(rr.reports.len())?)
        }
        RtcpPacket::SourceDescription(chunks) => {
            for c in chunks {
                body.put_u32(c.source);
                for (kind, text) in &c.items {
                    let len = u8::try_from(text.len()).map_err(|_| RtcpError::TooLong)?;
                    body.put_u8(*kind);
                    body.put_u8(len);
                    body.put_slice(text);
                }
                // Null terminator plus padding to a 32-bit boundary.
                body.put_u8(0);
                while !body.len().is_multiple_of(4) {
                    body.put_u8(0);
                }
            }
            (PT_SDES, count5(chunks.len())?)
        }
        RtcpPacket::Goodbye(bye) => {
            for s in &bye.sources {
                body.put_u32(*s);
            }
            if let Some(reason) = &bye.reason {
                let len = u8::try_from(reason.len()).map_err(|_| RtcpError::TooLong)?;
                body.put_u8(len);
                body.put_slice(reason);
                while !body.len().is_multiple_of(4) {
                    body.put_u8(0);
                }
            }
            (PT_BYE, count5(bye.sources.len())?)
        }
        RtcpPacket::Nack(n) => {
            body.put_u32(n.sender_ssrc);
            body.put_u32(n.media_ssrc);
            for (pid, blp) in &n.pairs {
                body.put_u16(*pid);
                body.put_u16(*blp);
            }
            (PT_RTPFB, 1)
        }
        RtcpPacket::Pli(p) => {
            body.put_u32(p.sender_ssrc);
            body.put_u32(p.media_ssrc);
            (PT_PSFB, 1)
        }
        RtcpPacket::Fir(f) => {
            body.put_u32(f.sender_ssrc);
            body.put_u32(0);
            for (ssrc, seq) in &f.entries {
                body.put_u32(*ssrc);
                body.put_u8(*seq);
                body.put_slice(&[0, 0, 0]);
            }
            (PT_PSFB, 4)
        }
        RtcpPacket::Unknown {
            packet_type,
            count,
            body: raw,
        } => {
            body.put_slice(raw);
            (*packet_type, count5(usize::from(*count))?)
        }
    };
    // Raw unknown bodies may not be word-aligned: pad them with RTCP padding.
    let pad = (4 - body.len() % 4) % 4;
    let words = u16::try_from((body.len() + pad) / 4).map_err(|_| RtcpError::TooLong)?;
    out.put_u8(0x80 | if pad > 0 { 0x20 } else { 0 } | count);
    out.put_u8(packet_type);
    out.put_u16(words);
    out.put_slice(&body);
    if pad > 0 {
        for _ in 1..pad {
            out.put_u8(0);
        }
        out.put_u8(pad as u8);
    }
    Ok(())
}
