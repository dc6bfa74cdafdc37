//! `ferromtx-bench soak`: hostile input and churn against a running server, one verdict line
//! per test with its figure.
//!
//! Hostile tests ([`rtsp_hostile`], [`http_hostile`], [`ice_garbage`]) run while WHEP viewers
//! play another path ([`Audience`]): the server must answer each attack in a bounded way
//! (an error status, a closed connection), keep its memory bounded, and the viewers must
//! lose nothing. Churn tests ([`churn`]) open and close many sessions and then compare the
//! server's memory, open files and live tasks with their figures before.
//!
//! Everything talks to the addresses of a [`Target`] (loopback in the scripts and tests).

pub mod churn;
pub mod exchange;
pub mod http_hostile;
pub mod ice_garbage;
pub mod rtsp_hostile;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Url;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::load::Progress;
use crate::process;
use crate::report::ViewerReport;
use crate::webrtc::{self, Viewers, WebrtcOptions};

/// The server under test.
#[derive(Debug, Clone)]
pub struct Target {
    pub pid: u32,
    /// RTSP listener (`rtspAddress`).
    pub rtsp: SocketAddr,
    /// WebRTC HTTP listener (`webrtcAddress`).
    pub webrtc: SocketAddr,
    /// ICE UDP socket (`webrtcLocalUDPAddress`).
    pub ice: SocketAddr,
    /// `/v3` API (`apiAddress`).
    pub api: SocketAddr,
    /// `/metrics` (`metricsAddress`).
    pub metrics: SocketAddr,
    /// `/debug/pprof` (`pprofAddress`).
    pub pprof: SocketAddr,
    /// The published path the viewers play.
    pub path: String,
    /// The server's `readTimeout`: idle and half-sent connections must be closed after it.
    pub read_timeout: Duration,
}

impl Target {
    pub fn whep_url(&self, path: &str) -> Url {
        // A SocketAddr and a path of URL-safe characters always parse.
        Url::parse(&format!("http://{}/{path}/whep", self.webrtc))
            .unwrap_or_else(|_| Url::parse("http://127.0.0.1/").expect("a constant URL"))
    }

    pub fn rtsp_url(&self, path: &str) -> String {
        format!("rtsp://{}/{path}", self.rtsp)
    }
}

/// How hard each test pushes: the long figures of `scripts/soak` or the short forms of the
/// tests.
#[derive(Debug, Clone)]
pub struct Scale {
    /// WHEP viewers of the published path during hostile tests.
    pub viewers: usize,
    /// Length of the timed attacks (UDP garbage).
    pub attack: Duration,
    /// Datagrams per second of UDP garbage.
    pub datagram_rate: u64,
    /// Bytes of the long RTSP header line.
    pub header_line: usize,
    /// Count of RTSP headers in one request.
    pub headers: usize,
    /// Half-sent RTSP requests held open (slowloris).
    pub slowloris: usize,
    /// Bytes of each HTTP body.
    pub http_body: usize,
    /// Idle keep-alive HTTP connections, spread over the servers.
    pub idle_connections: usize,
    /// WHEP sessions created and closed.
    pub whep_sessions: usize,
    /// RTSP sessions opened and closed.
    pub rtsp_sessions: usize,
    /// Sessions at a time during churn.
    pub concurrency: usize,
    /// Readers of paths that never get a publisher.
    pub unpublished_readers: usize,
    /// Short-lived on-demand sources.
    pub on_demand: usize,
}

impl Scale {
    /// The figures of the issue (`scripts/soak`).
    pub fn full() -> Scale {
        Scale {
            viewers: 64,
            attack: Duration::from_secs(20),
            datagram_rate: 50_000,
            header_line: 1 << 20,
            headers: 10_000,
            slowloris: 1000,
            http_body: 10 << 20,
            idle_connections: 1000,
            whep_sessions: 10_000,
            rtsp_sessions: 10_000,
            concurrency: 50,
            unpublished_readers: 1000,
            on_demand: 1000,
        }
    }

    /// Seconds per test, for `cargo test`.
    pub fn short() -> Scale {
        Scale {
            viewers: 8,
            attack: Duration::from_secs(2),
            datagram_rate: 5_000,
            header_line: 1 << 20,
            headers: 10_000,
            slowloris: 50,
            http_body: 10 << 20,
            idle_connections: 40,
            whep_sessions: 100,
            rtsp_sessions: 100,
            concurrency: 10,
            unpublished_readers: 50,
            on_demand: 10,
        }
    }
}

/// The verdict of one test.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    /// One line of figures (what was sent, what came back, memory).
    pub figure: String,
    /// Empty when the test passed.
    pub failures: Vec<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// `PASS name: figure` or `FAIL name: figure; failures`.
    pub fn line(&self) -> String {
        if self.passed() {
            format!("PASS {}: {}", self.name, self.figure)
        } else {
            format!(
                "FAIL {}: {} -- {}",
                self.name,
                self.figure,
                self.failures.join("; ")
            )
        }
    }
}

/// Collects failures of one test.
#[derive(Debug, Default)]
pub struct Checks(Vec<String>);

impl Checks {
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    pub fn into_outcome(self, name: &str, figure: String) -> Outcome {
        Outcome {
            name: name.into(),
            figure,
            failures: self.0,
        }
    }
}

const MB: f64 = 1024.0 * 1024.0;

/// Resident memory of `pid` in MB, 0 when it cannot be read.
pub fn rss_mb(pid: u32) -> f64 {
    process::sample(pid).map_or(0.0, |s| s.rss_bytes as f64 / MB)
}

/// Open file descriptors of `pid` (entries of `/proc/PID/fd`).
pub fn open_fds(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

/// Whether `pid` still runs (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 1..];
            rest.split_whitespace().next().map(|st| st != "Z")
        })
        .unwrap_or(false)
}

/// The highest RSS of a process while a test runs, sampled every 100 ms.
pub struct PeakRss {
    peak: Arc<AtomicU64>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl PeakRss {
    pub fn start(pid: u32) -> PeakRss {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let (peak, stop) = (Arc::clone(&peak), stop.clone());
            async move {
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        _ = tick.tick() => {}
                    }
                    if let Ok(s) = process::sample(pid) {
                        peak.fetch_max(s.rss_bytes, Ordering::Relaxed);
                    }
                }
            }
        });
        PeakRss { peak, stop, task }
    }

    /// The peak in MB.
    pub async fn finish(self) -> f64 {
        self.stop.cancel();
        let _ = self.task.await;
        self.peak.load(Ordering::Relaxed) as f64 / MB
    }
}

/// WHEP viewers playing the target's path while an attack runs.
pub struct Audience {
    stop: CancellationToken,
    tasks: JoinSet<ViewerReport>,
    wanted: usize,
    drops_before: std::collections::HashMap<u16, u64>,
}

/// What the viewers of an [`Audience`] got.
#[derive(Debug, Clone, Default)]
pub struct AudienceResult {
    pub viewers: usize,
    pub connected: usize,
    pub packets: u64,
    pub lost: u64,
    /// Datagrams the viewers' own sockets dropped (the load generator's scheduling, not the
    /// server's loss; NACK may still have recovered them).
    pub socket_drops: u64,
    pub errors: Vec<String>,
}

impl AudienceResult {
    pub fn lost_nothing(&self) -> bool {
        self.connected == self.viewers && self.lost == 0 && self.errors.is_empty()
    }

    pub fn figure(&self) -> String {
        let mut s = format!(
            "{}/{} viewers, {} packets, {} lost",
            self.connected, self.viewers, self.packets, self.lost
        );
        if self.socket_drops > 0 {
            s += &format!(" ({} dropped by the viewers' sockets)", self.socket_drops);
        }
        s
    }
}

impl Audience {
    /// Starts `n` viewers of the target's path and waits (at most 30 s) until each receives.
    pub async fn start(target: &Target, n: usize) -> Result<Audience, String> {
        let opts = WebrtcOptions::new(target.whep_url(&target.path));
        let viewers = Arc::new(Viewers::new(opts).map_err(|e| e.to_string())?);
        let progress = Arc::new(Progress::default());
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        for id in 0..n {
            tasks.spawn(webrtc::viewer(
                id,
                Arc::clone(&viewers),
                stop.child_token(),
                Arc::clone(&progress),
            ));
            // 50 a second, as the benchmarks ramp.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while progress.connected.load(Ordering::Relaxed) < n
            && progress.failed.load(Ordering::Relaxed) == 0
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // A second of media before the attack.
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(Audience {
            stop,
            tasks,
            wanted: n,
            drops_before: crate::udp::drops_by_port(),
        })
    }

    /// Stops the viewers and sums what they received.
    pub async fn finish(mut self) -> AudienceResult {
        // A second of media after the attack.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let drops = crate::udp::drops_by_port();
        self.stop.cancel();
        let mut out = AudienceResult {
            viewers: self.wanted,
            ..Default::default()
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while let Ok(Some(r)) = tokio::time::timeout_at(deadline, self.tasks.join_next()).await {
            let Ok(v) = r else { continue };
            out.connected += usize::from(v.connected);
            if let Some(e) = &v.error {
                out.errors.push(format!("viewer {}: {e}", v.id));
            }
            for t in &v.tracks {
                out.packets += t.reception.packets;
                out.lost += t.reception.lost;
            }
            let dropped: u64 = v
                .local_ports
                .iter()
                .map(|p| {
                    drops
                        .get(p)
                        .unwrap_or(&0)
                        .saturating_sub(*self.drops_before.get(p).unwrap_or(&0))
                })
                .sum();
            out.socket_drops += dropped;
        }
        self.tasks.abort_all();
        out.connected = out.connected.min(self.wanted);
        out
    }
}

/// Runs a hostile test: `attack` while an [`Audience`] plays; checks the server stays up, its
/// RSS stays within `max_growth_mb` of the figure before, and the viewers lose nothing.
pub async fn hostile<F, Fut>(
    name: &str,
    target: &Target,
    scale: &Scale,
    max_growth_mb: f64,
    attack: F,
) -> Outcome
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = (String, Checks)>,
{
    let audience = match Audience::start(target, scale.viewers).await {
        Ok(a) => a,
        Err(e) => {
            let mut c = Checks::default();
            c.check(false, || format!("viewers could not start: {e}"));
            return c.into_outcome(name, String::new());
        }
    };
    let before = rss_mb(target.pid);
    let peak = PeakRss::start(target.pid);
    let (figure, mut checks) = attack().await;
    let peak = peak.finish().await;
    let seen = audience.finish().await;
    let after = rss_mb(target.pid);
    checks.check(alive(target.pid), || "the server exited".into());
    checks.check(peak - before <= max_growth_mb, || {
        format!(
            "RSS grew by {:.1} MB (limit {max_growth_mb} MB)",
            peak - before
        )
    });
    checks.check(seen.lost_nothing(), || {
        format!("viewers: {} {:?}", seen.figure(), first(&seen.errors, 3))
    });
    let figure = format!(
        "{figure}; RSS {before:.1} -> peak {peak:.1} -> {after:.1} MB; {}",
        seen.figure()
    );
    checks.into_outcome(name, figure)
}

fn first(v: &[String], n: usize) -> &[String] {
    &v[..v.len().min(n)]
}

/// The tests, by name, in the order `scripts/soak` runs them.
pub const TESTS: &[&str] = &[
    "rtsp-long-line",
    "rtsp-many-headers",
    "rtsp-huge-body",
    "rtsp-interleaved",
    "rtsp-slowloris",
    "http-big-body",
    "http-idle-keepalive",
    "http-malformed-json",
    "http-slowloris",
    "ice-garbage",
    "whep-churn",
    "rtsp-churn",
    "unpublished-readers",
    "on-demand-churn",
];

/// Runs the test `name` against `target`.
pub async fn run(name: &str, target: &Target, scale: &Scale) -> Result<Outcome, String> {
    Ok(match name {
        "rtsp-long-line" => rtsp_hostile::long_line(target, scale).await,
        "rtsp-many-headers" => rtsp_hostile::many_headers(target, scale).await,
        "rtsp-huge-body" => rtsp_hostile::huge_body(target, scale).await,
        "rtsp-interleaved" => rtsp_hostile::interleaved(target, scale).await,
        "rtsp-slowloris" => rtsp_hostile::slowloris(target, scale).await,
        "http-big-body" => http_hostile::big_body(target, scale).await,
        "http-idle-keepalive" => http_hostile::idle_keepalive(target, scale).await,
        "http-malformed-json" => http_hostile::malformed_json(target, scale).await,
        "http-slowloris" => http_hostile::slowloris(target, scale).await,
        "ice-garbage" => ice_garbage::run(target, scale).await,
        "whep-churn" => churn::whep(target, scale).await,
        "rtsp-churn" => churn::rtsp(target, scale).await,
        "unpublished-readers" => churn::unpublished(target, scale).await,
        "on-demand-churn" => churn::on_demand(target, scale).await,
        _ => {
            return Err(format!(
                "no soak test '{name}' (one of {})",
                TESTS.join(", ")
            ));
        }
    })
}

/// The body of a GET of `url` as text, or `None` when it fails (5 s at the most).
pub(crate) async fn get_text(http: &reqwest::Client, url: &str) -> Option<String> {
    let r = http
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    r.text().await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_lines() {
        let mut c = Checks::default();
        c.check(true, || "never".into());
        let ok = c.into_outcome("t", "1 MB".into());
        assert_eq!(ok.line(), "PASS t: 1 MB");
        let mut c = Checks::default();
        c.check(false, || "it broke".into());
        let bad = c.into_outcome("t", "1 MB".into());
        assert_eq!(bad.line(), "FAIL t: 1 MB -- it broke");
    }

    #[test]
    fn this_process_is_alive_and_has_files() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
        assert!(open_fds(std::process::id()).unwrap_or(0) > 0);
        assert!(rss_mb(std::process::id()) > 0.0);
    }
}
