//! VP8 in RTP (RFC 7741): payload descriptor, partitions reassembled into frames.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::depacketizer::{
    DepacketizeError, Depacketizer, FrameAssembler, SequenceTracker, push_with_loss_check,
};
use crate::frame::Frame;
use crate::packetizer::{PacketSequence, PacketizeError, Packetizer, PayloadArena, chunks};
use crate::rtp;

const CODEC: &str = "VP8";

fn malformed(reason: &'static str) -> DepacketizeError {
    DepacketizeError::Malformed {
        codec: CODEC,
        reason,
    }
}

/// The fields of an RFC 7741 payload descriptor that framing needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadDescriptor {
    /// S: start of a VP8 partition.
    pub start_of_partition: bool,
    /// PID: partition index.
    pub partition_index: u8,
    /// PictureID, when present.
    pub picture_id: Option<u16>,
    /// Length of the descriptor in bytes.
    pub len: usize,
}

impl PayloadDescriptor {
    pub fn parse(payload: &[u8]) -> Result<Self, DepacketizeError> {
        let b0 = *payload.first().ok_or(malformed("empty payload"))?;
        let mut pos = 1;
        let mut picture_id = None;
        if b0 & 0x80 != 0 {
            let x = *payload.get(pos).ok_or(malformed("descriptor truncated"))?;
            pos += 1;
            if x & 0x80 != 0 {
                let m = *payload.get(pos).ok_or(malformed("descriptor truncated"))?;
                if m & 0x80 != 0 {
                    let low = *payload
                        .get(pos + 1)
                        .ok_or(malformed("descriptor truncated"))?;
                    picture_id = Some((u16::from(m & 0x7f) << 8) | u16::from(low));
                    pos += 2;
                } else {
                    picture_id = Some(u16::from(m));
                    pos += 1;
                }
            }
            if x & 0x40 != 0 {
                pos += 1; // TL0PICIDX
            }
            if x & 0x30 != 0 {
                pos += 1; // TID/Y/KEYIDX
            }
        }
        if pos >= payload.len() {
            return Err(malformed("no VP8 payload after the descriptor"));
        }
        Ok(PayloadDescriptor {
            start_of_partition: b0 & 0x10 != 0,
            partition_index: b0 & 0x07,
            picture_id,
            len: pos,
        })
    }
}

/// Whether a VP8 frame is a key frame: P bit of the payload header clear (RFC 7741 4.3).
pub fn is_key_frame(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 0x01 == 0)
}

/// Concatenates frame pieces; a single piece is shared, not copied.
pub(crate) fn join(parts: &[Bytes]) -> Bytes {
    match parts {
        [one] => one.clone(),
        many => {
            let mut buf = BytesMut::with_capacity(many.iter().map(Bytes::len).sum());
            for p in many {
                buf.extend_from_slice(p);
            }
            buf.freeze()
        }
    }
}

/// Reassembles VP8 frames; a frame ends at the marker bit.
#[derive(Debug, Default)]
pub struct Vp8Depacketizer {
    sequence: SequenceTracker,
    state: State,
}

#[derive(Debug, Default)]
struct State {
    frame: FrameAssembler,
    started: bool,
    ready: VecDeque<Frame>,
}

impl State {
    fn reset(&mut self) {
        self.frame.clear();
        self.started = false;
    }

    fn handle(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        let d = PayloadDescriptor::parse(&pkt.payload)?;
        let body = pkt.payload.slice(d.len..);
        if d.start_of_partition && d.partition_index == 0 {
            self.reset();
            self.started = true;
        } else if !self.started || self.frame.timestamp() != Some(pkt.timestamp) {
            self.reset();
            return Err(DepacketizeError::FragmentWithoutStart { codec: CODEC });
        }
        if let Err(e) = self.frame.add(CODEC, pkt.timestamp, body) {
            self.reset();
            return Err(e);
        }
        if pkt.marker {
            self.started = false;
            let frame = self
                .frame
                .take(|parts| parts.first().is_some_and(|p| is_key_frame(p)));
            if let Some(mut frame) = frame {
                frame.parts = vec![join(&frame.parts)];
                self.ready.push_back(frame);
            }
        }
        Ok(())
    }
}

impl Vp8Depacketizer {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Depacketizer for Vp8Depacketizer {
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

/// Splits VP8 frames behind a one-byte payload descriptor (S set on the first packet).
#[derive(Debug)]
pub struct Vp8Packetizer {
    out: PacketSequence,
    max_payload_size: usize,
}

impl Vp8Packetizer {
    pub fn new(out: PacketSequence, max_payload_size: usize) -> Self {
        Vp8Packetizer {
            out,
            max_payload_size,
        }
    }
}

impl Packetizer for Vp8Packetizer {
    fn packetize(&mut self, frame: &Frame) -> Result<Vec<rtp::Packet>, PacketizeError> {
        if self.max_payload_size < 2 {
            return Err(PacketizeError::MaxPayloadTooSmall(self.max_payload_size));
        }
        let data = crate::generic::single_payload(frame)?;
        let max_body = self.max_payload_size - 1;
        let count = data.len().div_ceil(max_body);
        let mut arena = PayloadArena::with_capacity(data.len() + count);
        let mut packets = Vec::with_capacity(count);
        for (i, (from, to)) in chunks(data.len(), max_body).enumerate() {
            let descriptor = if i == 0 { 0x10 } else { 0x00 };
            let payload = arena.payload(&[&[descriptor], &data[from..to]]);
            packets.push(
                self.out
                    .packet(frame.rtp_timestamp, i + 1 == count, payload),
            );
        }
        Ok(packets)
    }
}
