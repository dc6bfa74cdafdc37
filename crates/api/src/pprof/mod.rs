//! `/debug/pprof/*` endpoints that `go tool pprof` reads, like Go's `net/http/pprof`
//! mounted by MediaMTX on its pprof listener.
//!
//! - `profile?seconds=N`: CPU profile (signal sampling at 100 Hz, frame-pointer stacks).
//! - `heap`, `allocs`: jemalloc heap profile (live sampled allocations, symbolized).
//! - `goroutine`: the number of live tokio tasks (`?debug=1`: text with runtime details).
//! - `cmdline`, `symbol`: as in Go.
//!
//! Every profile is a gzip-compressed `perftools.profiles.Profile` protobuf. The router
//! carries no auth, CORS or TLS: the caller wraps it.

mod cmdline;
mod goroutine;
mod heap;
mod index;
mod profile;
mod symbol;

use std::collections::HashMap;
use std::io::Write;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flate2::Compression;
use flate2::write::GzEncoder;

pub use tikv_jemallocator::Jemalloc;

/// The `malloc_conf` value that turns jemalloc heap profiling on from process start:
/// sample one allocation per 512 KiB on average, as Go's default `MemProfileRate`.
pub use ferromtx_net::sys::MALLOC_CONF;

/// Query parameters, as Go reads them with `r.FormValue`.
type Params = Query<HashMap<String, String>>;

/// Why a pprof request failed; each maps to an HTTP status and a plain-text body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PprofError {
    #[error("invalid value for \"{name}\": {value:?} (want an integer{expect})")]
    InvalidParam {
        name: &'static str,
        value: String,
        expect: &'static str,
    },
    #[error("a CPU profile is already being collected; retry when it has finished")]
    CpuProfileBusy,
    #[error("could not collect CPU profile: {0}")]
    CpuProfile(String),
    #[error(
        "heap profiling is not active: jemalloc must be the allocator and be started with \
         malloc_conf \"{MALLOC_CONF}\" (or MALLOC_CONF in the environment)"
    )]
    HeapProfilingInactive,
    #[error("heap profiling is unavailable: {0}")]
    HeapProfilingUnavailable(String),
    #[error("could not dump heap profile: {0}")]
    HeapProfile(String),
    #[error("no tokio runtime on this thread")]
    NoRuntime,
    #[error("unknown profile: {0}")]
    UnknownProfile(String),
    #[error("profile {0:?} is not supported by this server")]
    UnsupportedProfile(String),
    #[error("could not encode profile: {0}")]
    Encode(#[from] std::io::Error),
}

impl PprofError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidParam { .. } => StatusCode::BAD_REQUEST,
            Self::CpuProfileBusy => StatusCode::CONFLICT,
            Self::HeapProfilingInactive | Self::UnsupportedProfile(_) => {
                StatusCode::NOT_IMPLEMENTED
            }
            Self::UnknownProfile(_) => StatusCode::NOT_FOUND,
            Self::CpuProfile(_)
            | Self::HeapProfilingUnavailable(_)
            | Self::HeapProfile(_)
            | Self::NoRuntime
            | Self::Encode(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for PprofError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!("pprof: {self}");
        } else {
            tracing::debug!("pprof: {self}");
        }
        // Like Go's serveError: plain text, and X-Go-Pprof so clients know it is pprof talking.
        let mut response = (status, format!("{self}\n")).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert("x-go-pprof", HeaderValue::from_static("1"));
        response
    }
}

/// The pprof routes, mounted at `/debug/pprof/`.
pub fn router() -> Router {
    Router::new()
        .route("/debug/pprof", get(index::redirect))
        .route("/debug/pprof/", get(index::page))
        .route("/debug/pprof/profile", get(profile::handler))
        .route("/debug/pprof/heap", get(heap::heap_handler))
        .route("/debug/pprof/allocs", get(heap::allocs_handler))
        .route("/debug/pprof/goroutine", get(goroutine::handler))
        .route("/debug/pprof/cmdline", get(cmdline::handler))
        .route(
            "/debug/pprof/symbol",
            get(symbol::get_handler).post(symbol::post_handler),
        )
        .route("/debug/pprof/{name}", get(index::other_profile))
}

/// Reads an integer parameter; absent or empty gives `None`.
fn int_param(
    params: &HashMap<String, String>,
    name: &'static str,
    expect: &'static str,
) -> Result<Option<u64>, PprofError> {
    match params.get(name).map(|v| v.trim()) {
        None | Some("") => Ok(None),
        Some(value) => value
            .parse::<u64>()
            .map(Some)
            .map_err(|_| PprofError::InvalidParam {
                name,
                value: value.to_string(),
                expect,
            }),
    }
}

/// The `debug` parameter: 0 (absent) means protobuf, anything else text.
fn debug_level(params: &HashMap<String, String>) -> Result<u64, PprofError> {
    Ok(int_param(params, "debug", " >= 0")?.unwrap_or(0))
}

/// Gzip-compresses an encoded profile, as `go tool pprof` expects.
fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        Compression::default(),
    );
    encoder.write_all(data)?;
    encoder.finish()
}

/// A binary profile download, with Go's headers.
fn profile_response(body: Vec<u8>, filename: &'static str) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Gives back what symbolizing took. The symbolizer caches the binary's parsed debug
/// information and a mapping of the file (together about 110 MB for ferromtx's release build)
/// for the rest of the process's life; one heap or CPU profile left an idle 14 MB server at
/// about 150 MB. The next profile parses again (about a second). jemalloc is then asked to
/// return the freed pages now rather than at its next decay, which an idle server may not
/// reach for a long time.
pub(crate) fn release_symbolizer_memory() {
    backtrace::clear_symbol_cache();
    // `arena.<MALLCTL_ARENAS_ALL>.purge`, a void control: no old or new value.
    let rc = ferromtx_net::sys::mallctl_void(tikv_jemalloc_sys::mallctl, c"arena.4096.purge");
    if rc != 0 {
        tracing::debug!("jemalloc purge failed: {rc}");
    }
}

/// A text answer (`debug=1` forms, cmdline, symbol), with Go's headers.
fn text_response(body: impl Into<axum::body::Body>) -> Response {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn int_param_accepts_absent_empty_and_numbers() {
        assert_eq!(int_param(&params(&[]), "seconds", "").unwrap(), None);
        assert_eq!(
            int_param(&params(&[("seconds", "")]), "seconds", "").unwrap(),
            None
        );
        assert_eq!(
            int_param(&params(&[("seconds", "7")]), "seconds", "").unwrap(),
            Some(7)
        );
    }

    #[test]
    fn int_param_rejects_garbage_with_400() {
        for bad in ["abc", "-1", "1.5", "99999999999999999999999"] {
            let err = int_param(&params(&[("seconds", bad)]), "seconds", " >= 1").unwrap_err();
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{bad}");
            assert!(err.to_string().contains("\"seconds\""), "{err}");
        }
    }

    #[test]
    fn gzip_output_starts_with_gzip_magic() {
        let out = gzip(b"hello").unwrap();
        assert_eq!(&out[..2], &[0x1f, 0x8b]);
    }

    #[test]
    fn error_statuses() {
        assert_eq!(PprofError::CpuProfileBusy.status(), StatusCode::CONFLICT);
        assert_eq!(
            PprofError::HeapProfilingInactive.status(),
            StatusCode::NOT_IMPLEMENTED
        );
        assert_eq!(
            PprofError::UnknownProfile("x".into()).status(),
            StatusCode::NOT_FOUND
        );
    }
}
