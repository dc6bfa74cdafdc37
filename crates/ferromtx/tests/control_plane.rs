//! API, metrics and pprof served by the real binary.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::{body, free_port, get_json, http, quiet_config, start, version_line, write};

/// The first line of the server's `/debug/pprof/goroutine?debug=1`: its live tasks.
fn task_count(pprof: u16) -> usize {
    let (status, _, g) = http("GET", pprof, "/debug/pprof/goroutine?debug=1", None);
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&g);
    let first = text.lines().next().unwrap_or_default();
    first
        .strip_prefix("goroutine profile: total ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("first line {first:?}"))
}

/// The task count once `done` holds of it, or the last one read after 5 s.
fn wait_task_count(pprof: u16, done: impl Fn(usize) -> bool) -> usize {
    let mut n = task_count(pprof);
    for _ in 0..250 {
        if done(n) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        n = task_count(pprof);
    }
    n
}

fn conf(api: u16, metrics: u16, pprof: u16, extra: &str) -> String {
    quiet_config(&format!(
        "api: yes\napiAddress: 127.0.0.1:{api}\nmetrics: yes\nmetricsAddress: 127.0.0.1:{metrics}\n\
         pprof: yes\npprofAddress: 127.0.0.1:{pprof}\n{extra}"
    ))
}

#[test]
fn listeners_open_with_mediamtx_lines_and_answer() {
    let (api, metrics, pprof) = (free_port(), free_port(), free_port());
    let mut s = start(
        Some(&conf(api, metrics, pprof, "paths:\n  cam1:\n")),
        &[],
        &[],
    );
    for (prefix, port) in [("[pprof]", pprof), ("[metrics]", metrics), ("[API]", api)] {
        let l = s.wait_line(&format!("{prefix} started with listener"));
        assert_eq!(
            body(&l),
            format!("INF {prefix} started with listener on 127.0.0.1:{port} (TCP/HTTP)")
        );
    }

    let info = get_json(api, "/v3/info");
    // The version clients parse, with the commit of the build as semver build metadata;
    // the same build as `--version` and the startup line name.
    let long = version_line();
    let (v, rest) = long.split_once(" (commit ").expect("long form");
    let commit = rest.split_once(", ").expect("commit, target").0;
    assert_eq!(info["version"], format!("{v}+{commit}"));
    let l = s.wait_line("INF ferromtx v");
    assert_eq!(body(&l), format!("INF ferromtx {long}"));
    let global = get_json(api, "/v3/config/global/get");
    assert_eq!(global["apiAddress"], format!("127.0.0.1:{api}"));
    assert_eq!(
        get_json(api, "/v3/config/global"),
        global,
        "synonym of /get"
    );
    let paths = get_json(api, "/v3/config/paths/list");
    assert_eq!(paths["itemCount"], 1);
    assert_eq!(paths["items"][0]["name"], "cam1");
    let live = get_json(api, "/v3/paths/list");
    assert_eq!(live["items"][0]["name"], "cam1");
    assert_eq!(live["items"][0]["available"], false);
    let (status, _, body404) = http("GET", api, "/v3/paths/get/nope", None);
    assert_eq!(status, 404);
    let err: serde_json::Value = serde_json::from_slice(&body404).expect("json");
    assert_eq!(err["status"], "error");

    let (status, _, m) = http("GET", metrics, "/metrics", None);
    assert_eq!(status, 200);
    let m = String::from_utf8_lossy(&m);
    assert!(
        m.contains("paths{name=\"cam1\",state=\"notReady\"} 1"),
        "{m}"
    );
    assert!(
        m.lines()
            .any(|l| l.starts_with("process_resident_memory_bytes ")),
        "{m}"
    );

    // The server's task count follows its connections: 20 idle ones to the API are 20
    // more tasks, and they go when the connections do.
    const IDLE: usize = 20;
    let before = task_count(pprof);
    let idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| TcpStream::connect(("127.0.0.1", api)).expect("connect"))
        .collect();
    let during = wait_task_count(pprof, |n| n >= before + IDLE);
    assert!(
        during >= before + IDLE,
        "{during} tasks with {IDLE} idle connections, {before} before"
    );
    drop(idle);
    let after = wait_task_count(pprof, |n| n + IDLE <= during);
    assert!(
        after + IDLE <= during,
        "{after} tasks after the {IDLE} connections closed, {during} while open"
    );

    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
    assert!(s.count("[API] closing") == 1, "{:#?}", s.seen);
}

#[test]
fn api_changes_apply_live_without_writing_the_file() {
    let (api, metrics, pprof) = (free_port(), free_port(), free_port());
    let original = conf(api, metrics, pprof, "");
    let mut s = start(Some(&original), &[], &[]);
    s.wait_line("[API] started with listener");

    let (status, head, _) = http(
        "PATCH",
        api,
        "/v3/config/global/patch",
        Some(r#"{"hlsSegmentCount":9}"#),
    );
    assert_eq!(status, 200, "{head}");
    s.wait_line("INF reloading configuration (API request)");
    assert_eq!(get_json(api, "/v3/config/global/get")["hlsSegmentCount"], 9);

    let (status, head, _) = http(
        "POST",
        api,
        "/v3/config/paths/add/cam2",
        Some(r#"{"maxReaders":3}"#),
    );
    assert_eq!(status, 200, "{head}");
    assert_eq!(get_json(api, "/v3/config/paths/get/cam2")["maxReaders"], 3);
    let live = get_json(api, "/v3/paths/list");
    assert!(
        live["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|p| p["name"] == "cam2"),
        "{live}"
    );

    let (status, _, _) = http(
        "PATCH",
        api,
        "/v3/config/global/patch",
        Some(r#"{"writeQueueSize":1000}"#),
    );
    assert_eq!(status, 400, "invalid values are refused");

    let on_disk = std::fs::read_to_string(s.conf_path()).expect("read conf");
    assert_eq!(on_disk, original, "the API never writes the file");
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}

#[test]
fn reload_restarts_only_the_server_whose_settings_changed() {
    let (api, metrics, pprof) = (free_port(), free_port(), free_port());
    let mut s = start(Some(&conf(api, metrics, pprof, "")), &[], &[]);
    s.wait_line("[API] started with listener");

    let api2 = free_port();
    write(&s.conf_path(), &conf(api2, metrics, pprof, ""));
    s.wait_line("reloading configuration (file changed)");
    s.wait_line(&format!(
        "[API] started with listener on 127.0.0.1:{api2} (TCP/HTTP)"
    ));
    assert_eq!(
        get_json(api2, "/v3/config/global/get")["apiAddress"],
        format!("127.0.0.1:{api2}")
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", api)).is_err(),
        "old API port closed"
    );

    assert_eq!(
        s.count("[metrics] started with listener"),
        1,
        "{:#?}",
        s.seen
    );
    assert_eq!(s.count("[pprof] started with listener"), 1, "{:#?}", s.seen);
    assert_eq!(s.count("[API] closing"), 1, "{:#?}", s.seen);

    // Turning the API off closes it; metrics keep answering throughout.
    write(
        &s.conf_path(),
        &conf(api2, metrics, pprof, "").replace("api: yes", "api: no"),
    );
    s.wait_count("[API] closing", 2);
    let (status, _, _) = http("GET", metrics, "/metrics", None);
    assert_eq!(status, 200);
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}

#[test]
fn api_is_refused_to_other_addresses_by_the_default_rule() {
    // The default authInternalUsers allow api only from 127.0.0.1 and ::1; a request that
    // a trusted proxy forwards for another client is refused with 401.
    let (api, metrics, pprof) = (free_port(), free_port(), free_port());
    let mut s = start(
        Some(&conf(api, metrics, pprof, "apiTrustedProxies: [127.0.0.1]")),
        &[],
        &[],
    );
    s.wait_line("[API] started with listener");
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", api)).expect("connect");
    c.write_all(b"GET /v3/info HTTP/1.0\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n")
        .expect("send");
    let mut out = String::new();
    c.read_to_string(&mut out).expect("read");
    assert!(
        out.starts_with("HTTP/1.0 401") || out.starts_with("HTTP/1.1 401"),
        "{out}"
    );
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}
