//! MPEG-4 Audio (AAC): the AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) and the RTP
//! payload format RFC 3640 in generic mode (AAC-hbr: sizeLength 13, indexLength 3).

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::bitstream::{BitReader, BitWriter, BitstreamError};
use crate::depacketizer::{
    DepacketizeError, Depacketizer, MAX_FRAME_SIZE, SequenceTracker, push_with_loss_check,
};
use crate::frame::Frame;
use crate::packetizer::{PacketSequence, PacketizeError, Packetizer, PayloadArena, chunks};
use crate::rtp;

const CODEC: &str = "MPEG-4 Audio";

/// Sampling frequencies by samplingFrequencyIndex.
const SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// Why an AudioSpecificConfig could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("AudioSpecificConfig truncated: {0}")]
    Bitstream(#[from] BitstreamError),
    #[error("invalid sampling frequency index {0}")]
    SampleRateIndex(u32),
    #[error("unsupported channel configuration {0}")]
    ChannelConfig(u32),
    #[error("invalid hex in config")]
    Hex,
}

/// The fields of an AudioSpecificConfig that a server needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSpecificConfig {
    /// audioObjectType (2 = AAC-LC).
    pub object_type: u8,
    pub sample_rate: u32,
    pub channel_count: u8,
    /// Explicit SBR/PS signalling (object type 5 or 29): the extension sample rate.
    pub extension_sample_rate: Option<u32>,
    /// GASpecificConfig frameLengthFlag: 960-sample frames instead of 1024.
    pub frame_length_960: bool,
}

fn read_sample_rate(r: &mut BitReader<'_>) -> Result<u32, ConfigError> {
    let index = r.read_bits(4)?;
    if index == 15 {
        return Ok(r.read_bits(24)?);
    }
    SAMPLE_RATES
        .get(index as usize)
        .copied()
        .ok_or(ConfigError::SampleRateIndex(index))
}

fn write_sample_rate(w: &mut BitWriter, rate: u32) {
    match SAMPLE_RATES.iter().position(|r| *r == rate) {
        Some(i) => w.write_bits(i as u32, 4),
        None => {
            w.write_bits(15, 4);
            w.write_bits(rate, 24);
        }
    }
}

fn read_object_type(r: &mut BitReader<'_>) -> Result<u8, ConfigError> {
    let t = r.read_bits(5)?;
    if t == 31 {
        return Ok((32 + r.read_bits(6)?) as u8);
    }
    Ok(t as u8)
}

fn write_object_type(w: &mut BitWriter, t: u8) {
    if t >= 31 {
        w.write_bits(31, 5);
        w.write_bits(u32::from(t - 32), 6);
    } else {
        w.write_bits(u32::from(t), 5);
    }
}

impl AudioSpecificConfig {
    pub fn parse(data: &[u8]) -> Result<Self, ConfigError> {
        let mut r = BitReader::new(data);
        let mut object_type = read_object_type(&mut r)?;
        let sample_rate = read_sample_rate(&mut r)?;
        let channel_config = r.read_bits(4)?;
        let channel_count = match channel_config {
            1..=6 => channel_config as u8,
            7 => 8,
            other => return Err(ConfigError::ChannelConfig(other)),
        };
        let mut extension_sample_rate = None;
        if object_type == 5 || object_type == 29 {
            extension_sample_rate = Some(read_sample_rate(&mut r)?);
            object_type = read_object_type(&mut r)?;
        }
        let mut frame_length_960 = false;
        if matches!(object_type, 1..=4 | 6 | 7 | 17 | 19..=23) {
            frame_length_960 = r.read_bit()?;
        }
        Ok(AudioSpecificConfig {
            object_type,
            sample_rate,
            channel_count,
            extension_sample_rate,
            frame_length_960,
        })
    }

    /// Encodes the config (GASpecificConfig with no core coder and no extension).
    pub fn marshal(&self) -> Bytes {
        let mut w = BitWriter::new();
        let explicit_sbr = self.extension_sample_rate.is_some();
        write_object_type(&mut w, if explicit_sbr { 5 } else { self.object_type });
        write_sample_rate(&mut w, self.sample_rate);
        let channel_config = if self.channel_count == 8 {
            7
        } else {
            self.channel_count
        };
        w.write_bits(u32::from(channel_config), 4);
        if let Some(rate) = self.extension_sample_rate {
            write_sample_rate(&mut w, rate);
            write_object_type(&mut w, self.object_type);
        }
        w.write_bits(u32::from(self.frame_length_960), 1);
        w.write_bits(0, 2); // dependsOnCoreCoder, extensionFlag
        Bytes::from(w.into_bytes())
    }

    /// Samples per access unit.
    pub fn samples_per_access_unit(&self) -> u32 {
        if self.frame_length_960 { 960 } else { 1024 }
    }
}

/// Parses the hex `config=` value of an RFC 3640 fmtp.
pub fn parse_config_hex(hex: &str) -> Result<Bytes, ConfigError> {
    let hex = hex.trim();
    if !hex.len().is_multiple_of(2) {
        return Err(ConfigError::Hex);
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or(ConfigError::Hex)
        })
        .collect::<Result<Vec<u8>, _>>()
        .map(Bytes::from)
}

/// Lower-case hex, as in an fmtp `config=`.
pub fn format_config_hex(config: &[u8]) -> String {
    config.iter().map(|b| format!("{b:02x}")).collect()
}

fn malformed(reason: &'static str) -> DepacketizeError {
    DepacketizeError::Malformed {
        codec: CODEC,
        reason,
    }
}

/// Receives RFC 3640 packets: one frame per packet holding its access units, or one
/// frame per reassembled fragmented access unit.
#[derive(Debug)]
pub struct Mpeg4AudioDepacketizer {
    sequence: SequenceTracker,
    state: State,
}

#[derive(Debug)]
struct State {
    size_length: u8,
    index_length: u8,
    index_delta_length: u8,
    /// Fragmented AU being reassembled: expected size, timestamp, bytes so far.
    fragment: Option<(usize, u32, BytesMut)>,
    ready: VecDeque<Frame>,
}

impl Mpeg4AudioDepacketizer {
    pub fn new(size_length: u8, index_length: u8, index_delta_length: u8) -> Self {
        Mpeg4AudioDepacketizer {
            sequence: SequenceTracker::default(),
            state: State {
                size_length,
                index_length,
                index_delta_length,
                fragment: None,
                ready: VecDeque::new(),
            },
        }
    }
}

impl State {
    fn reset(&mut self) {
        self.fragment = None;
    }

    fn handle(&mut self, pkt: &rtp::Packet) -> Result<(), DepacketizeError> {
        if self.size_length == 0
            || self.size_length > 32
            || self.index_length > 32
            || self.index_delta_length > 32
        {
            return Err(DepacketizeError::Unsupported {
                codec: CODEC,
                reason: "AU header field lengths",
            });
        }
        let payload = &pkt.payload;
        let len_bytes = payload
            .get(..2)
            .ok_or(malformed("AU-headers-length missing"))?;
        let headers_bits = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        let headers_bytes = headers_bits.div_ceil(8);
        let headers = payload
            .get(2..2 + headers_bytes)
            .ok_or(malformed("AU headers truncated"))?;
        let mut r = BitReader::new(headers);
        let mut sizes = Vec::new();
        let mut consumed = 0;
        while consumed < headers_bits {
            let index_bits = if sizes.is_empty() {
                self.index_length
            } else {
                self.index_delta_length
            };
            let size = r
                .read_bits(u32::from(self.size_length))
                .map_err(|_| malformed("AU header truncated"))?;
            r.read_bits(u32::from(index_bits))
                .map_err(|_| malformed("AU header truncated"))?;
            consumed += usize::from(self.size_length) + usize::from(index_bits);
            sizes.push(size as usize);
        }
        if consumed != headers_bits || sizes.is_empty() {
            return Err(malformed("AU-headers-length does not match AU headers"));
        }
        let data = payload.slice(2 + headers_bytes..);

        if let [size] = sizes[..] {
            let continues = matches!(&self.fragment,
                Some((expected, ts, _)) if *expected == size && *ts == pkt.timestamp);
            if continues || data.len() < size {
                return self.handle_fragment(pkt, size, &data);
            }
        }
        // Any unfinished fragmented AU is abandoned.
        self.fragment = None;
        let mut parts = Vec::with_capacity(sizes.len());
        let mut pos = 0;
        for size in sizes {
            if data.len() < pos + size {
                return Err(malformed("access unit truncated"));
            }
            parts.push(data.slice(pos..pos + size));
            pos += size;
        }
        self.ready.push_back(Frame {
            rtp_timestamp: pkt.timestamp,
            random_access: true,
            parts,
        });
        Ok(())
    }

    fn handle_fragment(
        &mut self,
        pkt: &rtp::Packet,
        size: usize,
        data: &Bytes,
    ) -> Result<(), DepacketizeError> {
        if size > MAX_FRAME_SIZE {
            self.fragment = None;
            return Err(DepacketizeError::FrameTooLarge { codec: CODEC });
        }
        match &mut self.fragment {
            Some((expected, ts, buf)) if *expected == size && *ts == pkt.timestamp => {
                if buf.len() + data.len() > size {
                    self.fragment = None;
                    return Err(malformed("fragment exceeds AU size"));
                }
                buf.extend_from_slice(data);
            }
            _ => {
                let mut buf = BytesMut::with_capacity(size);
                buf.extend_from_slice(data);
                self.fragment = Some((size, pkt.timestamp, buf));
            }
        }
        if let Some((expected, ts, buf)) = self.fragment.take() {
            if buf.len() == expected {
                self.ready.push_back(Frame {
                    rtp_timestamp: ts,
                    random_access: true,
                    parts: vec![buf.freeze()],
                });
            } else if pkt.marker {
                return Err(malformed("fragmented AU ends early"));
            } else {
                self.fragment = Some((expected, ts, buf));
            }
        }
        Ok(())
    }
}

impl Depacketizer for Mpeg4AudioDepacketizer {
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

/// Packs access units into RFC 3640 packets: as many whole AUs per packet as fit,
/// fragmenting an AU that does not fit alone. Each packet's timestamp is that of its
/// first AU (1024 samples per AU unless told otherwise).
#[derive(Debug)]
pub struct Mpeg4AudioPacketizer {
    out: PacketSequence,
    max_payload_size: usize,
    size_length: u8,
    index_length: u8,
    index_delta_length: u8,
    samples_per_au: u32,
}

impl Mpeg4AudioPacketizer {
    pub fn new(
        out: PacketSequence,
        max_payload_size: usize,
        size_length: u8,
        index_length: u8,
        index_delta_length: u8,
    ) -> Self {
        Mpeg4AudioPacketizer {
            out,
            max_payload_size,
            size_length,
            index_length,
            index_delta_length,
            samples_per_au: 1024,
        }
    }

    /// Sets the samples per access unit (timestamp step between AUs); 1024 by default.
    pub fn with_samples_per_access_unit(mut self, samples: u32) -> Self {
        self.samples_per_au = samples;
        self
    }

    fn header_bits(&self, count: usize) -> usize {
        if count == 0 {
            return 0;
        }
        usize::from(self.size_length)
            + usize::from(self.index_length)
            + (count - 1) * (usize::from(self.size_length) + usize::from(self.index_delta_length))
    }

    fn headers(&self, sizes: &[usize]) -> Vec<u8> {
        let bits = self.header_bits(sizes.len());
        let mut w = BitWriter::new();
        w.write_bits(bits as u32, 16);
        for (i, size) in sizes.iter().enumerate() {
            w.write_bits(*size as u32, u32::from(self.size_length));
            let index_bits = if i == 0 {
                self.index_length
            } else {
                self.index_delta_length
            };
            w.write_bits(0, u32::from(index_bits));
        }
        w.into_bytes()
    }

    fn aggregate(&mut self, timestamp: u32, aus: &[Bytes]) -> rtp::Packet {
        let sizes: Vec<usize> = aus.iter().map(Bytes::len).collect();
        let headers = self.headers(&sizes);
        let mut buf = BytesMut::with_capacity(headers.len() + sizes.iter().sum::<usize>());
        buf.extend_from_slice(&headers);
        for au in aus {
            buf.extend_from_slice(au);
        }
        self.out.packet(timestamp, true, buf.freeze())
    }
}

impl Packetizer for Mpeg4AudioPacketizer {
    fn packetize(&mut self, frame: &Frame) -> Result<Vec<rtp::Packet>, PacketizeError> {
        if self.size_length == 0
            || self.size_length > 32
            || self.index_length > 32
            || self.index_delta_length > 32
        {
            return Err(PacketizeError::Invalid {
                codec: CODEC,
                reason: "AU header field lengths",
            });
        }
        let aus: Vec<Bytes> = frame
            .parts
            .iter()
            .filter(|a| !a.is_empty())
            .cloned()
            .collect();
        if aus.is_empty() {
            return Err(PacketizeError::EmptyFrame);
        }
        let max_au = (1u64 << self.size_length) - 1;
        if let Some(au) = aus.iter().find(|a| a.len() as u64 > max_au) {
            return Err(PacketizeError::TooLarge {
                codec: CODEC,
                size: au.len(),
                max: max_au as usize,
            });
        }
        let one_header = 2 + self.header_bits(1).div_ceil(8);
        if self.max_payload_size <= one_header {
            return Err(PacketizeError::MaxPayloadTooSmall(self.max_payload_size));
        }
        let mut packets = Vec::new();
        let mut group_start = 0;
        let mut i = 0;
        while i <= aus.len() {
            // Can AU i join the group [group_start, i)?
            let fits = i < aus.len() && {
                let n = i - group_start + 1;
                let data: usize = aus[group_start..=i].iter().map(Bytes::len).sum();
                let bits = self.header_bits(n);
                bits <= usize::from(u16::MAX)
                    && 2 + bits.div_ceil(8) + data <= self.max_payload_size
            };
            if fits {
                i += 1;
                continue;
            }
            let ts = frame
                .rtp_timestamp
                .wrapping_add(self.samples_per_au.wrapping_mul(group_start as u32));
            if group_start < i {
                let group = aus[group_start..i].to_vec();
                packets.push(self.aggregate(ts, &group));
                group_start = i;
                continue;
            }
            if i == aus.len() {
                break;
            }
            // AU i alone does not fit: fragment it.
            let au = &aus[i];
            let headers = self.headers(&[au.len()]);
            let max_body = self.max_payload_size - headers.len();
            let count = au.len().div_ceil(max_body);
            let mut arena = PayloadArena::with_capacity(au.len() + count * headers.len());
            for (n, (from, to)) in chunks(au.len(), max_body).enumerate() {
                let payload = arena.payload(&[&headers, &au[from..to]]);
                packets.push(self.out.packet(ts, n + 1 == count, payload));
            }
            i += 1;
            group_start = i;
        }
        Ok(packets)
    }
}
