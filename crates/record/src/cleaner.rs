//! `recordDeleteAfter`: a task that removes segments older than their path's value, then
//! the directories left empty. It runs when it starts and then every half of the smallest
//! value (at most every 30 minutes), over every path with recordings, recorded now or not,
//! as MediaMTX's cleaner does.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use ferromtx_api::component::BoxFuture;
use ferromtx_api::{Context, Server};
use ferromtx_conf::{Conf, PathConf};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::path_format;
use crate::segment::local_time;
use crate::store::{self, absolute};

/// Longest pause between two runs.
pub const MAX_INTERVAL: Duration = Duration::from_secs(30 * 60);

/// The cleaner, a component running while a path has a `recordDeleteAfter`.
#[derive(Debug)]
pub struct Cleaner {
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// The pause between runs for these paths.
pub fn interval(paths: &[PathConf]) -> Duration {
    paths
        .iter()
        .filter(|p| !p.record_delete_after.is_zero())
        .map(|p| p.record_delete_after / 2)
        .fold(MAX_INTERVAL, Duration::min)
}

/// One run at `now`: removes expired segments and empty directories. Blocking.
pub fn clean(paths: &[PathConf], now: SystemTime) {
    let mut conf = Conf::default();
    conf.paths = paths.to_vec();
    for name in store::paths_with_segments(&conf) {
        let Ok(m) = conf.find_path_conf(&name) else {
            continue;
        };
        let pc = m.conf;
        if pc.record_delete_after.is_zero() {
            continue;
        }
        let Some(end) = now.checked_sub(pc.record_delete_after) else {
            continue;
        };
        if let Ok(segments) = store::find_segments(pc, &name, None, Some(local_time(end))) {
            for s in segments {
                tracing::debug!("[record cleaner] removing {}", s.file.display());
                let _ = std::fs::remove_file(&s.file);
            }
        }
        let common = path_format::common_path(&pc.record_path.replace("%path", &pc.name));
        remove_empty_dirs(&absolute(&common));
    }
}

/// Removes the empty directories under `dir` and `dir` itself if it ends up empty.
fn remove_empty_dirs(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut empty = true;
    for e in entries.flatten() {
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if !(is_dir && remove_empty_dirs(&e.path())) {
            empty = false;
        }
    }
    empty && std::fs::remove_dir(dir).is_ok()
}

impl Server for Cleaner {
    type Settings = Vec<PathConf>;

    fn settings(conf: &Conf) -> Option<Vec<PathConf>> {
        conf.paths
            .iter()
            .any(|p| !p.record_delete_after.is_zero())
            .then(|| conf.paths.clone())
    }

    fn start<'a>(
        settings: &'a Vec<PathConf>,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Arc<Self>, String>> {
        Box::pin(async move {
            let stop = CancellationToken::new();
            let paths = Arc::new(settings.clone());
            let every = interval(&paths);
            let cancel = stop.clone();
            let task = tokio::spawn(async move {
                loop {
                    let p = Arc::clone(&paths);
                    let _ = tokio::task::spawn_blocking(move || clean(&p, SystemTime::now())).await;
                    tokio::select! {
                        () = tokio::time::sleep(every) => {}
                        () = cancel.cancelled() => return,
                    }
                }
            });
            Ok(Arc::new(Cleaner {
                stop,
                task: Mutex::new(Some(task)),
            }))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.stop.cancel();
            let task = self
                .task
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(task) = task {
                let _ = task.await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_expired_segments_and_empty_directories() {
        let dir = tempfile::tempdir().expect("tmp");
        let record_path = format!("{}/%path/%Y/%m/%d/%H-%M-%S-%f", dir.path().display());
        let mut cam = PathConf::default();
        cam.name = "cam".into();
        cam.record_path = record_path.clone();
        cam.record_delete_after = Duration::from_secs(60);
        let mut keep = PathConf::default();
        keep.name = "keep".into();
        keep.record_path = record_path;
        keep.record_delete_after = Duration::ZERO;
        let now = SystemTime::now();
        let write = |path: &str, age: u64| {
            let template = path_format::add_extension(
                &cam.record_path.replace("%path", path),
                cam.record_format,
            );
            let t = local_time(now - Duration::from_secs(age));
            let f = path_format::encode(&template, path, &t);
            std::fs::create_dir_all(Path::new(&f).parent().expect("dir")).expect("mkdir");
            std::fs::write(&f, b"x").expect("write");
            f
        };
        let old = write("cam", 3 * 86_400);
        let recent = write("cam", 10);
        let kept = write("keep", 3 * 86_400);
        let old_dir = Path::new(&old).parent().expect("dir").to_path_buf();
        clean(&[cam.clone(), keep.clone()], now);
        assert!(!Path::new(&old).exists());
        assert!(
            !old_dir.exists(),
            "the day's directory went with its last segment"
        );
        assert!(Path::new(&recent).exists());
        assert!(
            Path::new(&kept).exists(),
            "recordDeleteAfter 0 keeps everything"
        );
        assert_eq!(interval(&[cam, keep]), Duration::from_secs(30));
    }
}
