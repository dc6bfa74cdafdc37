//! Real clients, the whole matrix: ffmpeg publishes H264 + Opus and H264 + AAC, over TCP
//! and over UDP; ffprobe and ffmpeg read each back over TCP and over UDP, with the right
//! codecs and dimensions, ffmpeg decoding at least 90 % of the pictures and of the sound.
//! Needs Debian's `ffmpeg` package (ffmpeg and ffprobe); skipped with a note when missing,
//! a failure when `CI=true`.

mod server_support;

use std::process::Stdio;
use std::time::Duration;

use ferromtx_testkit::ffmpeg::DecodedStream;
use server_support::{OPEN_CONF, require_tools, server};
use tokio::process::{Child, Command};

/// Bound of every external process.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(20);

fn publish(url: &str, audio_codec: &str, transport: &str) -> Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"])
        .args(["-f", "lavfi", "-i", "sine"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
        ])
        .args(["-g", "25", "-c:a", audio_codec, "-t", "6"])
        .args(["-f", "rtsp", "-rtsp_transport", transport, url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts")
}

/// `ffprobe`'s stream lines (`stream|codec_name=h264|width=320|height=240`).
async fn probe(url: String, transport: &'static str) -> String {
    let child = Command::new("ffprobe")
        .args(["-v", "error", "-rtsp_transport", transport])
        .args([
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "compact",
        ])
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffprobe starts");
    let out = tokio::time::timeout(PROCESS_TIMEOUT, child.wait_with_output())
        .await
        .expect("ffprobe ends in time")
        .expect("ffprobe output");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "ffprobe over {transport} failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// ffmpeg decoding every stream of `url` for 2 s of output over `transport`.
async fn decode(url: String, transport: &'static str) -> Vec<DecodedStream> {
    let ffmpeg = ferromtx_testkit::tool("ffmpeg").expect("ffmpeg");
    let run = tokio::task::spawn_blocking(move || {
        ferromtx_testkit::ffmpeg::decode(&ffmpeg, &["-rtsp_transport", transport], &url, 2)
    });
    tokio::time::timeout(PROCESS_TIMEOUT, run)
        .await
        .expect("ffmpeg ends in time")
        .expect("ffmpeg decodes")
}

async fn publish_and_read(path: &str, audio_codec: &str, audio_name: &str, transport: &str) {
    if !require_tools(&["ffmpeg", "ffprobe"]) {
        return;
    }
    server_support::init_logs();
    let (server, paths) = server(OPEN_CONF).await;
    let url = format!("rtsp://{}/{path}", server.local_addrs().rtsp);
    let mut ffmpeg = publish(&url, audio_codec, transport);

    let mut ready = false;
    for _ in 0..200 {
        if paths.path_info(path).is_some_and(|p| p.ready) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "ffmpeg did not start publishing");
    let publisher = server
        .sessions()
        .into_iter()
        .find(|s| s.path == path)
        .expect("publisher session");
    assert_eq!(
        publisher.transport.as_deref(),
        Some(transport.to_ascii_uppercase().as_str())
    );

    let (tcp, udp, decoded_tcp, decoded_udp) = tokio::join!(
        probe(url.clone(), "tcp"),
        probe(url.clone(), "udp"),
        decode(url.clone(), "tcp"),
        decode(url.clone(), "udp"),
    );
    for (reader, text) in [("ffprobe tcp", &tcp), ("ffprobe udp", &udp)] {
        assert!(
            text.contains("codec_name=h264|width=320|height=240"),
            "{reader}: {text}"
        );
        assert!(
            text.contains(&format!("codec_name={audio_name}")),
            "{reader}: {text}"
        );
    }
    // 2 s of output: at least 90 % of 2 s of sound; the pictures from the first keyframe
    // (a GOP is 1 s) on, at least 90 % of them.
    for (reader, streams) in [("ffmpeg tcp", &decoded_tcp), ("ffmpeg udp", &decoded_udp)] {
        let media: Vec<&str> = streams.iter().map(|s| s.media.as_str()).collect();
        assert_eq!(media, ["video", "audio"], "{reader}: {streams:?}");
        let (video, audio) = (&streams[0], &streams[1]);
        assert!(video.span >= 0.75, "{reader}: {streams:?}");
        assert!(video.completeness() >= 0.9, "{reader}: {streams:?}");
        assert!(audio.covers(2.0, 0.9), "{reader}: {streams:?}");
        assert!(audio.completeness() >= 0.9, "{reader}: {streams:?}");
    }

    let status = tokio::time::timeout(PROCESS_TIMEOUT, ffmpeg.wait()).await;
    match status {
        Ok(Ok(s)) => assert!(s.success(), "ffmpeg exited with {s}"),
        other => {
            let _ = ffmpeg.kill().await;
            panic!("ffmpeg did not end: {other:?}");
        }
    }
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_opus_published_over_tcp() {
    publish_and_read("opustcp", "libopus", "opus", "tcp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_aac_published_over_tcp() {
    publish_and_read("aactcp", "aac", "aac", "tcp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_opus_published_over_udp() {
    publish_and_read("opusudp", "libopus", "opus", "udp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_aac_published_over_udp() {
    publish_and_read("aacudp", "aac", "aac", "udp").await;
}
