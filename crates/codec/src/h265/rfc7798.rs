//! RTP payload format for H.265 (RFC 7798) without DONL (sprop-max-don-diff = 0):
//! single NAL unit packets, aggregation packets (AP) and fragmentation units (FU).

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use super::{NAL_AP, NAL_FU, NAL_PACI, is_random_access};
use crate::depacketizer::{
    DepacketizeError, Depacketizer, FrameAssembler, MAX_FRAME_SIZE, SequenceTracker,
    freeze_compact, push_with_loss_check,
};
use crate::frame::Frame;
use crate::packetizer::{PacketSequence, PacketizeError, Packetizer, PayloadArena, chunks};
use crate::rtp;

const CODEC: &str = "H265";

fn malformed(reason: &'static str) -> DepacketizeError {
    DepacketizeError::Malformed {
        codec: CODEC,
        reason,
    }
}

/// Reassembles access units (frames of NAL units) from RFC 7798 packets.
#[derive(Debug, Default)]
pub struct H265Depacketizer {
    sequence: SequenceTracker,
    state: State,
}

#[derive(Debug, Default)]
struct State {
    au: FrameAssembler,
    fragment: Option<BytesMut>,
    ready: VecDeque<Frame>,
}

impl State {
    fn reset(&mut self) {
        self.au.discard();
        self.fragment = None;
    }

    fn finish_au(&mut self) {
        if let Some(frame) = self.au.take(is_random_access) {
            self.ready.push_back(frame);
        }
    }

    fn handle(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        if self.au.is_damaged(pkt) {
            return Ok(());
        }
        if self.au.timestamp().is_some_and(|ts| ts != pkt.timestamp) {
            self.fragment = None;
            self.finish_au();
        }
        let result = self.handle_payload(pkt);
        if result.is_err() {
            self.fragment = None;
        }
        if pkt.marker {
            self.fragment = None;
            self.finish_au();
        }
        result
    }

    fn handle_payload(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        let payload = &pkt.payload;
        if payload.len() < 2 {
            return Err(malformed("payload too short"));
        }
        if payload[0] & 0x80 != 0 {
            return Err(malformed("forbidden_zero_bit set"));
        }
        match (payload[0] >> 1) & 0x3f {
            NAL_AP => {
                self.fragment = None;
                let mut units = Vec::new();
                let mut pos = 2;
                while pos < payload.len() {
                    let size_bytes = payload
                        .get(pos..pos + 2)
                        .ok_or(malformed("AP size truncated"))?;
                    let size = usize::from(u16::from_be_bytes([size_bytes[0], size_bytes[1]]));
                    pos += 2;
                    if size < 2 {
                        return Err(malformed("AP with a NAL unit shorter than its header"));
                    }
                    if payload.len() < pos + size {
                        return Err(malformed("AP NAL unit truncated"));
                    }
                    units.push(payload.slice(pos..pos + size));
                    pos += size;
                }
                for unit in units {
                    self.au.add(CODEC, pkt.timestamp, unit)?;
                }
                Ok(())
            }
            NAL_FU => self.handle_fu(pkt),
            NAL_PACI => Err(DepacketizeError::Unsupported {
                codec: CODEC,
                reason: "PACI packets",
            }),
            51..=63 => Err(malformed("reserved NAL unit type")),
            _ => {
                self.fragment = None;
                self.au.add(CODEC, pkt.timestamp, payload.clone())
            }
        }
    }

    fn handle_fu(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        let payload = &pkt.payload;
        if payload.len() < 4 {
            return Err(malformed("FU too short"));
        }
        let fu_header = payload[2];
        let start = fu_header & 0x80 != 0;
        let end = fu_header & 0x40 != 0;
        let body = &payload[3..];
        if start {
            let mut buf = BytesMut::with_capacity(2 + body.len() * 4);
            buf.put_u8((payload[0] & 0x81) | ((fu_header & 0x3f) << 1));
            buf.put_u8(payload[1]);
            buf.put_slice(body);
            self.fragment = Some(buf);
        } else {
            let Some(buf) = self.fragment.as_mut() else {
                return Err(DepacketizeError::FragmentWithoutStart { codec: CODEC });
            };
            if self.au.size() + buf.len() + body.len() > MAX_FRAME_SIZE {
                self.reset();
                return Err(DepacketizeError::FrameTooLarge { codec: CODEC });
            }
            buf.put_slice(body);
        }
        if end {
            if let Some(buf) = self.fragment.take() {
                self.au.add(CODEC, pkt.timestamp, freeze_compact(buf))?;
            }
        } else {
            self.au.set_timestamp(pkt.timestamp);
        }
        Ok(())
    }
}

impl H265Depacketizer {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Depacketizer for H265Depacketizer {
    fn push(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        push_with_loss_check(
            &mut self.state,
            &mut self.sequence,
            pkt,
            State::reset,
            State::handle,
        )
    }

    fn pull(&mut self) -> Option<Frame> {
        self.state.ready.pop_front()
    }
}

/// Packetizes access units per RFC 7798: NAL units that fit go out as single NAL unit
/// packets (sharing memory), runs of small ones as AP, large ones as FU.
#[derive(Debug)]
pub struct H265Packetizer {
    out: PacketSequence,
    max_payload_size: usize,
}

impl H265Packetizer {
    pub fn new(out: PacketSequence, max_payload_size: usize) -> Self {
        H265Packetizer {
            out,
            max_payload_size,
        }
    }

    fn flush_group(&mut self, ts: u32, group: &mut Vec<Bytes>, packets: &mut Vec<rtp::Packet>) {
        match group.len() {
            0 => {}
            1 => packets.push(self.out.packet(ts, false, group[0].clone())),
            _ => {
                let size = 2 + group.iter().map(|u| 2 + u.len()).sum::<usize>();
                let mut buf = BytesMut::with_capacity(size);
                let f = group.iter().fold(0, |acc, u| acc | (u[0] & 0x80));
                let layer = group
                    .iter()
                    .map(|u| ((u[0] & 0x01) << 5) | (u[1] >> 3))
                    .min();
                let tid = group.iter().map(|u| u[1] & 0x07).min().unwrap_or(1);
                let layer = layer.unwrap_or(0);
                buf.put_u8(f | (NAL_AP << 1) | (layer >> 5));
                buf.put_u8(((layer & 0x1f) << 3) | tid);
                for u in group.iter() {
                    buf.put_u16(u16::try_from(u.len()).unwrap_or(u16::MAX));
                    buf.put_slice(u);
                }
                packets.push(self.out.packet(ts, false, buf.freeze()));
            }
        }
        group.clear();
    }

    fn fu(&mut self, ts: u32, nal: &Bytes, packets: &mut Vec<rtp::Packet>) {
        let body = &nal[2..];
        let max_body = self.max_payload_size - 3;
        let count = body.len().div_ceil(max_body);
        let mut arena = PayloadArena::with_capacity(body.len() + 3 * count);
        let header = [(nal[0] & 0x81) | (NAL_FU << 1), nal[1]];
        let nal_type = (nal[0] >> 1) & 0x3f;
        for (i, (from, to)) in chunks(body.len(), max_body).enumerate() {
            let mut fu_header = nal_type;
            if i == 0 {
                fu_header |= 0x80;
            }
            if i + 1 == count {
                fu_header |= 0x40;
            }
            let payload = arena.payload(&[&header, &[fu_header], &body[from..to]]);
            packets.push(self.out.packet(ts, false, payload));
        }
    }
}

impl Packetizer for H265Packetizer {
    fn packetize(&mut self, frame: &Frame) -> Result<Vec<rtp::Packet>, PacketizeError> {
        if self.max_payload_size < 4 {
            return Err(PacketizeError::MaxPayloadTooSmall(self.max_payload_size));
        }
        if frame.parts.iter().any(|n| n.len() == 1) {
            return Err(PacketizeError::Invalid {
                codec: CODEC,
                reason: "NAL unit shorter than its header",
            });
        }
        let units: Vec<&Bytes> = frame.parts.iter().filter(|n| !n.is_empty()).collect();
        if units.is_empty() {
            return Err(PacketizeError::EmptyFrame);
        }
        let ts = frame.rtp_timestamp;
        let mut packets = Vec::new();
        let mut group: Vec<Bytes> = Vec::new();
        let mut group_size = 2;
        for nal in units {
            if 4 + nal.len() <= self.max_payload_size {
                if group_size + 2 + nal.len() > self.max_payload_size {
                    self.flush_group(ts, &mut group, &mut packets);
                    group_size = 2;
                }
                group_size += 2 + nal.len();
                group.push(nal.clone());
                continue;
            }
            self.flush_group(ts, &mut group, &mut packets);
            group_size = 2;
            if nal.len() <= self.max_payload_size {
                packets.push(self.out.packet(ts, false, nal.clone()));
            } else {
                self.fu(ts, nal, &mut packets);
            }
        }
        self.flush_group(ts, &mut group, &mut packets);
        PacketSequence::mark_last(&mut packets);
        Ok(packets)
    }
}
