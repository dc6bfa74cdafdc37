//! `/metrics`: Prometheus text with MediaMTX's metric names, labels and filters
//! (`?type=`, `?path=`, `?forward_dest=`, `?hls_muxer=`, `?hls_session=`, `?rtsp_conn=`,
//! `?rtsp_session=`, `?rtsps_conn=`, `?rtsps_session=`, `?rtmp_conn=`, `?rtmps_conn=`,
//! `?srt_conn=`, `?webrtc_session=`, `?moq_session=`), plus process metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::backend::Backend;
use crate::dto;
use crate::v3::Params;

/// Query keys that select objects; any of them set restricts the output to its type.
const FILTER_KEYS: [&str; 13] = [
    "path",
    "forward_dest",
    "hls_muxer",
    "hls_session",
    "rtsp_conn",
    "rtsp_session",
    "rtsps_conn",
    "rtsps_session",
    "rtmp_conn",
    "rtmps_conn",
    "srt_conn",
    "webrtc_session",
    "moq_session",
];

/// A sample value: integers print as such, floats in shortest decimal form.
#[derive(Debug, Clone, Copy)]
enum Num {
    I(u64),
    F(f64),
}

fn write_value(out: &mut String, v: Num) {
    match v {
        // MediaMTX prints counters as signed 64-bit values.
        Num::I(i) => {
            let _ = write!(out, "{}", i as i64);
        }
        Num::F(f) if f.is_nan() => out.push_str("NaN"),
        Num::F(f) if f.is_infinite() => out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" }),
        Num::F(f) => {
            let _ = write!(out, "{f}");
        }
    }
}

fn sample(out: &mut String, key: &str, tags: &str, v: Num) {
    sample_named(out, "", key, tags, v);
}

/// A sample whose name is `prefix` followed by `suffix`.
fn sample_named(out: &mut String, prefix: &str, suffix: &str, tags: &str, v: Num) {
    out.push_str(prefix);
    out.push_str(suffix);
    out.push_str(tags);
    out.push(' ');
    write_value(out, v);
    out.push('\n');
}

/// `{k="v",...}` with keys sorted.
fn tags(pairs: &[(&str, &str)]) -> String {
    let sorted: BTreeMap<&str, &str> = pairs.iter().copied().collect();
    let mut s = String::from("{");
    for (i, (k, v)) in sorted.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                '"' => s.push_str("\\\""),
                '\n' => s.push_str("\\n"),
                c => s.push(c),
            }
        }
        s.push('"');
    }
    s.push('}');
    s
}

type Getter<T> = fn(&T) -> Num;

/// A titled list of metrics (the current ones, then the deprecated ones).
type Block<'a, T> = (&'a str, &'a [(&'static str, Getter<T>)]);

/// One block of per-object metrics (`# RTSP sessions`, ...). Metric names are `typ`
/// followed by the suffixes in `metrics` / `deprecated`.
struct Section<T: 'static> {
    typ: &'static str,
    filter_key: &'static str,
    title: &'static str,
    id: fn(&T) -> &str,
    labels: fn(&T) -> String,
    metrics: &'static [(&'static str, Getter<T>)],
    deprecated: &'static [(&'static str, Getter<T>)],
}

struct Ctx<'a> {
    typ: &'a str,
    q: &'a Params,
    any_filter: bool,
}

impl Ctx<'_> {
    fn wants(&self, typ: &str, filter_key: &str) -> bool {
        (self.typ.is_empty() || self.typ == typ)
            && (!self.any_filter || !self.q.get(filter_key).is_empty())
    }
}

fn zero(v: Num) -> Num {
    match v {
        Num::I(_) => Num::I(0),
        Num::F(_) => Num::F(0.0),
    }
}

fn emit<T: Default + 'static>(out: &mut String, ctx: &Ctx<'_>, s: &Section<T>, items: Vec<T>) {
    if !ctx.wants(s.typ, s.filter_key) {
        return;
    }
    let filter = ctx.q.get(s.filter_key);
    let blocks: [Block<'_, T>; 2] = [("", s.metrics), (" (deprecated)", s.deprecated)];
    if !items.is_empty() {
        for (suffix, metrics) in blocks {
            if metrics.is_empty() {
                continue;
            }
            let _ = writeln!(out, "# {}{}", s.title, suffix);
            for i in items
                .iter()
                .filter(|i| filter.is_empty() || filter == (s.id)(i))
            {
                let t = (s.labels)(i);
                for (key, get) in metrics {
                    sample_named(out, s.typ, key, &t, get(i));
                }
            }
            out.push('\n');
        }
    } else if filter.is_empty() {
        let proto = T::default();
        for (suffix, metrics) in blocks {
            if metrics.is_empty() {
                continue;
            }
            let _ = writeln!(out, "# {}{}", s.title, suffix);
            for (key, get) in metrics {
                sample_named(out, s.typ, key, "", zero(get(&proto)));
            }
            out.push('\n');
        }
    }
}

fn paths_section(out: &mut String, ctx: &Ctx<'_>, paths: &[dto::Path]) {
    if !ctx.wants("paths", "path") {
        return;
    }
    let filter = ctx.q.get("path");
    if !paths.is_empty() {
        let selected = || {
            paths
                .iter()
                .filter(|p| filter.is_empty() || filter == p.name)
        };
        let state = |p: &dto::Path| if p.ready { "ready" } else { "notReady" };
        out.push_str("# Paths\n");
        for p in selected() {
            let t = tags(&[("name", &p.name), ("state", state(p))]);
            sample(out, "paths", &t, Num::I(1));
            let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
            for r in &p.readers {
                *by_type.entry(r.kind.as_str()).or_default() += 1;
            }
            if by_type.is_empty() {
                by_type.insert("", 0);
            }
            for (rt, n) in by_type {
                let rt_tags = tags(&[("name", &p.name), ("state", state(p)), ("readerType", rt)]);
                sample(out, "paths_readers", &rt_tags, Num::I(n));
            }
            sample(out, "paths_inbound_bytes", &t, Num::I(p.inbound_bytes));
            sample(out, "paths_outbound_bytes", &t, Num::I(p.outbound_bytes));
            sample(
                out,
                "paths_inbound_frames_in_error",
                &t,
                Num::I(p.inbound_frames_in_error),
            );
        }
        out.push_str("\n# Paths (deprecated)\n");
        for p in selected() {
            let t = tags(&[("name", &p.name), ("state", state(p))]);
            sample(out, "paths_bytes_received", &t, Num::I(p.bytes_received));
            sample(out, "paths_bytes_sent", &t, Num::I(p.bytes_sent));
        }
        out.push('\n');
    } else if filter.is_empty() {
        out.push_str("# Paths\n");
        for key in [
            "paths",
            "paths_inbound_bytes",
            "paths_outbound_bytes",
            "paths_inbound_frames_in_error",
        ] {
            sample(out, key, "", Num::I(0));
        }
        out.push_str("\n# Paths (deprecated)\n");
        for key in ["paths_bytes_received", "paths_bytes_sent", "paths_readers"] {
            sample(out, key, "", Num::I(0));
        }
        out.push('\n');
    }
}

fn forward_section(out: &mut String, ctx: &Ctx<'_>, b: &dyn Backend, paths: &[dto::Path]) {
    let path_filter = ctx.q.get("path");
    let filter = ctx.q.get("forward_dest");
    if !(ctx.typ.is_empty() || ctx.typ == "forward_dests")
        || (ctx.any_filter && path_filter.is_empty() && filter.is_empty())
    {
        return;
    }
    let mut items = Vec::new();
    for p in paths
        .iter()
        .filter(|p| path_filter.is_empty() || path_filter == p.name)
    {
        let Ok(dests) = b.forward_dests(&p.name) else {
            continue;
        };
        items.extend(
            dests
                .into_iter()
                .filter(|d| filter.is_empty() || filter == d.id)
                .map(|d| (p.name.clone(), d)),
        );
    }
    if !items.is_empty() {
        out.push_str("# Forward destinations\n");
        for (path, d) in &items {
            let t = tags(&[
                ("id", &d.id),
                ("path", path),
                ("protocol", d.protocol.as_str()),
                ("state", d.state.as_str()),
            ]);
            sample(out, "forward_dests", &t, Num::I(1));
            sample(
                out,
                "forward_dests_outbound_bytes",
                &t,
                Num::I(d.outbound_bytes),
            );
        }
        out.push('\n');
    } else if ctx.typ == "forward_dests" && path_filter.is_empty() && filter.is_empty() {
        out.push_str("# Forward destinations\n");
        sample(out, "forward_dests", "", Num::I(0));
        sample(out, "forward_dests_outbound_bytes", "", Num::I(0));
        out.push('\n');
    }
}

fn process_section(out: &mut String, ctx: &Ctx<'_>) {
    if !(ctx.typ.is_empty() || ctx.typ == "process") || ctx.any_filter {
        return;
    }
    let s = match crate::process::stats() {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!("[metrics] process statistics unavailable: {e}");
            return;
        }
    };
    out.push_str("# Process\n");
    sample(
        out,
        "process_resident_memory_bytes",
        "",
        Num::I(s.rss_bytes),
    );
    sample(
        out,
        "process_virtual_memory_bytes",
        "",
        Num::I(s.virtual_bytes),
    );
    sample(out, "process_cpu_seconds_total", "", Num::F(s.cpu_seconds));
    sample(out, "process_open_fds", "", Num::I(s.open_fds));
    sample(out, "process_max_fds", "", Num::I(s.max_fds));
    // Live tokio tasks (what pprof's goroutine profile counts): back to its baseline after
    // sessions leave, or a task leaked.
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        let tasks = handle.metrics().num_alive_tasks();
        sample(out, "process_tasks", "", Num::I(tasks as u64));
    }
    sample(
        out,
        "process_start_time_seconds",
        "",
        Num::F(s.start_time_seconds),
    );
    out.push('\n');
}

/// Renders the whole metrics text for the query `q`.
pub(crate) fn render(b: &dyn Backend, q: &Params) -> String {
    let ctx = Ctx {
        typ: q.get("type"),
        q,
        any_filter: FILTER_KEYS.iter().any(|k| !q.get(k).is_empty()),
    };
    let servers = b.servers();
    let mut out = String::new();
    let paths = b.paths();
    paths_section(&mut out, &ctx, &paths);
    forward_section(&mut out, &ctx, b, &paths);
    if servers.hls {
        emit(&mut out, &ctx, &sections::HLS_SESSIONS, b.hls_sessions());
        emit(&mut out, &ctx, &sections::HLS_MUXERS, b.hls_muxers());
    }
    if servers.rtsp {
        emit(&mut out, &ctx, &sections::RTSP_CONNS, b.rtsp_conns());
        emit(&mut out, &ctx, &sections::RTSP_SESSIONS, b.rtsp_sessions());
    }
    if servers.rtsps {
        emit(&mut out, &ctx, &sections::RTSPS_CONNS, b.rtsps_conns());
        emit(
            &mut out,
            &ctx,
            &sections::RTSPS_SESSIONS,
            b.rtsps_sessions(),
        );
    }
    if servers.rtmp {
        emit(&mut out, &ctx, &sections::RTMP_CONNS, b.rtmp_conns());
    }
    if servers.rtmps {
        emit(&mut out, &ctx, &sections::RTMPS_CONNS, b.rtmps_conns());
    }
    if servers.srt {
        emit(&mut out, &ctx, &sections::SRT_CONNS, b.srt_conns());
    }
    if servers.webrtc {
        emit(
            &mut out,
            &ctx,
            &sections::WEBRTC_SESSIONS,
            b.webrtc_sessions(),
        );
    }
    if servers.moq {
        emit(&mut out, &ctx, &sections::MOQ_SESSIONS, b.moq_sessions());
    }
    process_section(&mut out, &ctx);
    out
}

/// Builds the `/metrics` router. Authentication, CORS and TLS are added by [`crate::serve`].
pub fn metrics_router(backend: Arc<dyn Backend>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(b): State<Arc<dyn Backend>>, q: Params| async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; charset=utf-8",
                    )],
                    render(b.as_ref(), &q),
                )
            }),
        )
        .with_state(backend)
}

mod sections;
