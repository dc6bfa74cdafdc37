//! WebRTC signalling through the real binary: a WHEP offer for a stream that ffmpeg publishes
//! over RTSP gets an answer and a session the API lists and can kick; bad offers and unknown
//! paths get MediaMTX's errors. (Media over ICE/DTLS/SRTP, NACK included, is tested with a
//! str0m client in crates/webrtc/tests.)

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{
    env_refs, ffmpeg_publish, free_port, get_json, http, http_with, rtsp_env, start, tool,
    webrtc_env,
};
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

fn whep_offer(local: std::net::SocketAddr) -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").expect("candidate"));
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    let (offer, _pending) = api.apply().expect("offer");
    offer.to_sdp_string()
}

#[test]
fn whep_offer_for_an_rtsp_stream_creates_a_session() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let (mut env, (rtsp, _, _)) = rtsp_env();
    let (wenv, (whep, _)) = webrtc_env();
    env.extend(wenv);
    let api = free_port();
    let conf = format!(
        "rtmp: no\nhls: no\nsrt: no\nmoq: no\nwebrtcIPsFromInterfaces: no\nwebrtcAdditionalHosts: [127.0.0.1]\n\
         api: yes\napiAddress: 127.0.0.1:{api}\npaths:\n  all_others:\n"
    );
    let mut s = start(Some(&conf), &[], &env_refs(&env));
    s.wait_line("[WebRTC] started with listener");
    s.wait_line("[API] started with listener");

    let client = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let offer = whep_offer(client.local_addr().expect("addr"));

    // No stream yet: 404 in MediaMTX's error shape.
    let (status, _, body) = http_with("POST", whep, "/cam/whep", "application/sdp", Some(&offer));
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    let err: serde_json::Value = serde_json::from_slice(&body).expect("json error");
    assert_eq!(err["status"], "error");

    let mut publisher = ffmpeg_publish(&ffmpeg, &format!("rtsp://127.0.0.1:{rtsp}/cam"), true, 15);
    s.wait_line("is publishing to path 'cam'");

    let (status, head, body) =
        http_with("POST", whep, "/cam/whep", "application/sdp", Some(&offer));
    let answer = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, 201, "{head}\n{answer}");
    assert!(
        head.to_ascii_lowercase().contains("location: /cam/whep/"),
        "{head}"
    );
    assert!(answer.starts_with("v=0"), "{answer}");
    assert!(answer.contains("H264/90000"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("opus/48000"),
        "{answer}"
    );

    let list = get_json(api, "/v3/webrtcsessions/list");
    assert_eq!(list["itemCount"], 1, "{list}");
    assert_eq!(list["items"][0]["path"], "cam");
    assert_eq!(list["items"][0]["state"], "read");
    let id = list["items"][0]["id"].as_str().expect("id").to_string();
    let (status, head, _) = http("POST", api, &format!("/v3/webrtcsessions/kick/{id}"), None);
    assert_eq!(status, 200, "{head}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while get_json(api, "/v3/webrtcsessions/list")["itemCount"] != 0 {
        assert!(Instant::now() < deadline, "session still listed after kick");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A broken offer is refused and the server keeps serving.
    let (status, _, _) = http_with(
        "POST",
        whep,
        "/cam/whep",
        "application/sdp",
        Some("v=0\r\nnonsense"),
    );
    assert_eq!(status, 400);
    let (status, _, _) = http_with("POST", whep, "/cam/whep", "application/sdp", Some(&offer));
    assert_eq!(status, 201);

    let _ = publisher.kill();
    let _ = publisher.wait();
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}
