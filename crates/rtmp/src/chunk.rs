//! The RTMP chunk stream (RTMP 1.0, section 5.3): messages are cut into chunks of at
//! most the sender's chunk size, each with a basic header (format and chunk stream id)
//! and a message header that is compressed against the previous chunk of the same
//! chunk stream (types 0 to 3), plus an extended timestamp when a timestamp or delta does
//! not fit in 24 bits.
//!
//! Limits (see [`ChunkLimits`]): messages are at most 16 MiB (the 24-bit length field),
//! the number of chunk streams with state is capped, and so are the bytes held by
//! messages being reassembled. A chunk is consumed only once it is wholly buffered, so
//! the input buffer holds at most one chunk (header + at most one message) plus what the
//! driver read.

use std::collections::HashMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Chunk size every peer starts with.
pub const DEFAULT_CHUNK_SIZE: u32 = 128;
/// Largest chunk size a Set Chunk Size message may carry (31 bits).
pub const MAX_CHUNK_SIZE: u32 = 0x7fff_ffff;
/// Largest message length the 24-bit length field can express.
pub const MAX_MESSAGE_LEN: u32 = 0x00ff_ffff;
/// Lowest and highest chunk stream ids (0 and 1 select the longer basic headers).
pub const MIN_CHUNK_STREAM_ID: u32 = 2;
pub const MAX_CHUNK_STREAM_ID: u32 = 65_599;

const EXTENDED: u32 = 0x00ff_ffff;

/// Why the chunk stream could not be decoded; the connection is unusable after it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk of type {fmt} on chunk stream {csid} that has no previous header")]
    NoPreviousHeader { fmt: u8, csid: u32 },
    #[error("chunk of type {fmt} on chunk stream {csid} in the middle of a message")]
    UnexpectedHeader { fmt: u8, csid: u32 },
    #[error("message of {len} bytes on chunk stream {csid} exceeds the limit of {max}")]
    MessageTooLarge { csid: u32, len: u32, max: u32 },
    #[error("more than {0} chunk streams in use")]
    TooManyChunkStreams(usize),
    #[error("more than {0} bytes held by incomplete messages")]
    TooMuchBuffered(usize),
    #[error("invalid chunk size {0}")]
    InvalidChunkSize(u32),
}

/// Bounds applied to what a peer can make the decoder hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Longest message accepted (at most [`MAX_MESSAGE_LEN`]).
    pub max_message_len: u32,
    /// Chunk streams with state at once.
    pub max_chunk_streams: usize,
    /// Bytes of incomplete messages held across all chunk streams.
    pub max_buffered: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_message_len: MAX_MESSAGE_LEN,
            max_chunk_streams: 64,
            max_buffered: 32 * 1024 * 1024,
        }
    }
}

/// One reassembled message with its header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub chunk_stream_id: u32,
    /// Milliseconds (32 bits, wrapping).
    pub timestamp: u32,
    pub type_id: u8,
    pub stream_id: u32,
    pub payload: Bytes,
}

#[derive(Debug, Default)]
struct InState {
    timestamp: u32,
    /// The last timestamp field (a delta, or the absolute timestamp of a type 0 chunk).
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    /// The last header carried an extended timestamp, so type 3 chunks carry one too.
    extended: bool,
    partial: Option<BytesMut>,
}

/// A parsed chunk header, before the state is updated.
struct Header {
    fmt: u8,
    csid: u32,
    len: usize,
    /// Message bytes still to come, this chunk's and later ones'.
    remaining: usize,
    /// Timestamp or delta (already extended), for types 0 to 2.
    time: u32,
    extended: bool,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

/// Reads messages out of a chunk stream.
#[derive(Debug)]
pub struct ChunkDecoder {
    chunk_size: u32,
    limits: ChunkLimits,
    streams: HashMap<u32, InState>,
    buffered: usize,
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        ChunkDecoder::new(ChunkLimits::default())
    }
}

impl ChunkDecoder {
    pub fn new(limits: ChunkLimits) -> Self {
        ChunkDecoder {
            chunk_size: DEFAULT_CHUNK_SIZE,
            limits,
            streams: HashMap::new(),
            buffered: 0,
        }
    }

    /// The peer's chunk size (from its Set Chunk Size message).
    pub fn set_chunk_size(&mut self, size: u32) -> Result<(), ChunkError> {
        if size == 0 || size > MAX_CHUNK_SIZE {
            return Err(ChunkError::InvalidChunkSize(size));
        }
        self.chunk_size = size;
        Ok(())
    }

    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Drops the partly received message of a chunk stream (Abort Message).
    pub fn abort(&mut self, csid: u32) {
        if let Some(state) = self.streams.get_mut(&csid)
            && let Some(partial) = state.partial.take()
        {
            self.buffered -= partial.len();
        }
    }

    /// Consumes whole chunks from the front of `buf` until a message is complete
    /// (`Some`) or the next chunk is not wholly buffered yet (`None`).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<RawMessage>, ChunkError> {
        loop {
            let Some(header) = self.parse_header(buf)? else {
                return Ok(None);
            };
            let body = header.remaining.min(self.chunk_size as usize);
            if buf.len() < header.len + body {
                return Ok(None);
            }
            buf.advance(header.len);
            let data = buf.split_to(body);
            if let Some(msg) = self.apply(header, data)? {
                return Ok(Some(msg));
            }
        }
    }

    /// Parses the header at the front of `buf` without consuming it.
    fn parse_header(&self, buf: &[u8]) -> Result<Option<Header>, ChunkError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        let fmt = first >> 6;
        let (csid, mut pos) = match first & 0x3f {
            0 => match buf.get(1) {
                Some(b) => (64 + u32::from(*b), 2),
                None => return Ok(None),
            },
            1 => match (buf.get(1), buf.get(2)) {
                (Some(lo), Some(hi)) => (64 + u32::from(*lo) + 256 * u32::from(*hi), 3),
                _ => return Ok(None),
            },
            id => (u32::from(id), 1),
        };
        let state = self.streams.get(&csid);
        let in_message = state.is_some_and(|s| s.partial.is_some());
        if fmt != 3 && in_message {
            return Err(ChunkError::UnexpectedHeader { fmt, csid });
        }
        if fmt != 0 && state.is_none() {
            return Err(ChunkError::NoPreviousHeader { fmt, csid });
        }
        if state.is_none() && self.streams.len() >= self.limits.max_chunk_streams {
            return Err(ChunkError::TooManyChunkStreams(
                self.limits.max_chunk_streams,
            ));
        }
        let header_len = [11, 7, 3, 0][usize::from(fmt)];
        let Some(h) = buf.get(pos..pos + header_len) else {
            return Ok(None);
        };
        pos += header_len;
        let mut header = Header {
            fmt,
            csid,
            len: 0,
            remaining: 0,
            time: 0,
            extended: false,
            length: 0,
            type_id: 0,
            stream_id: 0,
        };
        if fmt <= 2 {
            header.time = u24(&h[0..3]);
            header.extended = header.time == EXTENDED;
        }
        if fmt <= 1 {
            header.length = u24(&h[3..6]);
            header.type_id = h[6];
            if header.length > self.limits.max_message_len {
                return Err(ChunkError::MessageTooLarge {
                    csid,
                    len: header.length,
                    max: self.limits.max_message_len,
                });
            }
        }
        if fmt == 0 {
            header.stream_id = u32::from_le_bytes([h[7], h[8], h[9], h[10]]);
        }
        let carries_extended = if fmt == 3 {
            state.is_some_and(|s| s.extended)
        } else {
            header.extended
        };
        if carries_extended {
            let Some(ext) = buf.get(pos..pos + 4) else {
                return Ok(None);
            };
            if fmt <= 2 {
                header.time = u32::from_be_bytes([ext[0], ext[1], ext[2], ext[3]]);
            }
            pos += 4;
        }
        header.len = pos;
        header.remaining = match (fmt, state) {
            (0 | 1, _) | (_, None) => header.length as usize,
            (_, Some(s)) => {
                let received = s.partial.as_ref().map_or(0, BytesMut::len);
                (s.length as usize).saturating_sub(received)
            }
        };
        Ok(Some(header))
    }

    /// Updates the chunk stream with a consumed chunk; returns a completed message.
    fn apply(&mut self, h: Header, data: BytesMut) -> Result<Option<RawMessage>, ChunkError> {
        let state = self.streams.entry(h.csid).or_default();
        if state.partial.is_none() {
            // First chunk of a message: its header sets the message fields.
            match h.fmt {
                0 => {
                    state.timestamp = h.time;
                    state.delta = h.time;
                    state.length = h.length;
                    state.type_id = h.type_id;
                    state.stream_id = h.stream_id;
                    state.extended = h.extended;
                }
                1 | 2 => {
                    state.delta = h.time;
                    state.timestamp = state.timestamp.wrapping_add(h.time);
                    if h.fmt == 1 {
                        state.length = h.length;
                        state.type_id = h.type_id;
                    }
                    state.extended = h.extended;
                }
                _ => state.timestamp = state.timestamp.wrapping_add(state.delta),
            }
            if data.len() == state.length as usize {
                return Ok(Some(message(h.csid, state, data.freeze())));
            }
            if self.buffered + data.len() > self.limits.max_buffered {
                return Err(ChunkError::TooMuchBuffered(self.limits.max_buffered));
            }
            self.buffered += data.len();
            state.partial = Some(data);
            return Ok(None);
        }
        if self.buffered + data.len() > self.limits.max_buffered {
            return Err(ChunkError::TooMuchBuffered(self.limits.max_buffered));
        }
        self.buffered += data.len();
        let Some(partial) = state.partial.as_mut() else {
            return Ok(None);
        };
        partial.extend_from_slice(&data);
        if partial.len() < state.length as usize {
            return Ok(None);
        }
        let payload = state.partial.take().unwrap_or_default().freeze();
        self.buffered -= payload.len();
        Ok(Some(message(h.csid, state, payload)))
    }
}

fn message(csid: u32, state: &InState, payload: Bytes) -> RawMessage {
    RawMessage {
        chunk_stream_id: csid,
        timestamp: state.timestamp,
        type_id: state.type_id,
        stream_id: state.stream_id,
        payload,
    }
}

fn u24(b: &[u8]) -> u32 {
    (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2])
}

#[derive(Debug, Clone, Copy)]
struct OutState {
    timestamp: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

/// Cuts messages into chunks, compressing headers against the previous message of the
/// same chunk stream: type 0 for a chunk stream's first message, a new message stream or
/// a timestamp going backwards, type 1 when length or type change, type 2 otherwise, and
/// type 3 for the continuation chunks of a message.
#[derive(Debug)]
pub struct ChunkEncoder {
    chunk_size: u32,
    streams: HashMap<u32, OutState>,
}

impl Default for ChunkEncoder {
    fn default() -> Self {
        ChunkEncoder {
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: HashMap::new(),
        }
    }
}

impl ChunkEncoder {
    /// Sets the chunk size used from the next message on (announce it to the peer first).
    pub fn set_chunk_size(&mut self, size: u32) -> Result<(), ChunkError> {
        if size == 0 || size > MAX_CHUNK_SIZE {
            return Err(ChunkError::InvalidChunkSize(size));
        }
        self.chunk_size = size;
        Ok(())
    }

    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Appends the chunks of one message to `out`. `csid` must be in
    /// [`MIN_CHUNK_STREAM_ID`]..=[`MAX_CHUNK_STREAM_ID`] and the payload at most
    /// [`MAX_MESSAGE_LEN`] bytes.
    pub fn encode(
        &mut self,
        csid: u32,
        timestamp: u32,
        type_id: u8,
        stream_id: u32,
        payload: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), ChunkError> {
        let length = u32::try_from(payload.len())
            .ok()
            .filter(|l| *l <= MAX_MESSAGE_LEN)
            .ok_or(ChunkError::MessageTooLarge {
                csid,
                len: u32::try_from(payload.len()).unwrap_or(u32::MAX),
                max: MAX_MESSAGE_LEN,
            })?;
        let csid = csid.clamp(MIN_CHUNK_STREAM_ID, MAX_CHUNK_STREAM_ID);
        let prev = self.streams.get(&csid).copied();
        let delta = prev.map(|p| timestamp.wrapping_sub(p.timestamp));
        let (fmt, time) = match (prev, delta) {
            (Some(p), Some(d)) if p.stream_id == stream_id && d < 0x8000_0000 => {
                if p.length == length && p.type_id == type_id {
                    (2, d)
                } else {
                    (1, d)
                }
            }
            _ => (0, timestamp),
        };
        self.streams.insert(
            csid,
            OutState {
                timestamp,
                length,
                type_id,
                stream_id,
            },
        );
        let extended = time >= EXTENDED;
        let field = time.min(EXTENDED);
        let chunk_size = self.chunk_size as usize;
        let chunks = payload.len().div_ceil(chunk_size).max(1);
        out.reserve(payload.len() + 18 + (chunks - 1) * 8);
        put_basic_header(out, fmt, csid);
        put_u24(out, field);
        if fmt <= 1 {
            put_u24(out, length);
            out.put_u8(type_id);
        }
        if fmt == 0 {
            out.put_u32_le(stream_id);
        }
        if extended {
            out.put_u32(time);
        }
        for (i, piece) in payload.chunks(chunk_size).enumerate() {
            if i > 0 {
                put_basic_header(out, 3, csid);
                if extended {
                    out.put_u32(time);
                }
            }
            out.put_slice(piece);
        }
        Ok(())
    }
}

fn put_basic_header(out: &mut BytesMut, fmt: u8, csid: u32) {
    let fmt = fmt << 6;
    match csid {
        2..=63 => out.put_u8(fmt | csid as u8),
        64..=319 => {
            out.put_u8(fmt);
            out.put_u8((csid - 64) as u8);
        }
        _ => {
            out.put_u8(fmt | 1);
            let v = csid - 64;
            out.put_u8((v & 0xff) as u8);
            out.put_u8((v >> 8) as u8);
        }
    }
}

fn put_u24(out: &mut BytesMut, v: u32) {
    out.put_slice(&v.to_be_bytes()[1..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn decode_all(dec: &mut ChunkDecoder, bytes: &[u8]) -> Vec<RawMessage> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(m) = dec.decode(&mut buf).expect("valid chunks") {
            out.push(m);
        }
        assert!(buf.is_empty(), "all consumed");
        out
    }

    fn raw(csid: u32, timestamp: u32, type_id: u8, stream_id: u32, payload: &[u8]) -> RawMessage {
        RawMessage {
            chunk_stream_id: csid,
            timestamp,
            type_id,
            stream_id,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn type0_header_has_the_spec_layout() {
        let mut enc = ChunkEncoder::default();
        let mut out = BytesMut::new();
        enc.encode(3, 1000, 20, 1, b"abc", &mut out)
            .expect("encodes");
        assert_eq!(out.to_vec(), hex("03 0003e8 000003 14 01000000 616263"));
    }

    #[test]
    fn header_types_compress_and_decode() {
        // Spec example 1 (5.3.2.1): audio messages of the same size 33 ms apart, as type
        // 0, 2, 3, 3 chunks.
        let bytes = hex("04 0003e8 000002 08 01000000 aaaa
             84 000021 bbbb
             c4 cccc
             c4 dddd");
        let mut dec = ChunkDecoder::default();
        let msgs = decode_all(&mut dec, &bytes);
        let times: Vec<u32> = msgs.iter().map(|m| m.timestamp).collect();
        assert_eq!(times, vec![1000, 1033, 1066, 1099]);
        assert!(msgs.iter().all(|m| m.type_id == 8 && m.stream_id == 1));
        assert_eq!(&msgs[3].payload[..], &[0xdd, 0xdd]);

        // The encoder picks type 0, then 2 (same length and type), then 1.
        let mut enc = ChunkEncoder::default();
        let mut out = BytesMut::new();
        enc.encode(4, 1000, 8, 1, &[0xaa; 2], &mut out).expect("ok");
        enc.encode(4, 1033, 8, 1, &[0xbb; 2], &mut out).expect("ok");
        enc.encode(4, 1066, 8, 1, &[0xcc; 3], &mut out).expect("ok");
        assert_eq!(
            out.to_vec(),
            hex("04 0003e8 000002 08 01000000 aaaa 84 000021 bbbb 44 000021 000003 08 cccccc")
        );
        let msgs = decode_all(&mut ChunkDecoder::default(), &out);
        assert_eq!(msgs[2], raw(4, 1066, 8, 1, &[0xcc; 3]));
    }

    #[test]
    fn type3_after_type0_repeats_the_timestamp_field() {
        // As ffmpeg reads it: the delta of a type 0 chunk is its absolute timestamp.
        let bytes = hex("06 000010 000001 09 01000000 aa c6 bb");
        let msgs = decode_all(&mut ChunkDecoder::default(), &bytes);
        assert_eq!(msgs[1].timestamp, 0x20);
        assert_eq!(msgs[1].type_id, 9);
    }

    #[test]
    fn messages_split_across_chunks_and_interleaved() {
        // Two messages on chunk streams 4 and 6, chunk size 128, interleaved.
        let a: Vec<u8> = (0..200u8).collect();
        let b: Vec<u8> = (0..150u8).rev().collect();
        let mut wire = Vec::new();
        wire.extend(hex("04 000000 0000c8 08 01000000"));
        wire.extend(&a[..128]);
        wire.extend(hex("06 000000 000096 09 01000000"));
        wire.extend(&b[..128]);
        wire.push(0xc4);
        wire.extend(&a[128..]);
        wire.push(0xc6);
        wire.extend(&b[128..]);
        let msgs = decode_all(&mut ChunkDecoder::default(), &wire);
        assert_eq!(msgs, vec![raw(4, 0, 8, 1, &a), raw(6, 0, 9, 1, &b)]);
    }

    #[test]
    fn round_trip_with_chunk_sizes_and_ids() {
        let payload: Vec<u8> = (0..70_000u32).map(|i| (i * 7) as u8).collect();
        for chunk_size in [1, 128, 4096, 60_000, MAX_CHUNK_SIZE] {
            for csid in [2, 63, 64, 319, 320, MAX_CHUNK_STREAM_ID] {
                let mut enc = ChunkEncoder::default();
                enc.set_chunk_size(chunk_size).expect("valid");
                let mut dec = ChunkDecoder::default();
                dec.set_chunk_size(chunk_size).expect("valid");
                let mut out = BytesMut::new();
                let msgs = [
                    raw(csid, 0, 9, 1, &payload),
                    raw(csid, 40, 9, 1, &payload[..1000]),
                    raw(csid, 80, 9, 1, &payload[..1000]),
                    raw(csid, 80, 8, 1, &[]),
                    raw(csid, 10, 9, 1, &payload[..10]),
                    raw(csid, 10, 20, 0, b"x"),
                ];
                for m in &msgs {
                    enc.encode(
                        csid,
                        m.timestamp,
                        m.type_id,
                        m.stream_id,
                        &m.payload,
                        &mut out,
                    )
                    .expect("encodes");
                }
                assert_eq!(
                    decode_all(&mut dec, &out),
                    msgs,
                    "size {chunk_size} csid {csid}"
                );
            }
        }
    }

    #[test]
    fn extended_timestamps_on_every_chunk() {
        let payload = [7u8; 300];
        let mut enc = ChunkEncoder::default();
        let mut out = BytesMut::new();
        enc.encode(6, 0x0100_0000, 9, 1, &payload, &mut out)
            .expect("ok");
        // Type 0 with 0xffffff, extended value, then two type 3 chunks each repeating it.
        assert_eq!(
            &out[..16],
            &hex("06 ffffff 00012c 09 01000000 01000000")[..]
        );
        assert_eq!(&out[16 + 128..16 + 128 + 5], &hex("c6 01000000")[..]);
        assert_eq!(out.len(), 16 + 300 + 2 * 5);
        // A later delta that itself needs the extended field.
        enc.encode(6, 0x0200_0001, 9, 1, &payload, &mut out)
            .expect("ok");
        let msgs = decode_all(&mut ChunkDecoder::default(), &out);
        assert_eq!(msgs[0].timestamp, 0x0100_0000);
        assert_eq!(msgs[1].timestamp, 0x0200_0001);
        assert_eq!(&msgs[1].payload[..], &payload[..]);
        // An extended timestamp at exactly 0xffffff.
        let mut out = BytesMut::new();
        ChunkEncoder::default()
            .encode(5, 0x00ff_ffff, 8, 1, b"a", &mut out)
            .expect("ok");
        assert_eq!(
            out.to_vec(),
            hex("05 ffffff 000001 08 01000000 00ffffff 61")
        );
        assert_eq!(
            decode_all(&mut ChunkDecoder::default(), &out)[0].timestamp,
            0xff_ffff
        );
    }

    #[test]
    fn timestamps_wrap_and_go_backwards() {
        let mut enc = ChunkEncoder::default();
        let mut out = BytesMut::new();
        for ts in [u32::MAX - 10, 5, 3] {
            enc.encode(4, ts, 8, 1, b"ab", &mut out).expect("ok");
        }
        // The first needs an extended timestamp (18 bytes); 5 is a forward delta of 16
        // across the wrap (type 2, 6 bytes); 3 goes back (type 0).
        assert_eq!(out[18], 0x84);
        assert_eq!(out[24], 0x04);
        let msgs = decode_all(&mut ChunkDecoder::default(), &out);
        let times: Vec<u32> = msgs.iter().map(|m| m.timestamp).collect();
        assert_eq!(times, vec![u32::MAX - 10, 5, 3]);
    }

    #[test]
    fn any_split_of_the_input_gives_the_same_messages() {
        let mut enc = ChunkEncoder::default();
        let mut out = BytesMut::new();
        let payload: Vec<u8> = (0..400u16).map(|i| i as u8).collect();
        enc.encode(3, 1, 20, 0, &payload, &mut out).expect("ok");
        enc.encode(300, 0x0100_0000, 9, 1, &payload[..200], &mut out)
            .expect("ok");
        let whole = decode_all(&mut ChunkDecoder::default(), &out);
        for cut in 0..out.len() {
            let mut dec = ChunkDecoder::default();
            let mut buf = BytesMut::from(&out[..cut]);
            let mut got = Vec::new();
            while let Some(m) = dec.decode(&mut buf).expect("ok") {
                got.push(m);
            }
            buf.extend_from_slice(&out[cut..]);
            while let Some(m) = dec.decode(&mut buf).expect("ok") {
                got.push(m);
            }
            assert_eq!(got, whole, "cut at {cut}");
        }
    }

    #[test]
    fn abort_drops_the_partial_message() {
        let mut dec = ChunkDecoder::default();
        let mut wire = hex("04 000000 0000c8 08 01000000");
        wire.extend([1u8; 128]);
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(dec.decode(&mut buf), Ok(None));
        dec.abort(4);
        // A new type 0 message is now accepted on the same chunk stream.
        let mut buf = BytesMut::from(&hex("04 000005 000001 08 01000000 09")[..]);
        let m = dec.decode(&mut buf).expect("ok").expect("message");
        assert_eq!((m.timestamp, &m.payload[..]), (5, &[9u8][..]));
    }

    #[test]
    fn malformed_chunk_streams_are_errors() {
        let mut dec = ChunkDecoder::default();
        let mut buf = BytesMut::from(&hex("44 000000 000001 08 aa")[..]);
        assert_eq!(
            dec.decode(&mut buf),
            Err(ChunkError::NoPreviousHeader { fmt: 1, csid: 4 })
        );
        let mut dec = ChunkDecoder::default();
        let mut wire = hex("04 000000 0000c8 08 01000000");
        wire.extend([0u8; 128]);
        wire.extend(hex("04 000000 000001 08 01000000 aa"));
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(
            dec.decode(&mut buf),
            Err(ChunkError::UnexpectedHeader { fmt: 0, csid: 4 })
        );
        let mut dec = ChunkDecoder::new(ChunkLimits {
            max_message_len: 1000,
            ..ChunkLimits::default()
        });
        let mut buf = BytesMut::from(&hex("04 000000 0003e9 08 01000000")[..]);
        assert_eq!(
            dec.decode(&mut buf),
            Err(ChunkError::MessageTooLarge {
                csid: 4,
                len: 1001,
                max: 1000
            })
        );
        assert_eq!(
            ChunkDecoder::default().set_chunk_size(0),
            Err(ChunkError::InvalidChunkSize(0))
        );
        assert_eq!(
            ChunkDecoder::default().set_chunk_size(0x8000_0000),
            Err(ChunkError::InvalidChunkSize(0x8000_0000))
        );
    }

    #[test]
    fn chunk_streams_and_buffered_bytes_are_capped() {
        let mut dec = ChunkDecoder::new(ChunkLimits {
            max_chunk_streams: 2,
            ..ChunkLimits::default()
        });
        let mut buf = BytesMut::from(
            &hex("02 000000 000001 01 00000000 00 03 000000 000001 14 00000000 05 04")[..],
        );
        assert!(dec.decode(&mut buf).expect("ok").is_some());
        assert!(dec.decode(&mut buf).expect("ok").is_some());
        assert_eq!(
            dec.decode(&mut buf),
            Err(ChunkError::TooManyChunkStreams(2))
        );

        let mut dec = ChunkDecoder::new(ChunkLimits {
            max_buffered: 200,
            ..ChunkLimits::default()
        });
        let mut wire = hex("04 000000 001000 09 01000000");
        wire.extend([0u8; 128]);
        wire.extend(hex("05 000000 001000 09 01000000"));
        wire.extend([0u8; 128]);
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(dec.decode(&mut buf), Err(ChunkError::TooMuchBuffered(200)));
    }
}
