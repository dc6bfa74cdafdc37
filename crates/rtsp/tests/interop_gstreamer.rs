//! GStreamer reads what ffmpeg publishes: `rtspsrc protocols=tcp ! rtph264depay !
//! h264parse ! avdec_h264` decodes 10 frames. Needs Debian's `ffmpeg`,
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
const GST_PACKAGES: &str = "gstreamer1.0-tools gstreamer1.0-plugins-base \
     gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav";

fn have_gstreamer() -> bool {
    let ok = std::process::Command::new("gst-launch-1.0")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").ok().as_deref() != Some("true"),
            "missing gst-launch-1.0 in CI (apt-get install -y {GST_PACKAGES})"
        );
        eprintln!("skipped: missing gst-launch-1.0 (apt-get install -y {GST_PACKAGES})");
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_reads_what_ffmpeg_publishes() {
    if !require_tools(&["ffmpeg"]) || !have_gstreamer() {
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

    let gst = Command::new("gst-launch-1.0")
        .arg("-q")
        .arg("rtspsrc")
        .arg(format!("location={url}"))
        .arg("protocols=tcp")
        .args(["!", "rtph264depay", "!", "h264parse", "!", "avdec_h264"])
        .args(["!", "fakesink", "num-buffers=10"])
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
    assert!(
        out.status.success(),
        "gst-launch failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = ffmpeg.kill().await;
    server.close().await;
}
