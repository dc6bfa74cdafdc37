//! What both ends of an RTMP connection share once the handshake is done: the chunk
//! stream in both directions, the protocol control messages (chunk size, abort,
//! acknowledgements, window and peer bandwidth, ping), byte counters and the bounded
//! output buffer.

use bytes::{Bytes, BytesMut};

use crate::amf0::Amf0Value;
use crate::chunk::{ChunkDecoder, ChunkEncoder, ChunkLimits, RawMessage};
use crate::error::Error;
use crate::flv::{FlvTag, TagKind};
use crate::message::{
    Command, Message, TYPE_ABORT, TYPE_ACKNOWLEDGEMENT, TYPE_SET_CHUNK_SIZE,
    TYPE_SET_PEER_BANDWIDTH, TYPE_USER_CONTROL, TYPE_WINDOW_ACK_SIZE, UserControl,
};

/// Chunk stream of protocol control messages.
pub(crate) const CSID_CONTROL: u32 = 2;
/// Chunk stream of NetConnection commands.
pub(crate) const CSID_COMMAND: u32 = 3;
/// Chunk stream of audio and script data.
pub(crate) const CSID_AUDIO: u32 = 4;
/// Chunk stream of NetStream commands and status.
pub(crate) const CSID_STREAM: u32 = 5;
/// Chunk stream of video.
pub(crate) const CSID_VIDEO: u32 = 6;
/// The message stream `createStream` hands out.
pub const MEDIA_STREAM_ID: u32 = 1;

/// Sizes and limits both ends use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub chunk: ChunkLimits,
    /// Bytes of output allowed to wait for the driver; writing more fails with
    /// [`Error::OutputFull`].
    pub max_pending_output: usize,
    /// Chunk size announced to the peer and used for sending.
    pub chunk_size: u32,
    /// Window acknowledgement size and peer bandwidth announced to the peer.
    pub window: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            chunk: ChunkLimits::default(),
            max_pending_output: 16 * 1024 * 1024,
            chunk_size: 65_536,
            window: 2_500_000,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Connection {
    input: BytesMut,
    output: BytesMut,
    decoder: ChunkDecoder,
    encoder: ChunkEncoder,
    limits: Limits,
    bytes_in: u64,
    bytes_out: u64,
    /// The window the peer asked to be acknowledged at (0: none), and where we last did.
    ack_window: u32,
    acked_at: u64,
    /// The window we last announced.
    announced_window: u32,
    /// Bytes the peer last said it received.
    peer_acked: u32,
}

impl Connection {
    pub fn new(limits: Limits) -> Self {
        Connection {
            input: BytesMut::new(),
            output: BytesMut::new(),
            decoder: ChunkDecoder::new(limits.chunk),
            encoder: ChunkEncoder::default(),
            limits,
            bytes_in: 0,
            bytes_out: 0,
            ack_window: 0,
            acked_at: 0,
            announced_window: 0,
            peer_acked: 0,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn received(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
        self.bytes_in += data.len() as u64;
    }

    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    pub fn bytes_out(&self) -> u64 {
        self.bytes_out
    }

    pub fn peer_acked(&self) -> u32 {
        self.peer_acked
    }

    pub fn pending_output(&self) -> usize {
        self.output.len()
    }

    /// The input and output buffers, for the handshake that precedes the chunk stream.
    pub fn handshake_io(&mut self) -> (&mut BytesMut, &mut BytesMut) {
        (&mut self.input, &mut self.output)
    }

    pub fn take_output(&mut self) -> Option<Bytes> {
        if self.output.is_empty() {
            return None;
        }
        // The whole buffer goes (a split would leave its spare capacity here, keeping the
        // allocation, as large as the largest tag sent, alive between sends).
        let out = std::mem::take(&mut self.output).freeze();
        self.bytes_out += out.len() as u64;
        Some(out)
    }

    pub fn send_raw(
        &mut self,
        csid: u32,
        timestamp: u32,
        type_id: u8,
        stream_id: u32,
        payload: &[u8],
    ) -> Result<(), Error> {
        if self.output.len() > self.limits.max_pending_output {
            return Err(Error::OutputFull(self.limits.max_pending_output));
        }
        self.encoder.encode(
            csid,
            timestamp,
            type_id,
            stream_id,
            payload,
            &mut self.output,
        )?;
        Ok(())
    }

    pub fn send(&mut self, csid: u32, stream_id: u32, msg: &Message) -> Result<(), Error> {
        let (type_id, body) = msg.encode();
        self.send_raw(csid, 0, type_id, stream_id, &body)
    }

    pub fn send_control(&mut self, msg: &Message) -> Result<(), Error> {
        self.send(CSID_CONTROL, 0, msg)
    }

    pub fn send_command(&mut self, csid: u32, stream_id: u32, cmd: Command) -> Result<(), Error> {
        self.send(csid, stream_id, &Message::Command(cmd))
    }

    /// Announces our chunk size and starts using it.
    pub fn use_chunk_size(&mut self, size: u32) -> Result<(), Error> {
        self.send_control(&Message::SetChunkSize(size))?;
        self.encoder.set_chunk_size(size)?;
        Ok(())
    }

    /// Announces the window acknowledgement size we want.
    pub fn announce_window(&mut self, size: u32) -> Result<(), Error> {
        self.announced_window = size;
        self.send_control(&Message::WindowAckSize(size))
    }

    pub fn send_tag(&mut self, tag: &FlvTag, stream_id: u32) -> Result<(), Error> {
        let csid = match tag.kind {
            TagKind::Video => CSID_VIDEO,
            TagKind::Audio | TagKind::Script => CSID_AUDIO,
        };
        self.send_raw(
            csid,
            tag.timestamp_ms,
            tag.kind.type_id(),
            stream_id,
            &tag.body,
        )
    }

    pub fn send_data(&mut self, stream_id: u32, values: Vec<Amf0Value>) -> Result<(), Error> {
        self.send(CSID_AUDIO, stream_id, &Message::Data(values))
    }

    /// The next message that is not protocol control; control messages are applied
    /// (and a ping answered) on the way. User control messages other than pings are
    /// returned.
    pub fn next_message(&mut self) -> Result<Option<RawMessage>, Error> {
        loop {
            let decoded = self.decoder.decode(&mut self.input)?;
            self.acknowledge()?;
            let Some(raw) = decoded else {
                return Ok(None);
            };
            match raw.type_id {
                TYPE_SET_CHUNK_SIZE
                | TYPE_ABORT
                | TYPE_ACKNOWLEDGEMENT
                | TYPE_WINDOW_ACK_SIZE
                | TYPE_SET_PEER_BANDWIDTH => {
                    let msg = Message::decode(raw.type_id, raw.payload)?;
                    self.control(msg)?;
                }
                TYPE_USER_CONTROL => match Message::decode(raw.type_id, raw.payload.clone())? {
                    Message::UserControl(UserControl::PingRequest(t)) => {
                        self.send_control(&Message::UserControl(UserControl::PingResponse(t)))?;
                    }
                    Message::UserControl(UserControl::PingResponse(_)) => {}
                    _ => return Ok(Some(raw)),
                },
                _ => return Ok(Some(raw)),
            }
        }
    }

    fn control(&mut self, msg: Message) -> Result<(), Error> {
        match msg {
            Message::SetChunkSize(size) => {
                tracing::trace!(size, "RTMP peer chunk size");
                self.decoder.set_chunk_size(size)?;
            }
            Message::Abort(csid) => self.decoder.abort(csid),
            Message::Acknowledgement(n) => self.peer_acked = n,
            Message::WindowAckSize(size) => {
                self.ack_window = size;
            }
            Message::SetPeerBandwidth { size, .. } if size != self.announced_window => {
                self.announce_window(size)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Sends an acknowledgement when a window's worth of bytes came in since the last.
    fn acknowledge(&mut self) -> Result<(), Error> {
        if self.ack_window == 0 || self.bytes_in - self.acked_at < u64::from(self.ack_window) {
            return Ok(());
        }
        self.acked_at = self.bytes_in;
        // The sequence number wraps at 32 bits.
        self.send_control(&Message::Acknowledgement(self.bytes_in as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::ChunkDecoder;

    /// Moves `from`'s output into `to`, and returns the messages `to` passes up.
    fn deliver(from: &mut Connection, to: &mut Connection) -> Vec<RawMessage> {
        if let Some(bytes) = from.take_output() {
            to.received(&bytes);
        }
        let mut out = Vec::new();
        while let Some(m) = to.next_message().expect("valid") {
            out.push(m);
        }
        out
    }

    fn decode_all(bytes: &[u8]) -> Vec<Message> {
        decode_with(&mut ChunkDecoder::default(), bytes)
    }

    fn decode_with(dec: &mut ChunkDecoder, bytes: &[u8]) -> Vec<Message> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(m) = dec.decode(&mut buf).expect("valid") {
            out.push(Message::decode(m.type_id, m.payload).expect("valid"));
        }
        out
    }

    #[test]
    fn pings_are_answered() {
        let mut a = Connection::new(Limits::default());
        let mut b = Connection::new(Limits::default());
        a.send_control(&Message::UserControl(UserControl::PingRequest(1234)))
            .expect("sends");
        assert!(deliver(&mut a, &mut b).is_empty());
        let reply = b.take_output().expect("a reply");
        assert_eq!(
            decode_all(&reply),
            vec![Message::UserControl(UserControl::PingResponse(1234))]
        );
        // Other user control events are passed up.
        a.send_control(&Message::UserControl(UserControl::StreamEof(1)))
            .expect("sends");
        assert_eq!(deliver(&mut a, &mut b).len(), 1);
    }

    #[test]
    fn control_messages_change_the_chunk_stream_and_acks_follow_the_window() {
        let mut a = Connection::new(Limits::default());
        let mut b = Connection::new(Limits::default());
        // a asks b to acknowledge every 1000 bytes and switches to 300-byte chunks.
        a.announce_window(1000).expect("sends");
        a.use_chunk_size(300).expect("sends");
        a.send_raw(4, 0, 8, 1, &[7u8; 1200]).expect("sends");
        let got = deliver(&mut a, &mut b);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload.len(), 1200);
        let mut from_b = ChunkDecoder::default();
        let acks = decode_with(&mut from_b, &b.take_output().expect("an acknowledgement"));
        assert_eq!(acks, vec![Message::Acknowledgement(b.bytes_in() as u32)]);
        // Set Peer Bandwidth with a new size is answered with that window.
        a.send_control(&Message::SetPeerBandwidth {
            size: 5000,
            limit: 2,
        })
        .expect("sends");
        deliver(&mut a, &mut b);
        assert_eq!(
            decode_with(&mut from_b, &b.take_output().expect("a window")),
            vec![Message::WindowAckSize(5000)]
        );
        // An acknowledgement is recorded.
        let mut c = Connection::new(Limits::default());
        c.send_control(&Message::Acknowledgement(777))
            .expect("sends");
        deliver(&mut c, &mut a);
        assert_eq!(a.peer_acked(), 777);
    }

    #[test]
    fn pending_output_is_bounded() {
        let mut c = Connection::new(Limits {
            max_pending_output: 1000,
            ..Limits::default()
        });
        c.send_raw(4, 0, 8, 1, &[0u8; 1500]).expect("first fits");
        assert_eq!(
            c.send_raw(4, 0, 8, 1, &[0u8; 10]),
            Err(Error::OutputFull(1000))
        );
        assert!(c.take_output().is_some());
        assert!(c.send_raw(4, 0, 8, 1, &[0u8; 10]).is_ok());
    }
}
