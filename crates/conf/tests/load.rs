//! Reading the file named on the command line.

use ferromtx_conf::{ConfError, LogLevel, load_with_vars};
use std::path::PathBuf;

fn temp_file(tag: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("ferromtx-conf-{}-{tag}.yml", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn cli_path_is_read_and_made_absolute() {
    let p = temp_file("ok", "logLevel: debug\npaths:\n  cam:\n");
    let l = load_with_vars(Some(&p), &[("MTX_LOGLEVEL".into(), "warn".into())]).unwrap();
    std::fs::remove_file(&p).unwrap();
    assert_eq!(l.file.as_deref(), Some(p.as_path()));
    assert!(l.file.unwrap().is_absolute());
    assert_eq!(
        l.conf.log_level,
        LogLevel::Warn,
        "env applies after the file"
    );
    assert_eq!(l.conf.paths.len(), 1);
}

#[test]
fn missing_cli_path_is_an_error() {
    let p = std::env::temp_dir().join("ferromtx-conf-does-not-exist.yml");
    let e = load_with_vars(Some(&p), &[]).unwrap_err();
    assert!(matches!(e, ConfError::Io { .. }), "{e:?}");
    assert!(e.to_string().starts_with(&p.display().to_string()));
}

#[test]
fn file_errors_name_the_line() {
    let p = temp_file("bad", "logLevel: info\n\nrtspAdress: :8554\n");
    let e = load_with_vars(Some(&p), &[]).unwrap_err();
    std::fs::remove_file(&p).unwrap();
    assert_eq!(e.to_string(), "unknown parameter 'rtspAdress' (line 3)");
}
