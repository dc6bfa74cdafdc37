//! Control plane: `/v3` API, Prometheus metrics, pprof endpoints, and the HTTP
//! server they share (authentication, CORS, trusted proxies, TLS).

pub mod pprof;
pub mod process;

pub mod backend;
pub mod dto;
pub mod http;
pub mod metrics;
pub mod pagination;
pub mod settings;
pub mod uuid;
mod v3;

pub use backend::{Backend, Failure, Servers};
pub use http::{HttpServerKind, HttpSettings, ServeError, serve, serve_with};
pub use metrics::metrics_router;
pub use v3::api_router;
