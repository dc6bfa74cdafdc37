//! JSON for the /v3 config API: global get/patch and path add/patch.

use ferromtx_conf::{Conf, ConfError, PathConf, load_from_str};
use serde_json::json;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn global_round_trip_with_a_subset() {
    let mut c = Conf::default();
    let before = c.global_to_json();
    c.patch_global(&json!({
        "logLevel": "debug",
        "readTimeout": "1m30s",
        "rtspTransports": ["tcp"],
        "hlsSegmentMaxSize": "1.5M",
        "apiTrustedProxies": ["10.0.0.0/8"],
        "authInternalUsers": [{"user": "u", "pass": "p", "ips": [], "permissions": [{"action": "read", "path": "cam"}]}]
    }))
    .unwrap();
    c.validate().unwrap();
    let after = c.global_to_json();
    assert_eq!(after["logLevel"], "debug");
    assert_eq!(after["readTimeout"], "1m30s");
    assert_eq!(after["rtspTransports"], json!(["tcp"]));
    assert_eq!(after["hlsSegmentMaxSize"], "1.5M");
    assert_eq!(after["apiTrustedProxies"], json!(["10.0.0.0/8"]));
    assert_eq!(
        after["authInternalUsers"][0]["permissions"][0]["path"],
        "cam"
    );
    // Everything else is unchanged.
    let (before, after) = (before.as_object().unwrap(), after.as_object().unwrap());
    for (k, v) in before {
        if ![
            "logLevel",
            "readTimeout",
            "rtspTransports",
            "hlsSegmentMaxSize",
            "apiTrustedProxies",
            "authInternalUsers",
        ]
        .contains(&k.as_str())
        {
            assert_eq!(after.get(k), Some(v), "{k}");
        }
    }
    // Patching back with the full JSON restores the same object.
    let mut d = Conf::default();
    d.patch_global(&c.global_to_json()).unwrap();
    assert_eq!(d.global_to_json(), c.global_to_json());
}

#[test]
fn unknown_or_wrong_patch_keys_are_errors_and_change_nothing() {
    let mut c = Conf::default();
    let e = c
        .patch_global(&json!({"logLevel": "debug", "rtspAdress": ":1"}))
        .unwrap_err();
    assert_eq!(
        e,
        ConfError::UnknownKey {
            key: "rtspAdress".into(),
            line: 0
        }
    );
    assert_eq!(e.to_string(), "unknown parameter 'rtspAdress'");
    assert_eq!(c, Conf::default());
    let e = c
        .patch_global(&json!({"writeQueueSize": "big"}))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value for 'writeQueueSize': expected an integer, got a string"
    );
    assert!(c.patch_global(&json!({"paths": {}})).is_err());
}

#[test]
fn path_json_add_patch_and_defaults() {
    let mut c = load_from_str("pathDefaults:\n  maxReaders: 5\npaths:\n  cam:\n", &no_env)
        .unwrap()
        .conf;
    let p = PathConf::from_json(
        "new",
        &c.path_defaults,
        &json!({"source": "rtsp://h/x", "sourceOnDemand": true}),
    )
    .unwrap();
    assert_eq!(p.max_readers, 5);
    assert_eq!(p.to_json()["name"], "new");
    assert_eq!(p.to_json()["source"], "rtsp://h/x");
    c.add_path(
        "new",
        &json!({"source": "rtsp://h/x", "sourceOnDemand": true}),
    )
    .unwrap();
    assert_eq!(
        c.add_path("new", &json!({})).unwrap_err(),
        ConfError::PathExists("new".into())
    );
    c.patch_path("cam", &json!({"record": true})).unwrap();
    assert!(c.patch_path("cam", &json!({"recrd": true})).is_err());
    assert!(c.patch_path("cam", &json!({"maxReaders": "x"})).is_err());
    c.patch_path_defaults(&json!({"maxReaders": 8})).unwrap();
    c.validate().unwrap();
    let cam = c.find_path_conf("cam").unwrap().conf;
    assert!(cam.record);
    assert_eq!(cam.max_readers, 8, "paths follow new defaults");
    assert_eq!(c.find_path_conf("new").unwrap().conf.max_readers, 8);
    let mut p = cam.clone();
    let e = p.patch(&json!({"bogus": 1})).unwrap_err();
    assert_eq!(e.to_string(), "unknown parameter 'paths.cam.bogus'");
    c.remove_path("new").unwrap();
    assert!(c.find_path_conf("new").is_err());
}

/// Property names of an openapi schema (top-level keys of `properties`).
/// `None` (the caller skips) outside CI when the upstream spec is absent.
fn openapi_properties(schema: &str) -> Option<Vec<String>> {
    let text = ferromtx_testkit::compat::read("openapi.yaml")?;
    let start = text.find(&format!("\n    {schema}:\n")).unwrap();
    let section = &text[start + 1..];
    let props = section.find("      properties:\n").unwrap();
    let mut out = Vec::new();
    for line in section[props..].lines().skip(1) {
        if !line.starts_with("        ") {
            break;
        }
        if !line.starts_with("         ") && line.trim_end().ends_with(':') {
            out.push(line.trim().trim_end_matches(':').to_string());
        }
    }
    assert!(out.len() > 10, "{schema}: {out:?}");
    Some(out)
}

#[test]
fn path_json_has_every_openapi_key() {
    let j = Conf::default().path_defaults.to_json();
    let obj = j.as_object().unwrap();
    let deprecated = [
        "disablePublisherOverride",
        "fallback",
        "mpegtsUDPReadBufferSize",
        "playback",
        "publishIPs",
        "publishPass",
        "publishUser",
        "readIPs",
        "readPass",
        "readUser",
        "rpiCameraHardwareH264Level",
        "rpiCameraHardwareH264Profile",
        "rpiCameraJPEGQuality",
        "rpiCameraLevel",
        "rpiCameraProfile",
        "rpiCameraSoftwareH264Level",
        "rpiCameraSoftwareH264Profile",
        "rtpUDPReadBufferSize",
        "rtspUDPReadBufferSize",
        "runOnNotReady",
        "runOnReady",
        "runOnReadyRestart",
        "sourceAnyPortEnable",
        "sourceProtocol",
    ];
    let Some(spec) = openapi_properties("PathConf") else {
        return;
    };
    let missing: Vec<_> = spec
        .iter()
        .filter(|k| !obj.contains_key(k.as_str()) && !deprecated.contains(&k.as_str()))
        .collect();
    assert!(missing.is_empty(), "missing: {missing:?}");
    let unknown: Vec<_> = obj.keys().filter(|k| !spec.contains(k)).collect();
    assert!(unknown.is_empty(), "not in the spec: {unknown:?}");
    // Deprecated keys appear once set.
    let mut p = Conf::default().path_defaults;
    p.patch(&json!({"sourceProtocol": "tcp", "publishIPs": ["10.0.0.1"]}))
        .unwrap();
    assert_eq!(p.to_json()["sourceProtocol"], "tcp");
    assert_eq!(p.to_json()["publishIPs"], json!(["10.0.0.1/32"]));
}

#[test]
fn global_json_has_every_openapi_key() {
    let j = Conf::default().global_to_json();
    let obj = j.as_object().unwrap();
    let Some(spec) = openapi_properties("GlobalConf") else {
        return;
    };
    let deprecated = [
        "apiAllowOrigin",
        "authJWTInHTTPQuery",
        "authMethods",
        "encryption",
        "externalAuthenticationURL",
        "hlsAllowOrigin",
        "hlsDisable",
        "metricsAllowOrigin",
        "moqHTTPS2Address",
        "moqHTTPS3Address",
        "playbackAllowOrigin",
        "pprofAllowOrigin",
        "protocols",
        "readBufferCount",
        "record",
        "recordDeleteAfter",
        "recordFormat",
        "recordPartDuration",
        "recordPath",
        "recordSegmentDuration",
        "rtmpDisable",
        "rtspDisable",
        "rtspUDPReadBufferSize",
        "webrtcAllowOrigin",
        "webrtcDisable",
        "webrtcICEHostNAT1To1IPs",
        "webrtcICEServers",
        "webrtcICETCPMuxAddress",
        "webrtcICEUDPMuxAddress",
    ];
    let missing: Vec<_> = spec
        .iter()
        .filter(|k| !obj.contains_key(k.as_str()) && !deprecated.contains(&k.as_str()))
        .collect();
    assert!(missing.is_empty(), "missing: {missing:?}");
    let unknown: Vec<_> = obj.keys().filter(|k| !spec.contains(k)).collect();
    assert!(unknown.is_empty(), "not in the spec: {unknown:?}");
    // Every deprecated key of the spec is accepted by a patch.
    let mut c = Conf::default();
    c.patch_global(&json!({"readBufferCount": 64, "rtspDisable": true, "protocols": ["tcp"]}))
        .unwrap();
    let warnings = c.validate().unwrap();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert_eq!(c.global_to_json()["writeQueueSize"], 64);
    assert_eq!(c.global_to_json()["readBufferCount"], 64);
}
