//! Control plane: `/v3` API, Prometheus metrics, pprof endpoints.

pub mod pprof;
pub mod process;
