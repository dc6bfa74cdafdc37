//! HTTP clients for `authHTTPAddress` and `authJWTJWKS`, with MediaMTX's certificate
//! fingerprint option (`authHTTPFingerprint`, `authJWTJWKSFingerprint`; see
//! [`ferromtx_net::tls::client_config`]).

use std::time::Duration;

/// Builds a client with `timeout` on the whole exchange and, when `fingerprint` is not
/// empty, certificate pinning instead of CA checks.
pub(crate) fn make_client(timeout: Duration, fingerprint: &str) -> Result<reqwest::Client, String> {
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(5));
    let builder = if fingerprint.is_empty() {
        builder.use_rustls_tls()
    } else {
        builder.use_preconfigured_tls(ferromtx_net::tls::client_config(fingerprint)?)
    };
    builder.build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_build_with_and_without_fingerprint() {
        assert!(make_client(Duration::from_secs(1), "").is_ok());
        assert!(make_client(Duration::from_secs(1), "AABB").is_ok());
    }
}
