//! The authentication hook the binary plugs ferromtx-auth into, and the request it sees.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use axum::http::HeaderMap;
use base64::Engine;

/// Credentials of a request: Basic auth, a Bearer token, or `?token=` in the query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub user: Option<String>,
    pub pass: Option<String>,
    pub token: Option<String>,
}

impl Credentials {
    /// Reads `Authorization` (Basic or Bearer) and, failing that, `token=` from the query.
    pub fn from_request(headers: &HeaderMap, query: &str) -> Credentials {
        let mut creds = Credentials::default();
        if let Some(value) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            if let Some(b64) = value.strip_prefix("Basic ") {
                if let Some((user, pass)) = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()
                    .and_then(|raw| String::from_utf8(raw).ok())
                    .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
                {
                    creds.user = Some(user);
                    creds.pass = Some(pass);
                }
            } else if let Some(token) = value.strip_prefix("Bearer ") {
                creds.token = Some(token.trim().to_owned());
            }
        }
        if creds.token.is_none() && creds.user.is_none() {
            creds.token = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .map(percent_decode);
        }
        creds
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
}

/// Why access was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("authentication error")]
pub struct AuthFailure {
    /// Ask the client for credentials (`WWW-Authenticate`).
    pub ask_credentials: bool,
}

/// A boxed future, so the hook stays object-safe.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<(), AuthFailure>> + Send + 'a>>;

/// Decides whether a request may read or publish.
pub trait AuthHook: Send + Sync + 'static {
    fn authenticate<'a>(&'a self, req: &'a AccessRequest) -> AuthFuture<'a>;
}

/// Lets everything through.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl AuthHook for AllowAll {
    fn authenticate<'a>(&'a self, _req: &'a AccessRequest) -> AuthFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn reads_basic_bearer_and_query_token() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static("Basic dXNlcjpwYXNz"),
        );
        let c = Credentials::from_request(&h, "");
        assert_eq!(c.user.as_deref(), Some("user"));
        assert_eq!(c.pass.as_deref(), Some("pass"));

        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(
            Credentials::from_request(&h, "").token.as_deref(),
            Some("abc")
        );

        let c = Credentials::from_request(&HeaderMap::new(), "a=1&token=x%2By");
        assert_eq!(c.token.as_deref(), Some("x+y"));
        let c = Credentials::from_request(&HeaderMap::new(), "token=%zz%");
        assert_eq!(c.token.as_deref(), Some("%zz%"));
    }
}
