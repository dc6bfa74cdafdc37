//! Client and server state machines against each other in memory: connect,
//! createStream, publish, media, play on another connection, rejections, digest
//! handshakes, chunk sizes, extended timestamps, byte-by-byte delivery, bad input.

mod common;

use bytes::Bytes;
use common::{Pair, hex};
use ferromtx_rtmp::amf0::Amf0Value;
use ferromtx_rtmp::chunk::ChunkLimits;
use ferromtx_rtmp::flv::av1c::Av1Config;
use ferromtx_rtmp::flv::avcc::AvcConfig;
use ferromtx_rtmp::flv::hvcc::HevcConfig;
use ferromtx_rtmp::flv::opus_head::OpusHead;
use ferromtx_rtmp::server::ServerState;
use ferromtx_rtmp::{
    ClientConfig, ClientEvent, ClientMode, ClientUrl, Codec, CodecParams, Error, Limits, Media,
    Rejection, ServerEvent, TagItem, TagStyle, TrackConfig,
};

const SPS: &str = "6742c00ad90426c044000003000400000300c83c489920";
const PPS: &str = "68cb83cb20";

fn limits(chunk_size: u32) -> Limits {
    Limits {
        chunk_size,
        ..Limits::default()
    }
}

fn h264_config() -> TrackConfig {
    TrackConfig {
        track: 0,
        params: CodecParams::H264(
            AvcConfig::from_parameter_sets(hex(SPS), hex(PPS)).expect("avcC"),
        ),
    }
}

fn aac_config() -> TrackConfig {
    TrackConfig {
        track: 0,
        params: CodecParams::Aac(hex("1190")),
    }
}

fn frame(codec: Codec, track: u8, ts: u32, keyframe: bool, parts: Vec<Bytes>) -> Media {
    Media {
        track,
        codec,
        timestamp_ms: ts,
        composition_ms: if codec == Codec::H264 { 80 } else { 0 },
        keyframe,
        parts,
    }
}

/// A keyframe far larger than any chunk, P-frames, AAC frames; timestamps that cross
/// the 24-bit limit (extended timestamps).
fn sample_media() -> Vec<Media> {
    let big: Bytes = (0..150_000u32).map(|i| (i % 251) as u8).collect();
    let idr = [&[0x65u8][..], &big].concat();
    let mut out = vec![frame(
        Codec::H264,
        0,
        0x00ff_ff00,
        true,
        vec![hex("0910"), Bytes::from(idr)],
    )];
    for i in 1..6u32 {
        let ts = 0x00ff_ff00 + i * 40;
        out.push(frame(
            Codec::H264,
            0,
            ts,
            false,
            vec![hex(&format!("41{i:02x}aabb"))],
        ));
        out.push(frame(
            Codec::Aac,
            0,
            ts + 3,
            true,
            vec![hex(&format!("2110{i:02x}"))],
        ));
    }
    out
}

fn media_items(events: &[ServerEvent]) -> Vec<TagItem> {
    events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Media(item) => Some(item.clone()),
            _ => None,
        })
        .collect()
}

fn client_items(events: &[ClientEvent]) -> Vec<TagItem> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Media(item) => Some(item.clone()),
            _ => None,
        })
        .collect()
}

fn publish(pair: &mut Pair) {
    pair.run().expect("runs");
    let events = pair.take_server_events();
    let ServerEvent::PublishRequested(req) = &events[1] else {
        panic!("publish request expected: {events:?}");
    };
    assert_eq!(req.publish_type.as_deref(), Some("live"));
    pair.server.accept_publish().expect("accepts");
    pair.run().expect("runs");
    assert!(pair.take_client_events().contains(&ClientEvent::Publishing));
}

fn play(pair: &mut Pair) {
    pair.run().expect("runs");
    let events = pair.take_server_events();
    assert!(matches!(&events[1], ServerEvent::PlayRequested(r) if r.path.path == "live/test"));
    pair.server.accept_play().expect("accepts");
    pair.run().expect("runs");
    assert!(pair.take_client_events().contains(&ClientEvent::Playing));
}

#[test]
fn publish_and_play_relay_media_at_several_chunk_sizes() {
    for chunk_size in [128, 4096, 60_000] {
        let mut publisher = Pair::new(
            "rtmp://127.0.0.1:1935/live/test?user=me&pass=secret",
            ClientMode::Publish,
            limits(chunk_size),
            limits(chunk_size),
        );
        publisher.run().expect("handshake and connect");
        let events = publisher.take_server_events();
        let ServerEvent::Connected(info) = &events[0] else {
            panic!("connected expected: {events:?}");
        };
        assert_eq!(info.app, "live");
        assert_eq!(info.tc_url, "rtmp://127.0.0.1:1935/live");
        assert_eq!(info.flash_ver.as_deref(), Some("LNX 9,0,124,2"));
        let ServerEvent::PublishRequested(req) = &events[1] else {
            panic!("publish request expected: {events:?}");
        };
        assert_eq!(req.path.path, "live/test");
        assert_eq!(req.path.query, "user=me&pass=secret");
        assert_eq!(req.user().as_deref(), Some("me"));
        assert_eq!(req.pass().as_deref(), Some("secret"));
        assert_eq!(publisher.server.state(), ServerState::PublishRequested);
        publisher.server.accept_publish().expect("accepts");
        publisher.run().expect("runs");
        assert!(
            publisher
                .take_client_events()
                .contains(&ClientEvent::Publishing)
        );

        let media = sample_media();
        let client = &mut publisher.client;
        client
            .write_metadata(vec![("width".into(), Amf0Value::Number(64.0))])
            .expect("metadata");
        client
            .write_config(&h264_config(), 0, TagStyle::Classic)
            .expect("config");
        client
            .write_config(&aac_config(), 0, TagStyle::Classic)
            .expect("config");
        for m in &media {
            client.write_media(m, TagStyle::Classic).expect("media");
        }
        publisher.run().expect("media flows");
        let events = publisher.take_server_events();
        assert_eq!(
            events[0],
            ServerEvent::Data(vec![
                Amf0Value::string("onMetaData"),
                Amf0Value::EcmaArray(vec![("width".into(), Amf0Value::Number(64.0))]),
            ])
        );
        let received = media_items(&events);
        let mut expected = vec![
            TagItem::Config(h264_config()),
            TagItem::Config(aac_config()),
        ];
        expected.extend(media.iter().cloned().map(TagItem::Frame));
        assert_eq!(received, expected, "chunk size {chunk_size}");

        // A player on another connection gets what the publisher sent.
        let mut player = Pair::new(
            "rtmp://127.0.0.1/live/test",
            ClientMode::Play,
            limits(chunk_size),
            limits(chunk_size),
        );
        play(&mut player);
        player
            .server
            .write_data(vec![
                Amf0Value::string("onMetaData"),
                Amf0Value::EcmaArray(vec![]),
            ])
            .expect("data");
        for item in &received {
            match item {
                TagItem::Config(c) => player.server.write_config(c, 0, TagStyle::Classic),
                TagItem::Frame(m) => player.server.write_media(m, TagStyle::Classic),
                other => panic!("unexpected {other:?}"),
            }
            .expect("writes");
        }
        player.run().expect("media flows");
        let events = player.take_client_events();
        assert_eq!(
            events[0],
            ClientEvent::Data(vec![
                Amf0Value::string("onMetaData"),
                Amf0Value::EcmaArray(vec![])
            ])
        );
        assert_eq!(client_items(&events), expected, "chunk size {chunk_size}");
        assert!(player.server.bytes_sent() > 150_000);
        assert!(player.client.bytes_received() == player.server.bytes_sent());

        // The publisher ends the stream as ffmpeg does.
        publisher.client.close_stream().expect("closes");
        publisher.run().expect("runs");
        assert_eq!(
            publisher.take_server_events(),
            vec![
                ServerEvent::StreamClosed("FCUnpublish".into()),
                ServerEvent::StreamClosed("deleteStream".into())
            ]
        );
    }
}

#[test]
fn enhanced_multitrack_media_crosses_a_connection() {
    let mut publisher = Pair::new(
        "rtmp://h/live/test",
        ClientMode::Publish,
        limits(4096),
        limits(4096),
    );
    publish(&mut publisher);
    let hevc = HevcConfig::from_parameter_sets(
        hex("40010c01ffff01600000030090000003000003001e959809"),
        hex("42010101600000030090000003000003001ea020810596566924caf0168080000003008000000c84"),
        hex("4401c172b42240"),
    )
    .expect("hvcC");
    let av1 = Av1Config::from_sequence_header(&hex("0a0a00000002afff9b5f2008")).expect("av1C");
    let configs = [
        TrackConfig {
            track: 0,
            params: CodecParams::H265(hevc),
        },
        TrackConfig {
            track: 1,
            params: CodecParams::Av1(av1),
        },
        TrackConfig {
            track: 0,
            params: CodecParams::Opus(OpusHead::for_channels(2).to_bytes()),
        },
        TrackConfig {
            track: 1,
            params: CodecParams::Aac(hex("1190")),
        },
    ];
    let frames = [
        frame(Codec::H265, 0, 0, true, vec![hex("2601af01")]),
        frame(
            Codec::Av1,
            1,
            0,
            true,
            vec![
                hex("1200"),
                hex("0a0a00000002afff9b5f2008"),
                hex("3203aabbcc"),
            ],
        ),
        frame(Codec::Opus, 0, 10, true, vec![hex("fcfffe")]),
        frame(Codec::Aac, 1, 10, true, vec![hex("211005")]),
    ];
    for c in &configs {
        publisher
            .client
            .write_config(c, 0, TagStyle::Enhanced)
            .expect("config");
    }
    for f in &frames {
        publisher
            .client
            .write_media(f, TagStyle::Enhanced)
            .expect("frame");
    }
    publisher.run().expect("runs");
    let mut expected: Vec<TagItem> = configs.iter().cloned().map(TagItem::Config).collect();
    expected.extend(frames.iter().cloned().map(TagItem::Frame));
    assert_eq!(media_items(&publisher.take_server_events()), expected);

    let mut player = Pair::new(
        "rtmp://h/live/test",
        ClientMode::Play,
        limits(4096),
        limits(4096),
    );
    play(&mut player);
    let info = player.server.connect_info().expect("connected");
    assert!(info.accepts(ferromtx_rtmp::FourCc::HEVC));
    for c in &configs {
        player
            .server
            .write_config(c, 0, TagStyle::Classic)
            .expect("config");
    }
    for f in &frames {
        player
            .server
            .write_media(f, TagStyle::Classic)
            .expect("frame");
    }
    player.run().expect("runs");
    assert_eq!(client_items(&player.take_client_events()), expected);
}

#[test]
fn digest_handshake_completes_and_verifies() {
    let mut config = ClientConfig::new(
        ClientUrl::parse("rtmp://h/live/test").expect("url"),
        ClientMode::Play,
    );
    config.digest_handshake = true;
    let mut pair = Pair::with_config(config, Limits::default());
    play(&mut pair);
    assert!(pair.client.server_digest_verified());
}

#[test]
fn byte_by_byte_delivery_gives_the_same_result() {
    let mut pair = Pair::new(
        "rtmp://h/live/test",
        ClientMode::Publish,
        limits(128),
        limits(128),
    );
    pair.piece = 1;
    publish(&mut pair);
    let m = frame(
        Codec::H264,
        0,
        0x0100_0000,
        true,
        vec![Bytes::from(vec![0x65; 700])],
    );
    pair.client
        .write_config(&h264_config(), 0, TagStyle::Classic)
        .expect("config");
    pair.client
        .write_media(&m, TagStyle::Classic)
        .expect("frame");
    pair.run().expect("runs");
    assert_eq!(
        media_items(&pair.take_server_events()),
        vec![TagItem::Config(h264_config()), TagItem::Frame(m)]
    );
}

#[test]
fn rejected_requests_reach_the_client() {
    let mut pair = Pair::new(
        "rtmp://h/live/test?user=x",
        ClientMode::Publish,
        limits(4096),
        limits(4096),
    );
    pair.run().expect("runs");
    pair.server
        .reject(Rejection::Unauthorized)
        .expect("rejects");
    assert_eq!(pair.server.state(), ServerState::Closed);
    assert_eq!(
        pair.run(),
        Err(Error::Rejected {
            code: "NetStream.Publish.Unauthorized".into(),
            description: "authentication failed".into()
        })
    );

    let mut pair = Pair::new(
        "rtmp://h/live/test",
        ClientMode::Play,
        limits(4096),
        limits(4096),
    );
    pair.run().expect("runs");
    assert_eq!(
        pair.server.accept_publish(),
        Err(Error::InvalidState("no publish request to accept"))
    );
    pair.server
        .reject(Rejection::Status {
            code: "NetStream.Play.StreamNotFound".into(),
            description: "no one is publishing".into(),
        })
        .expect("rejects");
    assert!(
        matches!(pair.run(), Err(Error::Rejected { code, .. }) if code == "NetStream.Play.StreamNotFound")
    );
    assert!(matches!(
        pair.server.write_media(
            &frame(Codec::Aac, 0, 0, true, vec![hex("21")]),
            TagStyle::Classic
        ),
        Err(Error::InvalidState(_))
    ));
}

#[test]
fn acknowledgements_follow_the_announced_windows() {
    let small = Limits {
        window: 10_000,
        ..limits(4096)
    };
    let mut pair = Pair::new("rtmp://h/live/test", ClientMode::Play, small, small);
    play(&mut pair);
    for i in 0..10u32 {
        let m = frame(
            Codec::Aac,
            0,
            i * 23,
            true,
            vec![Bytes::from(vec![0x21; 3000])],
        );
        pair.server
            .write_media(&m, TagStyle::Classic)
            .expect("writes");
    }
    pair.run().expect("runs");
    // The client acknowledged what it received, in windows.
    let acked = u64::from(pair.server.peer_acknowledged());
    assert!(
        acked >= 30_000 && acked <= pair.client.bytes_received(),
        "{acked}"
    );
}

#[test]
fn garbage_after_the_handshake_closes_the_connection() {
    let mut pair = Pair::new(
        "rtmp://h/live/test",
        ClientMode::Publish,
        limits(4096),
        limits(4096),
    );
    publish(&mut pair);
    // A type 1 header on a chunk stream never used before.
    let now = pair.now;
    assert!(matches!(
        pair.server.handle_input(now, &hex("4a 000000 000010 09")),
        Err(Error::Chunk(_))
    ));
    assert_eq!(pair.server.state(), ServerState::Closed);
    assert_eq!(pair.server.handle_input(now, &[0]), Err(Error::Closed));
}

#[test]
fn commands_out_of_order_are_protocol_errors() {
    use ferromtx_rtmp::chunk::ChunkEncoder;
    use ferromtx_rtmp::handshake::ClientHandshake;
    use ferromtx_rtmp::message::{Command, Message};
    use ferromtx_rtmp::{ServerConfig, ServerConnection};
    use std::time::Instant;

    let now = Instant::now();
    let mut server = ServerConnection::new(ServerConfig::default(), now);
    let mut hs = ClientHandshake::new(3, false);
    let mut wire = bytes::BytesMut::new();
    hs.start(&mut wire).expect("start");
    wire.extend_from_slice(&[0u8; 1536]);
    let (type_id, body) =
        Message::Command(Command::new("play", 1.0, Amf0Value::Null).arg(Amf0Value::string("cam")))
            .encode();
    ChunkEncoder::default()
        .encode(3, 0, type_id, 0, &body, &mut wire)
        .expect("encodes");
    let err = server
        .handle_input(now, &wire)
        .expect_err("play before connect");
    assert_eq!(err, Error::Protocol("expected connect, got 'play'".into()));

    // Tiny limits: a message longer than allowed.
    let mut server = ServerConnection::new(
        ServerConfig {
            limits: Limits {
                chunk: ChunkLimits {
                    max_message_len: 100,
                    ..ChunkLimits::default()
                },
                ..Limits::default()
            },
            seed: 0,
        },
        now,
    );
    let mut wire = bytes::BytesMut::new();
    ClientHandshake::new(3, false)
        .start(&mut wire)
        .expect("start");
    wire.extend_from_slice(&[0u8; 1536]);
    wire.extend_from_slice(&hex("03 000000 000200 14 00000000"));
    assert!(matches!(
        server.handle_input(now, &wire),
        Err(Error::Chunk(
            ferromtx_rtmp::chunk::ChunkError::MessageTooLarge { .. }
        ))
    ));
}
