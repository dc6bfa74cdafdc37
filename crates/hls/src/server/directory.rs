//! `hlsDirectory`: finished segments are written to `<hlsDirectory>/<path>/<name>` and
//! leave memory; they are read back when requested and deleted when they leave the
//! playlists, and the directory is removed when the muxer closes. Parts of the newest
//! segments stay in memory (LL-HLS players fetch them as they appear).

use std::collections::HashSet;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;

use crate::Muxer;

/// Largest segment read back (`hlsSegmentMaxSize` caps what is written).
const MAX_READ: u64 = 1 << 30;

#[derive(Debug)]
pub(crate) struct Directory {
    dir: PathBuf,
    written: Mutex<HashSet<String>>,
}

impl Directory {
    /// Creates `<base>/<path>`. A path name that would leave `base` is refused.
    pub(crate) fn create(base: &str, path: &str) -> io::Result<Directory> {
        let rel = Path::new(path);
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "path escapes base directory",
            ));
        }
        let dir = Path::new(base).join(rel);
        std::fs::create_dir_all(&dir)?;
        Ok(Directory {
            dir,
            written: Mutex::new(HashSet::new()),
        })
    }

    /// Stores the segments the muxer finished and deletes those it dropped. Called with the
    /// muxer locked, once per finished part or segment.
    pub(crate) fn sync(&self, muxer: &mut Muxer) {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        for (name, chunks) in muxer.segments_to_store() {
            match std::fs::write(self.dir.join(&name), chunks.concat()) {
                Ok(()) => {
                    written.insert(name.clone());
                    muxer.mark_stored(&name);
                }
                Err(e) => tracing::warn!("unable to write segment {name}: {e}"),
            }
        }
        for name in muxer.take_evicted() {
            if written.remove(&name) {
                let _ = std::fs::remove_file(self.dir.join(&name));
            }
        }
    }

    /// A stored segment's bytes.
    pub(crate) async fn read(&self, name: &str) -> io::Result<Bytes> {
        if !self
            .written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(name)
        {
            return Err(io::ErrorKind::NotFound.into());
        }
        let path = self.dir.join(name);
        let len = tokio::fs::metadata(&path).await?.len();
        if len > MAX_READ {
            return Err(io::Error::other("segment too large"));
        }
        tokio::fs::read(&path).await.map(Bytes::from)
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        let written = self
            .written
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for name in written.drain() {
            let _ = std::fs::remove_file(self.dir.join(name));
        }
        // Only when empty, as MediaMTX does.
        let _ = std::fs::remove_dir(&self.dir);
    }
}
