//! Resident memory and CPU time of a process, from Linux's `/proc/PID/status` (`VmRSS`)
//! and `/proc/PID/stat` (`utime` + `stime`), sampled over a window.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: Instant,
    pub rss_bytes: u64,
    /// User plus system CPU time so far.
    pub cpu: Duration,
}

/// Why a process could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("reading /proc/{pid}: {source}")]
    Io {
        pid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("/proc/{0}/stat or status has an unexpected format")]
    Format(u32),
}

/// `VmRSS` of a `/proc/PID/status` text, in bytes.
pub fn parse_status_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => Some(value * 1024),
        Some(_) => None,
    }
}

/// `utime + stime` of a `/proc/PID/stat` line, in clock ticks. The command name (field 2)
/// may hold spaces and parentheses: fields are counted after its last `)`.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state (3), ppid (4) ... utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> u64 {
    ferromtx_net::sys::clock_ticks_per_second().unwrap_or(100)
}

/// Reads process `pid` now.
pub fn sample(pid: u32) -> Result<Sample, ProcError> {
    let io = |source| ProcError::Io { pid, source };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(io)?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(io)?;
    let rss_bytes = parse_status_rss(&status).ok_or(ProcError::Format(pid))?;
    let ticks = parse_stat_ticks(&stat).ok_or(ProcError::Format(pid))?;
    let hz = clock_ticks_per_second();
    let cpu =
        Duration::from_secs(ticks / hz) + Duration::from_nanos((ticks % hz) * 1_000_000_000 / hz);
    Ok(Sample {
        at: Instant::now(),
        rss_bytes,
        cpu,
    })
}

/// Memory and CPU of a process over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub rss_mean_mb: f64,
    pub rss_max_mb: f64,
    /// CPU time over wall time, in percent of one core.
    pub cpu_percent: f64,
    pub samples: usize,
    pub window_s: f64,
}

const MB: f64 = 1024.0 * 1024.0;

/// Usage over `samples` (in time order): mean and max RSS, CPU between the first and last.
pub fn usage(samples: &[Sample]) -> Option<Usage> {
    let (first, last) = (samples.first()?, samples.last()?);
    let wall = last.at.saturating_duration_since(first.at);
    let cpu = last.cpu.saturating_sub(first.cpu);
    let rss_sum: f64 = samples.iter().map(|s| s.rss_bytes as f64).sum();
    let rss_max = samples.iter().map(|s| s.rss_bytes).max().unwrap_or(0);
    Some(Usage {
        rss_mean_mb: rss_sum / samples.len() as f64 / MB,
        rss_max_mb: rss_max as f64 / MB,
        cpu_percent: if wall.is_zero() {
            0.0
        } else {
            cpu.as_secs_f64() * 100.0 / wall.as_secs_f64()
        },
        samples: samples.len(),
        window_s: wall.as_secs_f64(),
    })
}

/// Samples `pid` every `period` from `start` to `end` (tokio time); returns the readings.
/// Stops early, with what it has, when the process can no longer be read.
pub async fn sample_window(
    pid: u32,
    start: tokio::time::Instant,
    end: tokio::time::Instant,
    period: Duration,
) -> Vec<Sample> {
    tokio::time::sleep_until(start).await;
    let mut out = Vec::new();
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let max = 1 + (end.saturating_duration_since(start).as_millis() / period.as_millis().max(1));
    for _ in 0..=max {
        tick.tick().await;
        match sample(pid) {
            Ok(s) => out.push(s),
            Err(e) => {
                tracing::warn!("{e}");
                break;
            }
        }
        if tokio::time::Instant::now() >= end {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_from_status() {
        let s = "Name:\tferromtx\nVmPeak:\t  9000 kB\nVmRSS:\t   20480 kB\nThreads:\t4\n";
        assert_eq!(parse_status_rss(s), Some(20480 * 1024));
        assert_eq!(parse_status_rss("Name: x\n"), None);
        assert_eq!(parse_status_rss("VmRSS: abc kB\n"), None);
    }

    #[test]
    fn ticks_from_stat_with_a_tricky_name() {
        let stat = "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 500 0 0 0 170 30 0 0 20 0 3 0 100 \
                    1000000 500 18446744073709551615";
        assert_eq!(parse_stat_ticks(stat), Some(200));
        assert_eq!(parse_stat_ticks("1234 (x) S 1"), None);
        assert_eq!(parse_stat_ticks("no parens"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.rss_bytes > 0);
        assert!(sample(u32::MAX).is_err());
    }

    #[test]
    fn usage_of_samples() {
        let t0 = Instant::now();
        let mk = |ms: u64, rss: u64, cpu_ms: u64| Sample {
            at: t0 + Duration::from_millis(ms),
            rss_bytes: rss,
            cpu: Duration::from_millis(cpu_ms),
        };
        let u = usage(&[
            mk(0, 10 << 20, 1000),
            mk(1000, 20 << 20, 1100),
            mk(2000, 30 << 20, 1300),
        ])
        .unwrap();
        assert!((u.rss_mean_mb - 20.0).abs() < 1e-9);
        assert!((u.rss_max_mb - 30.0).abs() < 1e-9);
        assert!((u.cpu_percent - 15.0).abs() < 1e-9);
        assert_eq!(u.samples, 3);
        assert!(usage(&[]).is_none());
    }
}
