//! The path manager: matches requested names to their configuration, authenticates,
//! creates paths lazily and removes them when idle.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use ferromtx_auth as auth;
use ferromtx_conf::{AuthAction, Conf};
use tokio::sync::watch;

use crate::hooks::Described;
use crate::observer::{StreamObserver, live_keys_only_differ};
use crate::path::{Path, PathError, PathInfo, Publisher, ReaderHandle};
use crate::source::SourceRegistry;

/// Default ring size when the configuration's `writeQueueSize` is unusable.
const DEFAULT_WRITE_QUEUE_SIZE: usize = 512;

/// The global keys paths and their sources are built with: the ring size, the RTP payload
/// limit, the timeouts of sources, the RTSP address hooks are told.
fn paths_depend_on(conf: &Conf) -> impl PartialEq + use<> {
    (
        conf.write_queue_size,
        conf.udp_max_payload_size,
        conf.read_timeout,
        conf.write_timeout,
        conf.rtsp_address.clone(),
    )
}

/// A request to publish to or read from a path.
#[derive(Debug, Clone)]
pub struct PathRequest {
    pub name: String,
    /// Raw query string, without `?`.
    pub query: String,
    pub ip: IpAddr,
    pub credentials: auth::Credentials,
    pub protocol: auth::Protocol,
    /// Who asks, as the API shows it (`{"rtspSession", "<uuid>"}`).
    pub who: Described,
    /// Skip authentication (the protocol already did it, e.g. RTSP after ANNOUNCE).
    pub skip_auth: bool,
}

/// Owns the live paths.
#[derive(Clone)]
pub struct PathManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PathManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PathManager").finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    conf: RwLock<Arc<Conf>>,
    auth: Arc<auth::Manager>,
    sources: SourceRegistry,
    paths: Mutex<HashMap<String, Arc<Path>>>,
    /// Counts paths becoming available or unavailable (see
    /// [`PathManager::availability_changes`]).
    pub(crate) availability: watch::Sender<u64>,
    observer: RwLock<Option<Arc<dyn StreamObserver>>>,
}

impl PathManager {
    /// A manager without static sources. Call inside a tokio runtime: paths of plain
    /// (non-regex) entries are created at once, running `runOnInit`.
    pub fn new(conf: Arc<Conf>, auth: Arc<auth::Manager>) -> PathManager {
        PathManager::with_sources(conf, auth, SourceRegistry::new())
    }

    /// A manager whose paths pull from static sources of the registered schemes.
    pub fn with_sources(
        conf: Arc<Conf>,
        auth: Arc<auth::Manager>,
        sources: SourceRegistry,
    ) -> PathManager {
        let inner = Arc::new(Inner {
            conf: RwLock::new(conf),
            auth,
            sources,
            paths: Mutex::new(HashMap::new()),
            availability: watch::channel(0).0,
            observer: RwLock::new(None),
        });
        inner.create_static_paths();
        PathManager { inner }
    }

    /// Authenticates a request for `action` on its path without taking anything (a
    /// page, a preflight): the name must match a configured path.
    pub async fn authenticate(
        &self,
        req: &PathRequest,
        action: AuthAction,
    ) -> Result<(), PathError> {
        self.inner.check(req, action).await
    }

    /// Authenticates and claims the path for a publisher.
    pub async fn add_publisher(&self, req: PathRequest) -> Result<Publisher, PathError> {
        self.inner.check(&req, AuthAction::Publish).await?;
        // A path closed between lookup and use is looked up again once.
        for _ in 0..2 {
            let path = self.inner.get_or_create(&req.name)?;
            match path.add_publisher(req.who.clone()) {
                Err(PathError::Terminated) => continue,
                other => return other,
            }
        }
        Err(PathError::Terminated)
    }

    /// Authenticates and attaches a reader, waiting for an on-demand source or
    /// `runOnDemand` publisher up to its start timeout.
    pub async fn add_reader(&self, req: PathRequest) -> Result<ReaderHandle, PathError> {
        self.inner.check(&req, AuthAction::Read).await?;
        for _ in 0..2 {
            let path = self.inner.get_or_create(&req.name)?;
            match path.add_reader(req.who.clone(), &req.query).await {
                Err(PathError::Terminated) => continue,
                other => return other,
            }
        }
        Err(PathError::Terminated)
    }

    /// Applies a new configuration: paths whose configuration changed (or vanished) are
    /// closed, their publishers and readers disconnected, except when only the keys that
    /// apply live changed (`record*`, see [`crate::observer::LIVE_KEYS`]): those paths
    /// stay and their observers are told again. New plain entries get paths. A
    /// change of a global key that paths and their sources are built with (see
    /// [`paths_depend_on`]) closes every path, so the new value takes effect, as MediaMTX
    /// does by recreating its path manager.
    pub fn reload(&self, conf: Arc<Conf>) {
        let old = std::mem::replace(
            &mut *self
                .inner
                .conf
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            Arc::clone(&conf),
        );
        let all = paths_depend_on(&old) != paths_depend_on(&conf);
        let mut closed = Vec::new();
        let mut updated = Vec::new();
        {
            let mut paths = self.inner.lock_paths();
            paths.retain(|name, path| {
                let keep = !all
                    && conf.find_path_conf(name).is_ok_and(|m| {
                        let current = path.current_conf();
                        if *m.conf == *current {
                            return true;
                        }
                        if !live_keys_only_differ(&current, m.conf) {
                            return false;
                        }
                        updated.push((Arc::clone(path), Arc::new(m.conf.clone())));
                        true
                    });
                if !keep {
                    closed.push(Arc::clone(path));
                }
                keep
            });
        }
        for path in closed {
            path.close();
        }
        let observer = self.inner.observer();
        for (path, conf) in updated {
            path.update_live_keys(conf, observer.as_ref());
        }
        self.inner.create_static_paths();
    }

    /// Installs (or with `None` removes) the server's stream observer: it is told of every
    /// stream available now and of every stream that becomes available later; what the
    /// previous one kept is dropped.
    pub fn set_stream_observer(&self, observer: Option<Arc<dyn StreamObserver>>) {
        *self
            .inner
            .observer
            .write()
            .unwrap_or_else(PoisonError::into_inner) = observer.clone();
        let paths: Vec<Arc<Path>> = self.inner.lock_paths().values().cloned().collect();
        for path in paths {
            path.observe(observer.as_ref());
        }
    }

    /// Every live path, sorted by name.
    pub fn paths_info(&self) -> Vec<PathInfo> {
        let paths: Vec<Arc<Path>> = self.inner.lock_paths().values().cloned().collect();
        let mut infos: Vec<PathInfo> = paths.iter().map(|p| p.info()).collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        infos
    }

    pub fn path_info(&self, name: &str) -> Option<PathInfo> {
        let path = self.inner.lock_paths().get(name).cloned();
        path.map(|p| p.info())
    }

    /// Closes every path (server shutdown).
    pub fn close(&self) {
        let paths: Vec<Arc<Path>> = self.inner.lock_paths().drain().map(|(_, p)| p).collect();
        for path in paths {
            path.close();
        }
    }

    /// The configuration in force.
    pub fn conf(&self) -> Arc<Conf> {
        self.inner.conf()
    }

    /// Changes whenever a path becomes available or unavailable: a server that acts on
    /// every available path (`hlsAlwaysRemux`) looks at [`PathManager::paths_info`] then.
    pub fn availability_changes(&self) -> watch::Receiver<u64> {
        self.inner.availability.subscribe()
    }
}

impl Inner {
    pub(crate) fn conf(&self) -> Arc<Conf> {
        Arc::clone(&self.conf.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The stream observer installed, if any.
    pub(crate) fn observer(&self) -> Option<Arc<dyn StreamObserver>> {
        self.observer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn lock_paths(&self) -> MutexGuard<'_, HashMap<String, Arc<Path>>> {
        self.paths.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn check(&self, req: &PathRequest, action: AuthAction) -> Result<(), PathError> {
        // name validation and "not configured" come before authentication
        self.conf().find_path_conf(&req.name)?;
        if req.skip_auth {
            return Ok(());
        }
        let auth_req = auth::Request {
            action,
            path: req.name.clone(),
            query: req.query.clone(),
            ip: req.ip,
            credentials: req.credentials.clone(),
            protocol: req.protocol,
            id: (!req.who.id.is_empty()).then(|| req.who.id.clone()),
        };
        self.auth.authenticate(&auth_req).await?;
        Ok(())
    }

    fn get_or_create(self: &Arc<Self>, name: &str) -> Result<Arc<Path>, PathError> {
        let conf = self.conf();
        let mut paths = self.lock_paths();
        if let Some(path) = paths.get(name) {
            return Ok(Arc::clone(path));
        }
        let m = conf.find_path_conf(name)?;
        let path = self.new_path(&conf, name, m.conf, m.captures);
        paths.insert(name.to_owned(), Arc::clone(&path));
        Ok(path)
    }

    fn new_path(
        self: &Arc<Self>,
        conf: &Conf,
        name: &str,
        path_conf: &ferromtx_conf::PathConf,
        captures: Vec<String>,
    ) -> Arc<Path> {
        let static_source = match path_conf.source.as_str() {
            "publisher" | "redirect" => None,
            url => {
                let found = self.sources.lookup(url);
                if found.is_none() {
                    tracing::warn!(path = name, "no static source handles '{url}'");
                }
                found
            }
        };
        let write_queue_size =
            usize::try_from(conf.write_queue_size).unwrap_or(DEFAULT_WRITE_QUEUE_SIZE);
        Path::new(
            name.to_owned(),
            Arc::new(path_conf.clone()),
            captures,
            write_queue_size,
            &conf.rtsp_address,
            static_source,
            Arc::downgrade(self),
        )
    }

    /// Creates the paths of plain (non-regex) entries that have none yet.
    fn create_static_paths(self: &Arc<Self>) {
        let conf = self.conf();
        let mut paths = self.lock_paths();
        for pc in &conf.paths {
            let plain = !pc.name.starts_with('~') && pc.name != "all" && pc.name != "all_others";
            if plain && !paths.contains_key(&pc.name) {
                let path = self.new_path(&conf, &pc.name, pc, Vec::new());
                paths.insert(pc.name.clone(), path);
            }
        }
    }

    /// Removes a dynamic path that has nothing left (lock order: paths, then path).
    pub(crate) fn remove_if_idle(&self, path: &Arc<Path>) {
        let mut paths = self.lock_paths();
        let is_current = paths.get(&path.name).is_some_and(|p| Arc::ptr_eq(p, path));
        if is_current && path.close_if_idle() {
            paths.remove(&path.name);
        }
    }
}
