//! The HLS server's driver: one muxer per path (made on the first request, or for every
//! available path with `hlsAlwaysRemux`), sessions, the HTTP routes, and what the API sees.

mod directory;
pub(crate) mod http;
pub(crate) mod muxer;
mod query;
pub(crate) mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ferromtx_api::dto;
use ferromtx_core::PathManager;
use rand::Rng;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::Config;
use muxer::MuxerEntry;

/// What the driver needs of the `hls*` keys besides the HTTP server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub muxer: Config,
    /// `hlsAlwaysRemux`.
    pub always_remux: bool,
    /// `hlsDirectory` (`None` when empty).
    pub directory: Option<String>,
    /// `hlsMuxerCloseAfter`.
    pub close_after: Duration,
    /// `hlsCDNSecret` (empty: no CDN sessions).
    pub cdn_secret: String,
}

/// A random RFC 4122 version-4 UUID.
pub(crate) fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::thread_rng().r#gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The random prefix of a muxer's file names (12 hex digits, as MediaMTX).
pub(crate) fn new_prefix() -> String {
    let b: [u8; 6] = rand::thread_rng().r#gen();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn time(t: std::time::SystemTime) -> String {
    dto::timestamp(chrono::DateTime::<chrono::Utc>::from(t))
}

/// Why a muxer could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GetMuxerError {
    /// `hlsAlwaysRemux` makes it when the path is ready.
    Waiting,
    Closed,
}

impl std::fmt::Display for GetMuxerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GetMuxerError::Waiting => "muxer is waiting to be created",
            GetMuxerError::Closed => "terminated",
        })
    }
}

/// The server's state, shared by its HTTP handlers and muxer tasks.
pub(crate) struct Shared {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) paths: Arc<PathManager>,
    muxers: Mutex<HashMap<String, Arc<MuxerEntry>>>,
    pub(crate) cancel: CancellationToken,
    tasks: TaskTracker,
    /// Woken when a muxer ends (`hlsAlwaysRemux` makes a new one if its path is back).
    muxer_ended: tokio::sync::Notify,
}

/// The HLS server (without its HTTP listener, which the component runs).
pub struct HlsServer {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for HlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HlsServer").finish_non_exhaustive()
    }
}

impl HlsServer {
    /// Starts the server's background work (`hlsAlwaysRemux`).
    pub fn start(config: ServerConfig, paths: Arc<PathManager>) -> HlsServer {
        let shared = Arc::new(Shared {
            config: Arc::new(config),
            paths,
            muxers: Mutex::new(HashMap::new()),
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
            muxer_ended: tokio::sync::Notify::new(),
        });
        if shared.config.always_remux {
            let s = Arc::clone(&shared);
            shared.tasks.spawn(always_remux(s));
        }
        HlsServer { shared }
    }

    /// The HTTP routes.
    pub fn router(&self) -> axum::Router {
        http::router(Arc::clone(&self.shared))
    }

    /// Ends every muxer and session; returns when they are gone.
    pub async fn close(&self) {
        self.shared.cancel.cancel();
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
    }

    /// `/v3/hlsmuxers/list`, oldest first.
    pub fn muxers(&self) -> Vec<dto::HLSMuxer> {
        let mut list: Vec<Arc<MuxerEntry>> = self.shared.lock_muxers().values().cloned().collect();
        list.sort_by_key(|m| m.created);
        list.iter()
            .map(|m| dto::HLSMuxer {
                bytes_sent: m.bytes_sent(),
                created: time(m.created),
                last_request: time(m.last_request()),
                outbound_bytes: m.bytes_sent(),
                outbound_frames_discarded: m.frames_discarded(),
                path: m.path.clone(),
            })
            .collect()
    }

    /// `/v3/hlssessions/list`, oldest first.
    pub fn sessions(&self) -> Vec<dto::HLSSession> {
        let muxers: Vec<Arc<MuxerEntry>> = self.shared.lock_muxers().values().cloned().collect();
        let mut all: Vec<Arc<session::Session>> = muxers
            .iter()
            .flat_map(|m| m.lock_sessions().all().cloned().collect::<Vec<_>>())
            .collect();
        all.sort_by_key(|s| s.created);
        all.iter()
            .map(|s| dto::HLSSession {
                created: time(s.created),
                id: s.id.clone(),
                is_cdn: s.is_cdn,
                outbound_bytes: s.bytes_sent(),
                path: s.path.clone(),
                query: s.query.clone(),
                remote_addr: s.remote.clone(),
                user: s.user.clone(),
                user_agent: s.user_agent.clone(),
            })
            .collect()
    }

    /// Closes the session `id`; false when no muxer has it.
    pub fn kick_session(&self, id: &str) -> bool {
        let muxers: Vec<Arc<MuxerEntry>> = self.shared.lock_muxers().values().cloned().collect();
        for m in muxers {
            let found = {
                let mut sessions = m.lock_sessions();
                if sessions.cdn.as_ref().is_some_and(|s| s.id == id) {
                    sessions.cdn.take()
                } else {
                    let secret = sessions
                        .by_secret
                        .iter()
                        .find(|(_, s)| s.id == id)
                        .map(|(k, _)| k.clone());
                    secret.and_then(|k| sessions.by_secret.remove(&k))
                }
            };
            if let Some(s) = found {
                s.close("kicked");
                return true;
            }
        }
        false
    }
}

impl Shared {
    fn lock_muxers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<MuxerEntry>>> {
        self.muxers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The muxer of `path` if there is one.
    pub(crate) fn muxer(&self, path: &str) -> Option<Arc<MuxerEntry>> {
        self.lock_muxers().get(path).cloned()
    }

    /// The muxer of `path`, made now if there is none (unless `hlsAlwaysRemux` makes it).
    pub(crate) fn get_or_create_muxer(
        self: &Arc<Self>,
        path: &str,
        remote: &str,
        query: &str,
        source_on_demand: bool,
    ) -> Result<Arc<MuxerEntry>, GetMuxerError> {
        if self.cancel.is_cancelled() {
            return Err(GetMuxerError::Closed);
        }
        let mut muxers = self.lock_muxers();
        if let Some(m) = muxers.get(path) {
            return Ok(Arc::clone(m));
        }
        if self.config.always_remux && !source_on_demand {
            return Err(GetMuxerError::Waiting);
        }
        let m = self.spawn_muxer(path, Some(remote.to_owned()), query);
        muxers.insert(path.to_owned(), Arc::clone(&m));
        Ok(m)
    }

    fn spawn_muxer(
        self: &Arc<Self>,
        path: &str,
        requested_by: Option<String>,
        query: &str,
    ) -> Arc<MuxerEntry> {
        let entry = Arc::new(MuxerEntry::new(
            path,
            requested_by,
            self.cancel.child_token(),
        ));
        let shared = Arc::clone(self);
        let on_end = move |e: &Arc<MuxerEntry>| {
            let mut muxers = shared.lock_muxers();
            if muxers.get(&e.path).is_some_and(|m| Arc::ptr_eq(m, e)) {
                muxers.remove(&e.path);
            }
            drop(muxers);
            shared.muxer_ended.notify_one();
        };
        self.tasks.spawn(muxer::run(
            Arc::clone(&entry),
            Arc::clone(&self.paths),
            Arc::clone(&self.config),
            query.to_owned(),
            on_end,
        ));
        entry
    }
}

/// `hlsAlwaysRemux`: a muxer for every available path that is not on demand.
async fn always_remux(shared: Arc<Shared>) {
    let mut changes = shared.paths.availability_changes();
    loop {
        changes.borrow_and_update();
        let conf = shared.paths.conf();
        for info in shared.paths.paths_info() {
            if !info.available {
                continue;
            }
            let on_demand = conf
                .find_path_conf(&info.name)
                .is_ok_and(|m| m.conf.source_on_demand);
            if on_demand {
                continue;
            }
            let mut muxers = shared.lock_muxers();
            if !muxers.contains_key(&info.name) && !shared.cancel.is_cancelled() {
                let m = shared.spawn_muxer(&info.name, None, "");
                muxers.insert(info.name.clone(), m);
            }
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            () = shared.muxer_ended.notified() => {}
            () = shared.cancel.cancelled() => return,
        }
    }
}
