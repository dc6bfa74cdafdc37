//! Runs N viewers: ramps them up at a given rate, holds them all for the duration while
//! the server (and this process) are sampled, then stops them and collects their reports.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::process::{self, Usage};
use crate::report::ViewerReport;
use crate::udp;

/// How a load is applied.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub readers: usize,
    /// Viewers started per second.
    pub ramp_rate: f64,
    /// How long all viewers are held after the last one started.
    pub duration: Duration,
    pub server_pid: Option<u32>,
    /// Period of the /proc samples.
    pub sample_period: Duration,
    /// Longest wait for a viewer to stop (DELETE / TEARDOWN) once told to.
    pub stop_timeout: Duration,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            readers: 1,
            ramp_rate: 50.0,
            duration: Duration::from_secs(30),
            server_pid: None,
            sample_period: Duration::from_millis(500),
            stop_timeout: Duration::from_secs(15),
        }
    }
}

/// Live counters the viewers update, for progress lines.
#[derive(Debug, Default)]
pub struct Progress {
    pub connected: AtomicUsize,
    pub failed: AtomicUsize,
    pub packets: AtomicU64,
}

impl Progress {
    pub fn packet(&self) {
        self.packets.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a load produced.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// In viewer order.
    pub viewers: Vec<ViewerReport>,
    pub server: Option<Usage>,
    pub bench: Option<Usage>,
    /// From the last viewer's start to the stop.
    pub held: Duration,
}

/// Starts `opts.readers` viewers made by `viewer(id, stop, progress)`; each runs until `stop`
/// is cancelled and returns its report.
pub async fn run<F, Fut>(opts: &LoadOptions, mut viewer: F) -> LoadResult
where
    F: FnMut(usize, CancellationToken, Arc<Progress>) -> Fut,
    Fut: Future<Output = ViewerReport> + Send + 'static,
{
    let progress = Arc::new(Progress::default());
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    let rate = if opts.ramp_rate > 0.0 {
        opts.ramp_rate
    } else {
        f64::INFINITY
    };
    let reporter = tokio::spawn(report_progress(Arc::clone(&progress), opts.readers));
    for id in 0..opts.readers {
        let at = start + Duration::from_secs_f64(id as f64 / rate);
        tokio::time::sleep_until(at).await;
        tasks.spawn(viewer(id, stop.child_token(), Arc::clone(&progress)));
    }
    let ramped = Instant::now();
    let end = ramped + opts.duration;
    let window = ramped + opts.duration / 3;
    let period = opts.sample_period;
    let server = opts
        .server_pid
        .map(|pid| tokio::spawn(process::sample_window(pid, window, end, period)));
    let own = tokio::spawn(process::sample_window(
        std::process::id(),
        window,
        end,
        period,
    ));
    tokio::time::sleep_until(end).await;
    let held = ramped.elapsed();
    // While every socket is still open.
    let drops = udp::drops_by_port();
    stop.cancel();
    reporter.abort();

    let mut viewers = Vec::with_capacity(opts.readers);
    let deadline = Instant::now() + opts.stop_timeout;
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(Ok(v))) => viewers.push(v),
            Ok(Some(Err(e))) => tracing::warn!("viewer task failed: {e}"),
            Ok(None) => break,
            Err(_) => {
                tracing::warn!("{} viewers did not stop in time", tasks.len());
                tasks.abort_all();
                break;
            }
        }
    }
    viewers.sort_by_key(|v| v.id);
    for v in &mut viewers {
        v.socket_drops = v.local_ports.iter().filter_map(|p| drops.get(p)).sum();
    }
    let server = match server {
        Some(h) => h.await.ok().and_then(|s| process::usage(&s)),
        None => None,
    };
    let bench = own.await.ok().and_then(|s| process::usage(&s));
    LoadResult {
        viewers,
        server,
        bench,
        held,
    }
}

/// A progress line on the log every 5 s.
async fn report_progress(p: Arc<Progress>, readers: usize) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.tick().await;
    loop {
        tick.tick().await;
        tracing::info!(
            "{}/{} viewers receiving, {} failed, {} packets",
            p.connected.load(Ordering::Relaxed),
            readers,
            p.failed.load(Ordering::Relaxed),
            p.packets.load(Ordering::Relaxed)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ramps_holds_and_collects_in_order() {
        let opts = LoadOptions {
            readers: 5,
            ramp_rate: 10.0,
            duration: Duration::from_secs(3),
            sample_period: Duration::from_millis(500),
            ..Default::default()
        };
        let t0 = Instant::now();
        let result = run(&opts, |id, stop, progress| async move {
            let started = t0.elapsed();
            progress.connected.fetch_add(1, Ordering::Relaxed);
            stop.cancelled().await;
            ViewerReport {
                id,
                connected: true,
                time_to_connect_ms: Some(started.as_secs_f64() * 1000.0),
                ..Default::default()
            }
        })
        .await;
        assert_eq!(result.viewers.len(), 5);
        let ids: Vec<usize> = result.viewers.iter().map(|v| v.id).collect();
        assert_eq!(ids, vec![0, 1, 2, 3, 4]);
        // Viewer 4 starts 400 ms after viewer 0 (10 per second).
        let started = result.viewers[4].time_to_connect_ms.unwrap();
        assert!((started - 400.0).abs() < 1.0, "{started}");
        assert!(result.held >= Duration::from_secs(3));
        assert!(result.server.is_none());
    }
}
