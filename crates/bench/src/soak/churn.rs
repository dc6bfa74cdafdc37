//! Churn: many sessions opened and closed (some politely, some vanishing), readers of paths
//! nobody publishes, short-lived on-demand sources. Afterwards the server's memory, open
//! files and live tasks must come back to their figures before.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ferromtx_rtsp::transport::Lower;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Checks, Outcome, Scale, Target, open_fds, rss_mb};
use crate::load::Progress;
use crate::report::ViewerReport;
use crate::rtsp::{self, RtspOptions};
use crate::webrtc::{self, Viewers, WebrtcOptions};

/// Longest wait for the server to let go of what the sessions held.
const SETTLE: Duration = Duration::from_secs(90);
/// RSS after the churn may exceed the figure before by this share.
const RSS_SLACK: f64 = 0.05;
/// Longest life of one churned session.
const SESSION_BOUND: Duration = Duration::from_secs(30);

/// What the server holds at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Snapshot {
    pub rss_mb: f64,
    pub fds: usize,
    /// `process_tasks` of `/metrics`.
    pub tasks: Option<u64>,
    /// Items of `/v3/paths/list`.
    pub paths: Option<u64>,
    /// Items of the churned protocol's session list (the publisher's own RTSP session
    /// included).
    pub sessions: Option<u64>,
}

/// The value of an unlabelled metric in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}

/// `itemCount` of an API list.
pub fn item_count(json: &str) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()?
        .get("itemCount")?
        .as_u64()
}

async fn api_count(http: &reqwest::Client, target: &Target, list: &str) -> Option<u64> {
    let text = super::get_text(http, &format!("http://{}/v3/{list}/list", target.api)).await?;
    item_count(&text)
}

/// The server's figures. Files are counted first, while none of this client's connections is
/// open; the tasks include the one serving the metrics request, before and after alike.
pub async fn snapshot(http: &reqwest::Client, target: &Target) -> Snapshot {
    let fds = open_fds(target.pid).unwrap_or(0);
    let rss_mb = rss_mb(target.pid);
    let metrics = super::get_text(
        http,
        &format!("http://{}/metrics?type=process", target.metrics),
    )
    .await;
    Snapshot {
        rss_mb,
        fds,
        tasks: metrics.as_deref().and_then(|m| metric(m, "process_tasks")),
        paths: api_count(http, target, "paths").await,
        sessions: None,
    }
}

/// A client that keeps no idle connection: its own connections must not count as the
/// server's open files or tasks.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_default()
}

/// Whether `now` is back to `before`: RSS within 5 %, fds, tasks, paths and listed sessions
/// no higher.
fn settled(before: &Snapshot, now: &Snapshot) -> bool {
    now.rss_mb <= before.rss_mb * (1.0 + RSS_SLACK)
        && now.fds <= before.fds
        && now.tasks <= before.tasks
        && now.paths <= before.paths
        && now.sessions <= before.sessions
}

/// Polls until the server is back to `before` (and the API list `sessions`, if any, is
/// empty), at most [`SETTLE`]; returns the last snapshot and how long it took.
async fn settle(
    http: &reqwest::Client,
    target: &Target,
    before: &Snapshot,
    sessions: Option<&str>,
) -> (Snapshot, Duration) {
    let start = Instant::now();
    loop {
        let now = with_sessions(http, target, sessions).await;
        if settled(before, &now) || start.elapsed() >= SETTLE {
            return (now, start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn with_sessions(http: &reqwest::Client, target: &Target, list: Option<&str>) -> Snapshot {
    let mut s = snapshot(http, target).await;
    if let Some(list) = list {
        s.sessions = api_count(http, target, list).await;
    }
    s
}

/// Runs `n` sessions, `concurrency` at a time; `session(i)` says whether session `i` did
/// what it should. Returns how many did.
async fn churn<F, Fut>(n: usize, concurrency: usize, mut session: F) -> usize
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let mut set = JoinSet::new();
    let mut ok = 0;
    for i in 0..n {
        if set.len() >= concurrency.max(1)
            && let Some(r) = set.join_next().await
        {
            ok += usize::from(matches!(r, Ok(Ok(true))));
        }
        set.spawn(tokio::time::timeout(SESSION_BOUND, session(i)));
    }
    while let Some(r) = set.join_next().await {
        ok += usize::from(matches!(r, Ok(Ok(true))));
    }
    ok
}

/// Runs one viewer-like future until it receives a first packet (or fails), then stops it.
async fn until_first_packet<Fut>(
    make: impl FnOnce(CancellationToken, Arc<Progress>) -> Fut,
) -> ViewerReport
where
    Fut: Future<Output = ViewerReport> + Send + 'static,
{
    let progress = Arc::new(Progress::default());
    let stop = CancellationToken::new();
    let task = tokio::spawn(make(stop.clone(), Arc::clone(&progress)));
    let deadline = Instant::now() + SESSION_BOUND;
    while progress.connected.load(Ordering::Relaxed) == 0
        && progress.failed.load(Ordering::Relaxed) == 0
        && !task.is_finished()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    task.await.unwrap_or_default()
}

fn figure_of(before: &Snapshot, after: &Snapshot, took: Duration) -> String {
    let opt = |v: Option<u64>| v.map_or_else(|| "?".into(), |v| v.to_string());
    format!(
        "RSS {:.1} -> {:.1} MB ({:+.1} %), fds {} -> {}, tasks {} -> {}, paths {} -> {}; settled in {:.1} s",
        before.rss_mb,
        after.rss_mb,
        100.0 * (after.rss_mb - before.rss_mb) / before.rss_mb.max(1e-9),
        before.fds,
        after.fds,
        opt(before.tasks),
        opt(after.tasks),
        opt(before.paths),
        opt(after.paths),
        took.as_secs_f64()
    )
}

fn back_to_baseline(c: &mut Checks, before: &Snapshot, after: &Snapshot) {
    c.check(after.rss_mb <= before.rss_mb * (1.0 + RSS_SLACK), || {
        format!(
            "RSS {:.1} MB is more than 5 % above {:.1} MB",
            after.rss_mb, before.rss_mb
        )
    });
    c.check(after.fds <= before.fds, || {
        format!("open fds {} > {}", after.fds, before.fds)
    });
    c.check(
        before.tasks.is_some() && after.tasks <= before.tasks,
        || format!("tasks {:?} > {:?}", after.tasks, before.tasks),
    );
    c.check(after.paths <= before.paths, || {
        format!("paths {:?} > {:?}", after.paths, before.paths)
    });
    c.check(after.sessions <= before.sessions, || {
        format!(
            "sessions listed {:?} > {:?}",
            after.sessions, before.sessions
        )
    });
}

/// `n` sessions from `session`, with a warm-up of `concurrency` sessions first (so that
/// what the server allocates once, lazily, is in the figure before).
async fn measured<F, Fut>(
    name: &str,
    what: &str,
    target: &Target,
    scale: &Scale,
    n: usize,
    sessions: Option<&str>,
    mut session: F,
) -> Outcome
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let http = http_client();
    let mut c = Checks::default();
    let warm = churn(scale.concurrency, scale.concurrency, &mut session).await;
    c.check(warm == scale.concurrency, || {
        format!("warm-up: {warm}/{} sessions", scale.concurrency)
    });
    // The quiet figure: the warm-up's sessions have gone (each is closed or expired within
    // 30 s; the publisher's own session stays).
    if let Some(list) = sessions {
        let start = Instant::now();
        while api_count(&http, target, list).await.unwrap_or(0) > 1 && start.elapsed() < SETTLE {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = with_sessions(&http, target, sessions).await;
    let started = Instant::now();
    let ok = churn(n, scale.concurrency, |i| session(i + scale.concurrency)).await;
    let took = started.elapsed();
    let (after, settled_in) = settle(&http, target, &before, sessions).await;
    c.check(ok == n, || {
        format!("{ok}/{n} sessions did what they should")
    });
    back_to_baseline(&mut c, &before, &after);
    c.check(super::alive(target.pid), || "the server exited".into());
    let figure = format!(
        "{n} {what} ({ok} as expected) in {:.0} s; {}",
        took.as_secs_f64(),
        figure_of(&before, &after, settled_in)
    );
    c.into_outcome(name, figure)
}

pub async fn whep(target: &Target, scale: &Scale) -> Outcome {
    let url = target.whep_url(&target.path);
    let polite = Viewers::new(WebrtcOptions::new(url.clone()));
    let vanish = Viewers::new(WebrtcOptions {
        delete: false,
        ..WebrtcOptions::new(url)
    });
    let (Ok(polite), Ok(vanish)) = (polite, vanish) else {
        let mut c = Checks::default();
        c.check(false, || "HTTP client".into());
        return c.into_outcome("whep-churn", String::new());
    };
    let (polite, vanish) = (Arc::new(polite), Arc::new(vanish));
    measured(
        "whep-churn",
        "WHEP sessions (half DELETEd, half vanished and expired)",
        target,
        scale,
        scale.whep_sessions,
        Some("webrtcsessions"),
        move |i| {
            let viewers = Arc::clone(if i % 2 == 0 { &polite } else { &vanish });
            async move {
                let r =
                    until_first_packet(|stop, progress| webrtc::viewer(i, viewers, stop, progress))
                        .await;
                r.connected && r.tracks.iter().any(|t| t.reception.packets > 0)
            }
        },
    )
    .await
}

pub async fn rtsp(target: &Target, scale: &Scale) -> Outcome {
    let url = target.rtsp_url(&target.path);
    let opts = |teardown| {
        RtspOptions::new(&url, Lower::Tcp).map(|o| Arc::new(RtspOptions { teardown, ..o }))
    };
    let (Ok(polite), Ok(dropped)) = (opts(true), opts(false)) else {
        let mut c = Checks::default();
        c.check(false, || format!("RTSP URL {url}"));
        return c.into_outcome("rtsp-churn", String::new());
    };
    measured(
        "rtsp-churn",
        "RTSP sessions (DESCRIBE/SETUP/PLAY, half TEARDOWN, half dropped)",
        target,
        scale,
        scale.rtsp_sessions,
        Some("rtspsessions"),
        move |i| {
            let opts = Arc::clone(if i % 2 == 0 { &polite } else { &dropped });
            async move {
                let r = until_first_packet(|stop, progress| rtsp::reader(i, opts, stop, progress))
                    .await;
                r.connected && r.tracks.iter().any(|t| t.reception.packets > 0)
            }
        },
    )
    .await
}

/// Readers of paths that never get a publisher: half RTSP DESCRIBE, half WHEP offers, each
/// answered 404, and nothing kept.
pub async fn unpublished(target: &Target, scale: &Scale) -> Outcome {
    let target2 = target.clone();
    let viewers = Viewers::new(WebrtcOptions::new(target.whep_url("ghost")));
    let Ok(viewers) = viewers else {
        let mut c = Checks::default();
        c.check(false, || "HTTP client".into());
        return c.into_outcome("unpublished-readers", String::new());
    };
    let viewers = Arc::new(viewers);
    measured(
        "unpublished-readers",
        "readers of paths nobody publishes (RTSP DESCRIBE and WHEP, answered 404)",
        target,
        scale,
        scale.unpublished_readers,
        None,
        move |i| {
            let target = target2.clone();
            let viewers = Arc::clone(&viewers);
            async move {
                if i % 2 == 0 {
                    let head = format!(
                        "DESCRIBE {} RTSP/1.0\r\nCSeq: 1\r\n\r\n",
                        target.rtsp_url(&format!("ghost-{i}"))
                    );
                    let r = super::exchange::exchange(
                        target.rtsp,
                        head.as_bytes(),
                        0,
                        0,
                        Duration::from_secs(10),
                        true,
                    )
                    .await;
                    r.status == Some(404)
                } else {
                    let stop = CancellationToken::new();
                    let r = webrtc::viewer(i, viewers, stop, Arc::new(Progress::default())).await;
                    r.error.is_some_and(|e| e.contains("status 404"))
                }
            }
        },
    )
    .await
}

/// Short-lived on-demand sources: each reader of `ondemand-N` makes the server pull the
/// published path over RTSP; the reader leaves at its first packet and the source closes
/// after `sourceOnDemandCloseAfter`.
pub async fn on_demand(target: &Target, scale: &Scale) -> Outcome {
    let target2 = target.clone();
    measured(
        "on-demand-churn",
        "on-demand sources (a reader each, leaving at its first packet)",
        target,
        scale,
        scale.on_demand,
        Some("rtspsessions"),
        move |i| {
            let url = target2.rtsp_url(&format!("ondemand-{i}"));
            async move {
                let Ok(opts) = RtspOptions::new(&url, Lower::Tcp) else {
                    return false;
                };
                let opts = Arc::new(opts);
                let r = until_first_packet(|stop, progress| rtsp::reader(i, opts, stop, progress))
                    .await;
                r.connected && r.tracks.iter().any(|t| t.reception.packets > 0)
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_and_counts() {
        let text = "# Process\nprocess_open_fds 17\nprocess_tasks 42\nprocess_tasks_x 1\n";
        assert_eq!(metric(text, "process_tasks"), Some(42));
        assert_eq!(metric(text, "process_open_fds"), Some(17));
        assert_eq!(metric(text, "process_max_fds"), None);
        assert_eq!(
            item_count(r#"{"itemCount":3,"pageCount":1,"items":[]}"#),
            Some(3)
        );
        assert_eq!(item_count("nope"), None);
    }

    #[test]
    fn settled_needs_every_figure_back() {
        let before = Snapshot {
            rss_mb: 100.0,
            fds: 40,
            tasks: Some(50),
            paths: Some(1),
            sessions: Some(1),
        };
        assert!(settled(&before, &before));
        let more_rss = Snapshot {
            rss_mb: 106.0,
            ..before
        };
        assert!(!settled(&before, &more_rss));
        let within = Snapshot {
            rss_mb: 104.0,
            ..before
        };
        assert!(settled(&before, &within));
        let fd = Snapshot { fds: 41, ..before };
        assert!(!settled(&before, &fd));
        let task = Snapshot {
            tasks: Some(51),
            ..before
        };
        assert!(!settled(&before, &task));
        let session = Snapshot {
            sessions: Some(2),
            ..before
        };
        assert!(!settled(&before, &session));
    }

    #[tokio::test]
    async fn churn_bounds_concurrency_and_counts() {
        let live = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let ok = churn(40, 5, |i| {
            let (live, peak) = (Arc::clone(&live), Arc::clone(&peak));
            async move {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                live.fetch_sub(1, Ordering::SeqCst);
                i % 4 != 0
            }
        })
        .await;
        assert_eq!(ok, 30);
        assert!(peak.load(Ordering::SeqCst) <= 5);
    }
}
