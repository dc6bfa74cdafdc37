//! `/debug/pprof/goroutine`: tokio tasks in place of goroutines.
//!
//! Tokio keeps no stack per task, so the profile is a count: `debug=0` (default) gives
//! a protobuf with one sample whose value is the number of live tasks; `debug>=1` gives
//! text whose first line is Go's `goroutine profile: total N`, followed by runtime
//! metrics per worker and the process' OS threads.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::response::Response;
use pprof::protos::{self, Message};
use tokio::runtime::{Handle, RuntimeFlavor};

use super::{Params, PprofError, debug_level, gzip, profile_response, text_response};
use crate::process;

/// Function name the single sample is attributed to in the protobuf form.
pub(crate) const TASKS_FUNCTION: &str = "tokio::runtime::alive_tasks";

pub(super) async fn handler(params: Params) -> Result<Response, PprofError> {
    let debug = debug_level(&params)?;
    let handle = Handle::try_current().map_err(|_| PprofError::NoRuntime)?;
    if debug == 0 {
        let tasks = handle.metrics().num_alive_tasks();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let body = gzip(&count_profile(tasks as i64, now).encode_to_vec())?;
        Ok(profile_response(body, "goroutine"))
    } else {
        // Reading /proc is blocking file I/O.
        let threads = tokio::task::spawn_blocking(process::threads)
            .await
            .ok()
            .and_then(Result::ok);
        Ok(text_response(text_report(&handle, threads.as_deref())))
    }
}

/// A profile with sample type `goroutine/count` and one sample of value `tasks`.
pub(crate) fn count_profile(tasks: i64, time_nanos: i64) -> protos::Profile {
    // Index 0 must be the empty string.
    let strings: Vec<String> = [
        "",
        "goroutine",
        "count",
        TASKS_FUNCTION,
        "live tokio tasks (tokio keeps no per-task stacks)",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let value_type = protos::ValueType { ty: 1, unit: 2 };
    protos::Profile {
        sample_type: vec![value_type.clone()],
        sample: vec![protos::Sample {
            location_id: vec![1],
            value: vec![tasks],
            label: vec![],
        }],
        location: vec![protos::Location {
            id: 1,
            line: vec![protos::Line {
                function_id: 1,
                line: 0,
            }],
            ..Default::default()
        }],
        function: vec![protos::Function {
            id: 1,
            name: 3,
            system_name: 3,
            ..Default::default()
        }],
        string_table: strings,
        time_nanos,
        period_type: Some(value_type),
        period: 1,
        comment: vec![4],
        ..Default::default()
    }
}

fn text_report(handle: &Handle, threads: Option<&[process::ThreadStats]>) -> String {
    let metrics = handle.metrics();
    let flavor = match handle.runtime_flavor() {
        RuntimeFlavor::CurrentThread => "current_thread",
        RuntimeFlavor::MultiThread => "multi_thread",
        _ => "other",
    };
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "goroutine profile: total {}",
        metrics.num_alive_tasks()
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "# tokio runtime: flavor {flavor}");
    let _ = writeln!(out, "# workers: {}", metrics.num_workers());
    let _ = writeln!(out, "# alive tasks: {}", metrics.num_alive_tasks());
    let _ = writeln!(
        out,
        "# global queue depth: {}",
        metrics.global_queue_depth()
    );
    let _ = writeln!(out, "#");
    let _ = writeln!(out, "# worker  busy_seconds  parks  park_unparks");
    for worker in 0..metrics.num_workers() {
        let _ = writeln!(
            out,
            "# {worker:<6}  {:<12.3}  {:<5}  {}",
            metrics.worker_total_busy_duration(worker).as_secs_f64(),
            metrics.worker_park_count(worker),
            metrics.worker_park_unpark_count(worker),
        );
    }
    match threads {
        Some(threads) => {
            let _ = writeln!(out, "#");
            let _ = writeln!(out, "# OS threads: {}", threads.len());
            let _ = writeln!(out, "# tid      state  cpu_seconds  name");
            for t in threads {
                let _ = writeln!(
                    out,
                    "# {:<7}  {:<5}  {:<11.2}  {}",
                    t.tid, t.state, t.cpu_seconds, t.name
                );
            }
        }
        None => {
            let _ = writeln!(out, "#");
            let _ = writeln!(
                out,
                "# OS threads: unavailable (cannot read /proc/self/task)"
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_profile_has_one_sample_with_the_count() {
        let p = count_profile(42, 1_700_000_000_000_000_000);
        assert_eq!(p.string_table[0], "");
        assert_eq!(p.sample.len(), 1);
        assert_eq!(p.sample[0].value, vec![42]);
        let st = &p.sample_type[0];
        assert_eq!(p.string_table[st.ty as usize], "goroutine");
        assert_eq!(p.string_table[st.unit as usize], "count");
        let f = &p.function[0];
        assert_eq!(p.string_table[f.name as usize], TASKS_FUNCTION);
        // Round-trips through the wire format.
        let decoded = protos::Profile::decode(p.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded, p);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn text_report_first_line_counts_alive_tasks() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let parked = tokio::spawn(async move {
            let _ = rx.await;
        });
        let handle = Handle::current();
        let threads = process::threads().ok();
        let text = text_report(&handle, threads.as_deref());
        let _ = tx.send(());
        parked.await.unwrap();

        let first = text.lines().next().unwrap();
        let n: usize = first
            .strip_prefix("goroutine profile: total ")
            .unwrap()
            .parse()
            .unwrap();
        assert!(n >= 1, "{first}");
        assert!(text.contains("# workers: 2"), "{text}");
        assert!(
            text.contains("# tokio runtime: flavor multi_thread"),
            "{text}"
        );
        assert!(text.contains("# OS threads: "), "{text}");
    }
}
