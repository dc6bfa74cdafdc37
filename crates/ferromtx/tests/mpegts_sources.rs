//! The MPEG-TS and RTP sources through the real binary: ffmpeg sends MPEG-TS over UDP
//! (unicast and a multicast group joined on the loopback) and over a Unix socket, and
//! H264 over RTP described by the path's `rtpSDP`; ffprobe reads each path over RTSP. A
//! source that stops sending makes its path not ready after `readTimeout`.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{env_refs, ffprobe_streams, free_port, get_json, rtsp_env, start, tool};
use ferromtx_testkit::ffmpeg::{self, Audio, Publisher};

/// ffmpeg sending the synthetic stream to `url` in `format`.
fn send(ffmpeg: &Path, audio: Audio, format: &str, url: &str, seconds: u32) -> Publisher {
    let mut cmd = ffmpeg::synthetic(ffmpeg, audio, seconds);
    if audio == Audio::None {
        cmd.arg("-an");
    }
    cmd.args(["-f", format, url])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Publisher(cmd.spawn().expect("spawn ffmpeg"))
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn server(paths: &str) -> (common::Server, u16, u16) {
    let (env, (rtsp, _, _)) = rtsp_env();
    let api = free_port();
    let conf = format!(
        "rtmp: no\nhls: no\nwebrtc: no\nsrt: no\nmoq: no\nreadTimeout: 3s\napi: yes\n\
         apiAddress: 127.0.0.1:{api}\npaths:\n{paths}"
    );
    let s = start(Some(&conf), &[], &env_refs(&env));
    (s, rtsp, api)
}

#[test]
fn udp_mpegts_unicast_and_unix_feed_paths_that_play_over_rtsp() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let port = ferromtx_testkit::free_udp_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("in.sock");
    let port2 = ferromtx_testkit::free_udp_port();
    let (mut s, rtsp, api) = server(&format!(
        "  udp:\n    source: udp+mpegts://127.0.0.1:{port}\n  \
         old:\n    source: udp://127.0.0.1:{port2}\n  \
         unix:\n    source: unix+mpegts://{sock}\n",
        sock = sock.display()
    ));
    let mut udp = send(
        &ffmpeg,
        Audio::Aac,
        "mpegts",
        &format!("udp://127.0.0.1:{port}?pkt_size=1316"),
        60,
    );
    let l = s.wait_line("ready: 2 tracks (H264, MPEG-4 Audio)");
    assert!(l.contains("[MPEG-TS source]"), "{l}");
    let path = get_json(api, "/v3/paths/get/udp");
    assert_eq!(path["source"]["type"], "mpegtsSource", "{path}");
    let streams = ffprobe_streams(&ffprobe, &format!("rtsp://127.0.0.1:{rtsp}/udp"), "tcp");
    assert!(streams.contains("h264,320,240"), "{streams}");
    assert!(streams.contains("aac"), "{streams}");

    // The deprecated `udp://` is the same source: it listens on its port.
    wait_until("the udp:// source to listen", || {
        std::net::UdpSocket::bind(("127.0.0.1", port2)).is_err()
    });

    // A Unix socket: the source listens, ffmpeg connects.
    wait_until("the unix socket", || sock.exists());
    let _unix = send(
        &ffmpeg,
        Audio::None,
        "mpegts",
        &format!("unix://{}", sock.display()),
        60,
    );
    wait_until("the unix path to be ready", || {
        get_json(api, "/v3/paths/get/unix")["ready"] == true
    });
    let streams = ffprobe_streams(&ffprobe, &format!("rtsp://127.0.0.1:{rtsp}/unix"), "tcp");
    assert!(streams.contains("h264,320,240"), "{streams}");

    // The sender stops: after readTimeout the path is not ready any more.
    let _ = udp.0.kill();
    let _ = udp.0.wait();
    wait_until("the silent path to be not ready", || {
        get_json(api, "/v3/paths/get/udp")["ready"] == false
    });
    s.wait_line("mpegtsSource: i/o timeout");
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}

#[test]
fn udp_mpegts_multicast_group_on_the_loopback() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let port = ferromtx_testkit::free_udp_port();
    let group = "239.255.43.7";
    let (mut s, rtsp, _) = server(&format!(
        "  mc:\n    source: udp+mpegts://{group}:{port}?interface=lo\n"
    ));
    // Sent through the loopback interface, one hop.
    let _sender = send(
        &ffmpeg,
        Audio::Aac,
        "mpegts",
        &format!("udp://{group}:{port}?localaddr=127.0.0.1&ttl=1&pkt_size=1316"),
        60,
    );
    s.wait_line("ready: 2 tracks (H264, MPEG-4 Audio)");
    let streams = ffprobe_streams(&ffprobe, &format!("rtsp://127.0.0.1:{rtsp}/mc"), "tcp");
    assert!(streams.contains("h264,320,240"), "{streams}");
    assert!(streams.contains("aac"), "{streams}");
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}

#[test]
fn udp_rtp_with_the_paths_sdp() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let port = ferromtx_testkit::free_udp_port();
    let (mut s, rtsp, api) = server(&format!(
        "  rtp:\n    source: udp+rtp://127.0.0.1:{port}\n    rtpSDP: |\n      v=0\n      \
         o=- 0 0 IN IP4 127.0.0.1\n      s=-\n      c=IN IP4 127.0.0.1\n      t=0 0\n      \
         m=video {port} RTP/AVP 96\n      a=rtpmap:96 H264/90000\n      \
         a=fmtp:96 packetization-mode=1\n"
    ));
    let _sender = send(
        &ffmpeg,
        Audio::None,
        "rtp",
        &format!("rtp://127.0.0.1:{port}"),
        60,
    );
    let l = s.wait_line("ready: 1 track (H264)");
    assert!(l.contains("[RTP source]"), "{l}");
    assert_eq!(
        get_json(api, "/v3/paths/get/rtp")["source"]["type"],
        "rtpSource"
    );
    let streams = ffprobe_streams(&ffprobe, &format!("rtsp://127.0.0.1:{rtsp}/rtp"), "tcp");
    assert!(streams.contains("h264,320,240"), "{streams}");
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}
