//! Stream observers: server-wide followers of every path's stream, such as the recorder.
//!
//! An observer is told when a stream becomes available on a path, and again when a path
//! with a live stream gets new values for the keys that change without restarting it
//! (`record*`, see [`live_keys_only_differ`]). What it returns is kept by the path and
//! dropped when the stream ends, the path closes, the observer is replaced, or before the
//! observer is told of a new configuration.

use std::sync::Arc;

use ferromtx_conf::PathConf;

use crate::externalcmd::Environment;
use crate::stream::Stream;

/// Keys of a path's configuration that apply to a live path without closing it: its
/// publisher and readers stay, its observers are told again (MediaMTX restarts the
/// recorder the same way).
pub const LIVE_KEYS: &[&str] = &[
    "record",
    "recordPath",
    "recordFormat",
    "recordPartDuration",
    "recordMaxPartSize",
    "recordSegmentDuration",
    "recordDeleteAfter",
];

/// A stream that is available on a path, as an observer is told of it.
#[derive(Debug, Clone, Copy)]
pub struct AvailableStream<'a> {
    /// The path's name.
    pub path: &'a str,
    /// The path's configuration in force (with the latest [`LIVE_KEYS`]).
    pub conf: &'a Arc<PathConf>,
    pub stream: &'a Arc<Stream>,
    /// The path's hook environment (`MTX_PATH`, `RTSP_PATH`, `RTSP_PORT`, `G1`...).
    pub env: &'a Environment,
}

/// What a path keeps for an observer while its stream lives; dropping it ends the
/// observation.
pub type Observation = Box<dyn Send>;

/// Follows the streams of every path.
pub trait StreamObserver: Send + Sync + 'static {
    /// A stream is available (or its path's [`LIVE_KEYS`] changed). Called with the path's
    /// lock held: it must not block or call back into the path. `None`: nothing to keep.
    fn stream_available(&self, stream: AvailableStream<'_>) -> Option<Observation>;
}

/// Whether `old` and `new` differ only in [`LIVE_KEYS`] (they may also be equal).
pub fn live_keys_only_differ(old: &PathConf, new: &PathConf) -> bool {
    if old.name != new.name {
        return false;
    }
    let strip = |c: &PathConf| {
        let mut json = c.to_json();
        if let Some(map) = json.as_object_mut() {
            for key in LIVE_KEYS {
                map.remove(*key);
            }
        }
        json
    };
    strip(old) == strip(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_record_keys_are_live() {
        let mut old = PathConf::default();
        old.name = "cam".into();
        let mut new = old.clone();
        new.record = true;
        new.record_path = "/rec/%path/%s".into();
        new.record_delete_after = std::time::Duration::from_secs(60);
        assert!(live_keys_only_differ(&old, &new));
        assert!(live_keys_only_differ(&old, &old));
        new.max_readers = 3;
        assert!(!live_keys_only_differ(&old, &new));
        let mut renamed = old.clone();
        renamed.name = "other".into();
        assert!(!live_keys_only_differ(&old, &renamed));
    }
}
