//! Deprecated keys map to their replacement with MediaMTX's warning.

use ferromtx_conf::{
    AuthAction, Conf, Encryption, Loaded, RecordFormat, RtspAuthMethod, RtspTransport,
    load_from_str,
};
use std::time::Duration;

fn no_env(_: &str) -> Option<String> {
    None
}

fn load(yaml: &str) -> Loaded {
    load_from_str(yaml, &no_env).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

fn replaced(old: &str, new: &str) -> String {
    format!("parameter '{old}' is deprecated and has been replaced with '{new}'")
}

/// Loads `yaml`, checks the single warning and returns the configuration.
fn one(yaml: &str, warning: &str) -> Conf {
    let l = load(yaml);
    assert_eq!(l.warnings, [warning.to_string()], "{yaml}");
    l.conf
}

#[test]
fn general_and_auth() {
    let c = one(
        "readBufferCount: 1024\n",
        &replaced("readBufferCount", "writeQueueSize"),
    );
    assert_eq!(c.write_queue_size, 1024);
    let c = one(
        "externalAuthenticationURL: http://auth/x\n",
        "parameter 'externalAuthenticationURL' is deprecated and has been replaced with 'authMethod' and 'authHTTPAddress'",
    );
    assert_eq!(c.auth_method, ferromtx_conf::AuthMethod::Http);
    assert_eq!(c.auth_http_address, "http://auth/x");
    one(
        "authJWTInHTTPQuery: yes\n",
        "parameter 'authJWTInHTTPQuery' is deprecated and will be removed in a future release",
    );
}

#[test]
fn allow_origin_aliases() {
    for name in ["api", "metrics", "pprof", "playback", "hls", "webrtc"] {
        let c = one(
            &format!("{name}AllowOrigin: http://site\n"),
            &replaced(
                &format!("{name}AllowOrigin"),
                &format!("{name}AllowOrigins"),
            ),
        );
        let j = c.global_to_json();
        assert_eq!(
            j[format!("{name}AllowOrigins")],
            serde_json::json!(["http://site"])
        );
        assert_eq!(
            j[format!("{name}AllowOrigin")],
            serde_json::json!("http://site")
        );
    }
}

#[test]
fn disable_aliases() {
    let c = one("rtspDisable: yes\n", &replaced("rtspDisabled", "rtsp"));
    assert!(!c.rtsp);
    let c = one("rtmpDisable: yes\n", &replaced("rtmpDisabled", "rtmp"));
    assert!(!c.rtmp);
    let c = one("hlsDisable: true\n", &replaced("hlsDisable", "hls"));
    assert!(!c.hls);
    let c = one("webrtcDisable: yes\n", &replaced("webrtcDisable", "webrtc"));
    assert!(!c.webrtc);
}

#[test]
fn rtsp_aliases() {
    let c = one(
        "protocols: [tcp]\n",
        &replaced("protocols", "rtspTransports"),
    );
    assert_eq!(c.rtsp_transports, [RtspTransport::Tcp]);
    let c = one(
        "encryption: optional\n",
        &replaced("encryption", "rtspEncryption"),
    );
    assert_eq!(c.rtsp_encryption, Encryption::Optional);
    let c = one(
        "serverKey: k.pem\n",
        &replaced("serverKey", "rtspServerKey"),
    );
    assert_eq!(c.rtsp_server_key, "k.pem");
    let c = one(
        "serverCert: c.pem\n",
        &replaced("serverCert", "rtspServerCert"),
    );
    assert_eq!(c.rtsp_server_cert, "c.pem");
    let c = one(
        "authMethods: [digest]\n",
        &replaced("authMethods", "rtspAuthMethods"),
    );
    assert_eq!(c.rtsp_auth_methods, [RtspAuthMethod::Digest]);
}

#[test]
fn webrtc_aliases() {
    let c = one(
        "webrtcICEUDPMuxAddress: :9000\n",
        &replaced("webrtcICEUDPMuxAdderss", "webrtcLocalUDPAddress"),
    );
    assert_eq!(c.webrtc_local_udp_address, ":9000");
    let c = one(
        "webrtcICETCPMuxAddress: :9001\n",
        &replaced("webrtcICETCPMuxAddress", "webrtcLocalTCPAddress"),
    );
    assert_eq!(c.webrtc_local_tcp_address, ":9001");
    let c = one(
        "webrtcICEHostNAT1To1IPs: [1.2.3.4]\n",
        &replaced("webrtcICEHostNAT1To1IPs", "webrtcAdditionalHosts"),
    );
    assert_eq!(c.webrtc_additional_hosts, ["1.2.3.4"]);
    let c = one(
        "webrtcICEServers: [stun:stun.l.google.com:19302, turn:user:pass:host:3478]\n",
        &replaced("webrtcICEServers", "webrtcICEServers2"),
    );
    assert_eq!(c.webrtc_ice_servers2.len(), 2);
    assert_eq!(c.webrtc_ice_servers2[0].url, "stun:stun.l.google.com:19302");
    assert_eq!(c.webrtc_ice_servers2[1].url, "turn:host:3478");
    assert_eq!(c.webrtc_ice_servers2[1].username, "user");
    assert_eq!(c.webrtc_ice_servers2[1].password, "pass");
    let c = one(
        "moqHTTPS2Address: :7000\n",
        &replaced("moqHTTPS2Address", "moqHTTP2Address"),
    );
    assert_eq!(c.moq_http2_address, ":7000");
}

#[test]
fn top_level_record_keys() {
    let l = load(
        "record: yes\nrecordPath: ./r/%path/%s\nrecordFormat: mpegts\nrecordPartDuration: 2s\n\
         recordSegmentDuration: 2h\nrecordDeleteAfter: 2d\npaths:\n  cam:\n",
    );
    for k in [
        "record",
        "recordPath",
        "recordFormat",
        "recordPartDuration",
        "recordSegmentDuration",
        "recordDeleteAfter",
    ] {
        assert!(
            l.warnings
                .contains(&replaced(k, &format!("pathDefaults.{k}"))),
            "{k}: {:?}",
            l.warnings
        );
    }
    let cam = &l.conf.paths[0];
    assert!(cam.record);
    assert_eq!(cam.record_path, "./r/%path/%s");
    assert_eq!(cam.record_format, RecordFormat::Mpegts);
    assert_eq!(cam.record_part_duration, Duration::from_secs(2));
    assert_eq!(cam.record_segment_duration, Duration::from_secs(7200));
    assert_eq!(cam.record_delete_after, Duration::from_secs(2 * 86_400));
}

#[test]
fn path_level_aliases() {
    let c = one(
        "paths:\n  cam:\n    source: rtsp://h/x\n    sourceProtocol: tcp\n",
        &replaced("sourceProtocol", "rtspTransport"),
    );
    assert_eq!(c.paths[0].rtsp_transport, RtspTransport::Tcp);
    let c = one(
        "paths:\n  cam:\n    source: rtsp://h/x\n    sourceAnyPortEnable: yes\n",
        &replaced("sourceAnyPortEnable", "rtspAnyPort"),
    );
    assert!(c.paths[0].rtsp_any_port);
    let c = one(
        "paths:\n  cam:\n    runOnReady: ffmpeg a\n",
        &replaced("runOnReady", "runOnAvailable"),
    );
    assert_eq!(c.paths[0].run_on_available, "ffmpeg a");
    let c = one(
        "paths:\n  cam:\n    runOnReadyRestart: yes\n",
        &replaced("runOnReadyRestart", "runOnAvailableRestart"),
    );
    assert!(c.paths[0].run_on_available_restart);
    let c = one(
        "paths:\n  cam:\n    runOnNotReady: ffmpeg b\n",
        &replaced("runOnNotReady", "runOnUnavailable"),
    );
    assert_eq!(c.paths[0].run_on_unavailable, "ffmpeg b");
    let c = one(
        "paths:\n  cam:\n    disablePublisherOverride: yes\n",
        &replaced("disablePublisherOverride", "overridePublisher"),
    );
    assert!(!c.paths[0].override_publisher);
    one(
        "paths:\n  cam:\n    fallback: /other\n",
        "the 'fallback' feature is deprecated, use 'alwaysAvailable' instead",
    );
    one(
        "paths:\n  cam:\n    playback: yes\n",
        "parameter 'playback' is deprecated and has no effect",
    );
    // In pathDefaults the alias applies to every path.
    let c = one(
        "pathDefaults:\n  runOnReady: x\npaths:\n  a:\n  b:\n",
        &replaced("runOnReady", "runOnAvailable"),
    );
    assert!(c.paths.iter().all(|p| p.run_on_available == "x"));
}

#[test]
fn legacy_credentials_become_internal_users() {
    let l = load(
        "paths:\n  cam:\n    publishUser: pub\n    publishPass: secret\n    readIPs: [10.0.0.0/8]\n  all_others:\n",
    );
    assert_eq!(
        l.warnings,
        [
            "you are using one or more authentication-related deprecated parameters (publishUser, publishPass, publishIPs, readUser, readPass, readIPs). These have been replaced by 'authInternalUsers'"
        ]
    );
    let users = &l.conf.auth_internal_users;
    // playback for anyone, local admin, then publish+read per path in name order.
    assert_eq!(users.len(), 6);
    assert_eq!(users[0].permissions[0].action, AuthAction::Playback);
    assert_eq!(users[1].permissions[0].action, AuthAction::Api);
    assert_eq!(users[2].user, "any");
    assert_eq!(users[2].permissions[0].path, "~^.*$");
    assert_eq!(users[2].ips[0].to_string(), "0.0.0.0/0");
    let publish = &users[4];
    assert_eq!(
        (publish.user.as_str(), publish.pass.as_str()),
        ("pub", "secret")
    );
    assert_eq!(publish.permissions[0].action, AuthAction::Publish);
    assert_eq!(publish.permissions[0].path, "cam");
    let read = &users[5];
    assert_eq!(read.user, "any");
    assert_eq!(read.ips[0].to_string(), "10.0.0.0/8");
    assert_eq!(read.permissions[0].action, AuthAction::Read);

    // MediaMTX refuses to validate such a configuration twice (as the API
    // does after each change); here it stays valid and unchanged.
    let mut again = l.conf.clone();
    again.validate().unwrap();
    assert_eq!(again, l.conf);

    let e = load_from_str(
        "authInternalUsers:\n- user: a\n  pass: b\n  permissions: []\npaths:\n  cam:\n    readUser: x\n",
        &no_env,
    )
    .unwrap_err();
    assert!(e.to_string().contains("cannot be used together"), "{e}");
}

#[test]
fn moq_and_rpi_camera_aliases() {
    let c = one(
        "moqHTTPS3Address: :7001\n",
        &replaced("moqHTTPS3Address", "moqHTTP3Address"),
    );
    assert_eq!(c.moq_http3_address, ":7001");
    let c = one(
        "paths:\n  cam:\n    source: rpiCamera\n    rpiCameraJPEGQuality: 80\n",
        &replaced("rpiCameraJPEGQuality", "rpiCameraMJPEGQuality"),
    );
    assert_eq!(c.paths[0].rpi_camera_mjpeg_quality, 80);
    let l = load("paths:\n  cam:\n    source: rpiCamera\n    rpiCameraProfile: main\n");
    assert_eq!(
        l.warnings,
        [
            replaced("rpiCameraProfile", "rpiCameraHardwareH264Profile"),
            replaced("rpiCameraHardwareH264Profile", "rpiCameraH264Profile"),
        ]
    );
    for (key, new) in [
        ("rpiCameraSoftwareH264Profile", "rpiCameraH264Profile"),
        ("rpiCameraSoftwareH264Level", "rpiCameraH264Level"),
        ("rpiCameraHardwareH264Level", "rpiCameraH264Level"),
    ] {
        let value = if key.ends_with("Level") {
            "'4.2'"
        } else {
            "high"
        };
        one(
            &format!("paths:\n  cam:\n    source: rpiCamera\n    {key}: {value}\n"),
            &replaced(key, new),
        );
    }
    let e = load_from_str(
        "paths:\n  cam:\n    source: rpiCamera\n    rpiCameraLevel: '9.9'\n",
        &no_env,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "invalid 'rpiCameraHardwareH264Level' value");
}

#[test]
fn read_buffer_sizes_are_kept_for_their_users() {
    // MediaMTX uses these directly when set (no warning).
    let l = load(
        "rtspUDPReadBufferSize: 100000\npaths:\n  cam:\n    source: udp+mpegts://238.0.0.1:1234\n    mpegtsUDPReadBufferSize: 2000\n",
    );
    assert!(l.warnings.is_empty());
    assert_eq!(l.conf.rtsp_udp_read_buffer_size, Some(100_000));
    assert_eq!(l.conf.paths[0].mpegts_udp_read_buffer_size, Some(2000));
}
