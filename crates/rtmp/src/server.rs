//! The server side of one RTMP connection as a sans-IO state machine.
//!
//! The driver feeds received bytes with [`ServerConnection::handle_input`], then calls
//! [`ServerConnection::poll_output`] until it returns `None`, sending every
//! [`ServerOutput::Transmit`] and acting on every [`ServerEvent`]. A publish or play
//! request waits for the driver's answer ([`ServerConnection::accept_publish`],
//! [`ServerConnection::accept_play`], [`ServerConnection::reject`]); a player is then
//! written tags with [`ServerConnection::write_tag`] (or media and configurations).
//!
//! The replies are MediaMTX's: window acknowledgement size, peer bandwidth and a 64 KiB
//! chunk size before the connect `_result` (`NetConnection.Connect.Success`), stream id
//! 1 for `createStream`, `NetStream.Publish.Start` for a publisher, and stream-is-recorded,
//! stream-begin and `NetStream.Play.Reset`/`Play.Start`/`Data.Start`/`Play.PublishNotify`
//! for a player; `_result` answers for `releaseStream`, `FCPublish`, `FCUnpublish` and
//! `getStreamLength` that carry a transaction id, as other servers send. Unknown commands
//! are ignored.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use crate::amf0::Amf0Value;
use crate::chunk::RawMessage;
use crate::connection::{CSID_STREAM, Connection, Limits, MEDIA_STREAM_ID};
use crate::error::{Error, protocol};
use crate::flv::{FlvTag, TagItem, TagKind, TagReader, TagStyle};
use crate::handshake::ServerHandshake;
use crate::media::{FourCc, Media, TrackConfig};
use crate::message::{self, Command, Message, UserControl};
use crate::url::StreamPath;

/// What the server side needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerConfig {
    pub limits: Limits,
    /// Varies the handshake's random bytes.
    pub seed: u64,
}

/// What the client said in its `connect` command.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectInfo {
    pub app: String,
    pub tc_url: String,
    /// The client's `flashVer` (its user agent).
    pub flash_ver: Option<String>,
    /// Enhanced RTMP: the codecs the client can handle, from `fourCcList` and the keys of
    /// `videoFourCcInfoMap`/`audioFourCcInfoMap` (`"*"` for any).
    pub fourcc_list: Vec<String>,
    /// Enhanced RTMP `capsEx` flags (0 when absent).
    pub caps_ex: u32,
    /// The whole command object.
    pub object: Amf0Value,
}

impl ConnectInfo {
    fn parse(object: &Amf0Value) -> Result<Self, Error> {
        let text = |key: &str| {
            object
                .get(key)
                .and_then(Amf0Value::as_str)
                .map(str::to_owned)
        };
        let app = text("app").ok_or_else(|| protocol("connect without app"))?;
        // Without tcUrl, the application stands for the URL.
        let tc_url = text("tcUrl")
            .or_else(|| text("tcurl"))
            .unwrap_or_else(|| format!("rtmp://localhost/{app}"));
        let mut fourcc_list: Vec<String> = match object.get("fourCcList") {
            Some(Amf0Value::StrictArray(items)) => items
                .iter()
                .filter_map(Amf0Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        for map in ["videoFourCcInfoMap", "audioFourCcInfoMap"] {
            if let Some(props) = object.get(map).and_then(Amf0Value::properties) {
                fourcc_list.extend(props.iter().map(|(k, _)| k.clone()));
            }
        }
        let caps_ex = object
            .get("capsEx")
            .and_then(Amf0Value::as_f64)
            .map_or(0, |v| v as u32);
        Ok(ConnectInfo {
            app,
            tc_url,
            flash_ver: text("flashVer"),
            fourcc_list,
            caps_ex,
            object: object.clone(),
        })
    }

    /// Whether the client declared it handles a codec (or any codec).
    pub fn accepts(&self, code: FourCc) -> bool {
        let text = code.as_string();
        self.fourcc_list.iter().any(|c| *c == text || c == "*")
    }
}

/// A `publish` or `play` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRequest {
    /// The stream name as sent.
    pub stream_name: String,
    /// Path and query, from `tcUrl` and the stream name.
    pub path: StreamPath,
    /// The publishing type (`live`, `record`, `append`) of a publish.
    pub publish_type: Option<String>,
}

impl StreamRequest {
    /// The `user` query parameter.
    pub fn user(&self) -> Option<String> {
        self.path.query_value("user")
    }

    /// The `pass` query parameter.
    pub fn pass(&self) -> Option<String> {
        self.path.query_value("pass")
    }
}

/// What happened on the connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// The client connected; the connection was accepted.
    Connected(ConnectInfo),
    /// Answer with `accept_publish` or `reject`.
    PublishRequested(StreamRequest),
    /// Answer with `accept_play` or `reject`.
    PlayRequested(StreamRequest),
    /// Media from the publisher.
    Media(TagItem),
    /// Script data from the publisher (`@setDataFrame` taken off: `onMetaData` and its
    /// array, for example).
    Data(Vec<Amf0Value>),
    /// The client ended the stream with this command (`FCUnpublish`, `deleteStream`,
    /// `closeStream`).
    StreamClosed(String),
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerOutput {
    Transmit(Bytes),
    Event(ServerEvent),
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    Handshake,
    /// Waiting for `connect`.
    Connecting,
    /// Connected; waiting for `publish` or `play`.
    Connected,
    /// Waiting for the driver's answer to a publish.
    PublishRequested,
    /// Waiting for the driver's answer to a play.
    PlayRequested,
    Publishing,
    Playing,
    /// Rejected, closed or failed: input is dropped (after a failure, refused).
    Closed,
}

/// Statuses a rejection can send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Bad credentials: `NetStream.Publish.Unauthorized` or `NetStream.Play.Failed`
    /// with "authentication failed", as MediaMTX answers.
    Unauthorized,
    /// Any other status code and description.
    Status { code: String, description: String },
}

/// The server side of one connection.
#[derive(Debug)]
pub struct ServerConnection {
    conn: Connection,
    handshake: Option<ServerHandshake>,
    state: ServerState,
    events: VecDeque<ServerEvent>,
    reader: TagReader,
    items: Vec<TagItem>,
    connect: Option<ConnectInfo>,
    request: Option<StreamRequest>,
    request_txid: f64,
    last_input: Instant,
    failed: bool,
    client_digest: bool,
}

impl ServerConnection {
    pub fn new(config: ServerConfig, now: Instant) -> Self {
        ServerConnection {
            conn: Connection::new(config.limits),
            handshake: Some(ServerHandshake::new(config.seed)),
            state: ServerState::Handshake,
            events: VecDeque::new(),
            reader: TagReader::new(),
            items: Vec::new(),
            connect: None,
            request: None,
            request_txid: 0.0,
            last_input: now,
            failed: false,
            client_digest: false,
        }
    }

    pub fn state(&self) -> ServerState {
        self.state
    }

    /// The client's `connect`, once received.
    pub fn connect_info(&self) -> Option<&ConnectInfo> {
        self.connect.as_ref()
    }

    /// The publish or play request, once received.
    pub fn stream_request(&self) -> Option<&StreamRequest> {
        self.request.as_ref()
    }

    pub fn bytes_received(&self) -> u64 {
        self.conn.bytes_in()
    }

    /// Bytes handed to the driver so far.
    pub fn bytes_sent(&self) -> u64 {
        self.conn.bytes_out()
    }

    /// Bytes waiting in [`Self::poll_output`].
    pub fn pending_output(&self) -> usize {
        self.conn.pending_output()
    }

    /// Bytes the client last acknowledged (wrapping at 2^32).
    pub fn peer_acknowledged(&self) -> u32 {
        self.conn.peer_acked()
    }

    /// Whether the client's C1 carried a valid digest (and was answered in kind).
    pub fn client_used_digest(&self) -> bool {
        self.client_digest
    }

    /// When input last came in.
    pub fn last_input(&self) -> Instant {
        self.last_input
    }

    /// Takes received bytes. An error closes the connection (the driver sends what
    /// [`Self::poll_output`] still holds, then closes the socket).
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) -> Result<(), Error> {
        if self.failed {
            return Err(Error::Closed);
        }
        self.last_input = now;
        if self.state == ServerState::Closed {
            // Closed on purpose: what the peer still sends is dropped.
            return Ok(());
        }
        self.conn.received(data);
        let result = self.process();
        if result.is_err() {
            self.state = ServerState::Closed;
            self.failed = true;
        }
        result
    }

    pub fn poll_output(&mut self) -> Option<ServerOutput> {
        if let Some(bytes) = self.conn.take_output() {
            return Some(ServerOutput::Transmit(bytes));
        }
        self.events.pop_front().map(ServerOutput::Event)
    }

    fn process(&mut self) -> Result<(), Error> {
        if let Some(hs) = &mut self.handshake {
            let (input, output) = self.conn.handshake_io();
            if !hs.handle(input, output)? {
                return Ok(());
            }
            self.client_digest = hs.client_digest().is_some();
            self.handshake = None;
            self.state = ServerState::Connecting;
        }
        while let Some(raw) = self.conn.next_message()? {
            self.on_message(raw, true)?;
        }
        Ok(())
    }

    fn on_message(&mut self, raw: RawMessage, allow_aggregate: bool) -> Result<(), Error> {
        match raw.type_id {
            message::TYPE_COMMAND_AMF0 | message::TYPE_COMMAND_AMF3 => {
                if let Message::Command(cmd) = Message::decode(raw.type_id, raw.payload)? {
                    self.on_command(cmd, raw.chunk_stream_id)?;
                }
            }
            message::TYPE_DATA_AMF0 | message::TYPE_DATA_AMF3
                if self.state == ServerState::Publishing =>
            {
                if let Message::Data(mut values) = Message::decode(raw.type_id, raw.payload)? {
                    if values.first().and_then(Amf0Value::as_str) == Some("@setDataFrame") {
                        values.remove(0);
                    }
                    self.events.push_back(ServerEvent::Data(values));
                }
            }
            message::TYPE_AUDIO | message::TYPE_VIDEO if self.state == ServerState::Publishing => {
                let kind = if raw.type_id == message::TYPE_AUDIO {
                    TagKind::Audio
                } else {
                    TagKind::Video
                };
                self.reader
                    .read(kind, raw.timestamp, &raw.payload, &mut self.items)?;
                self.events
                    .extend(self.items.drain(..).map(ServerEvent::Media));
            }
            message::TYPE_AGGREGATE if allow_aggregate && self.state == ServerState::Publishing => {
                for part in message::split_aggregate(&raw)? {
                    self.on_message(part, false)?;
                }
            }
            message::TYPE_AUDIO | message::TYPE_VIDEO | message::TYPE_DATA_AMF0 => {
                tracing::trace!(
                    type_id = raw.type_id,
                    "RTMP media before publishing, dropped"
                );
            }
            other => tracing::trace!(type_id = other, "RTMP message ignored"),
        }
        Ok(())
    }

    fn reply(
        &mut self,
        csid: u32,
        name: &str,
        txid: f64,
        object: Amf0Value,
        arg: Amf0Value,
    ) -> Result<(), Error> {
        self.conn
            .send_command(csid, 0, Command::new(name, txid, object).arg(arg))
    }

    fn on_command(&mut self, cmd: Command, csid: u32) -> Result<(), Error> {
        let txid = cmd.transaction_id;
        tracing::trace!(name = %cmd.name, txid, "RTMP command");
        match (self.state, cmd.name.as_str()) {
            (ServerState::Connecting, "connect") => self.on_connect(&cmd, csid),
            (ServerState::Connecting, other) => {
                Err(protocol(format!("expected connect, got '{other}'")))
            }
            (_, "connect") => Err(protocol("connect received twice")),
            (_, "createStream") => self.reply(
                csid,
                "_result",
                txid,
                Amf0Value::Null,
                Amf0Value::Number(f64::from(MEDIA_STREAM_ID)),
            ),
            // Transaction id 0 asks for no answer.
            (_, "releaseStream" | "FCPublish") if txid != 0.0 => {
                self.reply(csid, "_result", txid, Amf0Value::Null, Amf0Value::Undefined)
            }
            (_, "getStreamLength") if txid != 0.0 => self.reply(
                csid,
                "_result",
                txid,
                Amf0Value::Null,
                Amf0Value::Number(0.0),
            ),
            (ServerState::Connected, "publish" | "play") => self.on_request(cmd),
            (
                ServerState::PublishRequested
                | ServerState::PlayRequested
                | ServerState::Publishing
                | ServerState::Playing,
                "publish" | "play",
            ) => Err(protocol(format!(
                "'{}' on a stream already in use",
                cmd.name
            ))),
            (_, "FCUnpublish" | "deleteStream" | "closeStream") => {
                if cmd.name == "FCUnpublish" && txid != 0.0 {
                    self.reply(csid, "_result", txid, Amf0Value::Null, Amf0Value::Undefined)?;
                }
                if matches!(self.state, ServerState::Publishing | ServerState::Playing) {
                    self.events.push_back(ServerEvent::StreamClosed(cmd.name));
                }
                Ok(())
            }
            (_, name) => {
                tracing::debug!(name, "RTMP command ignored");
                Ok(())
            }
        }
    }

    fn on_connect(&mut self, cmd: &Command, csid: u32) -> Result<(), Error> {
        let info = ConnectInfo::parse(&cmd.object)?;
        let limits = *self.conn.limits();
        self.conn.announce_window(limits.window)?;
        self.conn.send_control(&Message::SetPeerBandwidth {
            size: limits.window,
            limit: 2,
        })?;
        self.conn.use_chunk_size(limits.chunk_size)?;
        let properties = Amf0Value::object([
            ("fmsVer", Amf0Value::string("LNX 9,0,124,2")),
            ("capabilities", Amf0Value::Number(31.0)),
        ]);
        let information = Amf0Value::object([
            ("level", Amf0Value::string("status")),
            ("code", Amf0Value::string("NetConnection.Connect.Success")),
            ("description", Amf0Value::string("Connection succeeded.")),
            ("objectEncoding", Amf0Value::Number(0.0)),
        ]);
        self.reply(csid, "_result", cmd.transaction_id, properties, information)?;
        self.state = ServerState::Connected;
        self.connect = Some(info.clone());
        self.events.push_back(ServerEvent::Connected(info));
        Ok(())
    }

    fn on_request(&mut self, cmd: Command) -> Result<(), Error> {
        let publish = cmd.name == "publish";
        let stream_name = cmd
            .arg_at(0)
            .and_then(Amf0Value::as_str)
            .ok_or_else(|| protocol(format!("'{}' without a stream name", cmd.name)))?
            .to_owned();
        let tc_url = self.connect.as_ref().map_or("", |c| c.tc_url.as_str());
        let request = StreamRequest {
            path: StreamPath::join(tc_url, &stream_name),
            stream_name,
            publish_type: if publish {
                cmd.arg_at(1).and_then(Amf0Value::as_str).map(str::to_owned)
            } else {
                None
            },
        };
        self.request_txid = cmd.transaction_id;
        self.request = Some(request.clone());
        if publish {
            self.state = ServerState::PublishRequested;
            self.events
                .push_back(ServerEvent::PublishRequested(request));
        } else {
            self.state = ServerState::PlayRequested;
            self.events.push_back(ServerEvent::PlayRequested(request));
        }
        Ok(())
    }

    fn status(&mut self, level: &str, code: &str, description: &str) -> Result<(), Error> {
        let info = Amf0Value::object([
            ("level", Amf0Value::string(level)),
            ("code", Amf0Value::string(code)),
            ("description", Amf0Value::string(description)),
        ]);
        let cmd = Command::new("onStatus", self.request_txid, Amf0Value::Null).arg(info);
        self.conn.send_command(CSID_STREAM, MEDIA_STREAM_ID, cmd)
    }

    /// Accepts a publish request: the client may send media.
    pub fn accept_publish(&mut self) -> Result<(), Error> {
        if self.state != ServerState::PublishRequested {
            return Err(Error::InvalidState("no publish request to accept"));
        }
        self.status("status", "NetStream.Publish.Start", "publish start")?;
        self.state = ServerState::Publishing;
        Ok(())
    }

    /// Accepts a play request: the driver may write tags.
    pub fn accept_play(&mut self) -> Result<(), Error> {
        if self.state != ServerState::PlayRequested {
            return Err(Error::InvalidState("no play request to accept"));
        }
        for event in [
            UserControl::StreamIsRecorded(MEDIA_STREAM_ID),
            UserControl::StreamBegin(MEDIA_STREAM_ID),
        ] {
            self.conn.send_control(&Message::UserControl(event))?;
        }
        self.status("status", "NetStream.Play.Reset", "play reset")?;
        self.status("status", "NetStream.Play.Start", "play start")?;
        self.status("status", "NetStream.Data.Start", "data start")?;
        self.status("status", "NetStream.Play.PublishNotify", "publish notify")?;
        self.state = ServerState::Playing;
        Ok(())
    }

    /// Refuses a publish or play request with an error status; the connection is closed
    /// once the driver has sent the pending output.
    pub fn reject(&mut self, rejection: Rejection) -> Result<(), Error> {
        let publish = match self.state {
            ServerState::PublishRequested => true,
            ServerState::PlayRequested => false,
            _ => return Err(Error::InvalidState("no request to reject")),
        };
        let (code, description) = match rejection {
            Rejection::Unauthorized if publish => (
                "NetStream.Publish.Unauthorized".to_owned(),
                "authentication failed".to_owned(),
            ),
            Rejection::Unauthorized => (
                "NetStream.Play.Failed".to_owned(),
                "authentication failed".to_owned(),
            ),
            Rejection::Status { code, description } => (code, description),
        };
        self.status("error", &code, &description)?;
        self.state = ServerState::Closed;
        Ok(())
    }

    fn check_playing(&self) -> Result<(), Error> {
        if self.state == ServerState::Playing {
            Ok(())
        } else {
            Err(Error::InvalidState("not playing"))
        }
    }

    /// Writes a tag to a player (a tag made once per stream can go to every player).
    pub fn write_tag(&mut self, tag: &FlvTag) -> Result<(), Error> {
        self.check_playing()?;
        self.conn.send_tag(tag, MEDIA_STREAM_ID)
    }

    /// Writes a track's configuration to a player (nothing for codecs that have none).
    pub fn write_config(
        &mut self,
        config: &TrackConfig,
        timestamp_ms: u32,
        style: TagStyle,
    ) -> Result<(), Error> {
        self.check_playing()?;
        match FlvTag::config(config, timestamp_ms, style)? {
            Some(tag) => self.conn.send_tag(&tag, MEDIA_STREAM_ID),
            None => Ok(()),
        }
    }

    /// Writes a frame to a player.
    pub fn write_media(&mut self, media: &Media, style: TagStyle) -> Result<(), Error> {
        self.check_playing()?;
        let tag = FlvTag::frame(media, style)?;
        self.conn.send_tag(&tag, MEDIA_STREAM_ID)
    }

    /// Writes script data to a player (`onMetaData` and its object, for example).
    pub fn write_data(&mut self, values: Vec<Amf0Value>) -> Result<(), Error> {
        self.check_playing()?;
        self.conn.send_data(MEDIA_STREAM_ID, values)
    }
}
