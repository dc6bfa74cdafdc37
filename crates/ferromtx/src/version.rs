//! What build this is: the version, the git commit and the target triple (set by
//! `build.rs`), as `--version`, the startup log line and `/v3/info` report them.

/// `v0.1.0`: the package version, with the `v` MediaMTX's tags have.
pub const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));
/// The short git commit the binary was built from, or `unknown`.
pub const COMMIT: &str = env!("FERROMTX_COMMIT");
/// The target triple the binary was built for, e.g. `x86_64-unknown-linux-gnu`.
pub const TARGET: &str = env!("FERROMTX_TARGET");

/// `v0.1.0 (commit 9aaa232, x86_64-unknown-linux-gnu)`: `--version` (after the program
/// name) and the startup log line.
pub fn long() -> String {
    format!("{VERSION} (commit {COMMIT}, {TARGET})")
}

/// The `version` of `/v3/info`: `v0.1.0+9aaa232`. MediaMTX puts its git tag there
/// (`v1.20.1`, or `v1.20.1-3-0123abcd` between tags) and clients parse it as a version, so
/// it stays a semantic version; the commit rides as build metadata, which version
/// comparisons ignore. The target triple is left out: its `_` (`x86_64`) is not allowed in
/// semver metadata, and the `Info` schema has no other field for it.
pub fn api() -> String {
    format!("{VERSION}+{COMMIT}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_form_names_version_commit_and_target() {
        assert_eq!(
            long(),
            format!(
                "v{} (commit {}, {})",
                env!("CARGO_PKG_VERSION"),
                env!("FERROMTX_COMMIT"),
                env!("FERROMTX_TARGET")
            )
        );
        assert!(!COMMIT.is_empty());
        // The triple of the build: its architecture is the one this test runs on.
        assert!(
            TARGET.starts_with(std::env::consts::ARCH),
            "{TARGET} vs {}",
            std::env::consts::ARCH
        );
        assert!(TARGET.contains(std::env::consts::OS), "{TARGET}");
    }

    /// Semantic Versioning 2.0.0 with an optional `v`: MAJOR.MINOR.PATCH, numbers without
    /// leading zeros, optional `-pre` and `+build` of dot-separated `[0-9A-Za-z-]+`.
    fn is_semver(v: &str) -> bool {
        let v = v.strip_prefix('v').unwrap_or(v);
        let (v, build) = match v.split_once('+') {
            Some((a, b)) => (a, Some(b)),
            None => (v, None),
        };
        let (core, pre) = match v.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (v, None),
        };
        let ident = |s: &str| {
            s.split('.')
                .all(|i| !i.is_empty() && i.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
        };
        let nums: Vec<&str> = core.split('.').collect();
        nums.len() == 3
            && nums.iter().all(|n| {
                !n.is_empty()
                    && n.bytes().all(|c| c.is_ascii_digit())
                    && (n.len() == 1 || !n.starts_with('0'))
            })
            && pre.is_none_or(ident)
            && build.is_none_or(ident)
    }

    #[test]
    fn api_version_is_semver_with_the_commit_as_build_metadata() {
        let v = api();
        assert!(is_semver(&v), "{v}");
        assert_eq!(v, format!("v{}+{COMMIT}", env!("CARGO_PKG_VERSION")));
        // The checker itself: MediaMTX's forms pass, the long form and the triple do not.
        assert!(is_semver("v1.20.1"));
        assert!(is_semver("v1.20.1-3-0123abcd"));
        assert!(!is_semver(&long()));
        assert!(!is_semver(&format!(
            "{VERSION}+{COMMIT}.x86_64-unknown-linux-gnu"
        )));
        assert!(!is_semver("v01.2.3"));
    }
}
