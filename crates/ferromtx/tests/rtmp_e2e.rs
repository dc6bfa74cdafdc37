//! RTMP and RTMPS through the real binary with real clients: ffmpeg publishes and reads,
//! ffprobe reads over RTMP and RTSP, the API and metrics list the connections,
//! authentication and `overridePublisher` behave as MediaMTX's.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{KillOnDrop, env_refs, free_port, get_json, http, rtmp_env, rtsp_env, start, tool};
use ferromtx_testkit::ffmpeg::{self, Audio};

/// ffmpeg publishing the synthetic stream (H264 + `audio`) to an RTMP(S) URL.
fn publish_rtmp(ffmpeg: &Path, url: &str, audio: Audio, seconds: u32) -> KillOnDrop {
    let mut cmd = ffmpeg::synthetic(ffmpeg, audio, seconds);
    cmd.args(["-f", "flv", url]);
    KillOnDrop(cmd.spawn().expect("spawn ffmpeg"))
}

/// `codec_name,width,height` lines ffprobe finds at `url` (any protocol).
fn probe(ffprobe: &Path, url: &str) -> String {
    let mut cmd = Command::new(ffprobe);
    cmd.args(["-v", "error"]);
    if url.starts_with("rtsp") {
        cmd.args(["-rtsp_transport", "tcp"]);
    }
    let out = cmd
        .args(["-show_entries", "stream=codec_name,width,height"])
        .args(["-of", "csv=p=0", url])
        .stdin(Stdio::null())
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until the path is available through the API.
fn wait_available(api: u16, path: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, body) = http("GET", api, &format!("/v3/paths/get/{path}"), None);
        if status == 200 {
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            if v["available"] == true {
                return v;
            }
        }
        assert!(
            Instant::now() < deadline,
            "path {path} never became available"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// ffmpeg copying `seconds` of `url` into a file; the number of video frames decoded from
/// it and the number its first and last timestamps span at 25 fps.
fn copy_and_count(
    ffmpeg: &Path,
    ffprobe: &Path,
    url: &str,
    seconds: u32,
    dir: &Path,
) -> (u64, u64) {
    let file = dir.join("copy.mkv");
    let out = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i", url])
        .args(["-t", &seconds.to_string(), "-c", "copy"])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "copying {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Decoding every frame: their timestamps.
    let out = Command::new(ffprobe)
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["frame=pts_time", "-of", "csv=p=0"])
        .arg(&file)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let times: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        panic!("no frames decoded");
    };
    let spanned = ((last - first) / 0.04).round() as u64 + 1;
    (times.len() as u64, spanned)
}

/// ffmpeg decodes 2 s of `url`: its video from the first keyframe on (a reader joining
/// mid-GOP waits for the next one, at most 1 s) over at least 0.75 s and at least 90 %
/// complete, and its audio, if any, 90 % of 2 s.
fn assert_decodes(ffmpeg: &Path, url: &str) {
    let input: &[&str] = if url.starts_with("rtsp") {
        &["-rtsp_transport", "tcp"]
    } else {
        &[]
    };
    let streams = ferromtx_testkit::ffmpeg::decode(ffmpeg, input, url, 2);
    assert!(
        streams.iter().any(|s| s.media == "video"),
        "{url}: {streams:?}"
    );
    for s in &streams {
        assert!(s.completeness() >= 0.9, "{url}: {streams:?}");
        let least = if s.media == "video" { 0.75 } else { 1.8 };
        assert!(s.span >= least, "{url}: {streams:?}");
    }
}

fn quiet(extra: &str) -> String {
    format!("hls: no\nwebrtc: no\nsrt: no\nmoq: no\n{extra}\n")
}

/// ffmpeg publishes H264 + AAC over RTMP; ffprobe reads it back over RTMP and RTSP;
/// ffmpeg copies 10 s of it from RTMP into a file with the expected frame count; the API
/// and metrics list the connections.
#[test]
fn ffmpeg_publishes_h264_aac_and_reads_back_over_rtmp_and_rtsp() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (renv, (rtmp, _)) = rtmp_env();
    env.extend(renv);
    let (api, metrics) = (free_port(), free_port());
    let conf = quiet(&format!(
        "api: yes\napiAddress: 127.0.0.1:{api}\nmetrics: yes\nmetricsAddress: 127.0.0.1:{metrics}\n\
         paths:\n  all_others:\n"
    ));
    let mut s = start(Some(&conf), &[], &env_refs(&env));
    s.wait_line("[API] started with listener");
    let url = format!("rtmp://127.0.0.1:{rtmp}/live/cam");
    let _publisher = publish_rtmp(&ffmpeg, &url, Audio::Aac, 25);
    let path = wait_available(api, "live/cam");
    assert_eq!(path["tracks"], serde_json::json!(["H264", "MPEG-4 Audio"]));
    assert_eq!(path["source"]["type"], "rtmpConn");
    s.wait_line("[path live/cam] stream is available and online, 2 tracks (H264, MPEG-4 Audio)");

    let over_rtmp = probe(&ffprobe, &url);
    assert!(
        over_rtmp.lines().any(|l| l.starts_with("h264,320,240")),
        "{over_rtmp}"
    );
    assert!(
        over_rtmp.lines().any(|l| l.starts_with("aac")),
        "{over_rtmp}"
    );
    let over_rtsp = probe(&ffprobe, &format!("rtsp://127.0.0.1:{rtsp}/live/cam"));
    assert!(
        over_rtsp.lines().any(|l| l.starts_with("h264,320,240")),
        "{over_rtsp}"
    );
    assert!(
        over_rtsp.lines().any(|l| l.starts_with("aac")),
        "{over_rtsp}"
    );
    s.wait_line("is reading from path 'live/cam', 2 tracks (H264, MPEG-4 Audio)");

    // The API lists the publisher while a reader copies 10 s.
    let conns = get_json(api, "/v3/rtmpconns/list");
    let items = conns["items"].as_array().expect("items");
    let publisher = items
        .iter()
        .find(|c| c["state"] == "publish")
        .unwrap_or_else(|| panic!("{conns:#}"));
    assert_eq!(publisher["path"], "live/cam");
    assert!(publisher["inboundBytes"].as_u64().unwrap_or(0) > 0);
    assert!(
        publisher["userAgent"]
            .as_str()
            .unwrap_or("")
            .starts_with("FMLE"),
        "{publisher:#}"
    );
    let (_, _, m) = http("GET", metrics, "/metrics", None);
    let m = String::from_utf8_lossy(&m);
    assert!(m.contains("rtmp_conns{id=\""), "{m}");
    assert!(m.contains("state=\"publish\"} 1"), "{m}");

    let dir = tempfile::tempdir().expect("tempdir");
    let (frames, spanned) = copy_and_count(&ffmpeg, &ffprobe, &url, 10, dir.path());
    // 25 fps for 10 s, video from its first key frame on (audio may start up to a GOP
    // earlier): every frame of that span decodes, none missing.
    assert!((225..=252).contains(&frames), "{frames} frames");
    assert_eq!(frames, spanned, "frames missing in the copy");

    // Kicking the publisher through the API ends it.
    let id = publisher["id"].as_str().expect("id");
    let (status, _, _) = http("POST", api, &format!("/v3/rtmpconns/kick/{id}"), None);
    assert_eq!(status, 200);
    s.wait_line("closed: terminated");
}

/// ffmpeg publishes over RTSP and reads over RTMP; then over RTMPS (self-signed
/// certificate) in both directions.
#[test]
fn rtsp_to_rtmp_and_rtmps_both_ways() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("cert");
    std::fs::write(dir.path().join("server.key"), c.signing_key.serialize_pem()).expect("key");
    std::fs::write(dir.path().join("server.crt"), c.cert.pem()).expect("cert");
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (renv, (rtmp, rtmps)) = rtmp_env();
    env.extend(renv);
    let conf = quiet(&format!(
        "rtmpEncryption: optional\nrtmpServerCert: {d}/server.crt\nrtmpServerKey: {d}/server.key\n\
         paths:\n  all_others:\n",
        d = dir.path().display()
    ));
    let mut s = start(Some(&conf), &[], &env_refs(&env));
    s.wait_line("[RTMP] started with listener");
    s.wait_line(&format!(
        "[RTMPS] started with listener on 127.0.0.1:{rtmps} (TCP/RTMPS)"
    ));

    let _rtsp_pub = KillOnDrop(common::ffmpeg_publish(
        &ffmpeg,
        &format!("rtsp://127.0.0.1:{rtsp}/fromrtsp"),
        true,
        30,
    ));
    s.wait_line("is publishing to path 'fromrtsp'");
    // Opus has no legacy FLV form: a legacy player gets the video.
    assert_decodes(&ffmpeg, &format!("rtmp://127.0.0.1:{rtmp}/fromrtsp"));
    s.wait_line("is reading from path 'fromrtsp', 1 track (H264)");
    assert_decodes(&ffmpeg, &format!("rtmps://127.0.0.1:{rtmps}/fromrtsp"));
    s.wait_line("[RTMPS] [conn 127.0.0.1:");

    let _rtmps_pub = publish_rtmp(
        &ffmpeg,
        &format!("rtmps://127.0.0.1:{rtmps}/fromrtmps"),
        Audio::Aac,
        30,
    );
    s.wait_line("[path fromrtmps] stream is available and online, 2 tracks (H264, MPEG-4 Audio)");
    assert_decodes(&ffmpeg, &format!("rtsp://127.0.0.1:{rtsp}/fromrtmps"));
    assert_decodes(&ffmpeg, &format!("rtmps://127.0.0.1:{rtmps}/fromrtmps"));
}

/// Credentials from `?user=&pass=`: a publisher or reader without them is refused with
/// MediaMTX's status and log line; with them it works.
#[test]
fn authentication_failures_are_refused_and_logged() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let (renv, (rtmp, _)) = rtmp_env();
    let conf = quiet(
        "rtsp: no\nauthInternalUsers:\n- user: pub\n  pass: secret\n  permissions:\n  - action: publish\n\
         - user: any\n  pass:\n  permissions:\n  - action: read\n\
         paths:\n  all_others:\n",
    );
    let mut s = start(Some(&conf), &[], &env_refs(&renv));
    s.wait_line("[RTMP] started with listener");
    let base = format!("rtmp://127.0.0.1:{rtmp}/cam");

    let mut bad = ffmpeg::synthetic(&ffmpeg, Audio::None, 2);
    let out = bad
        .args(["-f", "flv", &format!("{base}?user=pub&pass=wrong")])
        .stderr(Stdio::null())
        .status()
        .expect("run ffmpeg");
    assert!(!out.success(), "a wrong password must be refused");
    s.wait_line("closed: failed to authenticate");

    let _good = publish_rtmp(
        &ffmpeg,
        &format!("{base}?user=pub&pass=secret"),
        Audio::None,
        20,
    );
    s.wait_line("[path cam] stream is available and online, 1 track (H264)");
    let text = probe(&ffprobe, &base);
    assert!(text.starts_with("h264,320,240"), "{text}");
}

/// A second publisher takes the path over (`overridePublisher`, the default); with
/// `overridePublisher: no` it is refused.
#[test]
fn a_new_publisher_replaces_the_old_one_unless_override_is_off() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (renv, (rtmp, _)) = rtmp_env();
    let conf = quiet("rtsp: no\npaths:\n  fixed:\n    overridePublisher: no\n  all_others:\n");
    let mut s = start(Some(&conf), &[], &env_refs(&renv));
    s.wait_line("[RTMP] started with listener");

    let url = format!("rtmp://127.0.0.1:{rtmp}/cam");
    let _first = publish_rtmp(&ffmpeg, &url, Audio::None, 30);
    s.wait_count("is publishing to path 'cam'", 1);
    let _second = publish_rtmp(&ffmpeg, &url, Audio::None, 30);
    s.wait_count("is publishing to path 'cam'", 2);
    s.wait_line("closed: terminated");

    let fixed = format!("rtmp://127.0.0.1:{rtmp}/fixed");
    let _owner = publish_rtmp(&ffmpeg, &fixed, Audio::None, 30);
    s.wait_line("is publishing to path 'fixed'");
    let mut intruder = ffmpeg::synthetic(&ffmpeg, Audio::None, 5);
    let status = intruder
        .args(["-f", "flv", &fixed])
        .stderr(Stdio::null())
        .status()
        .expect("run ffmpeg");
    assert!(!status.success());
    s.wait_line("closed: someone is already publishing to path 'fixed'");
}

/// A second ferromtx pulls the stream with `source: rtmp://` and `source: rtmps://`
/// (`sourceFingerprint` pinning the first one's self-signed certificate); ffprobe reads
/// both over its RTSP server.
#[test]
fn second_ferromtx_pulls_over_rtmp_and_rtmps() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    use sha2::Digest;
    let dir = tempfile::tempdir().expect("tempdir");
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("cert");
    std::fs::write(dir.path().join("server.key"), c.signing_key.serialize_pem()).expect("key");
    std::fs::write(dir.path().join("server.crt"), c.cert.pem()).expect("cert");
    let fingerprint: String = sha2::Sha256::digest(c.cert.der().as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (renv, (rtmp, rtmps)) = rtmp_env();
    let conf_a = quiet(&format!(
        "rtsp: no\nrtmpEncryption: optional\nrtmpServerCert: {d}/server.crt\n\
         rtmpServerKey: {d}/server.key\npaths:\n  all_others:\n",
        d = dir.path().display()
    ));
    let mut a = start(Some(&conf_a), &[], &env_refs(&renv));
    a.wait_line("[RTMPS] started with listener");
    let _publisher = publish_rtmp(
        &ffmpeg,
        &format!("rtmp://127.0.0.1:{rtmp}/cam"),
        Audio::Aac,
        40,
    );
    a.wait_line("is publishing to path 'cam'");

    let (mut env_b, (rtsp_b, _, _)) = rtsp_env();
    env_b.extend(rtmp_env().0);
    let conf_b = quiet(&format!(
        "paths:\n  plain:\n    source: rtmp://127.0.0.1:{rtmp}/cam\n  \
         secure:\n    source: rtmps://127.0.0.1:{rtmps}/cam\n    sourceFingerprint: {fingerprint}\n"
    ));
    let mut b = start(Some(&conf_b), &[], &env_refs(&env_b));
    b.wait_count("[RTMP source] ready: 2 tracks (H264, MPEG-4 Audio)", 2);
    for path in ["plain", "secure"] {
        let text = probe(&ffprobe, &format!("rtsp://127.0.0.1:{rtsp_b}/{path}"));
        assert!(
            text.lines().any(|l| l.starts_with("h264,320,240")),
            "{path}: {text}"
        );
        assert!(text.lines().any(|l| l.starts_with("aac")), "{path}: {text}");
    }
}
