//! SRT through the real binary with libsrt clients (Debian's ffmpeg and ffprobe): ffmpeg
//! publishes H264+AAC, ffprobe reads it back over SRT and RTSP, Chromium plays it over WHEP,
//! the API lists, counts and kicks; per-path passphrases; a link that loses 5 % of its
//! datagrams both ways with 2 MB keyframes; the `srt://` source pulling from an ffmpeg
//! listener.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{
    Server, body, env_refs, ffprobe_streams, free_port, get_json, http, http_with, rtsp_env,
    srt_env, start, tool, webrtc_env,
};
use ferromtx_testkit::ffmpeg::{self, Audio, Publisher};

/// Every client run is bounded by this.
const CLIENT_LIMIT: &str = "20";

fn srt_url(port: u16, stream_id: &str, extra: &str) -> String {
    format!("srt://127.0.0.1:{port}?streamid={stream_id}{extra}")
}

/// ffmpeg publishing the synthetic H264+AAC stream as MPEG-TS over SRT.
fn publish_srt(ffmpeg: &Path, url: &str, seconds: u32) -> Publisher {
    let mut cmd = ffmpeg::synthetic(ffmpeg, Audio::Aac, seconds);
    cmd.args(["-f", "mpegts", url])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Publisher(cmd.spawn().expect("spawn ffmpeg"))
}

/// Runs `program args` under `timeout`, with its output.
fn run_bounded(program: &Path, args: &[&str]) -> Output {
    run_within(CLIENT_LIMIT, program, args)
}

/// Runs `program args`, killed after `seconds`, with its output.
fn run_within(seconds: &str, program: &Path, args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["-s", "KILL", seconds])
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run a client")
}

/// The codec names ffprobe finds at an SRT URL; `None` when ffprobe fails.
fn probe_srt(ffprobe: &Path, url: &str) -> Option<Vec<String>> {
    let out = run_bounded(
        ffprobe,
        &[
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            url,
        ],
    );
    out.status.success().then(|| {
        // The streams, then the program section repeating them after an empty line.
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .take_while(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

fn whep_offer(local: SocketAddr) -> String {
    use str0m::media::{Direction, MediaKind};
    let mut rtc = str0m::Rtc::builder().build(Instant::now());
    rtc.add_local_candidate(str0m::Candidate::host(local, "udp").expect("candidate"));
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let (offer, _pending) = api.apply().expect("offer");
    offer.to_sdp_string()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ffmpeg_publishes_and_srt_rtsp_webrtc_readers_play() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (wenv, (whep, _)) = webrtc_env();
    env.extend(wenv);
    let (senv, srt) = srt_env();
    env.extend(senv);
    let (api, metrics) = (free_port(), free_port());
    let conf = format!(
        "rtmp: no\nhls: no\nmoq: no\nwebrtcIPsFromInterfaces: no\n\
         webrtcAdditionalHosts: [127.0.0.1]\napi: yes\napiAddress: 127.0.0.1:{api}\n\
         metrics: yes\nmetricsAddress: 127.0.0.1:{metrics}\npaths:\n  all_others:\n"
    );
    let mut s = start(Some(&conf), &[], &env_refs(&env));
    let l = s.wait_line("[SRT] started with listener");
    assert_eq!(
        body(&l),
        format!("INF [SRT] started with listener on 127.0.0.1:{srt} (UDP/SRT)")
    );

    let _publisher = publish_srt(&ffmpeg, &srt_url(srt, "publish:cam", ""), 40);
    let l = s.wait_line("is publishing to path 'cam'");
    assert!(body(&l).starts_with("INF [SRT] [conn 127.0.0.1:"), "{l}");
    assert!(l.ends_with("] is publishing to path 'cam'"), "{l}");
    s.wait_line("INF [path cam] stream is available and online, 2 tracks (H264, MPEG-4 Audio)");
    assert!(s.count("] opened") >= 1, "{:#?}", s.seen);

    // Read back over SRT: both tracks.
    let codecs = probe_srt(&ffprobe, &srt_url(srt, "read:cam", "")).expect("ffprobe over SRT");
    assert_eq!(codecs, ["h264", "aac"]);
    let l = s.wait_line("is reading from path 'cam'");
    assert!(
        l.ends_with("is reading from path 'cam', 2 tracks (H264, MPEG-4 Audio)"),
        "{l}"
    );

    // Over RTSP.
    let streams = ffprobe_streams(&ffprobe, &format!("rtsp://127.0.0.1:{rtsp}/cam"), "tcp");
    assert!(streams.contains("h264,320,240"), "{streams}");
    assert!(streams.contains("aac"), "{streams}");

    // Over WebRTC: a WHEP offer gets an answer with the H264 track.
    let client = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let offer = whep_offer(client.local_addr().expect("addr"));
    let (status, head, answer) =
        http_with("POST", whep, "/cam/whep", "application/sdp", Some(&offer));
    let answer = String::from_utf8_lossy(&answer);
    assert_eq!(status, 201, "{head}\n{answer}");
    assert!(answer.contains("H264/90000"), "{answer}");
    // And plays: headless Chromium decodes the video over WHEP.
    if let Some((node, dir)) = common::browser_scripts() {
        let url = format!("http://127.0.0.1:{whep}/cam/whep");
        let peers = common::run_browser_script(
            &node,
            &dir,
            "whep.mjs",
            &serde_json::json!({ "url": url, "peers": 1, "seconds": 4.0, "play": true }),
        );
        let p = &peers[0];
        assert_eq!(p["end"]["state"], "connected", "{p}");
        let frames = |at: &str| p[at]["video"]["framesDecoded"].as_f64().unwrap_or(0.0);
        assert!(
            frames("half") > 0.0 && frames("end") > frames("half"),
            "{p}"
        );
    }

    // The API lists the publisher with its counters; the path shows its source.
    let mut item = serde_json::Value::Null;
    wait_until("the publisher's counters", || {
        let list = get_json(api, "/v3/srtconns/list");
        item = list["items"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["state"] == "publish").cloned())
            .unwrap_or_default();
        item["packetsReceived"].as_u64().unwrap_or(0) > 100
    });
    assert_eq!(item["path"], "cam");
    assert!(
        item["bytesReceived"].as_u64().unwrap_or(0) > 100_000,
        "{item}"
    );
    assert!(
        item["remoteAddr"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{item}"
    );
    let id = item["id"].as_str().expect("id").to_owned();
    let one = get_json(api, &format!("/v3/srtconns/get/{id}"));
    assert_eq!(one["id"], id.as_str());
    let path = get_json(api, "/v3/paths/get/cam");
    assert_eq!(path["source"]["type"], "srtConn", "{path}");
    assert_eq!(path["source"]["id"], id.as_str(), "{path}");

    let (status, _, text) = http("GET", metrics, "/metrics", None);
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&text);
    let line = text
        .lines()
        .find(|l| l.starts_with("srt_conns{") && l.contains("state=\"publish\""))
        .unwrap_or_else(|| panic!("no srt_conns line: {text}"));
    assert!(line.ends_with(" 1"), "{line}");
    assert!(text.contains("srt_conns_packets_received{"), "{text}");

    // Kicked: the connection closes, the path goes away.
    let (status, head, _) = http("POST", api, &format!("/v3/srtconns/kick/{id}"), None);
    assert_eq!(status, 200, "{head}");
    s.wait_line("closed: terminated");
    wait_until("the kicked connection to leave the list", || {
        get_json(api, "/v3/srtconns/list")["items"]
            .as_array()
            .is_some_and(|a| a.iter().all(|i| i["id"] != id.as_str()))
    });
    let (status, _, _) = http("POST", api, &format!("/v3/srtconns/kick/{id}"), None);
    assert_eq!(status, 404);

    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
    s.wait_line("[SRT] closing");
}

#[test]
fn passphrases_and_refused_callers() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let (env, srt) = srt_env();
    let conf = "rtsp: no\nrtmp: no\nhls: no\nwebrtc: no\nmoq: no\npaths:\n  \
                secret:\n    srtPublishPassphrase: publish-secret-1\n    \
                srtReadPassphrase: read-secret-12\n  all_others:\n";
    let mut s = start(Some(conf), &[], &env_refs(&env));
    s.wait_line("[SRT] started with listener");

    let _publisher = publish_srt(
        &ffmpeg,
        &srt_url(
            srt,
            "publish:secret",
            "&passphrase=publish-secret-1&pbkeylen=32",
        ),
        40,
    );
    s.wait_line("[path secret] stream is available and online, 2 tracks (H264, MPEG-4 Audio)");

    // Wrong passphrase, then none: refused, with MediaMTX's reasons.
    let wrong = srt_url(srt, "read:secret", "&passphrase=not-the-secret");
    assert_eq!(probe_srt(&ffprobe, &wrong), None);
    s.wait_line("closed: invalid passphrase");
    assert_eq!(probe_srt(&ffprobe, &srt_url(srt, "read:secret", "")), None);
    s.wait_line("closed: passphrase not provided by client");

    // The listener keeps serving: the right passphrase (any key length) plays.
    let right = srt_url(srt, "read:secret", "&passphrase=read-secret-12&pbkeylen=24");
    assert_eq!(
        probe_srt(&ffprobe, &right).expect("correct passphrase plays"),
        ["h264", "aac"]
    );

    // An encrypted caller on a path without passphrase, and a file-mode caller: refused.
    let _plain = publish_srt(&ffmpeg, &srt_url(srt, "publish:plain", ""), 40);
    s.wait_line("is publishing to path 'plain'");
    let encrypted = srt_url(srt, "read:plain", "&passphrase=some-passphrase");
    assert_eq!(probe_srt(&ffprobe, &encrypted), None);
    s.wait_line("closed: client is encrypted but no passphrase is set");
    let file_mode = srt_url(srt, "read:plain", "&transtype=file");
    assert_eq!(probe_srt(&ffprobe, &file_mode), None);
    // Malformed stream ids get MediaMTX's text.
    assert_eq!(probe_srt(&ffprobe, &srt_url(srt, "bogus", "")), None);
    s.wait_line("closed: invalid stream ID 'bogus': stream ID must be 'action:pathname[:query]'");

    // And still serves the plain path.
    assert_eq!(
        probe_srt(&ffprobe, &srt_url(srt, "read:plain", "")).expect("plain read"),
        ["h264", "aac"]
    );
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
    assert_eq!(s.count("panicked"), 0, "{:#?}", s.seen);
}

/// A UDP relay between one client and the server that drops a share of the datagrams in
/// both directions; returns the port clients call.
struct LossyProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl LossyProxy {
    fn start(server: SocketAddr, loss_percent: u64) -> LossyProxy {
        let front = UdpSocket::bind("127.0.0.1:0").expect("bind front");
        let back = UdpSocket::bind("127.0.0.1:0").expect("bind back");
        back.connect(server).expect("connect back");
        for s in [&front, &back] {
            s.set_read_timeout(Some(Duration::from_millis(100)))
                .expect("timeout");
            // Room for a keyframe's burst, so that the relay loses what it is told to and
            // not what overflows (best effort: the system may allow less).
            ferromtx_net::grow_read_buffer(s, 4 << 20);
        }
        let port = front.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let client: Arc<std::sync::Mutex<Option<SocketAddr>>> = Arc::default();
        let front = Arc::new(front);
        let back = Arc::new(back);
        let mut threads = Vec::new();
        for to_server in [true, false] {
            let (front, back, stop, client) = (
                Arc::clone(&front),
                Arc::clone(&back),
                Arc::clone(&stop),
                Arc::clone(&client),
            );
            threads.push(std::thread::spawn(move || {
                let mut rng: u64 = if to_server { 0x9E37_79B9 } else { 0x7F4A_7C15 };
                let mut buf = vec![0u8; 65_536];
                while !stop.load(Ordering::Relaxed) {
                    let got = if to_server {
                        front.recv_from(&mut buf).map(|(n, from)| {
                            *client.lock().expect("lock") = Some(from);
                            n
                        })
                    } else {
                        back.recv(&mut buf)
                    };
                    let Ok(n) = got else { continue };
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    if rng % 100 < loss_percent {
                        continue;
                    }
                    if to_server {
                        let _ = back.send(&buf[..n]);
                    } else if let Some(c) = *client.lock().expect("lock") {
                        let _ = front.send_to(&buf[..n], c);
                    }
                }
            }));
        }
        LossyProxy {
            port,
            stop,
            threads,
        }
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[test]
fn five_percent_loss_both_ways_and_two_megabyte_keyframes() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let (env, srt) = srt_env();
    let api = free_port();
    let mut s = start(
        Some(&format!(
            "rtsp: no\nrtmp: no\nhls: no\nwebrtc: no\nmoq: no\napi: yes\n\
             apiAddress: 127.0.0.1:{api}\npaths:\n  all_others:\n"
        )),
        &[],
        &env_refs(&env),
    );
    s.wait_line("[SRT] started with listener");
    let server: SocketAddr = ([127, 0, 0, 1], srt).into();
    let publish_proxy = LossyProxy::start(server, 5);
    let read_proxy = LossyProxy::start(server, 5);

    // Lossless 1920x1080 noise: every frame is a keyframe of more than 2 MB. One a second,
    // with a second of SRT latency for the retransmissions.
    let publish_url = srt_url(
        publish_proxy.port,
        "publish:big",
        "&latency=1000000&pkt_size=1316",
    );
    let _publisher = Publisher(
        Command::new(&ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-re"])
            .args(["-f", "lavfi", "-i"])
            .arg("nullsrc=s=1920x1080:r=1,geq=lum='random(1)*255':cb=128:cr=128")
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"])
            .args(["-pix_fmt", "yuv420p", "-g", "1", "-bf", "0", "-t", "30"])
            .args(["-f", "mpegts", &publish_url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ffmpeg"),
    );
    s.wait = Duration::from_secs(30);
    s.wait_line("[path big] stream is available and online, 1 track (H264)");

    // The server's side of both links while the reader runs, for a failure's message.
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let watching = watching.clone();
        std::thread::spawn(move || {
            let mut last = serde_json::Value::Null;
            for _ in 0..240 {
                if !watching.load(Ordering::Relaxed) {
                    break;
                }
                let now = get_json(api, "/v3/srtconns/list");
                if now["itemCount"].as_u64() == Some(2) {
                    last = now;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            last
        })
    };

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("read.ts");
    let out_s = out.to_str().expect("utf-8 path");
    let read_url = srt_url(read_proxy.port, "read:big", "&latency=1000000");
    // ffmpeg probes about 5 s of this 1 frame/s stream before it copies: 14-25 s here, so
    // the reader gets more than the other clients' 20 s (the publisher stops after 30 s).
    let read = run_within(
        "60",
        &ffmpeg,
        &[
            "-v",
            "error",
            "-i",
            &read_url,
            "-map",
            "0:v",
            "-c",
            "copy",
            "-frames:v",
            "3",
            "-f",
            "mpegts",
            out_s,
        ],
    );
    watching.store(false, Ordering::Relaxed);
    let conns = watcher.join().expect("watcher");
    assert!(
        read.status.success(),
        "reader failed: {}\nserver: {conns:#}",
        String::from_utf8_lossy(&read.stderr)
    );

    // Every frame arrived whole: keyframes over 2 MB, and they decode without an error.
    let packets = run_bounded(
        &ffprobe,
        &[
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "packet=size,flags",
            "-of",
            "csv=p=0",
            out_s,
        ],
    );
    let listing = String::from_utf8_lossy(&packets.stdout);
    let sizes: Vec<u64> = listing
        .lines()
        .filter(|l| l.contains('K'))
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    assert!(sizes.len() >= 2, "{listing}");
    assert!(sizes.iter().all(|s| *s > 2_000_000), "{listing}");
    let decode = run_bounded(&ffmpeg, &["-v", "error", "-i", out_s, "-f", "null", "-"]);
    assert!(decode.status.success());
    assert_eq!(
        String::from_utf8_lossy(&decode.stderr),
        "",
        "decode errors in what the reader got\nserver: {conns:#}"
    );
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}

#[test]
fn srt_source_pulls_from_an_ffmpeg_listener() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let upstream = ferromtx_testkit::free_udp_port();
    let _listener = publish_srt(
        &ffmpeg,
        &format!("srt://127.0.0.1:{upstream}?mode=listener"),
        60,
    );
    let (mut env, (rtsp, _, _)) = rtsp_env();
    env.extend(srt_env().0);
    let api = free_port();
    let conf = format!(
        "rtmp: no\nhls: no\nwebrtc: no\nmoq: no\napi: yes\napiAddress: 127.0.0.1:{api}\n\
         paths:\n  pulled:\n    source: srt://127.0.0.1:{upstream}\n"
    );
    let mut s: Server = start(Some(&conf), &[], &env_refs(&env));
    let l = s.wait_line("ready: 2 tracks (H264, MPEG-4 Audio)");
    assert!(l.contains("[SRT source]"), "{l}");
    let path = get_json(api, "/v3/paths/get/pulled");
    assert_eq!(path["source"]["type"], "srtSource", "{path}");
    assert_eq!(path["ready"], true, "{path}");
    let streams = ffprobe_streams(&ffprobe, &format!("rtsp://127.0.0.1:{rtsp}/pulled"), "tcp");
    assert!(streams.contains("h264,320,240"), "{streams}");
    assert!(streams.contains("aac"), "{streams}");
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}
