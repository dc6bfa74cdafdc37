//! ffprobe against a server with an internal user: wrong credentials are refused with
//! 401, right ones are accepted, with Basic and with Digest. Needs Debian's `ffmpeg`;
//! skipped with a note when missing, a failure when `CI=true`.

mod server_support;

use std::process::Stdio;
use std::time::Duration;

use ferromtx_rtsp::RtspSettings;
use ferromtx_rtsp::auth::AuthMethod;
use server_support::{require_tools, server_with};
use tokio::process::Command;

const PROCESS_TIMEOUT: Duration = Duration::from_secs(30);

const CONF: &str = "\
authInternalUsers:
- user: myuser
  pass: mypass
  ips: []
  permissions:
  - action: publish
  - action: read
paths:
  all_others:
";

/// ffprobe's exit status and stderr.
async fn probe(url: &str) -> (bool, String) {
    let child = Command::new("ffprobe")
        .args(["-v", "error", "-rtsp_transport", "tcp"])
        .args(["-show_entries", "stream=codec_name", "-of", "compact"])
        .arg(url)
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
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn wrong_and_right_credentials(method: AuthMethod) {
    if !require_tools(&["ffmpeg", "ffprobe"]) {
        return;
    }
    server_support::init_logs();
    let settings = RtspSettings {
        auth_methods: vec![method],
        auth_pause: Duration::from_millis(10),
        ..RtspSettings::loopback()
    };
    let (server, paths) = server_with(CONF, settings).await;
    let addr = server.local_addrs().rtsp;
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
        .args(["-f", "rtsp", "-rtsp_transport", "tcp"])
        .arg(format!("rtsp://myuser:mypass@{addr}/test"))
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
    assert!(ready, "ffmpeg did not publish with credentials");

    let (ok, text) = probe(&format!("rtsp://myuser:wrong@{addr}/test")).await;
    assert!(!ok, "wrong password accepted: {text}");
    assert!(text.contains("401"), "{text}");
    let (ok, text) = probe(&format!("rtsp://{addr}/test")).await;
    assert!(!ok, "no credentials accepted: {text}");
    let (ok, text) = probe(&format!("rtsp://myuser:mypass@{addr}/test")).await;
    assert!(ok, "right credentials refused: {text}");
    assert!(text.contains("codec_name=h264"), "{text}");
    let _ = ffmpeg.kill().await;
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffprobe_basic_credentials() {
    wrong_and_right_credentials(AuthMethod::Basic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffprobe_digest_credentials() {
    wrong_and_right_credentials(AuthMethod::DigestMd5).await;
}
