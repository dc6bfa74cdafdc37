//! Runs the real `ferromtx` binary for end-to-end tests: a temporary working directory,
//! a config file, captured output lines, signals. Every wait is bounded.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Server {
    pub child: Child,
    pub dir: tempfile::TempDir,
    lines: Receiver<String>,
    pub seen: Vec<String>,
    /// Bound of every wait for a line or the exit.
    pub wait: Duration,
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// A config that opens nothing unless asked: every protocol off, given extra lines appended.
pub fn quiet_config(extra: &str) -> String {
    format!("rtsp: no\nrtmp: no\nhls: no\nwebrtc: no\nsrt: no\nmoq: no\n{extra}\n")
}

impl Server {
    /// Starts the binary in a fresh temp dir. `conf`: contents of `mediamtx.yml` written
    /// there (None: no file). `args`: command line. `env`: extra environment.
    pub fn start(conf: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferromtx"));
        cmd.args(args);
        Server::spawn(cmd, dir, conf, env)
    }

    /// Runs `cmd` in `dir` (where `conf`, if any, is written as `mediamtx.yml`), with the
    /// caller's `MTX_*` variables removed and `env` added; its output lines are collected.
    pub fn spawn(
        mut cmd: Command,
        dir: tempfile::TempDir,
        conf: Option<&str>,
        env: &[(&str, &str)],
    ) -> Server {
        if let Some(c) = conf {
            std::fs::write(dir.path().join("mediamtx.yml"), c).expect("write conf");
        }
        cmd.current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.starts_with("MTX_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn the command");
        let (tx, lines) = channel();
        for out in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Server {
            child,
            dir,
            lines,
            seen: Vec::new(),
            wait: WAIT,
        }
    }

    pub fn conf_path(&self) -> PathBuf {
        self.dir.path().join("mediamtx.yml")
    }

    /// Waits for a line containing `needle`; returns it. Panics with everything seen on
    /// timeout or when the process ends first.
    pub fn wait_line(&mut self, needle: &str) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + self.wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line containing {needle:?} within {:?}; seen: {:#?}",
                        self.wait, self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "process output ended before {needle:?}; seen: {:#?}",
                        self.seen
                    )
                }
            }
        }
    }

    /// Waits until `n` lines containing `needle` have been seen.
    pub fn wait_count(&mut self, needle: &str, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.count(needle) < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!(
                    "fewer than {n} lines containing {needle:?}; seen: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// Collects output lines until the process exits; returns its status.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            while let Ok(l) = self.lines.try_recv() {
                self.seen.push(l);
            }
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                // Drain what the reader threads still hold.
                while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(l);
                }
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "process did not exit; seen: {:#?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, sig: i32) {
        ferromtx_net::sys::signal(self.child.id(), sig).expect("kill");
    }

    /// Lines seen so far that contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.seen.iter().filter(|l| l.contains(needle)).count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Strips and checks the `YYYY/MM/DD HH:MM:SS ` prefix of a plain log line.
pub fn body(line: &str) -> &str {
    assert!(line.len() > 20, "short line {line:?}");
    let (ts, rest) = line.split_at(20);
    let ok = ts.bytes().enumerate().all(|(i, c)| match i {
        4 | 7 => c == b'/',
        10 | 19 => c == b' ',
        13 | 16 => c == b':',
        _ => c.is_ascii_digit(),
    });
    assert!(ok, "bad timestamp in {line:?}");
    rest
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
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send");
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

pub fn get_json(port: u16, path: &str) -> serde_json::Value {
    let (status, head, body) = http("GET", port, path, None);
    assert_eq!(status, 200, "{head}\n{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON body")
}

/// Two consecutive free UDP ports on 127.0.0.1, the first even (RTP/RTCP).
pub fn free_udp_pair() -> (u16, u16) {
    for _ in 0..100 {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let p = a.local_addr().expect("addr").port();
        if p.is_multiple_of(2)
            && p < u16::MAX
            && std::net::UdpSocket::bind(("127.0.0.1", p + 1)).is_ok()
        {
            return (p, p + 1);
        }
    }
    panic!("no free even/odd UDP port pair found");
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

/// `(name, value)` pairs as `&str` tuples for [`Server::start`].
pub fn env_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Path of a tool on PATH. Missing: a failure under CI=true, else None (the caller skips).
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{name} is required in CI (scripts/test installs it)"
        );
        eprintln!("skipping: {name} not found on PATH");
    }
    found
}

/// ffmpeg publishing a synthetic 320x240 H264 stream (4:2:0, no B-frames, a keyframe a
/// second; plus Opus when `audio`) over RTSP/TCP
/// for `seconds`, paced in real time. The caller kills it when done.
pub fn ffmpeg_publish(ffmpeg: &Path, url: &str, audio: bool, seconds: u32) -> Child {
    let mut cmd = Command::new(ffmpeg);
    cmd.args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"]);
    if audio {
        cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
            .args(["-c:a", "libopus"]);
    }
    cmd.args([
        "-pix_fmt",
        "yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
    ])
    .args(["-g", "25", "-bf", "0", "-t", &seconds.to_string()])
    .args(["-f", "rtsp", "-rtsp_transport", "tcp", url])
    .stdin(Stdio::null())
    .spawn()
    .expect("spawn ffmpeg")
}

/// `codec_name,width,height` lines of the streams ffprobe finds at `url`.
pub fn ffprobe_streams(ffprobe: &Path, url: &str, transport: &str) -> String {
    let out = Command::new(ffprobe)
        .args(["-v", "error", "-rtsp_transport", transport])
        .args([
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(url)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {url} over {transport}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
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
