//! How values are written: booleans, empty values, lists, numbers.

use ferromtx_conf::{LogDestination, load_from_str};
use std::time::Duration;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn booleans_accept_yes_no_on_off_true_false() {
    for (text, value) in [
        ("yes", true),
        ("Yes", true),
        ("on", true),
        ("true", true),
        ("True", true),
        ("no", false),
        ("NO", false),
        ("off", false),
        ("false", false),
    ] {
        let yaml = format!("api: {text}\nrtsp: {}\n", if value { "no" } else { "yes" });
        let c = load_from_str(&yaml, &no_env).unwrap().conf;
        assert_eq!(c.api, value, "{text}");
        assert_eq!(c.rtsp, !value, "{text}");
    }
}

#[test]
fn quoted_yes_is_a_string() {
    let c = load_from_str("runOnConnect: \"yes\"\n", &no_env)
        .unwrap()
        .conf;
    assert_eq!(c.run_on_connect, "yes");
    assert!(load_from_str("runOnConnect: yes\n", &no_env).is_err());
}

#[test]
fn empty_values_keep_defaults_or_mean_empty() {
    let yaml = "runOnConnect:\napiAddress:\nrtsp:\npaths:\n  cam:\n    recordDeleteAfter:\n    runOnInit:\n";
    let c = load_from_str(yaml, &no_env).unwrap().conf;
    assert_eq!(c.run_on_connect, "");
    assert_eq!(c.api_address, ":9997");
    assert!(c.rtsp);
    // A null duration is zero, as MediaMTX reads it.
    assert_eq!(c.paths[0].record_delete_after, Duration::ZERO);
    assert_eq!(c.paths[0].run_on_init, "");
    // A null list is refused, as MediaMTX refuses nil slices.
    assert!(load_from_str("apiAllowOrigins:\n", &no_env).is_err());
}

#[test]
fn lists_numbers_and_paths_in_file_order() {
    let yaml = "logDestinations: [stdout, file, syslog]\n\
                rtspUDPReadBufferSize: 1000\n\
                paths:\n  zeta:\n  alpha:\n  1234:\n    rpiCameraFPS: 25.5\n";
    let l = load_from_str(yaml, &no_env).unwrap();
    let c = &l.conf;
    assert_eq!(
        c.log_destinations,
        [
            LogDestination::Stdout,
            LogDestination::File,
            LogDestination::Syslog
        ]
    );
    assert_eq!(c.rtsp_udp_read_buffer_size, Some(1000));
    let names: Vec<_> = c.paths.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha", "1234"]);
    assert!((c.paths[2].rpi_camera_fps - 25.5).abs() < f64::EPSILON);
}

#[test]
fn path_defaults_apply_to_paths_whatever_the_order() {
    let yaml = "paths:\n  cam:\n    maxReaders: 3\npathDefaults:\n  maxReaders: 7\n  record: yes\n";
    let c = load_from_str(yaml, &no_env).unwrap().conf;
    assert_eq!(c.paths[0].max_readers, 3);
    assert!(c.paths[0].record);
    assert_eq!(c.path_defaults.max_readers, 7);
}

#[test]
fn unquoted_no_is_accepted_for_encryption() {
    use ferromtx_conf::Encryption;
    let c = load_from_str("rtspEncryption: no\nrtmpEncryption: \"no\"\n", &no_env)
        .unwrap()
        .conf;
    assert_eq!(c.rtsp_encryption, Encryption::No);
    assert_eq!(c.rtmp_encryption, Encryption::No);
    assert!(load_from_str("logLevel: yes\n", &no_env).is_err());
}
