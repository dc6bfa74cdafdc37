//! AV1 in RTP (AOMedia "RTP Payload Format for AV1"): aggregation header (Z, Y, W, N),
//! OBU elements with LEB128 lengths, OBUs fragmented across packets.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use crate::depacketizer::{
    DepacketizeError, Depacketizer, FrameAssembler, MAX_FRAME_SIZE, SequenceTracker,
    push_with_loss_check,
};
use crate::frame::Frame;
use crate::packetizer::{PacketSequence, PacketizeError, Packetizer};
use crate::rtp;

pub mod sequence_header;

pub use sequence_header::{SequenceHeader, SequenceHeaderError};

const CODEC: &str = "AV1";

/// OBU_SEQUENCE_HEADER.
pub const OBU_SEQUENCE_HEADER: u8 = 1;
/// OBU_TEMPORAL_DELIMITER.
pub const OBU_TEMPORAL_DELIMITER: u8 = 2;

fn malformed(reason: &'static str) -> DepacketizeError {
    DepacketizeError::Malformed {
        codec: CODEC,
        reason,
    }
}

/// The obu_type of an OBU (from its header byte).
pub fn obu_type(obu: &[u8]) -> Option<u8> {
    obu.first().map(|h| (h >> 3) & 0x0f)
}

/// Whether a temporal unit starts a coded video sequence (holds a sequence header).
pub fn is_random_access(obus: &[Bytes]) -> bool {
    obus.iter()
        .any(|o| obu_type(o) == Some(OBU_SEQUENCE_HEADER))
}

/// Reads an unsigned LEB128 value (at most 8 bytes, AV1 4.10.5): value and length.
pub fn read_leb128(data: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, b) in data.iter().take(8).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Appends `value` as unsigned LEB128.
pub fn write_leb128(out: &mut BytesMut, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.put_u8(byte);
            return;
        }
        out.put_u8(byte | 0x80);
    }
}

/// Bytes needed to encode `value` as LEB128.
pub fn leb128_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// Reassembles temporal units (frames of OBUs); a temporal unit ends at the marker bit.
#[derive(Debug, Default)]
pub struct Av1Depacketizer {
    sequence: SequenceTracker,
    state: State,
}

#[derive(Debug, Default)]
struct State {
    tu: FrameAssembler,
    /// OBU continued from the previous packet (its Y bit was set).
    fragment: Option<BytesMut>,
    /// N bit seen in this temporal unit.
    new_sequence: bool,
    ready: VecDeque<Frame>,
}

impl State {
    fn reset(&mut self) {
        self.tu.discard();
        self.fragment = None;
        self.new_sequence = false;
    }

    fn finish(&mut self) {
        let n = self.new_sequence;
        if let Some(frame) = self.tu.take(|obus| n || is_random_access(obus)) {
            self.ready.push_back(frame);
        }
        self.fragment = None;
        self.new_sequence = false;
    }

    fn handle(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        if self.tu.is_damaged(pkt) {
            return Ok(());
        }
        if self.tu.timestamp().is_some_and(|ts| ts != pkt.timestamp) {
            self.finish();
        }
        let result = self.handle_payload(pkt);
        if result.is_err() {
            self.fragment = None;
        }
        if pkt.marker {
            self.finish();
        }
        result
    }

    fn handle_payload(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        let payload = &pkt.payload;
        let header = *payload.first().ok_or(malformed("empty payload"))?;
        let z = header & 0x80 != 0;
        let y = header & 0x40 != 0;
        let w = usize::from((header >> 4) & 0x03);
        if header & 0x08 != 0 {
            self.new_sequence = true;
        }
        let mut elements = Vec::new();
        let mut pos = 1;
        while pos < payload.len() {
            let last_without_length = w != 0 && elements.len() + 1 == w;
            let size = if last_without_length {
                payload.len() - pos
            } else {
                let (len, n) =
                    read_leb128(&payload[pos..]).ok_or(malformed("invalid element length"))?;
                pos += n;
                usize::try_from(len).map_err(|_| malformed("element length too large"))?
            };
            if payload.len() - pos < size {
                return Err(malformed("OBU element truncated"));
            }
            elements.push(payload.slice(pos..pos + size));
            pos += size;
        }
        if elements.is_empty() {
            return Err(malformed("no OBU elements"));
        }
        if w != 0 && elements.len() != w {
            return Err(malformed("element count differs from W"));
        }
        self.tu.set_timestamp(pkt.timestamp);
        let count = elements.len();
        let mut missing_start = false;
        for (i, element) in elements.into_iter().enumerate() {
            let continues_previous = i == 0 && z;
            let continues_next = i + 1 == count && y;
            let obu = if continues_previous {
                match self.fragment.take() {
                    Some(mut buf) => {
                        if self.tu.size() + buf.len() + element.len() > MAX_FRAME_SIZE {
                            self.reset();
                            return Err(DepacketizeError::FrameTooLarge { codec: CODEC });
                        }
                        buf.extend_from_slice(&element);
                        Some(buf)
                    }
                    None => {
                        missing_start = true;
                        None
                    }
                }
            } else {
                self.fragment = None;
                None
            };
            match (obu, continues_next) {
                (Some(buf), true) => self.fragment = Some(buf),
                (Some(buf), false) => self.tu.add(CODEC, pkt.timestamp, buf.freeze())?,
                (None, _) if continues_previous => {}
                (None, true) => self.fragment = Some(BytesMut::from(&element[..])),
                (None, false) if !element.is_empty() => {
                    self.tu.add(CODEC, pkt.timestamp, element)?;
                }
                (None, false) => {}
            }
        }
        if missing_start {
            return Err(DepacketizeError::FragmentWithoutStart { codec: CODEC });
        }
        Ok(())
    }
}

impl Av1Depacketizer {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Depacketizer for Av1Depacketizer {
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

/// One planned packet: flags and the (obu, from, to) ranges it carries.
struct Plan {
    z: bool,
    y: bool,
    elements: Vec<(usize, usize, usize)>,
}

/// Packs a temporal unit's OBUs into packets with length-prefixed elements (W = 0),
/// fragmenting OBUs across packets; N is set on the first packet of a random-access
/// temporal unit. Temporal delimiters are dropped; other OBUs are sent as given (a
/// size field, if present, is kept).
#[derive(Debug)]
pub struct Av1Packetizer {
    out: PacketSequence,
    max_payload_size: usize,
}

impl Av1Packetizer {
    pub fn new(out: PacketSequence, max_payload_size: usize) -> Self {
        Av1Packetizer {
            out,
            max_payload_size,
        }
    }

    fn plan(&self, obus: &[&Bytes]) -> Vec<Plan> {
        let mut plans = Vec::new();
        let mut current = Plan {
            z: false,
            y: false,
            elements: Vec::new(),
        };
        let mut room = self.max_payload_size - 1;
        for (index, obu) in obus.iter().enumerate() {
            let mut from = 0;
            while from < obu.len() {
                if room < 2 {
                    plans.push(current);
                    current = Plan {
                        z: false,
                        y: false,
                        elements: Vec::new(),
                    };
                    room = self.max_payload_size - 1;
                }
                let mut n = (obu.len() - from).min(room - 1);
                while leb128_len(n as u64) + n > room {
                    n -= 1;
                }
                current.elements.push((index, from, from + n));
                room -= leb128_len(n as u64) + n;
                from += n;
                if from < obu.len() {
                    current.y = true;
                    plans.push(current);
                    current = Plan {
                        z: true,
                        y: false,
                        elements: Vec::new(),
                    };
                    room = self.max_payload_size - 1;
                }
            }
        }
        if !current.elements.is_empty() {
            plans.push(current);
        }
        plans
    }
}

impl Packetizer for Av1Packetizer {
    fn packetize(&mut self, frame: &Frame) -> Result<Vec<rtp::Packet>, PacketizeError> {
        if self.max_payload_size < 3 {
            return Err(PacketizeError::MaxPayloadTooSmall(self.max_payload_size));
        }
        // Temporal delimiters are implied by the RTP timestamp and not sent (AV1 RTP 5).
        let obus: Vec<&Bytes> = frame
            .parts
            .iter()
            .filter(|o| !o.is_empty() && obu_type(o) != Some(OBU_TEMPORAL_DELIMITER))
            .collect();
        if obus.is_empty() {
            return Err(PacketizeError::EmptyFrame);
        }
        let plans = self.plan(&obus);
        let total: usize = plans
            .iter()
            .map(|p| 1 + p.elements.iter().map(|(_, f, t)| 2 + t - f).sum::<usize>())
            .sum();
        let mut buf = BytesMut::with_capacity(total);
        let count = plans.len();
        let mut packets = Vec::with_capacity(count);
        for (i, plan) in plans.into_iter().enumerate() {
            let mut header = 0;
            if plan.z {
                header |= 0x80;
            }
            if plan.y {
                header |= 0x40;
            }
            if i == 0 && frame.random_access {
                header |= 0x08;
            }
            buf.put_u8(header);
            for (index, from, to) in plan.elements {
                write_leb128(&mut buf, (to - from) as u64);
                buf.put_slice(&obus[index][from..to]);
            }
            let payload = buf.split().freeze();
            packets.push(
                self.out
                    .packet(frame.rtp_timestamp, i + 1 == count, payload),
            );
        }
        Ok(packets)
    }
}
