//! `rtspTrustedProxies` and `rtmpTrustedProxies`: clients behind a proxy that speaks the
//! PROXY protocol (versions 1 and 2) are seen, logged and authenticated with the address in
//! its header; HAProxy's `send-proxy-v2` in front of the RTSP server works unchanged.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{KillOnDrop, env_refs, free_port, get_json, rtmp_env, rtsp_env, start, tool};
use ferromtx_testkit::ffmpeg::{self, Audio};

/// What a forwarder writes before the client's bytes.
#[derive(Clone, Copy)]
enum Header {
    V1(SocketAddr),
    V2(SocketAddr),
    Garbage,
}

impl Header {
    fn bytes(self, server: SocketAddr) -> Vec<u8> {
        match self {
            Header::V1(src) => format!(
                "PROXY TCP4 {} {} {} {}\r\n",
                src.ip(),
                server.ip(),
                src.port(),
                server.port()
            )
            .into_bytes(),
            Header::V2(src) => {
                let (SocketAddr::V4(src), SocketAddr::V4(dst)) = (src, server) else {
                    panic!("IPv4 only");
                };
                let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
                h.extend_from_slice(&[0x21, 0x11, 0, 12]);
                h.extend_from_slice(&src.ip().octets());
                h.extend_from_slice(&dst.ip().octets());
                h.extend_from_slice(&src.port().to_be_bytes());
                h.extend_from_slice(&dst.port().to_be_bytes());
                h
            }
            Header::Garbage => b"\r\n\r\n\0\r\nQUIT\n\x99\x11\0\x0c".to_vec(),
        }
    }
}

/// A TCP proxy on a free loopback port that sends `header` to `server`, then relays both
/// ways; it stops accepting when dropped.
struct Forwarder {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Forwarder {
    fn start(server: SocketAddr, header: Header) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind forwarder");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            // Bounded: the test ends within minutes; the forwarder with it.
            let deadline = Instant::now() + Duration::from_secs(300);
            while !stopped.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((client, _)) => relay(client, server, header),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Forwarder { port, stop }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn relay(client: TcpStream, server: SocketAddr, header: Header) {
    client.set_nonblocking(false).expect("blocking");
    let Ok(mut upstream) = TcpStream::connect(server) else {
        return;
    };
    if upstream.write_all(&header.bytes(server)).is_err() {
        return;
    }
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
    };
    pipe(
        client.try_clone().expect("clone"),
        upstream.try_clone().expect("clone"),
    );
    pipe(upstream, client);
}

/// ffprobe over RTSP/TCP: `codec_name,width,height` lines, or its error output.
fn probe(ffprobe: &Path, url: &str) -> Result<String, String> {
    let out = Command::new(ffprobe)
        .args([
            "-v",
            "error",
            "-rtsp_transport",
            "tcp",
            "-timeout",
            "10000000",
        ])
        .args(["-show_entries", "stream=codec_name,width,height"])
        .args(["-of", "csv=p=0", url])
        .stdin(Stdio::null())
        .output()
        .expect("run ffprobe");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Readers and publishers are allowed from 192.0.2.0/24 only; the API from loopback.
const AUTH: &str = "authInternalUsers:
- user: any
  ips: [192.0.2.0/24]
  permissions:
  - action: publish
  - action: read
- user: any
  ips: [127.0.0.1]
  permissions:
  - action: api
paths:
  all_others:
";

#[test]
fn clients_behind_a_proxy_are_known_by_the_address_in_its_header() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (renv, (rtmp, _)) = rtmp_env();
    env.extend(renv);
    let api = free_port();
    let conf = format!(
        "rtspTransports: [tcp]\nrtspTrustedProxies: [127.0.0.1]\n\
         rtmpTrustedProxies: [127.0.0.0/8]\napi: yes\napiAddress: 127.0.0.1:{api}\n\
         hls: no\nwebrtc: no\nsrt: no\nmoq: no\n{AUTH}"
    );
    let mut s = start(Some(&conf), &[], &env_refs(&env));
    s.wait_line("[RTMP] started with listener");
    s.wait_line("[RTSP] started with listener");
    let rtsp_addr: SocketAddr = ([127, 0, 0, 1], rtsp).into();
    let rtmp_addr: SocketAddr = ([127, 0, 0, 1], rtmp).into();

    // ffmpeg publishes over RTMP through a proxy that sends a version 2 header.
    let publisher_addr: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let rtmp_proxy = Forwarder::start(rtmp_addr, Header::V2(publisher_addr));
    let mut cmd = ffmpeg::synthetic(&ffmpeg, Audio::None, 60);
    cmd.args([
        "-f",
        "flv",
        &format!("rtmp://127.0.0.1:{}/cam", rtmp_proxy.port),
    ]);
    let _publisher = KillOnDrop(cmd.spawn().expect("spawn ffmpeg"));
    s.wait_line("[RTMP] [conn 192.0.2.7:40000] opened");
    s.wait_line("[RTMP] [conn 192.0.2.7:40000] is publishing to path 'cam'");
    let conns = wait_for("the RTMP connection in the API", || {
        let v = get_json(api, "/v3/rtmpconns/list");
        (v["itemCount"] == 1).then_some(v)
    });
    assert_eq!(
        conns["items"][0]["remoteAddr"], "192.0.2.7:40000",
        "{conns}"
    );
    assert_eq!(conns["items"][0]["state"], "publish", "{conns}");

    // ffprobe reads over RTSP through a proxy that sends a version 1 line.
    let reader_proxy = Forwarder::start(rtsp_addr, Header::V1("192.0.2.8:40001".parse().unwrap()));
    let streams = probe(
        &ffprobe,
        &format!("rtsp://127.0.0.1:{}/cam", reader_proxy.port),
    )
    .expect("ffprobe through the proxy");
    assert!(streams.lines().any(|l| l == "h264,320,240"), "{streams}");
    s.wait_line("[RTSP] [conn 192.0.2.8:40001] opened");

    // The same reader without the proxy comes from 127.0.0.1, which may not read...
    let err = probe(&ffprobe, &format!("rtsp://127.0.0.1:{rtsp}/cam")).unwrap_err();
    assert!(err.contains("401"), "{err}");
    // ...and neither may a client the proxy says is outside 192.0.2.0/24.
    let outsider = Forwarder::start(rtsp_addr, Header::V1("203.0.113.5:40002".parse().unwrap()));
    let err = probe(&ffprobe, &format!("rtsp://127.0.0.1:{}/cam", outsider.port)).unwrap_err();
    assert!(err.contains("401"), "{err}");
    s.wait_line("[RTSP] [conn 203.0.113.5:40002] opened");

    // A broken header closes that connection, with a log line, and nothing else.
    let broken = Forwarder::start(rtsp_addr, Header::Garbage);
    assert!(probe(&ffprobe, &format!("rtsp://127.0.0.1:{}/cam", broken.port)).is_err());
    let line = s.wait_line("invalid PROXY protocol header");
    assert!(line.contains("[RTSP] [conn 127.0.0.1:"), "{line}");
    let broken = Forwarder::start(rtmp_addr, Header::Garbage);
    let mut c = TcpStream::connect(("127.0.0.1", broken.port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let _ = c.write_all(&[3; 1537]);
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "RTMP answered a connection with a broken header"
    );
    s.wait_count("invalid PROXY protocol header", 2);
    let streams = probe(
        &ffprobe,
        &format!("rtsp://127.0.0.1:{}/cam", reader_proxy.port),
    )
    .expect("ffprobe through the proxy, again");
    assert!(streams.lines().any(|l| l == "h264,320,240"), "{streams}");
    let v = get_json(api, "/v3/rtmpconns/list");
    assert_eq!(v["itemCount"], 1, "{v}");
    assert_eq!(
        s.count("panicked"),
        0,
        "the server panicked on a PROXY header"
    );
}

#[test]
fn rtsp_through_haproxy_with_send_proxy_v2() {
    let (Some(ffmpeg), Some(ffprobe), Some(haproxy)) =
        (tool("ffmpeg"), tool("ffprobe"), tool("haproxy"))
    else {
        return;
    };
    let (env, (rtsp, _, _)) = rtsp_env();
    let api = free_port();
    let conf = format!(
        "rtspTransports: [tcp]\nrtspTrustedProxies: [127.0.0.1]\napi: yes\n\
         apiAddress: 127.0.0.1:{api}\nrtmp: no\nhls: no\nwebrtc: no\nsrt: no\nmoq: no\n\
         paths:\n  all_others:\n"
    );
    let mut s = start(Some(&conf), &[], &env_refs(&env));
    s.wait_line("[RTSP] started with listener");
    let publisher =
        common::ffmpeg_publish(&ffmpeg, &format!("rtsp://127.0.0.1:{rtsp}/cam"), false, 60);
    let _publisher = KillOnDrop(publisher);
    s.wait_line("is publishing to path 'cam'");

    let front = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("haproxy.cfg");
    common::write(
        &cfg,
        &format!(
            "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n\
             frontend rtsp\n  bind 127.0.0.1:{front}\n  default_backend ferromtx\n\
             backend ferromtx\n  server s1 127.0.0.1:{rtsp} send-proxy-v2\n"
        ),
    );
    let child = Command::new(&haproxy)
        .arg("-db")
        .arg("-f")
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn haproxy");
    let _haproxy = KillOnDrop(child);
    wait_for("HAProxy listening", || {
        TcpStream::connect(("127.0.0.1", front)).ok()
    });

    // Without the PROXY protocol the server would read HAProxy's header as a broken RTSP
    // request; with it, ffprobe reads the stream and the server logs the client's port.
    let streams =
        probe(&ffprobe, &format!("rtsp://127.0.0.1:{front}/cam")).expect("ffprobe via HAProxy");
    assert!(streams.lines().any(|l| l == "h264,320,240"), "{streams}");
    assert_eq!(s.count("invalid PROXY protocol header"), 0);
}
