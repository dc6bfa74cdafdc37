//! Interop with libsrt 1.5 through ffmpeg and srt-live-transmit, over 127.0.0.1, driven by
//! a minimal tokio UDP driver written here (the shape the real driver will have).
//!
//! A missing tool skips the test with a message, unless CI=true: then it fails.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ferromtx_srt::{
    CallerConfig, CloseReason, Connection, Event, Listener, ListenerConfig, ListenerEvent,
    RejectReason, destination_socket_id,
};
use tokio::net::UdpSocket;
use tokio::process::{Child, Command};

/// The tools eat CPU; one interop test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn tool(name: &str) -> bool {
    let found = std::process::Command::new(name)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is required in CI"
        );
        eprintln!("skipping: {name} not installed");
    }
    found
}

fn seed() -> [u8; 32] {
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

#[derive(Debug, Default)]
struct Outcome {
    stream_id: Option<String>,
    data: Vec<u8>,
    /// Packets given up on between payloads.
    lost: u32,
    closed: Option<CloseReason>,
    rejected: Vec<RejectReason>,
}

/// Serves callers on `sock` until a connection closes or `limit` passes. With `feed`, the
/// first connection is a reader: it gets the chunks one every 2 ms, then is closed.
async fn serve(
    sock: UdpSocket,
    passphrase: Option<&str>,
    mut feed: std::collections::VecDeque<Vec<u8>>,
    limit: Duration,
) -> Outcome {
    let start = Instant::now();
    let feeding = !feed.is_empty();
    let mut next_chunk = start;
    let mut fed_at = None;
    let mut out = Outcome::default();
    let mut listener = Listener::new(start, ListenerConfig::default(), seed());
    let mut conns: HashMap<(SocketAddr, u32), Connection> = HashMap::new();
    let mut buf = vec![0u8; 65536];
    let mut rejected_at = None;
    loop {
        let now = Instant::now();
        if !out.rejected.is_empty() {
            rejected_at.get_or_insert(now);
        }
        while let Some(e) = listener.poll_event() {
            match e {
                ListenerEvent::Request(r) => match listener.accept(now, r.id, passphrase) {
                    Ok(c) => {
                        conns.insert((r.peer, c.local_socket_id()), c);
                    }
                    Err(e) => {
                        out.rejected.push(e.reject_reason());
                        listener.reject(now, r.id, e.reject_reason());
                    }
                },
                ListenerEvent::Rejected { reason, .. } => out.rejected.push(reason),
            }
        }
        while let Some(t) = listener.poll_transmit() {
            sock.send_to(&t.payload, t.destination).await.unwrap();
        }
        for ((peer, _), c) in conns.iter_mut() {
            if feeding && c.is_connected() && now >= next_chunk {
                match feed.pop_front() {
                    Some(chunk) => {
                        c.send(now, &chunk).unwrap();
                        next_chunk = now + Duration::from_millis(2);
                    }
                    None => {
                        // Give the reader time for its last retransmissions, then close.
                        let done = *fed_at.get_or_insert(now);
                        if now.duration_since(done) > Duration::from_millis(1500) {
                            c.close(now);
                        }
                    }
                }
            }
            while let Some(d) = c.poll_transmit() {
                sock.send_to(&d, *peer).await.unwrap();
            }
            while let Some(e) = c.poll_event() {
                match e {
                    Event::Connected { stream_id } => out.stream_id = Some(stream_id),
                    Event::Data(b) => out.data.extend_from_slice(&b),
                    Event::Gap(n) => out.lost += n,
                    Event::Closed(r) => out.closed = Some(r),
                }
            }
        }
        // After a rejection, wait a little for retries, then stop.
        let settled = rejected_at.is_some_and(|t| t.elapsed() > Duration::from_secs(1));
        if out.closed.is_some() || settled || start.elapsed() > limit {
            return out;
        }
        let deadline = conns
            .values()
            .filter_map(Connection::poll_timeout)
            .min()
            .unwrap_or(now + Duration::from_millis(100))
            .min(now + Duration::from_millis(if feeding { 2 } else { 100 }))
            .min(start + limit);
        tokio::select! {
            r = sock.recv_from(&mut buf) => {
                let (n, from) = r.unwrap();
                let d = &buf[..n];
                let now = Instant::now();
                match destination_socket_id(d) {
                    Some(0) => listener.handle_datagram(now, from, d),
                    Some(id) => if let Some(c) = conns.get_mut(&(from, id)) {
                        c.handle_datagram(now, d);
                    },
                    None => {}
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                let now = Instant::now();
                for c in conns.values_mut() {
                    c.handle_timeout(now);
                }
            }
        }
    }
}

/// Calls `target` (retrying while it is not up yet) and reads until closed or `limit`.
async fn call(target: SocketAddr, config: CallerConfig, limit: Duration) -> Outcome {
    let start = Instant::now();
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut out = Outcome::default();
    let mut buf = vec![0u8; 65536];
    let mut conn = Connection::connect(start, target, config.clone(), seed()).unwrap();
    let mut last_data = start;
    loop {
        while let Some(d) = conn.poll_transmit() {
            // The listener may not be up yet: ignore "connection refused".
            let _ = sock.send_to(&d, target).await;
        }
        while let Some(e) = conn.poll_event() {
            match e {
                Event::Connected { stream_id } => out.stream_id = Some(stream_id),
                Event::Data(b) => {
                    out.data.extend_from_slice(&b);
                    last_data = Instant::now();
                }
                Event::Gap(n) => out.lost += n,
                Event::Closed(CloseReason::ConnectTimeout) if out.stream_id.is_none() => {
                    conn = Connection::connect(Instant::now(), target, config.clone(), seed())
                        .unwrap();
                }
                Event::Closed(r) => out.closed = Some(r),
            }
        }
        // Some sources stop sending without closing: two quiet seconds end the read.
        let quiet = !out.data.is_empty() && last_data.elapsed() > Duration::from_secs(2);
        if out.closed.is_some() || quiet || start.elapsed() > limit {
            return out;
        }
        let deadline = conn
            .poll_timeout()
            .unwrap_or(Instant::now() + Duration::from_millis(100))
            .min(start + limit);
        tokio::select! {
            r = sock.recv_from(&mut buf) => {
                if let Ok((n, from)) = r && from == target {
                    conn.handle_datagram(Instant::now(), &buf[..n]);
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => conn.handle_timeout(Instant::now()),
        }
    }
}

/// Checks MPEG-TS framing and per-PID continuity counters (so: nothing lost, nothing
/// reordered); returns the number of TS packets.
fn check_ts(data: &[u8]) -> usize {
    assert_eq!(data.len() % 188, 0, "whole TS packets");
    let mut cc: HashMap<u16, u8> = HashMap::new();
    for (i, p) in data.chunks(188).enumerate() {
        assert_eq!(p[0], 0x47, "sync byte of TS packet {i}");
        let pid = u16::from_be_bytes([p[1] & 0x1F, p[2]]);
        let has_payload = p[3] & 0x10 != 0;
        let counter = p[3] & 0x0F;
        if has_payload && pid != 0x1FFF {
            if let Some(prev) = cc.get(&pid) {
                assert_eq!(counter, (prev + 1) & 0x0F, "continuity of PID {pid} at {i}");
            }
            cc.insert(pid, counter);
        }
    }
    data.len() / 188
}

fn ffmpeg_source(seconds: u32) -> Command {
    let mut c = Command::new("ffmpeg");
    c.args([
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
    ])
    .arg("testsrc=size=320x240:rate=25")
    .args([
        "-t",
        &seconds.to_string(),
        "-c:v",
        "mpeg2video",
        "-b:v",
        "400k",
    ])
    .args(["-f", "mpegts"])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .kill_on_drop(true);
    c
}

fn publish(port: u16, query: &str) -> Child {
    let mut c = ffmpeg_source(3);
    c.arg(format!(
        "srt://127.0.0.1:{port}?streamid=publish:test{query}"
    ));
    c.spawn().unwrap()
}

async fn listen_once(passphrase: Option<&str>, query: &str) -> (Outcome, bool) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let mut child = publish(port, query);
    let out = serve(
        sock,
        passphrase,
        Default::default(),
        Duration::from_secs(15),
    )
    .await;
    let ok = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .map(|s| s.map(|s| s.success()).unwrap_or(false))
        .unwrap_or(false);
    (out, ok)
}

#[tokio::test]
async fn listener_receives_ffmpeg_publisher() {
    if !tool("ffmpeg") {
        return;
    }
    let _g = SERIAL.lock().await;
    let (out, ffmpeg_ok) = listen_once(None, "").await;
    assert!(ffmpeg_ok);
    assert_eq!(out.stream_id.as_deref(), Some("publish:test"));
    assert_eq!(out.closed, Some(CloseReason::Shutdown));
    assert!(check_ts(&out.data) > 300, "{} bytes", out.data.len());
    assert_eq!(out.lost, 0);
}

#[tokio::test]
async fn listener_receives_encrypted_ffmpeg_publisher() {
    if !tool("ffmpeg") {
        return;
    }
    let _g = SERIAL.lock().await;
    for key_len in [16, 32] {
        let query = format!("&passphrase=interop-secret-1&pbkeylen={key_len}");
        let (out, ffmpeg_ok) = listen_once(Some("interop-secret-1"), &query).await;
        assert!(ffmpeg_ok, "pbkeylen={key_len}");
        assert_eq!(out.closed, Some(CloseReason::Shutdown));
        assert!(check_ts(&out.data) > 300);
    }
}

#[tokio::test]
async fn listener_refuses_wrong_or_missing_passphrase() {
    if !tool("ffmpeg") {
        return;
    }
    let _g = SERIAL.lock().await;
    let (out, ffmpeg_ok) =
        listen_once(Some("interop-secret-1"), "&passphrase=not-the-secret").await;
    assert!(!ffmpeg_ok);
    assert_eq!(out.rejected, vec![RejectReason::BadSecret]);
    assert!(out.data.is_empty());
    let (out, ffmpeg_ok) = listen_once(Some("interop-secret-1"), "").await;
    assert!(!ffmpeg_ok);
    assert_eq!(out.rejected, vec![RejectReason::Unsecure]);
    let (out, ffmpeg_ok) = listen_once(None, "&passphrase=interop-secret-1").await;
    assert!(!ffmpeg_ok);
    assert_eq!(out.rejected, vec![RejectReason::Unsecure]);
    // A file-transfer caller is refused cleanly.
    let (out, ffmpeg_ok) = listen_once(None, "&transtype=file").await;
    assert!(!ffmpeg_ok);
    assert_eq!(out.rejected.len(), 1);
    assert!(out.data.is_empty());
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn caller_reads_from_ffmpeg_listener() {
    if !tool("ffmpeg") {
        return;
    }
    let _g = SERIAL.lock().await;
    let port = free_udp_port();
    let mut c = ffmpeg_source(3);
    c.arg(format!("srt://127.0.0.1:{port}?mode=listener"));
    let _child = c.spawn().unwrap();
    let config = CallerConfig {
        stream_id: Some("read:test".into()),
        ..CallerConfig::default()
    };
    let target: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let out = call(target, config, Duration::from_secs(15)).await;
    assert!(out.stream_id.is_some(), "connected");
    assert_eq!(out.closed, Some(CloseReason::Shutdown));
    assert!(check_ts(&out.data) > 300);
}

#[tokio::test]
async fn caller_reads_encrypted_from_srt_live_transmit() {
    if !tool("ffmpeg") || !tool("srt-live-transmit") {
        return;
    }
    let _g = SERIAL.lock().await;
    let port = free_udp_port();
    let mut source = ffmpeg_source(3);
    source.arg("-").stdout(Stdio::piped());
    let mut source = source.spawn().unwrap();
    let pipe: Stdio = source.stdout.take().unwrap().try_into().unwrap();
    let _slt = Command::new("srt-live-transmit")
        .args(["-q", "file://con"])
        .arg(format!(
            "srt://:{port}?mode=listener&passphrase=interop-secret-2&pbkeylen=24"
        ))
        .stdin(pipe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let config = CallerConfig {
        passphrase: Some("interop-secret-2".into()),
        key_len: 24,
        ..CallerConfig::default()
    };
    let target: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let out = call(target, config, Duration::from_secs(15)).await;
    assert!(out.stream_id.is_some(), "connected");
    // srt-live-transmit reads its pipe in arbitrary chunks and drops what it reads before
    // a caller connects, so the stream may start and stop mid-packet: resynchronise.
    let start = (0..out.data.len().saturating_sub(376))
        .find(|&i| (0..3).all(|k| out.data[i + 188 * k] == 0x47))
        .expect("TS sync");
    let whole = start + (out.data.len() - start) / 188 * 188;
    assert!(
        check_ts(&out.data[start..whole]) > 300,
        "{} bytes",
        out.data.len()
    );
}

/// A TS file made by ffmpeg, in 1316-byte chunks.
async fn ts_chunks(name: &str) -> Vec<Vec<u8>> {
    let path = std::env::temp_dir().join(format!("ferromtx-srt-{}-{name}.ts", std::process::id()));
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc=size=320x240:rate=25")
        .args([
            "-t",
            "2",
            "-c:v",
            "mpeg2video",
            "-b:v",
            "400k",
            "-f",
            "mpegts",
        ])
        .arg(&path)
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    bytes.chunks(1316).map(<[u8]>::to_vec).collect()
}

async fn serve_reader(query: &str, passphrase: Option<&str>, name: &str) {
    let chunks = ts_chunks(name).await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let mut reader = Command::new("srt-live-transmit")
        .args(["-q", "-a:no"])
        .arg(format!("srt://127.0.0.1:{port}?streamid=read:test{query}"))
        .arg("file://con")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = reader.stdout.take().unwrap();
    let collect = tokio::spawn(async move {
        let mut got = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stdout, &mut got).await;
        got
    });
    let out = serve(
        sock,
        passphrase,
        chunks.clone().into(),
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(out.stream_id.as_deref(), Some("read:test"));
    assert_eq!(out.closed, Some(CloseReason::Local));
    let _ = tokio::time::timeout(Duration::from_secs(5), reader.wait()).await;
    let _ = reader.kill().await;
    let got = tokio::time::timeout(Duration::from_secs(5), collect)
        .await
        .unwrap()
        .unwrap();
    // Byte for byte what was sent, in order.
    assert_eq!(got.len(), chunks.iter().map(Vec::len).sum::<usize>());
    assert!(got == chunks.concat());
}

#[tokio::test]
async fn listener_serves_a_libsrt_reader() {
    if !tool("ffmpeg") || !tool("srt-live-transmit") {
        return;
    }
    let _g = SERIAL.lock().await;
    serve_reader("", None, "plain").await;
    serve_reader(
        "&passphrase=interop-secret-3&pbkeylen=32",
        Some("interop-secret-3"),
        "aes256",
    )
    .await;
}
