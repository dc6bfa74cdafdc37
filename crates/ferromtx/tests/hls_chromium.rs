//! Headless Chromium (Debian's package, driven by playwright-core from `tests/browser`)
//! plays the HLS server's own player page: hls.js (served by the binary) in low-latency
//! mode, a stream ffmpeg publishes over RTSP, with the default 1 s segments and 200 ms
//! parts. Playback advances for 20 s with at most one brief stall (the 2-core CI machine
//! runs the encoder, the browser's software decoder and the server at once: one stall was
//! seen in a loaded run, at a steady 1.1 s latency), and the latency from the server's wall
//! clock of each frame to its display stays low.

mod common;

use common::{KillOnDrop, browser_scripts, env_refs, hls_env, rtsp_env, run_browser_script, tool};
use ferromtx_testkit::ffmpeg::{self, Audio};
use serde_json::{Value, json};

#[test]
fn chromium_plays_the_low_latency_player_page() {
    let (Some(ffmpeg), Some((node, dir))) = (tool("ffmpeg"), browser_scripts()) else {
        return;
    };
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (henv, hls) = hls_env();
    env.extend(henv);
    let conf = "rtmp: no\nwebrtc: no\nsrt: no\nmoq: no\npaths:\n  all_others:\n";
    let mut s = common::start(Some(conf), &[], &env_refs(&env));
    s.wait_line("[HLS] started with listener");
    let mut cmd = ffmpeg::synthetic(&ffmpeg, Audio::Aac, 90);
    cmd.args([
        "-f",
        "rtsp",
        "-rtsp_transport",
        "tcp",
        &format!("rtsp://127.0.0.1:{rtsp}/cam"),
    ]);
    let _publisher = KillOnDrop(cmd.spawn().expect("spawn ffmpeg"));
    s.wait_line("is publishing to path 'cam'");

    let seconds = 20;
    let r = run_browser_script(
        &node,
        &dir,
        "hls.mjs",
        &json!({ "url": format!("http://127.0.0.1:{hls}/cam/"), "seconds": seconds }),
    );
    let samples = r["samples"].as_array().expect("samples");
    assert_eq!(samples.len(), seconds + 1, "{r}");
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
    for w in samples.windows(2) {
        assert!(
            f(&w[1], "currentTime") > f(&w[0], "currentTime"),
            "playback did not advance: {r}"
        );
    }
    let last = samples.last().expect("a sample");
    let stalls = last["stalls"].as_u64().expect("stalls");
    assert!(stalls <= 1, "{stalls} stalls: {r}");
    assert_eq!(last["lowLatencyMode"], true);
    assert_eq!(
        (last["width"].as_u64(), last["height"].as_u64()),
        (Some(320), Some(240))
    );
    let played = f(last, "currentTime") - f(&samples[0], "currentTime");
    assert!(
        played > seconds as f64 - 1.5,
        "{played} s played in {seconds} s: {r}"
    );
    // Latency: the server's clock when the frame arrived (EXT-X-PROGRAM-DATE-TIME) to when
    // Chromium shows it, over the last ten seconds.
    let mut latencies: Vec<f64> = samples[samples.len() - 10..]
        .iter()
        .map(|s| f(s, "latencyMs"))
        .collect();
    latencies.sort_by(f64::total_cmp);
    let median = latencies[latencies.len() / 2];
    eprintln!(
        "HLS player latency (server ingest to display): median {median:.0} ms, max {:.0} ms; hls.js estimate {:.2} s",
        latencies[latencies.len() - 1],
        f(last, "hlsLatency")
    );
    assert!(median < 3000.0, "median latency {median} ms: {r}");
    s.wait_line("[HLS] [session");
}
