//! Linear PCM in RTP: L8/L16 (RFC 3551 4.5.10-11) and L24 (RFC 3190), big-endian,
//! interleaved channels. The splitter here also serves G711 and G722, whose payloads
//! are likewise plain sample sequences.

use crate::frame::Frame;
use crate::generic::single_payload;
use crate::packetizer::{PacketSequence, PacketizeError, Packetizer};
use crate::rtp;

/// Splits a frame of samples into packets on sample boundaries; the timestamp of each
/// packet advances by the samples before it.
#[derive(Debug)]
pub struct SampleSplitter {
    out: PacketSequence,
    max_payload_size: usize,
    /// Bytes per RTP clock tick: bytes per sample times channels.
    sample_size: usize,
}

impl SampleSplitter {
    pub fn new(out: PacketSequence, max_payload_size: usize, sample_size: usize) -> Self {
        SampleSplitter {
            out,
            max_payload_size,
            sample_size: sample_size.max(1),
        }
    }
}

impl Packetizer for SampleSplitter {
    fn packetize(&mut self, frame: &Frame) -> Result<Vec<rtp::Packet>, PacketizeError> {
        let payload = single_payload(frame)?;
        if payload.len() % self.sample_size != 0 {
            return Err(PacketizeError::Invalid {
                codec: "LPCM",
                reason: "payload is not a whole number of samples",
            });
        }
        let per_packet = self.max_payload_size / self.sample_size * self.sample_size;
        if per_packet == 0 {
            return Err(PacketizeError::MaxPayloadTooSmall(self.max_payload_size));
        }
        let mut packets = Vec::with_capacity(payload.len().div_ceil(per_packet));
        let mut timestamp = frame.rtp_timestamp;
        for (from, to) in crate::packetizer::chunks(payload.len(), per_packet) {
            packets.push(self.out.packet(timestamp, false, payload.slice(from..to)));
            let ticks = (to - from) / self.sample_size;
            timestamp = timestamp.wrapping_add(u32::try_from(ticks).unwrap_or(u32::MAX));
        }
        Ok(packets)
    }
}
