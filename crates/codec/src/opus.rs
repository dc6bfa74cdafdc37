//! Opus (RFC 6716) in RTP (RFC 7587): one Opus packet per RTP packet, 48 kHz clock.

use crate::frame::Frame;
use crate::generic::single_payload;
use crate::packetizer::{PacketSequence, PacketizeError, Packetizer};
use crate::rtp;

/// Duration of an Opus packet in 48 kHz samples, from its TOC byte (RFC 6716 3.1).
/// `None` for an empty or truncated packet.
pub fn packet_duration(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    // Frame sizes in units of 2.5 ms (120 samples at 48 kHz).
    let quarter_ms_units: u32 = match config {
        0..=11 => [4, 8, 16, 24][usize::from(config % 4)],
        12..=15 => [4, 8][usize::from(config % 2)],
        _ => [1, 2, 4, 8][usize::from(config % 4)],
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3f),
    };
    Some(frames * quarter_ms_units * 120)
}

/// Sends each Opus packet as one RTP packet (Opus packets are never fragmented).
#[derive(Debug)]
pub struct OpusPacketizer {
    out: PacketSequence,
    max_payload_size: usize,
}

impl OpusPacketizer {
    pub fn new(out: PacketSequence, max_payload_size: usize) -> Self {
        OpusPacketizer {
            out,
            max_payload_size,
        }
    }
}

impl Packetizer for OpusPacketizer {
    fn packetize(&mut self, frame: &Frame) -> Result<Vec<rtp::Packet>, PacketizeError> {
        let payload = single_payload(frame)?;
        if payload.len() > self.max_payload_size {
            return Err(PacketizeError::TooLarge {
                codec: "Opus",
                size: payload.len(),
                max: self.max_payload_size,
            });
        }
        // RFC 7587 4.1: the marker bit follows RFC 3551 (talkspurt start); MediaMTX
        // leaves it clear.
        Ok(vec![self.out.packet(frame.rtp_timestamp, false, payload)])
    }
}
