//! The binary end to end: startup lines, config errors, reload, signals.

mod common;

use common::{
    body, env_refs, hls_env, quiet_config, rtmp_env, rtsp_env, srt_env, start, version_line,
    webrtc_env, write,
};

#[test]
fn starts_with_embedded_defaults_when_no_file() {
    let (mut env, (rtsp, rtp, rtcp)) = rtsp_env();
    let (wenv, (whttp, wudp)) = webrtc_env();
    env.extend(wenv);
    let (renv, (rtmp, _)) = rtmp_env();
    env.extend(renv);
    let (senv, srt) = srt_env();
    env.extend(senv);
    let (henv, hls) = hls_env();
    env.extend(henv);
    let mut s = start(None, &[], &env_refs(&env));
    let l = s.wait_line("ferromtx v");
    assert_eq!(body(&l), format!("INF ferromtx {}", version_line()));
    let l = s.wait_line("configuration file not found");
    assert!(
        body(&l).starts_with("WAR configuration file not found (looked in "),
        "{l}"
    );
    assert!(l.contains("mediamtx.yml"), "{l}");
    // RTSP, RTMP, HLS, WebRTC and SRT are on by default: their listener lines, in
    // MediaMTX's start order.
    let l = s.wait_line("[RTSP] started with listener");
    assert_eq!(
        body(&l),
        format!(
            "INF [RTSP] started with listeners on 127.0.0.1:{rtsp} (TCP/RTSP), 127.0.0.1:{rtp} (UDP/RTP), 127.0.0.1:{rtcp} (UDP/RTCP)"
        )
    );
    let l = s.wait_line("[RTMP] started with listener");
    assert_eq!(
        body(&l),
        format!("INF [RTMP] started with listener on 127.0.0.1:{rtmp} (TCP/RTMP)")
    );
    let l = s.wait_line("[HLS] started with listener");
    assert_eq!(
        body(&l),
        format!("INF [HLS] started with listener on 127.0.0.1:{hls} (TCP/HTTP)")
    );
    let l = s.wait_line("[WebRTC] started with listener");
    assert_eq!(
        body(&l),
        format!(
            "INF [WebRTC] started with listeners on 127.0.0.1:{whttp} (TCP/HTTP), 127.0.0.1:{wudp} (UDP/ICE)"
        )
    );
    let l = s.wait_line("[SRT] started with listener");
    assert_eq!(
        body(&l),
        format!("INF [SRT] started with listener on 127.0.0.1:{srt} (UDP/SRT)")
    );
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
    assert_eq!(s.count("INF shutting down gracefully"), 1, "{:#?}", s.seen);
}

#[test]
fn loads_the_upstream_default_file_unchanged() {
    let Some(upstream) = ferromtx_testkit::compat::read("mediamtx.yml") else {
        return;
    };
    let (mut env, _) = rtsp_env();
    env.extend(webrtc_env().0);
    env.extend(rtmp_env().0);
    env.extend(srt_env().0);
    env.extend(hls_env().0);
    let mut s = start(Some(&upstream), &["mediamtx.yml"], &env_refs(&env));
    let l = s.wait_line("configuration loaded from");
    let expected = s.conf_path().canonicalize().expect("canonical");
    assert_eq!(
        body(&l),
        format!("INF configuration loaded from {}", expected.display())
    );
    s.wait_line("[RTSP] started with listener");
    s.signal(libc::SIGINT);
    assert!(s.wait_exit().success());
    assert_eq!(s.count("ERR"), 0, "{:#?}", s.seen);
    assert_eq!(s.count("WAR"), 0, "{:#?}", s.seen);
}

#[test]
fn unknown_key_exits_non_zero_with_one_error_line() {
    let mut s = start(Some("logLevel: info\nrtspAdress: :8554\n"), &[], &[]);
    let st = s.wait_exit();
    assert_eq!(st.code(), Some(1), "{:#?}", s.seen);
    let errs: Vec<&String> = s.seen.iter().filter(|l| l.starts_with("ERR: ")).collect();
    assert_eq!(errs.len(), 1, "{:#?}", s.seen);
    assert!(errs[0].contains("rtspAdress"), "{}", errs[0]);
}

#[test]
fn broken_value_exits_non_zero_naming_the_key() {
    let mut s = start(Some("writeQueueSize: 1000\n"), &[], &[]);
    assert_eq!(s.wait_exit().code(), Some(1));
    let errs: Vec<&String> = s.seen.iter().filter(|l| l.starts_with("ERR: ")).collect();
    assert_eq!(errs.len(), 1, "{:#?}", s.seen);
    assert!(errs[0].contains("writeQueueSize"), "{}", errs[0]);
}

#[test]
fn missing_file_given_on_the_command_line_is_an_error() {
    let mut s = start(None, &["/nonexistent/mediamtx.yml"], &[]);
    assert_eq!(s.wait_exit().code(), Some(1));
    assert!(
        s.seen
            .iter()
            .any(|l| l.starts_with("ERR: ") && l.contains("/nonexistent/mediamtx.yml")),
        "{:#?}",
        s.seen
    );
}

#[test]
fn deprecated_keys_warn_once_each() {
    let mut s = start(
        Some(&quiet_config(
            "readBufferCount: 1024\npaths:\n  cam:\n    runOnReady: echo hi\n",
        )),
        &[],
        &[],
    );
    s.wait_line("configuration loaded from");
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
    assert_eq!(
        s.count("WAR parameter 'readBufferCount' is deprecated"),
        1,
        "{:#?}",
        s.seen
    );
    assert_eq!(
        s.count("WAR parameter 'runOnReady' is deprecated"),
        1,
        "{:#?}",
        s.seen
    );
}

#[test]
fn version_and_help() {
    let v = version_line();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferromtx"))
        .arg("-v")
        .output()
        .expect("run");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("ferromtx {v}\n")
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferromtx"))
        .arg("--help")
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: ferromtx"));
}

#[test]
fn structured_logs_are_json() {
    let mut s = start(Some(&quiet_config("logStructured: yes")), &[], &[]);
    let l = s.wait_line("configuration loaded from");
    let v: serde_json::Value = serde_json::from_str(&l).expect("JSON line");
    assert_eq!(v["level"], "INF");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("configuration loaded from")
    );
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}

#[test]
fn env_override_applies() {
    // The file says error level only; the environment's info level wins, so the INF
    // startup line appears.
    let mut s = start(
        Some(&quiet_config("logLevel: error")),
        &[],
        &[("MTX_LOGLEVEL", "info")],
    );
    let l = s.wait_line("configuration loaded from");
    assert!(body(&l).starts_with("INF "), "{l}");
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}

#[test]
fn editing_the_file_reloads_it_and_a_bad_edit_keeps_the_old_config() {
    let mut s = start(Some(&quiet_config("logLevel: info")), &[], &[]);
    s.wait_line("configuration loaded from");
    let path = s.conf_path();

    write(&path, &quiet_config("logLevel: debug"));
    let l = s.wait_line("reloading configuration (file changed)");
    assert!(body(&l).starts_with("INF "), "{l}");

    // A broken file: the error is logged, the server keeps running with the old config.
    write(&path, &quiet_config("logLevel: debug\nnotAKey: 1"));
    let l = s.wait_line("notAKey");
    assert!(body(&l).starts_with("ERR "), "{l}");
    assert!(
        s.child.try_wait().expect("try_wait").is_none(),
        "server exited: {:#?}",
        s.seen
    );

    // And a later good edit is applied again.
    write(&path, &quiet_config("logLevel: info"));
    s.wait_count("reloading configuration (file changed)", 3);
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
    assert_eq!(s.count("ERR "), 1, "{:#?}", s.seen);
}

/// Shutdown waits for the hooks still running, as MediaMTX does: a `runOnDisconnect`
/// launched by the last connection runs to its end (before, it was killed with the
/// process), while the hooks owned by what closes (`runOnInit`, `runOnConnect`) are stopped.
#[test]
fn shutdown_waits_for_running_hooks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let done = dir.path().join("disconnect.done");
    let (env, (rtsp, _, _)) = rtsp_env();
    let conf = format!(
        "rtmp: no\nhls: no\nwebrtc: no\nsrt: no\nmoq: no\nrunOnConnect: sleep 1000\n\
         runOnDisconnect: sh -c 'sleep 1; touch {done}'\npaths:\n  cam:\n    runOnInit: sleep 1001\n",
        done = done.display()
    );
    let mut s = start(Some(&conf), &[], &env_refs(&env));
    s.wait_line("[RTSP] started with listener");
    s.wait_line("runOnInit command started");
    let conn = std::net::TcpStream::connect(("127.0.0.1", rtsp)).expect("connect");
    s.wait_line("runOnConnect command started");
    drop(conn);
    s.wait_line("runOnDisconnect command launched");
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success(), "{:#?}", s.seen);
    assert!(done.exists(), "runOnDisconnect did not run to its end");
    let at = |needle: &str| {
        s.seen
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {:#?}", s.seen))
    };
    assert!(at("[RTSP] closing") < at("INF waiting for running hooks"));
    assert_eq!(s.count("INF waiting for running hooks"), 1, "{:#?}", s.seen);
}
