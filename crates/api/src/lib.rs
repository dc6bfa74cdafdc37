//! Control plane: `/v3` API, Prometheus metrics, pprof endpoints, and the HTTP
//! server they share (authentication, CORS, trusted proxies, TLS).
#![forbid(unsafe_code)]

pub mod pprof;
pub mod process;

pub mod backend;
pub mod component;
pub mod dto;
pub mod http;
pub mod metrics;
pub mod pagination;
pub mod servers;
pub mod sessions;
pub mod settings;
pub mod uuid;
mod v3;

pub use backend::{Backend, Failure, Servers};
pub use component::{Component, Context, Registry, Server, component};
pub use http::{HttpServerKind, HttpSettings, ServeError, serve, serve_with};
pub use metrics::metrics_router;
pub use servers::{ControlServer, HttpServer, http_proto, started_line};
pub use sessions::Sessions;
pub use v3::api_router;
