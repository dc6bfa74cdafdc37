//! The client side of one RTMP connection as a sans-IO state machine: handshake,
//! `connect`, `createStream`, then `play` or (after `releaseStream` and `FCPublish`)
//! `publish`, as ffmpeg and MediaMTX's client do.
//!
//! The driver connects the socket, creates the state machine (which queues C0+C1), sends
//! what [`ClientConnection::poll_output`] gives, and feeds what it receives to
//! [`ClientConnection::handle_input`]. [`ClientEvent::Playing`] or
//! [`ClientEvent::Publishing`] says the stream is ready.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use crate::amf0::Amf0Value;
use crate::chunk::RawMessage;
use crate::connection::{CSID_COMMAND, CSID_STREAM, Connection, Limits};
use crate::error::{Error, protocol};
use crate::flv::{FlvTag, TagItem, TagKind, TagReader, TagStyle};
use crate::handshake::ClientHandshake;
use crate::media::{FourCc, Media, TrackConfig};
use crate::message::{self, Command, Message, UserControl};
use crate::url::ClientUrl;

/// Play or publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientMode {
    Play,
    Publish,
}

/// What the client side needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub url: ClientUrl,
    pub mode: ClientMode,
    /// Send a digest C1 (Flash Player style) and check the server's digests.
    pub digest_handshake: bool,
    pub flash_ver: String,
    /// Enhanced RTMP codecs announced in `connect` (`fourCcList`) when playing.
    pub fourcc_list: Vec<FourCc>,
    pub limits: Limits,
    /// Varies the handshake's random bytes.
    pub seed: u64,
}

impl ClientConfig {
    /// Defaults: plain handshake, MediaMTX's `flashVer`, every codec this crate reads.
    pub fn new(url: ClientUrl, mode: ClientMode) -> Self {
        ClientConfig {
            url,
            mode,
            digest_handshake: false,
            flash_ver: "LNX 9,0,124,2".to_owned(),
            fourcc_list: vec![
                FourCc::AV1,
                FourCc::VP9,
                FourCc::VP8,
                FourCc::HEVC,
                FourCc::AVC,
                FourCc::OPUS,
                FourCc::FLAC,
                FourCc::AC3,
                FourCc::EAC3,
                FourCc::AAC,
                FourCc::MP3,
            ],
            limits: Limits::default(),
            seed: 0,
        }
    }
}

/// What happened on the connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The server accepted `connect` (its `_result` information object).
    Connected(Amf0Value),
    /// `NetStream.Publish.Start`: media may be written.
    Publishing,
    /// `NetStream.Play.Start`: media will come.
    Playing,
    /// Media from the server.
    Media(TagItem),
    /// Script data from the server (`onMetaData`, for example).
    Data(Vec<Amf0Value>),
    /// Any other `onStatus` (level, code, description).
    Status {
        level: String,
        code: String,
        description: String,
    },
    /// The server ended the stream (stream EOF).
    StreamEnded,
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientOutput {
    Transmit(Bytes),
    Event(ClientEvent),
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    Handshake,
    /// `connect` sent.
    Connecting,
    /// `createStream` sent.
    CreatingStream,
    /// `play` or `publish` sent.
    Requesting,
    Publishing,
    Playing,
    Closed,
}

const TXID_CONNECT: f64 = 1.0;
const TXID_CREATE_STREAM: f64 = 4.0;
const TXID_REQUEST: f64 = 5.0;

/// The client side of one connection.
#[derive(Debug)]
pub struct ClientConnection {
    config: ClientConfig,
    conn: Connection,
    handshake: Option<ClientHandshake>,
    verified: bool,
    state: ClientState,
    stream_id: u32,
    events: VecDeque<ClientEvent>,
    reader: TagReader,
    items: Vec<TagItem>,
    last_input: Instant,
    failed: bool,
}

fn status_fields(cmd: &Command) -> (String, String, String) {
    let info = cmd.arg_at(0).unwrap_or(&cmd.object);
    let text = |key: &str| {
        info.get(key)
            .and_then(Amf0Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    (text("level"), text("code"), text("description"))
}

impl ClientConnection {
    /// Starts the handshake (C0+C1 wait in [`Self::poll_output`]).
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        let mut conn = Connection::new(config.limits);
        let mut handshake = ClientHandshake::new(config.seed, config.digest_handshake);
        // Starting a new handshake cannot fail.
        let _ = handshake.start(conn.handshake_io().1);
        ClientConnection {
            config,
            conn,
            handshake: Some(handshake),
            verified: false,
            state: ClientState::Handshake,
            stream_id: 0,
            events: VecDeque::new(),
            reader: TagReader::new(),
            items: Vec::new(),
            last_input: now,
            failed: false,
        }
    }

    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The message stream `createStream` returned.
    pub fn stream_id(&self) -> u32 {
        self.stream_id
    }

    pub fn bytes_received(&self) -> u64 {
        self.conn.bytes_in()
    }

    pub fn bytes_sent(&self) -> u64 {
        self.conn.bytes_out()
    }

    pub fn pending_output(&self) -> usize {
        self.conn.pending_output()
    }

    /// Whether the server answered a digest C1 with valid digests.
    pub fn server_digest_verified(&self) -> bool {
        self.verified
    }

    pub fn last_input(&self) -> Instant {
        self.last_input
    }

    /// Takes received bytes; an error closes the connection.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) -> Result<(), Error> {
        if self.failed {
            return Err(Error::Closed);
        }
        self.last_input = now;
        if self.state == ClientState::Closed {
            // Closed on purpose: what the peer still sends is dropped.
            return Ok(());
        }
        self.conn.received(data);
        let result = self.process();
        if result.is_err() {
            self.state = ClientState::Closed;
            self.failed = true;
        }
        result
    }

    pub fn poll_output(&mut self) -> Option<ClientOutput> {
        if let Some(bytes) = self.conn.take_output() {
            return Some(ClientOutput::Transmit(bytes));
        }
        self.events.pop_front().map(ClientOutput::Event)
    }

    fn process(&mut self) -> Result<(), Error> {
        if let Some(hs) = &mut self.handshake {
            let (input, output) = self.conn.handshake_io();
            if !hs.handle(input, output)? {
                return Ok(());
            }
            self.verified = hs.server_verified();
            self.handshake = None;
            self.connect()?;
        }
        while let Some(raw) = self.conn.next_message()? {
            self.on_message(raw)?;
        }
        Ok(())
    }

    fn connect(&mut self) -> Result<(), Error> {
        let limits = *self.conn.limits();
        self.conn.announce_window(limits.window)?;
        self.conn.send_control(&Message::SetPeerBandwidth {
            size: limits.window,
            limit: 2,
        })?;
        self.conn.use_chunk_size(limits.chunk_size)?;
        let url = &self.config.url;
        let mut props = vec![
            ("app", Amf0Value::string(url.app.clone())),
            ("flashVer", Amf0Value::string(self.config.flash_ver.clone())),
            ("tcUrl", Amf0Value::string(url.tc_url.clone())),
        ];
        match self.config.mode {
            ClientMode::Publish => props.insert(1, ("type", Amf0Value::string("nonprivate"))),
            ClientMode::Play => {
                props.extend([
                    ("fpad", Amf0Value::Boolean(false)),
                    ("capabilities", Amf0Value::Number(15.0)),
                    ("audioCodecs", Amf0Value::Number(3191.0)),
                    ("videoCodecs", Amf0Value::Number(252.0)),
                    ("videoFunction", Amf0Value::Number(1.0)),
                ]);
                if !self.config.fourcc_list.is_empty() {
                    let list = self
                        .config
                        .fourcc_list
                        .iter()
                        .map(|c| Amf0Value::string(c.as_string()))
                        .collect();
                    props.push(("fourCcList", Amf0Value::StrictArray(list)));
                }
            }
        }
        props.push(("objectEncoding", Amf0Value::Number(0.0)));
        let cmd = Command::new("connect", TXID_CONNECT, Amf0Value::object(props));
        self.conn.send_command(CSID_COMMAND, 0, cmd)?;
        self.state = ClientState::Connecting;
        Ok(())
    }

    fn on_message(&mut self, raw: RawMessage) -> Result<(), Error> {
        match raw.type_id {
            message::TYPE_COMMAND_AMF0 | message::TYPE_COMMAND_AMF3 => {
                if let Message::Command(cmd) = Message::decode(raw.type_id, raw.payload)? {
                    self.on_command(cmd)?;
                }
            }
            message::TYPE_DATA_AMF0 | message::TYPE_DATA_AMF3
                if self.state == ClientState::Playing =>
            {
                if let Message::Data(values) = Message::decode(raw.type_id, raw.payload)? {
                    self.events.push_back(ClientEvent::Data(values));
                }
            }
            message::TYPE_AUDIO | message::TYPE_VIDEO if self.state == ClientState::Playing => {
                let kind = if raw.type_id == message::TYPE_AUDIO {
                    TagKind::Audio
                } else {
                    TagKind::Video
                };
                self.reader
                    .read(kind, raw.timestamp, &raw.payload, &mut self.items)?;
                self.events
                    .extend(self.items.drain(..).map(ClientEvent::Media));
            }
            message::TYPE_AGGREGATE if self.state == ClientState::Playing => {
                for part in message::split_aggregate(&raw)? {
                    if part.type_id != message::TYPE_AGGREGATE {
                        self.on_message(part)?;
                    }
                }
            }
            message::TYPE_USER_CONTROL => {
                if let Message::UserControl(UserControl::StreamEof(_)) =
                    Message::decode(raw.type_id, raw.payload)?
                    && self.state == ClientState::Playing
                {
                    self.events.push_back(ClientEvent::StreamEnded);
                }
            }
            other => tracing::trace!(type_id = other, "RTMP message ignored"),
        }
        Ok(())
    }

    fn on_command(&mut self, cmd: Command) -> Result<(), Error> {
        let txid = cmd.transaction_id;
        match cmd.name.as_str() {
            "_error" if txid == TXID_CONNECT || txid == TXID_CREATE_STREAM => {
                let (_, code, description) = status_fields(&cmd);
                Err(Error::Rejected { code, description })
            }
            "_result" if txid == TXID_CONNECT && self.state == ClientState::Connecting => {
                let info = cmd.arg_at(0).cloned().unwrap_or(Amf0Value::Null);
                self.events.push_back(ClientEvent::Connected(info));
                self.create_stream()
            }
            "_result"
                if txid == TXID_CREATE_STREAM && self.state == ClientState::CreatingStream =>
            {
                let id = cmd
                    .arg_at(0)
                    .and_then(Amf0Value::as_f64)
                    .ok_or_else(|| protocol("createStream result without a stream id"))?;
                self.stream_id = id as u32;
                self.request()
            }
            "onStatus" => {
                let (level, code, description) = status_fields(&cmd);
                if level == "error" {
                    return Err(Error::Rejected { code, description });
                }
                match (self.state, code.as_str()) {
                    (ClientState::Requesting, "NetStream.Publish.Start") => {
                        self.state = ClientState::Publishing;
                        self.events.push_back(ClientEvent::Publishing);
                    }
                    (ClientState::Requesting, "NetStream.Play.Start") => {
                        self.state = ClientState::Playing;
                        self.events.push_back(ClientEvent::Playing);
                    }
                    _ => self.events.push_back(ClientEvent::Status {
                        level,
                        code,
                        description,
                    }),
                }
                Ok(())
            }
            name => {
                tracing::trace!(name, txid, "RTMP command ignored");
                Ok(())
            }
        }
    }

    fn create_stream(&mut self) -> Result<(), Error> {
        let stream = Amf0Value::string(self.config.url.stream.clone());
        if self.config.mode == ClientMode::Publish {
            for (name, txid) in [("releaseStream", 2.0), ("FCPublish", 3.0)] {
                let cmd = Command::new(name, txid, Amf0Value::Null).arg(stream.clone());
                self.conn.send_command(CSID_COMMAND, 0, cmd)?;
            }
        }
        let cmd = Command::new("createStream", TXID_CREATE_STREAM, Amf0Value::Null);
        self.conn.send_command(CSID_COMMAND, 0, cmd)?;
        self.state = ClientState::CreatingStream;
        Ok(())
    }

    fn request(&mut self) -> Result<(), Error> {
        let stream = Amf0Value::string(self.config.url.stream.clone());
        let cmd = match self.config.mode {
            ClientMode::Publish => Command::new("publish", TXID_REQUEST, Amf0Value::Null)
                .arg(stream)
                .arg(Amf0Value::string("live")),
            ClientMode::Play => {
                self.conn
                    .send_control(&Message::UserControl(UserControl::SetBufferLength {
                        stream_id: self.stream_id,
                        millis: 3000,
                    }))?;
                Command::new("play", TXID_REQUEST, Amf0Value::Null)
                    .arg(stream)
                    .arg(Amf0Value::Number(-2000.0))
            }
        };
        self.conn.send_command(CSID_STREAM, self.stream_id, cmd)?;
        self.state = ClientState::Requesting;
        Ok(())
    }

    fn check_publishing(&self) -> Result<(), Error> {
        if self.state == ClientState::Publishing {
            Ok(())
        } else {
            Err(Error::InvalidState("not publishing"))
        }
    }

    /// Writes a tag (publishing).
    pub fn write_tag(&mut self, tag: &FlvTag) -> Result<(), Error> {
        self.check_publishing()?;
        self.conn.send_tag(tag, self.stream_id)
    }

    /// Writes a track's configuration (nothing for codecs that have none).
    pub fn write_config(
        &mut self,
        config: &TrackConfig,
        timestamp_ms: u32,
        style: TagStyle,
    ) -> Result<(), Error> {
        self.check_publishing()?;
        match FlvTag::config(config, timestamp_ms, style)? {
            Some(tag) => self.conn.send_tag(&tag, self.stream_id),
            None => Ok(()),
        }
    }

    /// Writes a frame.
    pub fn write_media(&mut self, media: &Media, style: TagStyle) -> Result<(), Error> {
        self.check_publishing()?;
        let tag = FlvTag::frame(media, style)?;
        self.conn.send_tag(&tag, self.stream_id)
    }

    /// Sends `@setDataFrame` with `onMetaData` and its properties, as publishers do.
    pub fn write_metadata(&mut self, properties: Vec<(String, Amf0Value)>) -> Result<(), Error> {
        self.check_publishing()?;
        let values = vec![
            Amf0Value::string("@setDataFrame"),
            Amf0Value::string("onMetaData"),
            Amf0Value::EcmaArray(properties),
        ];
        self.conn.send_data(self.stream_id, values)
    }

    /// Ends the stream as ffmpeg does (`FCUnpublish` and `deleteStream` for a publisher,
    /// `deleteStream` for a player); the driver closes the socket after sending.
    pub fn close_stream(&mut self) -> Result<(), Error> {
        if !matches!(self.state, ClientState::Publishing | ClientState::Playing) {
            return Err(Error::InvalidState("no stream to close"));
        }
        let stream = Amf0Value::string(self.config.url.stream.clone());
        if self.state == ClientState::Publishing {
            let cmd = Command::new("FCUnpublish", 6.0, Amf0Value::Null).arg(stream);
            self.conn.send_command(CSID_COMMAND, 0, cmd)?;
        }
        let cmd = Command::new("deleteStream", 7.0, Amf0Value::Null)
            .arg(Amf0Value::Number(f64::from(self.stream_id)));
        self.conn.send_command(CSID_COMMAND, 0, cmd)?;
        self.state = ClientState::Closed;
        Ok(())
    }
}
