//! The peer servers in `../shared/peers` next to the checkout (see its README): today a
//! MediaMTX v1.20.1 binary, for differential tests against the server ferromtx replaces.

use std::path::PathBuf;
use std::process::Command;

use crate::tools::in_ci;

/// `<workspace>/../shared/peers`.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/peers")
}

/// The MediaMTX binary: `$MEDIAMTX_BIN`, else what `../shared/peers/mediamtx --path`
/// unpacks. Without a `../shared/peers` folder the caller skips (a clone elsewhere has
/// none); with one, a binary that cannot be had is a failure under `CI=true`.
pub fn mediamtx() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("MEDIAMTX_BIN") {
        return Some(PathBuf::from(bin));
    }
    let peers = dir();
    if !peers.is_dir() {
        eprintln!(
            "skipping: no {} next to the checkout (the MediaMTX peer binary lives there)",
            peers.display()
        );
        return None;
    }
    let found = Command::new(peers.join("mediamtx"))
        .arg("--path")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            !in_ci(),
            "CI: {}/mediamtx --path gave no binary",
            peers.display()
        );
        eprintln!(
            "skipping: {}/mediamtx --path gave no binary",
            peers.display()
        );
    }
    found
}
