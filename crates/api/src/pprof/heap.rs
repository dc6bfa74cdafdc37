//! `/debug/pprof/heap` and `/debug/pprof/allocs`: jemalloc heap profile.
//!
//! jemalloc samples allocations (one per 2^lg_prof_sample bytes on average) and keeps
//! the stacks of those still live. Both endpoints return that live-memory profile
//! (`inuse_space`); jemalloc keeps no history of freed allocations, so `allocs` cannot
//! show Go's cumulative `alloc_space`. With `debug=1` they return jemalloc's own text
//! dump (the format `jeprof` reads) instead of protobuf.

use std::io::Read;
use std::sync::Arc;

use axum::response::Response;
use flate2::read::GzDecoder;
use pprof::protos::{self, Message};
use tokio::sync::Mutex;

use super::{Params, PprofError, debug_level, gzip, profile_response, text_response};

/// The jemalloc profiling controller, if this process runs jemalloc with `prof:true`.
fn controller() -> Result<Arc<Mutex<jemalloc_pprof::JemallocProfCtl>>, PprofError> {
    // Checked first: jemalloc_pprof's own initialisation panics when the option is
    // missing (a jemalloc built without profiling support).
    let enabled = tikv_jemalloc_ctl::profiling::prof::read()
        .map_err(|e| PprofError::HeapProfilingUnavailable(format!("reading opt.prof: {e}")))?;
    if !enabled {
        return Err(PprofError::HeapProfilingInactive);
    }
    jemalloc_pprof::PROF_CTL
        .as_ref()
        .cloned()
        .ok_or(PprofError::HeapProfilingInactive)
}

/// Dumps the heap profile off the async workers (dumping and symbolizing take a while).
async fn dump(debug: u64) -> Result<Vec<u8>, PprofError> {
    let ctl = controller()?;
    tokio::task::spawn_blocking(move || {
        let mut ctl = ctl.blocking_lock();
        if !ctl.activated() {
            return Err(PprofError::HeapProfilingInactive);
        }
        if debug == 0 {
            let raw = ctl.dump_pprof();
            super::release_symbolizer_memory();
            with_allocator_frames_dropped(raw.map_err(|e| PprofError::HeapProfile(e.to_string()))?)
        } else {
            let mut file = ctl
                .dump()
                .map_err(|e| PprofError::HeapProfile(e.to_string()))?;
            let mut text = Vec::new();
            file.read_to_end(&mut text)?;
            Ok(text)
        }
    })
    .await
    .map_err(|e| PprofError::HeapProfile(format!("dump task failed: {e}")))?
}

/// Allocator entry points: `go tool pprof` hides these frames and everything they call
/// (jemalloc's own sampling code), so each allocation is charged to its caller, as in
/// Go heap profiles. Matched against whole function names (RE2 syntax).
pub(crate) const DROP_FRAMES: &str = "(__rustc::)?__rust_(alloc|alloc_zeroed|realloc)|\
    <tikv_jemallocator::Jemalloc as .*|\
    (malloc|calloc|realloc|posix_memalign|aligned_alloc|memalign|valloc|mallocx|rallocx)|\
    _?rjem_.*";

/// Sets `drop_frames` in the gzipped profile jemalloc_pprof produced.
fn with_allocator_frames_dropped(gzipped: Vec<u8>) -> Result<Vec<u8>, PprofError> {
    let mut encoded = Vec::new();
    GzDecoder::new(gzipped.as_slice()).read_to_end(&mut encoded)?;
    let mut profile = protos::Profile::decode(encoded.as_slice())
        .map_err(|e| PprofError::HeapProfile(format!("decoding jemalloc profile: {e}")))?;
    profile.drop_frames = profile.string_table.len() as i64;
    profile.string_table.push(DROP_FRAMES.to_string());
    Ok(gzip(&profile.encode_to_vec())?)
}

async fn serve(params: Params, filename: &'static str) -> Result<Response, PprofError> {
    let debug = debug_level(&params)?;
    let body = dump(debug).await?;
    Ok(if debug == 0 {
        profile_response(body, filename)
    } else {
        text_response(body)
    })
}

pub(super) async fn heap_handler(params: Params) -> Result<Response, PprofError> {
    serve(params, "heap").await
}

pub(super) async fn allocs_handler(params: Params) -> Result<Response, PprofError> {
    serve(params, "allocs").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_frames_is_set_and_rest_of_profile_kept() {
        let profile = protos::Profile {
            string_table: vec![String::new(), "inuse_space".into(), "bytes".into()],
            sample_type: vec![protos::ValueType { ty: 1, unit: 2 }],
            sample: vec![protos::Sample {
                value: vec![1024],
                ..Default::default()
            }],
            ..Default::default()
        };
        let out = with_allocator_frames_dropped(gzip(&profile.encode_to_vec()).unwrap()).unwrap();
        let mut encoded = Vec::new();
        GzDecoder::new(out.as_slice())
            .read_to_end(&mut encoded)
            .unwrap();
        let back = protos::Profile::decode(encoded.as_slice()).unwrap();
        assert_eq!(back.string_table[back.drop_frames as usize], DROP_FRAMES);
        assert_eq!(back.sample, profile.sample);
        assert_eq!(back.sample_type, profile.sample_type);
        assert!(with_allocator_frames_dropped(b"not gzip".to_vec()).is_err());
    }

    // Profiling switched off at run time (`prof.active` false): the handler must answer
    // with an error, not panic. (jemalloc starts with profiling on in every binary that
    // links ferromtx-net, which exports `malloc_conf`.)
    #[tokio::test]
    async fn heap_without_profiling_is_501() {
        let ctl = controller().expect("jemalloc with prof:true");
        ctl.lock().await.deactivate().expect("deactivate");
        let res = dump(0).await;
        ctl.lock().await.activate().expect("activate");
        let err = res.unwrap_err();
        assert!(
            matches!(err, PprofError::HeapProfilingInactive),
            "unexpected: {err}"
        );
        assert_eq!(err.status(), axum::http::StatusCode::NOT_IMPLEMENTED);
        assert!(err.to_string().contains("malloc_conf"));
    }
}
