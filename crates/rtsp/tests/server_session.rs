mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_rtsp::message::{Method, Request, StatusCode};
use ferromtx_rtsp::sdp::SessionDescription;
use ferromtx_rtsp::server_session::{
    CloseReason, Effect, Reply, ServerSession, SessionConfig, SetupTrack, State, StreamInfo,
    TrackTransport, TransportKind, path_and_query,
};

const URL: &str = "rtsp://127.0.0.1:8554/mystream";
const FFMPEG_SDP: &[u8] = include_bytes!("../testdata/ffmpeg_h264_aac.sdp");

struct Harness {
    session: ServerSession,
    cseq: u32,
    now: Instant,
    stream: SessionDescription,
}

impl Harness {
    fn new(config: SessionConfig) -> Self {
        let now = Instant::now();
        Harness {
            session: ServerSession::new("a1b2c3d4", config, now),
            cseq: 0,
            now,
            stream: SessionDescription::from_formats(
                "",
                &[
                    Format::Vp8 { payload_type: 96 },
                    Format::Opus {
                        payload_type: 97,
                        channels: 2,
                    },
                ],
            ),
        }
    }

    fn send(&mut self, method: Method, uri: &str, headers: &[(&str, &str)]) -> Reply {
        self.send_body(method, uri, headers, Bytes::new())
    }

    fn send_body(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Reply {
        self.cseq += 1;
        let mut req = Request::new(method, uri);
        req.headers.append("CSeq", self.cseq.to_string());
        for (k, v) in headers {
            req.headers.append(*k, *v);
        }
        req.body = body;
        let info = StreamInfo {
            description: &self.stream,
            multicast_ips: &["224.1.0.5".to_string(), "224.1.0.6".to_string()],
        };
        let reply = self.session.handle(&req, Some(info), self.now);
        assert_eq!(
            reply.response.headers.cseq(),
            Some(self.cseq),
            "CSeq echoed"
        );
        reply
    }

    fn announce(&mut self) -> Reply {
        self.send_body(
            Method::Announce,
            URL,
            &[("Content-Type", "application/sdp")],
            Bytes::from_static(FFMPEG_SDP),
        )
    }
}

fn status(r: &Reply) -> u16 {
    r.response.status.0
}

#[test]
fn reader_over_udp() {
    let mut h = Harness::new(SessionConfig::default());
    let r = h.send(Method::Options, URL, &[]);
    assert_eq!(
        r.response.headers.get("Public"),
        Some("DESCRIBE, ANNOUNCE, SETUP, PLAY, RECORD, PAUSE, GET_PARAMETER, TEARDOWN")
    );
    assert_eq!(r.response.headers.get("Session"), None);

    let r = h.send(Method::Describe, URL, &[("Accept", "application/sdp")]);
    assert_eq!(status(&r), 200);
    assert_eq!(
        r.response.headers.get("Content-Base"),
        Some("rtsp://127.0.0.1:8554/mystream/")
    );
    let sdp = SessionDescription::parse(std::str::from_utf8(&r.response.body).unwrap()).unwrap();
    assert_eq!(sdp.medias.len(), 2);

    let r = h.send(
        Method::Setup,
        &format!("{URL}/trackID=0"),
        &[("Transport", "RTP/AVP;unicast;client_port=5000-5001")],
    );
    assert_eq!(status(&r), 200, "{:?}", r.error);
    assert_eq!(
        r.response.headers.get("Transport"),
        Some("RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001")
    );
    assert_eq!(
        r.response.headers.get("Session"),
        Some("a1b2c3d4;timeout=55")
    );
    assert_eq!(h.session.state(), State::PrePlay);

    let r = h.send(
        Method::Setup,
        &format!("{URL}/trackID=1"),
        &[
            ("Transport", "RTP/AVP;unicast;client_port=5002-5003"),
            ("Session", "a1b2c3d4"),
        ],
    );
    assert_eq!(status(&r), 200);

    let r = h.send(Method::Play, &format!("{URL}/"), &[("Session", "a1b2c3d4")]);
    assert_eq!(status(&r), 200);
    assert_eq!(h.session.state(), State::Play);
    let [effect] = &r.effects[..] else {
        panic!("{:?}", r.effects)
    };
    assert_eq!(
        effect,
        &Effect::StartPlay {
            path: "mystream".into(),
            transport: TransportKind::Udp,
            tracks: vec![
                SetupTrack {
                    media_index: 0,
                    transport: TrackTransport::Udp {
                        client_rtp_port: 5000,
                        client_rtcp_port: 5001
                    }
                },
                SetupTrack {
                    media_index: 1,
                    transport: TrackTransport::Udp {
                        client_rtp_port: 5002,
                        client_rtcp_port: 5003
                    }
                },
            ],
            codecs: vec!["VP8", "Opus"],
        }
    );
    assert_eq!(
        effect.log_line().unwrap(),
        "is reading from path 'mystream', with UDP, 2 tracks (VP8, Opus)"
    );

    let r = h.send(Method::Teardown, URL, &[("Session", "a1b2c3d4")]);
    assert_eq!(status(&r), 200);
    assert_eq!(r.effects, vec![Effect::Close(CloseReason::TornDown)]);
    assert_eq!(r.response.headers.get("Session"), None);
    assert!(h.session.is_closed());
    assert_eq!(status(&h.send(Method::Play, URL, &[])), 454);
}

#[test]
fn publisher_over_tcp_like_ffmpeg() {
    let mut h = Harness::new(SessionConfig::default());
    let r = h.announce();
    assert_eq!(status(&r), 200, "{:?}", r.error);
    assert_eq!(r.response.headers.get("Session"), None);
    assert!(
        matches!(&r.effects[..], [Effect::Announce { path, description }]
        if path == "mystream" && description.medias.len() == 2)
    );
    assert_eq!(h.session.state(), State::PreRecord);

    // RECORD before any SETUP is refused but the session survives.
    let r = h.send(Method::Record, URL, &[]);
    assert_eq!(status(&r), 400);
    assert_eq!(r.error.as_deref(), Some("no medias have been setup"));

    let tcp0 = [(
        "Transport",
        "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
    )];
    let r = h.send(Method::Setup, &format!("{URL}/streamid=0"), &tcp0);
    assert_eq!(status(&r), 200, "{:?}", r.error);
    assert_eq!(
        r.response.headers.get("Transport"),
        Some("RTP/AVP/TCP;unicast;interleaved=0-1")
    );
    // Same channels again: in use.
    let r = h.send(Method::Setup, &format!("{URL}/streamid=1"), &tcp0);
    assert_eq!(r.error.as_deref(), Some("interleaved IDs are in use"));
    let r = h.send(Method::Record, URL, &[]);
    assert_eq!(
        r.error.as_deref(),
        Some("not all announced medias have been setup")
    );
    let r = h.send(
        Method::Setup,
        &format!("{URL}/streamid=1"),
        &[(
            "Transport",
            "RTP/AVP/TCP;unicast;interleaved=2-3;mode=record",
        )],
    );
    assert_eq!(status(&r), 200);
    let r = h.send(Method::Record, URL, &[("Session", "a1b2c3d4")]);
    assert_eq!(status(&r), 200);
    assert_eq!(h.session.state(), State::Record);
    match &r.effects[..] {
        [
            e @ Effect::StartRecord {
                transport: TransportKind::Tcp,
                tracks,
                codecs,
                ..
            },
        ] => {
            assert_eq!(tracks.len(), 2);
            assert_eq!(codecs, &vec!["H264", "MPEG-4 Audio"]);
            assert_eq!(e.log_line().unwrap(), "is publishing to path 'mystream'");
        }
        other => panic!("{other:?}"),
    }
    // TCP sessions do not time out on their own.
    assert_eq!(h.session.poll_timeout(), None);
    let r = h.send(Method::Pause, URL, &[]);
    assert_eq!(r.effects, vec![Effect::Pause]);
    assert_eq!(h.session.state(), State::PreRecord);
}

#[test]
fn methods_in_the_wrong_state_get_455() {
    let mut h = Harness::new(SessionConfig::default());
    for m in [Method::Play, Method::Record, Method::Pause] {
        let r = h.send(m.clone(), URL, &[]);
        assert_eq!(
            r.response.status,
            StatusCode::METHOD_NOT_VALID_IN_THIS_STATE,
            "{m}"
        );
        assert_eq!(r.response.reason, "Method Not Valid In This State");
    }
    let r = h.send(Method::Play, URL, &[]);
    assert_eq!(
        r.error.as_deref(),
        Some("must be in state [prePlay play], while is in state initial")
    );
    let udp = [("Transport", "RTP/AVP;unicast;client_port=5000-5001")];
    assert_eq!(status(&h.send(Method::Setup, URL, &udp)), 200);
    assert_eq!(status(&h.announce()), 455);
    assert_eq!(status(&h.send(Method::Record, URL, &[])), 455);
    assert_eq!(status(&h.send(Method::Play, URL, &[])), 200);
    assert_eq!(
        status(&h.send(Method::Setup, &format!("{URL}/trackID=1"), &udp)),
        455
    );
    // Still alive and playing.
    assert_eq!(status(&h.send(Method::GetParameter, URL, &[])), 200);
    assert_eq!(h.session.state(), State::Play);
}

#[test]
fn transport_negotiation() {
    let tcp_only = SessionConfig {
        transports: vec![TransportKind::Tcp],
        ..SessionConfig::default()
    };
    let mut h = Harness::new(tcp_only);
    let r = h.send(
        Method::Setup,
        URL,
        &[("Transport", "RTP/AVP;unicast;client_port=5000-5001")],
    );
    assert_eq!(r.response.status, StatusCode::UNSUPPORTED_TRANSPORT);
    assert_eq!(r.response.reason, "Unsupported Transport");
    // The first allowed alternative wins; no interleaved given: channels assigned.
    let r = h.send(
        Method::Setup,
        URL,
        &[(
            "Transport",
            "RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;unicast",
        )],
    );
    assert_eq!(status(&r), 200);
    assert_eq!(
        r.response.headers.get("Transport"),
        Some("RTP/AVP/TCP;unicast;interleaved=0-1")
    );
    let r = h.send(
        Method::Setup,
        &format!("{URL}/trackID=1"),
        &[("Transport", "RTP/AVP/TCP")],
    );
    assert_eq!(
        r.response.headers.get("Transport"),
        Some("RTP/AVP/TCP;unicast;interleaved=2-3")
    );
    assert_eq!(
        status(&h.send(
            Method::Setup,
            &format!("{URL}/trackID=1"),
            &[("Transport", "RTP/AVP/TCP")]
        )),
        400
    );

    let mut h = Harness::new(SessionConfig::default());
    let r = h.send(
        Method::Setup,
        URL,
        &[("Transport", "RTP/SAVP;unicast;client_port=5000-5001")],
    );
    assert_eq!(status(&r), 461);
    let r = h.send(Method::Setup, URL, &[("Transport", "RTP/AVP;multicast")]);
    assert_eq!(status(&r), 200);
    assert_eq!(
        r.response.headers.get("Transport"),
        Some("RTP/AVP;multicast;destination=224.1.0.5;ttl=16;port=8002-8003")
    );
    // Mixing transports in one session is refused.
    let r = h.send(
        Method::Setup,
        &format!("{URL}/trackID=1"),
        &[("Transport", "RTP/AVP/TCP;interleaved=2-3")],
    );
    assert_eq!(
        r.error.as_deref(),
        Some("can't setup medias with different transports")
    );
}

#[test]
fn malformed_requests_get_400_and_session_survives() {
    let mut h = Harness::new(SessionConfig::default());
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "invalid transport header: value not provided"),
        (
            &[("Transport", "FOO")],
            "invalid transport header: invalid transport protocol 'FOO'",
        ),
        (
            &[("Transport", "RTP/AVP;unicast")],
            "transport header does not contain client ports",
        ),
        (
            &[("Transport", "RTP/AVP/TCP;interleaved=1-3")],
            "invalid interleaved IDs",
        ),
        (
            &[("Transport", "RTP/AVP/TCP;interleaved=0-1;mode=record")],
            "transport header contains a invalid mode (record)",
        ),
        (
            &[("Transport", "RTP/AVP/TCP"), ("Session", "a;timeout=x")],
            "invalid session header: invalid session timeout 'x'",
        ),
    ];
    for (headers, error) in cases {
        let r = h.send(Method::Setup, URL, headers);
        assert_eq!(status(&r), 400, "{headers:?}");
        assert_eq!(r.error.as_deref(), Some(*error));
    }
    assert_eq!(
        status(&h.send(
            Method::Setup,
            &format!("{URL}/trackID=9"),
            &[("Transport", "RTP/AVP/TCP")]
        )),
        400
    );
    assert_eq!(
        status(&h.send(
            Method::Setup,
            "rtsp://127.0.0.1:8554/",
            &[("Transport", "RTP/AVP/TCP")]
        )),
        400
    );
    // Missing CSeq: 400 without CSeq.
    let req = Request::new(Method::Options, URL);
    let r = h.session.handle(&req, None, h.now);
    assert_eq!(status(&r), 400);
    assert_eq!(r.response.headers.get("CSeq"), None);
    // Still usable.
    assert_eq!(
        status(&h.send(Method::Setup, URL, &[("Transport", "RTP/AVP/TCP")])),
        200
    );
    assert_eq!(
        status(&h.send(
            Method::Setup,
            "rtsp://127.0.0.1:8554/other/trackID=1",
            &[("Transport", "RTP/AVP/TCP")]
        )),
        400
    );
    assert_eq!(status(&h.send(Method::SetParameter, URL, &[])), 501);
}

#[test]
fn announce_errors() {
    let mut h = Harness::new(SessionConfig::default());
    let r = h.send_body(Method::Announce, URL, &[], Bytes::from_static(FFMPEG_SDP));
    assert_eq!(r.error.as_deref(), Some("Content-Type header is missing"));
    let r = h.send_body(
        Method::Announce,
        URL,
        &[("Content-Type", "text/plain")],
        Bytes::from_static(FFMPEG_SDP),
    );
    assert_eq!(status(&r), 400);
    let r = h.send_body(
        Method::Announce,
        URL,
        &[("Content-Type", "application/sdp")],
        Bytes::from_static(b"v=0\r\n"),
    );
    assert_eq!(r.error.as_deref(), Some("invalid SDP: SDP has no media"));
    assert_eq!(h.session.state(), State::Initial);
    assert_eq!(status(&h.announce()), 200);
    // A publisher may not set up a media that was not announced, nor use play mode.
    let r = h.send(
        Method::Setup,
        &format!("{URL}/streamid=7"),
        &[("Transport", "RTP/AVP/TCP;mode=record")],
    );
    assert_eq!(r.error.as_deref(), Some("media not found"));
    let r = h.send(
        Method::Setup,
        &format!("{URL}/streamid=0"),
        &[("Transport", "RTP/AVP/TCP")],
    );
    assert_eq!(
        r.error.as_deref(),
        Some("transport header contains a invalid mode (play)")
    );
    let r = h.send(
        Method::Setup,
        &format!("{URL}/streamid=0"),
        &[("Transport", "RTP/AVP;multicast;mode=record")],
    );
    assert_eq!(status(&r), 461);
}

#[test]
fn wrong_session_id_is_454() {
    let mut h = Harness::new(SessionConfig::default());
    assert_eq!(
        status(&h.send(Method::Setup, URL, &[("Transport", "RTP/AVP/TCP")])),
        200
    );
    let r = h.send(Method::Play, URL, &[("Session", "deadbeef")]);
    assert_eq!(r.response.status, StatusCode::SESSION_NOT_FOUND);
    assert_eq!(h.session.state(), State::PrePlay);
}

#[test]
fn udp_reader_times_out_without_keepalives() {
    let mut h = Harness::new(SessionConfig::default());
    h.send(
        Method::Setup,
        URL,
        &[("Transport", "RTP/AVP;unicast;client_port=5000-5001")],
    );
    h.send(Method::Play, URL, &[]);
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline, h.now + Duration::from_secs(60));
    // A keepalive pushes the deadline.
    h.now += Duration::from_secs(50);
    assert_eq!(status(&h.send(Method::GetParameter, URL, &[])), 200);
    assert_eq!(h.session.handle_timeout(deadline), None);
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline, h.now + Duration::from_secs(60));
    let e = h.session.handle_timeout(deadline).unwrap();
    assert_eq!(e, Effect::Close(CloseReason::TimedOut));
    assert_eq!(e.log_line().unwrap(), "destroyed: session timed out");
    assert!(h.session.is_closed());
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn udp_publisher_times_out_without_packets() {
    let mut h = Harness::new(SessionConfig::default());
    h.announce();
    for (i, ports) in ["5000-5001", "5002-5003"].iter().enumerate() {
        let t = format!("RTP/AVP;unicast;client_port={ports};mode=record");
        let r = h.send(
            Method::Setup,
            &format!("{URL}/streamid={i}"),
            &[("Transport", &t)],
        );
        assert_eq!(status(&r), 200, "{:?}", r.error);
    }
    assert_eq!(status(&h.send(Method::Record, URL, &[])), 200);
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(10))
    );
    h.session.on_packet(h.now + Duration::from_secs(8));
    assert_eq!(
        h.session.handle_timeout(h.now + Duration::from_secs(17)),
        None
    );
    assert_eq!(
        h.session.handle_timeout(h.now + Duration::from_secs(18)),
        Some(Effect::Close(CloseReason::TimedOut))
    );
}

#[test]
fn request_paths() {
    assert_eq!(
        path_and_query("rtsp://h:8554/a/b?x=1"),
        Some(("a/b".into(), Some("x=1".into())))
    );
    assert_eq!(path_and_query("rtsp://h:8554"), None);
    assert_eq!(path_and_query("/cam/"), Some(("cam".into(), None)));
}

#[test]
fn setup_targets_as_ffmpeg_and_gstreamer_send_them() {
    use ferromtx_rtsp::server_session::{SetupTarget, setup_target};
    let t = |path: &str, query: Option<&str>, track| {
        Some(SetupTarget {
            path: path.into(),
            query: query.map(Into::into),
            track,
        })
    };
    // FFmpeg: the control after the query.
    assert_eq!(
        setup_target("rtsp://h/cam?token=x/trackID=1"),
        t("cam", Some("token=x"), 1)
    );
    // GStreamer: the control after the path.
    assert_eq!(
        setup_target("rtsp://h/cam/trackID=1?token=x"),
        t("cam", Some("token=x"), 1)
    );
    assert_eq!(setup_target("rtsp://h/a/b/trackID=0"), t("a/b", None, 0));
    // No control: the first media; a trailing slash on the query is not part of it.
    assert_eq!(
        setup_target("rtsp://h/cam?token=x/"),
        t("cam", Some("token=x"), 0)
    );
    assert_eq!(setup_target("rtsp://h/cam/"), t("cam", None, 0));
    assert_eq!(setup_target("rtsp://h/trackID=1"), None);
    assert_eq!(setup_target("rtsp://h/cam/trackID=x"), None);
}

#[test]
fn random_requests_never_panic() {
    let mut rng = common::XorShift::new(42);
    let methods = [
        Method::Options,
        Method::Describe,
        Method::Announce,
        Method::Setup,
        Method::Play,
        Method::Pause,
        Method::Record,
        Method::Teardown,
        Method::GetParameter,
    ];
    let transports = [
        "RTP/AVP;unicast;client_port=5000-5001",
        "RTP/AVP/TCP;interleaved=0-1;mode=record",
        "RTP/AVP/TCP",
        "RTP/AVP;multicast",
        "garbage;;==",
    ];
    let uris = [
        URL,
        "rtsp://127.0.0.1:8554/mystream/trackID=1",
        "rtsp://x/",
        "*",
        "rtsp://127.0.0.1:8554/mystream/streamid=1",
    ];
    for _ in 0..200 {
        let mut h = Harness::new(SessionConfig::default());
        for _ in 0..10 {
            let m = methods[rng.below(methods.len())].clone();
            let uri = uris[rng.below(uris.len())];
            let t = transports[rng.below(transports.len())];
            let body = if rng.below(2) == 0 {
                Bytes::from_static(FFMPEG_SDP)
            } else {
                Bytes::from(rng.bytes(40))
            };
            let r = h.send_body(
                m,
                uri,
                &[("Transport", t), ("Content-Type", "application/sdp")],
                body,
            );
            assert!(
                r.response.status == StatusCode::OK || r.error.is_some(),
                "{r:?}"
            );
        }
    }
}
