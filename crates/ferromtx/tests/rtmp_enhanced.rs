//! Enhanced RTMP end to end: H265 + Opus and AV1 published with the project's own writer
//! (the Debian ffmpeg cannot send Enhanced RTMP), its tags checked against the
//! specification's layout, then read back over RTMP (the project's player, announcing
//! `fourCcList`) and decoded through RTSP by ffmpeg and ffprobe.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{env_refs, rtmp_env, rtsp_env, start, tool};
use ferromtx_codec::mpegts::{Codec as TsCodec, Demuxer, Event};
use ferromtx_rtmp::flv::hvcc::HevcConfig;
use ferromtx_rtmp::flv::opus_head::OpusHead;
use ferromtx_rtmp::{
    ClientConfig, ClientConnection, ClientEvent, ClientMode, ClientOutput, ClientUrl, Codec,
    CodecParams, FlvTag, Media, TagItem, TagStyle, TrackConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Runs ffmpeg with `args` (output last); panics with its errors when it fails.
fn ffmpeg_make(ffmpeg: &Path, args: &[&str]) {
    let out = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// H265 (no B-frames, a key frame a second) and Opus tags from an MPEG-TS file, in the
/// Enhanced RTMP layout, sorted by timestamp.
fn h265_opus_tags(ts: &[u8]) -> Vec<FlvTag> {
    let mut demuxer = Demuxer::new();
    demuxer.push(ts);
    demuxer.flush();
    let mut pids = Vec::new();
    let mut tags = Vec::new();
    let mut video_config = false;
    let mut audio_config = false;
    while let Some(event) = demuxer.pull() {
        match event {
            Event::Tracks(tracks) => pids = tracks,
            Event::AccessUnit(au) => {
                let Some(track) = pids.iter().find(|t| t.pid == au.pid) else {
                    continue;
                };
                let ms = |t: i64| (t / 90) as u32;
                let media = |codec, parts| Media {
                    track: 0,
                    codec,
                    timestamp_ms: ms(au.dts),
                    composition_ms: (ms(au.pts) - ms(au.dts)) as i32,
                    keyframe: au.random_access,
                    parts,
                };
                match &track.codec {
                    TsCodec::H265 => {
                        if !video_config {
                            let find = |t: u8| {
                                au.parts
                                    .iter()
                                    .find(|n| ferromtx_codec::h265::nal_type(n) == t)
                                    .cloned()
                            };
                            let (Some(vps), Some(sps), Some(pps)) = (find(32), find(33), find(34))
                            else {
                                continue;
                            };
                            let config = TrackConfig {
                                track: 0,
                                params: CodecParams::H265(
                                    HevcConfig::from_parameter_sets(vps, sps, pps).expect("hvcC"),
                                ),
                            };
                            let tag = FlvTag::config(&config, ms(au.dts), TagStyle::Enhanced)
                                .expect("config")
                                .expect("a tag");
                            tags.push(tag);
                            video_config = true;
                        }
                        let m = media(Codec::H265, au.parts.clone());
                        tags.push(FlvTag::frame(&m, TagStyle::Enhanced).expect("frame"));
                    }
                    TsCodec::Opus { channel_count } => {
                        if !audio_config {
                            audio_config = true;
                            let config = TrackConfig {
                                track: 0,
                                params: CodecParams::Opus(
                                    OpusHead::for_channels(*channel_count).to_bytes(),
                                ),
                            };
                            let tag = FlvTag::config(&config, ms(au.pts), TagStyle::Enhanced)
                                .expect("config")
                                .expect("a tag");
                            tags.push(tag);
                        }
                        for packet in &au.parts {
                            let m = media(Codec::Opus, vec![packet.clone()]);
                            tags.push(FlvTag::frame(&m, TagStyle::Enhanced).expect("frame"));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    tags.sort_by_key(|t| t.timestamp_ms);
    tags
}

/// AV1 tags from a low-overhead bitstream (`-f obu`): one temporal unit per frame at
/// 25 fps, the sequence start built from the first sequence header.
fn av1_tags(obus: &[u8]) -> Vec<FlvTag> {
    let data = Bytes::copy_from_slice(obus);
    let all = ferromtx_rtmp::flv::av1c::split_obus(&data).expect("OBUs");
    let mut units: Vec<Vec<Bytes>> = Vec::new();
    for obu in all {
        if ferromtx_codec::av1::obu_type(&obu) == Some(ferromtx_codec::av1::OBU_TEMPORAL_DELIMITER)
        {
            units.push(Vec::new());
        }
        if let Some(u) = units.last_mut() {
            u.push(obu);
        }
    }
    let header = units
        .iter()
        .flatten()
        .find(|o| {
            ferromtx_codec::av1::obu_type(o) == Some(ferromtx_codec::av1::OBU_SEQUENCE_HEADER)
        })
        .expect("a sequence header");
    let config = TrackConfig {
        track: 0,
        params: CodecParams::Av1(
            ferromtx_rtmp::flv::av1c::Av1Config::from_sequence_header(header).expect("av1C"),
        ),
    };
    let mut tags = vec![
        FlvTag::config(&config, 0, TagStyle::Enhanced)
            .expect("config")
            .expect("a tag"),
    ];
    for (i, parts) in units.into_iter().enumerate() {
        let m = Media {
            track: 0,
            codec: Codec::Av1,
            timestamp_ms: i as u32 * 40,
            composition_ms: 0,
            keyframe: ferromtx_codec::av1::is_random_access(&parts),
            parts,
        };
        tags.push(FlvTag::frame(&m, TagStyle::Enhanced).expect("frame"));
    }
    tags
}

/// Sends what the client has to send.
async fn flush(client: &mut ClientConnection, sock: &mut TcpStream, events: &mut Vec<ClientEvent>) {
    while let Some(out) = client.poll_output() {
        match out {
            ClientOutput::Transmit(b) => sock.write_all(&b).await.expect("send"),
            ClientOutput::Event(e) => events.push(e),
        }
    }
}

/// Connects the project's client to `url` until it publishes or plays; the events that
/// came with the answer are kept.
async fn open(
    port: u16,
    url: &str,
    mode: ClientMode,
) -> (ClientConnection, TcpStream, Vec<ClientEvent>) {
    let mut sock = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let config = ClientConfig::new(ClientUrl::parse(url).expect("url"), mode);
    let mut client = ClientConnection::new(config, Instant::now());
    let mut events = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        flush(&mut client, &mut sock, &mut events).await;
        if events
            .iter()
            .any(|e| matches!(e, ClientEvent::Publishing | ClientEvent::Playing))
        {
            return (client, sock, events);
        }
        let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "closed by the server");
        client
            .handle_input(Instant::now(), &buf[..n])
            .expect("valid input");
    }
}

/// Publishes `tags` in real time (as their timestamps say), `rounds` times over.
async fn publish(port: u16, url: String, tags: Vec<FlvTag>, rounds: u32) {
    let (mut client, mut sock, _) = open(port, &url, ClientMode::Publish).await;
    // Timestamps from 0, each round right after the previous one.
    let first = tags.first().map_or(0, |t| t.timestamp_ms);
    let span = tags.last().map_or(0, |t| t.timestamp_ms) - first + 40;
    let start = tokio::time::Instant::now();
    let mut events = Vec::new();
    for round in 0..rounds {
        for tag in &tags {
            // Configurations are sent once.
            let config = tag
                .body
                .first()
                .is_some_and(|b| b & 0x0f == 0 && b & 0x80 != 0)
                || tag.body.first() == Some(&0x90);
            if round > 0 && config {
                continue;
            }
            let at = tag.timestamp_ms - first + round * span;
            tokio::time::sleep_until(start + Duration::from_millis(u64::from(at))).await;
            let shifted = FlvTag {
                timestamp_ms: at,
                ..tag.clone()
            };
            client.write_tag(&shifted).expect("write");
            flush(&mut client, &mut sock, &mut events).await;
        }
    }
}

/// What the project's RTMP player receives in `seconds`: (configs, frames) by codec.
async fn play(port: u16, url: String, seconds: u64) -> Vec<TagItem> {
    let (mut client, mut sock, mut events) = open(port, &url, ClientMode::Play).await;
    let mut buf = vec![0u8; 65536];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        client
            .handle_input(Instant::now(), &buf[..n])
            .expect("valid input");
        flush(&mut client, &mut sock, &mut events).await;
    }
    events
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Media(item) => Some(item),
            _ => None,
        })
        .collect()
}

/// (codec, is a configuration) of what a player got.
fn kinds(items: &[TagItem]) -> Vec<(Codec, bool)> {
    items
        .iter()
        .filter_map(|i| match i {
            TagItem::Config(c) => Some((c.params.codec(), true)),
            TagItem::Frame(m) => Some((m.codec, false)),
            _ => None,
        })
        .collect()
}

/// The AV1 frames a player got, as a low-overhead bitstream file ffmpeg decodes; the
/// number of frames it decoded.
fn decode_av1(ffmpeg: &Path, items: &[TagItem], file: &Path) -> u64 {
    let mut out = Vec::new();
    for item in items {
        if let TagItem::Frame(m) = item {
            if m.parts
                .first()
                .and_then(|o| ferromtx_codec::av1::obu_type(o))
                != Some(ferromtx_codec::av1::OBU_TEMPORAL_DELIMITER)
            {
                out.extend_from_slice(&[0x12, 0x00]);
            }
            for obu in &m.parts {
                out.extend_from_slice(
                    &ferromtx_rtmp::flv::av1c::with_size_field(obu).expect("OBU"),
                );
            }
        }
    }
    std::fs::write(file, out).expect("write");
    let out = Command::new(ffmpeg)
        .args(["-hide_banner", "-nostats", "-f", "obu", "-i"])
        .arg(file)
        .args(["-f", "null", "-", "-progress", "pipe:1"])
        .stdin(Stdio::null())
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("frame="))
        .filter_map(|n| n.trim().parse().ok())
        .max()
        .unwrap_or(0)
}

/// The SDP an RTSP DESCRIBE of `url` answers.
fn describe(port: u16, url: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n"
    )
    .expect("send");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("a=control") {
        let n = s.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn probe(ffprobe: &Path, url: &str) -> String {
    let out = Command::new(ffprobe)
        .args(["-v", "error", "-rtsp_transport", "tcp"])
        .args([
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "csv=p=0",
            url,
        ])
        .output()
        .expect("run ffprobe");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn h265_opus_and_av1_round_trip_and_decode_through_rtsp() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let ts = dir.path().join("h265_opus.ts");
    let obu = dir.path().join("av1.obu");
    let src = [
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25",
        "-t",
        "4",
    ];
    let sine = [
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        "4",
    ];
    ffmpeg_make(
        &ffmpeg,
        &[
            &src[..],
            &sine[..],
            &[
                "-pix_fmt",
                "yuv420p",
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
            ],
            &[
                "-x265-params",
                "bframes=0:keyint=25:log-level=error",
                "-c:a",
                "libopus",
            ],
            &["-f", "mpegts", ts.to_str().expect("utf-8")],
        ]
        .concat(),
    );
    ffmpeg_make(
        &ffmpeg,
        &[
            &src[..],
            &[
                "-pix_fmt",
                "yuv420p",
                "-c:v",
                "libsvtav1",
                "-preset",
                "12",
                "-g",
                "25",
            ],
            &["-f", "obu", obu.to_str().expect("utf-8")],
        ]
        .concat(),
    );
    let hevc = h265_opus_tags(&std::fs::read(&ts).expect("ts"));
    let av1 = av1_tags(&std::fs::read(&obu).expect("obu"));

    // The specification's layout: IsExHeader, frame type, packet type, FourCC.
    let video: Vec<&FlvTag> = hevc.iter().filter(|t| t.kind.type_id() == 9).collect();
    assert_eq!(
        &video[0].body[..5],
        b"\x90hvc1",
        "key frame, sequence start"
    );
    assert_eq!(video[1].body[0] & 0xf0, 0x90, "key frame");
    assert_eq!(
        video[1].body[0] & 0x0f,
        3,
        "coded frames X (no composition time)"
    );
    assert_eq!(&video[1].body[1..5], b"hvc1");
    let audio: Vec<&FlvTag> = hevc.iter().filter(|t| t.kind.type_id() == 8).collect();
    assert_eq!(
        &audio[0].body[..5],
        b"\x90Opus",
        "ExHeader audio, sequence start"
    );
    assert_eq!(&audio[0].body[5..13], b"OpusHead");
    assert_eq!(&audio[1].body[..5], b"\x91Opus", "coded frames");
    assert_eq!(&av1[0].body[..5], b"\x90av01");
    assert_eq!(av1[0].body[5], 0x81, "av1C marker and version");
    assert_eq!(&av1[1].body[..5], b"\x91av01");

    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (renv, (rtmp, _)) = rtmp_env();
    env.extend(renv);
    let conf = "hls: no\nwebrtc: no\nsrt: no\nmoq: no\npaths:\n  all_others:\n";
    let mut s = start(Some(conf), &[], &env_refs(&env));
    s.wait_line("[RTMP] started with listener");
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    for (path, tags, codecs, names) in [
        (
            "hevc",
            hevc,
            vec![Codec::H265, Codec::Opus],
            "2 tracks (H265, Opus)",
        ),
        ("av1", av1, vec![Codec::Av1], "1 track (AV1)"),
    ] {
        let url = format!("rtmp://127.0.0.1:{rtmp}/{path}");
        let publisher = rt.spawn(publish(rtmp, url.clone(), tags, 6));
        s.wait_line(&format!(
            "[path {path}] stream is available and online, {names}"
        ));
        let player = rt.spawn(play(rtmp, url, 3));
        let rtsp_url = format!("rtsp://127.0.0.1:{rtsp}/{path}");
        if path == "hevc" {
            let streams = probe(&ffprobe, &rtsp_url);
            assert!(streams.lines().any(|l| l == "hevc,320,240"), "{streams}");
            assert!(streams.lines().any(|l| l.starts_with("opus")), "{streams}");
            // 2 s decoded: the pictures from the first keyframe on at least 90 % complete
            // over at least 0.75 s, and 90 % of 2 s of sound.
            let decoded = ferromtx_testkit::ffmpeg::decode(
                &ffmpeg,
                &["-rtsp_transport", "tcp"],
                &rtsp_url,
                2,
            );
            let media: Vec<&str> = decoded.iter().map(|d| d.media.as_str()).collect();
            assert_eq!(media, ["video", "audio"], "{path}: {decoded:?}");
            for d in &decoded {
                let least = if d.media == "video" { 0.75 } else { 1.8 };
                assert!(
                    d.completeness() >= 0.9 && d.span >= least,
                    "{path}: {decoded:?}"
                );
            }
        } else {
            // The Debian ffmpeg (5.1) has no AV1 RTP depacketizer: RTSP readers are
            // checked to be offered AV1, the decoding is done on what RTMP gave back.
            let sdp = describe(rtsp, &rtsp_url);
            assert!(sdp.contains("a=rtpmap:96 AV1/90000"), "{sdp}");
        }
        let got = rt.block_on(player).expect("player");
        publisher.abort();
        let got_kinds = kinds(&got);
        for codec in codecs {
            assert!(
                got_kinds.contains(&(codec, true)),
                "{path}: no {codec:?} configuration"
            );
            let n = got_kinds.iter().filter(|c| **c == (codec, false)).count();
            assert!(n >= 25, "{path}: {n} {codec:?} frames over RTMP");
        }
        if path == "av1" {
            let frames = decode_av1(&ffmpeg, &got, &dir.path().join("back.obu"));
            let sent = kinds(&got).iter().filter(|c| !c.1).count() as u64;
            assert_eq!(frames, sent, "every AV1 frame read back over RTMP decodes");
        }
    }
}
