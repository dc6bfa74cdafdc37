//! Runs the real `ferromtx` binary for end-to-end tests: a temporary working directory,
//! a config file, captured output lines, signals. Every wait is bounded.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ferromtx_testkit::ffmpeg::{self, Audio};

#[allow(unused_imports)]
pub use ferromtx_testkit::{Process as Server, body, free_udp_pair, tool};

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    ferromtx_testkit::free_tcp_port()
}

/// A config that opens nothing unless asked: every protocol off, given extra lines appended.
pub fn quiet_config(extra: &str) -> String {
    format!("rtsp: no\nrtmp: no\nhls: no\nwebrtc: no\nsrt: no\nmoq: no\n{extra}\n")
}

/// Starts this build's binary in a fresh temp dir. `conf`: contents of `mediamtx.yml`
/// written there (None: no file). `args`: command line. `env`: extra environment.
///
/// A listener on by default whose address neither `env` nor `conf` sets is moved to a free
/// loopback port, so that tests running side by side never race for MediaMTX's fixed ports.
pub fn start(conf: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Server {
    const MOVED: [(&str, &str, bool); 6] = [
        ("MTX_RTMPADDRESS", "rtmpAddress", true),
        ("MTX_RTMPSADDRESS", "rtmpsAddress", true),
        ("MTX_HLSADDRESS", "hlsAddress", true),
        ("MTX_WEBRTCADDRESS", "webrtcAddress", true),
        ("MTX_WEBRTCLOCALUDPADDRESS", "webrtcLocalUDPAddress", false),
        ("MTX_SRTADDRESS", "srtAddress", false),
    ];
    let mut env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (var, key, tcp) in MOVED {
        let in_conf = conf.is_some_and(|c| c.contains(&format!("{key}:")));
        if in_conf || env.iter().any(|(k, _)| k == var) {
            continue;
        }
        let port = if tcp {
            free_port()
        } else {
            ferromtx_testkit::free_udp_port()
        };
        env.push((var.into(), format!("127.0.0.1:{port}")));
    }
    Server::server(
        Path::new(env!("CARGO_BIN_EXE_ferromtx")),
        conf,
        args,
        &env_refs(&env),
    )
}

pub fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents).expect("write file");
}

/// A minimal HTTP/1.0 client for tests: returns (status, headers, body).
pub fn http(method: &str, port: u16, path: &str, body: Option<&str>) -> (u16, String, Vec<u8>) {
    http_with(method, port, path, "application/json", body)
}

/// [`http`] with a given Content-Type.
pub fn http_with(
    method: &str,
    port: u16,
    path: &str,
    content_type: &str,
    body: Option<&str>,
) -> (u16, String, Vec<u8>) {
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(port, &req)
}

/// Sends `request` on a fresh connection and reads the answer to its end (every read
/// fails after 60 s): status, head, body.
fn exchange(port: u16, request: &str) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    (status, head, raw[split + 4..].to_vec())
}

/// One HTTP/1.1 exchange on a fresh connection (closed after it), chunked bodies joined:
/// status, head, body. Every read fails after 60 s.
pub fn http11(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, Vec<u8>) {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let (status, head, mut body) = exchange(port, &req);
    if header(&head, "Transfer-Encoding").is_some_and(|v| v.contains("chunked")) {
        body = dechunk(&body);
    }
    (status, head, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(std::str::from_utf8(&b[..i]).unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if n == 0 || b.len() < i + 2 + n {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[(i + 4 + n).min(b.len())..];
    }
    out
}

/// The value of header `name` (any case) in a response head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

pub fn get_json(port: u16, path: &str) -> serde_json::Value {
    let (status, head, body) = http("GET", port, path, None);
    assert_eq!(status, 200, "{head}\n{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON body")
}

/// Environment that moves the default RTSP listeners to free loopback ports; returns the
/// variables and the (rtsp, rtp, rtcp) ports.
pub fn rtsp_env() -> (Vec<(String, String)>, (u16, u16, u16)) {
    let rtsp = free_port();
    let (rtp, rtcp) = free_udp_pair();
    (
        vec![
            ("MTX_RTSPADDRESS".into(), format!("127.0.0.1:{rtsp}")),
            ("MTX_RTPADDRESS".into(), format!("127.0.0.1:{rtp}")),
            ("MTX_RTCPADDRESS".into(), format!("127.0.0.1:{rtcp}")),
        ],
        (rtsp, rtp, rtcp),
    )
}

/// Moves the default RTMP and RTMPS listeners to free loopback ports; returns the
/// variables and the (rtmp, rtmps) ports.
pub fn rtmp_env() -> (Vec<(String, String)>, (u16, u16)) {
    let (rtmp, rtmps) = (free_port(), free_port());
    (
        vec![
            ("MTX_RTMPADDRESS".into(), format!("127.0.0.1:{rtmp}")),
            ("MTX_RTMPSADDRESS".into(), format!("127.0.0.1:{rtmps}")),
        ],
        (rtmp, rtmps),
    )
}

/// Moves the default WebRTC listeners (HTTP, ICE/UDP) to free loopback ports.
pub fn webrtc_env() -> (Vec<(String, String)>, (u16, u16)) {
    let http = free_port();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("udp port")
        .port();
    (
        vec![
            ("MTX_WEBRTCADDRESS".into(), format!("127.0.0.1:{http}")),
            (
                "MTX_WEBRTCLOCALUDPADDRESS".into(),
                format!("127.0.0.1:{udp}"),
            ),
        ],
        (http, udp),
    )
}

/// Moves the default SRT listener (UDP :8890) to a free loopback port.
pub fn srt_env() -> (Vec<(String, String)>, u16) {
    let port = ferromtx_testkit::free_udp_port();
    (
        vec![("MTX_SRTADDRESS".into(), format!("127.0.0.1:{port}"))],
        port,
    )
}

/// Turns the playback server on at a free loopback port (it is off by default).
pub fn playback_env() -> (Vec<(String, String)>, u16) {
    let port = free_port();
    (
        vec![
            ("MTX_PLAYBACK".into(), "yes".into()),
            ("MTX_PLAYBACKADDRESS".into(), format!("127.0.0.1:{port}")),
        ],
        port,
    )
}

/// Moves the default HLS listener (:8888) to a free loopback port.
pub fn hls_env() -> (Vec<(String, String)>, u16) {
    let http = free_port();
    (
        vec![("MTX_HLSADDRESS".into(), format!("127.0.0.1:{http}"))],
        http,
    )
}

/// `(name, value)` pairs as `&str` tuples for [`Server::start`].
pub fn env_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// ffmpeg publishing a synthetic 320x240 H264 stream (plus Opus when `audio`) over
/// RTSP/TCP for `seconds`, paced in real time. The caller kills it when done.
pub fn ffmpeg_publish(ffmpeg: &Path, url: &str, audio: bool, seconds: u32) -> Child {
    let audio = if audio { Audio::Opus } else { Audio::None };
    let mut cmd = ffmpeg::synthetic(ffmpeg, audio, seconds);
    cmd.args(["-f", "rtsp", "-rtsp_transport", "tcp", url]);
    cmd.spawn().expect("spawn ffmpeg")
}

/// `codec_name,width,height` lines of the streams ffprobe finds at an RTSP `url`.
pub fn ffprobe_streams(ffprobe: &Path, url: &str, transport: &str) -> String {
    ffmpeg::ffprobe_rtsp_streams(ffprobe, url, transport)
}

/// `node` and the directory of the headless-Chromium scripts (`tests/browser`, with
/// playwright-core installed by scripts/test). Missing: a failure under CI=true, else None.
pub fn browser_scripts() -> Option<(PathBuf, PathBuf)> {
    let node = tool("node")?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    for needed in [dir.join("node_modules/playwright-core"), chromium] {
        if !needed.exists() {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "{} is required in CI (scripts/test installs it)",
                needed.display()
            );
            eprintln!("skipping: {} not found", needed.display());
            return None;
        }
    }
    Some((node, dir))
}

/// Runs `script` of [`browser_scripts`] with a JSON argument; returns the JSON of its last
/// output line. Panics with its output when it fails.
pub fn run_browser_script(
    node: &Path,
    dir: &Path,
    script: &str,
    arg: &serde_json::Value,
) -> serde_json::Value {
    let out = Command::new(node)
        .arg(dir.join(script))
        .arg(arg.to_string())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{script} printed {stdout:?}: {e}"))
}

/// The short commit of the checkout the tests run from (what the build script embeds), or
/// None when they do not run from a git checkout. Git missing under CI=true is a failure.
pub fn checkout_commit() -> Option<String> {
    tool("git")?;
    let out = Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short=7",
            "HEAD",
        ])
        .stderr(Stdio::null())
        .output()
        .expect("run git");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// What `ferromtx --version` prints after the program name, checked against the build:
/// `v0.1.0 (commit <checkout's HEAD>, <target>)`.
pub fn version_line() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferromtx"))
        .arg("--version")
        .output()
        .expect("run");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("ferromtx "))
        .unwrap_or_else(|| panic!("{stdout:?}"));
    let (version, rest) = line.split_once(" (commit ").expect("commit");
    assert_eq!(version, format!("v{}", env!("CARGO_PKG_VERSION")));
    let (commit, target) = rest
        .strip_suffix(')')
        .and_then(|r| r.split_once(", "))
        .unwrap_or_else(|| panic!("{line:?}"));
    match checkout_commit() {
        Some(head) => assert_eq!(commit, head, "the commit of the checkout built from"),
        None => assert!(!commit.is_empty()),
    }
    let arch = std::env::consts::ARCH;
    assert!(target.starts_with(arch), "{target} is not a {arch} triple");
    assert!(target.contains("-linux"), "{target}");
    line.to_string()
}

/// A child process killed and reaped when dropped (also when the test panics).
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
