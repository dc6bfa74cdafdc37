//! Static sources: media pulled by the server (`source: rtsp://...`), implemented by the
//! protocol crates and looked up by URL scheme.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use ferromtx_conf::{Conf, PathConf};
use tokio_util::sync::CancellationToken;

use crate::path::Path;
use crate::stream::{Stream, Track};

/// Pause between a static source ending and its restart (MediaMTX's `retryPause`).
pub const RETRY_PAUSE: Duration = Duration::from_secs(5);

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a static source stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// A source that pulls media into a path. `run` connects, calls
/// [`SourceContext::set_ready`] once it knows the tracks, writes units into the returned
/// stream, and returns when the connection ends or [`SourceContext::cancelled`] fires.
/// The path restarts it after [`RETRY_PAUSE`].
pub trait StaticSource: Send + Sync {
    /// The source type shown by the API (`rtspSource`, `rtmpSource`, `webRTCSource`...).
    fn kind(&self) -> &'static str;

    fn run(&self, ctx: SourceContext) -> BoxFuture<'static, Result<(), SourceError>>;
}

/// Static sources by URL scheme (`rtsp`, `rtsps`, `rtmp`, `http`, `whep`, `srt`, `udp`...).
#[derive(Clone, Default)]
pub struct SourceRegistry {
    by_scheme: HashMap<String, Arc<dyn StaticSource>>,
}

impl std::fmt::Debug for SourceRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.by_scheme.keys()).finish()
    }
}

impl SourceRegistry {
    pub fn new() -> SourceRegistry {
        SourceRegistry::default()
    }

    /// Registers the implementation of one URL scheme (without `://`).
    pub fn register(&mut self, scheme: &str, source: Arc<dyn StaticSource>) {
        self.by_scheme.insert(scheme.to_ascii_lowercase(), source);
    }

    /// The implementation for a `source` value, by its scheme.
    pub fn lookup(&self, url: &str) -> Option<Arc<dyn StaticSource>> {
        let (scheme, _) = url.split_once("://")?;
        self.by_scheme.get(&scheme.to_ascii_lowercase()).cloned()
    }
}

/// What a running static source gets from its path.
#[derive(Clone)]
pub struct SourceContext {
    pub(crate) path: Weak<Path>,
    pub(crate) url: String,
    pub(crate) conf: Arc<PathConf>,
    pub(crate) cancel: CancellationToken,
    pub(crate) query: String,
}

impl std::fmt::Debug for SourceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceContext")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl SourceContext {
    /// The `source` URL, with `$Gn` captures of regex paths substituted.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The path's configuration.
    pub fn conf(&self) -> &PathConf {
        &self.conf
    }

    /// The global configuration in force (`udpMaxPayloadSize`, timeouts...); `None` once
    /// the server is shutting down.
    pub fn global(&self) -> Option<Arc<Conf>> {
        self.path.upgrade().and_then(|p| p.global_conf())
    }

    /// Query of the request that started an on-demand source (empty otherwise).
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Resolves when the source must stop (path closed, on-demand no longer needed).
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Announces the tracks: the path becomes available and readers may attach. Returns
    /// the stream to write into, or `None` when the path is gone or the source cancelled.
    pub fn set_ready(&self, tracks: Vec<Track>) -> Option<Arc<Stream>> {
        if self.cancel.is_cancelled() {
            return None;
        }
        let path = self.path.upgrade()?;
        Some(path.static_source_ready(tracks, &self.query))
    }

    /// The stream ended (e.g. connection lost): readers are closed.
    pub fn set_not_ready(&self) {
        if let Some(path) = self.path.upgrade() {
            path.static_source_not_ready();
        }
    }
}

/// Substitutes `$G1`, `$G2`... in a source URL with regex captures (`captures[0]` is the
/// whole match).
pub(crate) fn substitute_captures(url: &str, captures: &[String]) -> String {
    let mut out = url.to_owned();
    // Highest index first so `$G1` does not eat the prefix of `$G10`.
    for (i, cap) in captures.iter().enumerate().skip(1).rev() {
        out = out.replace(&format!("$G{i}"), cap);
    }
    out
}

/// Runs a static source until cancelled, restarting it after errors.
pub(crate) async fn run_static_source(source: Arc<dyn StaticSource>, ctx: SourceContext) {
    loop {
        let res = tokio::select! {
            res = source.run(ctx.clone()) => res,
            () = ctx.cancel.cancelled() => return,
        };
        match res {
            Ok(()) => tracing::warn!("{} ended, restarting", source.kind()),
            Err(err) => tracing::warn!("{}: {err}", source.kind()),
        }
        ctx.set_not_ready();
        tokio::select! {
            () = tokio::time::sleep(RETRY_PAUSE) => {}
            () = ctx.cancel.cancelled() => return,
        }
    }
}
