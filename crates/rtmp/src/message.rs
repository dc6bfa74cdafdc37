//! RTMP messages (RTMP 1.0, sections 5.4, 6 and 7): protocol control messages, user
//! control events, AMF0 commands and data, audio and video, and aggregates.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::amf0::{self, Amf0Error, Amf0Value};
use crate::chunk::RawMessage;

pub const TYPE_SET_CHUNK_SIZE: u8 = 1;
pub const TYPE_ABORT: u8 = 2;
pub const TYPE_ACKNOWLEDGEMENT: u8 = 3;
pub const TYPE_USER_CONTROL: u8 = 4;
pub const TYPE_WINDOW_ACK_SIZE: u8 = 5;
pub const TYPE_SET_PEER_BANDWIDTH: u8 = 6;
pub const TYPE_AUDIO: u8 = 8;
pub const TYPE_VIDEO: u8 = 9;
pub const TYPE_DATA_AMF3: u8 = 15;
pub const TYPE_SHARED_OBJECT_AMF3: u8 = 16;
pub const TYPE_COMMAND_AMF3: u8 = 17;
pub const TYPE_DATA_AMF0: u8 = 18;
pub const TYPE_SHARED_OBJECT_AMF0: u8 = 19;
pub const TYPE_COMMAND_AMF0: u8 = 20;
pub const TYPE_AGGREGATE: u8 = 22;

/// Sub-messages accepted in one aggregate message.
pub const MAX_AGGREGATE_PARTS: usize = 4096;

/// Why a message body could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("message of type {type_id} too short ({len} bytes)")]
    TooShort { type_id: u8, len: usize },
    #[error("invalid AMF0 in message of type {type_id}: {error}")]
    Amf0 { type_id: u8, error: Amf0Error },
    #[error("command without a name")]
    CommandName,
    #[error("AMF3-encoded message body (type {0}) is not supported")]
    Amf3(u8),
    #[error("malformed aggregate message: {0}")]
    Aggregate(&'static str),
}

/// A user control event (RTMP 1.0, 6.2 and 7.1.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserControl {
    StreamBegin(u32),
    StreamEof(u32),
    StreamDry(u32),
    SetBufferLength {
        stream_id: u32,
        millis: u32,
    },
    StreamIsRecorded(u32),
    PingRequest(u32),
    PingResponse(u32),
    /// Any other event type, kept as it came.
    Other {
        event: u16,
        data: Bytes,
    },
}

impl UserControl {
    fn decode(mut b: Bytes) -> Result<Self, MessageError> {
        let short = MessageError::TooShort {
            type_id: TYPE_USER_CONTROL,
            len: b.len(),
        };
        if b.len() < 2 {
            return Err(short);
        }
        let event = b.get_u16();
        let first = |b: &Bytes| -> Result<u32, MessageError> {
            b.get(..4)
                .map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
                .ok_or(short.clone())
        };
        Ok(match event {
            0 => UserControl::StreamBegin(first(&b)?),
            1 => UserControl::StreamEof(first(&b)?),
            2 => UserControl::StreamDry(first(&b)?),
            3 => {
                let stream_id = first(&b)?;
                let millis = first(&b.slice(4.min(b.len())..))?;
                UserControl::SetBufferLength { stream_id, millis }
            }
            4 => UserControl::StreamIsRecorded(first(&b)?),
            6 => UserControl::PingRequest(first(&b)?),
            7 => UserControl::PingResponse(first(&b)?),
            event => UserControl::Other { event, data: b },
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        let (event, a, b) = match self {
            UserControl::StreamBegin(v) => (0, *v, None),
            UserControl::StreamEof(v) => (1, *v, None),
            UserControl::StreamDry(v) => (2, *v, None),
            UserControl::SetBufferLength { stream_id, millis } => (3, *stream_id, Some(*millis)),
            UserControl::StreamIsRecorded(v) => (4, *v, None),
            UserControl::PingRequest(v) => (6, *v, None),
            UserControl::PingResponse(v) => (7, *v, None),
            UserControl::Other { event, data } => {
                out.put_u16(*event);
                out.put_slice(data);
                return;
            }
        };
        out.put_u16(event);
        out.put_u32(a);
        if let Some(b) = b {
            out.put_u32(b);
        }
    }
}

/// An AMF0 command: name, transaction id, command object, further arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub name: String,
    pub transaction_id: f64,
    /// The command object (`Null` when the command has none).
    pub object: Amf0Value,
    pub args: Vec<Amf0Value>,
}

impl Command {
    pub fn new(name: impl Into<String>, transaction_id: f64, object: Amf0Value) -> Self {
        Command {
            name: name.into(),
            transaction_id,
            object,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, value: Amf0Value) -> Self {
        self.args.push(value);
        self
    }

    fn decode(values: Vec<Amf0Value>) -> Result<Self, MessageError> {
        let mut it = values.into_iter();
        let Some(Amf0Value::String(name)) = it.next() else {
            return Err(MessageError::CommandName);
        };
        // Lenient on what follows: a missing transaction id is 0, a missing object null.
        let transaction_id = match it.next() {
            Some(Amf0Value::Number(n)) => n,
            _ => 0.0,
        };
        let object = it.next().unwrap_or(Amf0Value::Null);
        Ok(Command {
            name,
            transaction_id,
            object,
            args: it.collect(),
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        Amf0Value::String(self.name.clone()).encode(out);
        Amf0Value::Number(self.transaction_id).encode(out);
        self.object.encode(out);
        amf0::encode_all(&self.args, out);
    }

    /// The `index`th argument after the command object.
    pub fn arg_at(&self, index: usize) -> Option<&Amf0Value> {
        self.args.get(index)
    }
}

/// One RTMP message, decoded by type.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    SetChunkSize(u32),
    Abort(u32),
    Acknowledgement(u32),
    UserControl(UserControl),
    WindowAckSize(u32),
    SetPeerBandwidth {
        size: u32,
        limit: u8,
    },
    Audio(Bytes),
    Video(Bytes),
    /// AMF0 data (type 18, or type 15 whose body is AMF0 after its format byte).
    Data(Vec<Amf0Value>),
    /// AMF0 command (type 20, or type 17 whose body is AMF0 after its format byte).
    Command(Command),
    /// An aggregate (type 22); see [`split_aggregate`].
    Aggregate(Bytes),
    /// Any other type (shared objects, unknown), kept as it came.
    Other {
        type_id: u8,
        payload: Bytes,
    },
}

impl Message {
    /// Decodes the body of a reassembled message.
    pub fn decode(type_id: u8, payload: Bytes) -> Result<Message, MessageError> {
        let u32_at = |p: &Bytes| -> Result<u32, MessageError> {
            p.get(..4)
                .map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
                .ok_or(MessageError::TooShort {
                    type_id,
                    len: p.len(),
                })
        };
        let amf = |body: &[u8]| {
            amf0::decode_all(body).map_err(|error| MessageError::Amf0 { type_id, error })
        };
        Ok(match type_id {
            TYPE_SET_CHUNK_SIZE => Message::SetChunkSize(u32_at(&payload)? & 0x7fff_ffff),
            TYPE_ABORT => Message::Abort(u32_at(&payload)?),
            TYPE_ACKNOWLEDGEMENT => Message::Acknowledgement(u32_at(&payload)?),
            TYPE_USER_CONTROL => Message::UserControl(UserControl::decode(payload)?),
            TYPE_WINDOW_ACK_SIZE => Message::WindowAckSize(u32_at(&payload)?),
            TYPE_SET_PEER_BANDWIDTH => Message::SetPeerBandwidth {
                size: u32_at(&payload)?,
                // Some peers leave the limit type off; 2 (dynamic) is the lenient reading.
                limit: payload.get(4).copied().unwrap_or(2),
            },
            TYPE_AUDIO => Message::Audio(payload),
            TYPE_VIDEO => Message::Video(payload),
            TYPE_DATA_AMF0 => Message::Data(amf(&payload)?),
            TYPE_COMMAND_AMF0 => Message::Command(Command::decode(amf(&payload)?)?),
            TYPE_DATA_AMF3 | TYPE_COMMAND_AMF3 => {
                // A format byte (0) and then AMF0 values, as Flash sends with
                // objectEncoding 3; real AMF3 values are refused.
                let body = match payload.first() {
                    Some(0) => &payload[1..],
                    _ => return Err(MessageError::Amf3(type_id)),
                };
                let values = amf(body).map_err(|_| MessageError::Amf3(type_id))?;
                if type_id == TYPE_DATA_AMF3 {
                    Message::Data(values)
                } else {
                    Message::Command(Command::decode(values)?)
                }
            }
            TYPE_AGGREGATE => Message::Aggregate(payload),
            type_id => Message::Other { type_id, payload },
        })
    }

    /// The message type id and encoded body.
    pub fn encode(&self) -> (u8, Bytes) {
        let mut out = BytesMut::new();
        let type_id = match self {
            Message::SetChunkSize(v) => {
                out.put_u32(v & 0x7fff_ffff);
                TYPE_SET_CHUNK_SIZE
            }
            Message::Abort(v) => {
                out.put_u32(*v);
                TYPE_ABORT
            }
            Message::Acknowledgement(v) => {
                out.put_u32(*v);
                TYPE_ACKNOWLEDGEMENT
            }
            Message::UserControl(u) => {
                u.encode(&mut out);
                TYPE_USER_CONTROL
            }
            Message::WindowAckSize(v) => {
                out.put_u32(*v);
                TYPE_WINDOW_ACK_SIZE
            }
            Message::SetPeerBandwidth { size, limit } => {
                out.put_u32(*size);
                out.put_u8(*limit);
                TYPE_SET_PEER_BANDWIDTH
            }
            Message::Audio(b) => return (TYPE_AUDIO, b.clone()),
            Message::Video(b) => return (TYPE_VIDEO, b.clone()),
            Message::Data(values) => {
                amf0::encode_all(values, &mut out);
                TYPE_DATA_AMF0
            }
            Message::Command(c) => {
                c.encode(&mut out);
                TYPE_COMMAND_AMF0
            }
            Message::Aggregate(b) => return (TYPE_AGGREGATE, b.clone()),
            Message::Other { type_id, payload } => return (*type_id, payload.clone()),
        };
        (type_id, out.freeze())
    }
}

/// Splits an aggregate message into its audio, video and data messages. Each part is an
/// FLV tag (type, 24-bit size, timestamp with its extension byte, stream id, body)
/// followed by a 4-byte back pointer; part timestamps are moved so that the first one
/// equals the aggregate's own timestamp.
pub fn split_aggregate(agg: &RawMessage) -> Result<Vec<RawMessage>, MessageError> {
    let mut parts = Vec::new();
    let mut rest = agg.payload.clone();
    let mut base: Option<u32> = None;
    while !rest.is_empty() {
        if parts.len() >= MAX_AGGREGATE_PARTS {
            return Err(MessageError::Aggregate("too many parts"));
        }
        let h = rest
            .get(..11)
            .ok_or(MessageError::Aggregate("truncated header"))?;
        let type_id = h[0] & 0x1f;
        let size = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        let ts = (u32::from(h[7]) << 24)
            | (u32::from(h[4]) << 16)
            | (u32::from(h[5]) << 8)
            | u32::from(h[6]);
        let end = 11 + size;
        if rest.len() < end {
            return Err(MessageError::Aggregate("truncated body"));
        }
        let first = *base.get_or_insert(ts);
        parts.push(RawMessage {
            chunk_stream_id: agg.chunk_stream_id,
            timestamp: agg.timestamp.wrapping_add(ts.wrapping_sub(first)),
            type_id,
            stream_id: agg.stream_id,
            payload: rest.slice(11..end),
        });
        // The back pointer may be missing after the last part.
        rest = rest.slice(end.saturating_add(4).min(rest.len())..);
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Bytes {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn round_trip(m: Message) {
        let (type_id, body) = m.encode();
        assert_eq!(Message::decode(type_id, body).expect("decodes"), m);
    }

    #[test]
    fn control_messages_round_trip() {
        round_trip(Message::SetChunkSize(4096));
        round_trip(Message::Abort(4));
        round_trip(Message::Acknowledgement(123_456));
        round_trip(Message::WindowAckSize(2_500_000));
        round_trip(Message::SetPeerBandwidth {
            size: 2_500_000,
            limit: 2,
        });
        for u in [
            UserControl::StreamBegin(1),
            UserControl::StreamEof(1),
            UserControl::StreamDry(1),
            UserControl::SetBufferLength {
                stream_id: 1,
                millis: 3000,
            },
            UserControl::StreamIsRecorded(1),
            UserControl::PingRequest(77),
            UserControl::PingResponse(77),
            UserControl::Other {
                event: 0x1a,
                data: hex("00"),
            },
        ] {
            round_trip(Message::UserControl(u));
        }
    }

    #[test]
    fn wire_forms() {
        assert_eq!(
            Message::SetPeerBandwidth {
                size: 2_500_000,
                limit: 2
            }
            .encode(),
            (6, hex("002625a0 02"))
        );
        assert_eq!(
            Message::UserControl(UserControl::SetBufferLength {
                stream_id: 1,
                millis: 100
            })
            .encode(),
            (4, hex("0003 00000001 00000064"))
        );
        // The top bit of a chunk size is ignored.
        assert_eq!(
            Message::decode(1, hex("80001000")),
            Ok(Message::SetChunkSize(4096))
        );
    }

    #[test]
    fn commands_round_trip() {
        round_trip(Message::Command(
            Command::new("publish", 5.0, Amf0Value::Null)
                .arg(Amf0Value::string("test?user=a"))
                .arg(Amf0Value::string("live")),
        ));
        round_trip(Message::Data(vec![
            Amf0Value::string("@setDataFrame"),
            Amf0Value::string("onMetaData"),
            Amf0Value::EcmaArray(vec![("width".into(), Amf0Value::Number(640.0))]),
        ]));
    }

    #[test]
    fn amf3_command_with_amf0_body_decodes() {
        // Format byte 0, then "play", 0, null, "cam".
        let body = hex("00 02 0004 706c6179 00 0000000000000000 05 02 0003 63616d");
        let Message::Command(c) = Message::decode(17, body).expect("decodes") else {
            panic!("a command");
        };
        assert_eq!(c.name, "play");
        assert_eq!(c.arg_at(0).and_then(Amf0Value::as_str), Some("cam"));
        assert_eq!(
            Message::decode(17, hex("11 02")),
            Err(MessageError::Amf3(17))
        );
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert_eq!(
            Message::decode(1, hex("0000")),
            Err(MessageError::TooShort { type_id: 1, len: 2 })
        );
        assert_eq!(
            Message::decode(4, hex("00")),
            Err(MessageError::TooShort { type_id: 4, len: 1 })
        );
        assert_eq!(
            Message::decode(4, hex("0006 0000")),
            Err(MessageError::TooShort { type_id: 4, len: 4 })
        );
        assert_eq!(
            Message::decode(20, hex("00 0000000000000000")),
            Err(MessageError::CommandName)
        );
        assert!(matches!(
            Message::decode(20, hex("02 00ff 61")),
            Err(MessageError::Amf0 { type_id: 20, .. })
        ));
    }

    #[test]
    fn aggregates_split_into_messages() {
        // Two parts: audio at 1000 and video at 1040 (extension byte 0), back pointers.
        let payload = hex("08 000002 0003e8 00 000000 af01 0000000d
             09 000003 000410 00 000000 170100 0000000e");
        let agg = RawMessage {
            chunk_stream_id: 4,
            timestamp: 5000,
            type_id: TYPE_AGGREGATE,
            stream_id: 1,
            payload,
        };
        let parts = split_aggregate(&agg).expect("splits");
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].type_id, parts[0].timestamp), (8, 5000));
        assert_eq!((parts[1].type_id, parts[1].timestamp), (9, 5040));
        assert_eq!(&parts[1].payload[..], &[0x17, 0x01, 0x00]);
        let bad = RawMessage {
            payload: hex("08 000010 0003e8 00 000000 af01"),
            ..agg
        };
        assert_eq!(
            split_aggregate(&bad),
            Err(MessageError::Aggregate("truncated body"))
        );
    }
}
