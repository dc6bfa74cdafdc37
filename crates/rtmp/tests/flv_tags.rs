//! FLV tag bodies: legacy and Enhanced RTMP, written and read back for every codec,
//! checked against hand-built bodies laid out as the specifications say.

use bytes::Bytes;
use ferromtx_rtmp::amf0::Amf0Value;
use ferromtx_rtmp::flv::av1c::Av1Config;
use ferromtx_rtmp::flv::avcc::AvcConfig;
use ferromtx_rtmp::flv::hvcc::HevcConfig;
use ferromtx_rtmp::flv::opus_head::OpusHead;
use ferromtx_rtmp::flv::vpcc::VpcConfig;
use ferromtx_rtmp::flv::{FlvError, FlvTag, TagItem, TagKind, TagReader, TagStyle};
use ferromtx_rtmp::media::{Codec, CodecParams, FourCc, Media, TrackConfig, TrackId};

fn hex(s: &str) -> Bytes {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn read(reader: &mut TagReader, tag: &FlvTag) -> Vec<TagItem> {
    let mut out = Vec::new();
    reader
        .read(tag.kind, tag.timestamp_ms, &tag.body, &mut out)
        .expect("reads");
    out
}

fn read_body(kind: TagKind, body: &str) -> Result<Vec<TagItem>, FlvError> {
    let mut out = Vec::new();
    TagReader::new()
        .read(kind, 1000, &hex(body), &mut out)
        .map(|()| out)
}

fn media(codec: Codec, track: u8, parts: &[&str]) -> Media {
    Media {
        track,
        codec,
        timestamp_ms: 2000,
        composition_ms: 0,
        keyframe: true,
        parts: parts.iter().map(|p| hex(p)).collect(),
    }
}

/// Writes the configuration and a frame, reads both back, and checks they come back as
/// given. Returns the frame's tag.
fn round_trip(config: Option<TrackConfig>, frame: Media, style: TagStyle) -> FlvTag {
    let mut reader = TagReader::new();
    if let Some(config) = config {
        let tag = FlvTag::config(&config, 0, style)
            .expect("config writes")
            .expect("config tag");
        assert_eq!(read(&mut reader, &tag), vec![TagItem::Config(config)]);
    }
    let tag = FlvTag::frame(&frame, style).expect("frame writes");
    assert_eq!(tag.timestamp_ms, frame.timestamp_ms);
    assert_eq!(read(&mut reader, &tag), vec![TagItem::Frame(frame)]);
    tag
}

const SPS: &str = "6742c00ad90426c044000003000400000300c83c489920";
const PPS: &str = "68cb83cb20";
const VPS265: &str = "40010c01ffff01600000030090000003000003001e959809";
const SPS265: &str =
    "42010101600000030090000003000003001ea020810596566924caf0168080000003008000000c84";
const PPS265: &str = "4401c172b42240";
const AV1_SEQ: &str = "0a0a00000002afff9b5f2008";
const ASC: &str = "1190";

fn avc_config(track: u8) -> TrackConfig {
    TrackConfig {
        track,
        params: CodecParams::H264(
            AvcConfig::from_parameter_sets(hex(SPS), hex(PPS)).expect("avcC"),
        ),
    }
}

#[test]
fn legacy_h264_has_the_flv_layout() {
    let mut reader = TagReader::new();
    let config = avc_config(0);
    let tag = FlvTag::config(&config, 0, TagStyle::Classic)
        .expect("writes")
        .expect("tag");
    assert_eq!(tag.kind, TagKind::Video);
    assert_eq!(&tag.body[..5], &hex("17 00 000000")[..]);
    assert_eq!(read(&mut reader, &tag), vec![TagItem::Config(config)]);

    let mut frame = media(Codec::H264, 0, &["65888480", "06ff"]);
    frame.composition_ms = 40;
    let tag = FlvTag::frame(&frame, TagStyle::Classic).expect("writes");
    assert_eq!(
        tag.body,
        hex("17 01 000028 00000004 65888480 00000002 06ff")
    );
    assert_eq!(read(&mut reader, &tag), vec![TagItem::Frame(frame.clone())]);

    frame.keyframe = false;
    frame.composition_ms = -33;
    let tag = FlvTag::frame(&frame, TagStyle::Classic).expect("writes");
    assert_eq!(&tag.body[..5], &hex("27 01 ffffdf")[..]);
    assert_eq!(read(&mut reader, &tag), vec![TagItem::Frame(frame)]);

    let end = FlvTag::sequence_end(0, Codec::H264, 5, TagStyle::Classic)
        .expect("writes")
        .expect("tag");
    assert_eq!(end.body, hex("17 02 000000"));
    assert_eq!(
        read(&mut reader, &end),
        vec![TagItem::SequenceEnd(TrackId::video(0))]
    );
}

#[test]
fn nal_unit_length_size_comes_from_the_record() {
    // A record with 2-byte lengths, then a frame using them.
    let mut reader = TagReader::new();
    let record = format!("01 42c00a fd e1 0017 {SPS} 01 0005 {PPS}");
    let mut out = Vec::new();
    reader
        .read(
            TagKind::Video,
            0,
            &hex(&format!("17 00 000000 {record}")),
            &mut out,
        )
        .expect("config");
    let TagItem::Config(TrackConfig {
        params: CodecParams::H264(c),
        ..
    }) = out[0].clone()
    else {
        panic!("config expected: {out:?}");
    };
    assert_eq!(c.length_size, 2);
    out.clear();
    reader
        .read(
            TagKind::Video,
            40,
            &hex("27 01 000000 0002 4101 0003 410203"),
            &mut out,
        )
        .expect("frame");
    let TagItem::Frame(m) = &out[0] else {
        panic!("frame expected");
    };
    assert_eq!(m.parts, vec![hex("4101"), hex("410203")]);
    assert!(!m.keyframe);
    // Written back, the record announces 4-byte lengths, as the written frames use.
    let tag = FlvTag::config(&out_config(c), 0, TagStyle::Classic)
        .expect("writes")
        .expect("tag");
    assert_eq!(tag.body[9], 0xff);
}

fn out_config(c: AvcConfig) -> TrackConfig {
    TrackConfig {
        track: 0,
        params: CodecParams::H264(c),
    }
}

#[test]
fn enhanced_video_round_trips_for_every_codec() {
    let hevc =
        HevcConfig::from_parameter_sets(hex(VPS265), hex(SPS265), hex(PPS265)).expect("hvcC");
    let av1 = Av1Config::from_sequence_header(&hex(AV1_SEQ)).expect("av1C");
    let cases = [
        (avc_config(0), media(Codec::H264, 0, &["65888480"])),
        (
            TrackConfig {
                track: 0,
                params: CodecParams::H265(hevc),
            },
            media(Codec::H265, 0, &["2601af", "0201d0"]),
        ),
        (
            TrackConfig {
                track: 0,
                params: CodecParams::Av1(av1),
            },
            media(Codec::Av1, 0, &["1200", AV1_SEQ, "32 03 aabbcc"]),
        ),
        (
            TrackConfig {
                track: 0,
                params: CodecParams::Vp9(VpcConfig::with_profile(0)),
            },
            media(Codec::Vp9, 0, &["824983420013f00f"]),
        ),
        (
            TrackConfig {
                track: 0,
                params: CodecParams::Vp8(VpcConfig::with_profile(0)),
            },
            media(Codec::Vp8, 0, &["9d012a"]),
        ),
    ];
    for (config, frame) in cases {
        let code = frame.codec.fourcc().expect("fourcc");
        let tag = round_trip(Some(config.clone()), frame.clone(), TagStyle::Enhanced);
        // Key frame, ex header; CodedFramesX for H26x without composition time.
        let packet_type = if matches!(frame.codec, Codec::H264 | Codec::H265) {
            3
        } else {
            1
        };
        assert_eq!(tag.body[0], 0x90 | packet_type, "{code:?}");
        assert_eq!(&tag.body[1..5], &code.0);
        // The same on track 2, inside a one-track multitrack wrapper.
        let mut on2 = config.clone();
        on2.track = 2;
        let mut frame2 = frame.clone();
        frame2.track = 2;
        frame2.keyframe = false;
        let tag = round_trip(Some(on2), frame2, TagStyle::Enhanced);
        assert_eq!(tag.body[0], 0xa6);
        assert_eq!(tag.body[1], packet_type);
        assert_eq!(&tag.body[2..6], &code.0);
        assert_eq!(tag.body[6], 2);
        // And in the classic style, where only H264 track 0 changes.
        round_trip(Some(config), frame, TagStyle::Classic);
    }
}

#[test]
fn enhanced_coded_frames_carry_composition_time() {
    let mut frame = media(Codec::H265, 0, &["2601af"]);
    frame.composition_ms = 80;
    let hevc =
        HevcConfig::from_parameter_sets(hex(VPS265), hex(SPS265), hex(PPS265)).expect("hvcC");
    let config = TrackConfig {
        track: 0,
        params: CodecParams::H265(hevc),
    };
    let tag = round_trip(Some(config), frame, TagStyle::Classic);
    assert_eq!(tag.body, hex("91 68766331 000050 00000003 2601af"));
}

#[test]
fn av1_frames_get_a_temporal_delimiter_and_size_fields() {
    let frame = media(Codec::Av1, 0, &["30 aabbcc"]);
    let tag = FlvTag::frame(&frame, TagStyle::Classic).expect("writes");
    assert_eq!(tag.body, hex("91 61763031 1200 32 03 aabbcc"));
    let items = read_body(TagKind::Video, "91 61763031 1200 32 03 aabbcc").expect("reads");
    let TagItem::Frame(m) = &items[0] else {
        panic!("frame");
    };
    assert_eq!(m.parts, vec![hex("1200"), hex("3203aabbcc")]);
}

#[test]
fn audio_round_trips_for_every_codec() {
    let opus = OpusHead::for_channels(2).to_bytes();
    let flac = hex(
        "664c6143 80 000022 1200 1200 000005 0b0005 0ac442f0000011 3aebdb2936452041767281a82e059dbf7b",
    );
    let cases: Vec<(Option<CodecParams>, Codec, &str)> = vec![
        (Some(CodecParams::Aac(hex(ASC))), Codec::Aac, "21100504"),
        (Some(CodecParams::Opus(opus)), Codec::Opus, "fc fffe"),
        (Some(CodecParams::Flac(flac)), Codec::Flac, "fff8 6918"),
        (Some(CodecParams::Ac3), Codec::Ac3, "0b770bd5144043e1"),
        (Some(CodecParams::Eac3), Codec::Eac3, "0b77017f3487c000"),
        (Some(CodecParams::Mp3), Codec::Mp3, "fffb5000 0000"),
    ];
    for (params, codec, frame) in cases {
        for track in [0, 3] {
            let config = params.clone().map(|params| TrackConfig { track, params });
            let tag = round_trip(config, media(codec, track, &[frame]), TagStyle::Enhanced);
            assert_eq!(tag.kind, TagKind::Audio);
            let code = codec.fourcc().expect("fourcc");
            if track == 0 {
                assert_eq!(tag.body[0], 0x91);
                assert_eq!(&tag.body[1..5], &code.0);
            } else {
                assert_eq!(&tag.body[..2], &hex("95 01")[..]);
                assert_eq!(&tag.body[2..6], &code.0);
                assert_eq!(tag.body[6], 3);
            }
        }
    }
}

#[test]
fn legacy_audio_headers() {
    // AAC: sequence header and raw frame, 44 kHz 16-bit stereo flags as every encoder.
    let config = TrackConfig {
        track: 0,
        params: CodecParams::Aac(hex(ASC)),
    };
    let tag = FlvTag::config(&config, 0, TagStyle::Classic)
        .expect("writes")
        .expect("tag");
    assert_eq!(tag.body, hex("af 00 1190"));
    let tag = round_trip(
        Some(config),
        media(Codec::Aac, 0, &["21100504"]),
        TagStyle::Classic,
    );
    assert_eq!(tag.body, hex("af 01 21100504"));

    // MP3 flags from the frame header: 44.1 kHz stereo; 8 kHz (mono) uses format 14.
    let tag = round_trip(
        None,
        media(Codec::Mp3, 0, &["fffb5000 00"]),
        TagStyle::Classic,
    );
    assert_eq!(tag.body[0], 0x2f);
    let tag = FlvTag::frame(&media(Codec::Mp3, 0, &["ffe308c0"]), TagStyle::Classic).expect("ok");
    assert_eq!(tag.body[0], 0xe2);
    assert!(
        FlvTag::config(
            &TrackConfig {
                track: 0,
                params: CodecParams::Mp3
            },
            0,
            TagStyle::Classic
        )
        .expect("ok")
        .is_none()
    );

    // G711: format 7 (A-law) and 8 (µ-law), 16-bit flag, mono and stereo.
    let alaw = Codec::G711 {
        mu_law: false,
        stereo: false,
    };
    let tag = round_trip(None, media(alaw, 0, &["d5d5"]), TagStyle::Enhanced);
    assert_eq!(tag.body, hex("72 d5d5"));
    let ulaw = Codec::G711 {
        mu_law: true,
        stereo: true,
    };
    assert_eq!(
        round_trip(None, media(ulaw, 0, &["ffff"]), TagStyle::Classic).body,
        hex("83 ffff")
    );

    // LPCM: little-endian on the wire, big-endian in media.
    let lpcm = Codec::Lpcm {
        sample_rate: 44_100,
        bit_depth: 16,
        stereo: true,
    };
    let tag = round_trip(None, media(lpcm, 0, &["0102 0304"]), TagStyle::Classic);
    assert_eq!(tag.body, hex("3f 0201 0403"));
    let lpcm8 = Codec::Lpcm {
        sample_rate: 11_025,
        bit_depth: 8,
        stereo: false,
    };
    assert_eq!(
        round_trip(None, media(lpcm8, 0, &["80 81"]), TagStyle::Classic).body,
        hex("34 8081")
    );
}

#[test]
fn what_cannot_be_written_is_an_error() {
    let g711 = Codec::G711 {
        mu_law: false,
        stereo: false,
    };
    assert!(matches!(
        FlvTag::frame(&media(g711, 1, &["d5"]), TagStyle::Classic),
        Err(FlvError::NotWritable { .. })
    ));
    let lpcm = Codec::Lpcm {
        sample_rate: 48_000,
        bit_depth: 16,
        stereo: true,
    };
    assert!(matches!(
        FlvTag::frame(&media(lpcm, 0, &["0000"]), TagStyle::Classic),
        Err(FlvError::NotWritable { .. })
    ));
    assert!(matches!(
        FlvTag::frame(&media(Codec::Aac, 0, &["21", "22"]), TagStyle::Classic),
        Err(FlvError::NotWritable { .. })
    ));
}

#[test]
fn many_tracks_layouts() {
    // Two H264 tracks share a FourCC (layout 1); H264 and H265 do not (layout 2).
    let a = media(Codec::H264, 0, &["65aa"]);
    let mut b = media(Codec::H264, 1, &["65bbcc"]);
    b.composition_ms = 40;
    let tag = FlvTag::multitrack(&[a.clone(), b.clone()]).expect("writes");
    assert_eq!(
        tag.body,
        hex("96 11 61766331 00 000009 000000 00000002 65aa 01 00000a 000028 00000003 65bbcc")
    );
    let mut reader = TagReader::new();
    assert_eq!(
        read(&mut reader, &tag),
        vec![TagItem::Frame(a.clone()), TagItem::Frame(b)]
    );
    let c = media(Codec::H265, 2, &["2601"]);
    let tag = FlvTag::multitrack(&[a.clone(), c.clone()]).expect("writes");
    assert_eq!(&tag.body[..2], &hex("96 21")[..]);
    assert_eq!(&tag.body[2..6], b"avc1");
    assert_eq!(
        read(&mut reader, &tag),
        vec![TagItem::Frame(a), TagItem::Frame(c)]
    );

    // Audio: Opus and AAC on tracks 0 and 1.
    let x = media(Codec::Opus, 0, &["fc"]);
    let y = media(Codec::Aac, 1, &["2110"]);
    let tag = FlvTag::multitrack(&[x.clone(), y.clone()]).expect("writes");
    assert_eq!(
        tag.body,
        hex("95 21 4f707573 00 000001 fc 6d703461 01 000002 2110")
    );
    assert_eq!(
        read(&mut reader, &tag),
        vec![TagItem::Frame(x), TagItem::Frame(y)]
    );
    assert!(FlvTag::multitrack(&[]).is_err());
}

#[test]
fn mod_ex_prefixes_are_skipped() {
    // ModEx with a 3-byte nanosecond offset, then CodedFramesX avc1.
    let items = read_body(TagKind::Video, "97 02 0f4240 03 61766331 00000002 65aa").expect("reads");
    let TagItem::Frame(m) = &items[0] else {
        panic!("frame");
    };
    assert_eq!(
        (m.codec, m.timestamp_ms, m.parts.clone()),
        (Codec::H264, 1000, vec![hex("65aa")])
    );
    // Audio ModEx, then coded Opus frames.
    let items = read_body(TagKind::Audio, "97 02 000001 01 4f707573 fc").expect("reads");
    assert!(matches!(&items[0], TagItem::Frame(m) if m.codec == Codec::Opus));
    // Truncated ModEx data.
    assert!(read_body(TagKind::Video, "97 05 0001").is_err());
}

#[test]
fn metadata_commands_silence_and_sequence_ends() {
    // Metadata packet: "colorInfo" and an object (frame type bits ignored).
    let items = read_body(
        TagKind::Video,
        "d4 61763031 02 0009 636f6c6f72496e666f 03 0001 61 00 3ff0000000000000 000009",
    )
    .expect("reads");
    assert_eq!(
        items,
        vec![TagItem::VideoMetadata {
            track: 0,
            values: vec![
                Amf0Value::string("colorInfo"),
                Amf0Value::object([("a", Amf0Value::Number(1.0))])
            ]
        }]
    );
    // Command frames (legacy and enhanced) and an empty audio message mean nothing.
    assert_eq!(read_body(TagKind::Video, "57 00"), Ok(vec![]));
    assert_eq!(read_body(TagKind::Video, "d1 61766331 00"), Ok(vec![]));
    assert_eq!(read_body(TagKind::Audio, ""), Ok(vec![]));
    // Sequence ends.
    assert_eq!(
        read_body(TagKind::Audio, "92 4f707573"),
        Ok(vec![TagItem::SequenceEnd(TrackId::audio(0))])
    );
    let end = FlvTag::sequence_end(4, Codec::Av1, 0, TagStyle::Classic)
        .expect("ok")
        .expect("tag");
    assert_eq!(end.body, hex("96 02 61763031 04"));
}

#[test]
fn malformed_and_unsupported_tags_are_errors() {
    assert_eq!(
        read_body(TagKind::Video, "92 76766331"),
        Err(FlvError::FourCc(FourCc(*b"vvc1")))
    );
    assert_eq!(
        read_body(TagKind::Audio, "91 61766331 00"),
        Err(FlvError::FourCc(FourCc::AVC))
    );
    assert_eq!(
        read_body(TagKind::Video, "12 00"),
        Err(FlvError::VideoCodec(2))
    );
    assert_eq!(
        read_body(TagKind::Audio, "b2 00"),
        Err(FlvError::AudioFormat(11))
    );
    assert!(matches!(
        read_body(TagKind::Video, "98 61766331"),
        Err(FlvError::PacketType { packet_type: 8, .. })
    ));
    assert!(matches!(
        read_body(TagKind::Video, "17 03 000000"),
        Err(FlvError::PacketType { packet_type: 3, .. })
    ));
    assert!(matches!(
        read_body(TagKind::Video, "17 01 000000 00000009 65"),
        Err(FlvError::Truncated { .. })
    ));
    assert!(matches!(
        read_body(TagKind::Video, "17 00 000000 01"),
        Err(FlvError::Truncated { .. })
    ));
    assert!(matches!(
        read_body(TagKind::Audio, "af 00 ff"),
        Err(FlvError::Invalid { .. })
    ));
    assert!(matches!(
        read_body(TagKind::Video, "96 31 61766331 00"),
        Err(FlvError::Invalid { .. })
    ));
    assert!(matches!(
        read_body(TagKind::Video, "96 16 61766331"),
        Err(FlvError::Invalid { .. })
    ));
    // A many-tracks size that runs past the body.
    assert!(matches!(
        read_body(TagKind::Video, "96 13 61766331 00 000010 65"),
        Err(FlvError::Truncated { .. })
    ));
}
