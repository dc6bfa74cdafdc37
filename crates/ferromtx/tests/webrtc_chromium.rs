//! Headless Chromium (Debian's package, driven by playwright-core from `tests/browser`)
//! against the real binary: WHEP playback of a stream ffmpeg publishes over RTSP (16 peer
//! connections in one page, and the server's own player page), WHIP publishing of a fake
//! camera read back with ffprobe over RTSP, and NACK recovering packets a relay drops.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::{
    KillOnDrop, Server, browser_scripts, env_refs, ffmpeg_publish, ffprobe_streams, rtsp_env,
    run_browser_script, tool, webrtc_env,
};
use serde_json::{Value, json};

/// A server with RTSP and WebRTC on picked loopback ports, `extra` appended to its config.
/// Returns it with its RTSP port, WebRTC HTTP port and ICE/UDP port.
fn start_server(extra: &str) -> (Server, u16, u16, u16) {
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (wenv, (http, udp)) = webrtc_env();
    env.extend(wenv);
    let conf = format!(
        "rtmp: no\nhls: no\nsrt: no\nmoq: no\nwebrtcIPsFromInterfaces: no\n{extra}\npaths:\n  all_others:\n"
    );
    let mut s = common::start(Some(&conf), &[], &env_refs(&env));
    s.wait_line("[WebRTC] started with listener");
    s.wait_line("[RTSP] started with listener");
    (s, rtsp, http, udp)
}

fn u64_at(v: &Value, path: &[&str]) -> u64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_u64()
        .unwrap_or_else(|| panic!("no number at {path:?} in {v}"))
}

/// ffmpeg publishing a 320x240 H264 (and Opus with `audio`) stream to `cam` for `seconds`,
/// once the server says it is published.
fn publish_cam(
    s: &mut Server,
    ffmpeg: &std::path::Path,
    rtsp: u16,
    audio: bool,
    seconds: u32,
) -> KillOnDrop {
    let publisher = KillOnDrop(ffmpeg_publish(
        ffmpeg,
        &format!("rtsp://127.0.0.1:{rtsp}/cam"),
        audio,
        seconds,
    ));
    s.wait_line("is publishing to path 'cam'");
    publisher
}

/// `whep.mjs` with `peers` peer connections to `url` measured over `seconds`.
fn play(
    node: &std::path::Path,
    dir: &std::path::Path,
    url: &str,
    peers: u32,
    seconds: u32,
) -> Value {
    run_browser_script(
        node,
        dir,
        "whep.mjs",
        &json!({ "url": url, "peers": peers, "seconds": seconds }),
    )
}

/// One peer's statistics show decoded video frames growing between the two samples.
fn assert_decoding(p: &Value) {
    let half = u64_at(p, &["half", "video", "framesDecoded"]);
    let end = u64_at(p, &["end", "video", "framesDecoded"]);
    assert!(half > 0 && end > half, "decoded frames not growing: {p}");
}

#[test]
fn chromium_plays_whep_with_sixteen_peer_connections_in_one_page() {
    let (Some(ffmpeg), Some((node, dir))) = (tool("ffmpeg"), browser_scripts()) else {
        return;
    };
    let (mut s, rtsp, http, _) = start_server("webrtcAdditionalHosts: [127.0.0.1]");
    let publisher = publish_cam(&mut s, &ffmpeg, rtsp, true, 40);

    let url = format!("http://127.0.0.1:{http}/cam/whep");
    let peers = play(&node, &dir, &url, 16, 8);
    drop(publisher);
    let peers = peers.as_array().expect("one result per peer");
    assert_eq!(peers.len(), 16);
    for p in peers {
        assert_eq!(p["end"]["state"], "connected", "{p}");
        assert_decoding(p);
        assert_eq!(u64_at(p, &["end", "video", "frameWidth"]), 320, "{p}");
        assert_eq!(u64_at(p, &["end", "video", "frameHeight"]), 240, "{p}");
        assert_eq!(u64_at(p, &["end", "video", "packetsLost"]), 0, "{p}");
        assert_eq!(u64_at(p, &["end", "audio", "packetsLost"]), 0, "{p}");
        let audio_half = u64_at(p, &["half", "audio", "packetsReceived"]);
        let audio_end = u64_at(p, &["end", "audio", "packetsReceived"]);
        assert!(
            audio_half > 0 && audio_end > audio_half,
            "audio not flowing: {p}"
        );
    }
    // MediaMTX's lines for each viewer, in its order.
    s.wait_count(
        "] peer connection established, local candidate: host/udp/127.0.0.1/",
        16,
    );
    s.wait_count("] is reading from path 'cam', 2 tracks (H264, Opus)", 16);
    s.wait_count("[WebRTC] [session", 16 * 4);
}

#[test]
fn chromium_plays_whep_over_https_with_webrtc_encryption() {
    let (Some(ffmpeg), Some((node, dir))) = (tool("ffmpeg"), browser_scripts()) else {
        return;
    };
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("cert");
    let tls = tempfile::tempdir().expect("tempdir");
    let (key_path, cert_path) = (tls.path().join("server.key"), tls.path().join("server.crt"));
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    let (mut s, rtsp, http, _) = start_server(&format!(
        "webrtcAdditionalHosts: [127.0.0.1]\nwebrtcEncryption: yes\n\
         webrtcServerKey: {}\nwebrtcServerCert: {}",
        key_path.display(),
        cert_path.display()
    ));
    let publisher = KillOnDrop(ffmpeg_publish(
        &ffmpeg,
        &format!("rtsp://127.0.0.1:{rtsp}/cam"),
        true,
        30,
    ));
    s.wait_line(&format!(
        "[WebRTC] started with listeners on 127.0.0.1:{http} (TCP/HTTPS)"
    ));
    s.wait_line("is publishing to path 'cam'");
    // Plain HTTP is not served any more.
    let plain = std::net::TcpStream::connect(("127.0.0.1", http)).and_then(|mut c| {
        use std::io::{Read, Write};
        c.set_read_timeout(Some(Duration::from_secs(5)))?;
        c.write_all(b"OPTIONS /cam/whep HTTP/1.0\r\n\r\n")?;
        let mut head = [0u8; 12];
        let n = c.read(&mut head)?;
        Ok(head[..n].to_vec())
    });
    assert!(
        !plain.as_deref().unwrap_or_default().starts_with(b"HTTP/1."),
        "plain HTTP answered: {plain:?}"
    );
    let r = play(
        &node,
        &dir,
        &format!("https://127.0.0.1:{http}/cam/whep"),
        1,
        4,
    );
    drop(publisher);
    let p = &r[0];
    assert_decoding(p);
}

#[test]
fn chromium_plays_whep_over_ice_tcp_when_udp_is_off() {
    let (Some(ffmpeg), Some((node, dir))) = (tool("ffmpeg"), browser_scripts()) else {
        return;
    };
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (http, tcp) = (common::free_port(), common::free_port());
    env.push(("MTX_WEBRTCADDRESS".into(), format!("127.0.0.1:{http}")));
    let conf = format!(
        "rtmp: no\nhls: no\nsrt: no\nmoq: no\nwebrtcIPsFromInterfaces: no\n\
         webrtcAdditionalHosts: [127.0.0.1]\nwebrtcLocalUDPAddress: ''\n\
         webrtcLocalTCPAddress: 127.0.0.1:{tcp}\npaths:\n  all_others:\n"
    );
    let mut s = common::start(Some(&conf), &[], &env_refs(&env));
    s.wait_line(&format!(
        "[WebRTC] started with listeners on 127.0.0.1:{http} (TCP/HTTP), 127.0.0.1:{tcp} (TCP/ICE)"
    ));
    let publisher = publish_cam(&mut s, &ffmpeg, rtsp, true, 30);
    let r = play(
        &node,
        &dir,
        &format!("http://127.0.0.1:{http}/cam/whep"),
        1,
        4,
    );
    drop(publisher);
    let p = &r[0];
    assert_decoding(p);
    s.wait_line(&format!(
        "peer connection established, local candidate: host/tcp/127.0.0.1/{tcp}"
    ));
}

#[test]
fn the_player_page_plays_in_chromium() {
    let (Some(ffmpeg), Some((node, dir))) = (tool("ffmpeg"), browser_scripts()) else {
        return;
    };
    let (mut s, rtsp, http, _) = start_server("webrtcAdditionalHosts: [127.0.0.1]");
    let publisher = publish_cam(&mut s, &ffmpeg, rtsp, true, 30);
    let r = run_browser_script(
        &node,
        &dir,
        "page.mjs",
        &json!({ "url": format!("http://127.0.0.1:{http}/cam/"), "seconds": 6 }),
    );
    drop(publisher);
    let half = u64_at(&r, &["half", "frames"]);
    let end = u64_at(&r, &["end", "frames"]);
    assert!(
        half > 0 && end > half,
        "the page's video is not playing: {r}"
    );
    assert_eq!(u64_at(&r, &["end", "width"]), 320, "{r}");
}

#[test]
fn chromium_publishes_a_fake_camera_with_whip_and_ffmpeg_decodes_it_over_rtsp() {
    let (Some(ffmpeg), Some(ffprobe), Some((node, dir))) =
        (tool("ffmpeg"), tool("ffprobe"), browser_scripts())
    else {
        return;
    };
    let (mut s, rtsp, http, _) = start_server("webrtcAdditionalHosts: [127.0.0.1]");
    let child = std::process::Command::new(&node)
        .arg(dir.join("whip.mjs"))
        .arg(
            json!({ "origin": format!("http://127.0.0.1:{http}"), "path": "cam", "seconds": 12 })
                .to_string(),
        )
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn node");
    let line = s.wait_line("is publishing to path 'cam'");
    assert!(line.contains("[WebRTC] [session"), "{line}");
    assert!(line.ends_with("is publishing to path 'cam'"), "{line}");
    let line = s.wait_line("[path cam] stream is available and online, 2 tracks");
    assert!(line.contains("H264") && line.contains("Opus"), "{line}");
    let streams = ffprobe_streams(&ffprobe, &format!("rtsp://127.0.0.1:{rtsp}/cam"), "tcp");
    let mut lines: Vec<&str> = streams.lines().map(str::trim).collect();
    lines.sort_unstable();
    assert_eq!(lines, ["h264,640,360", "opus"], "{streams}");
    // And ffmpeg decodes it: pictures over at least 0.75 s from the first keyframe on, and
    // 2 s of sound at least 90 % complete. (The browser's frame rate varies with the load of
    // the machine, so the pictures' share is not judged; the sound's 20 ms frames are.)
    let decoded = ferromtx_testkit::ffmpeg::decode(
        &ffmpeg,
        &["-rtsp_transport", "tcp"],
        &format!("rtsp://127.0.0.1:{rtsp}/cam"),
        2,
    );
    let video = decoded.iter().find(|d| d.media == "video");
    let audio = decoded.iter().find(|d| d.media == "audio");
    assert!(
        video.is_some_and(|v| v.frames >= 10 && v.span >= 0.75),
        "{decoded:?}"
    );
    assert!(
        audio.is_some_and(|a| a.covers(2.0, 0.9) && a.completeness() >= 0.9),
        "{decoded:?}"
    );
    let out = child.wait_with_output().expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "whip.mjs: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("whip.mjs printed {stdout:?}: {e}"));
    assert!(u64_at(&stats, &["video", "packetsSent"]) > 0, "{stats}");
    assert!(u64_at(&stats, &["audio", "packetsSent"]) > 0, "{stats}");
    s.wait_line("closed");
}

/// A UDP relay between the browser and the server's ICE socket that drops every 20th
/// packet of the video RTP stream going to the browser. The server announces the relay's
/// address as its only candidate.
struct LossyRelay {
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

/// Whether a datagram is RTP (not RTCP, STUN or DTLS; RFC 5761, RFC 7983).
fn rtp_ssrc(d: &[u8]) -> Option<u32> {
    let rtp = d.len() >= 12 && d[0] >> 6 == 2 && !(192..=223).contains(&d[1]);
    rtp.then(|| u32::from_be_bytes([d[8], d[9], d[10], d[11]]))
}

impl LossyRelay {
    fn start(front: SocketAddr, server: SocketAddr) -> LossyRelay {
        let front = Arc::new(UdpSocket::bind(front).expect("bind relay front"));
        let back = Arc::new(UdpSocket::bind("127.0.0.2:0").expect("bind relay back"));
        back.connect(server).expect("connect relay to server");
        for s in [&front, &back] {
            s.set_read_timeout(Some(Duration::from_millis(100)))
                .expect("timeout");
        }
        let browser: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let up = {
            let (front, back, browser, stop) = (
                Arc::clone(&front),
                Arc::clone(&back),
                Arc::clone(&browser),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                // Bounded: the test stops it, and it gives up after 10 minutes regardless.
                for _ in 0..6000 * 100 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if let Ok((n, from)) = front.recv_from(&mut buf) {
                        *browser.lock().expect("lock") = Some(from);
                        let _ = back.send(&buf[..n]);
                    }
                }
            })
        };
        let down = {
            let (dropped, stop) = (Arc::clone(&dropped), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                let mut video: Option<u32> = None;
                let mut count = 0u64;
                for _ in 0..6000 * 100 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let Ok(n) = back.recv(&mut buf) else {
                        continue;
                    };
                    if let Some(ssrc) = rtp_ssrc(&buf[..n]) {
                        // The first stream with a packet this big is the video; its
                        // retransmissions come later, on another SSRC (RTX).
                        if video.is_none() && n > 600 {
                            video = Some(ssrc);
                        }
                        if video == Some(ssrc) {
                            count += 1;
                            if count.is_multiple_of(20) {
                                dropped.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                        }
                    }
                    let to = *browser.lock().expect("lock");
                    if let Some(to) = to {
                        let _ = front.send_to(&buf[..n], to);
                    }
                }
            })
        };
        LossyRelay {
            stop,
            dropped,
            threads: vec![up, down],
        }
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[test]
fn nack_recovers_every_twentieth_video_packet_lost_on_the_way_to_chromium() {
    let (Some(ffmpeg), Some((node, dir))) = (tool("ffmpeg"), browser_scripts()) else {
        return;
    };
    // The only candidate the browser learns is the relay's, on 127.0.0.2.
    let (mut s, rtsp, http, udp) = start_server("webrtcAdditionalHosts: [127.0.0.2]");
    let relay = LossyRelay::start(
        SocketAddr::from(([127, 0, 0, 2], udp)),
        SocketAddr::from(([127, 0, 0, 1], udp)),
    );
    let publisher = publish_cam(&mut s, &ffmpeg, rtsp, false, 40);
    let url = format!("http://127.0.0.1:{http}/cam/whep");
    let r = play(&node, &dir, &url, 1, 10);
    drop(publisher);
    let dropped = relay.dropped.load(Ordering::Relaxed);
    drop(relay);
    let p = &r[0];
    assert!(
        dropped >= 5,
        "the relay dropped only {dropped} packets: {p}"
    );
    assert_decoding(p);
    // In the second half, with the first frames behind (a start on a loaded machine may
    // stutter whatever the network does), packets still go missing and come back: the
    // browser asks for each one, gets it again, and the picture never freezes.
    let delta = |k: &str| u64_at(p, &["end", "video", k]) - u64_at(p, &["half", "video", k]);
    assert!(delta("nackCount") > 0, "no NACK: {p}");
    assert!(
        delta("retransmittedPacketsReceived") > 0,
        "no retransmission reached the browser: {p}"
    );
    assert_eq!(delta("freezeCount"), 0, "the video froze: {p}");
    // Every packet the relay dropped came back. Chromium counts in `packetsLost` what did
    // not arrive on the video's own SSRC, recovered or not: the relay's drops and nothing
    // else went missing, and the browser received a retransmission for each of them. The
    // slack of 3 is for drops between the browser's last reading and the relay's (the
    // browser leaves first), one packet in 20 of those moments.
    let retransmitted = u64_at(p, &["end", "video", "retransmittedPacketsReceived"]);
    let lost = p["end"]["video"]["packetsLost"]
        .as_i64()
        .unwrap_or_else(|| panic!("no packetsLost: {p}"));
    assert!(
        u64::try_from(lost).is_ok_and(|l| l <= dropped && retransmitted >= l),
        "{lost} packets missing, {retransmitted} retransmitted, {dropped} dropped: {p}"
    );
    assert!(
        retransmitted + 3 >= dropped,
        "{retransmitted} retransmissions for {dropped} dropped packets: {p}"
    );
}
