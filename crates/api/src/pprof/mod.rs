//! pprof endpoints (being written).
