//! RTSP through the real binary with real clients: ffmpeg publishes, ffprobe reads, and the
//! API and metrics describe the live path.

mod common;

use std::time::{Duration, Instant};

use common::{
    Server, env_refs, ffmpeg_publish, ffprobe_streams, free_port, get_json, http, rtsp_env, tool,
};

#[test]
fn ffmpeg_publishes_ffprobe_reads_and_the_api_sees_it() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let (env, (rtsp, _, _)) = rtsp_env();
    let (api, metrics) = (free_port(), free_port());
    let conf = format!(
        "rtmp: no\nhls: no\nwebrtc: no\nsrt: no\nmoq: no\napi: yes\napiAddress: 127.0.0.1:{api}\n\
         metrics: yes\nmetricsAddress: 127.0.0.1:{metrics}\npaths:\n  old:\n    source: redirect\n    sourceRedirect: /cam\n  all_others:\n"
    );
    let mut s = Server::start(Some(&conf), &[], &env_refs(&env));
    s.wait_line("[API] listener opened on");

    let url = format!("rtsp://127.0.0.1:{rtsp}/cam");
    let mut publisher = ffmpeg_publish(&ffmpeg, &url, true, 8);

    // The path becomes available with both tracks.
    let deadline = Instant::now() + Duration::from_secs(15);
    let path = loop {
        let (status, _, body) = http("GET", api, "/v3/paths/get/cam", None);
        if status == 200 {
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            if v["available"] == true {
                break v;
            }
        }
        assert!(
            Instant::now() < deadline,
            "path never became available: {:#?}",
            s.seen
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(path["tracks"], serde_json::json!(["H264", "Opus"]));
    assert_eq!(path["source"]["type"], "rtspSession");
    s.wait_line("is publishing to path 'cam', 2 tracks (H264, Opus)");

    for transport in ["tcp", "udp"] {
        let text = ffprobe_streams(&ffprobe, &url, transport);
        assert!(
            text.lines().any(|l| l.starts_with("h264,320,240")),
            "{transport}: {text}"
        );
        assert!(
            text.lines().any(|l| l.starts_with("opus")),
            "{transport}: {text}"
        );
    }

    // A path with `source: redirect` sends readers to the live one (RTSP 302, followed by ffprobe).
    let text = ffprobe_streams(&ffprobe, &format!("rtsp://127.0.0.1:{rtsp}/old"), "tcp");
    assert!(
        text.lines().any(|l| l.starts_with("h264")),
        "via redirect: {text}"
    );

    let (_, _, m) = http("GET", metrics, "/metrics", None);
    let m = String::from_utf8_lossy(&m);
    assert!(m.contains("paths{name=\"cam\",state=\"ready\"} 1"), "{m}");
    let inbound: u64 = get_json(api, "/v3/paths/get/cam")["inboundBytes"]
        .as_u64()
        .expect("inboundBytes");
    assert!(inbound > 0);

    // The API lists the publishing session; kicking it ends the publication.
    let sessions = get_json(api, "/v3/rtspsessions/list");
    let items = sessions["items"].as_array().expect("items");
    let publishing: Vec<&serde_json::Value> =
        items.iter().filter(|i| i["state"] == "publish").collect();
    assert_eq!(publishing.len(), 1, "{sessions}");
    assert_eq!(publishing[0]["path"], "cam");
    let id = publishing[0]["id"].as_str().expect("id").to_string();
    let conns = get_json(api, "/v3/rtspconns/list");
    assert!(conns["itemCount"].as_u64().unwrap_or(0) >= 1, "{conns}");
    let (status, head, _) = http("POST", api, &format!("/v3/rtspsessions/kick/{id}"), None);
    assert_eq!(status, 200, "{head}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while get_json(api, "/v3/paths/list")["items"]
        .as_array()
        .is_some_and(|a| {
            a.iter()
                .any(|p| p["name"] == "cam" && p["available"] == true)
        })
    {
        assert!(Instant::now() < deadline, "path still available after kick");
        std::thread::sleep(Duration::from_millis(100));
    }

    let _ = publisher.kill();
    let _ = publisher.wait();
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}

/// A second ferromtx pulls the first one's stream with `source: rtsp://...` and serves it.
#[test]
fn second_ferromtx_pulls_and_serves_the_stream() {
    let (Some(ffmpeg), Some(ffprobe)) = (tool("ffmpeg"), tool("ffprobe")) else {
        return;
    };
    let quiet = "rtmp: no\nhls: no\nwebrtc: no\nsrt: no\nmoq: no\n";
    let (env_a, (rtsp_a, _, _)) = rtsp_env();
    let mut a = Server::start(
        Some(&format!("{quiet}paths:\n  all_others:\n")),
        &[],
        &env_refs(&env_a),
    );
    a.wait_line("[RTSP] listener opened on");
    let (env_b, (rtsp_b, _, _)) = rtsp_env();
    let conf_b = format!(
        "{quiet}rtspTransports: [tcp]\npaths:\n  proxied:\n    source: rtsp://127.0.0.1:{rtsp_a}/cam\n    rtspTransport: tcp\n"
    );
    let mut b = Server::start(Some(&conf_b), &[], &env_refs(&env_b));
    b.wait_line("[RTSP] listener opened on");

    let mut publisher = ffmpeg_publish(
        &ffmpeg,
        &format!("rtsp://127.0.0.1:{rtsp_a}/cam"),
        false,
        20,
    );
    a.wait_line("is publishing to path 'cam'");
    // The source retries every 5 s until the upstream path exists; wait for it to be ready.
    b.wait_line("ready: 1 track (H264)");

    let text = ffprobe_streams(
        &ffprobe,
        &format!("rtsp://127.0.0.1:{rtsp_b}/proxied"),
        "tcp",
    );
    assert!(
        text.lines().any(|l| l.starts_with("h264,320,240")),
        "{text}"
    );

    let _ = publisher.kill();
    let _ = publisher.wait();
    for s in [&mut a, &mut b] {
        s.signal(libc::SIGTERM);
        assert!(s.wait_exit().success());
    }
}
