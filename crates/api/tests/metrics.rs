//! `/metrics`: MediaMTX's names, labels and filters.

mod common;

use ferromtx_api::Servers;
use ferromtx_api::component::BoxFuture;

use std::sync::Arc;

use common::*;
use ferromtx_api::{Backend, HttpServerKind, HttpSettings};

async fn metrics(query: &str) -> String {
    let b: Arc<dyn Backend> = TestBackend::new(test_conf());
    let srv = start(
        HttpServerKind::METRICS,
        HttpSettings::default(),
        ferromtx_api::metrics_router(b.clone()),
        b,
    )
    .await;
    let r = client()
        .get(srv.url(&format!("/metrics{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    srv.stop().await;
    text
}

fn has(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "missing line {line:?} in:\n{text}"
    );
}

#[tokio::test]
async fn paths_names_and_labels() {
    let t = metrics("").await;
    has(&t, "# Paths");
    has(&t, r#"paths{name="cam1",state="ready"} 1"#);
    has(&t, r#"paths{name="cam2/sub",state="notReady"} 1"#);
    has(
        &t,
        r#"paths_readers{name="cam1",readerType="hlsSession",state="ready"} 1"#,
    );
    has(
        &t,
        r#"paths_readers{name="cam1",readerType="webRTCSession",state="ready"} 2"#,
    );
    has(
        &t,
        r#"paths_readers{name="cam2/sub",readerType="",state="notReady"} 0"#,
    );
    has(&t, r#"paths_inbound_bytes{name="cam1",state="ready"} 1000"#);
    has(
        &t,
        r#"paths_outbound_bytes{name="cam1",state="ready"} 2000"#,
    );
    has(
        &t,
        r#"paths_inbound_frames_in_error{name="cam1",state="ready"} 3"#,
    );
    has(&t, "# Paths (deprecated)");
    has(
        &t,
        r#"paths_bytes_received{name="cam1",state="ready"} 1000"#,
    );
    has(&t, r#"paths_bytes_sent{name="cam1",state="ready"} 2000"#);
}

#[tokio::test]
async fn protocol_objects_names_and_labels() {
    let t = metrics("").await;
    has(
        &t,
        &format!(
            r#"forward_dests{{id="{ID_FORWARD}",path="cam1",protocol="rtmp",state="forwarding"}} 1"#
        ),
    );
    has(&t, r#"hls_muxers{name="cam1"} 1"#);
    has(&t, r#"hls_muxers_outbound_bytes{name="cam1"} 4096"#);
    has(&t, r#"hls_muxers_bytes_sent{name="cam1"} 0"#);
    has(
        &t,
        &format!(
            r#"hls_sessions_outbound_bytes{{id="{ID_HLS}",path="cam1",remoteAddr="127.0.0.1:9000"}} 8192"#
        ),
    );
    has(
        &t,
        &format!(r#"rtsp_conns_inbound_bytes{{id="{ID_RTSP_CONN}"}} 10"#),
    );
    has(&t, &format!(r#"rtsps_conns{{id="{ID_RTSP_CONN}"}} 1"#));
    let sess = format!(
        r#"{{id="{ID_RTSP_SESSION}",path="cam1",remoteAddr="127.0.0.1:5000",state="publish"}}"#
    );
    has(&t, &format!("rtsp_sessions{sess} 1"));
    has(&t, &format!("rtsp_sessions_inbound_bytes{sess} 1234"));
    has(
        &t,
        &format!("rtsp_sessions_inbound_rtp_packets_jitter{sess} 0.5"),
    );
    has(&t, &format!("rtsp_sessions_rtp_packets_jitter{sess} 0"));
    has(&t, &format!("rtsps_sessions{sess} 1"));
    let rtmp =
        format!(r#"{{id="{ID_RTMP}",path="cam1",remoteAddr="127.0.0.1:6000",state="read"}}"#);
    has(&t, &format!("rtmp_conns_outbound_bytes{rtmp} 99"));
    has(&t, &format!("rtmps_conns{rtmp} 1"));
    // The TLS variants carry every metric of the plain ones, with the same values.
    for (plain, tls) in [
        ("rtsp_conns", "rtsps_conns"),
        ("rtsp_sessions", "rtsps_sessions"),
        ("rtmp_conns", "rtmps_conns"),
    ] {
        let lines: Vec<&str> = t
            .lines()
            .filter(|l| l.starts_with(&format!("{plain}{{")) || l.starts_with(&format!("{plain}_")))
            .collect();
        assert!(lines.len() > 2, "{plain}: {t}");
        for l in lines {
            has(&t, &l.replacen(plain, tls, 1));
        }
    }
    let srt =
        format!(r#"{{id="{ID_SRT}",path="cam1",remoteAddr="127.0.0.1:7000",state="publish"}}"#);
    has(&t, &format!("srt_conns_ms_rtt{srt} 1.25"));
    has(&t, &format!("srt_conns_packets_received{srt} 77"));
    let webrtc =
        format!(r#"{{id="{ID_WEBRTC}",path="cam1",remoteAddr="127.0.0.1:8000",state="read"}}"#);
    has(
        &t,
        &format!("webrtc_sessions_outbound_rtp_packets{webrtc} 500"),
    );
    has(&t, &format!("webrtc_sessions_bytes_sent{webrtc} 0"));
    has(
        &t,
        &format!(
            r#"moq_sessions{{id="{ID_MOQ}",path="cam1",remoteAddr="127.0.0.1:9100",state="read"}} 1"#
        ),
    );
    has(&t, "# Process");
    assert!(
        t.lines()
            .any(|l| l.starts_with("process_resident_memory_bytes "))
    );
    assert!(
        t.lines()
            .any(|l| l.starts_with("process_cpu_seconds_total "))
    );
    assert!(t.lines().any(|l| l.starts_with("process_open_fds ")));
    // The live tasks: at least the one serving this request.
    let tasks: i64 = t
        .lines()
        .find_map(|l| l.strip_prefix("process_tasks "))
        .and_then(|v| v.trim().parse().ok())
        .expect("process_tasks");
    assert!(tasks >= 1, "{tasks}");
    assert!(
        t.lines()
            .any(|l| l.starts_with("process_start_time_seconds "))
    );
}

#[tokio::test]
async fn type_filter_keeps_one_kind() {
    let t = metrics("?type=rtmp_conns").await;
    assert!(t.contains("rtmp_conns{"));
    assert!(!t.contains("paths{"));
    assert!(!t.contains("rtsp_"));
    assert!(!t.contains("rtmps_"));
    assert!(!t.contains("process_"));
}

#[tokio::test]
async fn object_filters() {
    let t = metrics("?path=cam2/sub").await;
    has(&t, r#"paths{name="cam2/sub",state="notReady"} 1"#);
    assert!(!t.contains(r#"name="cam1""#));
    assert!(!t.contains("rtsp_sessions"));
    assert!(!t.contains("process_"));

    let t = metrics(&format!("?rtsp_session={ID_RTSP_SESSION}")).await;
    assert!(t.contains("rtsp_sessions{"));
    assert!(!t.contains("paths"));
    assert!(!t.contains("rtsp_conns"));

    let t = metrics(&format!("?rtsp_session={UNKNOWN_ID}")).await;
    has(&t, "# RTSP sessions");
    assert!(!t.contains("rtsp_sessions{"));

    let t = metrics("?hls_muxer=cam1").await;
    has(&t, r#"hls_muxers{name="cam1"} 1"#);
    assert!(!t.contains("hls_sessions"));
}

#[tokio::test]
async fn empty_lists_give_zero_samples() {
    struct Empty(Arc<TestBackend>);
    impl Backend for Empty {
        fn conf(&self) -> Arc<Conf> {
            self.0.conf()
        }
        fn apply_conf(&self, c: Conf) -> BoxFuture<'_, Result<(), String>> {
            self.0.apply_conf(c)
        }
        fn servers(&self) -> Servers {
            Servers::ALL
        }
        fn auth(&self) -> Arc<AuthManager> {
            self.0.auth()
        }
        fn info(&self) -> ferromtx_api::dto::Info {
            self.0.info()
        }
        fn paths(&self) -> Vec<ferromtx_api::dto::Path> {
            Vec::new()
        }
    }
    let b: Arc<dyn Backend> = Arc::new(Empty(TestBackend::new(test_conf())));
    let srv = start(
        HttpServerKind::METRICS,
        HttpSettings::default(),
        ferromtx_api::metrics_router(b.clone()),
        b,
    )
    .await;
    let t = client()
        .get(srv.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "paths 0",
        "paths_readers 0",
        "paths_bytes_sent 0",
        "rtsp_conns 0",
        "rtsp_sessions_inbound_rtp_packets_jitter 0",
        "webrtc_sessions 0",
        "srt_conns_ms_rtt 0",
        "hls_muxers 0",
        "moq_sessions 0",
    ] {
        has(&t, line);
    }
    // forward destinations only show zeros when asked by type
    assert!(!t.contains("forward_dests"));
    let t = client()
        .get(srv.url("/metrics?type=forward_dests"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    has(&t, "forward_dests 0");
    srv.stop().await;
}
