//! GStreamer reads what ffmpeg publishes, over TCP and over UDP: `rtspsrc ! rtph264depay
//! ! h264parse ! avdec_h264` decodes 10 frames of 320x240, counted at the sink. Needs
//! Debian's `ffmpeg`,
//! `gstreamer1.0-tools`, `gstreamer1.0-plugins-base`, `gstreamer1.0-plugins-good`,
//! `gstreamer1.0-plugins-bad` and `gstreamer1.0-libav`; skipped with a note when missing,
//! a failure when `CI=true`.

mod server_support;

use std::process::Stdio;
use std::time::Duration;

use server_support::{OPEN_CONF, require_tools, server};
use tokio::process::Command;

/// Bound of every external process.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(30);
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_reads_what_ffmpeg_publishes() {
    if !require_tools(&["ffmpeg", "gst-launch-1.0"]) {
        return;
    }
    server_support::init_logs();
    let (server, paths) = server(OPEN_CONF).await;
    let url = format!("rtsp://{}/test", server.local_addrs().rtsp);
    let mut ffmpeg = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
        ])
        .args(["-g", "25", "-t", "20"])
        .args(["-f", "rtsp", "-rtsp_transport", "tcp", &url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts");
    let mut ready = false;
    for _ in 0..200 {
        if paths.path_info("test").is_some_and(|p| p.ready) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "ffmpeg did not start publishing");

    let (tcp, udp) = tokio::join!(decode(&url, "tcp"), decode(&url, "udp"));
    assert_eq!(tcp, 10, "frames decoded over TCP");
    assert_eq!(udp, 10, "frames decoded over UDP");
    let _ = ffmpeg.kill().await;
    server.close().await;
}

/// Runs rtspsrc over `protocols` until 10 frames are decoded; returns how many decoded
/// frames reached the sink (through caps that only let 320x240 pass).
async fn decode(url: &str, protocols: &str) -> usize {
    let gst = Command::new("gst-launch-1.0")
        .arg("-v")
        .arg("rtspsrc")
        .arg(format!("location={url}"))
        .arg(format!("protocols={protocols}"))
        .args(["!", "rtph264depay", "!", "h264parse", "!", "avdec_h264"])
        .args(["!", "video/x-raw,width=320,height=240"])
        .args(["!", "fakesink", "num-buffers=10", "silent=false"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("gst-launch starts");
    let out = tokio::time::timeout(PROCESS_TIMEOUT, gst.wait_with_output())
        .await
        .expect("gst-launch ends in time")
        .expect("gst-launch output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let frames = stdout
        .lines()
        .filter(|l| l.contains("fakesink0: last-message = chain"))
        .count();
    // rtspsrc sometimes reports its own PAUSE, sent while it tears the session down after
    // the sink's last buffer, as a failure ("Could not send message. (Received
    // end-of-file)" from gst_rtspsrc_pause, the server having answered TEARDOWN): the
    // stream was read by then. Any other failure, or one before 10 frames, is one.
    let shutdown_race = frames == 10
        && stderr.contains("gst_rtspsrc_pause")
        && stderr.contains("Could not send message");
    assert!(
        out.status.success() || shutdown_race,
        "gst-launch over {protocols} failed: {stderr}\n{stdout}",
    );
    frames
}
