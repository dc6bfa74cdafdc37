//! Authentication and authorization shared by every protocol server.
//!
//! One [`Manager`] is built from the configuration and asked, for every
//! publish, read, playback, API, metrics or pprof request, whether the
//! request is allowed. Three methods exist, as in MediaMTX (`authMethod`):
//!
//! - `internal`: users listed in `authInternalUsers`;
//! - `http`: an external HTTP service (`authHTTPAddress`) decides;
//! - `jwt`: a JSON Web Token signed by a key published in `authJWTJWKS`.
//!
//! A failed authentication returns an [`Error`]; callers are expected to
//! wait [`PAUSE_AFTER_ERROR`] before answering, unless
//! [`Error::ask_credentials`] is set (then they ask the client for
//! credentials right away).

#![forbid(unsafe_code)]

mod credential;
mod http_client;
mod http_method;
mod ip_network;
mod jwks;
mod jwt;
mod manager;
mod permission;
mod request;
mod settings;

use std::time::Duration;

pub use manager::Manager;
pub use request::{Credentials, Protocol, Request, credentials_from_http};

/// How long MediaMTX waits after a failed authentication before answering,
/// to slow down brute-force attempts. The waiting is left to callers.
pub const PAUSE_AFTER_ERROR: Duration = Duration::from_secs(2);

/// A failed authentication.
///
/// `Display` prints [`Error::message`], worded as MediaMTX logs it
/// (`failed to authenticate: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct Error {
    /// The client sent no credentials but could be allowed with some: HTTP
    /// answers 401 with `WWW-Authenticate: Basic realm="mediamtx"`, RTSP
    /// asks for credentials; neither pauses before answering.
    pub ask_credentials: bool,
    /// Human-readable reason, for logs.
    pub message: String,
}

impl Error {
    pub(crate) fn new(reason: impl std::fmt::Display, ask_credentials: bool) -> Error {
        Error {
            ask_credentials,
            message: format!("failed to authenticate: {reason}"),
        }
    }
}
