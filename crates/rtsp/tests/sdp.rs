mod common;

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_rtsp::sdp::{Direction, MediaKind, SdpError, SessionDescription, control_url};

fn fixture(name: &str) -> String {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn ffmpeg_h264_aac() {
    let s = SessionDescription::parse(&fixture("ffmpeg_h264_aac.sdp")).unwrap();
    assert_eq!(s.title, "No Name");
    assert_eq!(s.medias.len(), 2);
    let v = &s.medias[0];
    assert_eq!(v.kind, MediaKind::Video);
    assert_eq!(v.control.as_deref(), Some("streamid=0"));
    assert_eq!(v.direction, None);
    match &v.formats[..] {
        [
            Format::H264 {
                payload_type: 96,
                sps: Some(sps),
                pps: Some(_),
                packetization_mode: 1,
            },
        ] => assert_eq!(sps[0] & 0x1f, 7),
        other => panic!("{other:?}"),
    }
    let a = &s.medias[1];
    assert_eq!(a.kind, MediaKind::Audio);
    assert_eq!(a.control.as_deref(), Some("streamid=1"));
    assert!(matches!(
        &a.formats[..],
        [Format::Mpeg4Audio {
            payload_type: 97,
            size_length: 13,
            ..
        }]
    ));
    assert_eq!(a.formats[0].clock_rate(), 44_100);
}

#[test]
fn ffmpeg_h264_opus() {
    let s = SessionDescription::parse(&fixture("ffmpeg_h264_opus.sdp")).unwrap();
    assert!(matches!(&s.medias[0].formats[..], [Format::H264 { .. }]));
    assert_eq!(
        s.medias[1].formats,
        vec![Format::Opus {
            payload_type: 97,
            channels: 2
        }]
    );
}

#[test]
fn gstreamer_session_control_and_mono_opus() {
    let s = SessionDescription::parse(&fixture("gstreamer_h264_opus.sdp")).unwrap();
    assert_eq!(s.title, "Session streamed with GStreamer");
    assert_eq!(s.control.as_deref(), Some("*"));
    assert_eq!(s.medias[0].control.as_deref(), Some("stream=0"));
    assert!(matches!(
        &s.medias[0].formats[..],
        [Format::H264 {
            packetization_mode: 1,
            sps: Some(_),
            ..
        }]
    ));
    assert_eq!(
        s.medias[1].formats,
        vec![Format::Opus {
            payload_type: 97,
            channels: 1
        }]
    );
}

#[test]
fn hikvision_camera_with_absolute_controls() {
    let s = SessionDescription::parse(&fixture("hikvision_describe.sdp")).unwrap();
    assert_eq!(s.medias.len(), 3);
    for m in &s.medias {
        assert_eq!(m.direction, Some(Direction::RecvOnly));
    }
    assert!(matches!(
        &s.medias[1].formats[..],
        [Format::G711 {
            payload_type: 8,
            mu_law: false,
            sample_rate: 8000,
            channels: 1
        }]
    ));
    assert_eq!(s.medias[2].kind, MediaKind::Application);
    assert!(matches!(
        &s.medias[2].formats[..],
        [Format::Generic {
            payload_type: 107,
            clock_rate: 90_000,
            ..
        }]
    ));
    let base = "rtsp://192.168.1.64:554/Streaming/Channels/101/";
    assert_eq!(
        control_url(base, s.medias[0].control.as_deref()),
        "rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast"
    );
}

#[test]
fn control_url_resolution() {
    assert_eq!(
        control_url("rtsp://h/p", Some("trackID=0")),
        "rtsp://h/p/trackID=0"
    );
    assert_eq!(
        control_url("rtsp://h/p/", Some("trackID=0")),
        "rtsp://h/p/trackID=0"
    );
    assert_eq!(control_url("rtsp://h/p", Some("*")), "rtsp://h/p");
    assert_eq!(control_url("rtsp://h/p", None), "rtsp://h/p");
    assert_eq!(
        control_url("rtsp://h/p", Some("RTSPS://x/y")),
        "RTSPS://x/y"
    );
    assert_eq!(control_url("rtsp://h/p", Some("é")), "rtsp://h/p/é");
}

fn h264() -> Format {
    Format::H264 {
        payload_type: 96,
        sps: Some(Bytes::from_static(&[
            0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xba, 0x10,
        ])),
        pps: Some(Bytes::from_static(&[0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0])),
        packetization_mode: 1,
    }
}

#[test]
fn describe_reply_as_mediamtx() {
    let formats = vec![
        h264(),
        Format::Opus {
            payload_type: 111,
            channels: 2,
        },
    ];
    let text = SessionDescription::from_formats("", &formats).marshal();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        &lines[..6],
        [
            "v=0",
            "o=- 0 0 IN IP4 127.0.0.1",
            "s= ",
            "c=IN IP4 0.0.0.0",
            "t=0 0",
            "m=video 0 RTP/AVP 96"
        ]
    );
    assert_eq!(lines[6], "a=control:trackID=0");
    assert_eq!(lines[7], "a=rtpmap:96 H264/90000");
    assert!(lines[8].starts_with(
        "a=fmtp:96 packetization-mode=1; profile-level-id=64001F; sprop-parameter-sets="
    ));
    assert_eq!(
        &lines[9..],
        [
            "m=audio 0 RTP/AVP 111",
            "a=control:trackID=1",
            "a=rtpmap:111 opus/48000/2",
            "a=fmtp:111 sprop-stereo=1",
            ""
        ]
    );
}

#[test]
fn generated_sdp_parses_back_to_same_formats() {
    let formats = vec![
        h264(),
        Format::G711 {
            payload_type: 0,
            mu_law: true,
            sample_rate: 8000,
            channels: 1,
        },
        Format::Generic {
            payload_type: 107,
            clock_rate: 90_000,
            rtpmap: Some("isapi.metadata/90000".into()),
            fmtp: None,
        },
    ];
    let out = SessionDescription::from_formats("cam", &formats);
    let back = SessionDescription::parse(&out.marshal()).unwrap();
    assert_eq!(back, out);
}

#[test]
fn fixtures_round_trip_through_marshal() {
    for name in [
        "ffmpeg_h264_aac.sdp",
        "ffmpeg_h264_opus.sdp",
        "gstreamer_h264_opus.sdp",
        "hikvision_describe.sdp",
    ] {
        let s = SessionDescription::parse(&fixture(name)).unwrap();
        let again = SessionDescription::parse(&s.marshal()).unwrap();
        assert_eq!(again, s, "{name}");
    }
}

#[test]
fn broken_sdp_is_error() {
    type Check = fn(&SdpError) -> bool;
    let cases: &[(&str, Check)] = &[
        ("", |e| matches!(e, SdpError::Empty)),
        ("\r\n\r\n", |e| matches!(e, SdpError::Empty)),
        ("v=1\r\n", |e| matches!(e, SdpError::Version)),
        ("o=- 0 0 IN IP4 1.2.3.4\r\n", |e| {
            matches!(e, SdpError::Version)
        }),
        ("v=0\r\ns=x\r\n", |e| matches!(e, SdpError::NoMedia)),
        ("v=0\r\nhello\r\n", |e| {
            matches!(e, SdpError::Line { line: 2, .. })
        }),
        ("v=0\r\nxx=1\r\n", |e| matches!(e, SdpError::Line { .. })),
        ("v=0\r\nm=video\r\n", |e| {
            matches!(e, SdpError::MediaLine { .. })
        }),
        ("v=0\r\nm=video x RTP/AVP 96\r\n", |e| {
            matches!(e, SdpError::MediaLine { .. })
        }),
        ("v=0\r\nm=video 0 RTP/AVP\r\n", |e| {
            matches!(e, SdpError::MediaLine { .. })
        }),
        ("v=0\r\nm=video 0 RTP/AVP 300\r\n", |e| {
            matches!(e, SdpError::PayloadType { .. })
        }),
        (
            "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:x H264/90000\r\n",
            |e| matches!(e, SdpError::PayloadType { .. }),
        ),
    ];
    for (input, check) in cases {
        let err = SessionDescription::parse(input).unwrap_err();
        assert!(check(&err), "{input:?} -> {err:?}");
    }
}

#[test]
fn odd_but_valid_sdp_is_accepted() {
    // LF-only lines, port with count, rtpmap for a type not in m=, duplicate rtpmap.
    let s = SessionDescription::parse(
        "v=0\nm=video 5000/2 RTP/AVP 96\na=rtpmap:96 H265/90000\na=rtpmap:96 H264/90000\n\
         a=rtpmap:97 VP8/90000\na=sendonly\n",
    )
    .unwrap();
    assert!(matches!(&s.medias[0].formats[..], [Format::H265 { .. }]));
    assert_eq!(s.medias[0].direction, Some(Direction::SendOnly));
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = common::XorShift::new(0x5d9);
    let seeds = [
        fixture("ffmpeg_h264_aac.sdp"),
        fixture("gstreamer_h264_opus.sdp"),
        fixture("hikvision_describe.sdp"),
    ];
    let mut ok = 0;
    for i in 0..2000 {
        let input = rng.mutate(seeds[i % seeds.len()].as_bytes());
        if let Ok(s) = SessionDescription::parse(&String::from_utf8_lossy(&input)) {
            ok += 1;
            let _ = s.marshal();
        }
    }
    assert!(ok > 0);
}
