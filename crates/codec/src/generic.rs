//! Formats ferromtx does not interpret: every RTP payload is passed through as one frame.
//! The same single-packet framing serves Opus, G711, G722 and LPCM on receive.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::depacketizer::{DepacketizeError, Depacketizer, SequenceTracker, push_with_loss_check};
use crate::frame::Frame;
use crate::packetizer::{PacketSequence, PacketizeError, Packetizer};
use crate::rtp;

/// One frame per packet, its payload shared with the packet.
#[derive(Debug, Default)]
pub struct GenericDepacketizer {
    sequence: SequenceTracker,
    ready: VecDeque<Frame>,
}

impl GenericDepacketizer {
    pub fn new() -> Self {
        Self::default()
    }

    fn handle(ready: &mut VecDeque<Frame>, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        if !pkt.payload.is_empty() {
            ready.push_back(Frame {
                rtp_timestamp: pkt.timestamp,
                random_access: true,
                parts: vec![pkt.payload.clone()],
            });
        }
        Ok(())
    }
}

impl Depacketizer for GenericDepacketizer {
    fn push(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        // Nothing is assembled across packets, so a gap drops nothing.
        push_with_loss_check(
            &mut self.ready,
            &mut self.sequence,
            pkt,
            |_| {},
            Self::handle,
        )
    }

    fn pull(&mut self) -> Option<Frame> {
        self.ready.pop_front()
    }
}

/// The frame's payload as one buffer: shared when it has a single part, joined otherwise.
pub(crate) fn single_payload(frame: &Frame) -> Result<Bytes, PacketizeError> {
    let payload = match frame.parts.as_slice() {
        [] => Bytes::new(),
        [one] => one.clone(),
        many => {
            let mut buf = BytesMut::with_capacity(frame.len());
            for p in many {
                buf.extend_from_slice(p);
            }
            buf.freeze()
        }
    };
    if payload.is_empty() {
        return Err(PacketizeError::EmptyFrame);
    }
    Ok(payload)
}

/// Sends each frame as one packet with the marker bit set; frames that do not fit are
/// an error, since the payload format is unknown.
#[derive(Debug)]
pub struct GenericPacketizer {
    out: PacketSequence,
    max_payload_size: usize,
}

impl GenericPacketizer {
    pub fn new(out: PacketSequence, max_payload_size: usize) -> Self {
        GenericPacketizer {
            out,
            max_payload_size,
        }
    }
}

impl Packetizer for GenericPacketizer {
    fn packetize(&mut self, frame: &Frame) -> Result<Vec<rtp::Packet>, PacketizeError> {
        let payload = single_payload(frame)?;
        if payload.len() > self.max_payload_size {
            return Err(PacketizeError::TooLarge {
                codec: "Generic",
                size: payload.len(),
                max: self.max_payload_size,
            });
        }
        Ok(vec![self.out.packet(frame.rtp_timestamp, true, payload)])
    }
}
