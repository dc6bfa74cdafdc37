//! Components: what the binary starts from the configuration. Each protocol server (RTSP,
//! RTSPS, WebRTC, next RTMP, HLS, SRT, playback) and each control-plane server (API,
//! metrics, pprof) is one. The binary holds a list of them and gives every one each
//! configuration in force; a component starts, restarts or stops itself as its own
//! settings say, and shows the API what it lists and kicks.
//!
//! A server implements [`Server`] (its settings derived from the configuration, start,
//! close); [`component`] turns it into a [`Component`] that restarts it only when those
//! settings change.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};

use ferromtx_auth::Manager as AuthManager;
use ferromtx_conf::Conf;
use ferromtx_core::{PathManager, SourceRegistry, StaticSource};

use crate::backend::Backend;
use crate::sessions::Sessions;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What components share: the configuration in force and the server's core.
#[derive(Clone)]
pub struct Context {
    pub conf: Arc<Conf>,
    pub paths: Arc<PathManager>,
    pub auth: Arc<AuthManager>,
    /// What the control plane sees (the API, metrics and protocol HTTP servers use it).
    pub backend: Arc<dyn Backend>,
    /// Where running components show their connections and sessions.
    pub registry: Arc<Registry>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// One thing the binary runs.
pub trait Component: Send {
    /// Brings the component in line with `ctx.conf`: starts it, restarts it if its
    /// settings changed, stops it if the configuration turns it off. An error (a port in
    /// use, unreadable certificate files) leaves it stopped; it is a whole log line.
    fn apply<'a>(&'a mut self, ctx: &'a Context) -> BoxFuture<'a, Result<(), String>>;

    /// Stops it; when this returns its ports are free.
    fn close(&mut self) -> BoxFuture<'_, ()>;
}

/// What the protocols give the binary: their components, in start order, and their
/// static sources by URL scheme.
#[derive(Default)]
pub struct Registration {
    pub components: Vec<Box<dyn Component>>,
    pub sources: SourceRegistry,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("components", &self.components.len())
            .field("sources", &self.sources)
            .finish()
    }
}

impl Registration {
    /// Adds a component; components start in the order they are added.
    pub fn component(&mut self, c: Box<dyn Component>) {
        self.components.push(c);
    }

    /// Registers the static source of a URL scheme (`rtsp`, `rtmp`...).
    pub fn source(&mut self, scheme: &str, source: Arc<dyn StaticSource>) {
        self.sources.register(scheme, source);
    }
}

/// A server started from its settings.
pub trait Server: Send + Sync + Sized + 'static {
    /// Everything of the configuration the server depends on: a change restarts it.
    type Settings: PartialEq + Send + Sync + 'static;

    /// The settings in `conf`, or `None` when the configuration turns the server off.
    fn settings(conf: &Conf) -> Option<Self::Settings>;

    /// Binds and starts serving. Logs its `started with listener` line.
    fn start<'a>(
        settings: &'a Self::Settings,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Arc<Self>, String>>;

    /// Stops serving and ends its connections; when this returns its ports are free.
    /// Logs its `closing` line. Called once.
    fn close(&self) -> BoxFuture<'_, ()>;

    /// What the API lists and kicks of it, if anything.
    fn sessions(self: &Arc<Self>) -> Option<Arc<dyn Sessions>> {
        None
    }
}

/// The [`Component`] of server `S`.
pub fn component<S: Server>() -> Box<dyn Component> {
    Box::new(Restartable::<S> {
        running: None,
        _server: PhantomData,
    })
}

struct Restartable<S: Server> {
    running: Option<Running<S>>,
    _server: PhantomData<fn() -> S>,
}

struct Running<S: Server> {
    settings: S::Settings,
    server: Arc<S>,
    /// Its entry in the registry, if it shows sessions.
    entry: Option<(Arc<Registry>, u64)>,
}

impl<S: Server> Restartable<S> {
    async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            if let Some((registry, entry)) = r.entry {
                registry.remove(entry);
            }
            r.server.close().await;
        }
    }
}

impl<S: Server> Component for Restartable<S> {
    fn apply<'a>(&'a mut self, ctx: &'a Context) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let wanted = S::settings(&ctx.conf);
            if let (Some(r), Some(w)) = (&self.running, &wanted)
                && r.settings == *w
            {
                return Ok(());
            }
            self.stop().await;
            let Some(settings) = wanted else {
                return Ok(());
            };
            let server = S::start(&settings, ctx).await?;
            let entry = server
                .sessions()
                .map(|s| (Arc::clone(&ctx.registry), ctx.registry.add(s)));
            self.running = Some(Running {
                settings,
                server,
                entry,
            });
            Ok(())
        })
    }

    fn close(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(self.stop())
    }
}

/// The sessions of the running components, as the API lists them.
#[derive(Default)]
pub struct Registry {
    entries: RwLock<Vec<(u64, Arc<dyn Sessions>)>>,
    next: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    fn add(&self, sessions: Arc<dyn Sessions>) -> u64 {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((id, sessions));
        id
    }

    fn remove(&self, id: u64) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(i, _)| *i != id);
    }

    /// Every running component's sessions.
    pub fn all(&self) -> Vec<Arc<dyn Sessions>> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, s)| Arc::clone(s))
            .collect()
    }
}
