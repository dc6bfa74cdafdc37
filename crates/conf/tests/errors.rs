//! Invalid configurations give one-line errors naming the key and line.

use ferromtx_conf::{ConfError, load_from_str};

fn no_env(_: &str) -> Option<String> {
    None
}

fn err(yaml: &str) -> String {
    let e = load_from_str(yaml, &no_env).unwrap_err();
    let text = e.to_string();
    assert!(!text.contains('\n'), "multi-line error: {text}");
    text
}

#[test]
fn unknown_global_key() {
    assert_eq!(
        err("logLevel: info\nrtspAdress: :8554\n"),
        "unknown parameter 'rtspAdress' (line 2)"
    );
}

#[test]
fn unknown_path_defaults_key() {
    assert_eq!(
        err("pathDefaults:\n  sourc: publisher\n"),
        "unknown parameter 'pathDefaults.sourc' (line 2)"
    );
}

#[test]
fn unknown_path_key() {
    assert_eq!(
        err("paths:\n  cam1:\n    source: publisher\n    recrd: yes\n"),
        "unknown parameter 'paths.cam1.recrd' (line 4)"
    );
}

#[test]
fn unknown_nested_key() {
    assert_eq!(
        err("authInternalUsers:\n  - user: a\n    pass: b\n    usr: c\n    permissions: []\n"),
        "unknown parameter 'authInternalUsers[0].usr' (line 4)"
    );
}

#[test]
fn wrong_types() {
    assert_eq!(
        err("writeQueueSize: abc\n"),
        "invalid value for 'writeQueueSize': expected an integer, got a string (line 1)"
    );
    assert_eq!(
        err("rtsp: maybe\n"),
        "invalid value for 'rtsp': expected a boolean, got a string (line 1)"
    );
    assert_eq!(
        err("\nrtspAddress: [a]\n"),
        "invalid value for 'rtspAddress': expected a string, got a list (line 2)"
    );
    assert_eq!(
        err("paths:\n  cam:\n    maxReaders: 1.5\n"),
        "invalid value for 'paths.cam.maxReaders': expected an integer, got a number (line 3)"
    );
}

#[test]
fn write_queue_size_power_of_two() {
    assert_eq!(
        err("writeQueueSize: 1000\n"),
        "invalid value for 'writeQueueSize': must be a power of two"
    );
    assert_eq!(
        err("writeQueueSize: 0\n"),
        "'writeQueueSize' must be greater than zero"
    );
}

#[test]
fn udp_max_payload_size_limit() {
    assert_eq!(
        err("udpMaxPayloadSize: 1473\n"),
        "'udpMaxPayloadSize' must be at most 1472"
    );
    assert!(load_from_str("udpMaxPayloadSize: 1472\n", &no_env).is_ok());
}

#[test]
fn rtsp_udp_source_port_range_is_two_ordered_ports() {
    for bad in ["[5]", "[40001, 40000]", "[1, 2, 3]", "[40000, 70000]"] {
        let e = err(&format!(
            "paths:\n  cam:\n    source: rtsp://h/x\n    rtspUDPSourcePortRange: {bad}\n"
        ));
        assert!(
            e.contains("'rtspUDPSourcePortRange' must be two ports"),
            "{bad}: {e}"
        );
    }
    let ok = "paths:\n  cam:\n    source: rtsp://h/x\n    rtspUDPSourcePortRange: [40000, 40003]\n";
    assert!(load_from_str(ok, &no_env).is_ok());
}

#[test]
fn invalid_regex_path() {
    let e = load_from_str("paths:\n  ~^cam(:\n", &no_env).unwrap_err();
    assert!(matches!(e, ConfError::InvalidRegex { ref name, .. } if name == "~^cam("));
    assert_eq!(
        e.to_string(),
        "invalid regular expression in path '~^cam(': unclosed group"
    );
}

#[test]
fn invalid_path_name() {
    assert_eq!(
        err("paths:\n  cam 1:\n"),
        "invalid path name 'cam 1': can contain only alphanumeric characters, underscore, dot, minus, slash"
    );
    assert_eq!(
        err("paths:\n  /cam:\n"),
        "invalid path name '/cam': can't begin with a slash"
    );
}

#[test]
fn duplicate_keys() {
    assert_eq!(
        err("rtsp: yes\nrtmp: no\nrtsp: no\n"),
        "duplicate key 'rtsp' (line 3)"
    );
    assert_eq!(
        err("paths:\n  cam:\n    source: publisher\n    source: publisher\n"),
        "duplicate key 'source' (line 4)"
    );
}

#[test]
fn bad_duration() {
    assert_eq!(
        err("logLevel: info\nwriteTimeout: 5s\nreadTimeout: 10x\n"),
        "invalid duration '10x' for 'readTimeout' (line 3)"
    );
    assert_eq!(
        err("pathDefaults:\n  recordDeleteAfter: 1y\n"),
        "invalid duration '1y' for 'pathDefaults.recordDeleteAfter' (line 2)"
    );
    assert_eq!(
        err("readTimeout: 0s\n"),
        "'readTimeout' must be greater than zero"
    );
}

#[test]
fn bad_enum_values() {
    assert_eq!(
        err("logLevel: verbose\n"),
        "invalid value for 'logLevel': invalid log level: 'verbose' (line 1)"
    );
    assert_eq!(
        err("rtspTransports: [udp, quic]\n"),
        "invalid value for 'rtspTransports': invalid transport: quic (line 1)"
    );
    assert_eq!(
        err("authMethod: ldap\n"),
        "invalid value for 'authMethod': invalid authMethod: 'ldap' (line 1)"
    );
    assert_eq!(
        err("hlsVariant: dash\n"),
        "invalid value for 'hlsVariant': invalid HLS variant: 'dash' (line 1)"
    );
    assert_eq!(
        err("pathDefaults:\n  recordFormat: mkv\n"),
        "invalid value for 'pathDefaults.recordFormat': invalid record format 'mkv' (line 2)"
    );
    assert_eq!(
        err("authInternalUsers:\n- user: any\n  permissions:\n  - action: write\n"),
        "invalid value for 'authInternalUsers[0].permissions[0].action': invalid auth action: 'write' (line 4)"
    );
    assert_eq!(
        err("apiTrustedProxies: [10.0.0.300]\n"),
        "invalid value for 'apiTrustedProxies[0]': unable to parse IP/CIDR '10.0.0.300' (line 1)"
    );
}

#[test]
fn bad_size() {
    assert!(
        err("hlsSegmentMaxSize: 50X\n")
            .starts_with("invalid value for 'hlsSegmentMaxSize': byte quantity")
    );
}

#[test]
fn source_rules() {
    assert_eq!(
        err("paths:\n  cam:\n    source: ftp://host/x\n"),
        "invalid source: 'ftp://host/x'"
    );
    assert_eq!(
        err("paths:\n  cam:\n    source: rtsp://user@host/x\n"),
        "username and password must be both provided"
    );
    assert_eq!(
        err("paths:\n  cam:\n    source: rtsp:///x\n"),
        "'rtsp:///x' is not a valid URL"
    );
    assert_eq!(
        err("paths:\n  cam:\n    source: udp://238.0.0.1\n"),
        "'udp://238.0.0.1' is missing the port"
    );
    assert_eq!(
        err("paths:\n  cam:\n    sourceOnDemand: yes\n"),
        "'sourceOnDemand' is useless when source is 'publisher'"
    );
    assert_eq!(
        err("paths:\n  ~^cam$:\n    source: rtsp://h/x\n"),
        "a path with a regular expression (or path 'all_others') and a static source must have 'sourceOnDemand' set to true"
    );
    assert_eq!(
        err("paths:\n  cam:\n    source: rtsp://h/x\n    runOnDemand: ffmpeg\n"),
        "'runOnDemand' and 'runOnUnDemand' can be used only when source is 'publisher'"
    );
    assert_eq!(
        err("paths:\n  all_others:\n    runOnInit: x\n"),
        "a path with a regular expression (or path 'all_others') does not support option 'runOnInit'; use another path"
    );
    assert_eq!(
        err("paths:\n  cam:\n    source: redirect\n"),
        "source redirect must be filled"
    );
    assert_eq!(
        err("paths:\n  all:\n  all_others:\n"),
        "all_others, all and '~^.*$' are aliases"
    );
    assert!(load_from_str(
        "paths:\n  cam:\n    source: rtsp://u:p@h:554/x\n  ~^r(\\d+)$:\n    source: rtsp://h:$G1/x\n    sourceOnDemand: yes\n  re:\n    source: redirect\n    sourceRedirect: rtsp://other/x\n",
        &no_env
    )
    .is_ok());
}

#[test]
fn other_global_rules() {
    assert_eq!(err("authMethod: http\n"), "'authHTTPAddress' is empty");
    assert_eq!(
        err("authMethod: jwt\nauthJWTJWKS: ftp://x\n"),
        "'authJWTJWKS' must be a HTTP URL"
    );
    assert_eq!(
        err(
            "rtspAuthMethods: [digest]\nauthInternalUsers:\n- user: sha256:abc=\n  pass: x\n  permissions: []\n"
        ),
        "when RTSP digest is enabled, hashed credentials cannot be used"
    );
    assert_eq!(
        err("authInternalUsers:\n- user: any\n  pass: secret\n  permissions: []\n"),
        "using a password with 'any' user is not supported"
    );
    assert_eq!(
        err("webrtcICEServers2:\n- url: http://x\n"),
        "invalid ICE server: 'http://x'"
    );
    assert_eq!(
        err("pathDefaults:\n  recordPath: ./rec/%Y\npaths:\n  cam:\n"),
        "'recordPath' must contain %path"
    );
}

#[test]
fn yaml_syntax_error_has_line() {
    let e = load_from_str("logLevel: info\nrtsp: [\n", &no_env).unwrap_err();
    assert!(
        matches!(e, ConfError::Yaml { line, .. } if line > 0),
        "{e:?}"
    );
}

#[test]
fn yaml_errors_are_one_line() {
    for yaml in [
        "logLevel: info\nrtsp: [\n",
        "a: b: c\n",
        "- 1\n- 2\n",
        "key: 'unterminated\n",
        "---\na: 1\n---\nb: 2\n",
        "\t- x\n",
    ] {
        let e = load_from_str(yaml, &no_env).unwrap_err().to_string();
        assert!(!e.contains('\n') && !e.is_empty(), "{yaml:?}: {e}");
    }
}

#[test]
fn truncated_or_mangled_files_never_panic() {
    let Some(text) = ferromtx_testkit::compat::read("mediamtx.yml") else {
        return;
    };
    let mut cut = 0;
    let mut checked = 0;
    while cut < text.len() && checked < 400 {
        if text.is_char_boundary(cut) {
            let _ = load_from_str(&text[..cut], &no_env);
            let mangled = format!("{}: [\n{}", &text[..cut], &text[cut..]);
            let _ = load_from_str(&mangled, &no_env);
            checked += 1;
        }
        cut += 211;
    }
    assert!(checked > 100);
}
