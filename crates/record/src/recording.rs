//! Recording as a component: while it runs it is the path manager's stream observer, and
//! every stream of a path with `record: yes` gets a recorder, started when the stream is
//! available (and again when the path's `record*` keys change), stopped when it ends.

use std::sync::Arc;

use ferromtx_api::component::BoxFuture;
use ferromtx_api::{Context, Server};
use ferromtx_conf::Conf;
use ferromtx_core::{AvailableStream, Observation, PathManager, StreamObserver};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::recorder::{RecorderConf, Run, record};

/// Starts a recorder for each recorded stream.
#[derive(Debug)]
pub struct Recorders {
    handle: Handle,
    tasks: TaskTracker,
}

impl Recorders {
    /// Inside a tokio runtime (recorders run on its blocking threads).
    pub fn new() -> Recorders {
        Recorders {
            handle: Handle::current(),
            tasks: TaskTracker::new(),
        }
    }

    /// Waits for every recorder to end (after their streams ended or the observer was
    /// removed); no recorder starts after this.
    pub async fn wait(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

impl StreamObserver for Recorders {
    fn stream_available(&self, s: AvailableStream<'_>) -> Option<Observation> {
        if !s.conf.record || self.tasks.is_closed() {
            return None;
        }
        let path_span = tracing::info_span!(parent: None, "path", path = %s.path);
        let span = tracing::info_span!(parent: &path_span, "recorder", component = "recorder");
        let conf = Arc::new(RecorderConf::new(s.path, s.conf, s.env));
        let first = span
            .in_scope(|| Run::start(Arc::clone(&conf), Arc::clone(s.stream), path_span.clone()))?;
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let stream = Arc::clone(s.stream);
        let handle = self.handle.clone();
        self.tasks.spawn_blocking_on(
            move || record(conf, stream, first, handle, stop, span),
            &self.handle,
        );
        Some(Box::new(cancel.drop_guard()))
    }
}

/// The recording component: always on; paths decide with `record`.
#[derive(Debug)]
pub struct Recording {
    paths: Arc<PathManager>,
    recorders: Arc<Recorders>,
}

impl Server for Recording {
    type Settings = ();

    fn settings(_conf: &Conf) -> Option<()> {
        Some(())
    }

    fn start<'a>(_settings: &'a (), ctx: &'a Context) -> BoxFuture<'a, Result<Arc<Self>, String>> {
        Box::pin(async move {
            let recorders = Arc::new(Recorders::new());
            let observer: Arc<dyn StreamObserver> = recorders.clone();
            ctx.paths.set_stream_observer(Some(observer));
            Ok(Arc::new(Recording {
                paths: Arc::clone(&ctx.paths),
                recorders,
            }))
        })
    }

    /// Stops every recorder; returns when their last segments are closed.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.paths.set_stream_observer(None);
            self.recorders.wait().await;
        })
    }
}

impl Default for Recorders {
    fn default() -> Self {
        Recorders::new()
    }
}
