//! Real clients: ffmpeg publishes H264 + Opus (or AAC) over TCP (or UDP), ffprobe reads it back
//! over TCP and UDP. Needs Debian's `ffmpeg` package (ffmpeg and ffprobe); skipped with
//! a note when missing, a failure when `CI=true`.

mod server_support;

use std::process::Stdio;
use std::time::Duration;

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
        .args(["-g", "25", "-c:a", audio_codec, "-t", "4"])
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

async fn publish_and_probe(path: &str, audio_codec: &str, audio_name: &str, transport: &str) {
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

    let (tcp, udp) = tokio::join!(probe(url.clone(), "tcp"), probe(url.clone(), "udp"));
    for (transport, text) in [("tcp", tcp), ("udp", udp)] {
        assert!(
            text.contains("codec_name=h264|width=320|height=240"),
            "{transport}: {text}"
        );
        assert!(
            text.contains(&format!("codec_name={audio_name}")),
            "{transport}: {text}"
        );
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
async fn ffmpeg_publishes_h264_opus_and_ffprobe_reads_it() {
    publish_and_probe("test", "libopus", "opus", "tcp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_publishes_h264_aac_and_ffprobe_reads_it() {
    publish_and_probe("testaac", "aac", "aac", "tcp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_publishes_over_udp_and_ffprobe_reads_it() {
    publish_and_probe("testudp", "libopus", "opus", "udp").await;
}
