//! TLS, one place for every listener and client: server certificates that reload when
//! their files change, and client verification by fingerprint or by the web's roots.

mod client;
mod server;

pub use client::{client_config, fingerprint_of};
pub use server::{ALPN_HTTP, ReloadingCert, TlsError, acceptor, load_certified_key, server_config};
