//! SDP rtpmap/fmtp to Format and back.

use bytes::Bytes;
use ferromtx_codec::Format;
use ferromtx_codec::sdp::parse_fmtp;

#[test]
fn h264_from_and_to_sdp() {
    let f = Format::from_rtpmap(
        96,
        "H264/90000",
        Some(
            "packetization-mode=1; sprop-parameter-sets=Z0LAKNkAeAIn5YQAAAMABAAAAwDwPGDJIA==,aM4yyA==; profile-level-id=42C028",
        ),
    );
    let Format::H264 {
        payload_type,
        sps,
        pps,
        packetization_mode,
    } = &f
    else {
        panic!("not H264: {f:?}")
    };
    assert_eq!(*payload_type, 96);
    assert_eq!(*packetization_mode, 1);
    assert_eq!(sps.as_ref().map(|s| s[0]), Some(0x67));
    assert_eq!(pps.as_deref(), Some(&[0x68, 0xce, 0x32, 0xc8][..]));
    assert_eq!(f.rtpmap().as_deref(), Some("H264/90000"));
    assert_eq!(
        f.fmtp().as_deref(),
        Some(
            "packetization-mode=1; sprop-parameter-sets=Z0LAKNkAeAIn5YQAAAMABAAAAwDwPGDJIA==,aM4yyA==; profile-level-id=42C028"
        )
    );
    // Bad base64 leaves the parameter sets unknown rather than failing.
    let f = Format::from_rtpmap(96, "h264/90000", Some("sprop-parameter-sets=@@"));
    assert!(matches!(
        f,
        Format::H264 {
            sps: None,
            pps: None,
            ..
        }
    ));
}

#[test]
fn h265_from_and_to_sdp() {
    let f = Format::from_rtpmap(
        96,
        "H265/90000",
        Some("sprop-vps=QAEM; sprop-sps=QgEB; sprop-pps=RAHB"),
    );
    assert_eq!(
        f,
        Format::H265 {
            payload_type: 96,
            vps: Some(Bytes::from_static(&[0x40, 0x01, 0x0c])),
            sps: Some(Bytes::from_static(&[0x42, 0x01, 0x01])),
            pps: Some(Bytes::from_static(&[0x44, 0x01, 0xc1])),
        }
    );
    assert_eq!(
        f.fmtp().as_deref(),
        Some("sprop-vps=QAEM; sprop-sps=QgEB; sprop-pps=RAHB")
    );
}

#[test]
fn audio_formats_from_and_to_sdp() {
    let opus = Format::from_rtpmap(111, "opus/48000/2", Some("minptime=10;useinbandfec=1"));
    assert_eq!(
        opus,
        Format::Opus {
            payload_type: 111,
            channels: 2
        }
    );
    assert_eq!(opus.rtpmap().as_deref(), Some("opus/48000/2"));
    assert_eq!(opus.fmtp().as_deref(), Some("sprop-stereo=1"));
    let mono = Format::from_rtpmap(111, "opus/48000/2", Some("sprop-stereo=0"));
    assert_eq!(mono.fmtp().as_deref(), Some("sprop-stereo=0"));

    let pcmu = Format::from_rtpmap(0, "", None);
    assert_eq!(
        pcmu,
        Format::G711 {
            payload_type: 0,
            mu_law: true,
            sample_rate: 8000,
            channels: 1
        }
    );
    assert_eq!(pcmu.rtpmap().as_deref(), Some("PCMU/8000"));
    let pcma = Format::from_rtpmap(8, "PCMA/8000", None);
    assert_eq!(pcma.rtpmap().as_deref(), Some("PCMA/8000"));
    assert_eq!(
        Format::from_rtpmap(9, "", None),
        Format::G722 { payload_type: 9 }
    );

    let l16 = Format::from_rtpmap(97, "L16/44100/2", None);
    assert_eq!(
        l16,
        Format::Lpcm {
            payload_type: 97,
            bit_depth: 16,
            sample_rate: 44100,
            channels: 2
        }
    );
    assert_eq!(l16.rtpmap().as_deref(), Some("L16/44100/2"));
    assert_eq!(l16.fmtp(), None);
}

#[test]
fn mpeg4_generic_from_and_to_sdp() {
    let fmtp = "streamtype=5; profile-level-id=1; mode=AAC-hbr; sizelength=13; indexlength=3; indexdeltalength=3; config=1190";
    let f = Format::from_rtpmap(97, "mpeg4-generic/48000/2", Some(fmtp));
    assert_eq!(
        f,
        Format::Mpeg4Audio {
            payload_type: 97,
            config: Bytes::from_static(&[0x11, 0x90]),
            size_length: 13,
            index_length: 3,
            index_delta_length: 3
        }
    );
    assert_eq!(f.clock_rate(), 48000);
    assert_eq!(f.rtpmap().as_deref(), Some("mpeg4-generic/48000/2"));
    assert_eq!(f.fmtp().as_deref(), Some(fmtp));
    // Without a usable config, or in another mode, the track is passed through.
    let g = Format::from_rtpmap(97, "MPEG4-GENERIC/48000/2", Some("mode=AAC-hbr; config=zz"));
    assert!(matches!(g, Format::Generic { .. }));
    let g = Format::from_rtpmap(
        97,
        "mpeg4-generic/48000/2",
        Some("mode=CELP-cbr; config=1190"),
    );
    assert!(matches!(g, Format::Generic { .. }));
}

#[test]
fn video_and_unknown_formats() {
    assert_eq!(
        Format::from_rtpmap(96, "VP8/90000", None),
        Format::Vp8 { payload_type: 96 }
    );
    assert_eq!(
        Format::from_rtpmap(98, "VP9/90000", Some("profile-id=0")),
        Format::Vp9 { payload_type: 98 }
    );
    assert_eq!(
        Format::from_rtpmap(45, "AV1/90000", None),
        Format::Av1 { payload_type: 45 }
    );
    let g = Format::from_rtpmap(100, "X-Custom/1000/1", Some("a=b"));
    assert_eq!(
        g,
        Format::Generic {
            payload_type: 100,
            clock_rate: 1000,
            rtpmap: Some("X-Custom/1000/1".to_string()),
            fmtp: Some("a=b".to_string())
        }
    );
    assert_eq!(g.rtpmap().as_deref(), Some("X-Custom/1000/1"));
    assert_eq!(g.fmtp().as_deref(), Some("a=b"));
    // Garbage does not panic and becomes generic.
    assert!(matches!(
        Format::from_rtpmap(120, "////", Some(";;=;")),
        Format::Generic { .. }
    ));
    assert!(matches!(
        Format::from_rtpmap(96, "H264/abc", None),
        Format::Generic { .. }
    ));
}

#[test]
fn fmtp_pairs() {
    assert_eq!(
        parse_fmtp(" a=1 ;B=x=y;; flag "),
        vec![
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "x=y".to_string()),
            ("flag".to_string(), String::new())
        ]
    );
}
