//! VP9 in RTP (RFC 9628): payload descriptor with flexible/non-flexible modes and the
//! scalability structure; frames reassembled from B (begin) to the marker bit.

use std::collections::VecDeque;

use crate::depacketizer::{
    DepacketizeError, Depacketizer, FrameAssembler, SequenceTracker, push_with_loss_check,
};
use crate::frame::Frame;
use crate::packetizer::{PacketSequence, PacketizeError, Packetizer, PayloadArena, chunks};
use crate::rtp;
use crate::vp8::join;

pub mod header;

pub use header::{Header, HeaderError, KeyFrameInfo};

const CODEC: &str = "VP9";

fn malformed(reason: &'static str) -> DepacketizeError {
    DepacketizeError::Malformed {
        codec: CODEC,
        reason,
    }
}

/// The fields of an RFC 9628 payload descriptor that framing needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadDescriptor {
    /// P: the frame references others (clear on key frames).
    pub inter_picture_predicted: bool,
    /// B: first packet of a frame.
    pub start_of_frame: bool,
    /// E: last packet of a frame.
    pub end_of_frame: bool,
    pub picture_id: Option<u16>,
    /// Length of the descriptor in bytes.
    pub len: usize,
}

impl PayloadDescriptor {
    pub fn parse(payload: &[u8]) -> Result<Self, DepacketizeError> {
        let byte = |pos: usize| {
            payload
                .get(pos)
                .copied()
                .ok_or(malformed("descriptor truncated"))
        };
        let b0 = byte(0)?;
        let (i, p, l, f, v) = (
            b0 & 0x80 != 0,
            b0 & 0x40 != 0,
            b0 & 0x20 != 0,
            b0 & 0x10 != 0,
            b0 & 0x02 != 0,
        );
        let mut pos = 1;
        let mut picture_id = None;
        if i {
            let m = byte(pos)?;
            if m & 0x80 != 0 {
                picture_id = Some((u16::from(m & 0x7f) << 8) | u16::from(byte(pos + 1)?));
                pos += 2;
            } else {
                picture_id = Some(u16::from(m));
                pos += 1;
            }
        }
        if l {
            pos += if f { 1 } else { 2 };
        }
        if f && p {
            for n in 0..3 {
                let diff = byte(pos)?;
                pos += 1;
                if diff & 0x01 == 0 {
                    break;
                }
                if n == 2 {
                    return Err(malformed("more than 3 reference indices"));
                }
            }
        }
        if v {
            let ss = byte(pos)?;
            pos += 1;
            let spatial_layers = usize::from(ss >> 5) + 1;
            if ss & 0x10 != 0 {
                pos += 4 * spatial_layers;
            }
            if ss & 0x08 != 0 {
                let groups = byte(pos)?;
                pos += 1;
                for _ in 0..groups {
                    let g = byte(pos)?;
                    pos += 1 + usize::from((g >> 2) & 0x03);
                }
            }
        }
        if pos >= payload.len() {
            return Err(malformed("no VP9 payload after the descriptor"));
        }
        Ok(PayloadDescriptor {
            inter_picture_predicted: p,
            start_of_frame: b0 & 0x08 != 0,
            end_of_frame: b0 & 0x04 != 0,
            picture_id,
            len: pos,
        })
    }
}

/// Reassembles VP9 frames (all spatial layers of a picture up to the marker bit).
#[derive(Debug, Default)]
pub struct Vp9Depacketizer {
    sequence: SequenceTracker,
    state: State,
}

#[derive(Debug, Default)]
struct State {
    frame: FrameAssembler,
    key_frame: bool,
    ready: VecDeque<Frame>,
}

impl State {
    fn reset(&mut self) {
        self.frame.clear();
        self.key_frame = false;
    }

    fn handle(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        let d = PayloadDescriptor::parse(&pkt.payload)?;
        let body = pkt.payload.slice(d.len..);
        if self.frame.timestamp().is_some_and(|ts| ts != pkt.timestamp) {
            // The previous picture never got its marker bit.
            self.reset();
        }
        if d.start_of_frame {
            if self.frame.is_empty() {
                self.key_frame = !d.inter_picture_predicted;
            }
        } else if self.frame.is_empty() {
            return Err(DepacketizeError::FragmentWithoutStart { codec: CODEC });
        }
        if let Err(e) = self.frame.add(CODEC, pkt.timestamp, body) {
            self.reset();
            return Err(e);
        }
        if pkt.marker {
            let key_frame = self.key_frame;
            if let Some(mut frame) = self.frame.take(|_| key_frame) {
                frame.parts = vec![join(&frame.parts)];
                self.ready.push_back(frame);
            }
            self.key_frame = false;
        }
        Ok(())
    }
}

impl Vp9Depacketizer {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Depacketizer for Vp9Depacketizer {
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

/// Splits VP9 frames behind a 3-byte descriptor: I with a 15-bit picture ID, P on
/// non-key frames, B on the first packet, E on the last.
#[derive(Debug)]
pub struct Vp9Packetizer {
    out: PacketSequence,
    max_payload_size: usize,
    picture_id: u16,
}

impl Vp9Packetizer {
    pub fn new(out: PacketSequence, max_payload_size: usize) -> Self {
        Vp9Packetizer {
            out,
            max_payload_size,
            picture_id: 0,
        }
    }
}

impl Packetizer for Vp9Packetizer {
    fn packetize(&mut self, frame: &Frame) -> Result<Vec<rtp::Packet>, PacketizeError> {
        if self.max_payload_size < 4 {
            return Err(PacketizeError::MaxPayloadTooSmall(self.max_payload_size));
        }
        let data = crate::generic::single_payload(frame)?;
        let max_body = self.max_payload_size - 3;
        let count = data.len().div_ceil(max_body);
        let mut arena = PayloadArena::with_capacity(data.len() + 3 * count);
        let mut packets = Vec::with_capacity(count);
        let pid = self.picture_id;
        self.picture_id = (self.picture_id + 1) & 0x7fff;
        for (i, (from, to)) in chunks(data.len(), max_body).enumerate() {
            let mut b0 = 0x80;
            if !frame.random_access {
                b0 |= 0x40;
            }
            if i == 0 {
                b0 |= 0x08;
            }
            let last = i + 1 == count;
            if last {
                b0 |= 0x04;
            }
            let header = [b0, 0x80 | (pid >> 8) as u8, (pid & 0xff) as u8];
            let payload = arena.payload(&[&header, &data[from..to]]);
            packets.push(self.out.packet(frame.rtp_timestamp, last, payload));
        }
        Ok(packets)
    }
}
