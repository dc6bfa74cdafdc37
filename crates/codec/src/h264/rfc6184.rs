//! RTP payload format for H.264 (RFC 6184), packetization-mode 1: single NAL unit
//! packets, STAP-A and FU-A.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use super::{NAL_FU_A, NAL_STAP_A, is_random_access};
use crate::depacketizer::{
    DepacketizeError, Depacketizer, FrameAssembler, MAX_FRAME_SIZE, SequenceTracker,
    freeze_compact, push_with_loss_check,
};
use crate::frame::Frame;
use crate::packetizer::{PacketSequence, PacketizeError, Packetizer, PayloadArena, chunks};
use crate::rtp;

const CODEC: &str = "H264";

fn malformed(reason: &'static str) -> DepacketizeError {
    DepacketizeError::Malformed {
        codec: CODEC,
        reason,
    }
}

/// Reassembles access units (frames of NAL units) from RFC 6184 packets.
#[derive(Debug, Default)]
pub struct H264Depacketizer {
    sequence: SequenceTracker,
    state: State,
}

#[derive(Debug, Default)]
struct State {
    au: FrameAssembler,
    /// NAL unit being reassembled from FU-A packets.
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
        // A new timestamp means the previous access unit ended without a marker bit.
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
        let header = *payload.first().ok_or(malformed("empty payload"))?;
        if header & 0x80 != 0 {
            return Err(malformed("forbidden_zero_bit set"));
        }
        match header & 0x1f {
            1..=23 => {
                self.fragment = None;
                self.au.add(CODEC, pkt.timestamp, payload.clone())
            }
            NAL_STAP_A => {
                self.fragment = None;
                let mut units = Vec::new();
                let mut pos = 1;
                while pos < payload.len() {
                    let size_bytes = payload
                        .get(pos..pos + 2)
                        .ok_or(malformed("STAP-A size truncated"))?;
                    let size = usize::from(u16::from_be_bytes([size_bytes[0], size_bytes[1]]));
                    pos += 2;
                    if size == 0 {
                        return Err(malformed("STAP-A with an empty NAL unit"));
                    }
                    if payload.len() < pos + size {
                        return Err(malformed("STAP-A NAL unit truncated"));
                    }
                    units.push(payload.slice(pos..pos + size));
                    pos += size;
                }
                if units.is_empty() {
                    return Err(malformed("STAP-A without NAL units"));
                }
                for unit in units {
                    self.au.add(CODEC, pkt.timestamp, unit)?;
                }
                Ok(())
            }
            NAL_FU_A => self.handle_fu_a(pkt),
            25..=27 | 29 => Err(DepacketizeError::Unsupported {
                codec: CODEC,
                reason: "STAP-B/MTAP/FU-B (packetization-mode 2)",
            }),
            _ => Err(malformed("reserved NAL unit type")),
        }
    }

    fn handle_fu_a(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        let payload = &pkt.payload;
        if payload.len() < 3 {
            return Err(malformed("FU-A too short"));
        }
        let indicator = payload[0];
        let fu_header = payload[1];
        let start = fu_header & 0x80 != 0;
        let end = fu_header & 0x40 != 0;
        let body = &payload[2..];
        if start {
            let mut buf = BytesMut::with_capacity(1 + body.len() * 4);
            buf.put_u8((indicator & 0xe0) | (fu_header & 0x1f));
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

impl H264Depacketizer {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Depacketizer for H264Depacketizer {
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

/// Packetizes access units per RFC 6184 packetization-mode 1: NAL units that fit go
/// out as single NAL unit packets (sharing the frame's memory), runs of small NAL units
/// as STAP-A, large ones as FU-A.
#[derive(Debug)]
pub struct H264Packetizer {
    out: PacketSequence,
    max_payload_size: usize,
}

impl H264Packetizer {
    pub fn new(out: PacketSequence, max_payload_size: usize) -> Self {
        H264Packetizer {
            out,
            max_payload_size,
        }
    }

    fn stap_a(&mut self, timestamp: u32, units: &[Bytes]) -> rtp::Packet {
        let size = 1 + units.iter().map(|u| 2 + u.len()).sum::<usize>();
        let mut buf = BytesMut::with_capacity(size);
        // F bit: OR of units; NRI: maximum of units.
        let f = units.iter().fold(0, |acc, u| acc | (u[0] & 0x80));
        let nri = units.iter().map(|u| u[0] & 0x60).max().unwrap_or(0);
        buf.put_u8(f | nri | NAL_STAP_A);
        for u in units {
            // Callers only group units that fit in a payload, so sizes fit in u16.
            buf.put_u16(u16::try_from(u.len()).unwrap_or(u16::MAX));
            buf.put_slice(u);
        }
        self.out.packet(timestamp, false, buf.freeze())
    }

    fn fu_a(&mut self, timestamp: u32, nal: &Bytes, packets: &mut Vec<rtp::Packet>) {
        let body = &nal[1..];
        let max_body = self.max_payload_size - 2;
        let count = body.len().div_ceil(max_body);
        let mut arena = PayloadArena::with_capacity(body.len() + 2 * count);
        let indicator = (nal[0] & 0xe0) | NAL_FU_A;
        for (i, (from, to)) in chunks(body.len(), max_body).enumerate() {
            let mut fu_header = nal[0] & 0x1f;
            if i == 0 {
                fu_header |= 0x80;
            }
            if i + 1 == count {
                fu_header |= 0x40;
            }
            let payload = arena.payload(&[&[indicator, fu_header], &body[from..to]]);
            packets.push(self.out.packet(timestamp, false, payload));
        }
    }
}

impl Packetizer for H264Packetizer {
    fn packetize(&mut self, frame: &Frame) -> Result<Vec<rtp::Packet>, PacketizeError> {
        if self.max_payload_size < 3 {
            return Err(PacketizeError::MaxPayloadTooSmall(self.max_payload_size));
        }
        let units: Vec<&Bytes> = frame.parts.iter().filter(|n| !n.is_empty()).collect();
        if units.is_empty() {
            return Err(PacketizeError::EmptyFrame);
        }
        let ts = frame.rtp_timestamp;
        let mut packets = Vec::new();
        let mut group: Vec<Bytes> = Vec::new();
        let mut group_size = 1;
        for nal in units {
            if 3 + nal.len() <= self.max_payload_size {
                if group_size + 2 + nal.len() > self.max_payload_size {
                    self.flush_group(ts, &mut group, &mut packets);
                    group_size = 1;
                }
                group_size += 2 + nal.len();
                group.push(nal.clone());
                continue;
            }
            self.flush_group(ts, &mut group, &mut packets);
            group_size = 1;
            if nal.len() <= self.max_payload_size {
                packets.push(self.out.packet(ts, false, nal.clone()));
            } else {
                self.fu_a(ts, nal, &mut packets);
            }
        }
        self.flush_group(ts, &mut group, &mut packets);
        PacketSequence::mark_last(&mut packets);
        Ok(packets)
    }
}

impl H264Packetizer {
    fn flush_group(&mut self, ts: u32, group: &mut Vec<Bytes>, packets: &mut Vec<rtp::Packet>) {
        match group.len() {
            0 => {}
            1 => packets.push(self.out.packet(ts, false, group[0].clone())),
            _ => packets.push(self.stap_a(ts, group)),
        }
        group.clear();
    }
}
