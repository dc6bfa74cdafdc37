//! Permissions: `{action, path}` pairs, from the configuration or from a JWT.

use ferromtx_conf::AuthAction;
use regex::Regex;

/// Which paths a permission covers.
#[derive(Debug, Clone)]
enum PathMatch {
    /// Empty path: any path.
    Any,
    Exact(String),
    /// `~regex`.
    Regex(Regex),
    /// `~regex` that does not compile: matches nothing.
    Never,
}

#[derive(Debug, Clone)]
struct Permission {
    action: AuthAction,
    path: PathMatch,
}

/// A list of permissions with their regular expressions compiled once.
#[derive(Debug, Clone, Default)]
pub(crate) struct PermissionSet {
    entries: Vec<Permission>,
}

impl PermissionSet {
    pub(crate) fn new<'a>(items: impl IntoIterator<Item = (AuthAction, &'a str)>) -> PermissionSet {
        let entries = items
            .into_iter()
            .map(|(action, path)| Permission {
                action,
                path: compile_path(path),
            })
            .collect();
        PermissionSet { entries }
    }

    /// Whether some permission allows `action` on `path`. The path only
    /// matters for publish, read and playback.
    pub(crate) fn allows(&self, action: AuthAction, path: &str) -> bool {
        self.entries.iter().any(|perm| {
            perm.action == action
                && (!path_scoped(action)
                    || match &perm.path {
                        PathMatch::Any => true,
                        PathMatch::Exact(p) => p == path,
                        PathMatch::Regex(re) => re.is_match(path),
                        PathMatch::Never => false,
                    })
        })
    }
}

fn path_scoped(action: AuthAction) -> bool {
    matches!(
        action,
        AuthAction::Publish | AuthAction::Read | AuthAction::Playback
    )
}

fn compile_path(path: &str) -> PathMatch {
    if path.is_empty() {
        return PathMatch::Any;
    }
    match path.strip_prefix('~') {
        Some(expr) => match Regex::new(expr) {
            Ok(re) => PathMatch::Regex(re),
            Err(err) => {
                tracing::warn!("invalid permission path regex '{expr}': {err}");
                PathMatch::Never
            }
        },
        None => PathMatch::Exact(path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_path_means_any_path() {
        let set = PermissionSet::new([(AuthAction::Read, "")]);
        assert!(set.allows(AuthAction::Read, "cam1"));
        assert!(set.allows(AuthAction::Read, "a/b"));
        assert!(!set.allows(AuthAction::Publish, "cam1"));
    }

    #[test]
    fn exact_path() {
        let set = PermissionSet::new([(AuthAction::Publish, "cam1")]);
        assert!(set.allows(AuthAction::Publish, "cam1"));
        assert!(!set.allows(AuthAction::Publish, "cam10"));
        assert!(!set.allows(AuthAction::Publish, "cam"));
    }

    #[test]
    fn regex_path() {
        let set = PermissionSet::new([(AuthAction::Playback, "~^cam[0-9]+$")]);
        assert!(set.allows(AuthAction::Playback, "cam42"));
        assert!(!set.allows(AuthAction::Playback, "camx"));
        assert!(!set.allows(AuthAction::Read, "cam42"));
    }

    #[test]
    fn invalid_regex_matches_nothing() {
        let set = PermissionSet::new([(AuthAction::Read, "~(")]);
        assert!(!set.allows(AuthAction::Read, "("));
        assert!(!set.allows(AuthAction::Read, ""));
    }

    #[test]
    fn path_ignored_for_api_metrics_pprof() {
        let set = PermissionSet::new([(AuthAction::Api, "something"), (AuthAction::Pprof, "")]);
        assert!(set.allows(AuthAction::Api, ""));
        assert!(set.allows(AuthAction::Pprof, "x"));
        assert!(!set.allows(AuthAction::Metrics, ""));
    }
}
