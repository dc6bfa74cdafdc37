//! Interleaved framing mixed with RTSP messages: the input describes a sequence of `$`
//! frames and requests (with and without bodies), which is encoded and then decoded
//! whole, split at a point the input chooses, and byte by byte. Every way must give back
//! exactly the items encoded, in order, with nothing left in the buffer.

use bytes::{Bytes, BytesMut};
use ferromtx_rtsp::interleaved::Interleaved;
use ferromtx_rtsp::message::{Decoder, Incoming, Message, Method, Request};

const METHODS: [Method; 6] = [
    Method::Options,
    Method::Describe,
    Method::Setup,
    Method::Play,
    Method::GetParameter,
    Method::Teardown,
];

/// What is compared of an item: frames entirely, requests by method, URI, CSeq, body.
#[derive(Debug, PartialEq, Eq)]
enum Item {
    Frame(u8, Bytes),
    Request(String, String, Option<u32>, Bytes),
}

fn item(incoming: Incoming) -> Item {
    match incoming {
        Incoming::Interleaved(f) => Item::Frame(f.channel, f.payload),
        Incoming::Message(Message::Request(r)) => Item::Request(
            r.method.to_string(),
            r.uri.clone(),
            r.headers.cseq(),
            r.body,
        ),
        Incoming::Message(Message::Response(r)) => panic!("no response was encoded: {r:?}"),
    }
}

fn decode(chunks: &[&[u8]]) -> Vec<Item> {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for chunk in chunks {
        d.push(chunk);
        while let Some(incoming) = d.pull() {
            out.push(item(incoming.expect("valid input decodes")));
        }
    }
    assert_eq!(d.buffered(), 0, "nothing left over");
    out
}

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&cut_seed, mut rest)) = data.split_first() else {
        return;
    };
    let mut wire = BytesMut::new();
    let mut expected = Vec::new();
    let mut cseq = 0u32;
    // Each item: [kind, len, len bytes]; an even kind is a frame on channel kind/2, an
    // odd one a request whose body is the bytes.
    while let [kind, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        let payload = Bytes::copy_from_slice(payload);
        if kind % 2 == 0 {
            let frame = Interleaved {
                channel: kind / 2,
                payload: payload.clone(),
            };
            frame.encode(&mut wire).expect("small frames encode");
            expected.push(Item::Frame(kind / 2, payload));
        } else {
            cseq += 1;
            let method = METHODS[usize::from(kind / 2) % METHODS.len()].clone();
            let uri = format!("rtsp://127.0.0.1:8554/path{}", kind / 2);
            let mut req = Request::new(method.clone(), uri.clone());
            req.headers.set("CSeq", cseq.to_string());
            req.body = payload.clone();
            req.encode(&mut wire);
            expected.push(Item::Request(method.to_string(), uri, Some(cseq), payload));
        }
    }
    let wire = wire.freeze();
    assert_eq!(decode(&[&wire]), expected);
    let cut = usize::from(cut_seed) * wire.len() / 255;
    assert_eq!(decode(&[&wire[..cut], &wire[cut..]]), expected);
    if wire.len() <= 4096 {
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(decode(&bytes), expected);
    }
}
