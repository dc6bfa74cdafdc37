//! Watches the configuration file and reports changes, at most once a second.
//!
//! The parent directory is watched rather than the file, so editors that save by writing a
//! new file and renaming it over the old one are seen too. A change is reported only when
//! the file's bytes differ from the last ones reported.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Minimum time between two reports.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

pub struct ConfWatcher {
    _watcher: notify::RecommendedWatcher,
    changed: mpsc::Receiver<()>,
}

impl ConfWatcher {
    pub fn new(path: &Path) -> notify::Result<ConfWatcher> {
        let file = path.to_path_buf();
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let (raw_tx, raw_rx) = mpsc::unbounded_channel::<()>();
        let name = file.file_name().map(|n| n.to_owned());
        let mut watcher =
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                if let Ok(ev) = res
                    && ev.paths.iter().any(|p| p.file_name() == name.as_deref())
                {
                    let _ = raw_tx.send(());
                }
            })?;
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
        // The reference contents are read now, not when the task first runs: a change made
        // right after `new` returns must count as a change.
        let last = std::fs::read(&file).ok();
        let (tx, changed) = mpsc::channel(1);
        tokio::spawn(debounce(file, last, raw_rx, tx));
        Ok(ConfWatcher {
            _watcher: watcher,
            changed,
        })
    }

    /// Waits for the next change. Never returns if the watcher stopped.
    pub async fn changed(&mut self) {
        if self.changed.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

async fn debounce(
    file: PathBuf,
    mut last: Option<Vec<u8>>,
    mut raw: mpsc::UnboundedReceiver<()>,
    out: mpsc::Sender<()>,
) {
    while raw.recv().await.is_some() {
        // Let the writer finish, and fold the burst of events of one save into one.
        tokio::time::sleep(MIN_INTERVAL).await;
        while raw.try_recv().is_ok() {}
        let now = tokio::fs::read(&file).await.ok();
        if now.is_some() && now != last {
            last = now;
            if out.send(()).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_content_changes_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mediamtx.yml");
        std::fs::write(&path, "logLevel: info\n").unwrap();
        let mut w = ConfWatcher::new(&path).unwrap();

        // Several writes in a burst: one report.
        for level in ["debug", "warn", "error"] {
            std::fs::write(&path, format!("logLevel: {level}\n")).unwrap();
        }
        tokio::time::timeout(Duration::from_secs(10), w.changed())
            .await
            .expect("a change is reported");

        // Replace by rename, as editors do.
        let tmp = dir.path().join(".mediamtx.yml.swp");
        std::fs::write(&tmp, "logLevel: debug\n").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        tokio::time::timeout(Duration::from_secs(10), w.changed())
            .await
            .expect("a rename over the file is reported");

        // Other files in the directory are ignored; so is rewriting the same bytes.
        std::fs::write(dir.path().join("other.yml"), "x").unwrap();
        std::fs::write(&path, "logLevel: debug\n").unwrap();
        assert!(
            tokio::time::timeout(Duration::from_secs(3), w.changed())
                .await
                .is_err()
        );
    }
}
