//! Which git commit a build is made from. Used by `build.rs`; also compiled into the
//! crate's unit tests, which exercise it against real repositories.
//!
//! From a checkout the commit comes from `git` (and the files that move when HEAD moves are
//! returned, for `cargo:rerun-if-changed`); without one (a Docker build copies no `.git`) from
//! the `FERROMTX_GIT_COMMIT` environment variable; `unknown` as the last resort.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The environment variable that gives the commit when there is no checkout.
pub const ENV: &str = "FERROMTX_GIT_COMMIT";
/// The commit reported when neither git nor [`ENV`] gives one.
pub const UNKNOWN: &str = "unknown";

/// The commit of the checkout `dir` is in, and the files whose change means HEAD moved.
#[derive(Debug, PartialEq, Eq)]
pub struct Checkout {
    pub commit: String,
    pub watch: Vec<PathBuf>,
}

/// Where the commit of a build came from.
#[derive(Debug, PartialEq, Eq)]
pub enum Origin {
    Git,
    Env,
    /// Neither: the reason, for a build warning.
    Unknown(String),
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Asks git about the checkout containing `dir`; None when it is not one (or git is
/// missing). The watched files are HEAD, the branch's ref file and `packed-refs`, each as
/// git resolves them (so worktrees work: HEAD in `.git/worktrees/<name>`, refs in the main
/// `.git`). Only existing paths are returned: cargo reruns a build script on every build
/// when a watched path is missing. A branch whose ref is only in `packed-refs` is watched
/// through its refs directory, where the next commit creates its file.
pub fn from_git(dir: &Path) -> Option<Checkout> {
    let commit = sanitize(&git(dir, &["rev-parse", "--short=7", "HEAD"])?)?;
    let path = |name: &str| git(dir, &["rev-parse", "--git-path", name]).map(|p| dir.join(p));
    let mut watch = Vec::new();
    watch.extend(path("HEAD"));
    if let Some(r) = git(dir, &["rev-parse", "--symbolic-full-name", "HEAD"])
        && r.starts_with("refs/")
        && let Some(f) = path(&r)
    {
        match f.is_file() {
            true => watch.push(f),
            false => watch.extend(f.parent().map(Path::to_path_buf)),
        }
    }
    watch.extend(path("packed-refs"));
    watch.retain(|p| p.exists());
    Some(Checkout { commit, watch })
}

/// A commit as given from outside: trimmed, a hexadecimal hash shortened to 7 digits like
/// git's short form; anything but ASCII letters, digits and `-` refused (the commit ends up
/// in `/v3/info` as semver build metadata, which allows only those).
pub fn sanitize(raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
        return None;
    }
    if s.len() > 7 && s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Some(s[..7].to_ascii_lowercase());
    }
    Some(s.to_string())
}

/// The commit of a build: git's when there is a checkout, else [`ENV`]'s, else [`UNKNOWN`].
pub fn choose(checkout: Option<&Checkout>, env: Option<&str>) -> (String, Origin) {
    if let Some(c) = checkout {
        return (c.commit.clone(), Origin::Git);
    }
    match env {
        Some(v) => match sanitize(v) {
            Some(c) => (c, Origin::Env),
            None => (
                UNKNOWN.to_string(),
                Origin::Unknown(format!(
                    "{ENV}={v:?} is not a commit (letters, digits and '-' only)"
                )),
            ),
        },
        None => (
            UNKNOWN.to_string(),
            Origin::Unknown(format!("not a git checkout and {ENV} is not set")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_shortens_hashes_and_refuses_odd_characters() {
        assert_eq!(
            sanitize(" 9AAA2329f1c0d7e2b4a1c3d5e7f90123456789ab\n").as_deref(),
            Some("9aaa232")
        );
        assert_eq!(sanitize("9aaa232").as_deref(), Some("9aaa232"));
        assert_eq!(sanitize("release-42").as_deref(), Some("release-42"));
        assert_eq!(sanitize(""), None);
        assert_eq!(sanitize("  "), None);
        assert_eq!(sanitize("abc def"), None);
        assert_eq!(sanitize("v1.2+x"), None);
        assert_eq!(sanitize(&"a".repeat(65)), None);
    }

    #[test]
    fn git_wins_then_the_environment_then_unknown() {
        let c = Checkout {
            commit: "1234567".into(),
            watch: vec![],
        };
        assert_eq!(
            choose(Some(&c), Some("abcdef0")),
            ("1234567".into(), Origin::Git)
        );
        assert_eq!(
            choose(None, Some("abcdef0123")),
            ("abcdef0".into(), Origin::Env)
        );
        let (commit, origin) = choose(None, Some("not a hash"));
        assert_eq!(commit, UNKNOWN);
        assert!(
            matches!(origin, Origin::Unknown(ref m) if m.contains(ENV)),
            "{origin:?}"
        );
        let (commit, origin) = choose(None, None);
        assert_eq!(commit, UNKNOWN);
        assert!(matches!(origin, Origin::Unknown(_)));
    }

    /// Runs git in `dir` for the test repositories; panics on failure.
    fn run(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn have_git() -> bool {
        let ok = Command::new("git")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "git is required in CI"
            );
            eprintln!("skipping: git not found");
        }
        ok
    }

    #[test]
    fn not_a_checkout_gives_none() {
        if !have_git() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        // Only meaningful when TMPDIR is not itself inside a repository.
        if git(dir.path(), &["rev-parse", "--git-dir"]).is_some() {
            eprintln!("skipping: the temp dir is inside a git repository");
            return;
        }
        assert_eq!(from_git(dir.path()), None);
    }

    #[test]
    fn a_checkout_gives_its_commit_and_the_files_that_move_with_head() {
        if !have_git() {
            return;
        }
        let repo = tempfile::tempdir().expect("tempdir");
        let root = repo.path();
        run(root, &["init", "-q"]);
        run(root, &["commit", "-q", "--allow-empty", "-m", "one"]);
        let sub = root.join("crates/x");
        std::fs::create_dir_all(&sub).expect("mkdir");

        let first = from_git(&sub).expect("a checkout");
        assert_eq!(first.commit, run(root, &["rev-parse", "--short=7", "HEAD"]));
        assert_eq!(first.commit.len(), 7, "{first:?}");
        let branch_ref = sub.join(run(&sub, &["rev-parse", "--git-path", "refs/heads/main"]));
        let head = sub.join(run(&sub, &["rev-parse", "--git-path", "HEAD"]));
        assert!(first.watch.contains(&head), "{first:?}");
        assert!(first.watch.contains(&branch_ref), "{first:?}");
        let full = run(root, &["rev-parse", "HEAD"]);
        assert_eq!(
            std::fs::read_to_string(&branch_ref)
                .expect("ref file")
                .trim(),
            full,
            "the watched ref file holds the commit"
        );

        // A new commit changes the watched ref file and the reported commit.
        run(root, &["commit", "-q", "--allow-empty", "-m", "two"]);
        let second = from_git(&sub).expect("a checkout");
        assert_ne!(second.commit, first.commit);
        assert_eq!(
            std::fs::read_to_string(&branch_ref)
                .expect("ref file")
                .trim(),
            run(root, &["rev-parse", "HEAD"])
        );

        // Packed: the branch's ref lives in packed-refs; both it and the refs directory
        // (where the next commit writes the ref again) are watched, nothing missing.
        run(root, &["pack-refs", "--all"]);
        let packed = from_git(&sub).expect("a checkout");
        assert!(!branch_ref.exists());
        let packed_refs = sub.join(run(&sub, &["rev-parse", "--git-path", "packed-refs"]));
        assert!(packed.watch.contains(&packed_refs), "{packed:?}");
        assert!(
            branch_ref
                .parent()
                .is_some_and(|d| packed.watch.iter().any(|w| w == d)),
            "{packed:?}"
        );
        assert!(packed.watch.iter().all(|w| w.exists()), "{packed:?}");
        run(root, &["commit", "-q", "--allow-empty", "-m", "three"]);
        assert!(branch_ref.is_file(), "a commit writes the loose ref again");

        // Detached: HEAD itself holds the commit and is watched.
        run(root, &["checkout", "-q", "--detach", "HEAD~2"]);
        let detached = from_git(&sub).expect("a checkout");
        assert_eq!(detached.commit, first.commit);
        assert!(detached.watch.contains(&head), "{detached:?}");
        assert_eq!(std::fs::read_to_string(&head).expect("HEAD").trim(), full);

        // Worktrees: HEAD is in the worktree's git dir, the branch ref in the main one.
        let wt = root.join("wt");
        run(
            root,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "side",
                wt.to_str().expect("utf-8"),
            ],
        );
        let in_wt = from_git(&wt).expect("a worktree");
        let wt_head = wt.join(run(&wt, &["rev-parse", "--git-path", "HEAD"]));
        let side = wt.join(run(&wt, &["rev-parse", "--git-path", "refs/heads/side"]));
        assert!(in_wt.watch.contains(&wt_head), "{in_wt:?}");
        assert!(in_wt.watch.contains(&side), "{in_wt:?}");
        assert!(side.is_file(), "{}", side.display());
        assert_ne!(wt_head, head, "each worktree has its own HEAD");
    }
}
