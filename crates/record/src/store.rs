//! Recordings on disk: the segments of a path (found by walking the directory their
//! template starts with and recognising names), the paths that have segments, and the
//! removal of one segment. Used by the playback server, the `/v3/recordings` API and the
//! cleaner of `recordDeleteAfter`.

use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use ferromtx_conf::{Conf, PathConf, validate_path_name};

use crate::path_format::{self, Template};
use crate::recorder::go_error;

/// Most directory entries looked at in one walk: a bound on the work of one request.
pub const MAX_WALK_ENTRIES: usize = 1_000_000;

/// A segment found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Absolute file name.
    pub file: PathBuf,
    pub start: DateTime<FixedOffset>,
}

/// Why segments could not be listed. Texts are MediaMTX's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    #[error("no recording segments found")]
    NoSegments,
    #[error("{0}")]
    Other(String),
}

/// `p` made absolute against the working directory and cleaned of `.` and `..` the way
/// Go's `filepath.Abs` does (no symbolic link is resolved).
pub fn absolute(p: &str) -> PathBuf {
    let joined = if Path::new(p).is_absolute() {
        PathBuf::from(p)
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The template of the segments of `path` under `conf`: absolute, with the extension.
fn template_of(conf: &PathConf, path: Option<&str>) -> String {
    let t = match path {
        Some(p) => conf.record_path.replace("%path", p),
        None => conf.record_path.clone(),
    };
    absolute(&path_format::add_extension(&t, conf.record_format))
        .to_string_lossy()
        .into_owned()
}

/// Calls `f` with every file under `root` (depth first), at most [`MAX_WALK_ENTRIES`].
/// A missing root or an unreadable directory is an error worded as Go's.
fn walk(root: &str, mut f: impl FnMut(&str)) -> Result<(), String> {
    let root = if root.is_empty() { "/" } else { root };
    std::fs::symlink_metadata(root).map_err(|e| go_error("lstat", root, &e))?;
    let mut stack = vec![PathBuf::from(root)];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            // The root may be a file.
            Err(_) if dir.is_file() => {
                f(&dir.to_string_lossy());
                continue;
            }
            Err(e) => return Err(go_error("open", &dir.to_string_lossy(), &e)),
        };
        for entry in entries {
            seen += 1;
            if seen > MAX_WALK_ENTRIES {
                return Ok(());
            }
            let entry = entry.map_err(|e| go_error("readdir", &dir.to_string_lossy(), &e))?;
            let kind = entry
                .file_type()
                .map_err(|e| go_error("lstat", &dir.to_string_lossy(), &e))?;
            let p = entry.path();
            if kind.is_dir() {
                stack.push(p);
            } else {
                f(&p.to_string_lossy());
            }
        }
    }
    Ok(())
}

/// The segments of `path` (configured by `conf`) that start at or before `end`, sorted by
/// start; with `start`, only from the one that may contain it (MediaMTX's rules).
pub fn find_segments(
    conf: &PathConf,
    path: &str,
    start: Option<DateTime<FixedOffset>>,
    end: Option<DateTime<FixedOffset>>,
) -> Result<Vec<Segment>, FindError> {
    // Also a guard against directory traversal.
    validate_path_name(path)
        .map_err(|e| FindError::Other(format!("invalid path name: {e} ({path})")))?;
    let template = template_of(conf, Some(path));
    let decoder = Template::new(&template);
    let mut segments = Vec::new();
    walk(&path_format::common_path(&template), |file| {
        if let Some(d) = decoder.decode(file)
            && end.is_none_or(|end| d.start <= end)
        {
            segments.push(Segment {
                file: PathBuf::from(file),
                start: d.start,
            });
        }
    })
    .map_err(FindError::Other)?;
    if segments.is_empty() {
        return Err(FindError::NoSegments);
    }
    segments.sort_by_key(|s| s.start);
    if let Some(start) = start {
        if start < segments[0].start {
            return Ok(segments);
        }
        // The segment that may contain `start`, and the following ones.
        match segments
            .windows(2)
            .position(|w| start >= w[0].start && start < w[1].start)
        {
            Some(i) => {
                segments.drain(..i);
            }
            None => {
                let last = segments.len() - 1;
                segments.drain(..last);
                if segments[0].start > start {
                    return Err(FindError::NoSegments);
                }
            }
        }
    }
    Ok(segments)
}

/// Names of the paths that have at least one segment, sorted.
pub fn paths_with_segments(conf: &Conf) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for pc in &conf.paths {
        match pc.regex() {
            None => {
                let template = template_of(pc, Some(&pc.name));
                let decoder = Template::new(&template);
                let mut found = false;
                let _ = walk(&path_format::common_path(&template), |file| {
                    found = found || decoder.decode(file).is_some();
                });
                if found {
                    names.insert(pc.name.clone());
                }
            }
            Some(re) => {
                let template = template_of(pc, None);
                let decoder = Template::new(&template);
                let _ = walk(&path_format::common_path(&template), |file| {
                    if let Some(path) = decoder.decode(file).and_then(|d| d.path)
                        && validate_path_name(&path).is_ok()
                        && re.is_match(&path)
                    {
                        names.insert(path);
                    }
                });
            }
        }
    }
    names.into_iter().collect()
}

/// Removes the segment of `path` that starts at `start` (`/v3/recordings/deletesegment`).
pub fn delete_segment(conf: &Conf, path: &str, start: DateTime<FixedOffset>) -> Result<(), String> {
    let pc = conf.find_path_conf(path).map_err(|e| e.to_string())?.conf;
    let base = absolute(&path_format::common_path(&pc.record_path));
    let template = template_of(pc, Some(path));
    let file = absolute(&path_format::encode(&template, path, &start));
    if !file.starts_with(&base) || !Path::new(&template).starts_with(&base) {
        return Err("path escapes base directory".into());
    }
    std::fs::remove_file(&file).map_err(|e| go_error("remove", &file.to_string_lossy(), &e))
}

/// Runs blocking file-system work from async code: on a multi-threaded runtime the
/// worker hands its other tasks over first; elsewhere it just runs.
pub fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A time as Go's JSON writes it: RFC 3339 with nanoseconds, trailing zeros dropped.
pub fn go_time(t: &DateTime<FixedOffset>) -> String {
    let s = t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    // `2026-01-02T03:04:05.120000000+01:00`: trim the fraction.
    let (head, zone) = match s
        .find(['Z', '+'])
        .or_else(|| s.rfind('-').filter(|i| *i > 19))
    {
        Some(i) => s.split_at(i),
        None => (s.as_str(), ""),
    };
    match head.split_once('.') {
        Some((secs, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                format!("{secs}{zone}")
            } else {
                format!("{secs}.{frac}{zone}")
            }
        }
        None => format!("{head}{zone}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("time")
    }

    fn conf_in(dir: &Path) -> PathConf {
        let mut c = PathConf::default();
        c.name = "cam".into();
        c.record_path = format!("{}/%path/%Y-%m-%d_%H-%M-%S-%f%z", dir.display());
        c
    }

    fn touch(dir: &Path, conf: &PathConf, path: &str, start: &str) {
        let t = template_of(conf, Some(path));
        let f = path_format::encode(&t, path, &at(start));
        std::fs::create_dir_all(Path::new(&f).parent().expect("dir")).expect("mkdir");
        std::fs::write(&f, b"x").expect("write");
        assert!(f.starts_with(&dir.to_string_lossy().into_owned()));
    }

    #[test]
    fn segments_are_found_filtered_and_sorted() {
        let dir = tempfile::tempdir().expect("tmp");
        let conf = conf_in(dir.path());
        for s in [
            "2026-01-01T00:00:10Z",
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:20Z",
        ] {
            touch(dir.path(), &conf, "cam", s);
        }
        std::fs::write(dir.path().join("cam/notes.txt"), b"x").expect("write");
        let all = find_segments(&conf, "cam", None, None).expect("found");
        let starts: Vec<String> = all.iter().map(|s| go_time(&s.start)).collect();
        assert_eq!(
            starts,
            vec![
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:00:10Z",
                "2026-01-01T00:00:20Z"
            ]
        );
        // From the segment that contains the start.
        let from =
            find_segments(&conf, "cam", Some(at("2026-01-01T00:00:15Z")), None).expect("found");
        assert_eq!(from.len(), 2);
        // Only segments that start before the end.
        let to =
            find_segments(&conf, "cam", None, Some(at("2026-01-01T00:00:10Z"))).expect("found");
        assert_eq!(to.len(), 2);
        // A start before everything keeps everything; after the last segment's start
        // keeps the last.
        assert_eq!(
            find_segments(&conf, "cam", Some(at("2025-01-01T00:00:00Z")), None)
                .expect("f")
                .len(),
            3
        );
        assert_eq!(
            find_segments(&conf, "cam", Some(at("2027-01-01T00:00:00Z")), None)
                .expect("f")
                .len(),
            1
        );
        assert_eq!(
            find_segments(&conf, "cam", None, Some(at("2020-01-01T00:00:00Z"))),
            Err(FindError::NoSegments)
        );
        assert!(matches!(
            find_segments(&conf, "../cam", None, None),
            Err(FindError::Other(e)) if e.starts_with("invalid path name")
        ));
        let missing = find_segments(&conf, "other", None, None);
        assert!(
            matches!(&missing, Err(FindError::Other(e)) if e.starts_with("lstat ") && e.ends_with(": no such file or directory")),
            "{missing:?}"
        );
    }

    #[test]
    fn paths_with_segments_and_deletion() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut cam = conf_in(dir.path());
        cam.name = "cam".into();
        let mut conf = Conf::default();
        let mut others = conf
            .paths
            .iter()
            .find(|p| p.name == "all_others")
            .cloned()
            .expect("default all_others");
        others.record_path = cam.record_path.clone();
        conf.paths = vec![cam.clone(), others];
        touch(dir.path(), &cam, "cam", "2026-01-01T00:00:00Z");
        touch(dir.path(), &cam, "a/b", "2026-01-01T00:00:00Z");
        assert_eq!(
            paths_with_segments(&conf),
            vec!["a/b".to_string(), "cam".to_string()]
        );
        delete_segment(&conf, "a/b", at("2026-01-01T00:00:00Z")).expect("deleted");
        assert_eq!(paths_with_segments(&conf), vec!["cam".to_string()]);
        let again = delete_segment(&conf, "a/b", at("2026-01-01T00:00:00Z"));
        assert!(
            matches!(&again, Err(e) if e.starts_with("remove ") && e.ends_with("no such file or directory"))
        );
    }

    #[test]
    fn go_times() {
        assert_eq!(
            go_time(&at("2026-01-02T03:04:05.120Z")),
            "2026-01-02T03:04:05.12Z"
        );
        assert_eq!(
            go_time(&at("2026-01-02T03:04:05+01:00")),
            "2026-01-02T03:04:05+01:00"
        );
        assert_eq!(
            go_time(&at("2026-01-02T03:04:05.000001-05:30")),
            "2026-01-02T03:04:05.000001-05:30"
        );
        assert_eq!(absolute("/a/./b/../c"), PathBuf::from("/a/c"));
    }
}
