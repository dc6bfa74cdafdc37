//! `MTX_*` environment overrides.

use ferromtx_conf::{LogLevel, RtspTransport, load_from_str, load_from_str_with_vars};

fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn scalar_overrides_after_the_file() {
    let env = vars(&[
        ("MTX_WRITEQUEUESIZE", "1024"),
        ("MTX_LOGLEVEL", "debug"),
        ("MTX_RTSPTRANSPORTS", "tcp,udp"),
        ("MTX_RTMP", "no"),
        ("MTX_HLS", "False"),
        ("MTX_READTIMEOUT", "1m"),
        ("MTX_APIALLOWORIGINS", "http://a,http://b"),
        ("MTX_HLSSEGMENTMAXSIZE", "10M"),
    ]);
    let l = load_from_str_with_vars("writeQueueSize: 256\nlogLevel: warn\n", &env).unwrap();
    let c = l.conf;
    assert_eq!(c.write_queue_size, 1024);
    assert_eq!(c.log_level, LogLevel::Debug);
    assert_eq!(c.rtsp_transports, [RtspTransport::Tcp, RtspTransport::Udp]);
    assert!(!c.rtmp);
    assert!(!c.hls);
    assert_eq!(c.read_timeout.as_secs(), 60);
    assert_eq!(c.api_allow_origins, ["http://a", "http://b"]);
    assert_eq!(c.hls_segment_max_size, 10 * 1024 * 1024);
}

#[test]
fn lookup_closure_works_too() {
    let env = |k: &str| (k == "MTX_RTSP").then(|| "yes".to_string());
    let l = load_from_str("rtsp: no\n", &env).unwrap();
    assert!(l.conf.rtsp);
}

#[test]
fn bad_boolean_is_an_error() {
    let e = load_from_str_with_vars("", &vars(&[("MTX_RTSP", "maybe")])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value for environment variable MTX_RTSP: invalid value 'maybe'"
    );
}

#[test]
fn empty_list_value_clears_the_list() {
    let l = load_from_str_with_vars("", &vars(&[("MTX_APIALLOWORIGINS", "")])).unwrap();
    assert!(l.conf.api_allow_origins.is_empty());
}

#[test]
fn path_defaults_and_paths() {
    let env = vars(&[
        ("MTX_PATHDEFAULTS_RECORD", "yes"),
        ("MTX_PATHS_CAM1_SOURCE", "rtsp://cam/stream"),
        ("MTX_PATHS_CAM2_RUNONINIT", "ffmpeg x"),
    ]);
    let yaml = "paths:\n  cam2:\n    runOnReadRestart: yes\n";
    let l = load_from_str_with_vars(yaml, &env).unwrap();
    let c = &l.conf;
    assert!(c.path_defaults.record);
    let names: Vec<_> = c.paths.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["cam2", "cam1"]);
    assert_eq!(c.paths[1].source, "rtsp://cam/stream");
    assert!(c.paths[1].record);
    assert_eq!(c.paths[0].run_on_init, "ffmpeg x");
    assert!(c.paths[0].run_on_read_restart);
}

#[test]
fn path_default_source_on_demand() {
    let env = vars(&[
        ("MTX_PATHDEFAULTS_SOURCEONDEMAND", "yes"),
        ("MTX_PATHS_CAM1_SOURCE", "rtsp://cam/stream"),
    ]);
    let l = load_from_str_with_vars("", &env).unwrap();
    assert!(l.conf.paths[0].source_on_demand);
}

#[test]
fn object_lists_by_index() {
    let env = vars(&[
        ("MTX_AUTHINTERNALUSERS_0_USER", "admin"),
        ("MTX_AUTHINTERNALUSERS_0_PASS", "secret"),
        ("MTX_AUTHINTERNALUSERS_2_USER", "third"),
        ("MTX_AUTHINTERNALUSERS_2_PASS", "pw"),
        ("MTX_AUTHINTERNALUSERS_4_USER", "ignored-after-gap"),
        ("MTX_WEBRTCICESERVERS2_0_URL", "stun:stun.example:3478"),
    ]);
    let l = load_from_str_with_vars("", &env).unwrap();
    let users = &l.conf.auth_internal_users;
    assert_eq!(users.len(), 3);
    assert_eq!(users[0].user, "admin");
    assert_eq!(users[2].user, "third");
    assert_eq!(users[1].ips.len(), 2, "untouched item kept");
    assert_eq!(users[0].pass, "secret");
    assert_eq!(users[0].permissions.len(), 3, "other fields kept");
    assert_eq!(l.conf.webrtc_ice_servers2[0].url, "stun:stun.example:3478");
}

#[test]
fn legacy_rtsp_prefix() {
    let l = load_from_str_with_vars("", &vars(&[("RTSP_LOGLEVEL", "error")])).unwrap();
    assert_eq!(l.conf.log_level, LogLevel::Error);
    let l = load_from_str_with_vars(
        "",
        &vars(&[("RTSP_LOGLEVEL", "error"), ("MTX_LOGLEVEL", "warn")]),
    )
    .unwrap();
    assert_eq!(l.conf.log_level, LogLevel::Warn);
}
