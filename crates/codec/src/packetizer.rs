//! The packetizer side: frames in, RTP packets out.

use bytes::{BufMut, Bytes, BytesMut};

use crate::format::Format;
use crate::frame::Frame;
use crate::rtp;

/// Why a frame could not be packetized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketizeError {
    /// The frame has no payload.
    #[error("empty frame")]
    EmptyFrame,
    /// The configured maximum payload cannot hold even the payload format's headers.
    #[error("maximum payload size {0} is too small")]
    MaxPayloadTooSmall(usize),
    /// A unit that the payload format cannot fragment does not fit.
    #[error("{codec} frame of {size} bytes exceeds the maximum payload size {max}")]
    TooLarge {
        codec: &'static str,
        size: usize,
        max: usize,
    },
    /// A part of the frame is not valid for the codec.
    #[error("invalid {codec} frame: {reason}")]
    Invalid {
        codec: &'static str,
        reason: &'static str,
    },
}

/// Turns frames of one track into RTP packets.
pub trait Packetizer {
    /// Packets carrying `frame`, in sending order, with consecutive sequence numbers.
    fn packetize(&mut self, frame: &Frame) -> Result<Vec<rtp::Packet>, PacketizeError>;
}

/// The packetizer for a track's format. `max_payload_size` bounds each packet's payload
/// (RTP header excluded); sequence numbers start at `initial_seq` and wrap.
pub fn packetizer(
    format: &Format,
    max_payload_size: usize,
    ssrc: u32,
    initial_seq: u16,
) -> Box<dyn Packetizer + Send> {
    let out = PacketSequence::new(format.payload_type(), ssrc, initial_seq);
    match format {
        Format::H264 { .. } => Box::new(crate::h264::H264Packetizer::new(out, max_payload_size)),
        Format::H265 { .. } => Box::new(crate::h265::H265Packetizer::new(out, max_payload_size)),
        Format::Av1 { .. } => Box::new(crate::av1::Av1Packetizer::new(out, max_payload_size)),
        Format::Vp8 { .. } => Box::new(crate::vp8::Vp8Packetizer::new(out, max_payload_size)),
        Format::Vp9 { .. } => Box::new(crate::vp9::Vp9Packetizer::new(out, max_payload_size)),
        Format::Mpeg4Audio {
            config,
            size_length,
            index_length,
            index_delta_length,
            ..
        } => {
            let samples = crate::mpeg4audio::AudioSpecificConfig::parse(config)
                .map_or(1024, |c| c.samples_per_access_unit());
            Box::new(
                crate::mpeg4audio::Mpeg4AudioPacketizer::new(
                    out,
                    max_payload_size,
                    *size_length,
                    *index_length,
                    *index_delta_length,
                )
                .with_samples_per_access_unit(samples),
            )
        }
        Format::Opus { .. } => Box::new(crate::opus::OpusPacketizer::new(out, max_payload_size)),
        Format::G711 { channels, .. } => Box::new(crate::lpcm::SampleSplitter::new(
            out,
            max_payload_size,
            usize::from((*channels).max(1)),
        )),
        Format::G722 { .. } => Box::new(crate::lpcm::SampleSplitter::new(out, max_payload_size, 1)),
        Format::Lpcm {
            bit_depth,
            channels,
            ..
        } => Box::new(crate::lpcm::SampleSplitter::new(
            out,
            max_payload_size,
            usize::from(bit_depth / 8).max(1) * usize::from((*channels).max(1)),
        )),
        Format::Generic { .. } => Box::new(crate::generic::GenericPacketizer::new(
            out,
            max_payload_size,
        )),
    }
}

/// Stamps outgoing packets with payload type, SSRC and consecutive sequence numbers.
#[derive(Debug, Clone)]
pub struct PacketSequence {
    payload_type: u8,
    ssrc: u32,
    next_seq: u16,
}

impl PacketSequence {
    pub fn new(payload_type: u8, ssrc: u32, initial_seq: u16) -> Self {
        PacketSequence {
            payload_type,
            ssrc,
            next_seq: initial_seq,
        }
    }

    /// The sequence number the next packet gets.
    pub fn next_sequence_number(&self) -> u16 {
        self.next_seq
    }

    /// A packet with the next sequence number.
    pub fn packet(&mut self, timestamp: u32, marker: bool, payload: Bytes) -> rtp::Packet {
        let sequence_number = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        rtp::Packet {
            marker,
            payload_type: self.payload_type,
            sequence_number,
            timestamp,
            ssrc: self.ssrc,
            csrc: Vec::new(),
            extension: None,
            payload,
        }
    }

    /// Sets the marker bit of the last packet in `packets`.
    pub(crate) fn mark_last(packets: &mut [rtp::Packet]) {
        if let Some(last) = packets.last_mut() {
            last.marker = true;
        }
    }
}

/// One allocation from which many small payloads (header + body) are cut without
/// further copies: used for fragments, which need a header in front of a slice.
pub(crate) struct PayloadArena {
    buf: BytesMut,
}

impl PayloadArena {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        PayloadArena {
            buf: BytesMut::with_capacity(capacity),
        }
    }

    /// Writes `parts` one after another and returns them as one payload.
    pub(crate) fn payload(&mut self, parts: &[&[u8]]) -> Bytes {
        for p in parts {
            self.buf.put_slice(p);
        }
        self.buf.split().freeze()
    }
}

/// Splits `len` bytes into chunks of at most `max` bytes: (start, end) pairs.
pub(crate) fn chunks(len: usize, max: usize) -> impl Iterator<Item = (usize, usize)> {
    let max = max.max(1);
    (0..len.div_ceil(max)).map(move |i| (i * max, ((i + 1) * max).min(len)))
}
