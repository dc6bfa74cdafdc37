//! `/debug/pprof/profile?seconds=N`: CPU profile.
//!
//! Sampling is process-wide (SIGPROF), so one profile runs at a time. The profile is
//! collected and symbolized on a dedicated thread; the request only awaits it, so the
//! async workers keep serving. A client that disconnects ends the profile early.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use axum::response::Response;
use pprof::protos::Message;

use super::{Params, PprofError, gzip, int_param, profile_response};

/// Sampling frequency, as Go's `runtime.SetCPUProfileRate` default.
const FREQUENCY_HZ: i32 = 100;
/// Duration when `seconds` is absent, as Go.
const DEFAULT_SECONDS: u64 = 30;
/// Libraries without frame pointers: stacks are not walked from inside them.
const BLOCKLIST: [&str; 4] = ["libc", "libgcc", "pthread", "vdso"];

static BUSY: AtomicBool = AtomicBool::new(false);

/// Holds the single CPU-profile slot; frees it when dropped.
struct Slot;

impl Slot {
    fn acquire() -> Option<Self> {
        BUSY.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        BUSY.store(false, Ordering::Release);
    }
}

/// Parses `seconds`: absent means 30, otherwise an integer >= 1.
fn seconds(params: &std::collections::HashMap<String, String>) -> Result<u64, PprofError> {
    match int_param(params, "seconds", " >= 1")? {
        None => Ok(DEFAULT_SECONDS),
        Some(0) => Err(PprofError::InvalidParam {
            name: "seconds",
            value: "0".into(),
            expect: " >= 1",
        }),
        Some(n) => Ok(n),
    }
}

pub(super) async fn handler(params: Params) -> Result<Response, PprofError> {
    let duration = Duration::from_secs(seconds(&params)?);
    let slot = Slot::acquire().ok_or(PprofError::CpuProfileBusy)?;
    // Dropping `_cancel` (request finished or abandoned) wakes the profiler thread.
    let (_cancel, cancelled) = mpsc::channel::<()>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("pprof-cpu".into())
        .spawn(move || {
            let result = collect(duration, &cancelled);
            // The slot is freed only once the sampler has stopped.
            drop(slot);
            let _ = done_tx.send(result);
        })
        .map_err(|e| PprofError::CpuProfile(format!("cannot start profiler thread: {e}")))?;
    let body = done_rx
        .await
        .map_err(|_| PprofError::CpuProfile("profiler thread ended without a result".into()))??;
    Ok(profile_response(body, "profile"))
}

/// Samples for `duration` (or until `cancelled` disconnects) and returns the gzipped,
/// symbolized protobuf.
fn collect(duration: Duration, cancelled: &mpsc::Receiver<()>) -> Result<Vec<u8>, PprofError> {
    let failed = |e: pprof::Error| PprofError::CpuProfile(e.to_string());
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(FREQUENCY_HZ)
        .blocklist(&BLOCKLIST)
        .build()
        .map_err(|e| match e {
            // pprof-rs refuses a second profiler; another user of the crate holds it.
            pprof::Error::Running => PprofError::CpuProfileBusy,
            e => failed(e),
        })?;
    match cancelled.recv_timeout(duration) {
        Err(mpsc::RecvTimeoutError::Timeout) => {}
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err(PprofError::CpuProfile("request cancelled".into()));
        }
    }
    let report = guard.report().build();
    drop(guard);
    let profile = report.and_then(|r| r.pprof());
    super::release_symbolizer_memory();
    Ok(gzip(&profile.map_err(failed)?.encode_to_vec())?)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn seconds_defaults_to_30_and_rejects_zero() {
        let mut p = HashMap::new();
        assert_eq!(seconds(&p).unwrap(), 30);
        p.insert("seconds".to_string(), "5".to_string());
        assert_eq!(seconds(&p).unwrap(), 5);
        p.insert("seconds".to_string(), "0".to_string());
        assert!(matches!(
            seconds(&p),
            Err(PprofError::InvalidParam {
                name: "seconds",
                ..
            })
        ));
        p.insert("seconds".to_string(), "ten".to_string());
        assert!(seconds(&p).is_err());
    }

    #[test]
    fn slot_is_exclusive_and_freed_on_drop() {
        let first = Slot::acquire().expect("slot free at start");
        assert!(Slot::acquire().is_none());
        drop(first);
        let again = Slot::acquire();
        assert!(again.is_some());
    }
}
