//! The server's replies, message by message, to a scripted client sending what ffmpeg
//! and OBS send: MediaMTX's connect answer, `_result`s, the publish and play statuses.

use std::time::Instant;

use bytes::{Buf, BytesMut};
use ferromtx_rtmp::amf0::Amf0Value;
use ferromtx_rtmp::chunk::{ChunkDecoder, ChunkEncoder};
use ferromtx_rtmp::handshake::ClientHandshake;
use ferromtx_rtmp::message::{Command, Message, UserControl};
use ferromtx_rtmp::{ServerConfig, ServerConnection, ServerEvent, ServerOutput};

/// A scripted client: raw commands in, the server's messages out.
struct Script {
    now: Instant,
    server: ServerConnection,
    enc: ChunkEncoder,
    dec: ChunkDecoder,
    from_server: BytesMut,
    events: Vec<ServerEvent>,
}

impl Script {
    fn new() -> Self {
        let now = Instant::now();
        let mut server = ServerConnection::new(ServerConfig::default(), now);
        let mut wire = BytesMut::new();
        ClientHandshake::new(9, false)
            .start(&mut wire)
            .expect("C0C1");
        wire.extend_from_slice(&[0u8; 1536]);
        server.handle_input(now, &wire).expect("handshake");
        let mut s = Script {
            now,
            server,
            enc: ChunkEncoder::default(),
            dec: ChunkDecoder::default(),
            from_server: BytesMut::new(),
            events: Vec::new(),
        };
        s.collect();
        // S0 S1 S2.
        s.from_server.advance(1 + 2 * 1536);
        s
    }

    fn collect(&mut self) {
        while let Some(out) = self.server.poll_output() {
            match out {
                ServerOutput::Transmit(b) => self.from_server.extend_from_slice(&b),
                ServerOutput::Event(e) => self.events.push(e),
            }
        }
    }

    fn send(&mut self, stream_id: u32, cmd: Command) {
        let (type_id, body) = Message::Command(cmd).encode();
        let mut wire = BytesMut::new();
        self.enc
            .encode(3, 0, type_id, stream_id, &body, &mut wire)
            .expect("encodes");
        self.server.handle_input(self.now, &wire).expect("accepted");
        self.collect();
    }

    /// The server's messages so far, with their message stream ids.
    fn received(&mut self) -> Vec<(u32, Message)> {
        let mut out = Vec::new();
        while let Some(raw) = self.dec.decode(&mut self.from_server).expect("valid") {
            let msg = Message::decode(raw.type_id, raw.payload).expect("valid");
            if let Message::SetChunkSize(size) = msg {
                self.dec.set_chunk_size(size).expect("valid size");
            }
            out.push((raw.stream_id, msg));
        }
        out
    }
}

fn status(txid: f64, level: &str, code: &str, description: &str) -> Message {
    Message::Command(
        Command::new("onStatus", txid, Amf0Value::Null).arg(Amf0Value::object([
            ("level", Amf0Value::string(level)),
            ("code", Amf0Value::string(code)),
            ("description", Amf0Value::string(description)),
        ])),
    )
}

fn result(txid: f64, object: Amf0Value, arg: Amf0Value) -> Message {
    Message::Command(Command::new("_result", txid, object).arg(arg))
}

fn connect(s: &mut Script) {
    let object = Amf0Value::object([
        ("app", Amf0Value::string("live")),
        ("type", Amf0Value::string("nonprivate")),
        (
            "flashVer",
            Amf0Value::string("FMLE/3.0 (compatible; FMSc/1.0)"),
        ),
        ("tcUrl", Amf0Value::string("rtmp://127.0.0.1:1935/live")),
    ]);
    s.send(0, Command::new("connect", 1.0, object));
    assert_eq!(
        s.received(),
        vec![
            (0, Message::WindowAckSize(2_500_000)),
            (
                0,
                Message::SetPeerBandwidth {
                    size: 2_500_000,
                    limit: 2
                }
            ),
            (0, Message::SetChunkSize(65_536)),
            (
                0,
                result(
                    1.0,
                    Amf0Value::object([
                        ("fmsVer", Amf0Value::string("LNX 9,0,124,2")),
                        ("capabilities", Amf0Value::Number(31.0)),
                    ]),
                    Amf0Value::object([
                        ("level", Amf0Value::string("status")),
                        ("code", Amf0Value::string("NetConnection.Connect.Success")),
                        ("description", Amf0Value::string("Connection succeeded.")),
                        ("objectEncoding", Amf0Value::Number(0.0)),
                    ])
                )
            ),
        ]
    );
}

#[test]
fn publisher_sequence() {
    let mut s = Script::new();
    connect(&mut s);
    let key = || Amf0Value::string("test?user=a");
    s.send(
        0,
        Command::new("releaseStream", 2.0, Amf0Value::Null).arg(key()),
    );
    s.send(
        0,
        Command::new("FCPublish", 3.0, Amf0Value::Null).arg(key()),
    );
    s.send(0, Command::new("createStream", 4.0, Amf0Value::Null));
    // No answer is asked for with transaction id 0.
    s.send(
        0,
        Command::new("releaseStream", 0.0, Amf0Value::Null).arg(key()),
    );
    assert_eq!(
        s.received(),
        vec![
            (0, result(2.0, Amf0Value::Null, Amf0Value::Undefined)),
            (0, result(3.0, Amf0Value::Null, Amf0Value::Undefined)),
            (0, result(4.0, Amf0Value::Null, Amf0Value::Number(1.0))),
        ]
    );
    s.send(
        1,
        Command::new("publish", 5.0, Amf0Value::Null)
            .arg(key())
            .arg(Amf0Value::string("live")),
    );
    assert!(s.received().is_empty(), "the driver answers first");
    let Some(ServerEvent::PublishRequested(req)) = s.events.last() else {
        panic!("a publish request: {:?}", s.events);
    };
    assert_eq!(
        (req.path.path.as_str(), req.user()),
        ("live/test", Some("a".into()))
    );
    s.server.accept_publish().expect("accepts");
    s.collect();
    assert_eq!(
        s.received(),
        vec![(
            1,
            status(5.0, "status", "NetStream.Publish.Start", "publish start")
        )]
    );
    s.send(
        0,
        Command::new("FCUnpublish", 6.0, Amf0Value::Null).arg(key()),
    );
    assert_eq!(
        s.received(),
        vec![(0, result(6.0, Amf0Value::Null, Amf0Value::Undefined))]
    );
}

#[test]
fn player_sequence() {
    let mut s = Script::new();
    connect(&mut s);
    s.send(0, Command::new("createStream", 2.0, Amf0Value::Null));
    s.send(
        0,
        Command::new("getStreamLength", 3.0, Amf0Value::Null).arg(Amf0Value::string("cam")),
    );
    assert_eq!(
        s.received(),
        vec![
            (0, result(2.0, Amf0Value::Null, Amf0Value::Number(1.0))),
            (0, result(3.0, Amf0Value::Null, Amf0Value::Number(0.0))),
        ]
    );
    s.send(
        1,
        Command::new("play", 4.0, Amf0Value::Null)
            .arg(Amf0Value::string("cam"))
            .arg(Amf0Value::Number(-2000.0)),
    );
    s.server.accept_play().expect("accepts");
    s.collect();
    assert_eq!(
        s.received(),
        vec![
            (0, Message::UserControl(UserControl::StreamIsRecorded(1))),
            (0, Message::UserControl(UserControl::StreamBegin(1))),
            (
                1,
                status(4.0, "status", "NetStream.Play.Reset", "play reset")
            ),
            (
                1,
                status(4.0, "status", "NetStream.Play.Start", "play start")
            ),
            (
                1,
                status(4.0, "status", "NetStream.Data.Start", "data start")
            ),
            (
                1,
                status(
                    4.0,
                    "status",
                    "NetStream.Play.PublishNotify",
                    "publish notify"
                )
            ),
        ]
    );
}

#[test]
fn rejections_send_mediamtx_statuses() {
    let mut s = Script::new();
    connect(&mut s);
    s.send(
        1,
        Command::new("play", 0.0, Amf0Value::Null).arg(Amf0Value::string("cam")),
    );
    s.server
        .reject(ferromtx_rtmp::Rejection::Unauthorized)
        .expect("rejects");
    s.collect();
    assert_eq!(
        s.received(),
        vec![(
            1,
            status(
                0.0,
                "error",
                "NetStream.Play.Failed",
                "authentication failed"
            )
        )]
    );
}

#[test]
fn connect_variants() {
    // No tcUrl: the application stands for it; fourCcList and the info maps are read.
    let mut s = Script::new();
    let object = Amf0Value::object([
        ("app", Amf0Value::string("live")),
        (
            "fourCcList",
            Amf0Value::StrictArray(vec![Amf0Value::string("hvc1")]),
        ),
        (
            "videoFourCcInfoMap",
            Amf0Value::object([("av01", Amf0Value::Number(7.0))]),
        ),
        ("capsEx", Amf0Value::Number(2.0)),
    ]);
    s.send(0, Command::new("connect", 1.0, object));
    let Some(ServerEvent::Connected(info)) = s.events.first() else {
        panic!("connected");
    };
    assert_eq!(info.tc_url, "rtmp://localhost/live");
    assert_eq!(info.fourcc_list, vec!["hvc1".to_owned(), "av01".to_owned()]);
    assert_eq!(info.caps_ex, 2);
    assert!(info.accepts(ferromtx_rtmp::FourCc::AV1));
    assert!(!info.accepts(ferromtx_rtmp::FourCc::VP9));

    // No app at all is an error.
    let mut s = Script::new();
    let (type_id, body) = Message::Command(Command::new(
        "connect",
        1.0,
        Amf0Value::object([("tcUrl", Amf0Value::string("rtmp://h/live"))]),
    ))
    .encode();
    let mut wire = BytesMut::new();
    s.enc
        .encode(3, 0, type_id, 0, &body, &mut wire)
        .expect("encodes");
    assert!(s.server.handle_input(s.now, &wire).is_err());
}
