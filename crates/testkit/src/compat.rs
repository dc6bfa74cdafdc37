//! The upstream fixtures in `../shared/compat` (MediaMTX's default `mediamtx.yml`,
//! `openapi.yaml`, `playback.openapi.yaml`), which sit next to the project's checkout, not
//! in it. A clone elsewhere has none: the tests that read them skip with a message, except
//! under `CI=true` where a missing fixture is a failure.

use std::path::{Path, PathBuf};

use crate::tools::in_ci;

/// Where the fixture `name` is expected: `<workspace>/../shared/compat/<name>`.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/compat")
        .join(name)
}

/// The text of the fixture `name`. Missing: a failure under `CI=true`, else `None` after a
/// message (the caller skips).
pub fn read(name: &str) -> Option<String> {
    read_from(&path(name), in_ci())
}

fn read_from(p: &Path, ci: bool) -> Option<String> {
    match std::fs::read_to_string(p) {
        Ok(text) => Some(text),
        Err(e) => {
            assert!(
                !ci,
                "CI: the upstream fixture {} is required ({e})",
                p.display()
            );
            eprintln!(
                "skipping: upstream fixture {} not readable ({e}); it lives in ../shared/compat next to the checkout",
                p.display()
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_fixture_skips_outside_ci_and_fails_in_ci() {
        let missing = path("no-such-fixture.yml");
        assert_eq!(read_from(&missing, false), None);
        let in_ci = std::panic::catch_unwind(|| read_from(&missing, true));
        assert!(in_ci.is_err(), "a missing fixture must fail under CI=true");
    }

    #[test]
    fn a_present_file_is_read() {
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let text = read_from(&here, true).expect("read");
        assert!(text.contains("ferromtx-testkit"));
    }

    #[test]
    fn the_path_is_beside_the_checkout() {
        let p = path("mediamtx.yml");
        assert!(p.ends_with("shared/compat/mediamtx.yml"), "{}", p.display());
    }
}
