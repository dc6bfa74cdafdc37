//! The upstream default file loads unchanged and equals `Conf::default()`.
#![recursion_limit = "512"]

use ferromtx_conf::{Conf, load_from_str};
use serde_json::{Value, json};

/// MediaMTX's default file; `None` (the test skips) outside CI when it is absent.
fn compat() -> Option<String> {
    ferromtx_testkit::compat::read("mediamtx.yml")
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn compat_file_loads_and_equals_default() {
    let Some(compat) = compat() else { return };
    let loaded = load_from_str(&compat, &no_env).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let mut default = Conf::default();
    default.validate().unwrap();
    assert_eq!(loaded.conf.global_to_json(), default.global_to_json());
    assert_eq!(
        loaded.conf.path_defaults.to_json(),
        default.path_defaults.to_json()
    );
    assert_eq!(loaded.conf, default);
    assert_eq!(loaded.conf, Conf::default());
    let names: Vec<_> = loaded.conf.paths.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["all_others"]);
}

#[test]
fn empty_file_gives_defaults_without_paths() {
    let loaded = load_from_str("", &no_env).unwrap();
    assert!(loaded.conf.paths.is_empty());
    assert_eq!(
        loaded.conf.global_to_json(),
        Conf::default().global_to_json()
    );
}

#[test]
fn global_defaults_one_by_one() {
    let expected = json!({
        "logLevel": "info", "logDestinations": ["stdout"], "logStructured": false,
        "logFile": "mediamtx.log", "sysLogPrefix": "mediamtx", "dumpPackets": false,
        "readTimeout": "10s", "writeTimeout": "10s", "writeQueueSize": 512,
        "udpMaxPayloadSize": 1452, "udpReadBufferSize": 0,
        "runOnConnect": "", "runOnConnectRestart": false, "runOnDisconnect": "",
        "authMethod": "internal",
        "authInternalUsers": [
            {"user": "any", "pass": "", "ips": [], "permissions": [
                {"action": "publish", "path": ""}, {"action": "read", "path": ""},
                {"action": "playback", "path": ""}]},
            {"user": "any", "pass": "", "ips": ["127.0.0.1/32", "::1/128"], "permissions": [
                {"action": "api", "path": ""}, {"action": "metrics", "path": ""},
                {"action": "pprof", "path": ""}]}
        ],
        "authHTTPAddress": "", "authHTTPFingerprint": "",
        "authHTTPExclude": [], "authJWTJWKS": "", "authJWTJWKSFingerprint": "",
        "authJWTClaimKey": "mediamtx_permissions", "authJWTExclude": [],
        "authJWTIssuer": "", "authJWTAudience": "",
        "api": false, "apiAddress": ":9997", "apiEncryption": false,
        "apiServerKey": "server.key", "apiServerCert": "server.crt",
        "apiAllowOrigins": ["*"], "apiTrustedProxies": [],
        "metrics": false, "metricsAddress": ":9998", "metricsEncryption": false,
        "metricsServerKey": "server.key", "metricsServerCert": "server.crt",
        "metricsAllowOrigins": ["*"], "metricsTrustedProxies": [],
        "pprof": false, "pprofAddress": ":9999", "pprofEncryption": false,
        "pprofServerKey": "server.key", "pprofServerCert": "server.crt",
        "pprofAllowOrigins": ["*"], "pprofTrustedProxies": [],
        "playback": false, "playbackAddress": ":9996", "playbackEncryption": false,
        "playbackServerKey": "server.key", "playbackServerCert": "server.crt",
        "playbackAllowOrigins": ["*"], "playbackTrustedProxies": [],
        "rtsp": true, "rtspTransports": ["multicast", "tcp", "udp"],
        "rtspEncryption": "no", "rtspAddress": ":8554", "rtspsAddress": ":8322",
        "rtpAddress": ":8000", "rtcpAddress": ":8001", "multicastIPRange": "224.1.0.0/16",
        "multicastRTPPort": 8002, "multicastRTCPPort": 8003,
        "srtpAddress": ":8004", "srtcpAddress": ":8005",
        "multicastSRTPPort": 8006, "multicastSRTCPPort": 8007,
        "rtspServerKey": "server.key", "rtspServerCert": "server.crt",
        "rtspAuthMethods": ["basic"], "rtspTrustedProxies": [],
        "rtmp": true, "rtmpEncryption": "no", "rtmpAddress": ":1935",
        "rtmpsAddress": ":1936", "rtmpServerKey": "server.key",
        "rtmpServerCert": "server.crt", "rtmpTrustedProxies": [],
        "hls": true, "hlsAddress": ":8888", "hlsEncryption": false,
        "hlsServerKey": "server.key", "hlsServerCert": "server.crt",
        "hlsAllowOrigins": ["*"], "hlsTrustedProxies": [], "hlsAlwaysRemux": false,
        "hlsVariant": "lowLatency", "hlsSegmentCount": 7, "hlsSegmentDuration": "1s",
        "hlsPartDuration": "200ms", "hlsSegmentMaxSize": "50M", "hlsDirectory": "",
        "hlsMuxerCloseAfter": "1m0s", "hlsCDNSecret": "",
        "webrtc": true, "webrtcAddress": ":8889", "webrtcEncryption": false,
        "webrtcServerKey": "server.key", "webrtcServerCert": "server.crt",
        "webrtcAllowOrigins": ["*"], "webrtcTrustedProxies": [],
        "webrtcLocalUDPAddress": ":8189", "webrtcLocalTCPAddress": "",
        "webrtcIPsFromInterfaces": true, "webrtcIPsFromInterfacesList": [],
        "webrtcAdditionalHosts": [], "webrtcICEServers2": [],
        "webrtcSTUNGatherTimeout": "5s", "webrtcHandshakeTimeout": "10s",
        "webrtcTrackGatherTimeout": "2s",
        "srt": true, "srtAddress": ":8890",
        "moq": true, "moqHTTP2Address": ":8892", "moqHTTP3Address": ":8892",
        "moqQUICAddress": ":8893", "moqServerKey": "auto.key", "moqServerCert": "auto.crt",
        "moqAllowOrigins": ["*"], "moqTrustedProxies": []
    });
    let Some(compat) = compat() else { return };
    let from_file = load_from_str(&compat, &no_env)
        .unwrap()
        .conf
        .global_to_json();
    let default = Conf::default().global_to_json();
    let (Value::Object(exp), Value::Object(got), Value::Object(def)) =
        (&expected, &from_file, &default)
    else {
        panic!("not objects");
    };
    for (k, v) in exp {
        assert_eq!(got.get(k), Some(v), "file value of {k}");
        assert_eq!(def.get(k), Some(v), "default value of {k}");
    }
    let extra: Vec<_> = got.keys().filter(|k| !exp.contains_key(*k)).collect();
    assert!(extra.is_empty(), "keys without expectation: {extra:?}");
}

#[test]
fn path_defaults_one_by_one() {
    let expected = json!({
        "name": "", "source": "publisher", "sourceFingerprint": "", "sourceOnDemand": false,
        "sourceOnDemandStartTimeout": "10s", "sourceOnDemandCloseAfter": "10s",
        "maxReaders": 0, "srtReadPassphrase": "", "useAbsoluteTimestamp": false,
        "alwaysAvailable": false, "alwaysAvailableTracks": [], "alwaysAvailableFile": "",
        "forward": [],
        "record": false, "recordPath": "./recordings/%path/%Y-%m-%d_%H-%M-%S-%f",
        "recordFormat": "fmp4", "recordPartDuration": "1s", "recordMaxPartSize": "50M",
        "recordSegmentDuration": "1h0m0s", "recordDeleteAfter": "1d",
        "overridePublisher": true, "srtPublishPassphrase": "", "rtspDemuxMpegts": false,
        "rtspTransport": "automatic", "rtspAnyPort": false, "rtspRangeType": "",
        "rtspRangeStart": "", "rtspScale": "", "rtspUDPSourcePortRange": [32768, 60999],
        "rtpSDP": "", "moqTransport": "quic",
        "whepBearerToken": "", "whepSTUNGatherTimeout": "5s",
        "whepHandshakeTimeout": "10s", "whepTrackGatherTimeout": "2s",
        "sourceRedirect": "",
        "rpiCameraCamID": 0, "rpiCameraSecondary": false, "rpiCameraWidth": 1920,
        "rpiCameraHeight": 1080, "rpiCameraHFlip": false, "rpiCameraVFlip": false,
        "rpiCameraBrightness": 0, "rpiCameraContrast": 1, "rpiCameraSaturation": 1,
        "rpiCameraSharpness": 1, "rpiCameraExposure": "normal", "rpiCameraAWB": "auto",
        "rpiCameraAWBGains": [0, 0], "rpiCameraDenoise": "off", "rpiCameraShutter": 0,
        "rpiCameraMetering": "centre", "rpiCameraGain": 0, "rpiCameraEV": 0,
        "rpiCameraROI": "", "rpiCameraHDR": false, "rpiCameraTuningFile": "",
        "rpiCameraMode": "", "rpiCameraFPS": 30, "rpiCameraAfMode": "continuous",
        "rpiCameraAfRange": "normal", "rpiCameraAfSpeed": "normal",
        "rpiCameraLensPosition": 0, "rpiCameraAfWindow": "", "rpiCameraFlickerPeriod": 0,
        "rpiCameraTextOverlayEnable": false,
        "rpiCameraTextOverlay": "%Y-%m-%d %H:%M:%S - MediaMTX",
        "rpiCameraCodec": "auto", "rpiCameraIDRPeriod": 60, "rpiCameraBitrate": 5000000,
        "rpiCameraH264Profile": "auto", "rpiCameraH264Level": "4.1",
        "rpiCameraMJPEGQuality": 60,
        "runOnInit": "", "runOnInitRestart": false, "runOnDemand": "",
        "runOnDemandRestart": false, "runOnDemandStartTimeout": "10s",
        "runOnDemandCloseAfter": "10s", "runOnUnDemand": "", "runOnAvailable": "",
        "runOnAvailableRestart": false, "runOnUnavailable": "", "runOnOnline": "",
        "runOnOnlineRestart": false, "runOnOffline": "", "runOnRead": "",
        "runOnReadRestart": false, "runOnUnread": "", "runOnRecordSegmentCreate": "",
        "runOnRecordSegmentComplete": ""
    });
    let Some(compat) = compat() else { return };
    let from_file = load_from_str(&compat, &no_env).unwrap().conf;
    assert_eq!(from_file.path_defaults.to_json(), expected);
    assert_eq!(Conf::default().path_defaults.to_json(), expected);
    let mut all_others = expected.clone();
    all_others["name"] = json!("all_others");
    assert_eq!(from_file.paths[0].to_json(), all_others);
}

#[test]
fn validate_is_idempotent() {
    let yaml = "readBufferCount: 256\npathDefaults:\n  runOnReady: x\npaths:\n  cam:\n    source: rtsp://h/x\n    sourceProtocol: tcp\n  ~^a(.*)$:\n";
    let l = load_from_str(yaml, &no_env).unwrap();
    let mut again = l.conf.clone();
    let warnings = again.validate().unwrap();
    assert_eq!(again, l.conf);
    assert_eq!(warnings, l.warnings);
}
