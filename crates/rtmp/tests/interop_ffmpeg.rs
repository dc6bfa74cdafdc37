//! Real ffmpeg against the server state machine, run by a minimal tokio driver on
//! 127.0.0.1: ffmpeg publishes H264 + AAC and the frames arrive with their parameters;
//! ffmpeg plays frames the server writes (from an FLV file ffmpeg made) and decodes them.
//!
//! Skipped with a message when ffmpeg is missing, unless `CI=true`, where that fails.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromtx_rtmp::flv::{TagItem, TagKind, TagReader};
use ferromtx_rtmp::{
    Codec, CodecParams, ServerConfig, ServerConnection, ServerEvent, ServerOutput, TagStyle,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;

/// Whether ffmpeg can be run; in CI its absence is a failure.
fn have_ffmpeg() -> bool {
    let found = std::process::Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "ffmpeg is required in CI"
        );
        eprintln!("skipped: ffmpeg not found");
    }
    found
}

/// Runs the server side of one accepted connection until the peer closes it or the
/// deadline passes, handing every event to `on_event`.
async fn drive(
    mut stream: TcpStream,
    mut on_event: impl FnMut(&mut ServerConnection, ServerEvent),
) -> ServerConnection {
    let mut conn = ServerConnection::new(
        ServerConfig {
            seed: 42,
            ..ServerConfig::default()
        },
        Instant::now(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(out) = conn.poll_output() {
            match out {
                ServerOutput::Transmit(bytes) => {
                    if stream.write_all(&bytes).await.is_err() {
                        return conn;
                    }
                }
                ServerOutput::Event(event) => on_event(&mut conn, event),
            }
        }
        let read = tokio::time::timeout_at(deadline, stream.read(&mut buf)).await;
        let n = match read {
            Ok(Ok(n)) if n > 0 => n,
            _ => return conn,
        };
        conn.handle_input(Instant::now(), &buf[..n])
            .expect("the server state machine accepts ffmpeg's input");
    }
}

#[tokio::test]
async fn ffmpeg_publishes_h264_and_aac() {
    if !have_ffmpeg() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = listener.local_addr().expect("address").port();
    let ffmpeg = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args([
            "-t",
            "2.5",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
        ])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv"])
        .arg(format!("rtmp://127.0.0.1:{port}/live/test?user=u"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts");
    let (stream, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("ffmpeg connects")
        .expect("accepts");

    let mut path = None;
    let mut items = Vec::new();
    let mut metadata = None;
    let mut closed = false;
    let conn = drive(stream, |conn, event| match event {
        ServerEvent::PublishRequested(req) => {
            path = Some((req.path.path.clone(), req.path.query.clone()));
            conn.accept_publish().expect("accepts");
        }
        ServerEvent::Media(item) => items.push(item),
        ServerEvent::Data(values) => metadata = Some(values),
        ServerEvent::StreamClosed(_) => closed = true,
        _ => {}
    })
    .await;
    let output = ffmpeg.wait_with_output().await.expect("ffmpeg ends");
    assert!(
        output.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    assert_eq!(path, Some(("live/test".to_owned(), "user=u".to_owned())));
    assert!(conn.client_used_digest(), "ffmpeg sends a digest C1");
    assert!(closed, "ffmpeg ends with FCUnpublish/deleteStream");
    let metadata = metadata.expect("onMetaData");
    assert_eq!(metadata[0].as_str(), Some("onMetaData"));
    assert_eq!(
        metadata[1].get("width").and_then(|v| v.as_f64()),
        Some(320.0)
    );

    let h264 = items.iter().find_map(|i| match i {
        TagItem::Config(c) => match &c.params {
            CodecParams::H264(avc) => Some(avc.clone()),
            _ => None,
        },
        _ => None,
    });
    let avc = h264.expect("an H264 sequence header");
    assert_eq!(avc.sps.len(), 1);
    assert_eq!(avc.sps[0][0] & 0x1f, 7);
    assert_eq!(avc.pps[0][0] & 0x1f, 8);
    let aac = items.iter().find_map(|i| match i {
        TagItem::Config(c) => match &c.params {
            CodecParams::Aac(asc) => Some(asc.clone()),
            _ => None,
        },
        _ => None,
    });
    let asc = aac.expect("an AAC sequence header");
    // AAC-LC (object type 2), 44100 Hz (index 4).
    assert_eq!(asc[0] >> 3, 2);
    assert_eq!(((asc[0] & 7) << 1) | (asc[1] >> 7), 4);

    let frames: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            TagItem::Frame(m) => Some(m),
            _ => None,
        })
        .collect();
    let video: Vec<_> = frames.iter().filter(|m| m.codec == Codec::H264).collect();
    let audio: Vec<_> = frames.iter().filter(|m| m.codec == Codec::Aac).collect();
    assert!(video.len() >= 50, "{} video frames", video.len());
    assert!(audio.len() >= 80, "{} audio frames", audio.len());
    assert!(video[0].keyframe);
    assert!(
        video[0].parts.iter().any(|n| n[0] & 0x1f == 5),
        "IDR NAL unit"
    );
    assert!(video.iter().any(|m| !m.keyframe));
    // 25 fps: the last frame is about 2.4 s after the first.
    let span = video[video.len() - 1].timestamp_ms - video[0].timestamp_ms;
    assert!((2000..=2600).contains(&span), "video spans {span} ms");
}

/// Tags of an FLV file: (kind, timestamp, body).
fn flv_tags(data: &[u8]) -> Vec<(TagKind, u32, Bytes)> {
    let data = Bytes::copy_from_slice(data);
    let header_len = u32::from_be_bytes([data[5], data[6], data[7], data[8]]) as usize;
    let mut pos = header_len + 4;
    let mut tags = Vec::new();
    while pos + 11 <= data.len() {
        let kind = match data[pos] & 0x1f {
            8 => Some(TagKind::Audio),
            9 => Some(TagKind::Video),
            _ => None,
        };
        let size = (usize::from(data[pos + 1]) << 16)
            | (usize::from(data[pos + 2]) << 8)
            | usize::from(data[pos + 3]);
        let ts = (u32::from(data[pos + 7]) << 24)
            | (u32::from(data[pos + 4]) << 16)
            | (u32::from(data[pos + 5]) << 8)
            | u32::from(data[pos + 6]);
        let body = data.slice(pos + 11..pos + 11 + size);
        if let Some(kind) = kind {
            tags.push((kind, ts, body));
        }
        pos += 11 + size + 4;
    }
    tags
}

fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ferromtx-rtmp-{}-{name}", std::process::id()))
}

#[tokio::test]
async fn ffmpeg_plays_what_the_server_writes() {
    if !have_ffmpeg() {
        return;
    }
    // The fixture: 3 s of H264 + AAC in FLV, made by ffmpeg, read with our tag reader.
    let fixture = temp_file("fixture.flv");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args([
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
        ])
        .args([
            "-bf", "2", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv",
        ])
        .arg(&fixture)
        .status()
        .await
        .expect("ffmpeg runs");
    assert!(status.success());
    let data = std::fs::read(&fixture).expect("fixture");
    let _ = std::fs::remove_file(&fixture);
    let mut reader = TagReader::new();
    let mut items = Vec::new();
    for (kind, ts, body) in flv_tags(&data) {
        reader
            .read(kind, ts, &body, &mut items)
            .expect("ffmpeg's tags read");
    }
    assert!(items.len() > 100);
    // B-frames: composition offsets come through.
    assert!(
        items
            .iter()
            .any(|i| matches!(i, TagItem::Frame(m) if m.composition_ms > 0))
    );

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = listener.local_addr().expect("address").port();
    let ffmpeg = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error"])
        .arg("-i")
        .arg(format!("rtmp://127.0.0.1:{port}/live/test"))
        .args(["-t", "2", "-f", "framecrc", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts");
    let (stream, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("ffmpeg connects")
        .expect("accepts");
    let mut requested = None;
    let driver = tokio::spawn(async move {
        let conn = drive(stream, |conn, event| {
            if let ServerEvent::PlayRequested(req) = event {
                requested = Some(req.path.path.clone());
                conn.accept_play().expect("accepts");
                for item in &items {
                    match item {
                        TagItem::Config(c) => conn.write_config(c, 0, TagStyle::Classic),
                        TagItem::Frame(m) => conn.write_media(m, TagStyle::Classic),
                        _ => Ok(()),
                    }
                    .expect("writes");
                }
            }
        })
        .await;
        (conn, requested)
    });
    let output = tokio::time::timeout(Duration::from_secs(30), ffmpeg.wait_with_output())
        .await
        .expect("ffmpeg ends in time")
        .expect("ffmpeg runs");
    let (conn, requested) = driver.await.expect("driver ends");
    assert!(
        output.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(requested.as_deref(), Some("live/test"));
    // ffmpeg validated our digest S1/S2 (it checks them when playing).
    assert!(conn.client_used_digest());
    let text = String::from_utf8_lossy(&output.stdout);
    let count = |stream: &str| text.lines().filter(|l| l.starts_with(stream)).count();
    assert!(count("0,") >= 45, "video frames decoded: {}", count("0,"));
    assert!(count("1,") >= 80, "audio frames decoded: {}", count("1,"));
}
