//! Finding the configuration of a path name.

use ferromtx_conf::{ConfError, load_from_str};

fn no_env(_: &str) -> Option<String> {
    None
}

const YAML: &str = r#"
paths:
  cam1:
    runOnReadRestart: yes
  ~^cam(\d+)$:
    maxReaders: 1
  ~^cam(\d)(x)?:
    maxReaders: 2
  ~^live/(.+)$:
    maxReaders: 3
  all_others:
    maxReaders: 9
"#;

#[test]
fn exact_name_beats_regex() {
    let c = load_from_str(YAML, &no_env).unwrap().conf;
    let m = c.find_path_conf("cam1").unwrap();
    assert_eq!(m.conf.name, "cam1");
    assert!(m.captures.is_empty());
}

#[test]
fn regexes_sorted_by_name_with_captures() {
    let c = load_from_str(YAML, &no_env).unwrap().conf;
    // `~^cam(\d)(x)?` sorts before `~^cam(\d+)$` (')' < '+'), as in MediaMTX, although it
    // comes later in the file: it takes "cam42" by its prefix.
    let m = c.find_path_conf("cam42").unwrap();
    assert_eq!(m.conf.name, r"~^cam(\d)(x)?");
    assert_eq!(m.captures, ["cam4", "4", ""]);
    let m = c.find_path_conf("cam4y").unwrap();
    assert_eq!(m.conf.name, r"~^cam(\d)(x)?");
    assert_eq!(m.captures, ["cam4", "4", ""]);
    let m = c.find_path_conf("live/a/b").unwrap();
    assert_eq!(m.conf.max_readers, 3);
    assert_eq!(m.captures[1], "a/b");
}

#[test]
fn all_others_last() {
    let yaml = "paths:\n  all_others:\n    maxReaders: 9\n  ~^x:\n    maxReaders: 1\n";
    let c = load_from_str(yaml, &no_env).unwrap().conf;
    assert_eq!(c.find_path_conf("xyz").unwrap().conf.max_readers, 1);
    let m = c.find_path_conf("other").unwrap();
    assert_eq!(m.conf.name, "all_others");
    assert_eq!(m.conf.max_readers, 9);
}

#[test]
fn not_configured_and_invalid_names() {
    let c = load_from_str("paths:\n  cam:\n", &no_env).unwrap().conf;
    assert_eq!(
        c.find_path_conf("other").unwrap_err(),
        ConfError::PathNotFound("other".into())
    );
    assert_eq!(
        c.find_path_conf("other").unwrap_err().to_string(),
        "path 'other' is not configured"
    );
    assert!(matches!(
        c.find_path_conf("../etc").unwrap_err(),
        ConfError::InvalidPathName { .. }
    ));
}
