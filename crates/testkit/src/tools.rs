//! External tools (ffmpeg, ffprobe, GStreamer, Chromium, srt-live-transmit): found on
//! PATH, or the test skips with a message, except under `CI=true` where a missing tool is
//! a failure (the test command installs them).

use std::path::PathBuf;

/// Whether the tests run in CI (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The path of `name` on PATH. Missing: a failure under `CI=true`, else `None` after a
/// message (the caller skips).
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = on_path(name);
    if found.is_none() {
        assert!(
            !in_ci(),
            "{name} is required in CI (scripts/test installs it)"
        );
        eprintln!("skipping: {name} not found on PATH");
    }
    found
}

/// Whether every tool of `names` is there (see [`tool`]); says which are missing.
pub fn require(names: &[&str]) -> bool {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| on_path(n).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !in_ci(),
        "missing tools in CI: {missing:?} (scripts/test installs them)"
    );
    eprintln!("skipping: missing {missing:?}");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_is_there() {
        // `sh` is on every machine the tests run on.
        assert!(on_path("sh").is_some());
        assert!(on_path("no-such-tool-ferromtx").is_none());
    }
}
