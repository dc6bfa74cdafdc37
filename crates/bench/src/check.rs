//! The post-deploy check: connect WHEP viewers, read the server's CPU and heap profiles
//! (pprof) and its memory, and judge: every viewer connected, loss under a limit, memory
//! under a limit, and no loss-recovery (NACK / RTX) code among the top CPU entries. On
//! loopback nothing is lost, so the viewers drop a share of the video packets on purpose
//! (`WebrtcOptions::drop_every`): the server then does NACK work while it is profiled, and a
//! verdict says the drops came back as retransmissions.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use crate::load::{self, LoadOptions};
use crate::pprof::{self, Entry};
use crate::process;
use crate::report::Report;
use crate::webrtc::{self, Viewers, WebrtcOptions};
use crate::whep::{self, WhepError};

/// What to check and against which limits.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub webrtc: WebrtcOptions,
    pub readers: usize,
    pub ramp_rate: f64,
    /// Base URL of the pprof listener (`http://host:9999`).
    pub pprof: Url,
    pub max_rss_mb: f64,
    /// Percent.
    pub max_loss: f64,
    pub server_pid: Option<u32>,
    /// Metrics listener (`http://host:9998`), for RSS without a PID.
    pub metrics: Option<Url>,
    /// Length of the CPU profile.
    pub cpu_seconds: u64,
    /// CPU entries looked at for loss-recovery functions.
    pub top: usize,
}

/// One verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub pass: bool,
    pub what: String,
}

impl Verdict {
    fn new(pass: bool, what: String) -> Verdict {
        Verdict { pass, what }
    }

    pub fn line(&self) -> String {
        format!("{} {}", if self.pass { "PASS" } else { "FAIL" }, self.what)
    }
}

/// Everything the check found.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub verdicts: Vec<Verdict>,
    pub top_cpu: Vec<Entry>,
    pub heap_inuse_bytes: Option<i64>,
    pub rss_mb: Option<f64>,
    pub report: Report,
}

impl CheckOutcome {
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.pass)
    }
}

async fn get(http: &reqwest::Client, url: Url, timeout: Duration) -> Result<Vec<u8>, String> {
    let res = http
        .get(url.clone())
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| format!("GET {url}: {e}"))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).to_string();
        return Err(format!("GET {url}: status {status}: {text}"));
    }
    Ok(body.to_vec())
}

fn join(base: &Url, path: &str) -> Result<Url, String> {
    base.join(path).map_err(|e| format!("{base}{path}: {e}"))
}

/// The value of an unlabelled (or first labelled) sample of `name` in Prometheus text.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let rest = l.strip_prefix(name)?;
        let rest = match rest.chars().next()? {
            '{' => &rest[rest.find('}')? + 1..],
            ' ' | '\t' => rest,
            _ => return None,
        };
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Verdict on the top CPU entries: none of the first `n` may be loss-recovery code.
pub fn judge_cpu(top: &[Entry], n: usize) -> Verdict {
    let offenders: Vec<&str> = top
        .iter()
        .take(n)
        .filter(|e| pprof::is_retransmission_function(&e.function))
        .map(|e| e.function.as_str())
        .collect();
    if offenders.is_empty() {
        Verdict::new(
            true,
            format!("no NACK/retransmission function among the top {n} CPU entries"),
        )
    } else {
        Verdict::new(
            false,
            format!(
                "NACK/retransmission functions among the top {n} CPU entries: {}",
                offenders.join(", ")
            ),
        )
    }
}

/// Verdict on loss recovery when the viewers dropped every `drop_every`th video packet: some
/// were dropped, and at least 90 % of them came back as retransmissions (the last ones may
/// be dropped as the viewers stop).
pub fn judge_recovery(report: &Report, drop_every: u32) -> Verdict {
    let (dropped, retransmitted) = (report.dropped_on_purpose, report.retransmissions);
    Verdict::new(
        dropped > 0 && retransmitted * 10 >= dropped * 9,
        format!(
            "NACK at work: {retransmitted} retransmissions for {dropped} video packets dropped \
             on purpose (1 in {drop_every})"
        ),
    )
}

/// How long the server's memory is sampled before it is profiled.
const RSS_WINDOW: Duration = Duration::from_secs(3);

/// The server's memory while the viewers play, before any profile is taken (profiling
/// itself costs memory: the symbolizer loads debug information): sampled from `/proc` with
/// a PID, else read from the metrics.
async fn steady_rss(
    http: &reqwest::Client,
    opts: &CheckOptions,
) -> (Option<process::Usage>, Result<f64, String>) {
    if let Some(pid) = opts.server_pid {
        let start = tokio::time::Instant::now();
        let samples =
            process::sample_window(pid, start, start + RSS_WINDOW, Duration::from_millis(250))
                .await;
        return match process::usage(&samples) {
            Some(u) => (Some(u), Ok(u.rss_max_mb)),
            None => (None, Err(format!("/proc/{pid} could not be read"))),
        };
    }
    let Some(m) = &opts.metrics else {
        return (
            None,
            Err("no --server-pid or --metrics to read the server's memory".into()),
        );
    };
    let text = match join(m, "/metrics") {
        Ok(u) => get(http, u, Duration::from_secs(10)).await,
        Err(e) => Err(e),
    };
    let mb = text.and_then(|t| {
        metric_value(
            &String::from_utf8_lossy(&t),
            "process_resident_memory_bytes",
        )
        .map(|b| b / 1024.0 / 1024.0)
        .ok_or_else(|| "no process_resident_memory_bytes in the metrics".to_string())
    });
    (None, mb)
}

/// Connects the viewers; once they all play, reads the server's memory, then a CPU and a
/// heap profile; judges.
pub async fn run(opts: CheckOptions) -> Result<CheckOutcome, WhepError> {
    let http = whep::http_client()?;
    let viewers = Arc::new(Viewers::new(opts.webrtc.clone())?);
    let ramp = Duration::from_secs_f64(opts.readers as f64 / opts.ramp_rate.max(0.1));
    let settle = Duration::from_secs(2);
    let load_opts = LoadOptions {
        readers: opts.readers,
        ramp_rate: opts.ramp_rate,
        duration: settle + RSS_WINDOW + Duration::from_secs(opts.cpu_seconds + 4),
        server_pid: None,
        ..Default::default()
    };
    let load = load::run(&load_opts, |id, stop, progress| {
        webrtc::viewer(id, Arc::clone(&viewers), stop, progress)
    });
    let profiles = async {
        tokio::time::sleep(ramp + settle).await;
        let rss = steady_rss(&http, &opts).await;
        let cpu_url = join(
            &opts.pprof,
            &format!("/debug/pprof/profile?seconds={}", opts.cpu_seconds),
        );
        let timeout = Duration::from_secs(opts.cpu_seconds + 30);
        let cpu = match cpu_url {
            Ok(u) => get(&http, u, timeout).await,
            Err(e) => Err(e),
        };
        let heap = match join(&opts.pprof, "/debug/pprof/heap") {
            Ok(u) => get(&http, u, Duration::from_secs(30)).await,
            Err(e) => Err(e),
        };
        (rss, cpu, heap)
    };
    let (result, ((server, rss_mb), cpu, heap)) = tokio::join!(load, profiles);

    let mut report = Report {
        protocol: "webrtc".into(),
        mode: if opts.webrtc.nack { "nack" } else { "no-nack" }.into(),
        url: opts.webrtc.url.to_string(),
        readers: opts.readers,
        ramp_rate: opts.ramp_rate,
        duration_s: result.held.as_secs_f64(),
        started_at: chrono::Utc::now().timestamp(),
        server,
        server_pid: opts.server_pid,
        bench: result.bench,
        viewers: result.viewers,
        ..Default::default()
    };
    report.summarize();

    let mut verdicts = vec![Verdict::new(
        report.connected == opts.readers,
        format!("{}/{} viewers connected", report.connected, opts.readers),
    )];
    let loss = report.loss_percent();
    verdicts.push(Verdict::new(
        report.connected > 0 && loss < opts.max_loss,
        format!(
            "packet loss {loss:.3} % (limit {} %, {} of {} packets)",
            opts.max_loss,
            report.all().lost,
            report.all().expected
        ),
    ));

    if opts.webrtc.drop_every > 0 {
        verdicts.push(judge_recovery(&report, opts.webrtc.drop_every));
    }

    verdicts.push(match &rss_mb {
        Ok(mb) => Verdict::new(
            *mb <= opts.max_rss_mb,
            format!("server RSS {mb:.1} MB (limit {} MB)", opts.max_rss_mb),
        ),
        Err(e) => Verdict::new(false, format!("server RSS unknown: {e}")),
    });

    let top_cpu = match cpu.and_then(|b| pprof::decode(&b).map_err(|e| e.to_string())) {
        Ok(p) => {
            let top = p.top_flat(p.cpu_index());
            verdicts.push(judge_cpu(&top, opts.top));
            top
        }
        Err(e) => {
            verdicts.push(Verdict::new(false, format!("CPU profile: {e}")));
            Vec::new()
        }
    };
    let heap_inuse_bytes = heap
        .and_then(|b| pprof::decode(&b).map_err(|e| e.to_string()))
        .and_then(|p| p.heap_inuse_bytes().map_err(|e| e.to_string()));
    let heap_inuse_bytes = match heap_inuse_bytes {
        Ok(b) => Some(b),
        Err(e) => {
            tracing::warn!("heap profile: {e}");
            None
        }
    };
    Ok(CheckOutcome {
        verdicts,
        top_cpu,
        heap_inuse_bytes,
        rss_mb: rss_mb.ok(),
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_values() {
        let text = "# HELP process_resident_memory_bytes x\n\
                    # TYPE process_resident_memory_bytes gauge\n\
                    process_resident_memory_bytes_total 5\n\
                    process_resident_memory_bytes 2.5e+07\n";
        assert_eq!(
            metric_value(text, "process_resident_memory_bytes"),
            Some(2.5e7)
        );
        assert_eq!(metric_value("paths{name=\"a\"} 3\n", "paths"), Some(3.0));
        assert_eq!(metric_value("other 1\n", "paths"), None);
    }

    fn entry(f: &str, flat: i64) -> Entry {
        Entry {
            function: f.into(),
            flat,
            flat_percent: 0.0,
        }
    }

    #[test]
    fn recovery_verdicts() {
        let report = |dropped, retransmissions| Report {
            dropped_on_purpose: dropped,
            retransmissions,
            ..Report::default()
        };
        assert!(judge_recovery(&report(20, 20), 50).pass);
        assert!(
            judge_recovery(&report(20, 18), 50).pass,
            "the last drops may stay"
        );
        assert!(!judge_recovery(&report(20, 17), 50).pass);
        assert!(
            !judge_recovery(&report(0, 0), 50).pass,
            "nothing was dropped"
        );
        assert_eq!(
            judge_recovery(&report(20, 0), 50).line(),
            "FAIL NACK at work: 0 retransmissions for 20 video packets dropped on purpose (1 in 50)"
        );
    }

    #[test]
    fn cpu_verdicts() {
        let mut top: Vec<Entry> = (0..10).map(|i| entry(&format!("f{i}"), 100 - i)).collect();
        assert!(judge_cpu(&top, 10).pass);
        top.push(entry("Session::handle_nack", 1));
        assert!(judge_cpu(&top, 10).pass, "the 11th entry is not looked at");
        top.insert(3, entry("str0m::RtxCache::get", 97));
        let v = judge_cpu(&top, 10);
        assert!(!v.pass);
        assert!(v.line().starts_with("FAIL "), "{}", v.line());
        assert!(v.what.contains("RtxCache"), "{}", v.what);
    }
}
