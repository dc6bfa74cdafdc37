//! The RTMP server state machine after a valid handshake (and, chosen by the first
//! byte, after connect, createStream and an accepted publish): arbitrary bytes, given
//! whole or split at a point the second byte chooses, never panic, and both ways give
//! the same events and the same outcome.

use std::time::Instant;

use bytes::BytesMut;
use ferromtx_rtmp::amf0::Amf0Value;
use ferromtx_rtmp::chunk::ChunkEncoder;
use ferromtx_rtmp::handshake::PACKET_LEN;
use ferromtx_rtmp::message::{Command, Message};
use ferromtx_rtmp::{ServerConfig, ServerConnection, ServerEvent, ServerOutput};

fn command(enc: &mut ChunkEncoder, out: &mut BytesMut, stream_id: u32, cmd: Command) {
    let (type_id, body) = Message::Command(cmd).encode();
    enc.encode(3, 0, type_id, stream_id, &body, out)
        .expect("small commands encode");
}

/// C0, C1 and C2 of a plain handshake, then as many setup commands as `stage` says.
fn prefix(stage: u8) -> BytesMut {
    let mut out = BytesMut::new();
    out.extend_from_slice(&[3]);
    out.extend_from_slice(&[0u8; 2 * PACKET_LEN]);
    let mut enc = ChunkEncoder::default();
    if stage >= 1 {
        let object = Amf0Value::object([
            ("app", Amf0Value::string("live")),
            ("tcUrl", Amf0Value::string("rtmp://127.0.0.1/live")),
        ]);
        command(&mut enc, &mut out, 0, Command::new("connect", 1.0, object));
    }
    if stage >= 2 {
        command(
            &mut enc,
            &mut out,
            0,
            Command::new("createStream", 2.0, Amf0Value::Null),
        );
        let publish = Command::new("publish", 3.0, Amf0Value::Null)
            .arg(Amf0Value::string("test"))
            .arg(Amf0Value::string("live"));
        command(&mut enc, &mut out, 1, publish);
    }
    out
}

/// Feeds the prefix (accepting its publish), then the pieces; returns the events after
/// the prefix and whether the input failed.
fn feed(prefix: &[u8], pieces: &[&[u8]]) -> (Vec<String>, bool) {
    let now = Instant::now();
    let mut server = ServerConnection::new(ServerConfig::default(), now);
    server
        .handle_input(now, prefix)
        .expect("the prefix is valid");
    while let Some(out) = server.poll_output() {
        if let ServerOutput::Event(ServerEvent::PublishRequested(_)) = out {
            server
                .accept_publish()
                .expect("a requested publish is accepted");
        }
    }
    let mut events = Vec::new();
    let mut failed = false;
    for piece in pieces {
        if server.handle_input(now, piece).is_err() {
            failed = true;
        }
        while let Some(out) = server.poll_output() {
            // Requests are left unanswered: an answer between the two pieces would
            // let media through that the whole input drops.
            if let ServerOutput::Event(event) = out {
                events.push(format!("{event:?}"));
            }
        }
        if failed {
            break;
        }
    }
    (events, failed)
}

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let [stage, cut, rest @ ..] = data else {
        return;
    };
    let prefix = prefix(stage % 3);
    let cut = usize::from(*cut) * rest.len() / 255;
    let whole = feed(&prefix, &[rest]);
    let split = feed(&prefix, &[&rest[..cut], &rest[cut..]]);
    assert_eq!(whole, split);
}
