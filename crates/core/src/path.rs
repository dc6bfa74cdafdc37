//! A path: one name, its configuration, at most one source, its stream, its readers, its
//! hooks and its on-demand state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use ferromtx_conf::{ConfError, PathConf};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::externalcmd::Environment;
use crate::hooks::{self, Described, Hook, HookSpec};
use crate::observer::{AvailableStream, Observation, StreamObserver};
use crate::path_manager::Inner;
use crate::reader::Reader;
use crate::source::{self, SourceContext, StaticSource};
use crate::stream::{Stream, Track};

/// Why a publisher or reader could not be added. Texts are MediaMTX's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Invalid name, or `path 'x' is not configured`.
    #[error(transparent)]
    Conf(#[from] ConfError),
    #[error(transparent)]
    Auth(#[from] ferromtx_auth::Error),
    #[error("no stream is available on path '{0}'")]
    NoStream(String),
    #[error("someone is already publishing to path '{0}'")]
    AlreadyPublishing(String),
    #[error("can't publish to path '{0}' since 'source' is not 'publisher'")]
    NotPublisherSource(String),
    #[error("maximum reader count reached")]
    MaxReaders,
    #[error("source of path '{0}' has timed out")]
    SourceTimeout(String),
    #[error("terminated")]
    Terminated,
    /// Readers are sent elsewhere: `source: redirect` with `sourceRedirect`, or the deprecated
    /// `fallback` when no stream is available. Protocols answer with a redirect (RTSP 302).
    #[error("redirect to '{0}'")]
    Redirect(String),
}

/// A snapshot of a path for the API (`/v3/paths/list`) and metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct PathInfo {
    pub name: String,
    pub conf_name: String,
    pub source: Option<Described>,
    /// Deprecated alias of `available`.
    pub ready: bool,
    pub ready_time: Option<SystemTime>,
    pub available: bool,
    pub available_time: Option<SystemTime>,
    pub online: bool,
    pub online_time: Option<SystemTime>,
    pub tracks: Vec<Track>,
    pub inbound_bytes: u64,
    pub outbound_bytes: u64,
    pub readers: Vec<Described>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum DemandState {
    #[default]
    Initial,
    WaitingReady,
    Ready,
    Closing,
}

enum SourceSlot {
    Publisher {
        id: u64,
        who: Described,
        kick: CancellationToken,
    },
    Static {
        who: Described,
    },
}

impl SourceSlot {
    fn described(&self) -> &Described {
        match self {
            SourceSlot::Publisher { who, .. } | SourceSlot::Static { who } => who,
        }
    }
}

struct ReaderEntry {
    id: u64,
    who: Described,
    _hook: Hook,
}

#[derive(Default)]
struct State {
    closed: bool,
    source: Option<SourceSlot>,
    stream: Option<Arc<Stream>>,
    available_time: Option<SystemTime>,
    online_time: Option<SystemTime>,
    readers: Vec<ReaderEntry>,
    waiting: usize,
    on_init: Option<Hook>,
    on_unavailable: Option<Hook>,
    on_offline: Option<Hook>,
    demand: DemandState,
    demand_generation: u64,
    demand_hook: Option<Hook>,
    source_cancel: Option<CancellationToken>,
    /// What the stream observer keeps while the stream lives.
    observed: Option<Observation>,
    /// The configuration with the latest live keys (`record*`), once they changed.
    live_conf: Option<Arc<PathConf>>,
}

pub(crate) struct Path {
    pub(crate) name: String,
    pub(crate) conf: Arc<PathConf>,
    captures: Vec<String>,
    write_queue_size: usize,
    env: Environment,
    span: tracing::Span,
    static_source: Option<(Arc<dyn StaticSource>, String)>,
    manager: Weak<Inner>,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    next_id: AtomicU64,
}

impl Path {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: String,
        conf: Arc<PathConf>,
        captures: Vec<String>,
        write_queue_size: usize,
        rtsp_address: &str,
        static_source: Option<Arc<dyn StaticSource>>,
        manager: Weak<Inner>,
    ) -> Arc<Path> {
        let env = hooks::path_env(&name, rtsp_address, captures.get(1..).unwrap_or(&[]));
        // `[path x] ...` whoever makes the path: a reader's or publisher's connection that
        // happens to create it must not prefix the path's lines with its own.
        let span = tracing::info_span!(parent: None, "path", path = %name);
        let static_source =
            static_source.map(|s| (s, source::substitute_captures(&conf.source, &captures)));
        let path = Arc::new(Path {
            name,
            conf,
            captures,
            write_queue_size,
            env,
            span,
            static_source,
            manager,
            state: Mutex::new(State::default()),
            changed: watch::channel(0).0,
            next_id: AtomicU64::new(1),
        });
        path.start();
        path
    }

    fn start(self: &Arc<Self>) {
        let _enter = self.span.enter();
        tracing::debug!("created");
        let mut st = self.lock();
        st.on_init = Some(Hook::start(HookSpec {
            on_name: "runOnInit",
            on_cmd: self.conf.run_on_init.clone(),
            restart: self.conf.run_on_init_restart,
            env: self.env.clone(),
            ..HookSpec::default()
        }));
        if self.static_source.is_some() && !self.conf.source_on_demand {
            st.source_cancel = Some(self.spawn_static_source(String::new()));
        }
    }

    /// The global configuration in force, while the manager lives.
    pub(crate) fn global_conf(&self) -> Option<Arc<ferromtx_conf::Conf>> {
        self.manager.upgrade().map(|m| m.conf())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configuration in force: the one the path was created with, with the live keys
    /// (`record*`) of the latest reload.
    pub(crate) fn current_conf(&self) -> Arc<PathConf> {
        let st = self.lock();
        st.live_conf
            .clone()
            .unwrap_or_else(|| Arc::clone(&self.conf))
    }

    /// Tells `observer` of the live stream, if any, after dropping what was kept.
    fn observe_locked(&self, st: &mut State, observer: Option<&Arc<dyn StreamObserver>>) {
        st.observed = None;
        let (Some(observer), Some(stream)) = (observer, &st.stream) else {
            return;
        };
        let conf = st
            .live_conf
            .clone()
            .unwrap_or_else(|| Arc::clone(&self.conf));
        st.observed = observer.stream_available(AvailableStream {
            path: &self.name,
            conf: &conf,
            stream,
            env: &self.env,
        });
    }

    /// A new stream observer: what the previous one kept is dropped, the new one is told
    /// of the live stream.
    pub(crate) fn observe(&self, observer: Option<&Arc<dyn StreamObserver>>) {
        let _enter = self.span.enter();
        let mut st = self.lock();
        if st.closed {
            return;
        }
        self.observe_locked(&mut st, observer);
    }

    /// New values of the live keys: the path stays, the observer is told again.
    pub(crate) fn update_live_keys(
        &self,
        conf: Arc<PathConf>,
        observer: Option<&Arc<dyn StreamObserver>>,
    ) {
        let _enter = self.span.enter();
        let mut st = self.lock();
        st.live_conf = Some(conf);
        if !st.closed && st.stream.is_some() {
            self.observe_locked(&mut st, observer);
        }
    }

    /// Whether this path was created from a regex entry and goes away when unused.
    fn is_dynamic(&self) -> bool {
        !self.captures.is_empty()
    }

    fn is_idle(&self, st: &State) -> bool {
        self.is_dynamic()
            && !st.closed
            && st.source.is_none()
            && st.readers.is_empty()
            && st.waiting == 0
    }

    fn notify(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    /// Tells the manager's watchers that the path became available or unavailable.
    fn notify_availability(&self) {
        if let Some(manager) = self.manager.upgrade() {
            manager.availability.send_modify(|v| *v += 1);
        }
    }

    fn has_on_demand_static(&self) -> bool {
        self.static_source.is_some() && self.conf.source_on_demand
    }

    fn has_on_demand_publisher(&self) -> bool {
        self.conf.source == "publisher" && !self.conf.run_on_demand.is_empty()
    }

    fn demand_timeouts(&self) -> (Duration, Duration) {
        if self.has_on_demand_static() {
            (
                self.conf.source_on_demand_start_timeout,
                self.conf.source_on_demand_close_after,
            )
        } else {
            (
                self.conf.run_on_demand_start_timeout,
                self.conf.run_on_demand_close_after,
            )
        }
    }

    fn spawn_static_source(self: &Arc<Self>, query: String) -> CancellationToken {
        let cancel = CancellationToken::new();
        if let Some((source, url)) = &self.static_source {
            let ctx = SourceContext {
                path: Arc::downgrade(self),
                url: url.clone(),
                conf: Arc::clone(&self.conf),
                cancel: cancel.clone(),
                query,
            };
            tokio::spawn(
                source::run_static_source(Arc::clone(source), ctx).instrument(self.span.clone()),
            );
        }
        cancel
    }

    // ----- availability

    fn set_available(&self, st: &mut State, tracks: Vec<Track>, query: &str) -> Arc<Stream> {
        self.set_unavailable(st);
        let stream = Stream::new(self.name.clone(), tracks, self.write_queue_size);
        let who = st.source.as_ref().map(|s| s.described().clone());
        let env = hooks::with_source(hooks::with_query(self.env.clone(), query), who.as_ref());
        let now = SystemTime::now();
        st.available_time = Some(now);
        st.online_time = Some(now);
        let conf = &self.conf;
        st.on_unavailable = Some(Hook::start(HookSpec {
            on_name: "runOnAvailable",
            on_cmd: conf.run_on_available.clone(),
            restart: conf.run_on_available_restart,
            off_name: "runOnUnavailable",
            off_cmd: conf.run_on_unavailable.clone(),
            env: env.clone(),
        }));
        st.on_offline = Some(Hook::start(HookSpec {
            on_name: "runOnOnline",
            on_cmd: conf.run_on_online.clone(),
            restart: conf.run_on_online_restart,
            off_name: "runOnOffline",
            off_cmd: conf.run_on_offline.clone(),
            env,
        }));
        st.stream = Some(Arc::clone(&stream));
        // The recorder starts (and says so) before the stream is announced, as in MediaMTX.
        let observer = self.manager.upgrade().and_then(|m| m.observer());
        self.observe_locked(st, observer.as_ref());
        let codecs: Vec<&str> = stream
            .tracks()
            .iter()
            .map(|t| t.format.codec_name())
            .collect();
        tracing::info!(
            "stream is available and online, {}",
            crate::stream::tracks_info(&codecs)
        );
        if st.demand == DemandState::WaitingReady {
            st.demand = DemandState::Ready;
        }
        self.notify();
        self.notify_availability();
        stream
    }

    fn set_unavailable(&self, st: &mut State) {
        let Some(stream) = st.stream.take() else {
            return;
        };
        // offline first, then unavailable, as MediaMTX does
        st.on_offline.take();
        st.on_unavailable.take();
        st.available_time = None;
        st.online_time = None;
        // The recorder stops before the stream closes, as in MediaMTX.
        st.observed = None;
        stream.close();
        // Readers of the ended stream are closed (their hooks run runOnUnread).
        st.readers.clear();
        self.notify();
        self.notify_availability();
    }

    // ----- publishers

    pub(crate) fn add_publisher(self: &Arc<Self>, who: Described) -> Result<Publisher, PathError> {
        let _enter = self.span.enter();
        if self.conf.source != "publisher" {
            return Err(PathError::NotPublisherSource(self.name.clone()));
        }
        let mut st = self.lock();
        if st.closed {
            return Err(PathError::Terminated);
        }
        if let Some(SourceSlot::Publisher { kick, .. }) = &st.source {
            if !self.conf.override_publisher {
                return Err(PathError::AlreadyPublishing(self.name.clone()));
            }
            tracing::info!("closing existing publisher");
            kick.cancel();
            st.source = None;
            self.set_unavailable(&mut st);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let kick = CancellationToken::new();
        st.source = Some(SourceSlot::Publisher {
            id,
            who,
            kick: kick.clone(),
        });
        Ok(Publisher {
            path: Arc::clone(self),
            id,
            kick,
        })
    }

    fn publisher_ready(
        self: &Arc<Self>,
        id: u64,
        tracks: Vec<Track>,
        query: &str,
    ) -> Result<Arc<Stream>, PathError> {
        let _enter = self.span.enter();
        let mut st = self.lock();
        match &st.source {
            Some(SourceSlot::Publisher { id: cur, .. }) if *cur == id && !st.closed => {}
            _ => return Err(PathError::Terminated),
        }
        let stream = self.set_available(&mut st, tracks, query);
        if self.has_on_demand_publisher() && st.demand != DemandState::Initial {
            self.schedule_close_if_unused(&mut st);
        }
        Ok(stream)
    }

    fn remove_publisher(self: &Arc<Self>, id: u64) {
        {
            let _enter = self.span.enter();
            let mut st = self.lock();
            match &st.source {
                Some(SourceSlot::Publisher { id: cur, .. }) if *cur == id => {}
                _ => return,
            }
            st.source = None;
            self.set_unavailable(&mut st);
            if self.has_on_demand_publisher()
                && matches!(st.demand, DemandState::Ready | DemandState::Closing)
            {
                self.stop_on_demand(&mut st, "publisher stopped");
            }
        }
        self.maybe_remove();
    }

    // ----- static sources

    pub(crate) fn static_source_ready(
        self: &Arc<Self>,
        tracks: Vec<Track>,
        query: &str,
    ) -> Arc<Stream> {
        let _enter = self.span.enter();
        let mut st = self.lock();
        let kind = self
            .static_source
            .as_ref()
            .map_or("", |(s, _)| s.kind())
            .to_owned();
        st.source = Some(SourceSlot::Static {
            who: Described {
                kind,
                id: String::new(),
            },
        });
        let stream = self.set_available(&mut st, tracks, query);
        if self.has_on_demand_static() {
            self.schedule_close_if_unused(&mut st);
        }
        stream
    }

    pub(crate) fn static_source_not_ready(self: &Arc<Self>) {
        let stopped = {
            let _enter = self.span.enter();
            let mut st = self.lock();
            let was_ready = st.stream.is_some();
            if matches!(st.source, Some(SourceSlot::Static { .. })) {
                st.source = None;
            }
            self.set_unavailable(&mut st);
            // An on-demand source that was ready and failed stops at once, as in MediaMTX:
            // its readers were closed, and the next reader starts it again without waiting
            // for the retry pause. One that never got ready keeps retrying for its waiting
            // readers until their start timeout.
            let stop =
                self.has_on_demand_static() && was_ready && st.demand != DemandState::Initial;
            if stop {
                self.stop_on_demand(&mut st, "an error occurred");
            }
            stop
        };
        if stopped {
            // A path of a regex entry without a source nor readers goes away.
            self.maybe_remove();
        }
    }

    // ----- on demand

    fn start_on_demand(self: &Arc<Self>, st: &mut State, query: &str) {
        st.demand = DemandState::WaitingReady;
        st.demand_generation += 1;
        if self.has_on_demand_static() {
            st.source_cancel = Some(self.spawn_static_source(query.to_owned()));
        } else {
            st.demand_hook = Some(Hook::start(HookSpec {
                on_name: "runOnDemand",
                on_cmd: self.conf.run_on_demand.clone(),
                restart: self.conf.run_on_demand_restart,
                off_name: "runOnUnDemand",
                off_cmd: self.conf.run_on_un_demand.clone(),
                env: hooks::with_query(self.env.clone(), query),
            }));
        }
    }

    fn schedule_close_if_unused(self: &Arc<Self>, st: &mut State) {
        if !st.readers.is_empty() || st.waiting > 0 || st.demand != DemandState::Ready {
            return;
        }
        st.demand = DemandState::Closing;
        st.demand_generation += 1;
        let generation = st.demand_generation;
        let (_, close_after) = self.demand_timeouts();
        let path = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(close_after).await;
            let Some(path) = path.upgrade() else {
                return;
            };
            {
                let _enter = path.span.enter();
                let mut st = path.lock();
                if st.demand == DemandState::Closing && st.demand_generation == generation {
                    path.stop_on_demand(&mut st, "not needed by anyone");
                }
            }
            path.maybe_remove();
        });
    }

    fn stop_on_demand(&self, st: &mut State, reason: &str) {
        st.demand = DemandState::Initial;
        st.demand_generation += 1;
        if self.has_on_demand_static() {
            if let Some(cancel) = st.source_cancel.take() {
                cancel.cancel();
            }
            tracing::info!("on-demand source stopped: {reason}");
            if matches!(st.source, Some(SourceSlot::Static { .. })) {
                st.source = None;
            }
            self.set_unavailable(st);
        } else if let Some(hook) = st.demand_hook.take() {
            hook.stop(Some(reason));
        }
    }

    // ----- readers

    pub(crate) async fn add_reader(
        self: &Arc<Self>,
        who: Described,
        query: &str,
    ) -> Result<ReaderHandle, PathError> {
        if self.conf.source == "redirect" {
            // A path made only to answer this reader goes with the answer.
            self.maybe_remove();
            return Err(PathError::Redirect(self.conf.source_redirect.clone()));
        }
        let mut changed = self.changed.subscribe();
        let mut deadline = None;
        // Each pass either returns or waits for an availability change; bounded by the
        // start timeout.
        loop {
            let refused = {
                let _enter = self.span.enter();
                let mut st = self.lock();
                if st.closed {
                    return Err(PathError::Terminated);
                }
                if let Some(stream) = st.stream.clone() {
                    return self.attach_reader(&mut st, stream, who, query, deadline.is_some());
                }
                let on_demand = self.has_on_demand_static() || self.has_on_demand_publisher();
                if on_demand {
                    if st.demand == DemandState::Initial {
                        self.start_on_demand(&mut st, query);
                    }
                    if deadline.is_none() {
                        let (start_timeout, _) = self.demand_timeouts();
                        deadline = Some(tokio::time::Instant::now() + start_timeout);
                        st.waiting += 1;
                    }
                    changed.borrow_and_update();
                    None
                } else if let Some(fallback) = &self.conf.fallback {
                    Some(PathError::Redirect(fallback.clone()))
                } else {
                    Some(PathError::NoStream(self.name.clone()))
                }
            };
            if let Some(err) = refused {
                // Nobody publishes: a dynamic path made for this reader goes (the lock is
                // released first: paths, then path).
                self.maybe_remove();
                return Err(err);
            }
            let timed_out = match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, changed.changed())
                    .await
                    .is_err(),
                None => false,
            };
            if timed_out {
                {
                    let _enter = self.span.enter();
                    let mut st = self.lock();
                    if let Some(stream) = st.stream.clone() {
                        return self.attach_reader(&mut st, stream, who, query, true);
                    }
                    st.waiting -= 1;
                    if st.demand == DemandState::WaitingReady {
                        self.stop_on_demand(&mut st, "timed out");
                    }
                }
                self.maybe_remove();
                return Err(PathError::SourceTimeout(self.name.clone()));
            }
        }
    }

    /// Adds a reader to an available stream; `counted` tells whether the caller was
    /// counted in `st.waiting`, which is then released.
    fn attach_reader(
        self: &Arc<Self>,
        st: &mut State,
        stream: Arc<Stream>,
        who: Described,
        query: &str,
        counted: bool,
    ) -> Result<ReaderHandle, PathError> {
        let result = self.attach_reader_inner(st, stream, who, query);
        if counted {
            st.waiting = st.waiting.saturating_sub(1);
        }
        if result.is_err() {
            self.schedule_close_if_unused(st);
        }
        result
    }

    fn attach_reader_inner(
        self: &Arc<Self>,
        st: &mut State,
        stream: Arc<Stream>,
        who: Described,
        query: &str,
    ) -> Result<ReaderHandle, PathError> {
        let max = self.conf.max_readers;
        if max > 0 && st.readers.len() as i64 >= max {
            return Err(PathError::MaxReaders);
        }
        if st.demand == DemandState::Closing {
            st.demand = DemandState::Ready;
            st.demand_generation += 1;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let env = hooks::with_reader(hooks::with_query(self.env.clone(), query), &who);
        let hook = if who.is_hidden() {
            Hook::start(HookSpec::default())
        } else {
            Hook::start(HookSpec {
                on_name: "runOnRead",
                on_cmd: self.conf.run_on_read.clone(),
                restart: self.conf.run_on_read_restart,
                off_name: "runOnUnread",
                off_cmd: self.conf.run_on_unread.clone(),
                env,
            })
        };
        st.readers.push(ReaderEntry {
            id,
            who,
            _hook: hook,
        });
        let reader = stream.reader();
        Ok(ReaderHandle {
            path: Arc::clone(self),
            id,
            reader,
        })
    }

    fn remove_reader(self: &Arc<Self>, id: u64) {
        {
            let _enter = self.span.enter();
            let mut st = self.lock();
            let before = st.readers.len();
            st.readers.retain(|r| r.id != id);
            if st.readers.len() == before {
                return;
            }
            self.schedule_close_if_unused(&mut st);
        }
        self.maybe_remove();
    }

    fn maybe_remove(self: &Arc<Self>) {
        if let Some(manager) = self.manager.upgrade() {
            manager.remove_if_idle(self);
        }
    }

    /// Closes the path: kicks the publisher, stops sources and hooks, ends the stream.
    pub(crate) fn close(&self) {
        let _enter = self.span.enter();
        let mut st = self.lock();
        self.close_locked(&mut st);
    }

    fn close_locked(&self, st: &mut State) {
        if st.closed {
            return;
        }
        st.closed = true;
        if let Some(SourceSlot::Publisher { kick, .. }) = &st.source {
            kick.cancel();
        }
        st.source = None;
        if let Some(cancel) = st.source_cancel.take() {
            cancel.cancel();
        }
        st.demand_hook.take();
        self.set_unavailable(st);
        st.on_init.take();
        tracing::debug!("destroyed");
        self.notify();
    }

    /// Marks the path closed if it is idle; returns whether it was.
    pub(crate) fn close_if_idle(&self) -> bool {
        let _enter = self.span.enter();
        let mut st = self.lock();
        if !self.is_idle(&st) {
            return false;
        }
        self.close_locked(&mut st);
        true
    }

    pub(crate) fn info(&self) -> PathInfo {
        let st = self.lock();
        let stream = st.stream.as_ref();
        PathInfo {
            name: self.name.clone(),
            conf_name: self.conf.name.clone(),
            source: st.source.as_ref().map(|s| s.described().clone()),
            ready: stream.is_some(),
            ready_time: st.available_time,
            available: stream.is_some(),
            available_time: st.available_time,
            online: stream.is_some(),
            online_time: st.online_time,
            tracks: stream.map(|s| s.described_tracks()).unwrap_or_default(),
            inbound_bytes: stream.map_or(0, |s| s.bytes_received()),
            outbound_bytes: stream.map_or(0, |s| s.bytes_sent()),
            readers: st
                .readers
                .iter()
                .filter(|r| !r.who.is_hidden())
                .map(|r| r.who.clone())
                .collect(),
        }
    }
}

/// The right to publish to a path. Dropping it ends publishing.
#[derive(Debug)]
pub struct Publisher {
    path: Arc<Path>,
    id: u64,
    kick: CancellationToken,
}

impl std::fmt::Debug for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Path")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// Announces the tracks and makes the path available; write units into the returned
    /// stream. Fails with [`PathError::Terminated`] once the publisher was replaced or the
    /// path closed.
    pub fn start(&self, tracks: Vec<Track>) -> Result<Arc<Stream>, PathError> {
        self.start_with_query(tracks, "")
    }

    /// Like [`Publisher::start`], passing the publisher's query to hooks (`MTX_QUERY`).
    pub fn start_with_query(
        &self,
        tracks: Vec<Track>,
        query: &str,
    ) -> Result<Arc<Stream>, PathError> {
        self.path.publisher_ready(self.id, tracks, query)
    }

    pub fn path_name(&self) -> &str {
        &self.path.name
    }

    /// The path's configuration.
    pub fn conf(&self) -> &PathConf {
        &self.path.conf
    }

    /// Resolves when another publisher took over (`overridePublisher`) or the path closed:
    /// the protocol should then close the connection.
    pub async fn kicked(&self) {
        self.kick.cancelled().await;
    }

    pub fn is_kicked(&self) -> bool {
        self.kick.is_cancelled()
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.path.remove_publisher(self.id);
    }
}

/// A reader attached to a path. Dropping it removes the reader (and runs `runOnUnread`).
#[derive(Debug)]
pub struct ReaderHandle {
    path: Arc<Path>,
    id: u64,
    reader: Reader,
}

impl ReaderHandle {
    pub fn stream(&self) -> &Arc<Stream> {
        self.reader.stream()
    }

    /// The cursor to read units with.
    pub fn reader(&mut self) -> &mut Reader {
        &mut self.reader
    }

    pub fn path_name(&self) -> &str {
        &self.path.name
    }

    pub fn conf(&self) -> &PathConf {
        &self.path.conf
    }
}

impl Drop for ReaderHandle {
    fn drop(&mut self) {
        self.path.remove_reader(self.id);
    }
}
