//! What a WHIP/WHEP request asks for. Credentials are read by the shared parser of the auth
//! crate ([`ferromtx_auth::credentials_from_http`]), as for the API and every protocol;
//! authentication itself happens in the core, when a reader or publisher is added.

use std::net::IpAddr;

use axum::http::{HeaderMap, header};

pub use ferromtx_auth::Credentials;

/// Credentials of a request: `Authorization` (Basic, Bearer token or `Bearer user:pass`),
/// else `token=` (or the legacy `jwt=`) in the query.
pub fn credentials(headers: &HeaderMap, query: &str) -> Credentials {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    ferromtx_auth::credentials_from_http(authorization, query)
}

/// What is asked: read or publish a path.
#[derive(Debug, Clone)]
pub struct AccessRequest {
    pub path: String,
    /// Raw query string (without `?`).
    pub query: String,
    pub publish: bool,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub credentials: Credentials,
    /// Id of the WebRTC session being created (empty for pages and OPTIONS).
    pub session_id: String,
    /// A WHEP offer's audio codecs ([`crate::negotiation::offered_audio_codecs`]); `None`
    /// when unknown (then every codec a browser usually takes is assumed offered).
    pub offered_audio: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_api_parser_reads_every_form() {
        let mut h = HeaderMap::new();
        // Lower-case scheme, as some clients send it.
        h.insert(
            "authorization",
            HeaderValue::from_static("basic dXNlcjpwYXNz"),
        );
        let c = credentials(&h, "");
        assert_eq!((c.user.as_str(), c.pass.as_str()), ("user", "pass"));

        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static("Bearer me:secret"),
        );
        let c = credentials(&h, "");
        assert_eq!((c.user.as_str(), c.pass.as_str()), ("me", "secret"));

        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(credentials(&h, "").token, "abc");

        assert_eq!(
            credentials(&HeaderMap::new(), "a=1&token=x%2By").token,
            "x+y"
        );
        assert_eq!(credentials(&HeaderMap::new(), "jwt=legacy").token, "legacy");
    }
}
