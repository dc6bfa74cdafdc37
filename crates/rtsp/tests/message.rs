mod common;

use bytes::Bytes;
use ferromtx_rtsp::interleaved::Interleaved;
use ferromtx_rtsp::message::{
    Decoder, Headers, Incoming, Limits, Message, MessageError, Method, Request, Response,
    StatusCode,
};

const RECORD_TCP: &[u8] = include_bytes!("../testdata/ffmpeg_record_tcp.bin");
const HIKVISION_REPLIES: &[u8] = include_bytes!("../testdata/hikvision_replies.txt");

fn decode_all(d: &mut Decoder) -> Vec<Result<Incoming, MessageError>> {
    let mut out = Vec::new();
    for _ in 0..10_000 {
        match d.pull() {
            Some(item) => out.push(item),
            None => return out,
        }
    }
    panic!("decoder did not settle");
}

fn whole(data: &[u8]) -> Vec<Incoming> {
    let mut d = Decoder::new();
    d.push(data);
    let items: Vec<Incoming> = decode_all(&mut d).into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(d.buffered(), 0);
    items
}

fn request(item: &Incoming) -> &Request {
    match item {
        Incoming::Message(Message::Request(r)) => r,
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn ffmpeg_record_session_decodes_in_order() {
    let items = whole(RECORD_TCP);
    assert_eq!(items.len(), 10);
    let methods: Vec<String> = items
        .iter()
        .map(|i| match i {
            Incoming::Message(Message::Request(r)) => r.method.to_string(),
            Incoming::Interleaved(f) => format!("${}", f.channel),
            Incoming::Message(Message::Response(_)) => "response".into(),
        })
        .collect();
    assert_eq!(
        methods,
        [
            "OPTIONS",
            "ANNOUNCE",
            "SETUP",
            "SETUP",
            "RECORD",
            "$0",
            "$2",
            "$1",
            "GET_PARAMETER",
            "TEARDOWN"
        ]
    );
    let announce = request(&items[1]);
    assert_eq!(announce.uri, "rtsp://127.0.0.1:8554/mystream");
    assert_eq!(
        announce.headers.get("content-type"),
        Some("application/sdp")
    );
    assert_eq!(announce.headers.cseq(), Some(2));
    assert!(announce.body.starts_with(b"v=0\r\n"));
    assert_eq!(
        announce.body.len(),
        include_bytes!("../testdata/ffmpeg_h264_aac.sdp").len()
    );
    assert_eq!(
        request(&items[0]).headers.get("User-Agent"),
        Some("Lavf61.7.100")
    );
    match &items[5] {
        Incoming::Interleaved(f) => assert_eq!(f.payload.len(), 16),
        other => panic!("{other:?}"),
    }
}

/// Every split point of every sample must give the same items as the whole input.
#[test]
fn split_at_every_byte_offset() {
    for sample in [RECORD_TCP, HIKVISION_REPLIES] {
        let expected = whole(sample);
        for cut in 0..=sample.len() {
            let mut d = Decoder::new();
            let mut got = Vec::new();
            d.push(&sample[..cut]);
            got.extend(decode_all(&mut d));
            d.push(&sample[cut..]);
            got.extend(decode_all(&mut d));
            let got: Vec<Incoming> = got.into_iter().map(|r| r.unwrap()).collect();
            assert_eq!(got, expected, "split at {cut}");
        }
    }
}

#[test]
fn byte_by_byte_feeding() {
    let expected = whole(RECORD_TCP);
    let mut d = Decoder::new();
    let mut got = Vec::new();
    for b in RECORD_TCP {
        d.push(std::slice::from_ref(b));
        got.extend(decode_all(&mut d).into_iter().map(|r| r.unwrap()));
    }
    assert_eq!(got, expected);
}

#[test]
fn responses_with_repeated_headers_and_body() {
    let items = whole(HIKVISION_REPLIES);
    assert_eq!(items.len(), 2);
    let Incoming::Message(Message::Response(unauth)) = &items[0] else {
        panic!()
    };
    assert_eq!(unauth.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unauth.reason, "Unauthorized");
    assert_eq!(unauth.headers.get_all("www-authenticate").count(), 2);
    assert_eq!(
        unauth.headers.get("Date"),
        Some("Wed, Nov 25 2026 14:41:52 GMT")
    );
    let Incoming::Message(Message::Response(ok)) = &items[1] else {
        panic!()
    };
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(
        &ok.body[..],
        include_bytes!("../testdata/hikvision_describe.sdp")
    );
}

#[test]
fn request_round_trip() {
    let mut r = Request::new(Method::Announce, "rtsp://127.0.0.1:8554/x");
    r.headers.append("CSeq", "2");
    r.headers.append("Content-Type", "application/sdp");
    r.body = Bytes::from_static(b"v=0\r\n");
    let bytes = r.to_bytes();
    assert_eq!(
        &bytes[..],
        b"ANNOUNCE rtsp://127.0.0.1:8554/x RTSP/1.0\r\nCSeq: 2\r\nContent-Type: application/sdp\r\n\
          Content-Length: 5\r\n\r\nv=0\r\n"
    );
    let mut parsed = Request::parse(&bytes).unwrap();
    parsed.headers.remove("Content-Length");
    assert_eq!(parsed, r);
}

#[test]
fn response_round_trip() {
    let mut r = Response::new(StatusCode::METHOD_NOT_VALID_IN_THIS_STATE);
    r.headers.append("CSeq", "9");
    let bytes = r.to_bytes();
    assert_eq!(
        &bytes[..],
        b"RTSP/1.0 455 Method Not Valid In This State\r\nCSeq: 9\r\n\r\n"
    );
    assert_eq!(Response::parse(&bytes).unwrap(), r);
}

#[test]
fn header_values_cannot_inject_lines() {
    let mut r = Response::new(StatusCode::OK);
    r.headers.append("Server", "evil\r\nX-Injected: 1");
    let parsed = Response::parse(&r.to_bytes()).unwrap();
    assert_eq!(parsed.headers.len(), 1);
    assert_eq!(parsed.headers.get("X-Injected"), None);
}

#[test]
fn headers_set_replaces_all() {
    let mut h = Headers::new();
    h.append("A", "1");
    h.append("b", "2");
    h.append("a", "3");
    h.set("a", "4");
    assert_eq!(h.get_all("A").collect::<Vec<_>>(), ["4"]);
    assert_eq!(h.len(), 2);
}

#[test]
fn folded_header_and_lf_only_lines() {
    let m = Message::parse(b"OPTIONS * RTSP/1.0\nCSeq: 1\nX-Long: a\n  b\n\n").unwrap();
    let Message::Request(r) = m else { panic!() };
    assert_eq!(r.uri, "*");
    assert_eq!(r.headers.get("x-long"), Some("a b"));
}

#[test]
fn keepalive_blank_lines_between_messages_are_skipped() {
    let items = whole(
        b"\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n",
    );
    assert_eq!(items.len(), 2);
    assert_eq!(request(&items[1]).headers.cseq(), Some(2));
}

#[test]
fn malformed_message_is_skipped_and_stream_continues() {
    let mut d = Decoder::new();
    d.push(b"GARBAGE\r\nCSeq: 1\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n");
    let items = decode_all(&mut d);
    assert_eq!(items.len(), 2);
    assert!(matches!(items[0], Err(MessageError::StartLine(_))));
    assert!(!items[0].as_ref().unwrap_err().is_fatal());
    assert_eq!(request(items[1].as_ref().unwrap()).headers.cseq(), Some(2));
}

#[test]
fn body_of_malformed_message_is_skipped() {
    let mut d = Decoder::new();
    d.push(
        b"BAD LINE HERE X\r\nContent-Length: 4\r\n\r\nOPTIOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n",
    );
    let items = decode_all(&mut d);
    assert_eq!(items.len(), 2);
    assert!(items[0].is_err());
    assert_eq!(request(items[1].as_ref().unwrap()).method, Method::Options);
}

#[test]
fn malformed_inputs_are_errors() {
    type Check = fn(&MessageError) -> bool;
    let cases: &[(&[u8], Check)] = &[
        (b"OPTIONS *\r\n\r\n", |e| {
            matches!(e, MessageError::StartLine(_))
        }),
        (b"OPTIONS * HTTP/1.1\r\n\r\n", |e| {
            matches!(e, MessageError::Version(_))
        }),
        (b"OPTIONS * RTSP/3.0\r\n\r\n", |e| {
            matches!(e, MessageError::Version(_))
        }),
        (b"RTSP/1.0 abc OK\r\n\r\n", |e| {
            matches!(e, MessageError::Status(_))
        }),
        (b"RTSP/1.0 99 X\r\n\r\n", |e| {
            matches!(e, MessageError::Status(_))
        }),
        (b"OPTIONS * RTSP/1.0\r\nNoColon\r\n\r\n", |e| {
            matches!(e, MessageError::HeaderLine(_))
        }),
        (b"OPTIONS * RTSP/1.0\r\n : x\r\n\r\n", |e| {
            matches!(e, MessageError::HeaderLine(_))
        }),
        (b"OPTIONS * RTSP/1.0\r\nContent-Length: -1\r\n\r\n", |e| {
            matches!(e, MessageError::ContentLength(_))
        }),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n", |e| {
            matches!(e, MessageError::Incomplete)
        }),
        (b"OPTIONS * RTSP/1.0\r\n\r\nX", |e| {
            matches!(e, MessageError::Trailing)
        }),
    ];
    for (input, check) in cases {
        let err = Message::parse(input).unwrap_err();
        assert!(
            check(&err),
            "{:?} -> {err:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn too_many_headers_is_fatal() {
    let mut msg = b"OPTIONS * RTSP/1.0\r\n".to_vec();
    for i in 0..300 {
        msg.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    msg.extend_from_slice(b"\r\n");
    let mut d = Decoder::new();
    d.push(&msg);
    assert_eq!(d.pull(), Some(Err(MessageError::TooManyHeaders)));
    assert!(d.is_failed());
}

#[test]
fn header_limit_bounds_the_buffer() {
    let mut d = Decoder::with_limits(Limits {
        max_header_bytes: 1024,
        max_body_bytes: 1024,
    });
    d.push(b"OPTIONS * RTSP/1.0\r\n");
    for _ in 0..100 {
        d.push(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        if d.is_failed() {
            break;
        }
        if let Some(r) = d.pull() {
            assert_eq!(r, Err(MessageError::HeaderTooBig(1024)));
            break;
        }
    }
    assert!(d.is_failed());
    assert_eq!(d.buffered(), 0);
    d.push(b"OPTIONS * RTSP/1.0\r\n\r\n");
    assert_eq!(d.pull(), None);
    assert_eq!(d.buffered(), 0);
}

#[test]
fn body_limit_is_fatal() {
    let mut d = Decoder::with_limits(Limits {
        max_header_bytes: 1024,
        max_body_bytes: 10,
    });
    d.push(b"ANNOUNCE rtsp://h/p RTSP/1.0\r\nContent-Length: 11\r\n\r\n");
    assert_eq!(
        d.pull(),
        Some(Err(MessageError::BodyTooBig { size: 11, max: 10 }))
    );
    assert_eq!(d.pull(), None);
}

#[test]
fn interleaved_frames_between_responses() {
    let mut data = b"RTSP/1.0 200 OK\r\nCSeq: 5\r\n\r\n".to_vec();
    let frame = Interleaved {
        channel: 1,
        payload: Bytes::from_static(&[0x80, 0xc8, 0, 0]),
    };
    data.extend_from_slice(&frame.to_bytes().unwrap());
    data.extend_from_slice(b"RTSP/1.0 200 OK\r\nCSeq: 6\r\n\r\n");
    let items = whole(&data);
    assert_eq!(items.len(), 3);
    assert_eq!(items[1], Incoming::Interleaved(frame));
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = common::XorShift::new(0xfeed_beef);
    for i in 0..2000 {
        let input = if i % 2 == 0 {
            rng.mutate(RECORD_TCP)
        } else {
            rng.bytes(300)
        };
        let cut = rng.below(input.len() + 1);
        let mut d = Decoder::with_limits(Limits {
            max_header_bytes: 512,
            max_body_bytes: 1024,
        });
        d.push(&input[..cut]);
        let _ = decode_all(&mut d);
        d.push(&input[cut..]);
        let _ = decode_all(&mut d);
        assert!(d.buffered() <= input.len());
    }
}

/// Interleaved frames mixed with requests (with and without bodies), split at every
/// byte: always the same items, in order (what the `rtsp_interleaved` fuzz target checks
/// on arbitrary sequences).
#[test]
fn generated_frames_and_requests_split_at_every_byte() {
    let mut rng = common::XorShift::new(0x5eed_1234);
    for round in 0..20 {
        let mut wire = bytes::BytesMut::new();
        let mut items = Vec::new();
        for i in 0..(2 + round % 5) {
            let payload = Bytes::from(rng.bytes(40));
            if rng.below(2) == 0 {
                let f = Interleaved {
                    channel: rng.below(8) as u8,
                    payload,
                };
                f.encode(&mut wire).unwrap();
                items.push(Incoming::Interleaved(f));
            } else {
                let mut r = Request::new(Method::GetParameter, format!("rtsp://h/p{i}"));
                r.headers.set("CSeq", i.to_string());
                r.body = payload;
                r.encode(&mut wire);
                // What the decoder sees includes the Content-Length it derived.
                let decoded = Request::parse(&r.to_bytes()).unwrap();
                items.push(Incoming::Message(Message::Request(decoded)));
            }
        }
        assert_eq!(whole(&wire), items);
        for cut in 0..=wire.len() {
            let mut d = Decoder::new();
            d.push(&wire[..cut]);
            let mut got = decode_all(&mut d);
            d.push(&wire[cut..]);
            got.extend(decode_all(&mut d));
            let got: Vec<Incoming> = got.into_iter().map(|r| r.unwrap()).collect();
            assert_eq!(got, items, "round {round}, split at {cut}");
            assert_eq!(d.buffered(), 0);
        }
    }
}
